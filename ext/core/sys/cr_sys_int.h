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

#endif
