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

/* A CA host whose CA was renewed once, for a restore of the old pair
 * in the backups. */
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
	e->ca.stops = e->ca.starts = 0;
	return e;
}

/* A CA host for a new certificate of its own. */
static struct env *
primary_host(void)
{
	struct env *e = env_server_new();

	e->so.op = CR_SRV_PRIMARY_CERT;
	return e;
}

/* An operation: the host it runs on, what a finished run shows, the CA
 * tool's runs it takes. */
struct op_case {
	const char *name;
	struct env *(*fresh)(void);
	void (*converged)(struct env *e, json_t *res);
	int tool_runs;
};

static struct op_case renew_case = {
	"ca_renew", env_server_new, assert_renewed, 0
};
static struct op_case restore_case = {
	"primary_restore", renewed, assert_restored, 0
};
static struct op_case primary_case = {
	"primary_cert", primary_host, assert_regenerated, 1
};

/* A finished run: converged, every service stopped started again, the
 * CA tool run as often as the operation takes. */
static void
assert_finished(const struct op_case *c, struct env *e, json_t *res)
{
	c->converged(e, res);
	assert_int_equal(e->ca.stops, 2);
	assert_int_equal(e->ca.starts, 2);
	assert_int_equal(e->ca.tool_runs, c->tool_runs);
}

/* The operation (*state) run to its end; the kill points it reaches
 * become flow_points. */
static void
test_run(void **state)
{
	const struct op_case *c = *state;
	struct env *e = c->fresh();
	json_t *res;
	cr_err err;

	flow_run(e, server, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_finished(c, e, res);
	json_decref(res);
	flow_points_take(expected_points);
	env_free(e);
}

/*
 * The operation (*state) stopped at each of its points, then run again
 * the same way: the rerun resumes from the state the journal holds and
 * converges, and builds only when the stopped run had not.  A restore
 * asks for backup=latest both times: the journal keeps the pair the
 * stopped run was putting back (by then "latest" alone would name the
 * stopped run's own backups of the renewed pair).
 */
static void
test_kill_each_point(void **state)
{
	/* the journal's state at each point (the point of the cadir's
	 * exchange comes before its journal write) */
	static const char *const resumed[] = {
		"stopped", "built", "built", "ca_exchanged", "exchanged",
	};
	const struct op_case *c = *state;
	struct timespec t0;
	struct env *e;
	json_t *res;
	cr_err err;
	size_t i;

	assert_non_null(flow_points);
	assert_int_equal(json_array_size(flow_points),
	    sizeof(resumed) / sizeof(resumed[0]));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < json_array_size(flow_points); i++) {
		e = c->fresh();
		kill_after = (long)i - 1;
		if (!flow_run(e, server, true, &res, &err))
			fail_msg("%s did not reach %s", c->name,
			    json_string_value(json_array_get(flow_points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		if (flow_run(e, server, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_finished(c, e, res);
		assert_string_equal(json_string_value(json_object_get(res,
		    "resumed_from")), resumed[i]);
		json_decref(res);
		env_free(e);
	}
	print_message("%s kill/resume: %zu kill points in %.0f ms\n",
	    c->name, json_array_size(flow_points), ms_since(&t0));
}

/* The run fails with kind, the live identity said to be live and a next
 * step that holds words; err is cleared. */
static void
assert_fails(struct env *e, const char *kind, const char *live,
    const char *words)
{
	json_t *res;
	cr_err err;

	flow_run(e, server, false, &res, &err);
	assert_null(res);
	if (!cr_err_is(&err, kind))
		fail_err(&err);
	assert_string_equal(json_string_value(json_object_get(err.details,
	    "live")), live);
	assert_next_step(&err, words);
	cr_err_clear(&err);
}

/* After a failed run: a consistent pair (with unchanged, the old one),
 * the services running, nothing left over. */
static void
assert_after_failure(struct env *e, bool unchanged)
{
	char *text = live_bundle(e);

	check_server_live(e);
	assert_true(server_pair_consistent(e));
	if (unchanged) {
		assert_string_equal(text, e->old_bundle);
		assert_untouched(e);
	}
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppetserver")));
	assert_no_leftovers(e->dir);
	free(text);
}

/* The server presents another certificate after the start: the new pair
 * is live, the error says so and how to go back. */
static void
test_wrong_certificate(void **state)
{
	struct env *e = env_server_new();

	(void)state;
	e->ca.wrong_peer = true;
	assert_fails(e, CR_KIND_SERVER_CHECK, CR_LIVE_NEW,
	    "cert_regen::primary_restore");
	assert_after_failure(e, false);
	env_free(e);
}

/* The services do not stop: nothing changed. */
static void
test_stop_fails(void **state)
{
	struct env *e = env_server_new();

	(void)state;
	e->ca.stop_fails = true;
	assert_fails(e, CR_KIND_SERVICE, CR_LIVE_OLD, "nothing was changed");
	assert_after_failure(e, true);
	env_free(e);
}

/* The server's service is not among the services stopped: it still
 * answers, so the CA's files are not copied; the services stopped are
 * started again, nothing changed. */
static void
test_server_still_running(void **state)
{
	struct env *e = env_server_new();

	(void)state;
	json_decref(e->so.services);
	assert_non_null(e->so.services = json_pack("[s]", "puppet"));
	assert_fails(e, CR_KIND_SERVER_RUNNING, CR_LIVE_OLD, "unchanged");
	assert_after_failure(e, true);
	assert_int_equal(e->ca.starts, 1);
	env_free(e);
}

/* The CA tool fails: its command and output in the error, the services
 * started again, nothing changed. */
static void
test_tool_fails(void **state)
{
	struct env *e = primary_host();
	json_t *res;
	cr_err err;

	(void)state;
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
	assert_after_failure(e, true);
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

#endif	/* CR_TEST_HOOKS */

FLOW_SUITE_MAIN(
	cmocka_unit_test_prestate(test_run, &renew_case),
	cmocka_unit_test_prestate(test_kill_each_point, &renew_case),
	cmocka_unit_test_prestate(test_run, &restore_case),
	cmocka_unit_test_prestate(test_kill_each_point, &restore_case),
	cmocka_unit_test_prestate(test_run, &primary_case),
	cmocka_unit_test_prestate(test_kill_each_point, &primary_case),
	cmocka_unit_test(test_tool_fails),
	cmocka_unit_test(test_wrong_certificate),
	cmocka_unit_test(test_stop_fails),
	cmocka_unit_test(test_server_still_running),
	cmocka_unit_test(test_noop)
)
