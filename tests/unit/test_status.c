/*
 * test_status.c - cr_status_collect on generated Puppet ssldirs: every
 * health verdict, the CA and CRL entries, a pending CSR, broken and
 * unreadable files.
 *
 * Each case writes its own ssldir under one temp dir; settings come from
 * a minimal puppet.conf in a temp confdir, with ssldir and certname passed
 * explicitly (as the task does), a fixed `now` and no `puppet` exec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>

#include "cr_status.h"
#include "cr_x509.h"
#include "pki.h"

/* 2026-01-01T00:00:00Z */
#define T0 ((time_t)1767225600)
#define CERTNAME "agent.example.com"
/* the names of pki_world's CAs */
#define INTER_CN "CN=Puppet CA: test"
#define ROOT_CN "CN=Puppet Root CA: test"

static struct fixture {
	char *tmp;		/* everything of this run */
	char *confdir;		/* holds a minimal puppet.conf */
	pki_world *w;
	pki_ca *other;		/* a CA the agent does not trust */
	EVP_PKEY *key;		/* the agent's RSA key */
	EVP_PKEY *other_key;	/* RSA, not the agent's */
	EVP_PKEY *ec_key;
	X509 *leaf;		/* F.key's for 5 years, by the world's CA */
} F;

static int
group_setup(void **state)
{
	static const char conf[] = "[main]\nserver = puppet.example.com\n"
	    "[agent]\nruninterval = 30m\n";
	struct pki_leaf_opts o;
	char *path;
	bool ok;

	(void)state;
	if ((F.tmp = pki_tmpdir_new()) == NULL ||
	    (F.confdir = pki_path(F.tmp, "conf")) == NULL ||
	    mkdir(F.confdir, 0755) == -1 ||
	    (path = pki_path(F.confdir, "puppet.conf")) == NULL)
		return -1;
	ok = pki_write_file(path, conf, sizeof(conf) - 1, 0644);
	free(path);
	F.w = pki_world_new(T0);
	F.key = pki_rsa_cached(2);
	F.other_key = pki_rsa_cached(3);
	F.ec_key = pki_ec_cached();
	if (!ok || F.w == NULL || F.key == NULL || F.other_key == NULL ||
	    F.ec_key == NULL)
		return -1;
	F.other = pki_ca_new("Some Other CA", F.other_key, NULL, T0, -PKI_YEAR,
	    10 * PKI_YEAR);
	pki_leaf_opts_init(&o, CERTNAME, F.key, T0);
	o.not_after = 5 * PKI_YEAR;
	F.leaf = pki_leaf_new(&o, F.w->inter);
	ERR_clear_error();
	return F.other != NULL && F.leaf != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	pki_world_free(F.w);
	pki_ca_free(F.other);
	X509_free(F.leaf);
	EVP_PKEY_free(F.key);
	EVP_PKEY_free(F.other_key);
	EVP_PKEY_free(F.ec_key);
	if (F.tmp != NULL) {
		chmod(F.tmp, 0700);
		pki_rmtree(F.tmp);
	}
	free(F.tmp);
	free(F.confdir);
	pki_cleanup();
	return 0;
}

/* A new ssldir path F.tmp/<name> (not created). */
static char *
ssldir_path(const char *name)
{
	char *p = pki_path(F.tmp, name);

	assert_non_null(p);
	return p;
}

static X509 *
leaf(EVP_PKEY *key, long long not_after, uint64_t serial, const pki_ca *ca)
{
	struct pki_leaf_opts o;
	X509 *x;

	pki_leaf_opts_init(&o, CERTNAME, key, T0);
	o.not_after = not_after;
	o.serial = serial;
	x = pki_leaf_new(&o, ca);
	assert_non_null(x);
	return x;
}

/* A complete ssldir F.tmp/<name> with the world's CA and CRLs. */
static char *
make_ssldir(const char *name, X509 *cert, EVP_PKEY *key)
{
	char *dir = ssldir_path(name);

	assert_true(pki_ssldir_write_world(dir, F.w, CERTNAME, cert, key));
	return dir;
}

/* A complete ssldir F.tmp/<name> with cert and F.key, the CA inter under
 * the world's root, and crl (which must not be NULL) in place of the
 * intermediate's CRL. */
static char *
make_ssldir_crl(const char *name, X509 *cert, const pki_ca *inter,
    X509_CRL *crl)
{
	X509 *cas[2] = { inter->cert, F.w->root->cert };
	X509_CRL *crls[2] = { crl, F.w->root_crl };
	struct pki_ssldir s = {
		.certname = CERTNAME, .leaf = cert, .key = F.key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};
	char *dir = ssldir_path(name);

	assert_non_null(crl);
	assert_true(pki_ssldir_write(dir, &s));
	return dir;
}

/* The integer key of the first entry of the list j[list]. */
static json_int_t
first_int(const json_t *j, const char *list, const char *key)
{
	return json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, list), 0), key));
}

/* The options of a collect of ssldir for CERTNAME at T0, with confdir
 * (no exec, no fresh CRL). */
static void
status_opts(struct cr_status_opts *o, const char *confdir,
    const char *ssldir, int warn_days)
{
	memset(o, 0, sizeof(*o));
	o->confdir = confdir;
	o->ssldir = ssldir;
	o->certname = CERTNAME;
	o->warn_days = warn_days;
	o->now = T0;
	o->allow_exec = false;
}

static json_t *
collect(const char *ssldir, int warn_days)
{
	struct cr_status_opts o;
	json_t *j;
	cr_err e;

	status_opts(&o, F.confdir, ssldir, warn_days);
	cr_err_init(&e);
	j = cr_status_collect(&o, &e);
	if (j == NULL)
		fail_msg("cr_status_collect: %s: %s", e.kind, e.msg);
	assert_false(e.set);
	assert_int_equal(ERR_peek_error(), 0);
	cr_err_clear(&e);
	return j;
}

static const char *
str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void
assert_str_at(json_t *j, const char *key, const char *want)
{
	const char *v = str_at(j, key);

	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s '%s', want '%s'", key, v ? v : "(null)", want);
}

static void
assert_health(json_t *j, const char *want)
{
	const char *h = str_at(j, "health");

	if (h == NULL || strcmp(h, want) != 0) {
		char *dump = json_dumps(j, JSON_INDENT(1));
		fprintf(stderr, "%s\n", dump ? dump : "?");
		free(dump);
		fail_msg("health '%s', want '%s'", h ? h : "(null)", want);
	}
}

/* health_reasons holds `want`. */
static void
assert_reason(json_t *j, const char *want)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(j, "health_reasons"), i, v)
		if (strcmp(json_string_value(v), want) == 0)
			return;
	fail_msg("no health reason '%s'", want);
}

static json_t *
hostcert(json_t *j)
{
	json_t *hc = json_object_get(j, "hostcert");

	assert_true(json_is_object(hc));
	return hc;
}

static void
done(json_t *j, X509 *x, char *dir)
{
	json_decref(j);
	X509_free(x);
	free(dir);
}

/*
 * The scenarios: a host certificate (F.key's, ending not_after from T0,
 * signed by the world's intermediate or by F.other) in a complete ssldir
 * F.tmp/<dir> with a hostprivkey, and what collect says of it: health,
 * with reason among the health reasons (NULL: none asked for), then the
 * scenario's own checks.
 */
struct scene {
	X509 *x;
	char *dir;
	json_t *j, *hc;
};

enum scene_key { HOST_KEY, OTHER_KEY, NO_KEY };

struct scenario {
	const char *test, *dir;
	long long not_after;
	bool other_ca;
	enum scene_key key;
	const char *health, *reason;
	void (*check)(const struct scene *s);
};

static void
ok_checks(const struct scene *s)
{
	json_t *ca, *crl, *files;
	char *want;

	assert_int_equal(json_array_size(json_object_get(s->j,
	    "health_reasons")), 0);
	assert_string_equal(str_at(s->j, "certname"), CERTNAME);
	assert_string_equal(str_at(s->j, "ssldir"), s->dir);
	assert_string_equal(str_at(s->j, "checked_at"), "2026-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(s->j,
	    "warn_days")), 30);
	assert_true(json_is_false(json_object_get(s->j, "csr_pending")));
	assert_int_equal(json_array_size(json_object_get(s->j, "errors")), 0);

	assert_true(json_is_true(json_object_get(s->hc, "present")));
	assert_true(json_is_true(json_object_get(s->hc, "key_matches")));
	assert_true(json_is_true(json_object_get(s->hc, "chain_valid")));
	assert_true(json_is_false(json_object_get(s->hc, "revoked")));
	assert_null(json_object_get(s->hc, "verify_error"));
	assert_string_equal(str_at(s->hc, "subject"), "CN=" CERTNAME);
	assert_string_equal(str_at(json_object_get(s->hc, "key"), "type"),
	    "RSA");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    s->hc, "key"), "bits")), 2048);
	want = pki_path(s->dir, "certs/" CERTNAME ".pem");
	assert_string_equal(str_at(s->hc, "path"), want);
	free(want);

	/* ca.pem: intermediate first, then root */
	ca = json_object_get(s->j, "ca");
	assert_int_equal(json_array_size(ca), 2);
	assert_str_at(json_array_get(ca, 0), "subject", INTER_CN);
	assert_str_at(json_array_get(ca, 0), "issuer", ROOT_CN);
	assert_str_at(json_array_get(ca, 1), "subject", ROOT_CN);
	/* crl.pem: one per CA, none revoked */
	crl = json_object_get(s->j, "crl");
	assert_int_equal(json_array_size(crl), 2);
	assert_str_at(json_array_get(crl, 0), "issuer", INTER_CN);
	assert_str_at(json_array_get(crl, 1), "issuer", ROOT_CN);
	assert_int_equal(first_int(s->j, "crl", "revoked_count"), 0);

	files = json_object_get(s->j, "files");
	assert_true(json_is_true(json_object_get(json_object_get(files,
	    "hostcert"), "present")));
	assert_true(json_is_true(json_object_get(json_object_get(files,
	    "hostprivkey"), "present")));
	assert_true(json_is_true(json_object_get(json_object_get(files,
	    "localcacert"), "present")));
	assert_true(json_is_true(json_object_get(json_object_get(files,
	    "hostcrl"), "present")));
	assert_true(json_is_false(json_object_get(json_object_get(files,
	    "hostcsr"), "present")));
}

static void
expiring_checks(const struct scene *s)
{
	json_t *j;

	assert_int_equal(json_integer_value(json_object_get(s->hc,
	    "expires_in_days")), 10);
	/* warn_days decides */
	j = collect(s->dir, 10);
	assert_health(j, "ok");
	json_decref(j);
	j = collect(s->dir, 11);
	assert_health(j, "expiring");
	json_decref(j);
}

static void
expired_checks(const struct scene *s)
{
	assert_int_equal(json_integer_value(json_object_get(s->hc,
	    "expires_in_days")), -1);
	assert_true(json_is_false(json_object_get(s->hc, "chain_valid")));
	assert_string_equal(str_at(s->hc, "verify_error"),
	    "certificate has expired");
}

static void
key_mismatch_checks(const struct scene *s)
{
	assert_true(json_is_false(json_object_get(s->hc, "key_matches")));
	assert_true(json_is_true(json_object_get(s->hc, "chain_valid")));
}

static void
untrusted_checks(const struct scene *s)
{
	assert_true(json_is_false(json_object_get(s->hc, "chain_valid")));
	assert_string_equal(str_at(s->hc, "verify_error"),
	    "unable to get local issuer certificate");
	/* no CRL of its issuer: revocation unknown, not "false" */
	assert_true(json_is_null(json_object_get(s->hc, "revoked")));
	assert_string_equal(str_at(s->hc, "issuer"), "CN=Some Other CA");
}

static void
missing_key_only_checks(const struct scene *s)
{
	assert_int_equal(json_array_size(json_object_get(s->j,
	    "health_reasons")), 1);
	assert_true(json_is_null(json_object_get(s->hc, "key_matches")));
	assert_true(json_is_true(json_object_get(s->hc, "chain_valid")));
}

static const struct scenario scenarios[] = {
	{ "test_ok", "ok", 5 * PKI_YEAR, false, HOST_KEY, "ok", NULL,
	  ok_checks },
	{ "test_expiring", "expiring", 10 * PKI_DAY, false, HOST_KEY,
	  "expiring", "hostcert expires within warn_days", expiring_checks },
	{ "test_expired", "expired", -PKI_DAY, false, HOST_KEY, "expired",
	  "hostcert has expired", expired_checks },
	{ "test_key_mismatch", "mismatch", 5 * PKI_YEAR, false, OTHER_KEY,
	  "key_mismatch", "hostprivkey does not belong to hostcert",
	  key_mismatch_checks },
	{ "test_untrusted", "untrusted", 5 * PKI_YEAR, true, HOST_KEY,
	  "untrusted", "hostcert does not verify against the CA bundle and CRL",
	  untrusted_checks },
	{ "test_missing_key_only", "nokey", 5 * PKI_YEAR, false, NO_KEY,
	  "missing", "hostprivkey is missing", missing_key_only_checks },
};

static void
run_scenario(void **state)
{
	const struct scenario *sc = *state;
	EVP_PKEY *keys[] = { F.key, F.other_key, NULL };
	struct scene s;

	s.x = leaf(F.key, sc->not_after, 0, sc->other_ca ? F.other : F.w->inter);
	s.dir = make_ssldir(sc->dir, s.x, keys[sc->key]);
	s.j = collect(s.dir, -1);
	s.hc = hostcert(s.j);
	assert_health(s.j, sc->health);
	if (sc->reason != NULL)
		assert_reason(s.j, sc->reason);
	sc->check(&s);
	done(s.j, s.x, s.dir);
}

/* cmocka's entry for scenarios[i], under the scenario's test name. */
#define SCENARIO(i)							\
	{ scenarios[i].test, run_scenario, NULL, NULL,			\
	  (void *)&scenarios[i] }

static void
test_revoked(void **state)
{
	uint64_t serials[] = { 4000, 4242, 4300 };
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 4242, F.w->inter);
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -PKI_DAY, PKI_YEAR,
	    serials, 3);
	char *dir = make_ssldir_crl("revoked", x, F.w->inter, crl);
	json_t *j = collect(dir, -1), *hc = hostcert(j);

	(void)state;
	assert_health(j, "revoked");
	assert_reason(j, "hostcert is revoked by the local CRL");
	assert_true(json_is_true(json_object_get(hc, "revoked")));
	assert_true(json_is_false(json_object_get(hc, "chain_valid")));
	assert_string_equal(str_at(hc, "verify_error"), "certificate revoked");
	assert_int_equal(first_int(j, "crl", "revoked_count"), 3);
	X509_CRL_free(crl);
	done(j, x, dir);
}

static void
test_crl_expired(void **state)
{
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -60 * PKI_DAY,
	    -30 * PKI_DAY, NULL, 0);
	char *dir = make_ssldir_crl("crl_expired", F.leaf, F.w->inter, crl);
	json_t *j = collect(dir, -1);

	(void)state;
	/* Puppet refuses to connect with a stale CRL: not trusted */
	assert_health(j, "untrusted");
	assert_string_equal(str_at(hostcert(j), "verify_error"),
	    "CRL has expired");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	assert_int_equal(first_int(j, "crl", "expires_in_days"), -30);
	X509_CRL_free(crl);
	done(j, NULL, dir);
}

static void
test_missing(void **state)
{
	char *dir = ssldir_path("nothing");	/* never created */
	json_t *j = collect(dir, -1), *hc = hostcert(j);

	(void)state;
	assert_health(j, "missing");
	assert_reason(j, "hostcert is missing");
	assert_reason(j, "hostprivkey is missing");
	assert_reason(j, "localcacert (CA bundle) is missing");
	assert_true(json_is_false(json_object_get(hc, "present")));
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "ca")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "crl")), 0);
	assert_true(json_is_false(json_object_get(json_object_get(
	    json_object_get(j, "files"), "hostcert"), "present")));
	assert_true(json_is_false(json_object_get(j, "csr_pending")));
	json_decref(j);

	/* an ssldir with only the CA files (a fresh agent before its CSR) */
	assert_true(pki_ssldir_write_world(dir, F.w, CERTNAME, NULL, NULL));
	j = collect(dir, -1);
	assert_health(j, "missing");
	assert_reason(j, "hostcert is missing");
	assert_reason(j, "hostprivkey is missing");
	assert_int_equal(json_array_size(json_object_get(j, "ca")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "health_reasons")),
	    2);
	done(j, NULL, dir);
}

static void
test_garbage_hostcert(void **state)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\n"
	    "bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
	char *dir = make_ssldir("garbage", F.leaf, F.key), *path;
	json_t *j, *hc, *err0;

	(void)state;
	path = pki_path(dir, "certs/" CERTNAME ".pem");
	assert_true(pki_write_file(path, junk, sizeof(junk) - 1, 0644));
	j = collect(dir, -1);
	hc = hostcert(j);
	assert_health(j, "error");
	assert_reason(j, "a certificate, key or CRL file cannot be parsed");
	/* the part that failed */
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 1);
	err0 = json_array_get(json_object_get(j, "errors"), 0);
	assert_string_equal(str_at(err0, "part"), "hostcert");
	assert_non_null(strstr(str_at(err0, "msg"), path));
	assert_true(json_is_true(json_object_get(hc, "present")));
	assert_string_equal(str_at(hc, "error"), str_at(err0, "msg"));
	assert_string_equal(str_at(hc, "path"), path);
	/* ... and the rest is still there */
	assert_int_equal(json_array_size(json_object_get(j, "ca")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "crl")), 2);
	assert_true(json_is_true(json_object_get(json_object_get(
	    json_object_get(j, "files"), "hostprivkey"), "present")));
	json_decref(j);

	/* a broken CA bundle next to a good hostcert */
	assert_true(pki_write_certs(path, &F.leaf, 1));
	free(path);
	path = pki_path(dir, "certs/ca.pem");
	assert_true(pki_write_file(path, "garbage\n", 8, 0644));
	j = collect(dir, -1);
	assert_health(j, "error");
	err0 = json_array_get(json_object_get(j, "errors"), 0);
	assert_string_equal(str_at(err0, "part"), "ca");
	assert_true(json_is_true(json_object_get(hostcert(j), "key_matches")));
	assert_string_equal(str_at(hostcert(j), "subject"), "CN=" CERTNAME);
	free(path);
	done(j, NULL, dir);
}

static void
test_ca_expiring(void **state)
{
	EVP_PKEY *k = pki_rsa_cached(1);
	pki_ca *inter = pki_ca_new("Puppet CA: test", k, F.w->root, T0,
	    -PKI_YEAR, 10 * PKI_DAY);
	X509 *x;
	X509_CRL *crl;
	char *dir;
	json_t *j;

	(void)state;
	assert_non_null(inter);
	x = leaf(F.key, 5 * PKI_YEAR, 0, inter);
	crl = pki_crl_new(inter, T0, -PKI_DAY, PKI_YEAR, NULL, 0);
	dir = make_ssldir_crl("ca_expiring", x, inter, crl);
	j = collect(dir, -1);
	assert_health(j, "expiring");
	assert_reason(j, "a CA certificate expires within warn_days");
	assert_int_equal(json_array_size(json_object_get(j, "health_reasons")),
	    1);
	assert_int_equal(first_int(j, "ca", "expires_in_days"), 10);
	assert_true(json_is_true(json_object_get(hostcert(j), "chain_valid")));
	X509_CRL_free(crl);
	pki_ca_free(inter);
	EVP_PKEY_free(k);
	done(j, x, dir);
}

static void
test_csr_pending(void **state)
{
	char *dir = ssldir_path("csr");
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	struct pki_ssldir s = { .certname = CERTNAME, .key = F.key,
	    .cas = cas, .n_cas = 2, .csr = true };
	json_t *j;

	(void)state;
	/* waiting for the CA to sign: key + CSR, no cert, no CRL yet */
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_true(json_is_true(json_object_get(j, "csr_pending")));
	assert_true(json_is_true(json_object_get(json_object_get(
	    json_object_get(j, "files"), "hostcsr"), "present")));
	assert_health(j, "missing");
	assert_reason(j, "hostcert is missing");
	assert_int_equal(json_array_size(json_object_get(j, "health_reasons")),
	    1);
	assert_int_equal(json_array_size(json_object_get(j, "crl")), 0);
	done(j, NULL, dir);
}

static void
test_ec_key(void **state)
{
	X509 *x = leaf(F.ec_key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("ec", x, F.ec_key);
	json_t *j = collect(dir, -1), *key;

	(void)state;
	assert_health(j, "ok");
	key = json_object_get(hostcert(j), "key");
	assert_string_equal(str_at(key, "type"), "EC");
	assert_string_equal(str_at(key, "curve"), "prime256v1");
	assert_true(json_is_true(json_object_get(hostcert(j), "key_matches")));
	json_decref(j);

	/* an RSA key next to an EC certificate */
	X509_free(x);
	free(dir);
	x = leaf(F.ec_key, 5 * PKI_YEAR, 0, F.w->inter);
	dir = make_ssldir("ec_rsa", x, F.key);
	j = collect(dir, -1);
	assert_health(j, "key_mismatch");
	done(j, x, dir);
}

/* The checks on a collection whose key file cannot be opened. */
static bool
unreadable_key_ok(json_t *j)
{
	json_t *hc = json_object_get(j, "hostcert");

	return j != NULL && json_is_false(json_object_get(hc, "key_readable")) &&
	    json_is_null(json_object_get(hc, "key_matches")) &&
	    json_array_size(json_object_get(j, "errors")) == 0 &&
	    json_is_true(json_object_get(hc, "chain_valid"));
}

/*
 * A key the reader may not open (mode 000, as when the fact runs as a user
 * that is not puppet's) is reported as key_readable = false, not as an
 * error.  Root reads a mode-000 file anyway, so as root the check runs in
 * a child that drops to "nobody"; without that user it is skipped.
 */
static void
test_unreadable_key(void **state)
{
	char *dir = make_ssldir("unreadable", F.leaf, F.key), *key;
	struct passwd *nobody;
	json_t *j;
	pid_t pid;
	int status;

	(void)state;
	key = pki_path(dir, "private_keys/" CERTNAME ".pem");
	assert_int_equal(chmod(key, 0), 0);
	if (geteuid() != 0) {
		j = collect(dir, -1);
		assert_true(unreadable_key_ok(j));
		json_decref(j);
		goto out;
	}
	if ((nobody = getpwnam("nobody")) == NULL) {
		fprintf(stderr, "# root and no 'nobody' user: skipped\n");
		free(key);
		done(NULL, NULL, dir);
		skip();
	}
	/* let "nobody" reach the certs (mkdtemp made the tree 0700) */
	assert_int_equal(chmod(F.tmp, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct cr_status_opts o;
		cr_err e;
		bool ok;

		if (setgid(nobody->pw_gid) != 0 || setuid(nobody->pw_uid) != 0)
			_exit(3);
		status_opts(&o, F.confdir, dir, -1);
		cr_err_init(&e);
		j = cr_status_collect(&o, &e);
		ok = unreadable_key_ok(j) && ERR_peek_error() == 0;
		if (!ok) {
			char *dump = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
			fprintf(stderr, "child: %s %s\n", dump ? dump : "NULL",
			    e.msg);
		}
		_exit(ok ? 0 : 1);	/* no leak check in the child */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(F.tmp, 0700);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
out:
	free(key);
	done(NULL, NULL, dir);
}

/* health, hostcert_health and ca_health at once. */
static void
assert_verdicts(json_t *j, const char *health, const char *host,
    const char *ca)
{
	assert_health(j, health);
	assert_str_at(j, "hostcert_health", host);
	assert_str_at(j, "ca_health", ca);
}

/* A key/signature that OpenSSL's default security level refuses. */
static void
weak_case(const char *name, EVP_PKEY *key, const EVP_MD *md, const char *why)
{
	struct pki_leaf_opts o;
	X509 *x;
	char *dir;
	json_t *j;

	pki_leaf_opts_init(&o, CERTNAME, key, T0);
	o.md = md;
	assert_non_null(x = pki_leaf_new(&o, F.w->inter));
	dir = make_ssldir(name, x, key);
	j = collect(dir, -1);
	assert_verdicts(j, "weak_crypto", "weak_crypto", "ok");
	assert_true(json_is_true(json_object_get(hostcert(j), "chain_valid")));
	{
		json_t *v;
		size_t i;
		bool found = false;

		json_array_foreach(json_object_get(j, "health_reasons"), i, v)
			found = found || strstr(json_string_value(v), why);
		if (!found)
			fail_msg("%s: no reason with '%s'", name, why);
	}
	done(j, x, dir);
}

static void
test_weak_crypto(void **state)
{
	EVP_PKEY *ec112 = pki_key_new(PKI_EC_SECP112R1);
	EVP_PKEY *rsa1024 = pki_key_new(PKI_RSA1024);

	(void)state;
	assert_non_null(ec112);
	assert_non_null(rsa1024);
	weak_case("weak_ec112", ec112, NULL, "the host key has 56 security bits");
	if (cr_tls_security_level() >= 2)
		weak_case("weak_rsa1024", rsa1024, NULL,
		    "the host key has 80 security bits");
	weak_case("weak_sha1", F.key, EVP_sha1(), "signature (RSA-SHA1)");
	EVP_PKEY_free(ec112);
	EVP_PKEY_free(rsa1024);
}

/* hostcert_health and ca_health for each case the contract names. */
static void
test_split_verdicts(void **state)
{
	/* health, hostcert_health, ca_health of a host certificate */
	static const struct {
		const char *dir;
		long long not_after;
		bool other_ca;
		enum scene_key key;
		const char *verdicts[3];
	} cases[] = {
		{ "v_exp", 10 * PKI_DAY, false, HOST_KEY,
		  { "expiring", "expiring", "ok" } },
		{ "v_expired", -PKI_DAY, false, HOST_KEY,
		  { "expired", "expired", "ok" } },
		{ "v_mismatch", 5 * PKI_YEAR, false, OTHER_KEY,
		  { "key_mismatch", "key_mismatch", "ok" } },
		{ "v_untrusted", 5 * PKI_YEAR, true, HOST_KEY,
		  { "untrusted", "untrusted", "ok" } },
	};
	EVP_PKEY *keys[] = { F.key, F.other_key, NULL };
	X509 *x;
	char *dir;
	json_t *j;
	size_t i;

	(void)state;
	dir = make_ssldir("v_ok", F.leaf, F.key);
	j = collect(dir, -1);
	assert_verdicts(j, "ok", "ok", "ok");
	json_decref(j);
	/* a CA inside warn_days: the CA's condition, not the host's */
	j = collect(dir, 3650);
	assert_verdicts(j, "expiring", "expiring", "expiring");
	done(j, NULL, dir);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x = leaf(F.key, cases[i].not_after, 0,
		    cases[i].other_ca ? F.other : F.w->inter);
		dir = make_ssldir(cases[i].dir, x, keys[cases[i].key]);
		j = collect(dir, -1);
		assert_verdicts(j, cases[i].verdicts[0], cases[i].verdicts[1],
		    cases[i].verdicts[2]);
		done(j, x, dir);
	}

	dir = ssldir_path("v_missing");
	j = collect(dir, -1);
	assert_verdicts(j, "missing", "missing", "error");
	done(j, NULL, dir);

	{
		struct pki_leaf_opts o;

		pki_leaf_opts_init(&o, CERTNAME, F.key, T0);
		o.not_before = PKI_DAY;
		assert_non_null(x = pki_leaf_new(&o, F.w->inter));
		dir = make_ssldir("v_nyv", x, F.key);
		j = collect(dir, -1);
		assert_verdicts(j, "untrusted", "not_yet_valid", "ok");
		done(j, x, dir);
	}
}

/* x in an ssldir F.tmp/<name> with crl as the intermediate's CRL: the
 * verdicts health, hostcert_health and ca_health, and reason among the
 * reasons (NULL: none asked for). */
static void
assert_with_crl(const char *name, X509 *x, X509_CRL *crl, const char *health,
    const char *host, const char *ca, const char *reason)
{
	char *dir = make_ssldir_crl(name, x, F.w->inter, crl);
	json_t *j = collect(dir, -1);

	assert_verdicts(j, health, host, ca);
	if (reason != NULL)
		assert_reason(j, reason);
	done(j, NULL, dir);
}

static void
test_split_revoked_and_crl(void **state)
{
	uint64_t serials[] = { 4343 };
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 4343, F.w->inter);
	X509_CRL *rev = pki_crl_new(F.w->inter, T0, -PKI_DAY, PKI_YEAR,
	    serials, 1);
	X509_CRL *old = pki_crl_new(F.w->inter, T0, -60 * PKI_DAY,
	    -30 * PKI_DAY, NULL, 0);
	X509_CRL *soon = pki_crl_new(F.w->inter, T0, -PKI_DAY, 5 * PKI_DAY,
	    NULL, 0);

	(void)state;
	assert_with_crl("v_revoked", x, rev, "revoked", "revoked", "ok", NULL);
	/* a stale CRL: the CA side is expired, the host cert is fine */
	assert_with_crl("v_crl_old", F.leaf, old, "untrusted", "ok", "expired",
	    "a CRL is past its nextUpdate");
	assert_with_crl("v_crl_soon", F.leaf, soon, "expiring", "ok",
	    "expiring", "a CRL's nextUpdate is within warn_days");
	X509_CRL_free(rev);
	X509_CRL_free(old);
	X509_CRL_free(soon);
	X509_free(x);
}

/* A confdir whose puppet.conf says certificate_revocation = mode. */
static char *
confdir_with(const char *name, const char *mode)
{
	char *dir = pki_path(F.tmp, name), *path, conf[128];
	int n = snprintf(conf, sizeof(conf),
	    "[main]\ncertificate_revocation = %s\n", mode);

	assert_int_equal(mkdir(dir, 0755), 0);
	path = pki_path(dir, "puppet.conf");
	assert_true(pki_write_file(path, conf, (size_t)n, 0644));
	free(path);
	return dir;
}

static json_t *
collect_in(const char *confdir, const char *ssldir, const char **overrides,
    cr_err *e)
{
	struct cr_status_opts o;

	status_opts(&o, confdir, ssldir, -1);
	o.overrides = overrides;
	return cr_status_collect(&o, e);
}

/* certificate_revocation = false: Puppet does not read crl.pem, so a
 * garbage one is reported but does not fail the verdict. */
static void
test_crl_off_garbage(void **state)
{
	char *dir = make_ssldir("crl_off", F.leaf, F.key);
	char *conf = confdir_with("conf_crl_off", "false");
	char *crl = pki_path(dir, "crl.pem");
	json_t *j;
	cr_err e;

	(void)state;
	assert_true(pki_write_file(crl, "garbage\n", 8, 0644));
	cr_err_init(&e);
	j = collect_in(conf, dir, NULL, &e);
	assert_non_null(j);
	assert_verdicts(j, "ok", "ok", "ok");
	assert_reason(j, "hostcrl cannot be parsed (not used: "
	    "certificate_revocation is false)");
	assert_string_equal(str_at(json_array_get(json_object_get(j, "errors"),
	    0), "part"), "crl");
	json_decref(j);
	/* with revocation checking on, the same file is an error */
	free(conf);
	conf = confdir_with("conf_crl_leaf", "leaf");
	j = collect_in(conf, dir, NULL, &e);
	assert_non_null(j);
	assert_verdicts(j, "error", "ok", "error");
	json_decref(j);
	ERR_clear_error();
	free(conf);
	free(crl);
	done(NULL, NULL, dir);
}

/* Every pair the caller gives counts: the last of 40 still applies. */
static void
test_many_overrides(void **state)
{
	char *dir = make_ssldir("overrides", F.leaf, F.key);
	const char *pairs[2 * 40 + 2];
	json_t *j;
	cr_err e;
	int i;

	(void)state;
	for (i = 0; i < 39; i++) {
		pairs[2 * i] = "server";
		pairs[2 * i + 1] = "puppet.example.com";
	}
	pairs[78] = "hostcert";
	pairs[79] = "/nonexistent/elsewhere.pem";
	pairs[80] = NULL;
	cr_err_init(&e);
	j = collect_in(F.confdir, dir, pairs, &e);
	if (j == NULL)
		fail_msg("%s: %s", e.kind, e.msg);
	assert_string_equal(str_at(hostcert(j), "path"),
	    "/nonexistent/elsewhere.pem");
	json_decref(j);
	/* a setting without its value is refused, not dropped */
	pairs[79] = NULL;
	assert_null(collect_in(F.confdir, dir, pairs, &e));
	assert_string_equal(e.kind, "cert_regen/invalid-parameter");
	cr_err_clear(&e);
	done(NULL, NULL, dir);
}

/* A FIFO at any file the status reads: an error entry, promptly. */
static void
test_fifo(void **state)
{
	static const char *const rel[] = {
		"certs/" CERTNAME ".pem", "private_keys/" CERTNAME ".pem",
		"certs/ca.pem", "crl.pem",
	};
	static const char *const part[] = { "hostcert", "hostprivkey", "ca",
	    "crl" };
	char *dir, *path, *conf, name[32];
	json_t *j, *err0;
	cr_err e;
	size_t i;

	(void)state;
	alarm(20);	/* a hang kills the test run: SIGALRM */
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(name, sizeof(name), "fifo%zu", i);
		dir = make_ssldir(name, F.leaf, F.key);
		path = pki_path(dir, rel[i]);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(mkfifo(path, 0644), 0);
		j = collect(dir, -1);
		assert_health(j, "error");
		err0 = json_array_get(json_object_get(j, "errors"), 0);
		assert_string_equal(str_at(err0, "part"), part[i]);
		assert_non_null(strstr(str_at(err0, "msg"), "FIFO"));
		json_decref(j);
		free(path);
		free(dir);
	}
	/* puppet.conf */
	conf = pki_path(F.tmp, "conf_fifo");
	assert_int_equal(mkdir(conf, 0755), 0);
	path = pki_path(conf, "puppet.conf");
	assert_int_equal(mkfifo(path, 0644), 0);
	dir = make_ssldir("fifo_conf", F.leaf, F.key);
	cr_err_init(&e);
	j = collect_in(conf, dir, NULL, &e);
	assert_null(j);
	assert_non_null(strstr(e.msg, "FIFO"));
	cr_err_clear(&e);
	ERR_clear_error();
	alarm(0);
	free(path);
	free(conf);
	done(NULL, NULL, dir);
}

/* A collect of dir with fresh_crl, fetch_crl fetch (NULL: a build without
 * an HTTP client) and the settings overrides. */
static json_t *
collect_fresh(const char *dir, const char **overrides,
    char *(*fetch)(const char *, int, const char *, size_t *, cr_err *))
{
	struct cr_status_opts o;
	json_t *j;
	cr_err e;

	status_opts(&o, F.confdir, dir, -1);
	o.overrides = overrides;
	o.fresh_crl = true;
	o.fetch_crl = fetch;
	cr_err_init(&e);
	j = cr_status_collect(&o, &e);
	if (j == NULL)
		fail_msg("%s: %s", e.kind, e.msg);
	return j;
}

/* j kept the local CRL and says why in its first errors entry: part
 * crl_fresh, of kind, with needle in its field. */
static void
assert_fresh_crl_error(json_t *j, const char *kind, const char *field,
    const char *needle)
{
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);

	assert_str_at(j, "crl_source", "local");
	assert_str_at(e0, "part", "crl_fresh");
	assert_str_at(e0, "kind", kind);
	assert_non_null(strstr(str_at(e0, field), needle));
}

/* fresh_crl with the CA out of reach: the local CRL stays in use, said so,
 * with an errors entry and its next step; never "from the CA". */
static void
test_fresh_crl_unreachable(void **state)
{
	char *dir = make_ssldir("fresh_off", F.leaf, F.key);
	const char *pairs[] = { "ca_server", "127.0.0.1", "ca_port", "1",
	    NULL };
	json_t *j;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	j = collect_in(F.confdir, dir, NULL, &e);
	assert_non_null(j);
	assert_str_at(j, "crl_source", "local");
	json_decref(j);
	j = collect_fresh(dir, pairs, cr_status_fetch_crl);
	assert_fresh_crl_error(j, "cert_regen/ca-unreachable", "next_step",
	    "127.0.0.1:1");
	assert_reason(j, "the CA's CRL could not be fetched: revocation is "
	    "judged on the local CRL");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	assert_int_equal(ERR_peek_error(), 0);
	done(j, NULL, dir);
}

/* fresh_crl in a build without an HTTP client (the fact's extension sets
 * no fetch_crl): an errors entry that names the task, the local CRL kept. */
static void
test_fresh_crl_no_client(void **state)
{
	char *dir = make_ssldir("fresh_noclient", F.leaf, F.key);
	json_t *j = collect_fresh(dir, NULL, NULL);

	(void)state;
	assert_fresh_crl_error(j, "cert_regen/invalid-parameter", "msg",
	    "cert_regen::status task");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	done(j, NULL, dir);
}

/* The reduced CRL (cr_crl_fast.c) gives the full CRL's answers: a
 * 100,000-entry CRL, the host serial inside and outside it. */
static void
test_big_crl(void **state)
{
	X509_CRL *big = pki_crl_bulk_new(F.w->inter, T0, 1000, 100000);
	X509 *in = leaf(F.key, 5 * PKI_YEAR, 1000 + 54321, F.w->inter);
	X509 *out = leaf(F.key, 5 * PKI_YEAR, 1000 + 100000, F.w->inter);
	char *dir = make_ssldir_crl("big_in", in, F.w->inter, big);
	json_t *j = collect(dir, -1), *c0;

	(void)state;
	assert_verdicts(j, "revoked", "revoked", "ok");
	assert_string_equal(str_at(hostcert(j), "verify_error"),
	    "certificate revoked");
	c0 = json_array_get(json_object_get(j, "crl"), 0);
	assert_int_equal(json_integer_value(json_object_get(c0,
	    "revoked_count")), 100000);
	assert_non_null(str_at(c0, "crl_number"));
	json_decref(j);
	free(dir);

	dir = make_ssldir_crl("big_out", out, F.w->inter, big);
	j = collect(dir, -1);
	assert_verdicts(j, "ok", "ok", "ok");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	assert_int_equal(first_int(j, "crl", "revoked_count"), 100000);
	X509_CRL_free(big);
	X509_free(in);
	done(j, out, dir);
}

/* A CRL altered in an entry that the reduced CRL leaves out: the
 * signature over the original still fails, as with the full decode. */
static void
test_crl_tampered_entry(void **state)
{
	uint64_t serials[] = { 5000, 5001 };
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -PKI_DAY, PKI_YEAR,
	    serials, 2), *bad;
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 4242, F.w->inter);
	unsigned char *der = NULL, *hit;
	const unsigned char *p;
	static const unsigned char five_k[] = { 0x02, 0x02, 0x13, 0x88 };
	char *dir;
	json_t *j;
	int n;

	(void)state;
	assert_non_null(crl);
	assert_true((n = i2d_X509_CRL(crl, &der)) > 0);
	hit = memmem(der, (size_t)n, five_k, sizeof(five_k));
	assert_non_null(hit);
	hit[3] = 0x87;		/* serial 5000 -> 4999 */
	p = der;
	assert_non_null(bad = d2i_X509_CRL(NULL, &p, n));
	dir = make_ssldir_crl("tampered", x, F.w->inter, bad);
	j = collect(dir, -1);
	assert_string_equal(str_at(hostcert(j), "verify_error"),
	    "CRL signature failure");
	assert_verdicts(j, "untrusted", "ok", "error");
	OPENSSL_free(der);
	X509_CRL_free(crl);
	X509_CRL_free(bad);
	done(j, x, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SCENARIO(0),	/* test_ok */
		SCENARIO(1),	/* test_expiring */
		SCENARIO(2),	/* test_expired */
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_crl_expired),
		SCENARIO(3),	/* test_key_mismatch */
		SCENARIO(4),	/* test_untrusted */
		cmocka_unit_test(test_missing),
		SCENARIO(5),	/* test_missing_key_only */
		cmocka_unit_test(test_garbage_hostcert),
		cmocka_unit_test(test_ca_expiring),
		cmocka_unit_test(test_csr_pending),
		cmocka_unit_test(test_ec_key),
		cmocka_unit_test(test_unreadable_key),
		cmocka_unit_test(test_weak_crypto),
		cmocka_unit_test(test_split_verdicts),
		cmocka_unit_test(test_split_revoked_and_crl),
		cmocka_unit_test(test_crl_off_garbage),
		cmocka_unit_test(test_many_overrides),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_fresh_crl_unreachable),
		cmocka_unit_test(test_fresh_crl_no_client),
		cmocka_unit_test(test_big_crl),
		cmocka_unit_test(test_crl_tampered_entry),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
