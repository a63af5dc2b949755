/*
 * cr_sys_int.h - helpers the platform implementations of the seam share
 * (sys/cr_sys_common.c); not for the rest of the core.
 */
#ifndef CR_SYS_INT_H
#define CR_SYS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

/* A growing list of directory entry names. */
struct cr_sys_names {
	char **v;
	size_t n, cap;
};

/* Appends name (a new string, taken over even on failure; NULL: out of
 * memory) unless dir already has max entries.  false with err set. */
bool cr_sys_names_add(struct cr_sys_names *ns, char *name, const char *dir,
    size_t max, cr_err *err);
/* Sorts the names bytewise and hands them over to *names / *count. */
void cr_sys_names_finish(struct cr_sys_names *ns, char ***names,
    size_t *count);

/*
 * One read of at most want bytes from handle h into dst: the count read
 * (0 at end of file), or -1 with err set (the platform's error text).
 */
typedef long long (*cr_sys_read_chunk_fn)(void *h, char *dst, size_t want,
    const char *path, cr_err *err);

/*
 * The bounded read both platforms share: refuses a file of fsize bytes
 * over max, then reads it through rd into a new NUL-terminated buffer,
 * never beyond the size it allocated for (a file that shrank while read
 * gives what is there).  On failure the partial buffer is cleansed.
 */
bool cr_sys_read_bounded(void *h, cr_sys_read_chunk_fn rd, const char *path,
    unsigned long long fsize, size_t max, char **buf, size_t *len,
    cr_err *err);

#endif
