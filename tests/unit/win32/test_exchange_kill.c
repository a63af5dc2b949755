/*
 * test_exchange_kill.c - the swap's three-rename exchange on Windows
 * (sys/win32/cr_sys_write.c) killed for real at each of its points and
 * finished by a rerun (cr_sys_dir_exchange_finish).  Built with the test
 * hooks (CR_TEST_HOOKS) and run under wine: the suite runs itself as a
 * child with CERT_REGEN_TEST_KILL_AT=<point>, which TerminateProcess-es
 * the child there, then looks at what the kill left and finishes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <windows.h>

#include "plat.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_write.h"

/* The exit code cr_killpoint gives a process it ends (128 + SIGKILL). */
#define KILLED 137

struct t {
	char dir[512];
	char a[600], b[600], x[600];
};

static char self[MAX_PATH];

static void
mkid(const char *dir, const char *content)
{
	char f[700];
	cr_err e;

	cr_err_init(&e);
	snprintf(f, sizeof(f), "%s/id", dir);
	assert_true(cr_sys_mkdir(dir, true, &e));
	assert_true(cr_sys_write_new(f, content, strlen(content), true, &e));
}

/* Content of dir/id, or "" when dir is missing. */
static void
id_of(const char *dir, char *out, size_t outlen)
{
	char f[700], *buf = NULL;
	size_t len = 0;
	cr_err e;

	cr_err_init(&e);
	snprintf(f, sizeof(f), "%s/id", dir);
	out[0] = '\0';
	if (cr_sys_read_file(f, 64, CR_SYS_NOFOLLOW, &buf, &len, &e))
		snprintf(out, outlen, "%s", buf);
	free(buf);
	cr_err_clear(&e);
}

static void
assert_id(const char *dir, const char *want)
{
	char got[64];

	id_of(dir, got, sizeof(got));
	assert_string_equal(got, want);
}

/* The ids in a (the live ssldir), b (the staged one) and x (the one set
 * aside); "" for a directory that is not there. */
static void
assert_ids(const struct t *t, const char *a, const char *b, const char *x)
{
	assert_id(t->a, a);
	assert_id(t->b, b);
	assert_id(t->x, x);
}

static void
rm_id(const char *dir)
{
	char f[700];

	snprintf(f, sizeof(f), "%s/id", dir);
	remove(f);
	tp_rmdir(dir);
}

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (t == NULL || tp_tempdir(t->dir, sizeof(t->dir), "xchgkill") != 0) {
		free(t);
		return -1;
	}
	snprintf(t->a, sizeof(t->a), "%s/ssl", t->dir);
	snprintf(t->b, sizeof(t->b), "%s/ssl.new", t->dir);
	snprintf(t->x, sizeof(t->x), "%s/ssl.new.xchg", t->dir);
	mkid(t->a, "OLD");
	mkid(t->b, "NEW");
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	rm_id(t->a);
	rm_id(t->b);
	rm_id(t->x);
	tp_rmdir(t->dir);
	free(t);
	return 0;
}

/* Runs this program as "child a b" with CERT_REGEN_TEST_KILL_AT=point
 * (NULL: none); its exit code. */
static DWORD
run_child(const struct t *t, const char *point)
{
	char cmd[2048];
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	DWORD code = 0xffffffff;

	snprintf(cmd, sizeof(cmd), "\"%s\" child \"%s\" \"%s\"", self, t->a,
	    t->b);
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	assert_true(SetEnvironmentVariableA("CERT_REGEN_TEST_KILL_AT", point));
	assert_true(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL,
	    &si, &pi));
	SetEnvironmentVariableA("CERT_REGEN_TEST_KILL_AT", NULL);
	assert_int_equal(WaitForSingleObject(pi.hProcess, 60000),
	    WAIT_OBJECT_0);
	assert_true(GetExitCodeProcess(pi.hProcess, &code));
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	return code;
}

/* The rerun: finishes what was left, the new identity live and the old
 * one in the staging place, nothing aside. */
static void
rerun_converges(const struct t *t, bool want_finished)
{
	bool finished = !want_finished;
	cr_err e;

	cr_err_init(&e);
	assert_true(cr_sys_dir_exchange_finish(t->a, t->b, &finished, &e));
	assert_int_equal(finished, want_finished);
	assert_ids(t, "NEW", "OLD", "");
	/* and a second rerun has nothing left to do */
	assert_true(cr_sys_dir_exchange_finish(t->a, t->b, &finished, &e));
	assert_false(finished);
	assert_false(e.set);
}

static void
no_kill(void **state)
{
	struct t *t = *state;

	assert_int_equal(run_child(t, NULL), 0);
	rerun_converges(t, false);
}

/* The child killed at point leaves the ids a, b, x; a rerun converges. */
static void
killed_at(const struct t *t, const char *point, const char *a,
    const char *b, const char *x)
{
	assert_int_equal(run_child(t, point), KILLED);
	assert_ids(t, a, b, x);
	rerun_converges(t, true);
}

static void
killed_after_aside(void **state)
{
	/* the live ssldir is aside, the staged one not yet live */
	killed_at(*state, "exchange-aside", "", "NEW", "OLD");
}

static void
killed_after_live(void **state)
{
	killed_at(*state, "exchange-live", "NEW", "", "OLD");
}

/* The child: one exchange, 0 when it returns 1. */
static int
child(const char *a, const char *b)
{
	cr_err e;
	int r;

	cr_err_init(&e);
	r = cr_sys_dir_exchange(a, b, &e);
	if (r != 1)
		fprintf(stderr, "exchange: %d %s\n", r, e.msg);
	cr_err_clear(&e);
	return r == 1 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_after_aside, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(killed_after_live, setup,
		    teardown),
	};

	if (argc == 4 && strcmp(argv[1], "child") == 0)
		return child(argv[2], argv[3]);
	if (GetModuleFileNameA(NULL, self, sizeof(self)) == 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
