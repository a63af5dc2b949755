/*
 * cr_settings_conf.h - puppet.conf read the way Puppet 7 reads it
 * (settings/ini_file.rb, settings/config_file.rb, value_translator.rb).
 * Internal to cr_settings.c; exposed for the unit tests.
 */
#ifndef CR_SETTINGS_CONF_H
#define CR_SETTINGS_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

#define CR_CONF_MAX ((size_t)1 << 20)	/* bigger puppet.conf files are refused */

/* The only sections Puppet accepts (ALLOWED_SECTION_NAMES). */
enum {
	CR_CONF_SEC_MAIN, CR_CONF_SEC_SERVER, CR_CONF_SEC_MASTER,
	CR_CONF_SEC_AGENT, CR_CONF_SEC_USER, CR_CONF_NSEC
};

struct cr_conf_entry {
	int section;		/* CR_CONF_SEC_* */
	char *name;
	char *value;		/* translated: quotes and {owner=..} removed */
	bool is_bool;		/* the line said true/false (any case) */
	unsigned line;
};

struct cr_conf {
	char *path;
	struct cr_conf_entry *e;
	size_t n, cap;
};

/*
 * Parses len bytes of puppet.conf text.  NULL on error: CR_KIND_PARSE with
 * the path and line in the message and in details {path, line}.
 */
struct cr_conf *cr_conf_parse(const char *path, const char *text, size_t len,
    cr_err *err);
/* Reads and parses path; true with *out = NULL when there is no such file. */
bool cr_conf_load(const char *path, struct cr_conf **out, cr_err *err);
void cr_conf_free(struct cr_conf *c);
/* The first line naming `name` in section sec (Puppet: first wins), or NULL. */
const struct cr_conf_entry *cr_conf_find(const struct cr_conf *c, int sec,
    const char *name);
/* "main", "server", ...; -1 / NULL when unknown. */
int cr_conf_section_id(const char *name);
const char *cr_conf_section_name(int sec);

#endif
