/*
 * slurp.h - a file's whole content as a new string, for the suites that
 * check what the code under test wrote (test_fs, test_keygen_csr,
 * test_lock_files, test_sys_write), on POSIX and under wine.  Test
 * scaffolding: it reads through ext/core/sys like the code under test,
 * and a link in the last component fails the test (the suites only read
 * files they made).  Include after <cmocka.h>.
 */
#ifndef CR_TEST_SLURP_H
#define CR_TEST_SLURP_H

#include "sys/cr_sys_fs.h"

/* The whole of path (up to 1 MiB), NUL-terminated; the caller frees it. */
static inline char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	cr_err e;

	cr_err_init(&e);
	if (!cr_sys_read_file(path, 1 << 20, CR_SYS_NOFOLLOW, &buf, &len, &e))
		fail_msg("%s: %s", path, e.msg);
	cr_err_clear(&e);
	return buf;
}

#endif
