/*
 * cr_fs_read.c - bounded file reads and path helpers (see cr_fs_read.h),
 * on every platform through the seam in sys/cr_sys_fs.h.
 */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "cr_fs_read.h"

bool
cr_file_read(const char *path, size_t max, char **buf, size_t *len,
    cr_err *err)
{
	/* symlinks are followed, as Puppet does (an ssldir may link its
	 * files), but what they lead to must be a regular file */
	return cr_sys_read_file(path, max, CR_SYS_FOLLOW, buf, len, err);
}

void
cr_secret_free(void *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

int
cr_path_exists(const char *path)
{
	struct cr_sys_stat st;
	cr_err e;
	int r;

	cr_err_init(&e);
	r = cr_sys_stat(path, CR_SYS_FOLLOW, &st, &e);
	cr_err_clear(&e);
	return r;
}

char *
cr_path_join(const char *a, const char *b)
{
	return cr_sys_path_join(a, b);
}
