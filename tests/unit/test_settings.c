/*
 * test_settings.c - cr_settings (the puppet.conf resolver) and cr_proc.
 *
 * Every test gets its own confdir under a fresh mkdtemp directory, removed
 * afterwards.  Expected values were checked against
 * `puppet config print NAME --section agent --confdir DIR` (puppet 7.23);
 * the differential test (tests/integration/test_settings_differential.sh)
 * keeps checking that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cr_proc.h"
#include "cr_ruby.h"
#include "cr_settings.h"
#include "cr_settings_conf.h"
#include "pki.h"

struct t {
	char *dir;		/* the mkdtemp directory, also the confdir */
	char *home;		/* saved $HOME */
	char cwd[PATH_MAX];
};

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	const char *h = getenv("HOME");

	if (t == NULL)
		return -1;
	t->dir = pki_tmpdir_new();
	if (t->dir == NULL || getcwd(t->cwd, sizeof(t->cwd)) == NULL) {
		free(t->dir);
		free(t);
		return -1;
	}
	t->home = h ? strdup(h) : NULL;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;
	int rc = chdir(t->cwd);

	if (t->home != NULL)
		setenv("HOME", t->home, 1);
	else
		unsetenv("HOME");
	pki_rmtree(t->dir);
	free(t->dir);
	free(t->home);
	free(t);
	return rc == 0 ? 0 : -1;
}

static void
write_file(const struct t *t, const char *name, const char *text, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Makes the directory <dir>/<name>. */
static void
mkdir_in(const struct t *t, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	assert_int_equal(mkdir(path, 0700), 0);
}

static void
conf(const struct t *t, const char *text)
{
	write_file(t, "puppet.conf", text, strlen(text));
}

static struct cr_settings_opts
opts(const struct t *t, enum cr_packaging pkg)
{
	struct cr_settings_opts o;

	memset(&o, 0, sizeof(o));
	o.confdir = t->dir;
	o.section = "agent";
	o.packaging = pkg;
	o.privilege = CR_PRIV_ROOT;
	o.allow_exec = false;
	return o;
}

static cr_settings *
load_ok(const struct cr_settings_opts *o)
{
	cr_err err;
	cr_settings *s;

	cr_err_init(&err);
	s = cr_settings_load(o, &err);
	if (s == NULL)
		fail_msg("cr_settings_load: %s", err.msg);
	cr_err_clear(&err);
	return s;
}

/* Loads, expects failure of `kind` with `needle` in the message. */
static void
load_fails(const struct cr_settings_opts *o, const char *kind,
    const char *needle, cr_err *keep)
{
	cr_err err;
	cr_settings *s;

	cr_err_init(&err);
	s = cr_settings_load(o, &err);
	if (s != NULL) {
		cr_settings_free(s);
		fail_msg("expected an error with '%s'", needle);
	}
	assert_true(err.set);
	assert_string_equal(err.kind, kind);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s' not in '%s'", needle, err.msg);
	if (keep != NULL)
		*keep = err;
	else
		cr_err_clear(&err);
}

static void
expect(const cr_settings *s, const char *name, const char *value)
{
	const char *v = cr_settings_get(s, name);

	if (v == NULL || strcmp(v, value) != 0)
		fail_msg("%s: expected '%s', got '%s'", name, value,
		    v ? v : "(null)");
}

static void
expect_in(const cr_settings *s, const struct t *t, const char *name,
    const char *rel)
{
	char want[PATH_MAX];

	snprintf(want, sizeof(want), "%s%s", t->dir, rel);
	expect(s, name, want);
}

/* s has each name of want (name, value, ..., NULL) at its value. */
static void
expect_all(const cr_settings *s, const char *const *want)
{
	for (; want[0] != NULL; want += 2)
		expect(s, want[0], want[1]);
}

/* The same, each value a path under the test's directory. */
static void
expect_all_in(const cr_settings *s, const struct t *t,
    const char *const *want)
{
	for (; want[0] != NULL; want += 2)
		expect_in(s, t, want[0], want[1]);
}

/* puppet.conf is text, which loads with want (see expect_all). */
static void
conf_loads(const struct t *t, const struct cr_settings_opts *o,
    const char *text, const char *const *want)
{
	cr_settings *s;

	conf(t, text);
	s = load_ok(o);
	expect_all(s, want);
	cr_settings_free(s);
}

/* Loads (puppet.conf as it is) with want (see expect_all). */
static void
loads_with(const struct cr_settings_opts *o, const char *const *want)
{
	cr_settings *s = load_ok(o);

	expect_all(s, want);
	cr_settings_free(s);
}

/* A puppet.conf that does not load: kind, with needle in the message. */
struct bad_conf {
	const char *text, *kind, *needle;
};

/* Each puppet.conf of bad written in turn, each refused as it says. */
static void
confs_fail(const struct t *t, const struct cr_settings_opts *o,
    const struct bad_conf *bad, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		conf(t, bad[i].text);
		load_fails(o, bad[i].kind, bad[i].needle, NULL);
	}
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- packaging defaults ---- */

static void
debian_defaults_without_puppet_conf(void **state)
{
	static const char *const want_abs[] = {
		"ssldir", "/var/lib/puppet/ssl",
		"vardir", "/var/cache/puppet",
		"codedir", "/etc/puppet/code",
		"rundir", "/run/puppet",
		"logdir", "/var/log/puppet",
		"publicdir", "/var/cache/puppet/public",
		"statedir", "/var/cache/puppet/state",
		"client_datadir", "/var/cache/puppet/client_data",
		"cadir", "/etc/puppet/puppetserver/ca",
		"localcacert", "/var/lib/puppet/ssl/certs/ca.pem",
		"hostcrl", "/var/lib/puppet/ssl/crl.pem",
		"server", "puppet",
		"ca_server", "puppet",
		"serverport", "8140",
		"ca_port", "8140",
		"keylength", "4096",
		"key_type", "rsa",
		"named_curve", "prime256v1",
		"certificate_revocation", "chain",
		"pidfile", "/run/puppet/agent.pid",
		NULL
	};
	static const char *const want_in[] = {
		"csr_attributes", "/csr_attributes.yaml",
		"autosign", "/autosign.conf",
		"trusted_oid_mapping_file", "/custom_trusted_oid_mapping.yaml",
		NULL
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s = load_ok(&o);
	const char *cn = cr_settings_get(s, "certname");
	char want[PATH_MAX];

	assert_null(cr_settings_conf_path(s));
	expect(s, "confdir", t->dir);
	expect_all(s, want_abs);
	expect_all_in(s, t, want_in);
	assert_non_null(cn);
	snprintf(want, sizeof(want), "/var/lib/puppet/ssl/certs/%s.pem", cn);
	expect(s, "hostcert", want);
	snprintf(want, sizeof(want), "/var/lib/puppet/ssl/private_keys/%s.pem", cn);
	expect(s, "hostprivkey", want);
	snprintf(want, sizeof(want), "/var/lib/puppet/ssl/certificate_requests/%s.pem", cn);
	expect(s, "hostcsr", want);
	assert_string_equal(cr_settings_source(s, "certname"), "hostname");
	assert_string_equal(cr_settings_source(s, "ssldir"), "default");
	assert_string_equal(cr_settings_source(s, "confdir"), "parameter");
	for (const char *p = cn; *p; p++)
		assert_false(*p >= 'A' && *p <= 'Z');
	cr_settings_free(s);
}

static void
aio_defaults(void **state)
{
	static const char *const want_in[] = {
		"ssldir", "/ssl",
		"certdir", "/ssl/certs",
		"privatekeydir", "/ssl/private_keys",
		"publickeydir", "/ssl/public_keys",
		"requestdir", "/ssl/certificate_requests",
		"localcacert", "/ssl/certs/ca.pem",
		NULL
	};
	static const char *const want_abs[] = {
		"vardir", "/opt/puppetlabs/puppet/cache",
		"client_datadir", "/opt/puppetlabs/puppet/cache/client_data",
		"codedir", "/etc/puppetlabs/code",
		"rundir", "/var/run/puppetlabs",
		"logdir", "/var/log/puppetlabs/puppet",
		"publicdir", "/opt/puppetlabs/puppet/public",
		"cadir", "/etc/puppetlabs/puppetserver/ca",
		NULL
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_AIO);
	cr_settings *s = load_ok(&o);

	expect_all_in(s, t, want_in);
	expect_all(s, want_abs);
	cr_settings_free(s);
}

static void
non_root_defaults_use_home(void **state)
{
	static const char *const aio_in[] = {
		"confdir", "/.puppetlabs/etc/puppet",
		"ssldir", "/.puppetlabs/etc/puppet/ssl",
		"vardir", "/.puppetlabs/opt/puppet/cache",
		"rundir", "/.puppetlabs/var/run",
		"logdir", "/.puppetlabs/var/log",
		"codedir", "/.puppetlabs/etc/code",
		NULL
	};
	static const char *const debian_in[] = {
		"confdir", "/.puppet/etc",
		"vardir", "/.puppet/cache",
		"rundir", "/.puppet/var/run",
		NULL
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_AIO);
	cr_settings *s;
	char want[PATH_MAX];
	struct stat sb;

	setenv("HOME", t->dir, 1);
	o.confdir = NULL;
	o.privilege = CR_PRIV_USER;
	s = load_ok(&o);
	expect_all_in(s, t, aio_in);
	cr_settings_free(s);

	o.packaging = CR_PKG_DEBIAN;
	s = load_ok(&o);
	expect_all_in(s, t, debian_in);
	/* Debian: the system ssldir if this user owns it, else $confdir/ssl */
	if (stat("/var/lib/puppet/ssl", &sb) == 0 && sb.st_uid == geteuid())
		snprintf(want, sizeof(want), "/var/lib/puppet/ssl");
	else
		snprintf(want, sizeof(want), "%s/.puppet/etc/ssl", t->dir);
	expect(s, "ssldir", want);
	cr_settings_free(s);

	/* without a confdir, the user's puppet.conf is read from the default */
	o.packaging = CR_PKG_AIO;
	mkdir_in(t, ".puppetlabs");
	mkdir_in(t, ".puppetlabs/etc");
	mkdir_in(t, ".puppetlabs/etc/puppet");
	write_file(t, ".puppetlabs/etc/puppet/puppet.conf", "certname = mine\n", 16);
	s = load_ok(&o);
	expect(s, "certname", "mine");
	expect_in(s, t, "hostcert", "/.puppetlabs/etc/puppet/ssl/certs/mine.pem");
	snprintf(want, sizeof(want), "%s/.puppetlabs/etc/puppet/puppet.conf", t->dir);
	assert_string_equal(cr_settings_conf_path(s), want);
	cr_settings_free(s);
}

static void
cadir_prefers_an_old_ssldir_ca(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_AIO);
	cr_settings *s;
	char p[PATH_MAX];

	mkdir_in(t, "ssl");
	mkdir_in(t, "ssl/ca");
	snprintf(p, sizeof(p), "%s/ssl/ca", t->dir);
	s = load_ok(&o);
	expect_in(s, t, "cadir", "/ssl/ca");
	cr_settings_free(s);

	/* a symlink: its target, as readlink gives it */
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(t->dir, p), 0);
	loads_with(&o, (const char *const[]){ "cadir", t->dir, NULL });

	/* a dangling one does not exist for File.exist? */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/nonexistent/ca", p), 0);
	loads_with(&o, (const char *const[]){
	    "cadir", "/etc/puppetlabs/puppetserver/ca", NULL });
}

/* ---- sections ---- */

static void
agent_section_overrides_main(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s;

	conf(t, "[main]\nssldir = /m/ssl\nserver = main.example\n"
	    "vardir = /m/var\n[agent]\nssldir = /a/ssl\ncertname = node1\n");
	s = load_ok(&o);
	expect(s, "ssldir", "/a/ssl");
	expect(s, "hostcert", "/a/ssl/certs/node1.pem");
	expect(s, "server", "main.example");
	expect(s, "ca_server", "main.example");
	expect(s, "vardir", "/m/var");
	assert_string_equal(cr_settings_source(s, "ssldir"), "puppet.conf [agent]");
	assert_string_equal(cr_settings_source(s, "server"), "puppet.conf [main]");
	assert_string_equal(cr_settings_source(s, "hostcert"), "default");
	assert_non_null(cr_settings_conf_path(s));
	cr_settings_free(s);

	o.section = "main";
	loads_with(&o, (const char *const[]){ "ssldir", "/m/ssl", NULL });
}

static void
server_and_master_do_not_touch_the_agent(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s;

	conf(t, "[main]\nserver = m\n[server]\nssldir = /srv/ssl\nserver = s\n"
	    "[master]\nssldir = /mst/ssl\ncertname = mst\nserver = x\n");
	loads_with(&o, (const char *const[]){
	    "ssldir", "/var/lib/puppet/ssl", "server", "m", NULL });

	/* the server reads [server], then [master] (its old name), then [main] */
	o.section = "server";
	s = load_ok(&o);
	expect(s, "ssldir", "/srv/ssl");
	expect(s, "server", "s");
	expect(s, "certname", "mst");
	assert_string_equal(cr_settings_source(s, "certname"), "puppet.conf [master]");
	cr_settings_free(s);
	o.section = "master";
	loads_with(&o, (const char *const[]){ "ssldir", "/srv/ssl", NULL });

	o.section = "ca";
	load_fails(&o, CR_KIND_INVALID_PARAMETER, "unknown section", NULL);
}

static void
first_line_wins_and_sections_repeat(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);

	conf(t, "certname = top\nserver = top.example\n[agent]\ncertname = ag\n"
	    "[main]\nserver = later\n[agent]\ncertname = ag2\nca_server = ca2\n");
	loads_with(&o, (const char *const[]){
	    "certname", "ag", "server", "top.example", "ca_server", "ca2",
	    NULL });
	o.section = "main";
	loads_with(&o, (const char *const[]){ "certname", "top", NULL });
}

/* ---- interpolation ---- */

static void
interpolation_chains(void **state)
{
	static const char *const want_in[] = {
		"vardir", "/var",
		"ssldir", "/var/ssl",
		"certdir", "/var/ssl/certs",
		"hostcert", "/var/ssl/mine/n1.example.crt",
		"hostprivkey", "/var/ssl/private_keys/n1.example.pem",
		"client_datadir", "/var/client_data",
		NULL
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s;

	conf(t, "[main]\nvardir = $confdir/var\nssldir = $vardir/ssl\n"
	    "certname = n1.example\nserver = puppet.example\n"
	    "ca_server = ca.$server\n[agent]\nhostcert = $ssldir/mine/$certname.crt\n"
	    "publicdir = /p/$run_mode/$environment\n");
	s = load_ok(&o);
	expect_all_in(s, t, want_in);
	expect(s, "ca_server", "ca.puppet.example");
	expect(s, "publicdir", "/p/agent/$environment");
	cr_settings_free(s);
}

static void
interpolation_in_parameters_and_braces(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	const char *ov[] = { "ssldir", "${confdir}/s", "certname", "p.example",
	    "ca_port", "${masterport}", "masterport", "8141", NULL };
	cr_settings *s;

	conf(t, "[agent]\nssldir = /from/conf\ncertname = c\n");
	o.overrides = ov;
	s = load_ok(&o);
	expect_in(s, t, "ssldir", "/s");
	expect_in(s, t, "hostcert", "/s/certs/p.example.pem");
	expect(s, "ca_port", "8141");
	expect(s, "serverport", "8141");
	assert_string_equal(cr_settings_source(s, "ssldir"), "parameter");
	assert_string_equal(cr_settings_source(s, "serverport"), "parameter");
	cr_settings_free(s);
}

static void
unknown_variable_is_an_error(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);

	conf(t, "[main]\nfoo = /bar\nssldir = $foo/ssl\n");
	load_fails(&o, CR_KIND_SETTINGS, "Could not find value for $foo", NULL);
}

static void
interpolation_loops_are_errors(void **state)
{
	static const struct bad_conf bad[] = {
		{ "[main]\nssldir = $vardir/ssl\nvardir = $ssldir/x\n",
		  CR_KIND_SETTINGS, "loop" },
		{ "[main]\nssldir = $ssldir/x\n", CR_KIND_SETTINGS,
		  "ssldir -> ssldir" },
		{ "[agent]\nserver = $ca_server\nca_server = $server\n",
		  CR_KIND_SETTINGS, "loop" },
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);

	confs_fail(t, &o, bad, N_OF(bad));
}

static void
interpolation_growth_is_bounded(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);

	conf(t, "[main]\nuser = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "group = $user$user$user$user$user$user$user$user\n"
	    "server = $group$group$group$group$group$group$group$group\n"
	    "dns_alt_names = $server$server$server$server\n");
	load_fails(&o, CR_KIND_SETTINGS, "longer than", NULL);
}

/* ---- parameters ---- */

static void
parameters_win_and_are_checked(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	const char *ov[] = { "certname", "param.example", "ssldir", "/p/ssl",
	    "certname", "second.example", NULL };
	const char *bad[] = { "sslddir", "/x", NULL };
	const char *novalue[] = { "ssldir", NULL };
	cr_settings *s;

	conf(t, "[agent]\ncertname = conf.example\nssldir = /c/ssl\n");
	o.overrides = ov;
	s = load_ok(&o);
	expect(s, "certname", "param.example");
	expect(s, "hostcert", "/p/ssl/certs/param.example.pem");
	assert_string_equal(cr_settings_source(s, "certname"), "parameter");
	cr_settings_free(s);
	o.overrides = bad;
	load_fails(&o, CR_KIND_INVALID_PARAMETER, "unknown setting 'sslddir'", NULL);
	o.overrides = novalue;
	load_fails(&o, CR_KIND_INVALID_PARAMETER, "no value", NULL);
}

static void
only_the_names_asked_for(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	const char *names[] = { "hostcert", "ca_port", NULL };
	const char *unknown[] = { "hostcert", "nope", NULL };
	cr_settings *s;
	json_t *j, *src;

	conf(t, "[main]\ncertname = n\nkeylength = notanumber\n");
	o.names = names;
	s = load_ok(&o);	/* keylength is never looked at */
	j = cr_settings_to_json(s);
	src = cr_settings_sources_json(s);
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j, "hostcert")),
	    "/var/lib/puppet/ssl/certs/n.pem");
	assert_string_equal(json_string_value(json_object_get(src, "ca_port")),
	    "default");
	expect(s, "certname", "n");	/* resolved on the way */
	assert_null(cr_settings_get(s, "keylength"));
	assert_null(cr_settings_get(s, "no_such_setting"));
	json_decref(j);
	json_decref(src);
	cr_settings_free(s);
	o.names = unknown;
	load_fails(&o, CR_KIND_INVALID_PARAMETER, "unknown setting 'nope'", NULL);
	o.names = NULL;
	load_fails(&o, CR_KIND_SETTINGS, "Cannot convert 'notanumber'", NULL);
}

/* ---- puppet.conf syntax ---- */

static void
malformed_line_names_file_and_line(void **state)
{
	static const struct bad_conf bad[] = {
		{ "[main]\nssldir = /x\n; semicolons are not comments\n",
		  CR_KIND_PARSE, "line 3" },
		{ "[main] # no comment after a header\n", CR_KIND_PARSE,
		  "line 1" },
		{ "[ main ]\n", CR_KIND_PARSE, "Could not match line" },
		{ "[main]\ncertname = a\n[production]\nmodulepath = /x\n",
		  CR_KIND_PARSE, "Illegal section" },
		{ "[MAIN]\n", CR_KIND_PARSE, "Illegal section" },
		/* Puppet reads {...} as file metadata: ${confdir} breaks
		 * the file */
		{ "[main]\nssldir = ${confdir}/ssl\n", CR_KIND_PARSE,
		  "Could not parse" },
		{ "[main]\nssldir = /s {owner = service, mode = 07x}\n",
		  CR_KIND_PARSE, "File modes must be numbers" },
		{ "[main]\nserver = a {colour = red}\n", CR_KIND_PARSE,
		  "Invalid file option" },
		{ "[main]\nserver = caf\xC3\n", CR_KIND_PARSE, "UTF-8" },
		{ "\xEF\xBB\xBF[main]\n", CR_KIND_PARSE, "line 1" },
		{ "[main]\nmodulepath = /etc/puppet/code/modules\n",
		  CR_KIND_SETTINGS, "Cannot set modulepath" },
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_err err;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/puppet.conf", t->dir);
	conf(t, "[main]\n# fine\nthis is bad\ncertname = a\n");
	load_fails(&o, CR_KIND_PARSE, "Could not match line 'this is bad'", &err);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "line 3"));
	assert_int_equal(json_integer_value(json_object_get(err.details, "line")), 3);
	assert_string_equal(json_string_value(json_object_get(err.details, "path")),
	    path);
	cr_err_clear(&err);

	confs_fail(t, &o, bad, N_OF(bad));
	write_file(t, "puppet.conf", "[main]\nserver = a\0b\n",
	    sizeof("[main]\nserver = a\0b\n") - 1);
	load_fails(&o, CR_KIND_PARSE, "NUL", NULL);
}

static void
quoting_and_whitespace(void **state)
{
	static const char *const want[] = {
		"certname", "node.example",
		"server", "quoted.example",
		"ca_server", "single' # not a comment",
		"dns_alt_names", "unbalanced",
		"user", "a'",
		"group", "",
		"named_curve", "secp384r1",
		"ssldir", "/s/y",
		"hostcrl", "/s/y/crl.pem",
		/* a boolean is not a String: no expand_path for vardir
		 * itself... */
		"vardir", "true",
		"autosign", "false",
		"certificate_revocation", "chain",
		NULL
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s;

	conf(t, "  [main]  \r\n"
	    "\t certname\t=\t node.example \t\r\n"
	    "   # indented comment\r\n"
	    "\r\n"
	    "server = \"quoted.example\"\n"
	    "ca_server='single' # not a comment\n"
	    "dns_alt_names = \"unbalanced\n"
	    "user = 'a'\"\n"
	    "group = \"\n"
	    "named_curve=secp384r1\n"
	    "\xC3\xA9t\xC3\xA9 = unknown settings are ignored\n"
	    "ssldir = /s//x/../y/ {owner = service, mode = 0750}\n"
	    "[agent]\n"
	    "vardir = TRUE\n"
	    "autosign = False\n"
	    "certificate_revocation = TRUE\n");
	s = load_ok(&o);
	expect_all(s, want);
	cr_settings_free(s);
}

static void
paths_are_expanded_like_ruby(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s;

	assert_int_equal(chdir(t->dir), 0);
	setenv("HOME", "/home/someone/", 1);
	conf(t, "[main]\nssldir = rel/ssl\nvardir = ~/cache\n"
	    "codedir = //net//code/\nlogdir = //a/..\nrundir = /a/../../b/.\n"
	    "publicdir = \n[agent]\nstatedir = TRUE\n");
	s = load_ok(&o);
	expect_in(s, t, "ssldir", "/rel/ssl");
	expect(s, "vardir", "/home/someone/cache");
	expect(s, "client_datadir", "/home/someone/cache/client_data");
	expect(s, "codedir", "//net/code");
	expect(s, "logdir", "/");
	expect(s, "rundir", "/b");
	expect(s, "publicdir", t->dir);	/* "" is the working directory */
	/* ...but a setting built on it is: "true/..." relative to the cwd */
	expect(s, "statedir", "true");
	expect_in(s, t, "lastrunreport", "/true/last_run_report.yaml");
	expect(s, "agent_catalog_run_lockfile", "true/agent_catalog_run.lock");
	cr_settings_free(s);

	setenv("HOME", "relative", 1);
	conf(t, "[main]\nvardir = ~/cache\n");
	load_fails(&o, CR_KIND_SETTINGS, "HOME is not absolute", NULL);
	conf(t, "[main]\nvardir = ~no_such_user_here/cache\n");
	load_fails(&o, CR_KIND_SETTINGS, "no such user", NULL);
}

static void
ruby_helpers_directly(void **state)
{
	static const struct { const char *in, *out; } ints[] = {
		{ "  42 ", "42" }, { "4_2", "42" }, { "0x1A", "26" },
		{ "0b101", "5" }, { "0o17", "15" }, { "017", "15" },
		{ "0d19", "19" }, { "-5", "-5" }, { "0_7", "7" }, { "00", "0" },
		{ "_42", NULL }, { "42_", NULL }, { "4__2", NULL }, { "", NULL },
		{ "08", NULL }, { "0x", NULL }, { "1e3", NULL }, { "12 3", NULL },
		{ "99999999999999999999", NULL },
	};
	cr_err err;
	char *p, num[32];
	long long v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		bool ok = cr_ruby_integer(ints[i].in, &v);

		if (ints[i].out == NULL) {
			if (ok)
				fail_msg("Integer(\"%s\") should fail", ints[i].in);
			continue;
		}
		if (!ok)
			fail_msg("Integer(\"%s\") failed", ints[i].in);
		snprintf(num, sizeof(num), "%lld", v);
		assert_string_equal(num, ints[i].out);
	}
	cr_err_init(&err);
	assert_int_equal(chdir("/"), 0);
	assert_non_null(p = cr_ruby_expand_path("x/./y/..", 100, &err));
	assert_string_equal(p, "/x");
	free(p);
	setenv("HOME", "/", 1);
	assert_non_null(p = cr_ruby_expand_path("~/x", 100, &err));
	assert_string_equal(p, "/x");
	free(p);
	assert_non_null(p = cr_ruby_expand_path("//..", 100, &err));
	assert_string_equal(p, "//");
	free(p);
	assert_non_null(p = cr_ruby_expand_path("///a//b/", 100, &err));
	assert_string_equal(p, "///a/b");
	free(p);
	assert_null(cr_ruby_expand_path("/aaaa/bbbb", 5, &err));
	assert_true(err.set);
	cr_err_clear(&err);
}

static void
typed_values(void **state)
{
	static const char *const typed[] = {
		"keylength", "256",
		"serverport", "15",
		"ca_port", "15",
		"masterport", "8140",
		"key_type", "ec",
		"certificate_revocation", "leaf",
		"autosign", "/etc//autosign.conf",	/* not expanded */
		/* Puppet 8's renewal settings are known, with Puppet 8's
		 * defaults */
		"hostcert_renewal_interval", "2592000",
		"crl_refresh_interval", "86400",
		NULL
	};
	static const struct bad_conf bad[] = {
		{ "[agent]\nhostcert_renewal_interval = 30 days\n",
		  CR_KIND_SETTINGS, "Invalid duration format '30 days'" },
		{ "[agent]\ncrl_refresh_interval = 1w\n", CR_KIND_SETTINGS,
		  "Invalid duration format '1w'" },
		{ "[main]\nkeylength = 08\n", CR_KIND_SETTINGS,
		  "Cannot convert '08'" },
		{ "[main]\nmasterport = 70000\n", CR_KIND_SETTINGS,
		  "not a valid port number" },
		{ "[main]\nserverport = true\n", CR_KIND_SETTINGS,
		  "Cannot convert 'true'" },
		{ "[main]\nkey_type = EC\n", CR_KIND_SETTINGS,
		  "Invalid value 'EC'" },
		{ "[main]\ncertificate_revocation = maybe\n", CR_KIND_SETTINGS,
		  "certificate revocation" },
		{ "[main]\nautosign = autosign.conf\n", CR_KIND_SETTINGS,
		  "Invalid autosign value" },
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);

	conf_loads(t, &o, "[main]\nkeylength = 0x10_0\nserverport = 0o17\n"
	    "key_type = ec\ncertificate_revocation = leaf\n"
	    "autosign = /etc//autosign.conf\n", typed);
	/* durations print as seconds, as `puppet config print` does */
	conf_loads(t, &o, "[agent]\nhostcert_renewal_interval = 0\n"
	    "crl_refresh_interval = 2h\n", (const char *const[]){
	    "hostcert_renewal_interval", "0",
	    "crl_refresh_interval", "7200", NULL });
	conf_loads(t, &o, "[agent]\nhostcert_renewal_interval = 1y\n"
	    "crl_refresh_interval = 90\n", (const char *const[]){
	    "hostcert_renewal_interval", "31536000",
	    "crl_refresh_interval", "90", NULL });
	confs_fail(t, &o, bad, N_OF(bad));
}

static void
serverport_is_an_alias_of_masterport(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	cr_settings *s;

	/* a serverport line anywhere beats masterport, even in [agent] */
	conf_loads(t, &o, "[main]\nserverport = 1\n[agent]\nmasterport = 2\n",
	    (const char *const[]){ "serverport", "1", "masterport", "2",
	    "ca_port", "1", NULL });
	conf_loads(t, &o, "[main]\nmasterport = 1\n[agent]\nserverport = 2\n",
	    (const char *const[]){ "serverport", "2", "masterport", "1",
	    "ca_port", "2", NULL });
	conf(t, "[main]\nmasterport = 8150\n[agent]\nca_port = 8151\n");
	s = load_ok(&o);
	expect(s, "serverport", "8150");
	expect(s, "ca_port", "8151");
	assert_string_equal(cr_settings_source(s, "serverport"), "puppet.conf [main]");
	cr_settings_free(s);
}

static void
certname_must_be_lower_case(void **state)
{
	static const struct bad_conf bad[] = {
		{ "[main]\ncertname = FOO.example\n", CR_KIND_SETTINGS,
		  "must be lower case" },
		{ "[agent]\ncertname = Foo\n", CR_KIND_SETTINGS,
		  "puppet.conf [agent]" },
	};
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	const char *ov[] = { "certname", "Node.Example", NULL };

	confs_fail(t, &o, bad, N_OF(bad));
	assert_int_equal(chdir(t->dir), 0);
	assert_int_equal(unlink("puppet.conf"), 0);
	o.overrides = ov;
	load_fails(&o, CR_KIND_SETTINGS, "must be lower case", NULL);
}

static void
big_puppet_conf_is_refused(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	size_t n = CR_CONF_MAX + 1;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, '#', n);
	big[n - 1] = '\n';
	write_file(t, "puppet.conf", big, n);
	free(big);
	load_fails(&o, CR_KIND_IO, "more than", NULL);
}

/* ---- certname from `puppet config print` ---- */

static void
write_fake_puppet(const struct t *t, const char *body)
{
	char path[PATH_MAX], text[1024];

	snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s/args'\n%s",
	    t->dir, body);
	write_file(t, "puppet", text, strlen(text));
	snprintf(path, sizeof(path), "%s/puppet", t->dir);
	assert_int_equal(chmod(path, 0755), 0);
}

static void
certname_from_puppet_config_print(void **state)
{
	struct t *t = *state;
	struct cr_settings_opts o = opts(t, CR_PKG_DEBIAN);
	char bin[PATH_MAX], args[PATH_MAX], want[2 * PATH_MAX], got[2 * PATH_MAX];
	cr_settings *s;
	FILE *f;
	size_t n;

	snprintf(bin, sizeof(bin), "%s/puppet", t->dir);
	snprintf(args, sizeof(args), "%s/args", t->dir);
	write_fake_puppet(t, "echo '  fake.example  '\n");
	o.allow_exec = true;
	o.puppet_bin = bin;
	s = load_ok(&o);
	expect(s, "certname", "fake.example");
	expect(s, "hostcert", "/var/lib/puppet/ssl/certs/fake.example.pem");
	assert_string_equal(cr_settings_source(s, "certname"), "puppet config print");
	cr_settings_free(s);
	assert_non_null(f = fopen(args, "r"));
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	snprintf(want, sizeof(want), "config\nprint\ncertname\n--section\nagent\n"
	    "--confdir\n%s\n", t->dir);
	assert_string_equal(got, want);

	/* puppet.conf names it: no exec at all */
	unlink(args);
	conf(t, "[main]\ncertname = fromconf\n");
	s = load_ok(&o);
	expect(s, "certname", "fromconf");
	assert_int_equal(access(args, F_OK), -1);
	cr_settings_free(s);
	snprintf(got, sizeof(got), "%s/puppet.conf", t->dir);
	assert_int_equal(unlink(got), 0);

	/* a failing or chatty puppet: fall back to the hostname */
	write_fake_puppet(t, "echo broken; exit 1\n");
	s = load_ok(&o);
	assert_string_equal(cr_settings_source(s, "certname"), "hostname");
	cr_settings_free(s);
	write_fake_puppet(t, "printf 'two\\nlines\\n'\n");
	s = load_ok(&o);
	assert_string_equal(cr_settings_source(s, "certname"), "hostname");
	cr_settings_free(s);
	o.puppet_bin = "/nonexistent/puppet";
	s = load_ok(&o);
	assert_string_equal(cr_settings_source(s, "certname"), "hostname");
	cr_settings_free(s);
}

/* ---- cr_proc ---- */

static void
proc_captures_and_reports(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
	    "printf 'out'; printf 'err' >&2; exit 3", NULL };
	const char *env[] = { "CR_X=v42", NULL };
	const char *argv_env[] = { "/bin/sh", "-c", "printf \"$CR_X\"", NULL };
	struct cr_proc_opts po;
	struct cr_proc_result r;
	cr_err err;

	(void)state;
	cr_err_init(&err);
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.max_out = 100;
	po.max_err = 100;
	po.timeout_ms = 10000;
	assert_true(cr_proc_run(&po, &r, &err));
	assert_string_equal(r.out, "out");
	assert_string_equal(r.err, "err");
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 3);
	assert_false(cr_proc_succeeded(&r));
	cr_proc_result_free(&r);

	po.argv = argv_env;
	po.envp = env;
	po.max_err = 0;
	assert_true(cr_proc_run(&po, &r, &err));
	assert_string_equal(r.out, "v42");
	assert_null(r.err);
	assert_true(cr_proc_succeeded(&r));
	cr_proc_result_free(&r);
	assert_false(err.set);
}

static void
proc_bounds_output_and_time(void **state)
{
	const char *big[] = { "/bin/sh", "-c",
	    "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done", NULL };
	const char *slow[] = { "/bin/sh", "-c", "sleep 30 & sleep 30; exit 0", NULL };
	const char *missing[] = { "/nonexistent/program", NULL };
	struct cr_proc_opts po;
	struct cr_proc_result r;
	cr_err err;

	(void)state;
	cr_err_init(&err);
	memset(&po, 0, sizeof(po));
	po.argv = big;
	po.max_out = 100;
	po.timeout_ms = 10000;
	assert_true(cr_proc_run(&po, &r, &err));
	assert_int_equal(r.out_len, 100);
	assert_true(r.out_truncated);
	assert_true(cr_proc_succeeded(&r));
	cr_proc_result_free(&r);

	po.argv = slow;
	po.timeout_ms = 200;
	po.kill_grace_ms = 200;
	assert_true(cr_proc_run(&po, &r, &err));
	assert_true(r.timed_out);
	assert_false(cr_proc_succeeded(&r));
	assert_true(r.elapsed_ms < 5000);
	cr_proc_result_free(&r);

	po.argv = missing;
	assert_false(cr_proc_run(&po, &r, &err));
	assert_string_equal(err.kind, CR_KIND_IO);
	assert_null(r.out);
	cr_err_clear(&err);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(debian_defaults_without_puppet_conf),
		T(aio_defaults),
		T(non_root_defaults_use_home),
		T(cadir_prefers_an_old_ssldir_ca),
		T(agent_section_overrides_main),
		T(server_and_master_do_not_touch_the_agent),
		T(first_line_wins_and_sections_repeat),
		T(interpolation_chains),
		T(interpolation_in_parameters_and_braces),
		T(unknown_variable_is_an_error),
		T(interpolation_loops_are_errors),
		T(interpolation_growth_is_bounded),
		T(parameters_win_and_are_checked),
		T(only_the_names_asked_for),
		T(malformed_line_names_file_and_line),
		T(quoting_and_whitespace),
		T(paths_are_expanded_like_ruby),
		T(ruby_helpers_directly),
		T(typed_values),
		T(serverport_is_an_alias_of_masterport),
		T(certname_must_be_lower_case),
		T(big_puppet_conf_is_refused),
		T(certname_from_puppet_config_print),
		T(proc_captures_and_reports),
		T(proc_bounds_output_and_time),
	};

	return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
