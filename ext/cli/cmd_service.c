/*
 * cmd_service.c - `cert_regen service`: the service building blocks of
 * cert_regen::regenerate, callable on their own for the integration tests
 * and for debugging (see commands.h).  Built for Windows too, where
 * `restart-logged` is the detached restart's own process.
 */
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "cr_err.h"
#include "cr_json.h"
#include "cr_service.h"
#include "cr_task.h"

#define SERVICE_USAGE "cert_regen service NAME state|stop|start|restart|" \
	"restart-detached|restart-logged [--delay SECONDS]"

int
cr_cmd_service(int argc, char **argv)
{
	enum cr_svc_state st = CR_SVC_UNKNOWN;
	const char *name, *action;
	json_t *res = NULL;
	cr_err err;
	long delay = 0;
	bool ok = false;
	int rc = 1;

	cr_err_init(&err);
	if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--delay") == 0)) {
		rc = cr_cmd_usage(&err, SERVICE_USAGE);
		goto out;
	}
	name = argv[1];
	action = argv[2];
	if (argc == 5 && (delay = cr_cmd_count(argv[4], 3600)) < 0) {
		rc = cr_cmd_usage(&err, SERVICE_USAGE);
		goto out;
	}
	if (strcmp(action, "state") == 0) {
		st = cr_service_state(name, &err);
		ok = !err.set;
	} else if (strcmp(action, "stop") == 0) {
		ok = cr_service_stop(name, &err);
	} else if (strcmp(action, "start") == 0) {
		ok = cr_service_start(name, &err);
	} else if (strcmp(action, "restart") == 0) {
		ok = cr_service_restart(name, &err);
	} else if (strcmp(action, "restart-detached") == 0) {
		ok = cr_restart_detached(name, (unsigned)delay, &err);
	} else if (strcmp(action, "restart-logged") == 0) {
		/* the detached process itself: nobody reads its output */
		rc = cr_service_restart_logged(name, (unsigned)delay) ? 0 : 1;
		goto out;
	} else {
		rc = cr_cmd_usage(&err, SERVICE_USAGE);
		goto out;
	}
	if (!ok) {
		cr_task_print_error(&err);
		goto out;
	}
	if (strcmp(action, "stop") == 0 || strcmp(action, "start") == 0 ||
	    strcmp(action, "restart") == 0)
		st = cr_service_state(name, &err);
	res = json_object();
	if (res == NULL)
		goto out;
	cr_json_set(res, "service", cr_json_str(name));
	cr_json_set(res, "backend",
	    cr_json_str(cr_service_backend_name(cr_service_backend())));
	cr_json_set(res, "action", cr_json_str(action));
	if (strcmp(action, "restart-detached") == 0) {
		cr_json_set(res, "scheduled", json_true());
		cr_json_set(res, "delay", json_integer(delay));
	} else {
		cr_json_set(res, "state", cr_json_str(cr_service_state_name(st)));
	}
	cr_json_set(res, "under_pxp_agent", json_boolean(cr_under_pxp_agent()));
	rc = cr_task_print_result(res) == 0 ? 0 : 1;
out:
	json_decref(res);
	cr_err_clear(&err);
	return rc;
}

