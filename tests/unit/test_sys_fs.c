/*
 * test_sys_fs.c - the platform seam's reads (ext/core/sys), the same suite
 * on POSIX (under ASan/UBSan) and on Windows (mingw build run under wine):
 * bounded reads, what is refused, stat, directory listing, path joining.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cr_fs_read.h"
#include "json_check.h"
#include "plat.h"
#include "sys_fixture.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"

static void
read_whole_file(void **state)
{
	struct t *t = *state;
	char *p = in(t, "cert.pem"), *buf = NULL;
	size_t len = 0;
	cr_err e;

	cr_err_init(&e);
	put(t, "cert.pem", "-----BEGIN X-----\r\nabc\n");
	assert_true(cr_sys_read_file(p, 1024, CR_SYS_NOFOLLOW, &buf, &len, &e));
	assert_int_equal(len, 23);	/* binary: \r\n kept */
	assert_string_equal(buf, "-----BEGIN X-----\r\nabc\n");
	free(buf);
	/* cr_file_read is the same read through the seam */
	assert_true(cr_file_read(p, 1024, &buf, &len, &e));
	assert_int_equal(len, 23);
	free(buf);
	assert_false(e.set);
	free(p);
}

static void
read_bounded(void **state)
{
	struct t *t = *state;
	char *p = in(t, "big"), *buf = (char *)"x";
	size_t len = 7;
	cr_err e;

	cr_err_init(&e);
	put(t, "big", "0123456789");
	assert_false(cr_sys_read_file(p, 9, CR_SYS_FOLLOW, &buf, &len, &e));
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_non_null(strstr(e.msg, "10 bytes, more than the 9 allowed"));
	cr_err_clear(&e);
	assert_true(cr_sys_read_file(p, 10, CR_SYS_FOLLOW, &buf, &len, &e));
	assert_int_equal(len, 10);
	free(buf);
	free(p);
}

static void
read_missing(void **state)
{
	struct t *t = *state;
	char *p = in(t, "nope.pem"), *buf = NULL;
	size_t len;
	cr_err e;

	cr_err_init(&e);
	assert_false(cr_sys_read_file(p, 10, CR_SYS_FOLLOW, &buf, &len, &e));
	assert_non_null(strstr(e.msg, p));
	assert_err_missing(&e);
	assert_int_equal(cr_path_exists(p), 0);
	free(p);
}

static void
read_refuses_directory(void **state)
{
	struct t *t = *state;
	char *p = in(t, "sub"), *buf = NULL;
	size_t len;
	cr_err e;

	cr_err_init(&e);
	assert_int_equal(tp_mkdir(p), 0);
	assert_false(cr_sys_read_file(p, 10, CR_SYS_FOLLOW, &buf, &len, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_non_null(strstr(e.msg, "not a regular file (a directory)"));
	cr_err_clear(&e);
	free(p);
}

static void
stat_types(void **state)
{
	struct t *t = *state;
	char *f = in(t, "key.pem"), *d = in(t, "private_keys"),
	    *m = in(t, "gone");
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	put(t, "key.pem", "12345");
	assert_int_equal(tp_mkdir(d), 0);
	assert_int_equal(cr_sys_stat(f, CR_SYS_NOFOLLOW, &st, &e), 1);
	assert_int_equal(st.type, CR_SYS_FILE);
	assert_int_equal(st.size, 5);
	assert_int_equal(cr_sys_stat(d, CR_SYS_FOLLOW, &st, &e), 1);
	assert_int_equal(st.type, CR_SYS_DIR);
	assert_int_equal(cr_sys_stat(m, CR_SYS_FOLLOW, &st, &e), 0);
	assert_int_equal(st.type, CR_SYS_MISSING);
	assert_false(e.set);
	assert_int_equal(cr_path_exists(f), 1);
	assert_string_equal(cr_sys_ftype_name(CR_SYS_DIR), "directory");
	free(f);
	free(d);
	free(m);
}

static void
list_sorted_and_bounded(void **state)
{
	struct t *t = *state;
	char **names = NULL;
	size_t n = 99;
	cr_err e;

	cr_err_init(&e);
	put(t, "b.pem", "b");
	put(t, "a.pem", "a");
	put(t, "c.pem", "c");
	assert_true(cr_sys_list_dir(t->dir, 3, &names, &n, &e));
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a.pem");
	assert_string_equal(names[1], "b.pem");
	assert_string_equal(names[2], "c.pem");
	cr_sys_names_free(names, n);
	assert_false(cr_sys_list_dir(t->dir, 2, &names, &n, &e));
	assert_null(names);
	assert_int_equal(n, 0);
	assert_non_null(strstr(e.msg, "more than 2 entries"));
	cr_err_clear(&e);
}

static void
list_missing(void **state)
{
	struct t *t = *state;
	char *p = in(t, "none"), **names = NULL;
	size_t n;
	cr_err e;

	cr_err_init(&e);
	assert_false(cr_sys_list_dir(p, 10, &names, &n, &e));
	assert_err_missing(&e);
	free(p);
}

static void
path_join_and_absolute(void **state)
{
	char *p;

	(void)state;
	p = cr_sys_path_join("a", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = cr_sys_path_join("a/", "b");
	assert_string_equal(p, "a/b");
	free(p);
	p = cr_sys_path_join("C:\\ProgramData", "PuppetLabs");
	assert_string_equal(p, "C:\\ProgramData/PuppetLabs");
	free(p);
	p = cr_sys_path_join("C:\\", "x");
	/* a trailing '\' is a separator on Windows only */
	assert_string_equal(p, cr_sys_windows() ? "C:\\x" : "C:\\/x");
	free(p);
	/* "/etc" has no drive on Windows: relative to the current one */
	assert_int_equal(cr_sys_path_absolute("/etc"), !cr_sys_windows());
	assert_false(cr_sys_path_absolute("etc"));
	assert_int_equal(cr_sys_path_absolute("C:/x"), cr_sys_windows());
	assert_int_equal(cr_sys_path_absolute("C:\\x"), cr_sys_windows());
	assert_int_equal(cr_sys_path_absolute("\\\\srv\\share"),
	    cr_sys_windows());
	assert_false(cr_sys_path_absolute("C:x"));
}

#ifndef _WIN32
#include <sys/stat.h>
#include <unistd.h>

/* POSIX only: a FIFO must not block, a symlink is refused when asked,
 * the access bits decide private_access. */
static void
posix_specials(void **state)
{
	struct t *t = *state;
	char *fifo = in(t, "fifo"), *link = in(t, "link"), *f = in(t, "f"),
	    *buf = NULL;
	struct cr_sys_stat st;
	size_t len;
	cr_err e;

	cr_err_init(&e);
	put(t, "f", "data");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_false(cr_sys_read_file(fifo, 10, CR_SYS_FOLLOW, &buf, &len, &e));
	assert_non_null(strstr(e.msg, "(a FIFO)"));
	cr_err_clear(&e);
	assert_int_equal(symlink(f, link), 0);
	assert_true(cr_sys_read_file(link, 10, CR_SYS_FOLLOW, &buf, &len, &e));
	free(buf);
	assert_false(cr_sys_read_file(link, 10, CR_SYS_NOFOLLOW, &buf, &len, &e));
	assert_string_equal(e.kind, CR_KIND_PATH_SYMLINK);
	cr_err_clear(&e);
	assert_int_equal(cr_sys_stat(link, CR_SYS_NOFOLLOW, &st, &e), 1);
	assert_int_equal(st.type, CR_SYS_LINK);
	assert_int_equal(cr_sys_stat(fifo, CR_SYS_NOFOLLOW, &st, &e), 1);
	assert_int_equal(st.type, CR_SYS_FIFO);
	assert_int_equal(chmod(f, 0600), 0);
	assert_int_equal(cr_sys_stat(f, CR_SYS_FOLLOW, &st, &e), 1);
	assert_true(st.private_access);
	assert_true(st.owned_by_me);
	assert_int_equal(st.mode, 0600);
	assert_int_equal(chmod(f, 0640), 0);
	assert_int_equal(cr_sys_stat(f, CR_SYS_FOLLOW, &st, &e), 1);
	assert_false(st.private_access);
	buf = cr_sys_readlink(link);
	assert_string_equal(buf, f);
	free(buf);
	assert_null(cr_sys_readlink(f));
	free(fifo);
	free(link);
	free(f);
}
#else
/* Windows: a file the test created is owned by someone this process can
 * name (an SID), and the privilege check answers without failing. */
static void
win32_owner(void **state)
{
	struct t *t = *state;
	char *f = in(t, "f");
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	put(t, "f", "data");
	assert_int_equal(cr_sys_stat(f, CR_SYS_FOLLOW, &st, &e), 1);
	print_message("owner %s group %s mine %d private %d admin %d\n",
	    st.owner, st.group, st.owned_by_me, st.private_access,
	    cr_sys_privileged());
	assert_int_equal(strncmp(st.owner, "S-1-", 4), 0);
	free(f);
}
#endif

#define T(f) FIXTURE_TEST(f)

FIXTURE_SUITE("sysfs")

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(read_whole_file),
		T(read_bounded),
		T(read_missing),
		T(read_refuses_directory),
		T(stat_types),
		T(list_sorted_and_bounded),
		T(list_missing),
		cmocka_unit_test(path_join_and_absolute),
#ifndef _WIN32
		T(posix_specials),
#else
		T(win32_owner),
#endif
	};

	return cmocka_run_group_tests_name("sys_fs", tests, NULL, NULL);
}
