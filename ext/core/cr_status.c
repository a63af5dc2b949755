/*
 * cr_status.c - the node's certificate state (see cr_status.h).
 *
 * Each part (host certificate, key, CA bundle, CRL chain, pending CSR) is
 * read on its own: a part that fails adds an entry to "errors" and leaves
 * the others intact, so one broken file never hides the rest.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "cr_crl_fast.h"
#include "cr_fs_read.h"
#include "cr_json.h"
#include "cr_regen.h"
#include "cr_settings.h"
#include "cr_status.h"
#include "cr_x509.h"

/* Everything read from disk, owned here and freed by state_free(). */
struct state {
	time_t now;
	int warn_days;
	enum cr_crl_mode crl_mode;	/* Puppet's certificate_revocation */
	json_t *out;		/* the answer being built */
	json_t *errors;		/* borrowed from out */
	json_t *files;		/* borrowed from out */
	json_t *reasons;	/* health reasons, borrowed from out */
	STACK_OF(X509) *host;	/* hostcert file: first cert is the leaf */
	STACK_OF(X509) *bundle;
	struct cr_crl_set crlset;	/* hostcrl, entries reduced */
	STACK_OF(X509_CRL) *crls;	/* crlset.crls */
	EVP_PKEY *key;
	struct cr_verify_detail vd;	/* the chain verification */
	json_t *weak;		/* weak-crypto reasons (owned), or NULL */
	bool not_yet_valid;
	bool crl_from_ca;	/* st->crls is the CA's (fresh_crl) */
	bool host_missing, host_broken;
	bool key_missing, key_broken;
	bool ca_missing, ca_broken, crl_broken;
};

static void
add_error(struct state *st, const char *part, const cr_err *e)
{
	json_t *entry = json_object();

	if (entry == NULL)
		return;
	json_object_set_new(entry, "part", json_string(part));
	json_object_set_new(entry, "kind", cr_json_str(e->kind));
	json_object_set_new(entry, "msg", cr_json_str(e->msg));
	json_array_append_new(st->errors, entry);
}

static bool
err_is_missing(const cr_err *e)
{
	return e->details != NULL &&
	    json_is_true(json_object_get(e->details, "missing"));
}

static bool
err_is_denied(const cr_err *e)
{
	json_t *no = e->details ? json_object_get(e->details, "errno") : NULL;

	return no != NULL && (json_integer_value(no) == EACCES ||
	    json_integer_value(no) == EPERM);
}

static void
reason(struct state *st, const char *why)
{
	json_array_append_new(st->reasons, cr_json_str(why));
}

/* files.<name> = {"path": p, "present": bool} */
static void
note_file(struct state *st, const char *name, const char *path)
{
	int exists = path ? cr_path_exists(path) : 0;
	json_t *f = json_object();

	if (f == NULL)
		return;
	cr_json_set(f, "path", cr_json_str(path));
	json_object_set_new(f, "present", json_boolean(exists == 1));
	json_object_set_new(st->files, name, f);
}

static void
read_hostcert(struct state *st, const char *path)
{
	cr_err e;

	cr_err_init(&e);
	if ((st->host = cr_certs_read(path, &e)) == NULL) {
		if (err_is_missing(&e))
			st->host_missing = true;
		else {
			st->host_broken = true;
			add_error(st, "hostcert", &e);
		}
	}
	cr_err_clear(&e);
}

static void
read_key(struct state *st, const char *path, json_t *hostcert)
{
	cr_err e;

	cr_err_init(&e);
	if ((st->key = cr_key_read(path, &e)) == NULL) {
		if (err_is_missing(&e))
			st->key_missing = true;
		else if (err_is_denied(&e))
			json_object_set_new(hostcert, "key_readable",
			    json_false());
		else {
			st->key_broken = true;
			add_error(st, "hostprivkey", &e);
		}
	}
	cr_err_clear(&e);
}

static void
read_ca(struct state *st, const char *path)
{
	json_t *ca = json_array();
	cr_err e;
	int i;

	cr_err_init(&e);
	if ((st->bundle = cr_certs_read(path, &e)) == NULL) {
		if (err_is_missing(&e))
			st->ca_missing = true;
		else {
			st->ca_broken = true;
			add_error(st, "ca", &e);
		}
	}
	for (i = 0; st->bundle != NULL && i < sk_X509_num(st->bundle); i++)
		json_array_append_new(ca,
		    cr_ca_json(sk_X509_value(st->bundle, i), st->now));
	cr_json_set(st->out, "ca", ca);
	cr_err_clear(&e);
}

/* "crl": one entry per CRL in use. */
static void
describe_crls(struct state *st)
{
	json_t *list = json_array();
	int i;

	json_t *entry;

	for (i = 0; st->crls != NULL && i < sk_X509_CRL_num(st->crls); i++) {
		entry = cr_crl_json(sk_X509_CRL_value(st->crls, i), st->now);
		/* a reduced CRL lists only what matters: the count is the
		 * original's */
		if (entry != NULL)
			json_object_set_new(entry, "revoked_count",
			    json_integer(st->crlset.info[i].revoked_count));
		json_array_append_new(list, entry);
	}
	cr_json_set(st->out, "crl", list);
}

static void
read_crl(struct state *st, const char *path)
{
	cr_err e;

	cr_err_init(&e);
	if (!cr_crl_set_read(path, st->host, st->bundle, &st->crlset, &e) &&
	    !err_is_missing(&e)) {
		st->crl_broken = true;
		add_error(st, "crl", &e);
	}
	st->crls = st->crlset.crls;
	describe_crls(st);
	cr_err_clear(&e);
}

/* The CA's CRL (GET .../certificate_revocation_list/ca over HTTPS, the
 * server verified with localcacert), accepted only when every CRL in it
 * is signed by a CA of the bundle.  NULL with e set otherwise. */
static STACK_OF(X509_CRL) *
ca_crls(struct state *st, const cr_settings *set,
    const struct cr_status_opts *o, cr_err *e)
{
	STACK_OF(X509_CRL) *crls = NULL, *out = NULL;
	const char *port = cr_settings_get(set, "ca_port");
	char *pem = NULL, name[256];
	size_t len = 0;
	int bad;

	if (o->fetch_crl == NULL) {
		cr_err_set(e, CR_KIND_INVALID_PARAMETER, "this build of "
		    "cert_regen has no HTTP client (the fact's extension): run "
		    "the cert_regen::status task with fresh_crl=true to judge "
		    "revocation on the CA's CRL");
		goto out;
	}
	if (st->bundle == NULL) {
		cr_err_set(e, CR_KIND_IO, "there is no readable CA bundle to "
		    "check the CA's CRL with: repair localcacert first (see "
		    "the \"ca\" error)");
		goto out;
	}
	if ((pem = o->fetch_crl(cr_settings_get(set, "ca_server"),
	    port ? atoi(port) : 0, cr_settings_get(set, "localcacert"), &len,
	    e)) == NULL ||
	    (crls = cr_crls_parse(pem, len, "the CA's CRL", e)) == NULL)
		goto out;
	if ((bad = cr_crls_unsigned(crls, st->bundle)) >= 0) {
		X509_NAME_oneline(X509_CRL_get_issuer(sk_X509_CRL_value(crls,
		    bad)), name, sizeof(name));
		cr_err_set(e, CR_KIND_VERIFY, "CRL %d from the CA (issuer %s) "
		    "is not signed by a CA of the bundle: check that ca_server "
		    "is the CA that signed this agent's certificate", bad + 1,
		    name);
		goto out;
	}
	out = crls;
	crls = NULL;
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(pem);
	return out;
}

/* opts.fresh_crl: judge revocation with the CA's CRL; "crl_source" says
 * which CRL was used.  The CA out of reach is an error entry with its
 * next step, and the local CRL stays in use. */
static void
use_ca_crl(struct state *st, const cr_settings *set,
    const struct cr_status_opts *o)
{
	STACK_OF(X509_CRL) *fresh;
	cr_err e;
	json_t *entry;
	char next[512];

	cr_err_init(&e);
	if ((fresh = ca_crls(st, set, o, &e)) != NULL) {
		cr_crl_set_clear(&st->crlset);
		if (!cr_crl_set_wrap(fresh, &st->crlset)) {
			sk_X509_CRL_pop_free(fresh, X509_CRL_free);
			cr_err_set(&e, CR_KIND_NOMEM, "out of memory");
			st->crls = NULL;
			add_error(st, "crl_fresh", &e);
			goto out;
		}
		st->crls = st->crlset.crls;
		st->crl_broken = false;	/* the local file is not used */
		st->crl_from_ca = true;
		describe_crls(st);
		json_object_set_new(st->out, "crl_source", json_string("ca"));
		goto out;
	}
	add_error(st, "crl_fresh", &e);
	snprintf(next, sizeof(next), "check that %s:%s is the CA and answers "
	    "(ca_server / ca_port), then run cert_regen::status with "
	    "fresh_crl again; until then revoked is judged on the local CRL, "
	    "which may predate a revocation",
	    cr_settings_get(set, "ca_server") ? cr_settings_get(set,
	    "ca_server") : "?", cr_settings_get(set, "ca_port") ?
	    cr_settings_get(set, "ca_port") : "?");
	entry = json_array_get(st->errors, json_array_size(st->errors) - 1);
	json_object_set_new(entry, "next_step", json_string(next));
	reason(st, "the CA's CRL could not be fetched: revocation is judged "
	    "on the local CRL");
out:
	cr_err_clear(&e);
}

/* Fills key_matches, chain_valid (+verify_error) and revoked. */
static void
judge_hostcert(struct state *st, X509 *leaf, json_t *hc)
{
	int valid, revoked;
	cr_err e;

	cr_err_init(&e);
	cr_json_set(hc, "key_matches",
	    st->key ? json_boolean(cr_key_matches(leaf, st->key)) : NULL);
	if (st->bundle == NULL) {
		cr_json_set(hc, "chain_valid", NULL);
	} else {
		valid = cr_verify_chain_detail(leaf, st->bundle, st->crls,
		    &st->crlset, st->crl_mode, st->now, &st->vd, &e);
		if (valid < 0) {
			add_error(st, "hostcert", &e);
			cr_json_set(hc, "chain_valid", NULL);
		} else {
			json_object_set_new(hc, "chain_valid",
			    json_boolean(valid == 1));
			if (valid == 0)
				cr_json_set(hc, "verify_error",
				    cr_json_str(st->vd.why));
		}
	}
	revoked = cr_revoked_by(leaf, st->crls);
	cr_json_set(hc, "revoked", revoked < 0 ? NULL : json_boolean(revoked));
	st->not_yet_valid = X509_cmp_time(X509_get0_notBefore(leaf),
	    &st->now) > 0;
	if ((st->weak = json_array()) != NULL &&
	    cr_weak_crypto(leaf, st->weak) == 0) {
		json_decref(st->weak);
		st->weak = NULL;
	}
	cr_err_clear(&e);
}


static bool
crl_used(const struct state *st)
{
	return st->crl_mode != CR_CRL_OFF;
}

/* The smallest expires_in_days of an array of CA or CRL entries (or
 * LLONG_MAX); entries without a date are skipped. */
static long long
soonest(json_t *list)
{
	long long min = LLONG_MAX;
	json_t *v, *d;
	size_t i;

	json_array_foreach(list, i, v) {
		d = json_object_get(v, "expires_in_days");
		if (json_is_integer(d) && json_integer_value(d) < min)
			min = json_integer_value(d);
	}
	return min;
}

/* ca_health: the CA bundle and the CRLs alone (reasons appended). */
static const char *
ca_verdict(struct state *st)
{
	long long ca = soonest(json_object_get(st->out, "ca"));
	long long crl = crl_used(st) ?
	    soonest(json_object_get(st->out, "crl")) : LLONG_MAX;
	int code = st->vd.ca_code;

	if (st->crl_broken && !crl_used(st))
		reason(st, "hostcrl cannot be parsed (not used: "
		    "certificate_revocation is false)");
	if (st->ca_missing || st->ca_broken || (st->crl_broken && crl_used(st)))
		return "error";
	if (ca < 0)
		reason(st, "a CA certificate has expired");
	if (crl < 0)
		reason(st, "a CRL is past its nextUpdate");
	if (ca < 0 || crl < 0 || code == X509_V_ERR_CERT_HAS_EXPIRED ||
	    code == X509_V_ERR_CRL_HAS_EXPIRED)
		return "expired";
	if (code != X509_V_OK) {
		reason(st, "the CA bundle or CRL does not verify");
		return "error";
	}
	if (ca < st->warn_days)
		reason(st, "a CA certificate expires within warn_days");
	if (crl < st->warn_days)
		reason(st, "a CRL's nextUpdate is within warn_days");
	return ca < st->warn_days || crl < st->warn_days ? "expiring" : "ok";
}

static bool
leaf_untrusted(int code)
{
	return code != X509_V_OK && code != X509_V_ERR_CERT_REVOKED &&
	    code != X509_V_ERR_CERT_HAS_EXPIRED &&
	    code != X509_V_ERR_CERT_NOT_YET_VALID;
}

/* hostcert_health: what a new agent certificate can fix (no reasons:
 * health() gives them). */
static const char *
host_verdict(struct state *st, json_t *hc)
{
	json_t *days = json_object_get(hc, "expires_in_days");

	if (st->host_missing || st->key_missing)
		return "missing";
	if (st->host_broken || st->key_broken)
		return "error";
	if (json_is_true(json_object_get(hc, "revoked")))
		return "revoked";
	if (!json_is_integer(days) || json_integer_value(days) < 0)
		return "expired";
	if (st->not_yet_valid)
		return "not_yet_valid";
	if (st->weak != NULL)
		return "weak_crypto";
	if (json_is_false(json_object_get(hc, "key_matches")))
		return "key_mismatch";
	if (leaf_untrusted(st->vd.leaf_code))
		return "untrusted";
	return json_integer_value(days) < st->warn_days ? "expiring" : "ok";
}

/* The first matching verdict, in order of what needs attention most;
 * ca is ca_verdict()'s answer. */
static const char *
health(struct state *st, json_t *hc, const char *ca)
{
	json_t *v;
	size_t i;
	long long days;

	json_array_foreach(st->weak, i, v)
		json_array_append(st->reasons, v);
	if (st->host_missing)
		reason(st, "hostcert is missing");
	if (st->key_missing)
		reason(st, "hostprivkey is missing");
	if (st->ca_missing)
		reason(st, "localcacert (CA bundle) is missing");
	if (st->host_missing || st->key_missing || st->ca_missing)
		return "missing";
	if (st->host_broken || st->key_broken || st->ca_broken ||
	    (st->crl_broken && crl_used(st))) {
		reason(st, "a certificate, key or CRL file cannot be parsed");
		return "error";
	}
	if (json_is_true(json_object_get(hc, "revoked"))) {
		reason(st, st->crl_from_ca ? "hostcert is revoked by the CA's CRL" :
		    "hostcert is revoked by the local CRL");
		return "revoked";
	}
	if (json_integer_value(json_object_get(hc, "expires_in_days")) < 0 ||
	    json_is_null(json_object_get(hc, "expires_in_days"))) {
		reason(st, "hostcert has expired");
		return "expired";
	}
	if (st->weak != NULL)
		return "weak_crypto";
	if (json_is_false(json_object_get(hc, "key_matches"))) {
		reason(st, "hostprivkey does not belong to hostcert");
		return "key_mismatch";
	}
	if (json_is_false(json_object_get(hc, "chain_valid"))) {
		reason(st, "hostcert does not verify against the CA bundle and CRL");
		return "untrusted";
	}
	days = json_integer_value(json_object_get(hc, "expires_in_days"));
	if (days < st->warn_days)
		reason(st, "hostcert expires within warn_days");
	return days < st->warn_days || strcmp(ca, "expiring") == 0 ?
	    "expiring" : "ok";
}

static void
state_free(struct state *st)
{
	sk_X509_pop_free(st->host, X509_free);
	sk_X509_pop_free(st->bundle, X509_free);
	cr_crl_set_clear(&st->crlset);
	EVP_PKEY_free(st->key);
	json_decref(st->weak);
	json_decref(st->out);
}

/* Settings with the caller's explicit values as overrides (every pair the
 * caller gives is used; an odd list is refused). */
static cr_settings *
load_settings(const struct cr_status_opts *o, const char *certname, cr_err *err)
{
	const char **pairs = NULL;
	size_t n = 0, i, given = 0;
	struct cr_settings_opts so;
	cr_settings *out = NULL;

	while (o->overrides != NULL && o->overrides[given] != NULL)
		given++;
	if (given % 2 != 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "setting %s has no value: "
		    "give each setting with its value", o->overrides[given - 1]);
		goto out;
	}
	if ((pairs = calloc(given + 5, sizeof(*pairs))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	memset(&so, 0, sizeof(so));
	if (o->ssldir != NULL) {
		pairs[n++] = "ssldir";
		pairs[n++] = o->ssldir;
	}
	if (certname != NULL) {
		pairs[n++] = "certname";
		pairs[n++] = certname;
	}
	for (i = 0; i < given; i++)
		pairs[n++] = o->overrides[i];
	pairs[n] = NULL;
	so.confdir = o->confdir;
	so.section = "agent";
	so.overrides = pairs;
	so.allow_exec = o->allow_exec && o->default_certname == NULL;
	out = cr_settings_load(&so, err);
out:
	free(pairs);
	return out;
}

json_t *
cr_status_collect(const struct cr_status_opts *o, cr_err *err)
{
	struct state st;
	cr_settings *set = NULL;
	json_t *result = NULL, *hc = NULL;
	const char *src, *hostcert, *csr, *ca_health;
	char iso[21];

	memset(&st, 0, sizeof(st));
	st.now = o->now ? o->now : time(NULL);
	st.warn_days = o->warn_days < 0 ? CR_WARN_DAYS_DEFAULT : o->warn_days;
	if ((set = load_settings(o, o->certname, err)) == NULL)
		goto out;
	src = cr_settings_source(set, "certname");
	if (o->certname == NULL && o->default_certname != NULL && src != NULL &&
	    strcmp(src, "hostname") == 0) {
		/* puppet.conf does not name it: use what Facter says, as Puppet does */
		cr_settings_free(set);
		if ((set = load_settings(o, o->default_certname, err)) == NULL)
			goto out;
	}
	st.crl_mode = cr_crl_mode_parse(
	    cr_settings_get(set, "certificate_revocation"));
	if ((st.out = json_object()) == NULL ||
	    (st.errors = json_array()) == NULL ||
	    (st.files = json_object()) == NULL ||
	    (st.reasons = json_array()) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	cr_json_set(st.out, "certname", cr_json_str(cr_settings_get(set, "certname")));
	cr_json_set(st.out, "confdir", cr_json_str(cr_settings_get(set, "confdir")));
	cr_json_set(st.out, "ssldir", cr_json_str(cr_settings_get(set, "ssldir")));
	json_object_set_new(st.out, "warn_days", json_integer(st.warn_days));
	cr_iso8601(st.now, iso);
	json_object_set_new(st.out, "checked_at", json_string(iso));

	hostcert = cr_settings_get(set, "hostcert");
	note_file(&st, "hostcert", hostcert);
	note_file(&st, "hostprivkey", cr_settings_get(set, "hostprivkey"));
	note_file(&st, "localcacert", cr_settings_get(set, "localcacert"));
	note_file(&st, "hostcrl", cr_settings_get(set, "hostcrl"));
	csr = cr_settings_get(set, "hostcsr");
	note_file(&st, "hostcsr", csr);

	read_hostcert(&st, hostcert ? hostcert : "");
	read_ca(&st, cr_settings_get(set, "localcacert"));
	read_crl(&st, cr_settings_get(set, "hostcrl"));
	json_object_set_new(st.out, "crl_source", json_string("local"));
	if (o->fresh_crl)
		use_ca_crl(&st, set, o);
	if (st.host != NULL) {
		X509 *leaf = sk_X509_value(st.host, 0);
		hc = cr_cert_json(leaf, st.now);
		if (hc == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		json_object_set_new(hc, "present", json_true());
		read_key(&st, cr_settings_get(set, "hostprivkey"), hc);
		judge_hostcert(&st, leaf, hc);
	} else {
		hc = json_object();
		json_object_set_new(hc, "present", json_boolean(!st.host_missing));
		if (st.host_broken)
			json_object_set_new(hc, "error", cr_json_str(
			    json_string_value(json_object_get(json_array_get(
			    st.errors, json_array_size(st.errors) - 1), "msg"))));
		/* still tell whether the key is there */
		if (cr_path_exists(cr_settings_get(set, "hostprivkey")) == 0)
			st.key_missing = true;
	}
	cr_json_set(hc, "path", cr_json_str(hostcert));
	ca_health = ca_verdict(&st);
	json_object_set_new(st.out, "health",
	    json_string(health(&st, hc, ca_health)));
	json_object_set_new(st.out, "hostcert_health",
	    json_string(host_verdict(&st, hc)));
	json_object_set_new(st.out, "ca_health", json_string(ca_health));
	json_object_set(st.out, "health_reasons", st.reasons);
	json_object_set(st.out, "hostcert", hc);
	json_object_set_new(st.out, "csr_pending",
	    json_boolean(csr != NULL && cr_path_exists(csr) == 1));
	json_object_set(st.out, "files", st.files);
	json_object_set(st.out, "errors", st.errors);
	result = st.out;
	st.out = NULL;
out:
	json_decref(hc);
	json_decref(st.reasons);
	json_decref(st.files);
	json_decref(st.errors);
	state_free(&st);
	cr_settings_free(set);
	ERR_clear_error();
	return result;
}
