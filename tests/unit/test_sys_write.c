/*
 * test_sys_write.c - the platform seam's writes and process checks
 * (ext/core/sys/cr_sys_write.h, cr_sys_proc.h), the same suite on POSIX
 * (under ASan/UBSan) and on Windows (mingw build run under wine): secret
 * files created new and private, private directories whose files inherit
 * that access, atomic installs, the directory exchange and (Windows) the
 * finishing of an exchange a kill interrupted, a lock file's pid, and
 * (Windows) the Service Control Manager.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _WIN32
#include <windows.h>
#include <aclapi.h>
#endif

#include "plat.h"
#include "slurp.h"
#include "sys_fixture.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"
#include "sys/cr_sys_proc.h"
#include "sys/cr_sys_write.h"

static void
assert_content(const struct t *t, const char *name, const char *want)
{
	char *p = in(t, name), *got = slurp(p);

	assert_string_equal(got, want);
	free(got);
	free(p);
}

static enum cr_sys_ftype
type_of(const struct t *t, const char *name, struct cr_sys_stat *st)
{
	char *p = in(t, name);
	cr_err e;

	cr_err_init(&e);
	assert_int_not_equal(cr_sys_stat(p, CR_SYS_NOFOLLOW, st, &e), -1);
	free(p);
	return st->type;
}

#ifdef _WIN32
/* The DACL of path has exactly SYSTEM and Administrators, full control,
 * and (protected) nothing inherited from above when protected_ says so. */
static void
assert_puppet_dacl(const char *path, bool protected_)
{
	PACL dacl = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	SECURITY_DESCRIPTOR_CONTROL ctl = 0;
	DWORD rev, i;
	ACL_SIZE_INFORMATION ai;
	void *ace;
	PSID sid;
	bool sys = false, adm = false;

	assert_int_equal(GetNamedSecurityInfoA(path, SE_FILE_OBJECT,
	    DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
	    ERROR_SUCCESS);
	assert_non_null(dacl);
	assert_true(GetAclInformation(dacl, &ai, sizeof(ai),
	    AclSizeInformation));
	assert_int_equal(ai.AceCount, 2);
	for (i = 0; i < ai.AceCount; i++) {
		assert_true(GetAce(dacl, i, &ace));
		assert_int_equal(((ACE_HEADER *)ace)->AceType,
		    ACCESS_ALLOWED_ACE_TYPE);
		assert_int_equal(((ACCESS_ALLOWED_ACE *)ace)->Mask & FILE_ALL_ACCESS,
		    FILE_ALL_ACCESS);
		sid = (PSID)&((ACCESS_ALLOWED_ACE *)ace)->SidStart;
		sys |= IsWellKnownSid(sid, WinLocalSystemSid) != FALSE;
		adm |= IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != FALSE;
	}
	assert_true(sys);
	assert_true(adm);
	assert_true(GetSecurityDescriptorControl(sd, &ctl, &rev));
	if (protected_)
		assert_true(ctl & SE_DACL_PROTECTED);
	LocalFree(sd);
}

/*
 * What wine (8) models of a DACL: it keeps none, it maps the DACL it is
 * given to the Unix mode bits and reads back SYSTEM plus the owner (the
 * Unix user) from them.  So under wine: every ACE is SYSTEM,
 * Administrators or the owner, none is Everyone, Users or Authenticated
 * Users, that is, the mode has no "other" bits.
 */
static void
assert_wine_private(const char *path)
{
	PSID owner = NULL, sid;
	PACL dacl = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	ACL_SIZE_INFORMATION ai;
	DWORD i;
	void *ace;
	bool sys = false;

	assert_int_equal(GetNamedSecurityInfoA(path, SE_FILE_OBJECT,
	    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
	    NULL, &dacl, NULL, &sd), ERROR_SUCCESS);
	assert_non_null(dacl);
	assert_true(GetAclInformation(dacl, &ai, sizeof(ai),
	    AclSizeInformation));
	for (i = 0; i < ai.AceCount; i++) {
		assert_true(GetAce(dacl, i, &ace));
		if (((ACE_HEADER *)ace)->AceType != ACCESS_ALLOWED_ACE_TYPE)
			continue;
		sid = (PSID)&((ACCESS_ALLOWED_ACE *)ace)->SidStart;
		sys |= IsWellKnownSid(sid, WinLocalSystemSid) != FALSE;
		assert_true(IsWellKnownSid(sid, WinLocalSystemSid) ||
		    IsWellKnownSid(sid, WinBuiltinAdministratorsSid) ||
		    EqualSid(sid, owner));
	}
	assert_true(sys);
	LocalFree(sd);
}
#endif

/* path was made private: Puppet's access, as far as the platform shows. */
static void
assert_private(const char *path, const struct cr_sys_stat *st,
    bool protected_)
{
#ifdef _WIN32
	if (tp_under_wine()) {
		assert_wine_private(path);
		return;
	}
	assert_true(st->private_access);
	assert_puppet_dacl(path, protected_);
#else
	(void)path;
	(void)protected_;
	assert_true(st->private_access);
	assert_int_equal(st->mode & 077, 0);
#endif
}

static void
write_new_is_exclusive_and_private(void **state)
{
	struct t *t = *state;
	char *p = in(t, "private_key.pem");
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_sys_write_new(p, "KEY\n", 4, true, &e));
	assert_content(t, "private_key.pem", "KEY\n");
	assert_int_equal(type_of(t, "private_key.pem", &st), CR_SYS_FILE);
	assert_private(p, &st, true);
#ifndef _WIN32
	assert_int_equal(st.mode, 0600);
#endif
	/* a second creation is refused and leaves the first one alone */
	assert_false(cr_sys_write_new(p, "OTHER\n", 6, true, &e));
	assert_true(e.set);
	assert_true(json_is_true(json_object_get(e.details, "exists")));
	assert_non_null(strstr(e.msg, "private_key.pem"));
	assert_content(t, "private_key.pem", "KEY\n");
	cr_err_clear(&e);
	free(p);
}

static void
install_replaces_whole_file(void **state)
{
	struct t *t = *state;
	char *p = in(t, "crl.pem"), **names = NULL;
	size_t n = 0;
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_sys_install_file(p, "OLD\n", 4, false, &e));
	assert_content(t, "crl.pem", "OLD\n");
	assert_true(cr_sys_install_file(p, "NEW CRL\n", 8, true, &e));
	assert_content(t, "crl.pem", "NEW CRL\n");
	assert_int_equal(type_of(t, "crl.pem", &st), CR_SYS_FILE);
	/* the new file's access, not the old one's */
	assert_private(p, &st, true);
	/* no temp file left beside it */
	assert_true(cr_sys_list_dir(t->dir, 10, &names, &n, &e));
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "crl.pem");
	cr_sys_names_free(names, n);
	assert_false(e.set);
	free(p);
}

static void
private_dir_is_private_inside(void **state)
{
	struct t *t = *state;
	char *d = in(t, "ssl"), *f = in(t, "ssl/cert.pem");
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_sys_mkdir(d, true, &e));
	assert_int_equal(type_of(t, "ssl", &st), CR_SYS_DIR);
	assert_private(d, &st, true);
#ifdef _WIN32
	/* a file made without access of its own inherits the directory's:
	 * a backup or staging copy is never wider than the ssldir (wine
	 * does not model inheritance: checked on Windows only) */
	assert_true(cr_sys_write_new(f, "C\n", 2, false, &e));
	assert_int_equal(type_of(t, "ssl/cert.pem", &st), CR_SYS_FILE);
	if (!tp_under_wine()) {
		assert_true(st.private_access);
		assert_puppet_dacl(f, false);
	}
#else
	assert_int_equal(st.mode, 0700);
	assert_true(cr_sys_write_new(f, "C\n", 2, false, &e));
	assert_int_equal(type_of(t, "ssl/cert.pem", &st), CR_SYS_FILE);
	assert_int_equal(st.mode, 0644);
	assert_false(st.private_access);
#endif
	assert_false(cr_sys_mkdir(d, true, &e));
	assert_true(json_is_true(json_object_get(e.details, "exists")));
	cr_err_clear(&e);
	free(f);
	free(d);
}

/* dir name holding one file "id" with content. */
static void
identity_dir(const struct t *t, const char *name, const char *content)
{
	char *d = in(t, name), *f = cr_sys_path_join(d, "id");
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_sys_mkdir(d, true, &e));
	assert_true(cr_sys_write_new(f, content, strlen(content), true, &e));
	free(f);
	free(d);
}

/* cr_sys_secret_new: a private key's file, new, exactly the content;
 * POSIX exactly the mode asked, Windows private whatever the mode. */
static void
secret_new_is_exclusive(void **state)
{
	struct t *t = *state;
	char *k = in(t, "key.pem");
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	if (!cr_sys_secret_new(k, "KEY\n", 4, 0640, -1, -1, &e))
		fail_msg("%s", e.msg);
	assert_content(t, "key.pem", "KEY\n");
	assert_int_equal(type_of(t, "key.pem", &st), CR_SYS_FILE);
#ifdef _WIN32
	assert_private(k, &st, true);
#else
	assert_int_equal(st.mode & 0777, 0640);
#endif
	assert_false(cr_sys_secret_new(k, "X", 1, 0600, -1, -1, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	assert_content(t, "key.pem", "KEY\n");
	free(k);
}

/* cr_sys_remove: a file, an empty directory; missing is no error; a
 * directory that still holds something stays. */
static void
remove_takes_one_entry(void **state)
{
	struct t *t = *state;
	char *d = in(t, "d"), *f = in(t, "d/f");
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_sys_mkdir(d, false, &e));
	assert_true(cr_sys_write_new(f, "x", 1, true, &e));
	assert_false(cr_sys_remove(d, &e));	/* not empty */
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	assert_int_equal(type_of(t, "d/f", &st), CR_SYS_FILE);
	assert_true(cr_sys_remove(f, &e));
	assert_int_equal(type_of(t, "d/f", &st), CR_SYS_MISSING);
	assert_true(cr_sys_remove(f, &e));	/* missing: nothing to do */
	assert_true(cr_sys_remove(d, &e));
	assert_int_equal(type_of(t, "d", &st), CR_SYS_MISSING);
	assert_false(e.set);
	free(f);
	free(d);
}

static void
exchange_swaps_two_dirs(void **state)
{
	struct t *t = *state;
	char *a = in(t, "ssl"), *b = in(t, "ssl.new");
	struct cr_sys_stat st;
	bool finished = true;
	int r;
	cr_err e;

	cr_err_init(&e);
	identity_dir(t, "ssl", "OLD");
	identity_dir(t, "ssl.new", "NEW");
	r = cr_sys_dir_exchange(a, b, &e);
	assert_false(e.set);
	if (r == 0 && !cr_sys_windows())
		skip();	/* this filesystem has no RENAME_EXCHANGE */
	assert_int_equal(r, 1);
	assert_content(t, "ssl/id", "NEW");
	assert_content(t, "ssl.new/id", "OLD");
	assert_int_equal(type_of(t, "ssl.new.xchg", &st), CR_SYS_MISSING);
	/* nothing is left to finish */
	assert_true(cr_sys_dir_exchange_finish(a, b, &finished, &e));
	assert_false(finished);
	assert_content(t, "ssl/id", "NEW");
	free(b);
	free(a);
}

#ifdef _WIN32
/* Killed after the first rename (ssl -> ssl.new.xchg): the rerun puts
 * the new identity live and the old one in the staging place. */
static void
exchange_finish_after_aside(void **state)
{
	struct t *t = *state;
	char *a = in(t, "ssl"), *b = in(t, "ssl.new"), *x = in(t,
	    "ssl.new.xchg"), *src = in(t, "ssl.old");
	struct cr_sys_stat st;
	bool finished = false;
	cr_err e;

	cr_err_init(&e);
	identity_dir(t, "ssl.old", "OLD");
	identity_dir(t, "ssl.new", "NEW");
	assert_true(MoveFileExA(src, x, 0));	/* as the first rename does */
	assert_int_equal(type_of(t, "ssl", &st), CR_SYS_MISSING);
	/* a second exchange refuses to start over the leftover */
	assert_int_equal(cr_sys_dir_exchange(a, b, &e), -1);
	assert_non_null(strstr(e.msg, "rerun"));
	cr_err_clear(&e);
	assert_true(cr_sys_dir_exchange_finish(a, b, &finished, &e));
	assert_true(finished);
	assert_content(t, "ssl/id", "NEW");
	assert_content(t, "ssl.new/id", "OLD");
	assert_int_equal(type_of(t, "ssl.new.xchg", &st), CR_SYS_MISSING);
	free(src);
	free(x);
	free(b);
	free(a);
}

/* Killed after the second rename (ssl.new -> ssl): only the old identity
 * is still aside, and goes to the staging place. */
static void
exchange_finish_after_live(void **state)
{
	struct t *t = *state;
	char *a = in(t, "ssl"), *b = in(t, "ssl.new");
	struct cr_sys_stat st;
	bool finished = false;
	cr_err e;

	cr_err_init(&e);
	identity_dir(t, "ssl", "NEW");
	identity_dir(t, "ssl.new.xchg", "OLD");
	assert_true(cr_sys_dir_exchange_finish(a, b, &finished, &e));
	assert_true(finished);
	assert_content(t, "ssl/id", "NEW");
	assert_content(t, "ssl.new/id", "OLD");
	assert_int_equal(type_of(t, "ssl.new.xchg", &st), CR_SYS_MISSING);
	free(b);
	free(a);
}

static void
services_through_scm(void **state)
{
	enum cr_sys_svc s = CR_SYS_SVC_RUNNING;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_true(cr_sys_service_query("cert_regen-no-such-service", &s, &e));
	assert_int_equal(s, CR_SYS_SVC_ABSENT);
	assert_false(cr_sys_service_stop("cert_regen-no-such-service", 1000,
	    &e));
	assert_string_equal(e.kind, "cert_regen/service-error");
	assert_non_null(strstr(e.msg, "does not exist"));
	cr_err_clear(&e);
	if (!tp_under_wine())
		return;
	/* wine has no Puppet: both services the flow stops are absent,
	 * while wine's own RPC service is known to the SCM */
	assert_true(cr_sys_service_query("puppet", &s, &e));
	assert_int_equal(s, CR_SYS_SVC_ABSENT);
	assert_true(cr_sys_service_query("pxp-agent", &s, &e));
	assert_int_equal(s, CR_SYS_SVC_ABSENT);
	assert_true(cr_sys_service_query("RpcSs", &s, &e));
	assert_int_not_equal(s, CR_SYS_SVC_ABSENT);
	assert_false(e.set);
}
#endif

static void
pid_of_lock_file(void **state)
{
	(void)state;
	assert_true(cr_sys_pid_alive((unsigned long)tp_getpid()));
	/* above Linux's pid_max; not a multiple of 4, so no Windows pid */
	assert_false(cr_sys_pid_alive(0x7ffffff1UL));
	assert_string_equal(cr_sys_svc_name(CR_SYS_SVC_ABSENT), "absent");
	assert_string_equal(cr_sys_svc_name(CR_SYS_SVC_PENDING), "pending");
}

FIXTURE_SUITE("syswrite")

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(write_new_is_exclusive_and_private),
		FIXTURE_TEST(install_replaces_whole_file),
		FIXTURE_TEST(private_dir_is_private_inside),
		FIXTURE_TEST(exchange_swaps_two_dirs),
		FIXTURE_TEST(remove_takes_one_entry),
		FIXTURE_TEST(secret_new_is_exclusive),
#ifdef _WIN32
		FIXTURE_TEST(exchange_finish_after_aside),
		FIXTURE_TEST(exchange_finish_after_live),
		cmocka_unit_test(services_through_scm),
#endif
		cmocka_unit_test(pid_of_lock_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
