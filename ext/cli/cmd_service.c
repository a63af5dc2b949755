/*
 * cmd_service.c - `cert_regen service` and `cert_regen lock`: the service
 * and lock building blocks of cert_regen::regenerate, callable on their own
 * for the integration tests and for debugging (see commands.h).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "cr_err.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_service.h"
#include "cr_task.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Non-negative decimal <= max, or -1. */
static long
parse_count(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	return v;
}

static int
usage_error(cr_err *err, const char *usage)
{
	cr_err_set(err, CR_KIND_INVALID_PARAMETER, "usage: %s", usage);
	cr_task_print_error(err);
	return 2;
}

#define SERVICE_USAGE "cert_regen service NAME state|stop|start|restart|" \
	"restart-detached [--delay SECONDS]"

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
		rc = usage_error(&err, SERVICE_USAGE);
		goto out;
	}
	name = argv[1];
	action = argv[2];
	if (argc == 5 && (delay = parse_count(argv[4], 3600)) < 0) {
		rc = usage_error(&err, SERVICE_USAGE);
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
	} else {
		rc = usage_error(&err, SERVICE_USAGE);
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

#define LOCK_USAGE "cert_regen lock PATH SECONDS [--timeout MS] | " \
	"cert_regen lock --disabled FILE"

/* `lock --disabled FILE`: what cr_agent_disabled reads. */
static int
lock_disabled(const char *path, cr_err *err)
{
	json_t *res = NULL;
	char *msg = NULL;
	bool disabled;
	int rc = 1;

	if (!cr_agent_disabled(path, &disabled, &msg, err)) {
		cr_task_print_error(err);
		goto out;
	}
	if ((res = json_object()) == NULL)
		goto out;
	cr_json_set(res, "path", cr_json_str(path));
	cr_json_set(res, "disabled", json_boolean(disabled));
	cr_json_set(res, "message", msg != NULL ? cr_json_str(msg) : NULL);
	rc = cr_task_print_result(res) == 0 ? 0 : 1;
out:
	json_decref(res);
	free(msg);
	return rc;
}

/*
 * `lock PATH SECONDS`: takes the lock (waiting up to --timeout MS, default
 * 10000), prints {"path", "pid", "waited_ms"}, holds it SECONDS (until
 * SIGTERM/SIGINT), releases it.
 */
int
cr_cmd_lock(int argc, char **argv)
{
	struct sigaction sa;
	struct timespec t0, t1, ts;
	cr_lock *l = NULL;
	json_t *res = NULL;
	cr_err err;
	long hold, timeout = 10000, i;
	int rc = 1;

	cr_err_init(&err);
	if (argc == 3 && strcmp(argv[1], "--disabled") == 0) {
		rc = lock_disabled(argv[2], &err);
		goto out;
	}
	if ((argc != 3 && !(argc == 5 && strcmp(argv[3], "--timeout") == 0)) ||
	    (hold = parse_count(argv[2], 86400)) < 0 ||
	    (argc == 5 && (timeout = parse_count(argv[4], LONG_MAX / 2)) < 0)) {
		rc = usage_error(&err, LOCK_USAGE);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((l = cr_lock_acquire(argv[1], timeout, &err)) == NULL) {
		cr_task_print_error(&err);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if ((res = json_object()) == NULL)
		goto out;
	cr_json_set(res, "path", cr_json_str(cr_lock_path(l)));
	cr_json_set(res, "pid", json_integer(getpid()));
	cr_json_set(res, "waited_ms", json_integer(
	    (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	if (cr_task_print_result(res) != 0)
		goto out;
	for (i = 0; i < hold * 10 && !stop_requested; i++) {
		ts = (struct timespec){ .tv_sec = 0, .tv_nsec = 100000000 };
		nanosleep(&ts, NULL);
	}
	rc = 0;
out:
	cr_lock_release(l);
	json_decref(res);
	cr_err_clear(&err);
	return rc;
}
