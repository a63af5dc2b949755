/*
 * test_x509.c - cr_x509: parsing, describing, verifying, revocation, keys.
 *
 * Every call into cr_x509 is followed by QUEUE_EMPTY(): the core promises
 * to leave the OpenSSL error queue empty on success AND on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cr_x509.h"
#include "json_check.h"
#include "pki.h"

/* 2026-01-01T00:00:00Z */
#define T0 ((time_t)1767225600)

#define QUEUE_EMPTY() assert_int_equal(ERR_peek_error(), 0)

static const char *const leaf_dns[] = { "agent.example.com", "puppet", NULL };
static const char *const leaf_ip[] = { "192.0.2.10", "2001:db8::1", NULL };
static const unsigned char int42_der[] = { 0x02, 0x01, 0x2A };
static const struct pki_ext leaf_exts[] = {
	{ .oid = PKI_OID_PP_ROLE, .utf8 = "webserver" },
	{ .oid = PKI_OID_PP_ENVIRONMENT, .utf8 = "production" },
	{ .oid = "1.3.6.1.4.1.99999.7", .raw = int42_der, .raw_len = 3 },
	{ .oid = "1.3.6.1.4.1.99999.8", .utf8 = "caf\xC3\xA9" },
	{ .oid = NULL },
};

/* Shared by all tests of this file (built once: RSA keygen is slow). */
static struct fixture {
	pki_world *w;		/* root + intermediate, empty CRLs */
	pki_world *other;	/* an unrelated CA: "wrong CA" */
	EVP_PKEY *leaf_key;	/* RSA-2048 */
	EVP_PKEY *other_key;	/* RSA-2048, not the leaf's */
	EVP_PKEY *ec_key;
	X509 *leaf;		/* agent.example.com, SANs, pp_role, ... */
	char *dir;		/* temp dir for file-based readers */
} F;

static int
group_setup(void **state)
{
	struct pki_leaf_opts o;

	(void)state;
	F.w = pki_world_new(T0);
	F.leaf_key = pki_rsa_cached(2);
	F.other_key = pki_rsa_cached(3);
	F.ec_key = pki_ec_cached();
	F.dir = pki_tmpdir_new();
	if (F.w == NULL || F.leaf_key == NULL || F.other_key == NULL ||
	    F.ec_key == NULL || F.dir == NULL)
		return -1;
	/* the unrelated CA reuses cached keys but has its own names */
	F.other = calloc(1, sizeof(*F.other));
	if (F.other == NULL)
		return -1;
	F.other->now = T0;
	F.other->root = pki_ca_new("Other Root CA", F.w->root->key, NULL, T0,
	    -PKI_YEAR, 10 * PKI_YEAR);
	F.other->inter = F.other->root ? pki_ca_new("Other CA", F.other_key,
	    F.other->root, T0, -PKI_YEAR, 10 * PKI_YEAR) : NULL;
	if (F.other->inter == NULL)
		return -1;
	pki_leaf_opts_init(&o, "agent.example.com", F.leaf_key, T0);
	o.serial = 0xABCDEF1234ULL;
	o.not_after = 10 * PKI_DAY + 3600;
	o.dns = leaf_dns;
	o.ip = leaf_ip;
	o.exts = leaf_exts;
	if ((F.leaf = pki_leaf_new(&o, F.w->inter)) == NULL)
		return -1;
	ERR_clear_error();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	X509_free(F.leaf);
	pki_world_free(F.w);
	pki_world_free(F.other);
	EVP_PKEY_free(F.leaf_key);
	EVP_PKEY_free(F.other_key);
	EVP_PKEY_free(F.ec_key);
	pki_rmtree(F.dir);
	free(F.dir);
	pki_cleanup();
	return 0;
}

static X509 *
make_leaf(const char *cn, long long nb, long long na, uint64_t serial,
    const pki_ca *ca)
{
	struct pki_leaf_opts o;
	X509 *x;

	pki_leaf_opts_init(&o, cn, F.leaf_key, T0);
	o.not_before = nb;
	o.not_after = na;
	o.serial = serial;
	x = pki_leaf_new(&o, ca);
	assert_non_null(x);
	return x;
}

static STACK_OF(X509) *
bundle_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *s = sk_X509_new_null();

	assert_non_null(s);
	assert_true(sk_X509_push(s, a) > 0);
	if (b != NULL)
		assert_true(sk_X509_push(s, b) > 0);
	return s;
}

static STACK_OF(X509_CRL) *
crls_of(X509_CRL *a, X509_CRL *b)
{
	STACK_OF(X509_CRL) *s = sk_X509_CRL_new_null();

	assert_non_null(s);
	if (a != NULL)
		assert_true(sk_X509_CRL_push(s, a) > 0);
	if (b != NULL)
		assert_true(sk_X509_CRL_push(s, b) > 0);
	return s;
}

static char *
world_bundle_pem(size_t *len)
{
	X509 *cas[2] = { F.w->inter->cert, F.w->root->cert };
	char *pem = pki_certs_pem(cas, 2, len);

	assert_non_null(pem);
	return pem;
}

/* ------------------------------------------------------------ parsing -- */

/* New path of <F.dir>/<name>, written with the len bytes of data. */
static char *
written(const char *name, const char *data, size_t len)
{
	char *path = pki_path(F.dir, name);

	assert_non_null(path);
	assert_true(pki_write_file(path, data, len, 0644));
	return path;
}

static void
test_bundle_parse(void **state)
{
	STACK_OF(X509) *s;
	cr_err e;
	size_t len;
	char *pem = world_bundle_pem(&len), *path;

	(void)state;
	cr_err_init(&e);
	s = cr_certs_parse(pem, len, "ca.pem", &e);
	QUEUE_EMPTY();
	assert_non_null(s);
	assert_false(e.set);
	assert_int_equal(sk_X509_num(s), 2);
	assert_int_equal(X509_cmp(sk_X509_value(s, 0), F.w->inter->cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(s, 1), F.w->root->cert), 0);
	sk_X509_pop_free(s, X509_free);

	/* the same from a file, with text around the objects (as
	 * `openssl x509 -text` output has) */
	path = written("bundle.pem", pem, len);
	s = cr_certs_read(path, &e);
	QUEUE_EMPTY();
	assert_non_null(s);
	assert_int_equal(sk_X509_num(s), 2);
	sk_X509_pop_free(s, X509_free);
	free(path);
	free(pem);
	cr_err_clear(&e);
}

static char last_kind[CR_ERR_KIND_MAX];

/* Asserts a parse failure whose message carries OpenSSL's queue. */
static void
expect_cert_parse_error(const char *pem, size_t len, const char *want1,
    const char *want2)
{
	STACK_OF(X509) *s;
	cr_err e;

	cr_err_init(&e);
	s = cr_certs_parse(pem, len, "hostcert.pem", &e);
	QUEUE_EMPTY();
	assert_null(s);
	assert_true(e.set);
	assert_non_null(strstr(e.msg, "hostcert.pem"));
	if (want1 != NULL && strstr(e.msg, want1) == NULL)
		fail_msg("'%s' not in '%s'", want1, e.msg);
	if (want2 != NULL && strstr(e.msg, want2) == NULL)
		fail_msg("'%s' not in '%s'", want2, e.msg);
	snprintf(last_kind, sizeof(last_kind), "%s", e.kind);
	cr_err_clear(&e);
}

static void
test_parse_garbage(void **state)
{
	static const char garbage[] = "this is not a certificate\n\x01\x02\xff";
	static const char bad_b64[] =
	    "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n"
	    "-----END CERTIFICATE-----\n";

	(void)state;
	/* no PEM object at all: OpenSSL's "no start line" is in the message */
	expect_cert_parse_error(garbage, sizeof(garbage) - 1,
	    "no PEM certificate", "no start line");
	assert_string_equal(last_kind, CR_KIND_PARSE);
	/* a PEM block whose body is not base64 */
	expect_cert_parse_error(bad_b64, sizeof(bad_b64) - 1,
	    "certificate 1 is not valid PEM", "PEM routines");
	assert_string_equal(last_kind, CR_KIND_OPENSSL);
}

static void
test_parse_empty(void **state)
{
	(void)state;
	expect_cert_parse_error("", 0, "no PEM certificate", "no start line");
	assert_string_equal(last_kind, CR_KIND_PARSE);
	expect_cert_parse_error("\n\n", 2, "no PEM certificate",
	    "no start line");
}

/* The intermediate, then the root's DER cut in half inside valid PEM. */
static char *
truncated_der_bundle(size_t *len)
{
	unsigned char *der = NULL;
	int dlen = i2d_X509(F.w->root->cert, &der);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;

	assert_true(dlen > 0);
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, F.w->inter->cert), 1);
	assert_true(PEM_write_bio(bio, PEM_STRING_X509, "", der, dlen / 2) > 0);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	OPENSSL_free(der);
	return out;
}

static void
test_parse_truncated_second(void **state)
{
	size_t len, cut;
	char *pem = world_bundle_pem(&len), *second;

	(void)state;
	second = strstr(pem + 1, "-----BEGIN CERTIFICATE-----");
	assert_non_null(second);
	/* the second object stops in the middle: no END line */
	cut = (size_t)(second - pem) + 200;
	expect_cert_parse_error(pem, cut, "certificate 2 is not valid PEM",
	    "PEM routines");
	free(pem);

	/* well-formed PEM around half a DER certificate: ASN.1 errors,
	 * several entries on the queue, all of them in the message */
	pem = truncated_der_bundle(&len);
	expect_cert_parse_error(pem, len, "certificate 2 is not valid PEM",
	    "; ");
	free(pem);
}

static void
test_parse_crls(void **state)
{
	X509_CRL *two[2] = { F.w->inter_crl, F.w->root_crl };
	STACK_OF(X509_CRL) *s;
	cr_err e;
	size_t len;
	char *pem = pki_crls_pem(two, 2, &len), *path;

	(void)state;
	assert_non_null(pem);
	cr_err_init(&e);
	path = written("crl.pem", pem, len);
	s = cr_crls_read(path, &e);
	QUEUE_EMPTY();
	assert_non_null(s);
	assert_false(e.set);
	assert_int_equal(sk_X509_CRL_num(s), 2);
	sk_X509_CRL_pop_free(s, X509_CRL_free);

	s = cr_crls_parse("junk", 4, "crl.pem", &e);
	QUEUE_EMPTY();
	assert_null(s);
	assert_true(e.set);
	assert_non_null(strstr(e.msg, "no PEM CRL"));
	assert_non_null(strstr(e.msg, "no start line"));
	assert_string_equal(e.kind, CR_KIND_PARSE);
	cr_err_clear(&e);

	/* the second CRL loses its END line */
	pem[len - 100] = '\0';
	s = cr_crls_parse(pem, len - 100, "crl.pem", &e);
	QUEUE_EMPTY();
	assert_null(s);
	assert_true(e.set);
	assert_string_equal(e.kind, CR_KIND_OPENSSL);
	assert_non_null(strstr(e.msg, "CRL 2 is not valid PEM"));
	cr_err_clear(&e);
	free(path);
	free(pem);
}

static void
test_read_missing_file(void **state)
{
	STACK_OF(X509) *s;
	char *path = pki_path(F.dir, "nope.pem");
	cr_err e;

	(void)state;
	cr_err_init(&e);
	s = cr_certs_read(path, &e);
	QUEUE_EMPTY();
	assert_null(s);
	assert_err_missing(&e);
	free(path);
}

static void
test_key_read(void **state)
{
	char *path = pki_path(F.dir, "key.pem");
	EVP_PKEY *k;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_true(pki_write_key(path, F.leaf_key, 0640));
	k = cr_key_read(path, &e);
	QUEUE_EMPTY();
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_eq(k, F.leaf_key), 1);
	EVP_PKEY_free(k);

	assert_true(pki_write_key(path, F.ec_key, 0640));
	k = cr_key_read(path, &e);
	QUEUE_EMPTY();
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	EVP_PKEY_free(k);

	assert_true(pki_write_file(path, "-----BEGIN RSA PRIVATE KEY-----\n"
	    "AAAA\n-----END RSA PRIVATE KEY-----\n", 67, 0600));
	k = cr_key_read(path, &e);
	QUEUE_EMPTY();
	assert_null(k);
	assert_string_equal(e.kind, CR_KIND_OPENSSL);
	assert_non_null(strstr(e.msg, "not an unencrypted PEM private key"));
	cr_err_clear(&e);
	free(path);
}

/* --------------------------------------------------------- describing -- */

/* Upper-case colon hex of SHA-256(DER), computed here without cr_x509. */
static void
independent_fingerprint(X509 *x, char *out, size_t outlen)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int len = i2d_X509(x, &der);

	assert_true(len > 0);
	assert_int_equal(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL), 1);
	OPENSSL_free(der);
	assert_int_equal(mdlen, 32);
	assert_true(outlen >= 32 * 3);
	for (i = 0; i < mdlen; i++)
		snprintf(out + i * 3, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" :
		    "");
}

static void
assert_json_str(json_t *obj, const char *key, const char *want)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	assert_string_equal(json_string_value(v), want);
}

static void
test_cert_json_fields(void **state)
{
	json_t *j, *a, *ext;
	BIGNUM *bn;
	char *hex, fp[100];

	(void)state;
	j = cr_cert_json(F.leaf, T0);
	QUEUE_EMPTY();
	assert_non_null(j);
	assert_json_str(j, "subject", "CN=agent.example.com");
	assert_json_str(j, "issuer", "CN=Puppet CA: test");

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(F.leaf), NULL);
	hex = BN_bn2hex(bn);
	assert_json_str(j, "serial", hex);
	assert_json_str(j, "serial", "ABCDEF1234");
	OPENSSL_free(hex);
	BN_free(bn);

	assert_json_str(j, "not_before", "2025-12-31T00:00:00Z");
	assert_json_str(j, "not_after", "2026-01-11T01:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(j,
	    "expires_in_days")), 10);

	independent_fingerprint(F.leaf, fp, sizeof(fp));
	assert_json_str(j, "fingerprint_sha256", fp);

	assert_json_strings(json_object_get(j, "dns_alt_names"),
	    "agent.example.com", "puppet", NULL);
	assert_json_strings(json_object_get(j, "ip_alt_names"), "192.0.2.10",
	    "2001:db8::1", NULL);

	ext = json_object_get(j, "extensions");
	assert_json_str(ext, "pp_role", "webserver");
	assert_json_str(ext, "pp_environment", "production");
	assert_json_str(ext, "1.3.6.1.4.1.99999.7", "02012A");
	assert_json_str(ext, "1.3.6.1.4.1.99999.8", "caf\xC3\xA9");
	/* X.509 plumbing is not listed */
	assert_null(json_object_get(ext, "X509v3 Basic Constraints"));
	assert_null(json_object_get(ext, "2.5.29.19"));
	assert_null(json_object_get(ext, "2.5.29.14"));
	assert_int_equal(json_object_size(ext), 4);

	assert_json_str(j, "signature_algorithm", "sha256WithRSAEncryption");
	a = json_object_get(j, "key");
	assert_json_str(a, "type", "RSA");
	assert_int_equal(json_integer_value(json_object_get(a, "bits")), 2048);
	assert_null(json_object_get(a, "curve"));
	json_decref(j);
}

/* expires_in_days is floor((not_after - now) / 1 day), negative once past. */
static void
test_cert_json_expiry_floor(void **state)
{
	static const struct {
		long long now_off;	/* now relative to not_after */
		long long days;
	} cases[] = {
		{ -10 * PKI_DAY, 10 }, { -PKI_DAY - 1, 1 }, { -PKI_DAY, 1 },
		{ -PKI_DAY + 1, 0 }, { -1, 0 }, { 0, 0 }, { 1, -1 },
		{ PKI_DAY, -1 }, { PKI_DAY + 1, -2 }, { 400 * PKI_DAY, -400 },
	};
	time_t not_after = T0 + 10 * PKI_DAY + 3600;
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = cr_cert_json(F.leaf, not_after + cases[i].now_off);
		QUEUE_EMPTY();
		assert_non_null(j);
		if (json_integer_value(json_object_get(j, "expires_in_days")) !=
		    cases[i].days)
			fail_msg("case %zu: expires_in_days %lld, want %lld", i,
			    (long long)json_integer_value(json_object_get(j,
			    "expires_in_days")), cases[i].days);
		json_decref(j);
	}
}

static void
test_cert_json_ec_and_rsa4096(void **state)
{
	struct pki_leaf_opts o;
	EVP_PKEY *ca_ec = pki_key_new(PKI_EC_P256), *big;
	pki_ca *ec_ca;
	X509 *x;
	json_t *j, *k;
	clock_t c0 = clock();

	(void)state;
	/* an EC leaf signed by an EC CA */
	assert_non_null(ca_ec);
	ec_ca = pki_ca_new("EC CA", ca_ec, NULL, T0, -PKI_DAY, PKI_YEAR);
	assert_non_null(ec_ca);
	pki_leaf_opts_init(&o, "ec.example.com", F.ec_key, T0);
	x = pki_leaf_new(&o, ec_ca);
	assert_non_null(x);
	ERR_clear_error();
	j = cr_cert_json(x, T0);
	QUEUE_EMPTY();
	assert_json_str(j, "signature_algorithm", "ecdsa-with-SHA256");
	k = json_object_get(j, "key");
	assert_json_str(k, "type", "EC");
	assert_json_str(k, "curve", "prime256v1");
	assert_int_equal(json_integer_value(json_object_get(k, "bits")), 256);
	assert_int_equal(json_array_size(json_object_get(j, "dns_alt_names")),
	    0);
	assert_int_equal(json_object_size(json_object_get(j, "extensions")), 0);
	json_decref(j);
	X509_free(x);
	pki_ca_free(ec_ca);
	EVP_PKEY_free(ca_ec);

	/* Puppet's default key size (the one RSA-4096 key of this run) */
	big = pki_key_new(PKI_RSA4096);
	assert_non_null(big);
	k = cr_key_json(big);
	QUEUE_EMPTY();
	assert_json_str(k, "type", "RSA");
	assert_int_equal(json_integer_value(json_object_get(k, "bits")), 4096);
	json_decref(k);
	EVP_PKEY_free(big);
	fprintf(stderr, "# EC CA + leaf + RSA-4096 keygen: %.2f s CPU\n",
	    (double)(clock() - c0) / CLOCKS_PER_SEC);
}

static void
test_ca_and_crl_json(void **state)
{
	json_t *j;
	char fp[100];

	(void)state;
	j = cr_ca_json(F.w->root->cert, T0);
	QUEUE_EMPTY();
	assert_json_str(j, "subject", "CN=Puppet Root CA: test");
	assert_json_str(j, "issuer", "CN=Puppet Root CA: test");
	assert_json_str(j, "serial", "01");
	independent_fingerprint(F.w->root->cert, fp, sizeof(fp));
	assert_json_str(j, "fingerprint_sha256", fp);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "expires_in_days")), 14 * 365);
	json_decref(j);

	j = cr_crl_json(F.w->inter_crl, T0);
	QUEUE_EMPTY();
	assert_json_str(j, "issuer", "CN=Puppet CA: test");
	assert_json_str(j, "last_update", "2025-12-31T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(j,
	    "revoked_count")), 0);
	assert_json_str(j, "crl_number", "1");
	assert_int_equal(json_integer_value(json_object_get(j,
	    "expires_in_days")), 5 * 365);
	json_decref(j);
}

static void
test_puppet_oid_names(void **state)
{
	(void)state;
	assert_string_equal(cr_puppet_oid_name("1.3.6.1.4.1.34380.1.1.13"),
	    "pp_role");
	assert_string_equal(cr_puppet_oid_name("1.3.6.1.4.1.34380.1.3.39"),
	    "pp_cli_auth");
	assert_null(cr_puppet_oid_name("1.3.6.1.4.1.34380.1.1.130"));
	assert_string_equal(cr_puppet_oid_number("pp_role"),
	    "1.3.6.1.4.1.34380.1.1.13");
	assert_null(cr_puppet_oid_number("pp_nope"));
}

/* --------------------------------------------------------- verifying -- */

/* cr_verify_chain with the world's bundle; returns rc, *why as given. */
static int
verify(X509 *leaf, X509_CRL *c1, X509_CRL *c2, bool with_crls,
    const char **why)
{
	STACK_OF(X509) *b = bundle_of(F.w->inter->cert, F.w->root->cert);
	STACK_OF(X509_CRL) *c = with_crls ? crls_of(c1, c2) : NULL;
	cr_err e;
	int rc;

	cr_err_init(&e);
	rc = cr_verify_chain(leaf, b, c, CR_CRL_CHAIN, T0, why, &e);
	QUEUE_EMPTY();
	assert_false(e.set);
	sk_X509_free(b);
	sk_X509_CRL_free(c);
	cr_err_clear(&e);
	return rc;
}

static void
expect_invalid(X509 *leaf, X509_CRL *c1, X509_CRL *c2, bool with_crls,
    const char *want)
{
	const char *why = NULL;
	int rc = verify(leaf, c1, c2, with_crls, &why);

	assert_int_equal(rc, 0);
	assert_non_null(why);
	if (strcmp(why, want) != 0)
		fail_msg("why: '%s', want '%s'", why, want);
}

/* certificate_revocation = leaf needs only the leaf issuer's CRL; chain
 * needs one per CA; false checks none. */
static void
test_verify_crl_modes(void **state)
{
	STACK_OF(X509) *b = bundle_of(F.w->inter->cert, F.w->root->cert);
	STACK_OF(X509_CRL) *only_inter = crls_of(F.w->inter_crl, NULL);
	const char *why = NULL;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_int_equal(cr_crl_mode_parse("leaf"), CR_CRL_LEAF);
	assert_int_equal(cr_crl_mode_parse("false"), CR_CRL_OFF);
	assert_int_equal(cr_crl_mode_parse("chain"), CR_CRL_CHAIN);
	assert_int_equal(cr_crl_mode_parse(NULL), CR_CRL_CHAIN);
	assert_int_equal(cr_verify_chain(F.leaf, b, only_inter, CR_CRL_LEAF,
	    T0, &why, &e), 1);
	assert_int_equal(cr_verify_chain(F.leaf, b, only_inter, CR_CRL_CHAIN,
	    T0, &why, &e), 0);
	assert_string_equal(why, "unable to get certificate CRL");
	assert_int_equal(cr_verify_chain(F.leaf, b, only_inter, CR_CRL_OFF,
	    T0, &why, &e), 1);
	QUEUE_EMPTY();
	assert_false(e.set);
	sk_X509_free(b);
	sk_X509_CRL_free(only_inter);
	cr_err_clear(&e);
}

static void
test_verify_valid(void **state)
{
	const char *why = "unset";

	(void)state;
	assert_int_equal(verify(F.leaf, F.w->inter_crl, F.w->root_crl, true,
	    &why), 1);
	assert_null(why);
	assert_int_equal(verify(F.leaf, NULL, NULL, false, &why), 1);
	assert_int_equal(verify(F.leaf, NULL, NULL, true, &why), 1);
	/* the CA certs themselves */
	assert_int_equal(verify(F.w->inter->cert, F.w->inter_crl,
	    F.w->root_crl, true, &why), 1);
}

static void
test_verify_wrong_ca(void **state)
{
	X509 *x = make_leaf("stray.example.com", -PKI_DAY, PKI_YEAR, 0,
	    F.other->inter);

	(void)state;
	expect_invalid(x, F.w->inter_crl, F.w->root_crl, true,
	    "unable to get local issuer certificate");
	expect_invalid(x, NULL, NULL, false,
	    "unable to get local issuer certificate");
	X509_free(x);
}

static void
test_verify_dates(void **state)
{
	X509 *old = make_leaf("old.example.com", -2 * PKI_YEAR, -PKI_DAY, 0,
	    F.w->inter);
	X509 *early = make_leaf("early.example.com", PKI_DAY, PKI_YEAR, 0,
	    F.w->inter);

	(void)state;
	expect_invalid(old, F.w->inter_crl, F.w->root_crl, true,
	    "certificate has expired");
	expect_invalid(early, F.w->inter_crl, F.w->root_crl, true,
	    "certificate is not yet valid");
	X509_free(old);
	X509_free(early);
}

static void
test_verify_revoked(void **state)
{
	uint64_t serials[] = { 77, 0xABCDEF1234ULL, 5 };
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -PKI_DAY, PKI_YEAR,
	    serials, 3);
	X509 *other = make_leaf("fine.example.com", -PKI_DAY, PKI_YEAR, 78,
	    F.w->inter);

	(void)state;
	assert_non_null(crl);
	expect_invalid(F.leaf, crl, F.w->root_crl, true, "certificate revoked");
	/* no revocation checking without CRLs */
	assert_int_equal(verify(F.leaf, NULL, NULL, false, &(const char *){0}),
	    1);
	assert_int_equal(verify(other, crl, F.w->root_crl, true,
	    &(const char *){0}), 1);
	X509_CRL_free(crl);
	X509_free(other);
}

static void
test_verify_crl_problems(void **state)
{
	X509_CRL *stale = pki_crl_new(F.w->inter, T0, -60 * PKI_DAY,
	    -30 * PKI_DAY, NULL, 0);
	X509_CRL *future = pki_crl_new(F.w->inter, T0, PKI_DAY, PKI_YEAR,
	    NULL, 0);

	(void)state;
	assert_non_null(stale);
	assert_non_null(future);
	expect_invalid(F.leaf, stale, F.w->root_crl, true, "CRL has expired");
	expect_invalid(F.leaf, future, F.w->root_crl, true,
	    "CRL is not yet valid");
	/* certificate_revocation = chain: every CA needs its CRL */
	expect_invalid(F.leaf, F.w->inter_crl, NULL, true,
	    "unable to get certificate CRL");
	X509_CRL_free(stale);
	X509_CRL_free(future);
}

static void
test_revoked_by(void **state)
{
	uint64_t serials[] = { 0xABCDEF1234ULL };
	X509_CRL *crl = pki_crl_new(F.w->inter, T0, -PKI_DAY, PKI_YEAR,
	    serials, 1);
	STACK_OF(X509_CRL) *s;

	(void)state;
	assert_non_null(crl);
	s = crls_of(F.w->root_crl, crl);
	assert_int_equal(cr_revoked_by(F.leaf, s), 1);
	QUEUE_EMPTY();
	sk_X509_CRL_free(s);

	s = crls_of(F.w->inter_crl, F.w->root_crl);
	assert_int_equal(cr_revoked_by(F.leaf, s), 0);
	QUEUE_EMPTY();
	sk_X509_CRL_free(s);

	/* no CRL of the leaf's issuer */
	s = crls_of(F.w->root_crl, NULL);
	assert_int_equal(cr_revoked_by(F.leaf, s), -1);
	QUEUE_EMPTY();
	sk_X509_CRL_free(s);
	assert_int_equal(cr_revoked_by(F.leaf, NULL), -1);
	QUEUE_EMPTY();
	X509_CRL_free(crl);
}

static void
test_key_matches(void **state)
{
	(void)state;
	assert_int_equal(cr_key_matches(F.leaf, F.leaf_key), 1);
	QUEUE_EMPTY();
	assert_int_equal(cr_key_matches(F.leaf, F.other_key), 0);
	QUEUE_EMPTY();
	assert_int_equal(cr_key_matches(F.leaf, F.ec_key), 0);
	QUEUE_EMPTY();
	assert_int_equal(cr_key_matches(F.w->root->cert, F.w->root->key), 1);
	QUEUE_EMPTY();
}

/* ------------------------------------------------------------ helpers -- */

static void
test_days_until(void **state)
{
	const long long d = 86400;

	(void)state;
	assert_int_equal(cr_days_until(T0, T0), 0);
	assert_int_equal(cr_days_until(T0 + 1, T0), 0);
	assert_int_equal(cr_days_until(T0 + d - 1, T0), 0);
	assert_int_equal(cr_days_until(T0 + d, T0), 1);
	assert_int_equal(cr_days_until(T0 + 30 * d - 1, T0), 29);
	assert_int_equal(cr_days_until(T0 - 1, T0), -1);
	assert_int_equal(cr_days_until(T0 - d, T0), -1);
	assert_int_equal(cr_days_until(T0 - d - 1, T0), -2);
	assert_int_equal(cr_days_until(0, T0), -20454);
	assert_int_equal(cr_days_until(T0, 0), 20454);
	/* 2038 and beyond (time_t is 64-bit here) */
	assert_int_equal(cr_days_until((time_t)4102444800LL, T0), 27028);
}

static void
test_hex_colon(void **state)
{
	static const unsigned char b[] = { 0x00, 0xAB, 0x0f, 0xff };
	char *s;

	(void)state;
	s = cr_hex_colon(b, 4);
	assert_string_equal(s, "00:AB:0F:FF");
	free(s);
	s = cr_hex_colon(b + 3, 1);
	assert_string_equal(s, "FF");
	free(s);
	s = cr_hex_colon(b, 0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_iso8601(void **state)
{
	char buf[21];
	ASN1_TIME *t = ASN1_TIME_new();
	time_t back = 0;

	(void)state;
	cr_iso8601(T0, buf);
	assert_string_equal(buf, "2026-01-01T00:00:00Z");
	cr_iso8601(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* GeneralizedTime past 2049 round-trips */
	assert_non_null(ASN1_TIME_set(t, (time_t)2556143999LL));
	assert_true(cr_asn1_time_epoch(t, &back));
	assert_int_equal(back, 2556143999LL);
	cr_iso8601(back, buf);
	assert_string_equal(buf, "2050-12-31T23:59:59Z");
	ASN1_TIME_free(t);
	assert_false(cr_asn1_time_epoch(NULL, &back));
	QUEUE_EMPTY();
}

/* ------------------------------------------------------- a large CRL -- */

static double
since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
test_crl_100k(void **state)
{
	const size_t n = 100000;
	const uint64_t first = 1000;
	struct timespec t0;
	X509_CRL *big;
	STACK_OF(X509_CRL) *s;
	X509 *in, *out;
	json_t *j;
	cr_err e;
	size_t len;
	char *pem;
	double gen, parse, look1, look2;

	(void)state;
	cr_err_init(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	big = pki_crl_bulk_new(F.w->inter, T0, first, n);
	assert_non_null(big);
	pem = pki_crls_pem(&big, 1, &len);
	assert_non_null(pem);
	X509_CRL_free(big);
	gen = since(&t0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = cr_crls_parse(pem, len, "crl.pem", &e);
	parse = since(&t0);
	QUEUE_EMPTY();
	assert_non_null(s);
	assert_int_equal(sk_X509_CRL_num(s), 1);
	j = cr_crl_json(sk_X509_CRL_value(s, 0), T0);
	QUEUE_EMPTY();
	assert_int_equal(json_integer_value(json_object_get(j,
	    "revoked_count")), (json_int_t)n);
	json_decref(j);

	in = make_leaf("in.example.com", -PKI_DAY, PKI_YEAR, first + 54321,
	    F.w->inter);
	out = make_leaf("out.example.com", -PKI_DAY, PKI_YEAR, first + n,
	    F.w->inter);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cr_revoked_by(in, s), 1);	/* sorts once */
	look1 = since(&t0);
	QUEUE_EMPTY();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cr_revoked_by(out, s), 0);
	look2 = since(&t0);
	QUEUE_EMPTY();
	fprintf(stderr, "# CRL with %zu entries: %zu bytes PEM; generate+PEM "
	    "%.3f s, cr_crls_parse %.3f s, first lookup %.4f s, next lookup "
	    "%.6f s\n", n, len, gen, parse, look1, look2);
	X509_free(in);
	X509_free(out);
	sk_X509_CRL_pop_free(s, X509_CRL_free);
	free(pem);
	cr_err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_parse),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_truncated_second),
		cmocka_unit_test(test_parse_crls),
		cmocka_unit_test(test_read_missing_file),
		cmocka_unit_test(test_key_read),
		cmocka_unit_test(test_cert_json_fields),
		cmocka_unit_test(test_cert_json_expiry_floor),
		cmocka_unit_test(test_cert_json_ec_and_rsa4096),
		cmocka_unit_test(test_ca_and_crl_json),
		cmocka_unit_test(test_puppet_oid_names),
		cmocka_unit_test(test_verify_valid),
		cmocka_unit_test(test_verify_crl_modes),
		cmocka_unit_test(test_verify_wrong_ca),
		cmocka_unit_test(test_verify_dates),
		cmocka_unit_test(test_verify_revoked),
		cmocka_unit_test(test_verify_crl_problems),
		cmocka_unit_test(test_revoked_by),
		cmocka_unit_test(test_key_matches),
		cmocka_unit_test(test_days_until),
		cmocka_unit_test(test_hex_colon),
		cmocka_unit_test(test_iso8601),
		cmocka_unit_test(test_crl_100k),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
