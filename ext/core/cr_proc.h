/*
 * cr_proc.h - run a program from an argv array (never a shell string),
 * capture its output up to a cap, stop it after a timeout.
 *
 * The child gets stdin from /dev/null, its own process group (so a timeout
 * stops its children too: puppet runs facter, the agent runs plugins), and
 * only the descriptors 0-2.  Output beyond the cap is read and thrown away so
 * the child never blocks on a full pipe; `*_truncated` says it happened.
 */
#ifndef CR_PROC_H
#define CR_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

#define CR_PROC_OUT_MAX ((size_t)1 << 20)	/* hard ceiling for any cap */

struct cr_proc_opts {
	const char *const *argv;	/* argv[0]: a path, or a name looked up in PATH */
	const char *const *envp;	/* NULL: this process's environment */
	size_t max_out;			/* cap on captured stdout (<= CR_PROC_OUT_MAX) */
	size_t max_err;			/* cap on captured stderr; 0: stderr to /dev/null */
	int timeout_ms;			/* <= 0: no timeout */
	int kill_grace_ms;		/* SIGTERM, then SIGKILL after this; <= 0: 2000 */
};

struct cr_proc_result {
	char *out;		/* owned, NUL-terminated (may hold other NULs) */
	size_t out_len;
	bool out_truncated;
	char *err;		/* owned, NUL-terminated, or NULL if not captured */
	size_t err_len;
	bool err_truncated;
	bool exited;		/* normal exit: exit_code is valid */
	int exit_code;
	int term_signal;	/* signal that ended it, or 0 */
	bool timed_out;		/* we stopped it (then also term_signal is set) */
	long elapsed_ms;
};

/*
 * Runs o->argv and waits for it.  true once the child ran and was reaped,
 * whatever its exit status (look at res); false (err set, res empty) if it
 * could not be started or waited for.  res must be freed either way.
 */
bool cr_proc_run(const struct cr_proc_opts *o, struct cr_proc_result *res,
    cr_err *err);
void cr_proc_result_free(struct cr_proc_result *res);
/* true if the child exited 0 and was not stopped by us. */
bool cr_proc_succeeded(const struct cr_proc_result *res);

#endif
