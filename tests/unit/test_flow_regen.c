/*
 * test_flow_regen.c - the agent's regenerate flow (cr_regen_run) driven
 * end to end, in process, on a real temporary confdir and ssldir, through
 * the flows' seam (cr_flow_ops.h): the "CA" keeps its requests in memory
 * and really signs each CSR with a test CA of pki.c (an intermediate under
 * a root, as puppetserver does), and the services are kept in memory.
 *
 * Kill and resume: a recording run lists every kill point the flow
 * reaches (cr_killpoint_hook_set); then, for each point, a fresh run is
 * stopped there (the hook longjmps out of the flow, as a SIGKILL would stop
 * it: nothing after the point runs) and run again, and must converge: a
 * complete new identity (key matches cert, cert chains to the CA with its
 * CRLs), the backup holds the old one, no staging directory, journal, lock
 * or temporary file left, the stopped services started again.  At every
 * kill point of every run the live ssldir holds a complete identity, the
 * old or the new one.  Memory a stopped run leaves behind is what a killed
 * process leaves to the kernel (flow_env.h).  The node, the CA and the
 * kill machinery are in flow_env.c.
 *
 * Needs CR_TEST_HOOKS (the ASan+UBSan build of `make SAN=1 unit`); other
 * builds skip it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "cr_err.h"
#include "cr_regen.h"
#include "flow_env.h"

#ifdef CR_TEST_HOOKS

/* The kill points a full run reaches, in order. */
static const char *const expected_points[] = {
	"staging-created", "staged", "submitted", "signed", "tree-built",
	"prepared", "services-stopped", "exchanged", "swapped",
	"staging-emptied", NULL,
};

static json_t *
regen(struct env *e, cr_err *err)
{
	return cr_regen_run(&e->o, err);
}

/* After a finished run: the new identity is live, the old one backed up,
 * nothing left over, the service running again. */
static void
assert_converged(struct env *e, json_t *res)
{
	char fp[FP_LEN], ca_fp[FP_LEN];
	char *backup;

	assert_non_null(res);
	assert_string_equal(state_of(res), "regenerated");
	assert_identity(e->ssl, fp);
	assert_string_not_equal(fp, e->old_fp);
	assert_non_null(e->ca.signed_);
	hex_fp(e->ca.signed_, ca_fp);
	assert_string_equal(fp, ca_fp);
	backup = the_backup(e);
	assert_identity(backup, fp);
	assert_string_equal(fp, e->old_fp);
	free(backup);
	assert_false(flow_exists(e->staging));
	assert_no_leftovers(e->dir);
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
	assert_int_equal(e->ca.submits, 1);
}

/* The recording run: every expected point is reached, in this order. */
static void
test_points(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	if (flow_run(e, regen, false, &res, &err))
		fail_msg("not killed, yet stopped");
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	flow_points_take(expected_points);
	env_free(e);
}

/* Each point on its own: stopped there, run again, converged. */
static void
test_kill_each_point(void **state)
{
	struct timespec t0;
	struct env *e;
	json_t *res;
	cr_err err;
	size_t i;

	(void)state;
	assert_non_null(flow_points);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < json_array_size(flow_points); i++) {
		e = env_new();
		kill_after = (long)i - 1;
		if (!flow_run(e, regen, true, &res, &err))
			fail_msg("the run did not reach %s", json_string_value(
			    json_array_get(flow_points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		if (flow_run(e, regen, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_converged(e, res);
		json_decref(res);
		env_free(e);
	}
	print_message("kill/resume: %zu kill points, each killed and resumed, "
	    "in %.0f ms\n", json_array_size(flow_points), ms_since(&t0));
}

/* Killed at every point in turn: each rerun is stopped at the next point
 * it reaches, until one finishes. */
static void
test_kill_chain(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;
	int kills = 0;

	(void)state;
	assert_non_null(flow_points);
	kill_after = -1;
	while (flow_run(e, regen, true, &res, &err)) {
		check_live(e);
		kill_after = killed_at;
		kills++;
		assert_true(kills <= (int)json_array_size(flow_points));
	}
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	/* every point past staging-created is reached again by a resume */
	assert_int_equal(kills, (int)json_array_size(flow_points));
	json_decref(res);
	env_free(e);
}

/* ------------------------------------------------------ failures -- */

/* Runs the flow on e, which must fail with kind and leave the old
 * identity live; err is the caller's to look at, then clear. */
static void
run_refused(struct env *e, const char *kind, cr_err *err)
{
	json_t *res;

	flow_run(e, regen, false, &res, err);
	assert_null(res);
	if (!cr_err_is(err, kind))
		fail_msg("%s, not %s: %s", err->kind, kind, err->msg);
	assert_untouched(e);
}

/* CA down from the start: nothing staged, nothing changed, and the
 * message says what to check. */
static void
test_ca_down(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.down = true;
	run_refused(e, CR_KIND_CA_UNREACHABLE, &err);
	assert_next_step(&err, "ca.test:8140");
	assert_false(flow_exists(e->staging));
	assert_int_equal(e->ca.stops, 0);
	cr_err_clear(&err);
	/* the CA answers again: the rerun converges */
	e->ca.down = false;
	flow_run(e, regen, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	env_free(e);
}

static void
go_down_after_submit(struct env *e, const char *name)
{
	if (strcmp(name, "submitted") == 0)
		e->ca.down = true;
}

/* CA down once the CSR is in: the old identity stays, the journal keeps
 * the staged key, the rerun resumes with it (one submission). */
static void
test_ca_down_midway(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.autosign = false;
	at_point = go_down_after_submit;
	run_refused(e, CR_KIND_CA_UNREACHABLE, &err);
	at_point = NULL;
	assert_non_null(cr_err_next_step(&err));
	assert_true(strlen(cr_err_next_step(&err)) > 0);
	assert_true(flow_exists(e->staging));
	cr_err_clear(&err);
	e->ca.down = false;
	tca_sign(&e->ca);
	flow_run(e, regen, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	env_free(e);
}

/* A CA that answers a certificate for another key: refused, the old
 * identity stays. */
static void
test_wrong_key(void **state)
{
	struct env *e = env_new();
	cr_err err;

	(void)state;
	e->ca.wrong_key = true;
	run_refused(e, CR_KIND_CA_NOT_CLEANED, &err);
	assert_non_null(strstr(err.msg, "not the one being staged"));
	assert_next_step(&err, "clean it on the CA");
	cr_err_clear(&err);
	env_free(e);
}

/* A certificate for the staged key signed by another CA: refused at
 * verify, the old identity stays. */
static void
test_rogue_ca(void **state)
{
	struct env *e = env_new();
	cr_err err;

	(void)state;
	e->ca.use_rogue = true;
	run_refused(e, CR_KIND_VERIFY, &err);
	assert_string_equal(err.step, "verify");
	cr_err_clear(&err);
	env_free(e);
}

/* Other dns_alt_names on a rerun before the CSR reached the CA: the
 * staging is dropped, the new names are asked for and signed. */
static void
test_params_changed_before_submit(void **state)
{
	struct env *e = env_new();
	json_t *res, *w;
	cr_err err;
	char *dump;

	(void)state;
	kill_after = point_index("staged") - 1;
	assert_true(flow_run(e, regen, true, &res, &err));
	e->o.dns_alt_names = json_pack("[s]", "other.test");
	flow_run(e, regen, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	w = json_object_get(res, "warnings");
	dump = json_dumps(w, 0);
	assert_non_null(strstr(dump, "discarded"));
	free(dump);
	json_decref(res);
	/* the signed certificate names what the rerun asked for */
	{
		GENERAL_NAMES *sans = X509_get_ext_d2i(e->ca.signed_,
		    NID_subject_alt_name, NULL, NULL);
		bool other = false;
		int i;

		assert_non_null(sans);
		for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
			if (g->type == GEN_DNS && ASN1_STRING_length(
			    g->d.dNSName) == 10 && memcmp(ASN1_STRING_get0_data(
			    g->d.dNSName), "other.test", 10) == 0)
				other = true;
		}
		GENERAL_NAMES_free(sans);
		assert_true(other);
	}
	env_free(e);
}

/* Other dns_alt_names once the CA holds the CSR pending: refused with
 * what differs; the original parameters finish the run. */
static void
test_params_changed_after_submit(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.autosign = false;
	flow_run(e, regen, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_string_equal(state_of(res), "pending");
	assert_non_null(json_object_get(res, "next_step"));
	json_decref(res);
	assert_untouched(e);

	e->o.dns_alt_names = json_pack("[s]", "other.test");
	flow_run(e, regen, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_PARAMETERS_CHANGED));
	assert_non_null(strstr(err.msg, "other.test"));
	assert_next_step(&err, "run the task again with the staged parameters");
	assert_untouched(e);
	cr_err_clear(&err);

	json_decref(e->o.dns_alt_names);
	e->o.dns_alt_names = NULL;
	tca_sign(&e->ca);
	flow_run(e, regen, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	env_free(e);
}

#endif	/* CR_TEST_HOOKS */

FLOW_SUITE_MAIN(
	cmocka_unit_test(test_points),
	cmocka_unit_test(test_kill_each_point),
	cmocka_unit_test(test_kill_chain),
	cmocka_unit_test(test_ca_down),
	cmocka_unit_test(test_ca_down_midway),
	cmocka_unit_test(test_wrong_key),
	cmocka_unit_test(test_rogue_ca),
	cmocka_unit_test(test_params_changed_before_submit),
	cmocka_unit_test(test_params_changed_after_submit)
)
