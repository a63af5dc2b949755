/*
 * tasks.h - the tasks this executable implements.  Each one is a parameter
 * spec and a function from validated parameters to a result; main.c wires
 * them to the task contract (stdin/PT_*) and to command-line flags.
 */
#ifndef CR_TASKS_H
#define CR_TASKS_H

#include <jansson.h>

#include "cr_err.h"
#include "cr_task.h"

struct cr_task_def {
	const char *name;		/* "status" for cert_regen::status */
	const char *summary;		/* one line for --help */
	const struct cr_param *params;	/* NULL-name terminated */
	/* Returns a new result object, or NULL with err set. */
	json_t *(*run)(json_t *params, cr_err *err);
};

/* The parameter table of a task not built for this platform: its run
 * answers unsupported-platform whatever the parameters, unchecked
 * (cli/win32/tasks_unsupported.c). */
extern const struct cr_param cr_task_unchecked_params[];

extern const struct cr_task_def cr_task_status;
extern const struct cr_task_def cr_task_regenerate;
extern const struct cr_task_def cr_task_restore;
extern const struct cr_task_def cr_task_ca_clean;
extern const struct cr_task_def cr_task_ca_sign;
extern const struct cr_task_def cr_task_ca_list;
extern const struct cr_task_def cr_task_primary_cert;
extern const struct cr_task_def cr_task_ca_rebuild;
extern const struct cr_task_def cr_task_primary_restore;
extern const struct cr_task_def cr_task_ca_renew;
extern const struct cr_task_def cr_task_ca_bundle_update;
extern const struct cr_task_def cr_task_check_server;

#endif
