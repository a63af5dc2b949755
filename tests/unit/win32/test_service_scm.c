/*
 * test_service_scm.c (Windows only, run under wine) - cr_service.c with
 * its Windows backend, the Service Control Manager through
 * sys/cr_sys_proc.h: the backend is "scm"; Puppet's services, absent from
 * a wine prefix, are "absent" as on Linux, so a flow stops nothing and
 * stopping one by name is cert_regen/service-error; a service wine runs
 * (RpcSs) has a state; no pxp-agent above this process; the detached
 * restart refuses an invalid name before it starts anything, and its
 * process's work (restart, event log) fails on an absent service.  The
 * detached process itself runs in test_windows.sh (this test's own
 * executable would be the one started again).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cr_service.h"

static void
backend_is_the_scm(void **state)
{
	(void)state;
	assert_int_equal(cr_service_backend(), CR_SVC_SCM);
	assert_string_equal(cr_service_backend_name(CR_SVC_SCM), "scm");
}

static void
puppet_services_are_absent(void **state)
{
	const char *names[] = { "puppet", "pxp-agent", "mcollective" };
	cr_err e;

	(void)state;
	cr_err_init(&e);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(cr_service_state(names[i], &e), CR_SVC_ABSENT);
	assert_false(e.set);
	assert_false(cr_service_stop("puppet", &e));
	assert_string_equal(e.kind, CR_KIND_SERVICE);
	assert_non_null(strstr(e.msg, "puppet"));
	cr_err_clear(&e);
}

static void
flow_lists_stop_nothing(void **state)
{
	json_t *names = cr_services_list(NULL), *stopped, *warnings, *started;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	stopped = cr_services_stop(names, false, &e);
	assert_non_null(stopped);
	assert_int_equal(json_array_size(stopped), 0);
	warnings = json_array();
	started = cr_services_start(stopped, warnings);
	assert_int_equal(json_array_size(started), 0);
	assert_int_equal(json_array_size(warnings), 0);
	json_decref(started);
	json_decref(warnings);
	json_decref(stopped);
	json_decref(names);
}

static void
a_service_wine_runs_has_a_state(void **state)
{
	enum cr_svc_state st;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	st = cr_service_state("RpcSs", &e);
	if (e.set)
		fail_msg("%s", e.msg);
	assert_true(st == CR_SVC_RUNNING || st == CR_SVC_STOPPED);
	/* an invalid name never reaches the SCM */
	assert_int_equal(cr_service_state("-x", &e), CR_SVC_UNKNOWN);
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&e);
}

static void
no_pxp_agent_and_detached_restart(void **state)
{
	cr_err e;

	(void)state;
	assert_false(cr_under_pxp_agent());
	cr_err_init(&e);
	assert_false(cr_restart_detached("pxp agent\"", 1, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&e);
	assert_false(cr_service_restart_logged("puppet", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backend_is_the_scm),
		cmocka_unit_test(puppet_services_are_absent),
		cmocka_unit_test(flow_lists_stop_nothing),
		cmocka_unit_test(a_service_wine_runs_has_a_state),
		cmocka_unit_test(no_pxp_agent_and_detached_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
