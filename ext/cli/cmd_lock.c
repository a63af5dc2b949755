/*
 * cmd_lock.c - `cert_regen lock`: Puppet's lock files through cr_lock, on
 * their own for the integration tests and for debugging (see commands.h).
 * POSIX only (signals end the hold).
 */
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "cr_err.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_task.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
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
	    (hold = cr_cmd_count(argv[2], 86400)) < 0 ||
	    (argc == 5 && (timeout = cr_cmd_count(argv[4], LONG_MAX / 2)) < 0)) {
		rc = cr_cmd_usage(&err, LOCK_USAGE);
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
