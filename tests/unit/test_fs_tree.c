/*
 * test_fs_tree.c - cr_fs.h's ssldir tree copy / compare / remove, mkdir -p
 * and atomic installs, the same suite on POSIX (cr_fs.c, under ASan/UBSan)
 * and on Windows (sys/win32/cr_fs_win.c on the platform seam, the mingw
 * build run under wine): one behaviour, two implementations.  The
 * fixture (sys_fixture.h) removes its directory through the seam, not with
 * the cr_tree_remove under test (remove_takes_the_whole_tree checks that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cr_fs.h"
#include "plat.h"
#include "sys_fixture.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"

static void
dir(const struct t *t, const char *name)
{
	char *p = in(t, name);

	assert_int_equal(tp_mkdir(p), 0);
	free(p);
}

static enum cr_sys_ftype
type_of(const struct t *t, const char *name)
{
	struct cr_sys_stat st;
	char *p = in(t, name);
	cr_err e;

	cr_err_init(&e);
	assert_int_not_equal(cr_sys_stat(p, CR_SYS_NOFOLLOW, &st, &e), -1);
	free(p);
	return st.type;
}

static void
assert_content(const struct t *t, const char *name, const char *want)
{
	char *p = in(t, name), *buf = NULL;
	size_t len = 0;
	cr_err e;

	cr_err_init(&e);
	if (!cr_sys_read_file(p, 1 << 20, CR_SYS_NOFOLLOW, &buf, &len, &e))
		fail_msg("%s", e.msg);
	assert_string_equal(buf, want);
	free(buf);
	free(p);
}

/* An ssldir as Puppet lays it out, with a nested and an empty directory. */
static void
make_ssldir(const struct t *t)
{
	dir(t, "src");
	dir(t, "src/certs");
	dir(t, "src/private_keys");
	dir(t, "src/certificate_requests");
	dir(t, "src/certs/nested");
	put(t, "src/certs/ca.pem", "-----CA-----\n");
	put(t, "src/certs/agent.pem", "-----AGENT-----\n");
	put(t, "src/certs/nested/deep.pem", "deep\n");
	put(t, "src/private_keys/agent.pem", "-----KEY-----\n");
	put(t, "src/crl.pem", "-----CRL-----\n");
}

/* compare(src, dst) fails with this difference at this path. */
static void
assert_differs(const struct t *t, const char *difference, const char *path)
{
	char *a = in(t, "src"), *b = in(t, "dst");
	cr_err e;

	cr_err_init(&e);
	assert_false(cr_tree_compare(a, b, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_string_equal(json_string_value(json_object_get(e.details,
	    "difference")), difference);
	assert_string_equal(json_string_value(json_object_get(e.details,
	    "path")), path);
	cr_err_clear(&e);
	free(a);
	free(b);
}

static void
copy_is_faithful_and_private(void **state)
{
	struct t *t = *state;
	char *src = in(t, "src"), *dst = in(t, "dst"), *p;
	struct cr_sys_stat st;
	cr_err e;

	make_ssldir(t);
	cr_err_init(&e);
	if (!cr_tree_copy(src, dst, &e))
		fail_msg("%s", e.msg);
	if (!cr_tree_compare(src, dst, &e))
		fail_msg("%s", e.msg);
	assert_content(t, "dst/private_keys/agent.pem", "-----KEY-----\n");
	assert_content(t, "dst/certs/nested/deep.pem", "deep\n");
	assert_int_equal(type_of(t, "dst/certificate_requests"), CR_SYS_DIR);
	/* POSIX: the source's mode copied (tp_mkdir made it 0700);
	 * Windows: the top made private (Puppet's DACL), what it holds
	 * inherits that.  Wine keeps no DACL (test_sys_write.c says what it
	 * models), so there this is Windows' own check only. */
	assert_int_equal(cr_sys_stat(dst, CR_SYS_NOFOLLOW, &st, &e), 1);
	if (!tp_under_wine())
		assert_true(st.private_access);
#ifdef _WIN32
	p = in(t, "dst/private_keys/agent.pem");
	assert_int_equal(cr_sys_stat(p, CR_SYS_NOFOLLOW, &st, &e), 1);
	if (!tp_under_wine())
		assert_true(st.private_access);
	free(p);
#else
	(void)p;
#endif
	free(src);
	free(dst);
}

static void
copy_refuses_an_existing_destination(void **state)
{
	struct t *t = *state;
	char *src = in(t, "src"), *dst = in(t, "dst");
	cr_err e;

	make_ssldir(t);
	dir(t, "dst");
	put(t, "dst/keep", "mine\n");
	cr_err_init(&e);
	assert_false(cr_tree_copy(src, dst, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	assert_content(t, "dst/keep", "mine\n");
	assert_int_equal(type_of(t, "dst/certs"), CR_SYS_MISSING);
	free(src);
	free(dst);
}

static void
compare_names_the_first_difference(void **state)
{
	struct t *t = *state;
	char *src = in(t, "src"), *dst = in(t, "dst"), *p;
	cr_err e;

	make_ssldir(t);
	cr_err_init(&e);
	if (!cr_tree_copy(src, dst, &e))
		fail_msg("%s", e.msg);
	put(t, "dst/certs/agent.pem", "-----AGENX-----\n");	/* same size */
	assert_differs(t, "content", "certs/agent.pem");
	put(t, "dst/certs/agent.pem", "-----AGENT-----\n\n");
	assert_differs(t, "size", "certs/agent.pem");
	put(t, "dst/certs/agent.pem", "-----AGENT-----\n");
	put(t, "dst/private_keys/other.pem", "x\n");
	assert_differs(t, "extra", "private_keys/other.pem");
	p = in(t, "dst/private_keys/other.pem");
	assert_true(cr_tree_remove(p, &e));
	free(p);
	p = in(t, "dst/certs/nested/deep.pem");
	assert_true(cr_tree_remove(p, &e));
	free(p);
	assert_differs(t, "missing", "certs/nested/deep.pem");
	put(t, "dst/certs/nested/deep.pem", "deep\n");
	if (!cr_tree_compare(src, dst, &e))	/* whole again */
		fail_msg("%s", e.msg);
	free(src);
	free(dst);
}

/* Removes name under the fixture's directory, as a tree. */
static void
gone(const struct t *t, const char *name)
{
	char *p = in(t, name);
	cr_err e;

	cr_err_init(&e);
	if (!cr_tree_remove(p, &e))
		fail_msg("%s", e.msg);
	free(p);
}

/* Several differences at once: the one reported is the first in name
 * order, depth first (a tree's entries sorted bytewise, a directory's
 * contents before the names after it), on both implementations. */
static void
compare_meets_differences_in_name_order(void **state)
{
	struct t *t = *state;
	char *src = in(t, "src"), *dst = in(t, "dst");
	cr_err e;

	make_ssldir(t);
	cr_err_init(&e);
	if (!cr_tree_copy(src, dst, &e))
		fail_msg("%s", e.msg);
	put(t, "dst/aaa", "x\n");	/* before certificate_requests */
	put(t, "dst/certs/agent.pem", "-----AGENX-----\n");
	assert_differs(t, "extra", "aaa");
	gone(t, "dst/aaa");
	gone(t, "dst/crl.pem");	/* after certs */
	assert_differs(t, "content", "certs/agent.pem");
	put(t, "dst/certs/agent.pem", "-----AGENT-----\n");
	put(t, "dst/certs/zzz.pem", "z\n");	/* the last in certs */
	assert_differs(t, "extra", "certs/zzz.pem");
	gone(t, "dst/certs/zzz.pem");
	assert_differs(t, "missing", "crl.pem");
	put(t, "dst/crl.pem", "-----CRL-----\n");
	put(t, "dst/zzz", "z\n");	/* the last at the top */
	put(t, "dst/certs/nested/deep.pem", "DEEP\n");
	assert_differs(t, "content", "certs/nested/deep.pem");
	put(t, "dst/certs/nested/deep.pem", "deep\n");
	assert_differs(t, "extra", "zzz");
	gone(t, "dst/zzz");
	assert_true(cr_tree_compare(src, dst, &e));	/* whole again */
	free(src);
	free(dst);
}

static void
remove_takes_the_whole_tree(void **state)
{
	struct t *t = *state;
	char *src = in(t, "src");
	cr_err e;

	make_ssldir(t);
	cr_err_init(&e);
	if (!cr_tree_remove(src, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(type_of(t, "src"), CR_SYS_MISSING);
	/* a missing path is not an error */
	assert_true(cr_tree_remove(src, &e));
	assert_false(e.set);
	free(src);
}

static void
mkdir_p_makes_what_is_missing(void **state)
{
	struct t *t = *state;
	char *p = in(t, "a/b/c"), *f;
	cr_err e;

	cr_err_init(&e);
	if (!cr_mkdir_p(p, 0700, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(type_of(t, "a/b/c"), CR_SYS_DIR);
	put(t, "a/b/c/keep", "kept\n");
	assert_true(cr_mkdir_p(p, 0700, &e));	/* existing ones are kept */
	assert_content(t, "a/b/c/keep", "kept\n");
	f = in(t, "a/b/c/keep/d");
	assert_false(cr_mkdir_p(f, 0700, &e));	/* a file is in the way */
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	free(f);
	free(p);
}

static void
write_atomic_replaces_and_is_private(void **state)
{
	struct t *t = *state;
	char *p = in(t, "key.pem");
	struct cr_sys_stat st;
	cr_err e;

	put(t, "key.pem", "old and longer\n");
	cr_err_init(&e);
	if (!cr_file_write_atomic(p, "new\n", 4, 0600, (uid_t)-1, (gid_t)-1,
	    &e))
		fail_msg("%s", e.msg);
	assert_content(t, "key.pem", "new\n");
	assert_int_equal(cr_sys_stat(p, CR_SYS_NOFOLLOW, &st, &e), 1);
	assert_int_equal(st.type, CR_SYS_FILE);
	assert_int_equal(st.size, 4);
	if (!tp_under_wine())
		assert_true(st.private_access);
#ifndef _WIN32
	assert_int_equal(st.mode & 0777, 0600);
#endif
	free(p);
}

FIXTURE_SUITE("fstree")

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(copy_is_faithful_and_private),
		FIXTURE_TEST(copy_refuses_an_existing_destination),
		FIXTURE_TEST(compare_names_the_first_difference),
		FIXTURE_TEST(compare_meets_differences_in_name_order),
		FIXTURE_TEST(remove_takes_the_whole_tree),
		FIXTURE_TEST(mkdir_p_makes_what_is_missing),
		FIXTURE_TEST(write_atomic_replaces_and_is_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
