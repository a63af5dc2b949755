/*
 * sys_fixture.h - the temporary directory the platform-seam suites
 * (test_sys_fs, test_sys_write, test_fs_tree, test_lock_files) each test
 * runs in, on POSIX and under wine: made by setup, removed (whole tree)
 * by teardown, with helpers for paths and files in it.  Test scaffolding:
 * it goes through ext/core/sys like the code under test.
 */
#ifndef CR_TEST_SYS_FIXTURE_H
#define CR_TEST_SYS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat.h"
#include "sys/cr_sys_fs.h"

struct t {
	char dir[512];
};

/* New "<dir>/<name>". */
static inline char *
in(const struct t *t, const char *name)
{
	char *p = cr_sys_path_join(t->dir, name);

	assert_non_null(p);
	return p;
}

/* Writes data to <dir>/<name>. */
static inline void
put(const struct t *t, const char *name, const char *data)
{
	char *p = in(t, name);

	assert_int_equal(tp_write(p, data, strlen(data)), 0);
	free(p);
}

/* Removes path and, a directory, everything under it (links not
 * followed). */
static inline void
fixture_rm_tree(const char *path)
{
	char **names = NULL, *p;
	size_t n = 0, i;
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	if (cr_sys_stat(path, CR_SYS_NOFOLLOW, &st, &e) == 1 &&
	    st.type == CR_SYS_DIR) {
		if (cr_sys_list_dir(path, 1000, &names, &n, &e))
			for (i = 0; i < n; i++) {
				p = cr_sys_path_join(path, names[i]);
				fixture_rm_tree(p);
				free(p);
			}
		cr_sys_names_free(names, n);
		tp_rmdir(path);
	} else {
		remove(path);
	}
	cr_err_clear(&e);
}

/* cmocka setup: a new temporary directory cr-<tag>-<pid>-<n>. */
static inline int
fixture_setup(void **state, const char *tag)
{
	struct t *t = calloc(1, sizeof(*t));

	if (t == NULL || tp_tempdir(t->dir, sizeof(t->dir), tag) != 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int
fixture_teardown(void **state)
{
	struct t *t = *state;

	fixture_rm_tree(t->dir);
	free(t);
	return 0;
}

/* A suite's tests each in a new temporary directory cr-<tag>-...:
 * FIXTURE_SUITE("tag") once, then FIXTURE_TEST(fn) in the test table. */
#define FIXTURE_SUITE(tag)						\
	static int							\
	fixture_setup_suite(void **state)				\
	{								\
		return fixture_setup(state, tag);			\
	}
#define FIXTURE_TEST(fn)						\
	cmocka_unit_test_setup_teardown(fn, fixture_setup_suite,	\
	    fixture_teardown)

#endif
