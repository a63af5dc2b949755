/*
 * cr_settings.c - resolve Puppet settings the way `puppet config print
 * NAME --section S --confdir D` does (see cr_settings.h).
 *
 * Modelled on Puppet 7 (lib/puppet/settings.rb, settings/ini_file.rb,
 * settings/config_file.rb, defaults.rb, util/run_mode.rb):
 *  - lookup order: parameter > [S] (for server: [server] then [master]) >
 *    [main] > application defaults (packaging, root or not) > defaults;
 *    within a section the FIRST line naming a setting wins;
 *  - `serverport` is an alias of `masterport`: a serverport line in ANY
 *    section beats a masterport line, masterport itself ignores serverport;
 *  - `$name` and `${name}` expand to the other setting's final value;
 *    `$run_mode` is the section, `$environment` stays literal; an unknown
 *    name is an error, a loop is an error (Puppet: "stack level too deep");
 *  - file and directory settings go through Ruby's File.expand_path
 *    (relative to the working directory, `~` is $HOME), a value that is
 *    exactly true/false (any case) is a boolean and is never expanded.
 * Where Puppet only logs a broken puppet.conf and carries on with defaults
 * (a line it cannot match, an unknown section, `{...}` it takes for file
 * metadata such as `${confdir}`), we fail with the path and line instead:
 * acting on defaults the admin did not mean is how keys get lost.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_certname.h"
#include "cr_fs_read.h"
#include "cr_json.h"
#include "cr_ruby.h"
#include "cr_settings.h"
#include "cr_settings_conf.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"

#define VALUE_MAX 4096			/* any resolved value */

#define AIO_PUPPET "/opt/puppetlabs/puppet/bin/puppet"
#define DEBIAN_RUN_MODE "/usr/lib/ruby/vendor_ruby/puppet/util/run_mode.rb"

enum stype {
	T_STRING, T_FILE, T_PORT, T_INT, T_KEYTYPE, T_CREV, T_AUTOSIGN,
	T_CERTNAME, T_DURATION,
};

/* How a default is found when nothing sets the value. */
enum sdefault {
	D_TEMPLATE, D_CONFDIR, D_CODEDIR, D_VARDIR, D_PUBLICDIR, D_RUNDIR,
	D_LOGDIR, D_SSLDIR, D_CADIR, D_CERTNAME,
};

struct def {
	const char *name;
	enum stype type;
	enum sdefault how;
	const char *tmpl;	/* D_TEMPLATE: Puppet's default string */
	const char *alias;	/* name of the setting this one aliases */
};

/* name, type, how its default is found, Puppet's default, alias of */
#define SETTINGS(X) \
	X("confdir", T_FILE, D_CONFDIR, NULL, NULL) \
	X("codedir", T_FILE, D_CODEDIR, NULL, NULL) \
	X("vardir", T_FILE, D_VARDIR, NULL, NULL) \
	X("publicdir", T_FILE, D_PUBLICDIR, NULL, NULL) \
	X("rundir", T_FILE, D_RUNDIR, NULL, NULL) \
	X("logdir", T_FILE, D_LOGDIR, NULL, NULL) \
	X("statedir", T_FILE, D_TEMPLATE, "$vardir/state", NULL) \
	X("client_datadir", T_FILE, D_TEMPLATE, "$vardir/client_data", NULL) \
	X("ssldir", T_FILE, D_SSLDIR, NULL, NULL) \
	X("certdir", T_FILE, D_TEMPLATE, "$ssldir/certs", NULL) \
	X("privatekeydir", T_FILE, D_TEMPLATE, "$ssldir/private_keys", NULL) \
	X("publickeydir", T_FILE, D_TEMPLATE, "$ssldir/public_keys", NULL) \
	X("requestdir", T_FILE, D_TEMPLATE, "$ssldir/certificate_requests", NULL) \
	X("privatedir", T_FILE, D_TEMPLATE, "$ssldir/private", NULL) \
	X("ssl_lockfile", T_STRING, D_TEMPLATE, "$ssldir/ssl.lock", NULL) \
	X("certname", T_CERTNAME, D_CERTNAME, NULL, NULL) \
	X("hostcert", T_FILE, D_TEMPLATE, "$certdir/$certname.pem", NULL) \
	X("hostprivkey", T_FILE, D_TEMPLATE, "$privatekeydir/$certname.pem", NULL) \
	X("hostpubkey", T_FILE, D_TEMPLATE, "$publickeydir/$certname.pem", NULL) \
	X("hostcsr", T_FILE, D_TEMPLATE, "$requestdir/$certname.pem", NULL) \
	X("localcacert", T_FILE, D_TEMPLATE, "$certdir/ca.pem", NULL) \
	X("hostcrl", T_FILE, D_TEMPLATE, "$ssldir/crl.pem", NULL) \
	X("certificate_revocation", T_CREV, D_TEMPLATE, "chain", NULL) \
	/* Puppet 8 defaults (Puppet 7: no renewal, CRL never refreshed) */ \
	X("hostcert_renewal_interval", T_DURATION, D_TEMPLATE, "30d", NULL) \
	X("crl_refresh_interval", T_DURATION, D_TEMPLATE, "1d", NULL) \
	X("key_type", T_KEYTYPE, D_TEMPLATE, "rsa", NULL) \
	X("keylength", T_INT, D_TEMPLATE, "4096", NULL) \
	X("named_curve", T_STRING, D_TEMPLATE, "prime256v1", NULL) \
	X("dns_alt_names", T_STRING, D_TEMPLATE, "", NULL) \
	X("csr_attributes", T_FILE, D_TEMPLATE, "$confdir/csr_attributes.yaml", NULL) \
	X("trusted_oid_mapping_file", T_FILE, D_TEMPLATE, \
	    "$confdir/custom_trusted_oid_mapping.yaml", NULL) \
	X("server", T_STRING, D_TEMPLATE, "puppet", NULL) \
	X("masterport", T_PORT, D_TEMPLATE, "8140", NULL) \
	X("serverport", T_PORT, D_TEMPLATE, "8140", "masterport") \
	X("ca_server", T_STRING, D_TEMPLATE, "$server", NULL) \
	X("ca_port", T_PORT, D_TEMPLATE, "$serverport", NULL) \
	X("cadir", T_FILE, D_CADIR, NULL, NULL) \
	X("cacert", T_FILE, D_TEMPLATE, "$cadir/ca_crt.pem", NULL) \
	X("cakey", T_FILE, D_TEMPLATE, "$cadir/ca_key.pem", NULL) \
	X("capub", T_FILE, D_TEMPLATE, "$cadir/ca_pub.pem", NULL) \
	X("cacrl", T_FILE, D_TEMPLATE, "$cadir/ca_crl.pem", NULL) \
	X("serial", T_FILE, D_TEMPLATE, "$cadir/serial", NULL) \
	X("signeddir", T_FILE, D_TEMPLATE, "$cadir/signed", NULL) \
	X("csrdir", T_FILE, D_TEMPLATE, "$cadir/requests", NULL) \
	X("cert_inventory", T_FILE, D_TEMPLATE, "$cadir/inventory.txt", NULL) \
	X("ca_name", T_STRING, D_TEMPLATE, "Puppet CA: $certname", NULL) \
	X("autosign", T_AUTOSIGN, D_TEMPLATE, "$confdir/autosign.conf", NULL) \
	X("user", T_STRING, D_TEMPLATE, "puppet", NULL) \
	X("group", T_STRING, D_TEMPLATE, "puppet", NULL) \
	X("pidfile", T_FILE, D_TEMPLATE, "$rundir/${run_mode}.pid", NULL) \
	X("agent_catalog_run_lockfile", T_STRING, D_TEMPLATE, \
	    "$statedir/agent_catalog_run.lock", NULL) \
	X("agent_disabled_lockfile", T_STRING, D_TEMPLATE, \
	    "$statedir/agent_disabled.lock", NULL) \
	X("lastrunfile", T_FILE, D_TEMPLATE, "$publicdir/last_run_summary.yaml", NULL) \
	X("lastrunreport", T_FILE, D_TEMPLATE, "$statedir/last_run_report.yaml", NULL)

#define DEF_ROW(n, t, h, d, a) { n, t, h, d, a },
#define NAME_ROW(n, t, h, d, a) n,
static const struct def defs[] = { SETTINGS(DEF_ROW) };
static const char *const def_names[] = { SETTINGS(NAME_ROW) NULL };
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* Application defaults (util/run_mode.rb): AIO upstream, Debian patched. */
struct appdirs {
	const char *conf, *code, *var, *pub, *run, *log, *ssl, *cadir;
};
static const struct appdirs aio_root = {
	"/etc/puppetlabs/puppet", "/etc/puppetlabs/code",
	"/opt/puppetlabs/puppet/cache", "/opt/puppetlabs/puppet/public",
	"/var/run/puppetlabs", "/var/log/puppetlabs/puppet", "$confdir/ssl",
	"/etc/puppetlabs/puppetserver/ca",
};
static const struct appdirs aio_user = {
	"~/.puppetlabs/etc/puppet", "~/.puppetlabs/etc/code",
	"~/.puppetlabs/opt/puppet/cache", "~/.puppetlabs/opt/puppet/public",
	"~/.puppetlabs/var/run", "~/.puppetlabs/var/log", "$confdir/ssl",
	"/etc/puppetlabs/puppetserver/ca",
};
static const struct appdirs deb_root = {
	"/etc/puppet", "/etc/puppet/code", "/var/cache/puppet",
	"/var/cache/puppet/public", "/run/puppet", "/var/log/puppet",
	"/var/lib/puppet/ssl", "/etc/puppet/puppetserver/ca",
};
static const struct appdirs deb_user = {
	"~/.puppet/etc", "~/.puppet/code", "~/.puppet/cache",
	"~/.puppet/cache/public", "~/.puppet/var/run", "~/.puppet/var/log",
	"$confdir/ssl", "/etc/puppet/puppetserver/ca",
};
#define DEB_SYSTEM_SSL "/var/lib/puppet/ssl"
/* Windows (WindowsRunMode): under %ALLUSERSPROFILE%\PuppetLabs when
 * privileged, the AIO user dirs otherwise; Puppet.default_cadir is "". */
static const char *const win_sub[] = {
	"puppet/etc", "code", "puppet/cache", "puppet/public",
	"puppet/var/run", "puppet/var/log",
};
#define NWIN (sizeof(win_sub) / sizeof(win_sub[0]))
static const struct appdirs win_user = {
	"~/.puppetlabs/etc/puppet", "~/.puppetlabs/etc/code",
	"~/.puppetlabs/opt/puppet/cache", "~/.puppetlabs/opt/puppet/public",
	"~/.puppetlabs/var/run", "~/.puppetlabs/var/log", "$confdir/ssl", "",
};

enum { ST_TODO = 0, ST_BUSY, ST_DONE };

struct slot {
	char *value;		/* final, printed form */
	const char *source;	/* static string */
	unsigned char state;
	bool wanted;		/* asked for (opts->names), or all were */
};

struct cr_settings {
	struct slot s[NDEFS];
	char *conf_path;	/* the puppet.conf read, or NULL */
	/* only while loading */
	const struct cr_settings_opts *o;
	const struct appdirs *app;
	bool windows;		/* Windows semantics (paths, defaults) */
	struct appdirs win_root;	/* its strings are win_dirs */
	char *win_dirs[NWIN];
	struct cr_conf *conf;
	const char *section;
	int chain[4];		/* CR_CONF_SEC_* searched in order */
	size_t nchain;
	size_t stack[NDEFS];	/* settings being resolved, for loop messages */
	size_t depth;
};

/* ---- small helpers ---- */

static int
def_index(const char *name)
{
	size_t i;

	for (i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
def_index_n(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NDEFS; i++)
		if (strlen(defs[i].name) == len &&
		    memcmp(defs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static char *
dup_or_err(const char *s, cr_err *err)
{
	char *d = strdup(s);

	if (d == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
	return d;
}

static bool
is_word(unsigned char c)
{
	return isalnum(c) || c == '_';
}

/* ---- growable string with a hard cap ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static bool
sb_add(struct sbuf *b, const char *s, size_t n, const char *what, cr_err *err)
{
	char *np;
	size_t want;

	if (b->len + n > VALUE_MAX) {
		cr_err_set(err, CR_KIND_SETTINGS,
		    "value of '%s' is longer than %d bytes", what, VALUE_MAX);
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		want = b->cap ? b->cap : 64;
		while (want < b->len + n + 1)
			want *= 2;
		if ((np = realloc(b->p, want)) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
			return false;
		}
		b->p = np;
		b->cap = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

/* ---- typed conversion (Puppet's munge + print) ---- */

/*
 * Puppet's DurationSetting: digits and one unit of y d h m s (none: seconds),
 * printed as seconds.  False when v is not one.
 */
static bool
duration_seconds(const char *v, long long *secs)
{
	static const char units[] = "ydhms";
	static const long long mult[] = { 31536000LL, 86400LL, 3600LL, 60LL, 1LL };
	const char *u;
	long long n = 0;
	size_t i = 0;
	bool ok = false;

	while (isdigit((unsigned char)v[i]) && n <= 1000000000000LL)
		n = n * 10 + (v[i++] - '0');
	if (i == 0 || n > 1000000000000LL)
		goto out;
	if (v[i] == '\0') {
		*secs = n;
		ok = true;
	} else if (v[i + 1] == '\0' && (u = strchr(units, v[i])) != NULL) {
		*secs = n * mult[u - units];
		ok = true;
	}
out:
	return ok;
}

/* Setting#munge then #print: a new string in Puppet's printed form. */
/* File.expand_path of the platform the settings are for. */
static char *
expand(const struct cr_settings *st, const char *v, cr_err *err)
{
	return st->windows ? cr_ruby_expand_path_windows(v, VALUE_MAX, err) :
	    cr_ruby_expand_path(v, VALUE_MAX, err);
}

static char *
munge(const struct cr_settings *st, size_t i, const char *v, bool is_bool,
    cr_err *err)
{
	const struct def *d = &defs[i];
	const char *pname = d->alias ? d->alias : d->name;
	const char *keep = NULL;
	char *out = NULL, num[32];
	long long n;
	cr_err e;

	cr_err_init(&e);
	switch (d->type) {
	case T_STRING:
	case T_CERTNAME:
		keep = v;
		break;
	case T_FILE:
		if (is_bool)
			keep = v;	/* a boolean is not a String: no expand_path */
		else if ((out = expand(st, v, &e)) == NULL)
			cr_err_set(err, e.kind, "%s: %s", d->name, e.msg);
		break;
	case T_PORT:
	case T_INT:
		if (is_bool || !cr_ruby_integer(v, &n))
			cr_err_set(err, CR_KIND_SETTINGS, "Cannot convert '%s' to "
			    "an integer for parameter: %s", v, pname);
		else if (d->type == T_PORT && (n < 0 || n > 65535))
			cr_err_set(err, CR_KIND_SETTINGS, "Value '%lld' is not a "
			    "valid port number for parameter: %s", n, pname);
		else {
			snprintf(num, sizeof(num), "%lld", n);
			keep = num;
		}
		break;
	case T_DURATION:
		if (is_bool || !duration_seconds(v, &n))
			cr_err_set(err, CR_KIND_SETTINGS, "Invalid duration format "
			    "'%s' for parameter: %s", v, pname);
		else {
			snprintf(num, sizeof(num), "%lld", n);
			keep = num;
		}
		break;
	case T_KEYTYPE:
		if (!is_bool && (strcmp(v, "rsa") == 0 || strcmp(v, "ec") == 0))
			keep = v;
		else
			cr_err_set(err, CR_KIND_SETTINGS, "Invalid value '%s' for "
			    "parameter %s. Allowed values are 'rsa', 'ec'", v, pname);
		break;
	case T_CREV:
		if (strcmp(v, "chain") == 0 || strcmp(v, "true") == 0)
			keep = "chain";
		else if (strcmp(v, "leaf") == 0 && !is_bool)
			keep = "leaf";
		else if (strcmp(v, "false") == 0)
			keep = "false";
		else
			cr_err_set(err, CR_KIND_SETTINGS, "Invalid certificate "
			    "revocation value %s: must be one of 'true', 'chain', "
			    "'leaf', or 'false'", v);
		break;
	case T_AUTOSIGN:
		/* AutosignSetting#munge: no expand_path */
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 ||
		    (!is_bool && (st->windows ?
		    cr_ruby_absolute_path_windows(v) : v[0] == '/')))
			keep = v;
		else
			cr_err_set(err, CR_KIND_SETTINGS, "Invalid autosign value "
			    "%s: must be 'true'/'false' or an absolute path", v);
		break;
	}
	if (keep != NULL)
		out = dup_or_err(keep, err);
	cr_err_clear(&e);
	return out;
}

/* ---- packaging and defaults ---- */

static bool
file_exists(const char *path)
{
	return cr_path_exists(path) == 1;
}

enum cr_packaging
cr_packaging_detect(enum cr_packaging want)
{
	if (want != CR_PKG_AUTO)
		return want;
	if (file_exists(AIO_PUPPET))
		return CR_PKG_AIO;
	if (file_exists(DEBIAN_RUN_MODE))
		return CR_PKG_DEBIAN;
	return CR_PKG_AIO;
}

/* Puppet.features.root? is Process.uid == 0 (the real uid). */
static bool
running_as_root(const struct cr_settings_opts *o)
{
	if (o->privilege == CR_PRIV_ROOT)
		return true;
	if (o->privilege == CR_PRIV_USER)
		return false;
	return cr_sys_privileged();
}

static const struct appdirs *
pick_unix_appdirs(const struct cr_settings_opts *o, bool root)
{
	if (cr_packaging_detect(o->packaging) == CR_PKG_DEBIAN)
		return root ? &deb_root : &deb_user;
	return root ? &aio_root : &aio_user;
}

/* WindowsRunMode's system dirs: [ENV['ALLUSERSPROFILE'], "PuppetLabs",
 * sub].  Puppet cannot start without ALLUSERSPROFILE; neither do we. */
static bool
windows_root_dirs(struct cr_settings *st, cr_err *err)
{
	const char *base = getenv("ALLUSERSPROFILE");
	const char **dst[NWIN] = {
		&st->win_root.conf, &st->win_root.code, &st->win_root.var,
		&st->win_root.pub, &st->win_root.run, &st->win_root.log,
	};
	char *pl = NULL;
	bool ok = false;
	size_t k;

	if (base == NULL || *base == '\0') {
		cr_err_set(err, CR_KIND_SETTINGS, "ALLUSERSPROFILE is not set, "
		    "so Puppet's Windows directories are unknown: run from a "
		    "normal Windows session (it is C:\\ProgramData there) or "
		    "pass confdir");
		goto out;
	}
	if ((pl = cr_path_join(base, "PuppetLabs")) == NULL)
		goto nomem;
	for (k = 0; k < NWIN; k++) {
		if ((st->win_dirs[k] = cr_path_join(pl, win_sub[k])) == NULL)
			goto nomem;
		*dst[k] = st->win_dirs[k];
	}
	st->win_root.ssl = "$confdir/ssl";
	st->win_root.cadir = "";
	ok = true;
	goto out;
nomem:
	cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
out:
	free(pl);
	return ok;
}

static bool
pick_appdirs(struct cr_settings *st, cr_err *err)
{
	const struct cr_settings_opts *o = st->o;
	bool root = running_as_root(o);

	st->windows = o->platform == CR_PLAT_WINDOWS ||
	    (o->platform == CR_PLAT_AUTO && cr_sys_windows());
	if (st->windows && !root) {
		st->app = &win_user;
		return true;
	}
	if (st->windows) {
		st->app = &st->win_root;
		return windows_root_dirs(st, err);
	}
	st->app = pick_unix_appdirs(o, root);
	return true;
}

static bool resolve(struct cr_settings *st, size_t i, cr_err *err);

/* Puppet.default_cadir: "" on Windows; else an old $ssldir/ca wins (a
 * symlink: its target). */
static char *
default_cadir(struct cr_settings *st, cr_err *err)
{
	char *old = NULL, *out = NULL, *link = NULL;
	struct cr_sys_stat sb;
	cr_err e;
	int ssl = def_index("ssldir");

	cr_err_init(&e);
	if (st->windows) {
		out = dup_or_err("", err);
		goto out;
	}
	if (!resolve(st, (size_t)ssl, err))
		goto out;
	if ((old = cr_path_join(st->s[ssl].value, "ca")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
		goto out;
	}
	if (cr_sys_stat(old, CR_SYS_FOLLOW, &sb, &e) != 1)
		out = dup_or_err(st->app->cadir, err);
	else if (cr_sys_stat(old, CR_SYS_NOFOLLOW, &sb, &e) == 1 &&
	    sb.type == CR_SYS_LINK && (link = cr_sys_readlink(old)) != NULL &&
	    link[0] != '\0') {
		out = link;
		link = NULL;
	} else {
		out = old;
		old = NULL;
	}
out:
	cr_err_clear(&e);
	free(link);
	free(old);
	return out;
}

/* Debian: /var/lib/puppet/ssl for root or its owner, else $confdir/ssl. */
/*
 * Debian moved the root agent's ssldir to /var/lib/puppet/ssl in its Puppet 7
 * packages (run_mode.rb names it); Debian 11's puppet 5.5 keeps Puppet's own
 * $confdir/ssl (/etc/puppet/ssl).  No run_mode.rb to read: the newer layout.
 */
static bool
debian_moves_ssldir(void)
{
	char buf[16384];
	size_t n = 0;
	bool moved = true;
	FILE *f = fopen(DEBIAN_RUN_MODE, "re");

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		moved = strstr(buf, DEB_SYSTEM_SSL) != NULL;
		fclose(f);
	}
	return moved;
}

static char *
default_ssldir(struct cr_settings *st, cr_err *err)
{
	struct cr_sys_stat sb;
	cr_err e;
	bool system;
	const char *pick;

	cr_err_init(&e);
	system = st->app == &deb_user &&
	    cr_sys_stat(DEB_SYSTEM_SSL, CR_SYS_FOLLOW, &sb, &e) == 1 &&
	    sb.owned_by_me;
	cr_err_clear(&e);
	if (system)
		pick = DEB_SYSTEM_SSL;
	else if (st->app == &deb_root && !debian_moves_ssldir())
		pick = "$confdir/ssl";
	else
		pick = st->app->ssl;
	return dup_or_err(pick, err);
}

/* ---- lookup, interpolation, resolution ---- */

struct raw {
	char *v;
	bool is_bool;
	const char *source;
};

static const char *const conf_sources[CR_CONF_NSEC] = {
	"puppet.conf [main]", "puppet.conf [server]", "puppet.conf [master]",
	"puppet.conf [agent]", "puppet.conf [user]",
};

/* An explicit value; the first pair naming it wins. */
static const char *
override_of(const struct cr_settings_opts *o, const char *name)
{
	size_t i;

	for (i = 0; o->overrides != NULL && o->overrides[i] != NULL &&
	    o->overrides[i + 1] != NULL; i += 2)
		if (strcmp(o->overrides[i], name) == 0)
			return o->overrides[i + 1];
	if (strcmp(name, "confdir") == 0)
		return o->confdir;
	return NULL;
}

/* Puppet's own answer for the default certname, or NULL. */
static char *
certname_from_puppet(struct cr_settings *st)
{
	int cd = def_index("confdir");
	cr_err e;
	char *out = NULL;

	cr_err_init(&e);
	if (resolve(st, (size_t)cd, &e))
		out = cr_certname_from_puppet(cr_puppet_find(
		    cr_packaging_detect(st->o->packaging), st->o->puppet_bin),
		    st->section, st->s[cd].value);
	cr_err_clear(&e);
	return out;
}

static bool
default_value(struct cr_settings *st, size_t i, struct raw *r, cr_err *err)
{
	const struct appdirs *a = st->app;
	const char *v = NULL;

	r->source = "default";
	switch (defs[i].how) {
	case D_TEMPLATE: v = defs[i].tmpl; break;
	case D_CONFDIR: v = a->conf; break;
	case D_CODEDIR: v = a->code; break;
	case D_VARDIR: v = a->var; break;
	case D_PUBLICDIR: v = a->pub; break;
	case D_RUNDIR: v = a->run; break;
	case D_LOGDIR: v = a->log; break;
	case D_SSLDIR:
		return (r->v = default_ssldir(st, err)) != NULL;
	case D_CADIR:
		return (r->v = default_cadir(st, err)) != NULL;
	case D_CERTNAME:
		if (st->o->allow_exec && (r->v = certname_from_puppet(st)) != NULL) {
			r->source = "puppet config print";
			return true;
		}
		r->source = "hostname";
		return (r->v = cr_certname_from_hostname(err)) != NULL;
	}
	return (r->v = dup_or_err(v, err)) != NULL;
}

/* ChainedValues#lookup: parameter, sections in order, alias, default. */
static bool
lookup(struct cr_settings *st, size_t i, struct raw *r, cr_err *err)
{
	const struct cr_conf_entry *e;
	const char *v;
	size_t k;

	if ((v = override_of(st->o, defs[i].name)) != NULL) {
		r->source = "parameter";
		return (r->v = dup_or_err(v, err)) != NULL;
	}
	for (k = 0; k < st->nchain; k++) {
		if ((e = cr_conf_find(st->conf, st->chain[k], defs[i].name)) == NULL)
			continue;
		r->source = conf_sources[st->chain[k]];
		r->is_bool = e->is_bool;
		return (r->v = dup_or_err(e->value, err)) != NULL;
	}
	if (defs[i].alias != NULL)
		return lookup(st, (size_t)def_index(defs[i].alias), r, err);
	return default_value(st, i, r, err);
}

static bool resolve(struct cr_settings *st, size_t i, cr_err *err);

/* One `$name` / `${name}`: appends its value (or keeps it, see below). */
static bool
expand_var(struct cr_settings *st, size_t i, struct sbuf *b, const char *expr,
    size_t elen, const char *name, size_t nlen, cr_err *err)
{
	int k;

	if (nlen == 11 && memcmp(name, "environment", 11) == 0)
		return sb_add(b, expr, elen, defs[i].name, err);	/* stays */
	if (nlen == 8 && memcmp(name, "run_mode", 8) == 0)
		return sb_add(b, st->section, strlen(st->section), defs[i].name, err);
	if ((k = def_index_n(name, nlen)) < 0) {
		cr_err_set(err, CR_KIND_SETTINGS, "Error converting value for "
		    "param '%s': Could not find value for %.*s (not a setting "
		    "cert_regen knows)", defs[i].name, (int)elen, expr);
		return false;
	}
	if (!resolve(st, (size_t)k, err))
		return false;
	return sb_add(b, st->s[k].value, strlen(st->s[k].value), defs[i].name,
	    err);
}

/* ChainedValues#convert: gsub(/\$(\w+)|\$\{(\w+)\}/). */
static char *
interpolate(struct cr_settings *st, size_t i, const char *raw, cr_err *err)
{
	struct sbuf b = { 0 };
	const char *p = raw, *d, *name;
	size_t nlen, elen;
	char *out = NULL;

	if (!sb_add(&b, "", 0, defs[i].name, err))
		goto out;
	while ((d = strchr(p, '$')) != NULL) {
		if (!sb_add(&b, p, (size_t)(d - p), defs[i].name, err))
			goto out;
		name = d[1] == '{' ? d + 2 : d + 1;
		for (nlen = 0; is_word((unsigned char)name[nlen]); nlen++)
			;
		elen = (size_t)(name - d) + nlen;
		if (nlen == 0 || (d[1] == '{' && name[nlen] != '}')) {
			if (!sb_add(&b, "$", 1, defs[i].name, err))
				goto out;
			p = d + 1;
			continue;
		}
		if (d[1] == '{')
			elen++;
		if (!expand_var(st, i, &b, d, elen, name, nlen, err))
			goto out;
		p = d + elen;
	}
	if (!sb_add(&b, p, strlen(p), defs[i].name, err))
		goto out;
	out = b.p;
	b.p = NULL;
out:
	free(b.p);
	return out;
}

static void
loop_error(struct cr_settings *st, size_t i, cr_err *err)
{
	char chain[512] = "";
	size_t k = 0, used = 0;
	int n;

	while (k < st->depth && st->stack[k] != i)
		k++;
	for (; k < st->depth; k++) {
		n = snprintf(chain + used, sizeof(chain) - used, "%s -> ",
		    defs[st->stack[k]].name);
		if (n < 0 || (size_t)n >= sizeof(chain) - used)
			break;
		used += (size_t)n;
	}
	cr_err_set(err, CR_KIND_SETTINGS, "interpolation loop: %s%s (Puppet "
	    "fails with 'stack level too deep')", chain, defs[i].name);
}

/* Settings hook on certname: "Certificate names must be lower case". */
static bool
check_certname(const char *v, const char *source, cr_err *err)
{
	const char *p;

	for (p = v; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z') {
			cr_err_set(err, CR_KIND_SETTINGS, "Certificate names must "
			    "be lower case: '%s' (from %s)", v, source);
			return false;
		}
	return true;
}

static bool
resolve(struct cr_settings *st, size_t i, cr_err *err)
{
	struct slot *sl = &st->s[i];
	struct raw r = { 0 };
	char *v = NULL, *m;
	bool ok = false;

	if (sl->state == ST_DONE)
		return true;
	if (sl->state == ST_BUSY) {
		loop_error(st, i, err);
		return false;
	}
	sl->state = ST_BUSY;
	st->stack[st->depth++] = i;
	if (!lookup(st, i, &r, err))
		goto out;
	if (r.is_bool) {
		v = r.v;	/* not a String in Ruby: never interpolated */
		r.v = NULL;
	} else if ((v = interpolate(st, i, r.v, err)) == NULL)
		goto out;
	m = munge(st, i, v, r.is_bool, err);
	free(v);
	if ((v = m) == NULL)
		goto out;
	if (defs[i].type == T_CERTNAME && !check_certname(v, r.source, err))
		goto out;
	sl->value = v;
	sl->source = r.source;
	v = NULL;
	ok = true;
out:
	st->depth--;
	sl->state = ok ? ST_DONE : ST_TODO;
	free(r.v);
	free(v);
	return ok;
}

/* ---- public API ---- */

static bool
check_opts(const struct cr_settings_opts *o, cr_err *err)
{
	size_t i;

	for (i = 0; o->overrides != NULL && o->overrides[i] != NULL; i += 2) {
		if (def_index(o->overrides[i]) < 0 || o->overrides[i + 1] == NULL) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER, "%s setting '%s'",
			    o->overrides[i + 1] == NULL ? "no value for" :
			    "unknown", o->overrides[i]);
			return false;
		}
		if (strlen(o->overrides[i + 1]) > VALUE_MAX) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER, "value of '%s' "
			    "is longer than %d bytes", o->overrides[i], VALUE_MAX);
			return false;
		}
	}
	if (o->confdir != NULL && strlen(o->confdir) > VALUE_MAX) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "confdir is too long");
		return false;
	}
	for (i = 0; o->names != NULL && o->names[i] != NULL; i++)
		if (def_index(o->names[i]) < 0) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "unknown setting '%s'", o->names[i]);
			return false;
		}
	return true;
}

/* [S] then [main]; the server run mode reads [server] then [master]. */
static bool
set_section(struct cr_settings *st, const char *section, cr_err *err)
{
	int sec = cr_conf_section_id(section ? section : "agent");

	if (sec < 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "unknown section '%s' "
		    "(main, agent, server, master, user)", section);
		return false;
	}
	st->section = cr_conf_section_name(sec);
	st->nchain = 0;
	if (sec == CR_CONF_SEC_SERVER || sec == CR_CONF_SEC_MASTER) {
		st->chain[st->nchain++] = CR_CONF_SEC_SERVER;
		st->chain[st->nchain++] = CR_CONF_SEC_MASTER;
	} else if (sec != CR_CONF_SEC_MAIN)
		st->chain[st->nchain++] = sec;
	st->chain[st->nchain++] = CR_CONF_SEC_MAIN;
	return true;
}

/* puppet.conf lives in the explicit confdir, else in the default one. */
static bool
read_conf(struct cr_settings *st, cr_err *err)
{
	const char *dir = override_of(st->o, "confdir");
	char *edir = NULL, *path = NULL;
	bool ok = false;

	if ((edir = expand(st, dir ? dir : st->app->conf, err)) == NULL)
		goto out;
	if ((path = cr_path_join(edir, "puppet.conf")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
		goto out;
	}
	if (!cr_conf_load(path, &st->conf, err))
		goto out;
	if (st->conf != NULL) {
		st->conf_path = path;
		path = NULL;
	}
	ok = true;
out:
	free(edir);
	free(path);
	return ok;
}

static bool
wanted(const struct cr_settings_opts *o, size_t i)
{
	size_t k;

	if (o->names == NULL)
		return true;
	for (k = 0; o->names[k] != NULL; k++)
		if (strcmp(o->names[k], defs[i].name) == 0)
			return true;
	return false;
}

cr_settings *
cr_settings_load(const struct cr_settings_opts *opts, cr_err *err)
{
	static const struct cr_settings_opts none;
	const struct cr_settings_opts *o = opts ? opts : &none;
	cr_settings *st = NULL, *out = NULL;
	size_t i;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
		goto out;
	}
	st->o = o;
	if (!pick_appdirs(st, err) || !check_opts(o, err) || !set_section(st, o->section, err) ||
	    !read_conf(st, err))
		goto out;
	for (i = 0; i < NDEFS; i++) {
		st->s[i].wanted = wanted(o, i);
		if (st->s[i].wanted && !resolve(st, i, err))
			goto out;
	}
	cr_conf_free(st->conf);
	st->conf = NULL;
	st->o = NULL;
	out = st;
	st = NULL;
out:
	cr_settings_free(st);
	return out;
}

void
cr_settings_free(cr_settings *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < NDEFS; i++)
		free(s->s[i].value);
	for (i = 0; i < NWIN; i++)
		free(s->win_dirs[i]);
	cr_conf_free(s->conf);
	free(s->conf_path);
	free(s);
}

const char *
cr_settings_get(const cr_settings *s, const char *name)
{
	int i = s != NULL && name != NULL ? def_index(name) : -1;

	return i < 0 ? NULL : s->s[i].value;
}

const char *
cr_settings_source(const cr_settings *s, const char *name)
{
	int i = s != NULL && name != NULL ? def_index(name) : -1;

	return i < 0 || s->s[i].state != ST_DONE ? NULL : s->s[i].source;
}

const char *
cr_settings_conf_path(const cr_settings *s)
{
	return s != NULL ? s->conf_path : NULL;
}

const char *const *
cr_settings_names(void)
{
	return def_names;
}

static json_t *
to_json(const cr_settings *s, bool sources)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && s != NULL && i < NDEFS; i++) {
		if (!s->s[i].wanted || s->s[i].state != ST_DONE)
			continue;
		if (cr_json_set(o, defs[i].name, cr_json_str(sources ?
		    s->s[i].source : s->s[i].value)) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

json_t *
cr_settings_to_json(const cr_settings *s)
{
	return to_json(s, false);
}

json_t *
cr_settings_sources_json(const cr_settings *s)
{
	return to_json(s, true);
}

cr_settings *
cr_settings_agent(const char *confdir, const char *ssldir, const char *certname,
    const char *ca_server, cr_err *err)
{
	const char *pairs[9];
	size_t n = 0;
	struct cr_settings_opts so;

	memset(&so, 0, sizeof(so));
	if (ssldir != NULL) {
		pairs[n++] = "ssldir";
		pairs[n++] = ssldir;
	}
	if (certname != NULL) {
		pairs[n++] = "certname";
		pairs[n++] = certname;
	}
	if (ca_server != NULL) {
		pairs[n++] = "ca_server";
		pairs[n++] = ca_server;
	}
	pairs[n] = NULL;
	so.confdir = confdir;
	so.section = "agent";
	so.overrides = pairs;
	so.allow_exec = true;
	return cr_settings_load(&so, err);
}

/* The live ssldir's real path (symlinks resolved: the exchange must act
 * on the directory itself). */
char *
cr_settings_real_ssldir(const char *ssldir, cr_err *err)
{
	char *out = cr_sys_realpath(ssldir);

	if (out == NULL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot resolve the ssldir %s",
		    ssldir);
		cr_err_next(err, "this node has no Puppet identity to "
		    "regenerate: bootstrap it with `puppet ssl bootstrap`");
	}
	return out;
}
