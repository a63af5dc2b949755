/*
 * test_settings_windows.c - Puppet's settings as they resolve on Windows
 * (WindowsRunMode, Puppet.default_cadir, File.expand_path on Windows).
 * Runs on the POSIX host with platform = CR_PLAT_WINDOWS and, built with
 * mingw, under wine with the platform detected.  Expected values follow
 * `puppet config print` on a Windows agent: forward slashes, the drive
 * kept, %ALLUSERSPROFILE%\PuppetLabs for an Administrator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cr_ruby.h"
#include "cr_settings.h"
#include "plat.h"
#include "sys/cr_sys_host.h"

static char *saved[4];
static const char *const envs[4] = {
	"ALLUSERSPROFILE", "HOME", "USERPROFILE", "SystemDrive",
};

static int
setup(void **state)
{
	size_t i;
	const char *v;

	(void)state;
	for (i = 0; i < 4; i++) {
		v = getenv(envs[i]);
		saved[i] = v != NULL ? strdup(v) : NULL;
	}
	tp_setenv("ALLUSERSPROFILE", "C:\\ProgramData");
	tp_setenv("HOME", "C:\\Users\\bob");
	tp_setenv("USERPROFILE", "C:\\Users\\bob");
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		tp_setenv(envs[i], saved[i]);
		free(saved[i]);
		saved[i] = NULL;
	}
	return 0;
}

static void
expect_expand(const char *in, const char *want)
{
	cr_err e;
	char *out;

	cr_err_init(&e);
	out = cr_ruby_expand_path_windows(in, 4096, &e);
	if (out == NULL)
		fail_msg("expand '%s': %s", in, e.msg);
	assert_string_equal(out, want);
	free(out);
}

static void
expand_path(void **state)
{
	(void)state;
	expect_expand("C:\\ProgramData\\PuppetLabs\\puppet\\etc",
	    "C:/ProgramData/PuppetLabs/puppet/etc");
	expect_expand("C:/ProgramData/PuppetLabs/puppet/etc/",
	    "C:/ProgramData/PuppetLabs/puppet/etc");
	expect_expand("c:/a/./b/../c//d", "c:/a/c/d");
	expect_expand("C:/..", "C:/");
	expect_expand("C:\\", "C:/");
	expect_expand("//srv/share/x/../y", "//srv/share/y");
	expect_expand("\\\\srv\\share\\..\\..", "//srv/share/");
	expect_expand("~/.puppetlabs/etc/puppet",
	    "C:/Users/bob/.puppetlabs/etc/puppet");
	expect_expand("~", "C:/Users/bob");
	tp_setenv("HOME", NULL);
	expect_expand("~\\x", "C:/Users/bob/x");	/* USERPROFILE */
}

static void
expand_path_errors(void **state)
{
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_null(cr_ruby_expand_path_windows("~alice/x", 4096, &e));
	assert_string_equal(e.kind, CR_KIND_SETTINGS);
	cr_err_clear(&e);
	tp_setenv("HOME", "relative\\home");
	assert_null(cr_ruby_expand_path_windows("~/x", 4096, &e));
	assert_non_null(strstr(e.msg, "HOME nor USERPROFILE"));
	cr_err_clear(&e);
	tp_setenv("HOME", "C:\\Users\\bob");
	assert_null(cr_ruby_expand_path_windows("C:/aaaaaaaaaa", 8, &e));
	assert_non_null(strstr(e.msg, "longer than 8 bytes"));
	cr_err_clear(&e);
}

static cr_settings *
load(enum cr_privilege priv, const char *confdir, const char **over,
    cr_err *e)
{
	struct cr_settings_opts o = { 0 };

	o.platform = CR_PLAT_WINDOWS;
	o.privilege = priv;
	o.confdir = confdir;
	o.overrides = over;
	o.section = "agent";
	return cr_settings_load(&o, e);
}

/* load(), which must succeed. */
static cr_settings *
load_ok(enum cr_privilege priv, const char *confdir, const char **over)
{
	cr_settings *s;
	cr_err e;

	cr_err_init(&e);
	s = load(priv, confdir, over, &e);
	if (s == NULL)
		fail_msg("%s", e.msg);
	return s;
}

/* s has each name of want (name, value, ..., NULL) at its value. */
static void
expect_settings(const cr_settings *s, const char *const *want)
{
	for (; want[0] != NULL; want += 2)
		assert_string_equal(cr_settings_get(s, want[0]), want[1]);
}

static const char *certname_over[] = { "certname", "win1.example.test", NULL };

static void
administrator_defaults(void **state)
{
	static const char *const want[] = {
		"confdir", "C:/ProgramData/PuppetLabs/puppet/etc",
		"codedir", "C:/ProgramData/PuppetLabs/code",
		"vardir", "C:/ProgramData/PuppetLabs/puppet/cache",
		"rundir", "C:/ProgramData/PuppetLabs/puppet/var/run",
		"logdir", "C:/ProgramData/PuppetLabs/puppet/var/log",
		"ssldir", "C:/ProgramData/PuppetLabs/puppet/etc/ssl",
		"client_datadir",
		"C:/ProgramData/PuppetLabs/puppet/cache/client_data",
		"hostcert",
		"C:/ProgramData/PuppetLabs/puppet/etc/ssl/certs/win1.example.test.pem",
		"hostprivkey", "C:/ProgramData/PuppetLabs/puppet/etc/ssl/"
		"private_keys/win1.example.test.pem",
		"localcacert", "C:/ProgramData/PuppetLabs/puppet/etc/ssl/certs/ca.pem",
		NULL
	};
	cr_settings *s;

	(void)state;
	s = load_ok(CR_PRIV_ROOT, NULL, certname_over);
	expect_settings(s, want);
	assert_string_equal(cr_settings_source(s, "ssldir"), "default");
	assert_null(cr_settings_conf_path(s));
	cr_settings_free(s);
}

static void
user_defaults(void **state)
{
	static const char *const want[] = {
		"confdir", "C:/Users/bob/.puppetlabs/etc/puppet",
		"vardir", "C:/Users/bob/.puppetlabs/opt/puppet/cache",
		"ssldir", "C:/Users/bob/.puppetlabs/etc/puppet/ssl",
		NULL
	};
	cr_settings *s;

	(void)state;
	s = load_ok(CR_PRIV_USER, NULL, certname_over);
	expect_settings(s, want);
	cr_settings_free(s);
}

/* puppet.conf's own values, Windows-style, in an explicit confdir.  The
 * confdir "C:/<unique>" is a real C: directory under wine and a directory
 * literally named "C:" under the working directory on a POSIX host. */
static void
puppet_conf_values(void **state)
{
	char dir[128], sub[160], conf[192];
	const char *text =
	    "[main]\r\n"
	    "ssldir = D:\\PKI\\puppet\\ssl\r\n"
	    "vardir = C:\\ProgramData\\PuppetLabs\\puppet\\cache\r\n"
	    "[agent]\r\n"
	    "certname = win2.example.test\r\n"
	    "client_datadir = $vardir\\..\\cd\r\n";
	static const char *const want[] = {
		"certname", "win2.example.test",
		"ssldir", "D:/PKI/puppet/ssl",
		"hostcert", "D:/PKI/puppet/ssl/certs/win2.example.test.pem",
		"client_datadir", "C:/ProgramData/PuppetLabs/puppet/cd",
		NULL
	};
	cr_settings *s;

	(void)state;
	snprintf(dir, sizeof(dir), "C:");
	tp_mkdir(dir);	/* exists already on Windows */
	snprintf(sub, sizeof(sub), "C:/cr-settings-%d", (int)tp_getpid());
	assert_int_equal(tp_mkdir(sub), 0);
	snprintf(conf, sizeof(conf), "%s/puppet.conf", sub);
	assert_int_equal(tp_write(conf, text, strlen(text)), 0);
	s = load_ok(CR_PRIV_ROOT, sub, NULL);
	assert_string_equal(cr_settings_get(s, "confdir"), sub);
	expect_settings(s, want);
	assert_string_equal(cr_settings_source(s, "certname"),
	    "puppet.conf [agent]");
	assert_non_null(cr_settings_conf_path(s));
	cr_settings_free(s);
	remove(conf);
	tp_rmdir(sub);
	if (!cr_sys_windows())
		tp_rmdir(dir);
}

static void
allusersprofile_missing(void **state)
{
	cr_settings *s;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	tp_setenv("ALLUSERSPROFILE", NULL);
	s = load(CR_PRIV_ROOT, NULL, certname_over, &e);
	assert_null(s);
	assert_string_equal(e.kind, CR_KIND_SETTINGS);
	assert_non_null(strstr(e.msg, "ALLUSERSPROFILE is not set"));
	cr_err_clear(&e);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(expand_path),
		T(expand_path_errors),
		T(administrator_defaults),
		T(user_defaults),
		T(puppet_conf_values),
		T(allusersprofile_missing),
	};

	return cmocka_run_group_tests_name("settings_windows", tests, NULL,
	    NULL);
}
