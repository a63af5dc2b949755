/*
 * cr_proc.c (Windows) - running other programs (cr_proc.h) is not built
 * for Windows yet: the status task and the fact do not need it (a missing
 * certname falls back to the computer's DNS name, as Facter's fqdn), and
 * the flows that do (services, puppet agent runs) answer
 * unsupported-platform on Windows.  The next step is CreateProcessW with
 * an argv quoted by the MSVCRT rules and a job object for the timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "cr_proc.h"

bool
cr_proc_run(const struct cr_proc_opts *o, struct cr_proc_result *res,
    cr_err *err)
{
	memset(res, 0, sizeof(*res));
	cr_err_set(err, CR_KIND_UNSUPPORTED_PLATFORM, "cert_regen does not run "
	    "other programs on Windows yet (wanted: %s): run this step by hand "
	    "as docs/windows.md describes, or run the task from a Linux agent",
	    o != NULL && o->argv != NULL && o->argv[0] != NULL ? o->argv[0] :
	    "a program");
	return false;
}
