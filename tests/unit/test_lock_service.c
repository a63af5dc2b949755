/*
 * test_lock_service.c - cr_lock (Puppet-compatible pid locks, the agent's
 * disabled marker) and cr_service (systemd / SysV, pxp-agent ancestry,
 * detached restart).
 *
 * Locks are contended by forked children (never cmocka asserts in a child:
 * it reports through its exit status).  The service backends run fake
 * `systemctl` / init scripts written into the test's temporary directory
 * (cr_service_backend_set); a real SysV service is driven by
 * tests/integration/test_services.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cr_lock.h"
#include "cr_service.h"
#include "pki.h"

struct t {
	char *dir;
	char lock[PATH_MAX];	/* dir/agent_catalog_run.lock */
};

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	if ((t->dir = pki_tmpdir_new()) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->lock, sizeof(t->lock), "%s/agent_catalog_run.lock", t->dir);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	cr_service_backend_set(CR_SVC_AUTO, NULL, NULL);
	unsetenv("PT_secret");
	pki_rmtree(t->dir);
	free(t->dir);
	free(t);
	return 0;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* The whole file, or "" when it does not exist. */
static char *
slurp(const char *path)
{
	static char buf[4096];
	ssize_t n = 0;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
write_pid(const char *path, pid_t pid)
{
	char data[32];

	snprintf(data, sizeof(data), "%d", (int)pid);
	write_text(path, data, 0644);
}

static const char *
my_comm(void)
{
	static char name[17];

	memset(name, 0, sizeof(name));
	prctl(PR_GET_NAME, name, 0, 0, 0);
	return name;
}

static void
expect_locked(const cr_err *err, pid_t pid)
{
	json_t *p;

	assert_true(err->set);
	assert_string_equal(err->kind, CR_KIND_LOCKED);
	assert_non_null(err->details);
	p = json_object_get(err->details, "pid");
	assert_non_null(json_object_get(err->details, "path"));
	assert_non_null(json_object_get(err->details, "holder"));
	if (pid > 0) {
		assert_int_equal(json_integer_value(p), pid);
		assert_non_null(strstr(err->msg, "puppet agent --disable"));
	} else {
		assert_true(json_is_null(p));
		assert_non_null(strstr(err->msg, "no PID in it"));
	}
}

/* --- locks --------------------------------------------------------------- */

static void
test_lock_acquire_release(void **state)
{
	struct t *t = *state;
	char want[32], before[17];
	struct stat st;
	cr_lock *l;
	cr_err err;

	cr_err_init(&err);
	snprintf(before, sizeof(before), "%s", my_comm());
	assert_non_null(l = cr_lock_acquire(t->lock, 0, &err));
	assert_false(err.set);
	assert_string_equal(cr_lock_path(l), t->lock);
	/* Puppet's Lockfile#lock: fd.print(Process.pid), no newline */
	snprintf(want, sizeof(want), "%d", (int)getpid());
	assert_string_equal(slurp(t->lock), want);
	assert_int_equal(lstat(t->lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* Puppet's staleness check must see a puppet process holding it */
	assert_string_equal(my_comm(), CR_LOCK_COMM);
	cr_lock_release(l);
	assert_int_equal(access(t->lock, F_OK), -1);
	assert_string_equal(my_comm(), before);
	cr_lock_release(NULL);
	cr_err_clear(&err);
}

/* A child takes the lock, tells us, and holds it until we close `go`. */
static pid_t
holder_child(const char *path, int *go_w, long release_after_ms)
{
	int ready[2], go[2];
	char c = 0;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		cr_err e;
		cr_lock *l;

		cr_err_init(&e);
		close(ready[0]);
		close(go[1]);
		if ((l = cr_lock_acquire(path, 0, &e)) == NULL)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		if (release_after_ms > 0)
			poll(NULL, 0, (int)release_after_ms);
		else
			while (read(go[0], &c, 1) == -1 && errno == EINTR)
				;
		cr_lock_release(l);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*go_w = go[1];
	return pid;
}

/* The lock at path is free or stale: taken at once, and released. */
static void
assert_takes(const char *path)
{
	cr_lock *l;
	cr_err err;

	cr_err_init(&err);
	l = cr_lock_acquire(path, 0, &err);
	if (l == NULL)
		fail_msg("%s", err.msg);
	cr_lock_release(l);
	cr_err_clear(&err);
}

/* cr_lock_acquire, and in took how many milliseconds it waited. */
static cr_lock *
acquire_timed(const char *path, long timeout_ms, cr_err *err, long *took)
{
	long t0 = now_ms();
	cr_lock *l = cr_lock_acquire(path, timeout_ms, err);

	*took = now_ms() - t0;
	return l;
}

static void
reap_ok(pid_t pid)
{
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_lock_contention_times_out(void **state)
{
	struct t *t = *state;
	cr_err err;
	long took;
	pid_t pid;
	int go;

	cr_err_init(&err);
	pid = holder_child(t->lock, &go, 0);
	assert_null(acquire_timed(t->lock, 300, &err, &took));
	expect_locked(&err, pid);
	assert_string_equal(json_string_value(json_object_get(err.details,
	    "holder_comm")), CR_LOCK_COMM);
	assert_int_equal(json_integer_value(json_object_get(err.details,
	    "timeout_ms")), 300);
	if (took < 300 || took > 1300)
		fail_msg("waited %ld ms for a 300 ms bound", took);
	cr_err_clear(&err);
	/* timeout 0: one try, no wait */
	assert_null(acquire_timed(t->lock, 0, &err, &took));
	assert_true(took < 200);
	expect_locked(&err, pid);
	cr_err_clear(&err);
	close(go);
	reap_ok(pid);
	assert_int_equal(access(t->lock, F_OK), -1);
	assert_takes(t->lock);
	cr_err_clear(&err);
}

static void
test_lock_waits_for_holder(void **state)
{
	struct t *t = *state;
	cr_lock *l;
	cr_err err;
	long took;
	pid_t pid;
	int go;

	cr_err_init(&err);
	pid = holder_child(t->lock, &go, 400);
	assert_non_null(l = acquire_timed(t->lock, 5000, &err, &took));
	assert_false(err.set);
	if (took < 250 || took > 3000)
		fail_msg("took %ld ms for a holder that releases after 400", took);
	cr_lock_release(l);
	close(go);
	reap_ok(pid);
}

static void
test_lock_stale_dead_pid(void **state)
{
	struct t *t = *state;
	char want[32];
	cr_lock *l;
	cr_err err;
	pid_t pid;

	cr_err_init(&err);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(0);
	reap_ok(pid);
	write_pid(t->lock, pid);
	assert_non_null(l = cr_lock_acquire(t->lock, 0, &err));
	snprintf(want, sizeof(want), "%d", (int)getpid());
	assert_string_equal(slurp(t->lock), want);
	cr_lock_release(l);
	cr_err_clear(&err);
}

/* exec `path` under the name argv0 with args (a live, non-child-of-cmocka
 * process whose comm is basename(path)). */
static pid_t
spawn(const char *path, char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(path, argv);
		_exit(127);
	}
	poll(NULL, 0, 100);	/* let exec happen: comm changes with it */
	return pid;
}

static void
kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A process of prog (argv) holds the lock by its pid; taking the lock
 * (waiting up to timeout_ms) finds it stale (live NULL: taken and
 * released) or a live holder whose "holder" detail has live in it. */
static void
assert_judged(const struct t *t, const char *prog, char **argv,
    long timeout_ms, const char *live)
{
	pid_t pid = spawn(prog, argv);
	cr_lock *l;
	cr_err err;

	cr_err_init(&err);
	write_pid(t->lock, pid);
	l = cr_lock_acquire(t->lock, timeout_ms, &err);
	if (live == NULL) {
		assert_non_null(l);	/* stale: taken */
		cr_lock_release(l);
	} else {
		assert_null(l);
		expect_locked(&err, pid);
		assert_non_null(strstr(json_string_value(json_object_get(
		    err.details, "holder")), live));
	}
	cr_err_clear(&err);
	kill_reap(pid);
}

static void
test_lock_live_holders_as_puppet_judges(void **state)
{
	struct t *t = *state;
	char ruby[PATH_MAX], puppet[PATH_MAX];
	char *sleep_argv[] = { "sleep", "30", NULL };
	char *ruby_argv[] = { "ruby", "-c", "sleep 30; :", "/usr/bin/puppet", NULL };
	char *notpuppet_argv[] = { "ruby", "-c", "sleep 30; :", "agent", NULL };
	char *puppet_argv[] = { "puppet", "-c", "sleep 30; :", NULL };

	/* comm "sleep": not a puppet process, Puppet clears it: so do we */
	assert_judged(t, "/bin/sleep", sleep_argv, 0, NULL);

	/* comm "ruby" with "puppet" in its arguments: a live holder */
	snprintf(ruby, sizeof(ruby), "%s/ruby", t->dir);
	assert_int_equal(symlink("/bin/sh", ruby), 0);
	assert_judged(t, ruby, ruby_argv, 100, "/usr/bin/puppet");

	/* comm "ruby" without "puppet" in its arguments: stale */
	assert_judged(t, ruby, notpuppet_argv, 0, NULL);

	/* comm "puppet" (matches /puppet(-.*)?$/): a live holder */
	snprintf(puppet, sizeof(puppet), "%s/puppet", t->dir);
	assert_int_equal(symlink("/bin/sh", puppet), 0);
	assert_judged(t, puppet, puppet_argv, 0, "");
	unlink(t->lock);
}

static void
test_lock_not_a_pid(void **state)
{
	struct t *t = *state;
	struct timeval old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	cr_err err;

	cr_err_init(&err);
	/* fresh and empty: a holder between create and write; wait */
	write_text(t->lock, "", 0644);
	assert_null(cr_lock_acquire(t->lock, 100, &err));
	expect_locked(&err, 0);
	cr_err_clear(&err);
	/* old and not a PID: stale, as Puppet's Integer() failing says */
	write_text(t->lock, "12ab", 0644);
	assert_int_equal(utimes(t->lock, old), 0);
	assert_takes(t->lock);
	cr_err_clear(&err);
}

static void
test_lock_symlink_not_followed(void **state)
{
	struct t *t = *state;
	char target[PATH_MAX], dangling[PATH_MAX];
	struct stat st;
	cr_err err;

	cr_err_init(&err);
	snprintf(target, sizeof(target), "%s/precious", t->dir);
	write_text(target, "precious", 0600);
	assert_int_equal(symlink(target, t->lock), 0);
	assert_null(cr_lock_acquire(t->lock, 200, &err));
	assert_string_equal(err.kind, CR_KIND_IO);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_string_equal(slurp(target), "precious");
	assert_int_equal(lstat(t->lock, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	cr_err_clear(&err);
	/* a dangling link: the target must not be created through it */
	unlink(t->lock);
	snprintf(dangling, sizeof(dangling), "%s/created-through-link", t->dir);
	assert_int_equal(symlink(dangling, t->lock), 0);
	assert_null(cr_lock_acquire(t->lock, 0, &err));
	assert_int_equal(access(dangling, F_OK), -1);
	cr_err_clear(&err);
	unlink(t->lock);
}

static void
test_lock_release_keeps_others(void **state)
{
	struct t *t = *state;
	cr_lock *l;
	cr_err err;
	pid_t pid;
	int fd;

	cr_err_init(&err);
	/* replaced by another file (another holder after a stale clear) */
	assert_non_null(l = cr_lock_acquire(t->lock, 0, &err));
	unlink(t->lock);
	write_pid(t->lock, 1);
	cr_lock_release(l);
	assert_string_equal(slurp(t->lock), "1");
	unlink(t->lock);
	/* same inode, rewritten with another PID */
	assert_non_null(l = cr_lock_acquire(t->lock, 0, &err));
	assert_true((fd = open(t->lock, O_WRONLY | O_TRUNC)) != -1);
	assert_int_equal(write(fd, "1", 1), 1);
	close(fd);
	cr_lock_release(l);
	assert_string_equal(slurp(t->lock), "1");
	unlink(t->lock);
	/* a forked child releasing its copy of our handle removes nothing */
	assert_non_null(l = cr_lock_acquire(t->lock, 0, &err));
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		cr_lock_release(l);
		_exit(access(t->lock, F_OK) == 0 ? 0 : 1);
	}
	reap_ok(pid);
	assert_int_equal(access(t->lock, F_OK), 0);
	cr_lock_release(l);
	assert_int_equal(access(t->lock, F_OK), -1);
	cr_err_clear(&err);
}

static void
test_lock_mine_and_bad_args(void **state)
{
	struct t *t = *state;
	char missing[PATH_MAX];
	cr_err err;

	cr_err_init(&err);
	/* our own PID in it: Puppet's `mine?` */
	write_pid(t->lock, getpid());
	assert_takes(t->lock);
	assert_int_equal(access(t->lock, F_OK), -1);

	assert_null(cr_lock_acquire(NULL, 0, &err));
	assert_string_equal(err.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&err);
	assert_null(cr_lock_acquire(t->lock, -1, &err));
	assert_string_equal(err.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&err);
	snprintf(missing, sizeof(missing), "%s/no-such-dir/x.lock", t->dir);
	assert_null(cr_lock_acquire(missing, 1000, &err));
	assert_string_equal(err.kind, CR_KIND_IO);
	cr_err_clear(&err);
}

/* cr_agent_disabled on path says want, with want_msg (NULL: none). */
static void
assert_disabled(const char *path, bool want, const char *want_msg)
{
	bool disabled = !want;
	char *msg = NULL;
	cr_err err;

	cr_err_init(&err);
	assert_true(cr_agent_disabled(path, &disabled, &msg, &err));
	assert_false(err.set);
	assert_true(disabled == want);
	if (want_msg == NULL)
		assert_null(msg);
	else
		assert_string_equal(msg, want_msg);
	free(msg);
}

static void
test_agent_disabled(void **state)
{
	struct t *t = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/agent_disabled.lock", t->dir);
	assert_disabled(path, false, NULL);
	/* what `puppet agent --disable "maintenance"` writes */
	write_text(path, "{\"disabled_message\":\"maintenance \\u00e9\"}", 0644);
	assert_disabled(path, true, "maintenance \xc3\xa9");
	/* `puppet agent --disable` without a message */
	write_text(path, "{}", 0644);
	assert_disabled(path, true, NULL);
	write_text(path, "not json", 0644);
	assert_disabled(path, true, NULL);
}

/* --- services ------------------------------------------------------------ */

static void
test_service_name_valid(void **state)
{
	static const char *const good[] = { "puppet", "pxp-agent", "mcollective",
	    "getty@tty1.service", "a_b.c-D9", NULL };
	static const char *const bad[] = { "", "-h", "--now", ".", "..",
	    ".hidden", "a b", "a/b", "../x", "a;b", "$(id)", "a\nb", "p\xc3\xa9",
	    "a*", NULL };
	char longname[300];
	size_t i;

	for (i = 0; good[i] != NULL; i++)
		if (!cr_service_name_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (i = 0; bad[i] != NULL; i++)
		if (cr_service_name_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	assert_false(cr_service_name_valid(NULL));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(cr_service_name_valid(longname));
	longname[255] = '\0';
	assert_true(cr_service_name_valid(longname));
}

static void
test_service_invalid_names_run_nothing(void **state)
{
	cr_err err;

	(void)state;
	cr_err_init(&err);
	assert_int_equal(cr_service_state("a;b", &err), CR_SVC_UNKNOWN);
	assert_string_equal(err.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&err);
	assert_false(cr_service_stop("-x", &err));
	assert_string_equal(err.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&err);
	assert_false(cr_restart_detached("../x", 0, &err));
	assert_string_equal(err.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&err);
}

/* A fake systemctl: logs its arguments (and $PT_secret), keeps unit state in
 * files next to it; "broken" units fail to start. */
static const char fake_systemctl[] =
    "#!/bin/sh\n"
    "d=$(dirname \"$0\")\n"
    "echo \"$* [${PT_secret:-}]\" >> \"$d/log\"\n"
    "case \"$1\" in\n"
    "show) [ \"$2\" = --property=LoadState,ActiveState ] || exit 9\n"
    "      if [ -f \"$d/unit.$3\" ]; then cat \"$d/unit.$3\"\n"
    "      else printf 'LoadState=not-found\\nActiveState=inactive\\n'; fi ;;\n"
    "stop) printf 'LoadState=loaded\\nActiveState=inactive\\n' > \"$d/unit.$2\" ;;\n"
    "start|restart)\n"
    "      if [ \"$2\" = broken ]; then echo 'Job for broken.service failed.' >&2; exit 1; fi\n"
    "      printf 'LoadState=loaded\\nActiveState=active\\n' > \"$d/unit.$2\" ;;\n"
    "*) exit 2 ;;\n"
    "esac\n";

static void
fake_systemd(const struct t *t, char *tool, size_t len)
{
	snprintf(tool, len, "%s/systemctl", t->dir);
	write_text(tool, fake_systemctl, 0755);
	cr_service_backend_set(CR_SVC_SYSTEMD, tool, NULL);
}

static void
unit_state(const struct t *t, const char *unit, const char *load,
    const char *active)
{
	char path[PATH_MAX], text[128];

	snprintf(path, sizeof(path), "%s/unit.%s", t->dir, unit);
	snprintf(text, sizeof(text), "LoadState=%s\nActiveState=%s\n", load, active);
	write_text(path, text, 0644);
}

static void
test_service_systemd(void **state)
{
	struct t *t = *state;
	char tool[PATH_MAX], log[PATH_MAX];
	cr_err err;

	cr_err_init(&err);
	fake_systemd(t, tool, sizeof(tool));
	snprintf(log, sizeof(log), "%s/log", t->dir);
	setenv("PT_secret", "s3cret", 1);
	assert_int_equal(cr_service_backend(), CR_SVC_SYSTEMD);
	assert_int_equal(cr_service_state("nosuch", &err), CR_SVC_ABSENT);
	unit_state(t, "puppet", "loaded", "active");
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_RUNNING);
	unit_state(t, "puppet", "loaded", "failed");
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_STOPPED);
	unit_state(t, "puppet", "masked", "inactive");
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_STOPPED);
	/* a deleted unit file whose service still runs is still running */
	unit_state(t, "puppet", "not-found", "active");
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_RUNNING);
	unit_state(t, "puppet", "loaded", "maintenance");
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_UNKNOWN);
	assert_false(err.set);

	unit_state(t, "puppet", "loaded", "active");
	assert_true(cr_service_stop("puppet", &err));
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_STOPPED);
	assert_true(cr_service_start("puppet", &err));
	assert_int_equal(cr_service_state("puppet", &err), CR_SVC_RUNNING);
	assert_true(cr_service_restart("puppet", &err));
	assert_false(err.set);
	assert_non_null(strstr(slurp(log), "stop puppet []\n"));
	assert_non_null(strstr(slurp(log), "start puppet []\n"));
	assert_non_null(strstr(slurp(log), "restart puppet []\n"));
	/* task parameters (PT_*) never reach the service tools */
	assert_null(strstr(slurp(log), "s3cret"));

	assert_false(cr_service_start("nosuch", &err));
	assert_string_equal(err.kind, CR_KIND_SERVICE);
	assert_non_null(strstr(err.msg, "no such service"));
	cr_err_clear(&err);
	unit_state(t, "broken", "loaded", "inactive");
	assert_false(cr_service_start("broken", &err));
	assert_string_equal(err.kind, CR_KIND_SERVICE);
	assert_int_equal(json_integer_value(json_object_get(err.details,
	    "exit_code")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(err.details,
	    "output")), "Job for broken.service failed."));
	assert_string_equal(json_string_value(json_object_get(err.details,
	    "backend")), "systemd");
	cr_err_clear(&err);
}

/* A fake init script: state in a file next to it; exit codes as LSB. */
static const char fake_initd[] =
    "#!/bin/sh\n"
    "d=$(dirname \"$0\")\n"
    "echo \"$1 [${PT_secret:-}]\" >> \"$d/log\"\n"
    "case \"$1\" in\n"
    "status) exit $(cat \"$d/status\") ;;\n"
    "start|restart) echo 0 > \"$d/status\" ;;\n"
    "stop) echo 3 > \"$d/status\" ;;\n"
    "*) exit 2 ;;\n"
    "esac\n";

static void
test_service_sysv(void **state)
{
	struct t *t = *state;
	char initd[PATH_MAX], script[PATH_MAX], status[PATH_MAX], nosvc[PATH_MAX];
	cr_err err;

	cr_err_init(&err);
	snprintf(initd, sizeof(initd), "%s/init.d", t->dir);
	assert_int_equal(mkdir(initd, 0755), 0);
	snprintf(script, sizeof(script), "%s/init.d/svc", t->dir);
	snprintf(status, sizeof(status), "%s/init.d/status", t->dir);
	snprintf(nosvc, sizeof(nosvc), "%s/no-service-tool", t->dir);
	/* no `service` program: the init script is run directly */
	cr_service_backend_set(CR_SVC_SYSV, nosvc, initd);
	setenv("PT_secret", "s3cret", 1);
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_ABSENT);
	write_text(script, fake_initd, 0644);	/* not executable: absent */
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_ABSENT);
	assert_int_equal(chmod(script, 0755), 0);
	write_text(status, "3\n", 0644);
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_STOPPED);
	write_text(status, "1\n", 0644);
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_STOPPED);
	write_text(status, "4\n", 0644);
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_UNKNOWN);
	write_text(status, "0\n", 0644);
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_RUNNING);
	assert_true(cr_service_stop("svc", &err));
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_STOPPED);
	assert_true(cr_service_start("svc", &err));
	assert_int_equal(cr_service_state("svc", &err), CR_SVC_RUNNING);
	assert_false(err.set);
	snprintf(status, sizeof(status), "%s/init.d/log", t->dir);
	assert_non_null(strstr(slurp(status), "start []\n"));
	assert_null(strstr(slurp(status), "s3cret"));
	assert_false(cr_service_stop("gone", &err));
	assert_string_equal(err.kind, CR_KIND_SERVICE);
	assert_string_equal(json_string_value(json_object_get(err.details,
	    "backend")), "sysv");
	cr_err_clear(&err);
}

static void
test_restart_detached(void **state)
{
	struct t *t = *state;
	char tool[PATH_MAX], log[PATH_MAX];
	long t0;
	cr_err err;
	int i;

	cr_err_init(&err);
	fake_systemd(t, tool, sizeof(tool));
	snprintf(log, sizeof(log), "%s/log", t->dir);
	unit_state(t, "pxp-agent", "loaded", "active");
	t0 = now_ms();
	assert_true(cr_restart_detached("pxp-agent", 1, &err));
	assert_true(now_ms() - t0 < 900);	/* did not wait for the delay */
	/* the grandchild is not our child */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_null(strstr(slurp(log), "restart pxp-agent"));
	for (i = 0; i < 100 && strstr(slurp(log), "show --property=LoadState,"
	    "ActiveState pxp-agent []\nrestart pxp-agent []\nshow") == NULL; i++)
		poll(NULL, 0, 100);
	assert_non_null(strstr(slurp(log), "restart pxp-agent []\n"));
	assert_true(now_ms() - t0 >= 1000);
	cr_err_clear(&err);
}

static void
test_under_pxp_agent(void **state)
{
	char saved[17];
	pid_t pid;

	(void)state;
	assert_false(cr_under_pxp_agent());
	/* we pose as pxp-agent; our grandchild must see it two levels up */
	snprintf(saved, sizeof(saved), "%s", my_comm());
	prctl(PR_SET_NAME, "pxp-agent", 0, 0, 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		pid_t gc = fork();
		int status = 0;

		if (gc == 0)
			_exit(cr_under_pxp_agent() ? 0 : 1);
		if (gc == -1 || waitpid(gc, &status, 0) != gc)
			_exit(2);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 3);
	}
	prctl(PR_SET_NAME, saved, 0, 0, 0);
	reap_ok(pid);
	assert_false(cr_under_pxp_agent());
}

/*
 * cr_lock_pair with a lock path that does not resolve (issue 15 #7):
 * the first lock is taken, the second is missing; it used to free the
 * first path's copy twice (ASan: double-free).  Now: an error, and the
 * first lock released by the caller as usual.
 */
static void
test_lock_both_missing_path(void **state)
{
	struct t *t = *state;
	const char *ov[] = { "agent_catalog_run_lockfile", t->lock, NULL };
	const char *const names[] = { "agent_catalog_run_lockfile", NULL };
	struct cr_settings_opts so;
	cr_settings *set;
	cr_lock *locks[2] = { NULL, NULL };
	cr_err e;

	memset(&so, 0, sizeof(so));
	cr_err_init(&e);
	so.confdir = t->dir;
	so.section = "agent";
	so.overrides = ov;
	so.names = names;
	if ((set = cr_settings_load(&so, &e)) == NULL)
		fail_msg("settings: %s", e.msg);
	assert_string_equal(cr_settings_get(set, "agent_catalog_run_lockfile"),
	    t->lock);
	assert_null(cr_settings_get(set, "ssl_lockfile"));
	assert_false(cr_lock_pair(set, 0, locks, &e));
	assert_string_equal(e.kind, CR_KIND_SETTINGS);
	assert_non_null(locks[0]);
	assert_null(locks[1]);
	cr_lock_release(locks[0]);
	cr_err_clear(&e);
	cr_settings_free(set);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lock_acquire_release),
		T(test_lock_contention_times_out),
		T(test_lock_waits_for_holder),
		T(test_lock_stale_dead_pid),
		T(test_lock_live_holders_as_puppet_judges),
		T(test_lock_not_a_pid),
		T(test_lock_symlink_not_followed),
		T(test_lock_release_keeps_others),
		T(test_lock_mine_and_bad_args),
		T(test_agent_disabled),
		T(test_service_name_valid),
		T(test_service_invalid_names_run_nothing),
		T(test_service_systemd),
		T(test_service_sysv),
		T(test_restart_detached),
		T(test_under_pxp_agent),
		T(test_lock_both_missing_path),
	};
#undef T

	return cmocka_run_group_tests_name("lock_service", tests, NULL, NULL);
}
