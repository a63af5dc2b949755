/*
 * test_flow_server.c - the CA host's flow (cr_server_run) driven end to
 * end, in process, on a real temporary confdir, ssldir and cadir (laid
 * out as puppetserver's) through the flows' seam (flow_env.h): services
 * kept in memory, a server that answers while "puppetserver" runs and
 * presents the live hostcert, a CA tool that signs as `puppetserver ca
 * generate --ca-client` does.
 *
 * A CA renewal (same keys, new validity), the restore of the pair of
 * backups it made and a new certificate for the CA host (primary_cert),
 * each run to its end, then stopped at each of its kill points and run
 * again: the rerun converges (the ssldir and the cadir a consistent pair,
 * the services running, no journal, staging or lock left), and at every
 * point each live directory is complete; the pair is mixed (new cadir,
 * old ssldir) only while the server is stopped and the journal knows it.
 * The errors: a server that presents another certificate, services that
 * do not stop, a server still answering after the stop, a failing CA
 * tool.  ca_rebuild (`puppetserver ca setup`) is left to test_primary.sh.
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
#include <openssl/pem.h>

#include "cr_err.h"
#include "cr_server.h"
#include "flow_env.h"

#ifdef CR_TEST_HOOKS

/* The kill points a full run reaches, in order (renew and restore). */
static const char *const expected_points[] = {
	"server-stopped", "server-built", "server-ca-exchanged",
	"server-ssl-exchanged", "server-exchanged", NULL,
};

static json_t *
server(struct env *e, cr_err *err)
{
	return cr_server_run(&e->so, err);
}

static char *
live_bundle(struct env *e)
{
	char *p = flow_fmt("%s/ca_crt.pem", e->cadir), *out = flow_read(p);

	free(p);
	return out;
}

/* dir/rel holds the old CA bundle. */
static void
assert_old_bundle(struct env *e, const char *dir, const char *rel)
{
	char *p = flow_fmt("%s/%s", dir, rel), *text = flow_read(p);

	assert_string_equal(text, e->old_bundle);
	free(text);
	free(p);
}

/* After a finished run: a consistent pair, the services running, no
 * journal, staging or lock left; result.backup holds a complete pair. */
static void
assert_converged(struct env *e, json_t *res, const char *state)
{
	char *ca_staging = flow_fmt("%s/.ca.cert_regen.server", e->dir);
	char *server_staging = flow_fmt("%s.server", e->staging);
	json_t *b;

	assert_non_null(res);
	assert_string_equal(state_of(res), state);
	check_server_live(e);
	assert_true(server_pair_consistent(e));
	assert_true(json_is_true(json_object_get(json_object_get(res,
	    "server_check"), "matches")));
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppetserver")));
	assert_false(flow_exists(server_staging));
	assert_false(flow_exists(ca_staging));
	assert_no_leftovers(e->dir);
	b = json_object_get(res, "backup");
	assert_non_null(json_string_value(json_object_get(b, "ssldir")));
	assert_non_null(json_string_value(json_object_get(b, "cadir")));
	free(ca_staging);
	free(server_staging);
}

/* The CA renewed: a new bundle of the same CA, later, live in both
 * directories; the host's certificate unchanged; the backups hold the old
 * bundle. */
static void
assert_renewed(struct env *e, json_t *res)
{
	STACK_OF(X509) *old = sk_X509_new_null(), *fresh = sk_X509_new_null();
	char *text = live_bundle(e), fp[FP_LEN];
	json_t *b;
	BIO *bio;
	X509 *x;
	int i;

	assert_converged(e, res, "renewed");
	assert_string_not_equal(text, e->old_bundle);
	assert_identity(e->ssl, fp);
	assert_string_equal(fp, e->old_fp);
	assert_non_null(bio = BIO_new_mem_buf(e->old_bundle, -1));
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(old, x);
	BIO_free(bio);
	assert_non_null(bio = BIO_new_mem_buf(text, -1));
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(fresh, x);
	BIO_free(bio);
	assert_int_equal(sk_X509_num(fresh), 2);
	for (i = 0; i < sk_X509_num(old); i++)
		assert_true(ASN1_TIME_compare(X509_get0_notAfter(
		    sk_X509_value(old, i)), X509_get0_notAfter(
		    sk_X509_value(fresh, i))) < 0);
	b = json_object_get(res, "backup");
	assert_old_bundle(e, json_string_value(json_object_get(b, "cadir")),
	    "ca_crt.pem");
	assert_old_bundle(e, json_string_value(json_object_get(b, "ssldir")),
	    "certs/ca.pem");
	assert_non_null(json_object_get(res, "bundle_sha256"));
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(fresh, X509_free);
	free(text);
}

/* The old pair is live again. */
static void
assert_restored(struct env *e, json_t *res)
{
	char fp[FP_LEN];

	assert_converged(e, res, "restored");
	assert_old_bundle(e, e->cadir, "ca_crt.pem");
	assert_old_bundle(e, e->ssl, "certs/ca.pem");
	assert_identity(e->ssl, fp);
	assert_string_equal(fp, e->old_fp);
}

/* The host's new certificate live (the CA tool's, signed/ holds it), the
 * old one revoked in the live CRLs and kept in the backup, its inventory
 * line written, the CA bundle unchanged. */
static void
assert_regenerated(struct env *e, json_t *res)
{
	char fp[FP_LEN], *p, *text;
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *serial;
	X509_CRL *crl;
	BIO *bio;

	assert_converged(e, res, "regenerated");
	assert_identity(e->ssl, fp);
	assert_string_not_equal(fp, e->old_fp);
	assert_old_bundle(e, e->cadir, "ca_crt.pem");
	assert_old_bundle(e, e->ssl, "certs/ca.pem");
	assert_identity(json_string_value(json_object_get(json_object_get(res,
	    "backup"), "ssldir")), fp);
	assert_string_equal(fp, e->old_fp);
	p = flow_fmt("%s/crl.pem", e->ssl);
	text = flow_read(p);
	assert_non_null(bio = BIO_new_mem_buf(text, -1));
	assert_non_null(crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL));
	assert_non_null(serial = ASN1_INTEGER_new());
	assert_int_equal(ASN1_INTEGER_set_uint64(serial, e->old_serial), 1);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, serial), 1);
	ASN1_INTEGER_free(serial);
	X509_CRL_free(crl);
	BIO_free(bio);
	free(text);
	free(p);
	p = flow_fmt("%s/inventory.txt", e->cadir);
	text = flow_read(p);
	assert_non_null(strstr(text, " /CN=" CERTNAME "\n"));
	free(text);
	free(p);
}

/* The CA host's certificate regenerated (primary_cert) with the CA tool
 * on the seam. */
static void
test_primary_cert(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;

	(void)state;
	e = env_server_new();
	e->so.op = CR_SRV_PRIMARY_CERT;
	flow_run(e, server, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_regenerated(e, res);
	assert_int_equal(e->ca.tool_runs, 1);
	json_decref(res);
	flow_points_take(expected_points);
	env_free(e);
}

static void
test_primary_cert_kill_each_point(void **state)
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
		e = env_server_new();
		e->so.op = CR_SRV_PRIMARY_CERT;
		kill_after = (long)i - 1;
		if (!flow_run(e, server, true, &res, &err))
			fail_msg("primary_cert did not reach %s",
			    json_string_value(json_array_get(flow_points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		if (flow_run(e, server, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_regenerated(e, res);
		/* built once: a rerun after the build was journaled does
		 * not build again, and a run stopped before it never built */
		assert_int_equal(e->ca.tool_runs, 1);
		json_decref(res);
		env_free(e);
	}
	print_message("primary_cert kill/resume: %zu kill points in %.0f ms\n",
	    json_array_size(flow_points), ms_since(&t0));
}

/* The CA tool fails: its output in the error, the services started
 * again, nothing changed. */
static void
test_tool_fails(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;

	(void)state;
	e = env_server_new();
	e->so.op = CR_SRV_PRIMARY_CERT;
	e->ca.tool_fails = true;
	flow_run(e, server, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_CA_TOOL));
	assert_non_null(strstr(json_string_value(json_object_get(err.details,
	    "output")), "the CA tool failed"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    err.details, "command"), 0)), e->so.puppetserver);
	assert_next_step(&err, "unchanged");
	cr_err_clear(&err);
	assert_untouched(e);
	assert_old_bundle(e, e->cadir, "ca_crt.pem");
	assert_true(server_pair_consistent(e));
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppetserver")));
	assert_no_leftovers(e->dir);
	env_free(e);
}

/* A CA host whose CA was renewed once: the old pair in the backups. */
static struct env *
renewed(void)
{
	struct env *e = env_server_new();
	json_t *res;
	cr_err err;

	flow_run(e, server, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_renewed(e, res);
	json_decref(res);
	e->so.op = CR_SRV_RESTORE;
	return e;
}

static void
test_renew(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;

	(void)state;
	e = env_server_new();
	flow_run(e, server, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_renewed(e, res);
	assert_int_equal(e->ca.stops, 2);
	assert_int_equal(e->ca.starts, 2);
	json_decref(res);
	flow_points_take(expected_points);
	env_free(e);
}

/* Stopped at each point of a renewal, then run again. */
static void
test_renew_kill_each_point(void **state)
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
		e = env_server_new();
		kill_after = (long)i - 1;
		if (!flow_run(e, server, true, &res, &err))
			fail_msg("the renewal did not reach %s",
			    json_string_value(json_array_get(flow_points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		if (flow_run(e, server, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_renewed(e, res);
		assert_string_equal(json_string_value(json_object_get(res,
		    "resumed_from")), i == 0 ? "stopped" : i == 1 ? "built" :
		    i == 2 ? "built" : i == 3 ? "ca_exchanged" : "exchanged");
		json_decref(res);
		env_free(e);
	}
	print_message("ca_renew kill/resume: %zu kill points in %.0f ms\n",
	    json_array_size(flow_points), ms_since(&t0));
}

static void
test_restore(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;

	(void)state;
	e = renewed();
	flow_run(e, server, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_restored(e, res);
	json_decref(res);
	flow_points_take(expected_points);
	env_free(e);
}

/* Stopped at each point of a restore of backup=latest, then run again
 * the same way: the journal keeps the pair the stopped run was putting
 * back (by then "latest" alone would name the stopped run's own backups
 * of the renewed pair). */
static void
test_restore_kill_each_point(void **state)
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
		e = renewed();
		kill_after = (long)i - 1;
		if (!flow_run(e, server, true, &res, &err))
			fail_msg("the restore did not reach %s",
			    json_string_value(json_array_get(flow_points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		if (flow_run(e, server, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_restored(e, res);
		json_decref(res);
		env_free(e);
	}
	print_message("primary_restore kill/resume: %zu kill points in "
	    "%.0f ms\n", json_array_size(flow_points), ms_since(&t0));
}

/* The server presents another certificate after the start: the new pair
 * is live, the error says so and how to go back. */
static void
test_wrong_certificate(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;

	(void)state;
	e = env_server_new();
	e->ca.wrong_peer = true;
	flow_run(e, server, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_SERVER_CHECK));
	assert_string_equal(json_string_value(json_object_get(err.details,
	    "live")), CR_LIVE_NEW);
	assert_next_step(&err, "cert_regen::primary_restore");
	cr_err_clear(&err);
	check_server_live(e);
	assert_true(server_pair_consistent(e));
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppetserver")));
	assert_no_leftovers(e->dir);
	env_free(e);
}

/* The services do not stop: nothing changed, nothing left over. */
static void
test_stop_fails(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;
	char *text;

	(void)state;
	e = env_server_new();
	e->ca.stop_fails = true;
	flow_run(e, server, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_SERVICE));
	assert_string_equal(json_string_value(json_object_get(err.details,
	    "live")), CR_LIVE_OLD);
	assert_next_step(&err, "nothing was changed");
	cr_err_clear(&err);
	text = live_bundle(e);
	assert_string_equal(text, e->old_bundle);
	free(text);
	assert_untouched(e);
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppetserver")));
	assert_no_leftovers(e->dir);
	env_free(e);
}

/* The server's service is not among the services stopped: it still
 * answers, so the CA's files are not copied; the services stopped are
 * started again, nothing changed. */
static void
test_server_still_running(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;
	char *text;

	(void)state;
	e = env_server_new();
	json_decref(e->so.services);
	assert_non_null(e->so.services = json_pack("[s]", "puppet"));
	flow_run(e, server, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_SERVER_RUNNING));
	assert_next_step(&err, "unchanged");
	cr_err_clear(&err);
	text = live_bundle(e);
	assert_string_equal(text, e->old_bundle);
	free(text);
	assert_untouched(e);
	assert_int_equal(e->ca.starts, 1);
	assert_no_leftovers(e->dir);
	env_free(e);
}

/* noop: the services' states through the seam, the renewal previewed,
 * nothing stopped or written. */
static void
test_noop(void **state)
{
	struct env *e;
	json_t *res, *svc;
	cr_err err;

	(void)state;
	e = env_server_new();
	e->so.noop = true;
	flow_run(e, server, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_string_equal(state_of(res), "unchanged");
	svc = json_object_get(res, "services");
	assert_string_equal(json_string_value(json_object_get(svc,
	    "puppetserver")), "running");
	assert_int_equal(json_array_size(json_object_get(res, "renewal")), 2);
	assert_int_equal(e->ca.stops, 0);
	check_server_live(e);
	assert_true(server_pair_consistent(e));
	json_decref(res);
	env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_renew_kill_each_point),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_restore_kill_each_point),
		cmocka_unit_test(test_primary_cert),
		cmocka_unit_test(test_primary_cert_kill_each_point),
		cmocka_unit_test(test_tool_fails),
		cmocka_unit_test(test_wrong_certificate),
		cmocka_unit_test(test_stop_fails),
		cmocka_unit_test(test_server_still_running),
		cmocka_unit_test(test_noop),
	};

	return cmocka_run_group_tests(tests, pki_group_setup, flow_group_teardown);
}

#else	/* !CR_TEST_HOOKS */

int
main(void)
{
	return flow_needs_hooks_main();
}

#endif
