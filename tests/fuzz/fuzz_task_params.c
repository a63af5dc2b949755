/*
 * fuzz_task_params - task parameters as Bolt and pxp-agent deliver them:
 * a JSON object on stdin (cr_task_params_read on a FILE*, here an
 * fmemopen of the input) checked against the real parameter spec of every
 * task (cr_task_params_check), and the accessors the tasks then use.  An
 * input starting with "PT_" is taken as the environment instead (one
 * PT_name=value per line, stdin empty), the path taken when stdin is
 * empty.
 */
#include <stdio.h>

#include "cr_task.h"
#include "fuzz_common.h"
#include "tasks.h"

static const struct cr_task_def *const tasks[] = {
	&cr_task_status, &cr_task_regenerate, &cr_task_restore,
	&cr_task_ca_clean, &cr_task_ca_sign, &cr_task_ca_list,
	&cr_task_primary_cert, &cr_task_ca_rebuild, &cr_task_primary_restore,
	&cr_task_check_server,
};
#define NTASKS (sizeof(tasks) / sizeof(tasks[0]))
#define MAX_ENV 64

static void
use(json_t *params, const struct cr_param *spec)
{
	const struct cr_param *p;

	for (p = spec; p->name != NULL; p++) {
		(void)cr_param_str(params, p->name);
		(void)cr_param_int(params, p->name, -1);
		(void)cr_param_bool(params, p->name, false);
	}
	(void)cr_task_noop(params);
}

static void
one(const uint8_t *in, size_t inlen, char *const *envp,
    const struct cr_param *spec)
{
	FILE *f = fmemopen((void *)(inlen ? in : (const uint8_t *)" "),
	    inlen ? inlen : 1, "r");
	json_t *params;
	cr_err err;
	bool ok;

	cr_err_init(&err);
	if (f == NULL)
		fz_fail("fmemopen failed");
	params = cr_task_params_read(f, envp, spec, &err);
	fclose(f);
	fz_check_err("cr_task_params_read", params != NULL, &err);
	if (params != NULL) {
		if (!json_is_object(params))
			fz_fail("cr_task_params_read: not an object");
		ok = cr_task_params_check(params, spec, &err);
		fz_check_err("cr_task_params_check", ok, &err);
		if (ok)
			use(params, spec);
	}
	json_decref(params);
	cr_err_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env = NULL, *envp[MAX_ENV + 1], *line, *save = NULL;
	size_t i, n = 0;

	if (size >= 3 && memcmp(data, "PT_", 3) == 0) {
		if ((env = malloc(size + 1)) == NULL)
			fz_fail("out of memory");
		memcpy(env, data, size);
		env[size] = '\0';
		for (line = strtok_r(env, "\n", &save); line != NULL &&
		    n < MAX_ENV; line = strtok_r(NULL, "\n", &save))
			envp[n++] = line;
		envp[n] = NULL;
		for (i = 0; i < NTASKS; i++)
			one(NULL, 0, envp, tasks[i]->params);
	} else {
		envp[0] = NULL;
		for (i = 0; i < NTASKS; i++)
			one(data, size, envp, tasks[i]->params);
	}
	free(env);
	return 0;
}
