/*
 * cmd_args.c - what the debugging commands share: a bounded count from the
 * command line, the usage error, the stop after the arguments and the
 * printed result (commands.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "commands.h"
#include "cr_task.h"

long
cr_cmd_count(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	return v;
}

int
cr_cmd_usage(cr_err *err, const char *usage)
{
	cr_err_set(err, CR_KIND_INVALID_PARAMETER, "usage: %s", usage);
	cr_task_print_error(err);
	return 2;
}

int
cr_cmd_stop_at_args(const cr_err *err, void (*usage)(FILE *))
{
	int rc = 2;

	if (!err->set) {
		usage(stdout);
		rc = 0;
	}
	return rc;
}

bool
cr_cmd_print(json_t *result, int (*print)(json_t *), cr_err *err)
{
	bool ok = print(result) == 0;

	if (!ok)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot write to stdout");
	return ok;
}
