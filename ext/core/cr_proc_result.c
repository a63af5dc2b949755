/*
 * cr_proc_result.c - the parts of cr_proc.h every platform shares: freeing
 * a result and judging it (cr_proc.c runs programs on POSIX,
 * sys/win32/cr_proc.c answers on Windows).
 */
#include <stdlib.h>
#include <string.h>

#include "cr_proc.h"

void
cr_proc_result_free(struct cr_proc_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

bool
cr_proc_succeeded(const struct cr_proc_result *res)
{
	return res != NULL && res->exited && res->exit_code == 0 &&
	    !res->timed_out;
}
