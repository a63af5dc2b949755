/*
 * test_lock_files.c - Puppet's lock files through cr_lock.c and the seam
 * under it (sys/cr_sys_lock.h), the same suite on POSIX (under
 * ASan/UBSan) and on Windows (the mingw build run under wine): a lock
 * holds this process's pid and goes on release, a lock whose pid runs no
 * process is stale and taken over, a lock still being written (no pid
 * yet) is waited for until the timeout, a lock that is not a regular file
 * is refused, a lock written by another process is left alone on
 * release, Puppet's agent_disabled.lock is read, and a live holder's
 * name is what Puppet's stale-lock test looks at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cr_lock.h"
#include "plat.h"
#include "slurp.h"
#include "sys_fixture.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"
#include "sys/cr_sys_lock.h"
#include "sys/cr_sys_write.h"

/* No process has this pid on Linux (above pid_max) nor on Windows. */
#define DEAD_PID "2147483633"

static void
put_path(const char *path, const char *data)
{
	assert_int_equal(tp_write(path, data, strlen(data)), 0);
}

static enum cr_sys_ftype
type_at(const char *path)
{
	struct cr_sys_stat st;
	cr_err e;

	cr_err_init(&e);
	assert_int_not_equal(cr_sys_stat(path, CR_SYS_NOFOLLOW, &st, &e), -1);
	return st.type;
}

/* Takes the lock <dir>/<name> (first written with prior unless NULL),
 * which then holds this process's pid, and releases it: the file goes. */
static void
assert_taken_and_released(const struct t *t, const char *name,
    const char *prior)
{
	char *p = in(t, name), *got, want[32];
	cr_lock *l;
	cr_err e;

	if (prior != NULL)
		put_path(p, prior);
	cr_err_init(&e);
	l = cr_lock_acquire(p, 0, &e);
	if (l == NULL)
		fail_msg("%s", e.msg);
	assert_string_equal(cr_lock_path(l), p);
	snprintf(want, sizeof(want), "%lu", cr_sys_getpid());
	got = slurp(p);
	assert_string_equal(got, want);
	free(got);
	cr_lock_release(l);
	assert_int_equal(type_at(p), CR_SYS_MISSING);
	free(p);
}

static void
lock_holds_our_pid_until_released(void **state)
{
	assert_taken_and_released(*state, "agent_catalog_run.lock", NULL);
}

static void
stale_lock_is_taken_over(void **state)
{
	assert_taken_and_released(*state, "ssl.lock", DEAD_PID "\n");
}

static void
lock_being_written_is_waited_for(void **state)
{
	struct t *t = *state;
	char *p = in(t, "ssl.lock"), *got;
	long t0;
	cr_err e;

	put_path(p, "");	/* created, no pid yet: another process writes it */
	cr_err_init(&e);
	t0 = cr_sys_now_ms();
	assert_null(cr_lock_acquire(p, 300, &e));
	assert_true(cr_sys_now_ms() - t0 >= 300);
	assert_string_equal(e.kind, CR_KIND_LOCKED);
	assert_true(json_is_null(json_object_get(e.details, "pid")));
	cr_err_clear(&e);
	got = slurp(p);		/* left alone */
	assert_string_equal(got, "");
	free(got);
	free(p);
}

static void
lock_that_is_a_directory_is_refused(void **state)
{
	struct t *t = *state;
	char *p = in(t, "ssl.lock");
	cr_err e;

	assert_int_equal(tp_mkdir(p), 0);
	cr_err_init(&e);
	assert_null(cr_lock_acquire(p, 0, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_int_equal(type_at(p), CR_SYS_DIR);
	cr_err_clear(&e);
	free(p);
}

static void
release_leaves_another_holders_lock(void **state)
{
	struct t *t = *state;
	char *p = in(t, "ssl.lock"), *got;
	cr_lock *l;
	cr_err e;

	cr_err_init(&e);
	if ((l = cr_lock_acquire(p, 0, &e)) == NULL)
		fail_msg("%s", e.msg);
	/* someone removed ours and took the lock meanwhile */
	assert_true(cr_sys_remove(p, &e));
	put_path(p, "4242");
	cr_lock_release(l);
	got = slurp(p);
	assert_string_equal(got, "4242");
	free(got);
	free(p);
}

/* What Puppet's stale-lock test sees of a live process: this one. */
static void
holder_is_identified(void **state)
{
	char comm[32] = "", args[1024] = "";

	(void)state;
	assert_true(cr_sys_proc_identify(cr_sys_getpid(), comm, sizeof(comm),
	    args, sizeof(args)));
	/* Linux: comm, the first 15 bytes of the name; Windows: the image
	 * name without .exe */
	assert_string_equal(comm, "test_lock_files");
	assert_non_null(strstr(args, "test_lock_files"));
	assert_false(cr_sys_proc_identify(2147483633UL, comm, sizeof(comm),
	    args, sizeof(args)));
}

static void
agent_disabled_lock_is_read(void **state)
{
	struct t *t = *state;
	char *p = in(t, "agent_disabled.lock"), *msg = NULL;
	bool disabled = true;
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_agent_disabled(p, &disabled, &msg, &e));
	assert_false(disabled);
	assert_null(msg);
	put_path(p, "{\"disabled_message\":\"certificate regeneration\"}");
	assert_true(cr_agent_disabled(p, &disabled, &msg, &e));
	assert_true(disabled);
	assert_string_equal(msg, "certificate regeneration");
	free(msg);
	msg = NULL;
	put_path(p, "not json");	/* disabled, no message */
	assert_true(cr_agent_disabled(p, &disabled, &msg, &e));
	assert_true(disabled);
	assert_null(msg);
	assert_false(e.set);
	free(p);
}

FIXTURE_SUITE("lockfiles")

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FIXTURE_TEST(lock_holds_our_pid_until_released),
		FIXTURE_TEST(stale_lock_is_taken_over),
		FIXTURE_TEST(lock_being_written_is_waited_for),
		FIXTURE_TEST(lock_that_is_a_directory_is_refused),
		FIXTURE_TEST(release_leaves_another_holders_lock),
		FIXTURE_TEST(agent_disabled_lock_is_read),
		cmocka_unit_test(holder_is_identified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
