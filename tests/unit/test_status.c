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

static struct fixture {
	char *tmp;		/* everything of this run */
	char *confdir;		/* holds a minimal puppet.conf */
	pki_world *w;
	pki_ca *other;		/* a CA the agent does not trust */
	EVP_PKEY *key;		/* the agent's RSA key */
	EVP_PKEY *other_key;	/* RSA, not the agent's */
	EVP_PKEY *ec_key;
} F;

static int
group_setup(void **state)
{
	static const char conf[] = "[main]\nserver = puppet.example.com\n"
	    "[agent]\nruninterval = 30m\n";
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
	ERR_clear_error();
	return F.other ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	pki_world_free(F.w);
	pki_ca_free(F.other);
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

static json_t *
collect(const char *ssldir, int warn_days)
{
	struct cr_status_opts o;
	json_t *j;
	cr_err e;

	memset(&o, 0, sizeof(o));
	o.confdir = F.confdir;
	o.ssldir = ssldir;
	o.certname = CERTNAME;
	o.warn_days = warn_days;
	o.now = T0;
	o.allow_exec = false;
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

static void
test_ok(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("ok", x, F.key), *want;
	json_t *j = collect(dir, -1), *hc, *ca, *crl, *files;

	(void)state;
	assert_health(j, "ok");
	assert_int_equal(json_array_size(json_object_get(j, "health_reasons")),
	    0);
	assert_string_equal(str_at(j, "certname"), CERTNAME);
	assert_string_equal(str_at(j, "ssldir"), dir);
	assert_string_equal(str_at(j, "checked_at"), "2026-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(j, "warn_days")),
	    30);
	assert_true(json_is_false(json_object_get(j, "csr_pending")));
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);

	hc = hostcert(j);
	assert_true(json_is_true(json_object_get(hc, "present")));
	assert_true(json_is_true(json_object_get(hc, "key_matches")));
	assert_true(json_is_true(json_object_get(hc, "chain_valid")));
	assert_true(json_is_false(json_object_get(hc, "revoked")));
	assert_null(json_object_get(hc, "verify_error"));
	assert_string_equal(str_at(hc, "subject"), "CN=" CERTNAME);
	assert_string_equal(str_at(json_object_get(hc, "key"), "type"), "RSA");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(hc,
	    "key"), "bits")), 2048);
	want = pki_path(dir, "certs/" CERTNAME ".pem");
	assert_string_equal(str_at(hc, "path"), want);
	free(want);

	/* ca.pem: intermediate first, then root */
	ca = json_object_get(j, "ca");
	assert_int_equal(json_array_size(ca), 2);
	assert_string_equal(str_at(json_array_get(ca, 0), "subject"),
	    "CN=Puppet CA: test");
	assert_string_equal(str_at(json_array_get(ca, 0), "issuer"),
	    "CN=Puppet Root CA: test");
	assert_string_equal(str_at(json_array_get(ca, 1), "subject"),
	    "CN=Puppet Root CA: test");
	/* crl.pem: one per CA, none revoked */
	crl = json_object_get(j, "crl");
	assert_int_equal(json_array_size(crl), 2);
	assert_string_equal(str_at(json_array_get(crl, 0), "issuer"),
	    "CN=Puppet CA: test");
	assert_string_equal(str_at(json_array_get(crl, 1), "issuer"),
	    "CN=Puppet Root CA: test");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(crl,
	    0), "revoked_count")), 0);

	files = json_object_get(j, "files");
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
	done(j, x, dir);
}

static void
test_expiring(void **state)
{
	X509 *x = leaf(F.key, 10 * PKI_DAY, 0, F.w->inter);
	char *dir = make_ssldir("expiring", x, F.key);
	json_t *j = collect(dir, -1);

	(void)state;
	assert_health(j, "expiring");
	assert_reason(j, "hostcert expires within warn_days");
	assert_int_equal(json_integer_value(json_object_get(hostcert(j),
	    "expires_in_days")), 10);
	json_decref(j);
	/* warn_days decides */
	j = collect(dir, 10);
	assert_health(j, "ok");
	json_decref(j);
	j = collect(dir, 11);
	assert_health(j, "expiring");
	done(j, x, dir);
}

static void
test_expired(void **state)
{
	X509 *x = leaf(F.key, -PKI_DAY, 0, F.w->inter);
	char *dir = make_ssldir("expired", x, F.key);
	json_t *j = collect(dir, -1), *hc = hostcert(j);

	(void)state;
	assert_health(j, "expired");
	assert_reason(j, "hostcert has expired");
	assert_int_equal(json_integer_value(json_object_get(hc,
	    "expires_in_days")), -1);
	assert_true(json_is_false(json_object_get(hc, "chain_valid")));
	assert_string_equal(str_at(hc, "verify_error"),
	    "certificate has expired");
	done(j, x, dir);
}

static void
test_revoked(void **state)
{
	uint64_t serials[] = { 4000, 4242, 4300 };
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 4242, F.w->inter);
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -PKI_DAY, PKI_YEAR,
	    serials, 3);
	X509_CRL *crls[2] = { crl, F.w->root_crl };
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	char *dir = ssldir_path("revoked");
	struct pki_ssldir s = {
		.certname = CERTNAME, .leaf = x, .key = F.key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};
	json_t *j, *hc;

	(void)state;
	assert_non_null(crl);
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	hc = hostcert(j);
	assert_health(j, "revoked");
	assert_reason(j, "hostcert is revoked by the local CRL");
	assert_true(json_is_true(json_object_get(hc, "revoked")));
	assert_true(json_is_false(json_object_get(hc, "chain_valid")));
	assert_string_equal(str_at(hc, "verify_error"), "certificate revoked");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "crl"), 0), "revoked_count")), 3);
	X509_CRL_free(crl);
	done(j, x, dir);
}

static void
test_crl_expired(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -60 * PKI_DAY,
	    -30 * PKI_DAY, NULL, 0);
	X509_CRL *crls[2] = { crl, F.w->root_crl };
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	char *dir = ssldir_path("crl_expired");
	struct pki_ssldir s = {
		.certname = CERTNAME, .leaf = x, .key = F.key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};
	json_t *j;

	(void)state;
	assert_non_null(crl);
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	/* Puppet refuses to connect with a stale CRL: not trusted */
	assert_health(j, "untrusted");
	assert_string_equal(str_at(hostcert(j), "verify_error"),
	    "CRL has expired");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "crl"), 0), "expires_in_days")), -30);
	X509_CRL_free(crl);
	done(j, x, dir);
}

static void
test_key_mismatch(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("mismatch", x, F.other_key);
	json_t *j = collect(dir, -1);

	(void)state;
	assert_health(j, "key_mismatch");
	assert_reason(j, "hostprivkey does not belong to hostcert");
	assert_true(json_is_false(json_object_get(hostcert(j), "key_matches")));
	assert_true(json_is_true(json_object_get(hostcert(j), "chain_valid")));
	done(j, x, dir);
}

static void
test_untrusted(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.other);
	char *dir = make_ssldir("untrusted", x, F.key);
	json_t *j = collect(dir, -1), *hc = hostcert(j);

	(void)state;
	assert_health(j, "untrusted");
	assert_reason(j,
	    "hostcert does not verify against the CA bundle and CRL");
	assert_true(json_is_false(json_object_get(hc, "chain_valid")));
	assert_string_equal(str_at(hc, "verify_error"),
	    "unable to get local issuer certificate");
	/* no CRL of its issuer: revocation unknown, not "false" */
	assert_true(json_is_null(json_object_get(hc, "revoked")));
	assert_string_equal(str_at(hc, "issuer"), "CN=Some Other CA");
	done(j, x, dir);
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
test_missing_key_only(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("nokey", x, NULL);
	json_t *j = collect(dir, -1);

	(void)state;
	assert_health(j, "missing");
	assert_reason(j, "hostprivkey is missing");
	assert_int_equal(json_array_size(json_object_get(j, "health_reasons")),
	    1);
	assert_true(json_is_null(json_object_get(hostcert(j), "key_matches")));
	assert_true(json_is_true(json_object_get(hostcert(j), "chain_valid")));
	done(j, x, dir);
}

static void
test_garbage_hostcert(void **state)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\n"
	    "bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("garbage", x, F.key), *path;
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
	assert_true(pki_write_certs(path, &x, 1));
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
	done(j, x, dir);
}

static void
test_ca_expiring(void **state)
{
	EVP_PKEY *k = pki_rsa_cached(1);
	pki_ca *inter = pki_ca_new("Puppet CA: test", k, F.w->root, T0,
	    -PKI_YEAR, 10 * PKI_DAY);
	X509 *x, *cas[2];
	X509_CRL *crl, *crls[2];
	struct pki_ssldir s = { .certname = CERTNAME, .key = F.key,
	    .n_cas = 2, .n_crls = 2 };
	char *dir = ssldir_path("ca_expiring");
	json_t *j;

	(void)state;
	assert_non_null(inter);
	x = leaf(F.key, 5 * PKI_YEAR, 0, inter);
	crl = pki_crl_new(inter, T0, -PKI_DAY, PKI_YEAR, NULL, 0);
	assert_non_null(crl);
	cas[0] = inter->cert;
	cas[1] = F.w->root->cert;
	crls[0] = crl;
	crls[1] = F.w->root_crl;
	s.leaf = x;
	s.cas = cas;
	s.crls = crls;
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_health(j, "expiring");
	assert_reason(j, "a CA certificate expires within warn_days");
	assert_int_equal(json_array_size(json_object_get(j, "health_reasons")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "ca"), 0), "expires_in_days")), 10);
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
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("unreadable", x, F.key), *key;
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
		done(NULL, x, dir);
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
		memset(&o, 0, sizeof(o));
		o.confdir = F.confdir;
		o.ssldir = dir;
		o.certname = CERTNAME;
		o.warn_days = -1;
		o.now = T0;
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
	done(NULL, x, dir);
}

static void
assert_str_at(json_t *j, const char *key, const char *want)
{
	const char *v = str_at(j, key);

	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s '%s', want '%s'", key, v ? v : "(null)", want);
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
	X509 *x;
	char *dir;
	json_t *j;

	(void)state;
	x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	dir = make_ssldir("v_ok", x, F.key);
	j = collect(dir, -1);
	assert_verdicts(j, "ok", "ok", "ok");
	json_decref(j);
	/* a CA inside warn_days: the CA's condition, not the host's */
	j = collect(dir, 3650);
	assert_verdicts(j, "expiring", "expiring", "expiring");
	done(j, x, dir);

	x = leaf(F.key, 10 * PKI_DAY, 0, F.w->inter);
	dir = make_ssldir("v_exp", x, F.key);
	j = collect(dir, -1);
	assert_verdicts(j, "expiring", "expiring", "ok");
	done(j, x, dir);

	x = leaf(F.key, -PKI_DAY, 0, F.w->inter);
	dir = make_ssldir("v_expired", x, F.key);
	j = collect(dir, -1);
	assert_verdicts(j, "expired", "expired", "ok");
	done(j, x, dir);

	x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	dir = make_ssldir("v_mismatch", x, F.other_key);
	j = collect(dir, -1);
	assert_verdicts(j, "key_mismatch", "key_mismatch", "ok");
	done(j, x, dir);

	x = leaf(F.key, 5 * PKI_YEAR, 0, F.other);
	dir = make_ssldir("v_untrusted", x, F.key);
	j = collect(dir, -1);
	assert_verdicts(j, "untrusted", "untrusted", "ok");
	done(j, x, dir);

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
	X509_CRL *crls[2] = { rev, F.w->root_crl };
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	struct pki_ssldir s = {
		.certname = CERTNAME, .leaf = x, .key = F.key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};
	char *dir = ssldir_path("v_revoked");
	json_t *j;

	(void)state;
	assert_non_null(rev);
	assert_non_null(old);
	assert_non_null(soon);
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_verdicts(j, "revoked", "revoked", "ok");
	json_decref(j);
	free(dir);
	X509_free(x);

	/* a stale CRL: the CA side is expired, the host cert is fine */
	x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	s.leaf = x;
	crls[0] = old;
	dir = ssldir_path("v_crl_old");
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_verdicts(j, "untrusted", "ok", "expired");
	assert_reason(j, "a CRL is past its nextUpdate");
	json_decref(j);
	free(dir);

	crls[0] = soon;
	dir = ssldir_path("v_crl_soon");
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_verdicts(j, "expiring", "ok", "expiring");
	assert_reason(j, "a CRL's nextUpdate is within warn_days");
	X509_CRL_free(rev);
	X509_CRL_free(old);
	X509_CRL_free(soon);
	done(j, x, dir);
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

	memset(&o, 0, sizeof(o));
	o.confdir = confdir;
	o.ssldir = ssldir;
	o.certname = CERTNAME;
	o.warn_days = -1;
	o.now = T0;
	o.overrides = overrides;
	return cr_status_collect(&o, e);
}

/* certificate_revocation = false: Puppet does not read crl.pem, so a
 * garbage one is reported but does not fail the verdict. */
static void
test_crl_off_garbage(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("crl_off", x, F.key);
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
	done(NULL, x, dir);
}

/* Every pair the caller gives counts: the last of 40 still applies. */
static void
test_many_overrides(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("overrides", x, F.key);
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
	done(NULL, x, dir);
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
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir, *path, *conf, name[32];
	json_t *j, *err0;
	cr_err e;
	size_t i;

	(void)state;
	alarm(20);	/* a hang kills the test run: SIGALRM */
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(name, sizeof(name), "fifo%zu", i);
		dir = make_ssldir(name, x, F.key);
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
	dir = make_ssldir("fifo_conf", x, F.key);
	cr_err_init(&e);
	j = collect_in(conf, dir, NULL, &e);
	assert_null(j);
	assert_non_null(strstr(e.msg, "FIFO"));
	cr_err_clear(&e);
	ERR_clear_error();
	alarm(0);
	free(path);
	free(conf);
	done(NULL, x, dir);
}

/* fresh_crl with the CA out of reach: the local CRL stays in use, said so,
 * with an errors entry and its next step; never "from the CA". */
static void
test_fresh_crl_unreachable(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("fresh_off", x, F.key);
	const char *pairs[] = { "ca_server", "127.0.0.1", "ca_port", "1",
	    NULL };
	struct cr_status_opts o;
	json_t *j, *e0;
	cr_err e;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.confdir = F.confdir;
	o.ssldir = dir;
	o.certname = CERTNAME;
	o.warn_days = -1;
	o.now = T0;
	o.overrides = pairs;
	cr_err_init(&e);
	j = collect_in(F.confdir, dir, NULL, &e);
	assert_non_null(j);
	assert_str_at(j, "crl_source", "local");
	json_decref(j);
	o.fresh_crl = true;
	o.fetch_crl = cr_status_fetch_crl;
	assert_non_null(j = cr_status_collect(&o, &e));
	assert_str_at(j, "crl_source", "local");
	e0 = json_array_get(json_object_get(j, "errors"), 0);
	assert_str_at(e0, "part", "crl_fresh");
	assert_str_at(e0, "kind", "cert_regen/ca-unreachable");
	assert_non_null(strstr(str_at(e0, "next_step"), "127.0.0.1:1"));
	assert_reason(j, "the CA's CRL could not be fetched: revocation is "
	    "judged on the local CRL");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	assert_int_equal(ERR_peek_error(), 0);
	done(j, x, dir);
}

/* fresh_crl in a build without an HTTP client (the fact's extension sets
 * no fetch_crl): an errors entry that names the task, the local CRL kept. */
static void
test_fresh_crl_no_client(void **state)
{
	X509 *x = leaf(F.key, 5 * PKI_YEAR, 0, F.w->inter);
	char *dir = make_ssldir("fresh_noclient", x, F.key);
	struct cr_status_opts o;
	json_t *j, *e0;
	cr_err e;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.confdir = F.confdir;
	o.ssldir = dir;
	o.certname = CERTNAME;
	o.warn_days = -1;
	o.now = T0;
	o.fresh_crl = true;
	cr_err_init(&e);
	assert_non_null(j = cr_status_collect(&o, &e));
	assert_str_at(j, "crl_source", "local");
	e0 = json_array_get(json_object_get(j, "errors"), 0);
	assert_str_at(e0, "part", "crl_fresh");
	assert_str_at(e0, "kind", "cert_regen/invalid-parameter");
	assert_non_null(strstr(str_at(e0, "msg"), "cert_regen::status task"));
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	done(j, x, dir);
}

/* The reduced CRL (cr_crl_fast.c) gives the full CRL's answers: a
 * 100,000-entry CRL, the host serial inside and outside it. */
static void
test_big_crl(void **state)
{
	X509_CRL *big = pki_crl_bulk_new(F.w->inter, T0, 1000, 100000);
	X509_CRL *crls[2] = { big, F.w->root_crl };
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	X509 *in = leaf(F.key, 5 * PKI_YEAR, 1000 + 54321, F.w->inter);
	X509 *out = leaf(F.key, 5 * PKI_YEAR, 1000 + 100000, F.w->inter);
	struct pki_ssldir s = {
		.certname = CERTNAME, .leaf = in, .key = F.key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};
	char *dir = ssldir_path("big_in");
	json_t *j, *c0;

	(void)state;
	assert_non_null(big);
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_verdicts(j, "revoked", "revoked", "ok");
	assert_string_equal(str_at(hostcert(j), "verify_error"),
	    "certificate revoked");
	c0 = json_array_get(json_object_get(j, "crl"), 0);
	assert_int_equal(json_integer_value(json_object_get(c0,
	    "revoked_count")), 100000);
	assert_non_null(str_at(c0, "crl_number"));
	json_decref(j);
	free(dir);

	s.leaf = out;
	dir = ssldir_path("big_out");
	assert_true(pki_ssldir_write(dir, &s));
	j = collect(dir, -1);
	assert_verdicts(j, "ok", "ok", "ok");
	assert_true(json_is_false(json_object_get(hostcert(j), "revoked")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "crl"), 0), "revoked_count")), 100000);
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
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	X509_CRL *crls[2];
	struct pki_ssldir s = {
		.certname = CERTNAME, .leaf = x, .key = F.key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};
	unsigned char *der = NULL, *hit;
	const unsigned char *p;
	static const unsigned char five_k[] = { 0x02, 0x02, 0x13, 0x88 };
	char *dir = ssldir_path("tampered");
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
	crls[0] = bad;
	crls[1] = F.w->root_crl;
	assert_true(pki_ssldir_write(dir, &s));
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
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_expiring),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_crl_expired),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_missing_key_only),
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
