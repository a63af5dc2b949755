/*
 * cr_fs_read.h - bounded file reads and path helpers, on every platform
 * (through the seam in sys/cr_sys_fs.h).
 */
#ifndef CR_FS_READ_H
#define CR_FS_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"
#include "sys/cr_sys_fs.h"

/* Size caps for files read from an ssldir (checked before allocating). */
#define CR_MAX_PEM_FILE ((size_t)4 << 20)	/* certs, bundles, keys, CSRs */
#define CR_MAX_CRL_FILE ((size_t)256 << 20)	/* CRL chains (100k entries ~ 4 MiB) */

/*
 * Reads a whole regular file into a new NUL-terminated buffer (*buf is the
 * caller's; free with free(), or cr_secret_free() if it held key material).
 * Refuses files larger than max.  On failure err gets CR_KIND_IO with the
 * path, and details.errno; ENOENT is reported with details.missing = true.
 */
bool cr_file_read(const char *path, size_t max, char **buf, size_t *len,
    cr_err *err);
/* OPENSSL_cleanse, then free.  Accepts NULL. */
void cr_secret_free(void *buf, size_t len);
/* 1: exists, 0: does not (ENOENT/ENOTDIR), -1: cannot tell (errno kept). */
int cr_path_exists(const char *path);
/* New "a/b" string, or NULL when out of memory. */
char *cr_path_join(const char *a, const char *b);

#endif
