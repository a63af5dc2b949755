/*
 * fuzz_puppet_conf - puppet.conf text: cr_conf_parse (sections, settings,
 * quotes, {owner=...} metadata, UTF-8 checks) and lookups in every
 * section.  The resolver on top (interpolation, typed values) is
 * fuzz_settings.
 */
#include "cr_settings_conf.h"
#include "fuzz_common.h"

static const char *const names[] = {
	"certname", "ssldir", "server", "ca_server", "masterport", "confdir",
	"certificate_revocation", "dns_alt_names", NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_conf *c;
	const struct cr_conf_entry *e;
	cr_err err;
	size_t i;
	int sec, k;

	cr_err_init(&err);
	c = cr_conf_parse("puppet.conf", (const char *)data, size, &err);
	fz_check_err("cr_conf_parse", c != NULL, &err);
	for (i = 0; c != NULL && i < c->n; i++) {
		e = &c->e[i];
		if (cr_conf_section_name(e->section) == NULL ||
		    e->name == NULL || e->value == NULL || e->line == 0)
			fz_fail("cr_conf_parse: bad entry %zu", i);
		if (cr_conf_find(c, e->section, e->name) == NULL)
			fz_fail("cr_conf_find: entry %zu not found", i);
	}
	for (sec = 0; c != NULL && sec < CR_CONF_NSEC; sec++)
		for (k = 0; names[k] != NULL; k++)
			(void)cr_conf_find(c, sec, names[k]);
	cr_conf_free(c);
	cr_err_clear(&err);
	return 0;
}
