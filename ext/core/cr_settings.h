/*
 * cr_settings.h - Puppet settings resolved the way Puppet resolves them.
 *
 * Precedence: explicit value (task parameter / CLI flag) > puppet.conf in the
 * resolved confdir ([<section>] over [main], $var and ${var} interpolation)
 * > packaging-aware defaults (AIO: /etc/puppetlabs/..., Debian's puppet
 * package: /etc/puppet, /var/cache/puppet, /var/lib/puppet/ssl; root vs
 * non-root as Puppet does) > `puppet config print` as a fallback where the
 * native reader cannot decide (today: certname, when puppet.conf does not
 * set it).
 */
#ifndef CR_SETTINGS_H
#define CR_SETTINGS_H

#include <stdbool.h>
#include <jansson.h>

#include "cr_err.h"

typedef struct cr_settings cr_settings;

enum cr_packaging {
	CR_PKG_AUTO = 0,	/* detect: AIO if /opt/puppetlabs/puppet, else Debian-style if its puppet is installed */
	CR_PKG_AIO,
	CR_PKG_DEBIAN,
};

/* Whose defaults: Puppet picks system paths when Process.uid == 0. */
enum cr_privilege {
	CR_PRIV_AUTO = 0,	/* getuid() == 0 */
	CR_PRIV_ROOT,
	CR_PRIV_USER,
};

/* Whose path rules and defaults: Puppet's on POSIX or on Windows. */
enum cr_platform {
	CR_PLAT_AUTO = 0,	/* the platform this was built for */
	CR_PLAT_POSIX,
	CR_PLAT_WINDOWS,	/* %ALLUSERSPROFILE%\PuppetLabs\..., '\' as '/' */
};

struct cr_settings_opts {
	const char *confdir;	/* NULL: packaging default */
	const char *section;	/* "agent" (default), "server" (= "master"), "main", "user" */
	const char **overrides;	/* NULL-terminated "name", "value", ... pairs; win over everything */
	enum cr_packaging packaging;
	bool allow_exec;	/* may run `puppet config print` when undecided */
	const char *puppet_bin;	/* NULL: search the usual places, then PATH */
	const char *const *names;	/* NULL-terminated: resolve only these (and
				 * what they refer to); NULL: every setting */
	enum cr_privilege privilege;	/* on Windows: root = Administrators */
	enum cr_platform platform;
};

/*
 * Resolve every setting cert_regen uses (or opts->names).  NULL on error
 * (err set): unknown setting or section (CR_KIND_INVALID_PARAMETER), a
 * puppet.conf Puppet cannot parse (CR_KIND_PARSE, with details.path and
 * details.line), a value Puppet would reject, an unknown $name or an
 * interpolation loop (CR_KIND_SETTINGS), I/O (CR_KIND_IO).
 */
cr_settings *cr_settings_load(const struct cr_settings_opts *opts, cr_err *err);
void cr_settings_free(cr_settings *s);

/* Borrowed value of a resolved setting, or NULL if unknown/unset. */
const char *cr_settings_get(const cr_settings *s, const char *name);
/* Where the value came from: "parameter", "puppet.conf [agent]",
 * "puppet.conf [main]", "default", "puppet config print", "hostname". */
const char *cr_settings_source(const cr_settings *s, const char *name);
/* New reference: {"name": "value", ...} for every resolved setting. */
json_t *cr_settings_to_json(const cr_settings *s);
/* New reference: {"name": "source", ...}. */
json_t *cr_settings_sources_json(const cr_settings *s);
/* The path of the puppet.conf that was read, or NULL if there was none. */
const char *cr_settings_conf_path(const cr_settings *s);
/* CR_PKG_AUTO -> what this host has (see enum cr_packaging); else want. */
enum cr_packaging cr_packaging_detect(enum cr_packaging want);
/* NULL-terminated list of every setting name the resolver knows. */
const char *const *cr_settings_names(void);

/*
 * The agent section's settings of confdir (NULL: the packaging default),
 * with ssldir, certname and ca_server overridden when not NULL; may run
 * `puppet config print` when undecided.  The agent flows' one way in.
 */
cr_settings *cr_settings_agent(const char *confdir, const char *ssldir,
    const char *certname, const char *ca_server, cr_err *err);
/* The live ssldir's real path (symlinks resolved: an exchange must act on
 * the directory itself); caller frees; NULL with err set (a node without
 * an identity to act on). */
char *cr_settings_real_ssldir(const char *ssldir, cr_err *err);

#endif
