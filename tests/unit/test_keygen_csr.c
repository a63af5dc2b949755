/*
 * test_keygen_csr.c - cr_keygen (keys, key files) and cr_csr (Puppet-style
 * CSRs), checked with OpenSSL's own APIs.
 *
 * With CR_EXPORT_DIR set, test_export also writes rsa.key/rsa.csr and
 * ec.key/ec.csr there for tests/integration/test_csr_puppet.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cr_csr.h"
#include "cr_fs.h"
#include "cr_keygen.h"
#include "cr_x509.h"
#include "json_check.h"
#include "pki.h"
#include "slurp.h"

#define QUEUE_EMPTY() assert_int_equal(ERR_peek_error(), 0)

/* New path in the test directory. */
static char *
tpath(const char *name)
{
	char *p = pki_path(pki_dir, name);

	assert_non_null(p);
	return p;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- keys ------------------------------------------------------------- */

static void
check_key_file(const char *path, EVP_PKEY *key, mode_t mode,
    const char *header)
{
	EVP_PKEY *back;
	char *pem;
	cr_err e;

	cr_err_init(&e);
	assert_int_equal(mode_of(path), S_IFREG | mode);
	pem = slurp(path);
	assert_true(starts_with(pem, header));
	free(pem);
	back = cr_key_read(path, &e);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, key), 1);
	EVP_PKEY_free(back);
	QUEUE_EMPTY();
	cr_err_clear(&e);
}

static void
test_rsa_key(void **state)
{
	EVP_PKEY *key, *pub;
	char *path = tpath("rsa.pem"), *pubpath = tpath("rsa.pub.pem");
	json_t *j;
	FILE *f;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	key = cr_key_generate("rsa", 2048, NULL, &e);
	assert_non_null(key);
	QUEUE_EMPTY();
	j = cr_key_json(key);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "RSA");
	assert_int_equal(json_integer_value(json_object_get(j, "bits")), 2048);
	json_decref(j);
	assert_true(cr_key_write_new(path, key, 0640, &e));
	QUEUE_EMPTY();
	/* Puppet's key.to_pem for RSA: the traditional format */
	check_key_file(path, key, 0640, "-----BEGIN RSA PRIVATE KEY-----\n");

	/* public key: SubjectPublicKeyInfo, atomic, replaces */
	assert_true(pki_write_file(pubpath, "old", 3, 0600));
	assert_true(cr_pubkey_write(pubpath, key, 0644, (uid_t)-1, (gid_t)-1,
	    &e));
	assert_int_equal(mode_of(pubpath), S_IFREG | 0644);
	assert_non_null(f = fopen(pubpath, "r"));
	assert_non_null(pub = PEM_read_PUBKEY(f, NULL, NULL, NULL));
	fclose(f);
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	EVP_PKEY_free(pub);
	QUEUE_EMPTY();
	assert_false(e.set);
	EVP_PKEY_free(key);
	free(path);
	free(pubpath);
	cr_err_clear(&e);
}

static void
test_ec_keys(void **state)
{
	static const struct {
		const char *curve, *group;
		int bits;
	} cases[] = {
		{ "prime256v1", "prime256v1", 256 },
		{ NULL, "prime256v1", 256 },	/* Puppet's default */
		{ "secp384r1", "secp384r1", 384 },
		{ "P-384", "secp384r1", 384 },
		{ "secp256r1", "prime256v1", 256 },	/* RFC 8422's name */
		{ "P-256", "prime256v1", 256 },
		{ "secp521r1", "secp521r1", 521 },
	};
	size_t i;
	char name[32], *path;
	EVP_PKEY *key;
	json_t *j;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_err_init(&e);
		key = cr_key_generate("ec", 0, cases[i].curve, &e);
		assert_non_null(key);
		j = cr_key_json(key);
		assert_string_equal(json_string_value(json_object_get(j,
		    "curve")), cases[i].group);
		assert_int_equal(json_integer_value(json_object_get(j, "bits")),
		    cases[i].bits);
		json_decref(j);
		snprintf(name, sizeof(name), "ec%zu.pem", i);
		path = tpath(name);
		assert_true(cr_key_write_new(path, key, 0600, &e));
		check_key_file(path, key, 0600,
		    "-----BEGIN EC PRIVATE KEY-----\n");
		QUEUE_EMPTY();
		EVP_PKEY_free(key);
		free(path);
		cr_err_clear(&e);
	}
}

/* What a rerun compares with the staged key (issue 10 #2). */
static void
test_key_fits(void **state)
{
	EVP_PKEY *ec = pki_ec_cached(), *rsa;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_non_null(rsa = cr_key_generate("rsa", 2048, NULL, &e));
	assert_true(cr_key_fits(rsa, NULL, 0, NULL));
	assert_true(cr_key_fits(rsa, "rsa", 2048, NULL));
	assert_true(cr_key_fits(rsa, "rsa", 0, "secp384r1"));
	assert_false(cr_key_fits(rsa, "rsa", 4096, NULL));
	assert_false(cr_key_fits(rsa, "ec", 0, NULL));
	assert_true(cr_key_fits(ec, "ec", 4096, "prime256v1"));
	assert_true(cr_key_fits(ec, "ec", 0, "secp256r1"));
	assert_true(cr_key_fits(ec, NULL, 0, "P-256"));
	assert_false(cr_key_fits(ec, "ec", 0, "secp384r1"));
	assert_false(cr_key_fits(ec, "rsa", 2048, NULL));
	QUEUE_EMPTY();
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	cr_err_clear(&e);
}

static void
test_keygen_invalid(void **state)
{
	static const struct {
		const char *type;
		int bits;
		const char *curve;
	} cases[] = {
		{ "rsa", 1024, NULL }, { "rsa", 2047, NULL },
		{ "rsa", 16385, NULL }, { "rsa", -1, NULL },
		{ "dsa", 2048, NULL }, { "RSA", 2048, NULL }, { NULL, 2048, NULL },
		{ "ec", 0, "nope" }, { "ec", 0, "" }, { "ec", 0, "rsaEncryption" },
		/* curves OpenSSL has but TLS on one end refuses (issue 10 #1):
		 * 112 bits is under OpenSSL's default security level, the
		 * others are not in puppetserver's JVM */
		{ "ec", 0, "secp112r1" }, { "ec", 0, "secp160r1" },
		{ "ec", 0, "secp256k1" }, { "ec", 0, "brainpoolP256r1" },
		{ "ec", 0, "prime192v1" }, { "ec", 0, "secp224r1" },
	};
	size_t i;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_err_init(&e);
		assert_false(cr_key_params_check(cases[i].type, cases[i].bits,
		    cases[i].curve, &e));
		assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
		cr_err_clear(&e);
		assert_null(cr_key_generate(cases[i].type, cases[i].bits,
		    cases[i].curve, &e));
		assert_true(e.set);
		assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
		QUEUE_EMPTY();
		cr_err_clear(&e);
	}
}

static void
test_key_write_refusals(void **state)
{
	EVP_PKEY *key = pki_ec_cached();
	char *old = tpath("existing.pem"), *victim = tpath("victim.pem");
	char *link = tpath("planted.pem"), *dangling = tpath("dangling.pem");
	char *nowhere = tpath("nowhere.pem"), *bad = tpath("badmode.pem");
	char *buf;
	cr_err e;

	(void)state;
	/* an existing file is never overwritten */
	cr_err_init(&e);
	assert_true(pki_write_file(old, "old key", 7, 0600));
	assert_false(cr_key_write_new(old, key, 0600, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_int_equal(json_integer_value(json_object_get(e.details,
	    "errno")), EEXIST);
	buf = slurp(old);
	assert_string_equal(buf, "old key");
	free(buf);
	cr_err_clear(&e);

	/* a planted symlink is not followed: its target stays as it was */
	assert_true(pki_write_file(victim, "victim", 6, 0644));
	assert_int_equal(symlink(victim, link), 0);
	assert_false(cr_key_write_new(link, key, 0640, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	buf = slurp(victim);
	assert_string_equal(buf, "victim");
	free(buf);
	assert_int_equal(mode_of(victim), S_IFREG | 0644);
	assert_true(S_ISLNK(mode_of(link)));
	cr_err_clear(&e);

	/* nor a dangling one: nothing is created at its target */
	assert_int_equal(symlink(nowhere, dangling), 0);
	assert_false(cr_key_write_new(dangling, key, 0600, &e));
	assert_int_equal(cr_path_exists(nowhere), 0);
	cr_err_clear(&e);

	/* a mode that would expose the key is refused before creating */
	assert_false(cr_key_write_new(bad, key, 0644, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	assert_int_equal(cr_path_exists(bad), 0);
	cr_err_clear(&e);
	assert_false(cr_key_write_new(bad, key, 0700, &e));
	assert_int_equal(cr_path_exists(bad), 0);
	cr_err_clear(&e);

	/* missing directory */
	assert_false(cr_key_write_new("/nonexistent-cr/k.pem", key, 0600, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	QUEUE_EMPTY();
	cr_err_clear(&e);
	EVP_PKEY_free(key);
	free(old);
	free(victim);
	free(link);
	free(dangling);
	free(nowhere);
	free(bad);
}

/* ---- CSRs ------------------------------------------------------------- */

static const char *const full_dns[] = {
	"puppet", "DNS:puppet.example.com", "IP:192.0.2.99", NULL
};
static const char *const full_ip[] = { "192.0.2.10", "2001:db8::1", NULL };

static json_t *
full_attributes(void)
{
	json_t *a = json_pack("{s:{s:s, s:s, s:I}, s:{s:s, s:s}}",
	    "extension_requests",
	    "pp_role", "webserver",
	    "1.3.6.1.4.1.34380.1.2.1", "caf\xC3\xA9",
	    "pp_cost_center", (json_int_t)42,
	    "custom_attributes",
	    "1.2.840.113549.1.9.7", "s3cr3t",
	    "1.2.3.4.5", "x@y");

	assert_non_null(a);
	return a;
}

static X509_REQ *
make_csr(EVP_PKEY *key, const char *const *dns, const char *const *ip,
    json_t *attrs)
{
	struct cr_csr_spec spec = {
		.certname = "agent.example.com", .dns_alt_names = dns,
		.ip_alt_names = ip, .attributes = attrs, .key = key,
	};
	X509_REQ *req;
	cr_err e;

	cr_err_init(&e);
	req = cr_csr_new(&spec, &e);
	if (req == NULL)
		fail_msg("cr_csr_new: %s", e.msg);
	QUEUE_EMPTY();
	cr_err_clear(&e);
	return req;
}

/* The extension's value is exactly DER UTF8String(text). */
static void
assert_utf8_ext(X509_EXTENSION *ext, const char *oid, const char *text)
{
	char buf[128];
	const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(d);
	size_t n = strlen(text);

	OBJ_obj2txt(buf, sizeof(buf), X509_EXTENSION_get_object(ext), 1);
	assert_string_equal(buf, oid);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 0);
	assert_int_equal(ASN1_STRING_length(d), (int)(2 + n));
	assert_int_equal(p[0], V_ASN1_UTF8STRING);
	assert_int_equal(p[1], n);
	assert_memory_equal(p + 2, text, n);
}

static const ASN1_STRING *
attr_string(X509_REQ *req, const char *oid, int type)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int i = X509_REQ_get_attr_by_OBJ(req, obj, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;

	ASN1_OBJECT_free(obj);
	assert_true(i >= 0);
	a = X509_REQ_get_attr(req, i);
	assert_int_equal(X509_ATTRIBUTE_count(a), 1);
	t = X509_ATTRIBUTE_get0_type(a, 0);
	assert_int_equal(t->type, type);
	return t->value.asn1_string;
}

static void
test_csr_fields(void **state)
{
	EVP_PKEY *key = pki_rsa_cached(0);
	json_t *attrs = full_attributes(), *j, *a;
	X509_REQ *req = make_csr(key, full_dns, full_ip, attrs);
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	const ASN1_STRING *s;
	const X509_NAME *subj;
	char *fp;
	int i;
	static const char *const want_san[] = {
		"DNS:agent.example.com", "DNS:puppet", "DNS:puppet.example.com",
		"IP:192.0.2.10", "IP:192.0.2.99", "IP:2001:db8::1",
	};

	(void)state;
	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_REQ_get_version(req), 0);
	assert_int_equal(X509_REQ_get_signature_nid(req),
	    NID_sha256WithRSAEncryption);
	/* subject: exactly one CN, a UTF8String, as Ruby's Name.new */
	subj = X509_REQ_get_subject_name(req);
	assert_int_equal(X509_NAME_entry_count(subj), 1);
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, 0));
	assert_int_equal(ASN1_STRING_type(s), V_ASN1_UTF8STRING);
	assert_memory_equal(ASN1_STRING_get0_data(s), "agent.example.com", 17);

	/* extReq: the requests in order, then the SAN */
	exts = X509_REQ_get_extensions(req);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 4);
	assert_utf8_ext(sk_X509_EXTENSION_value(exts, 0), PKI_OID_PP_ROLE,
	    "webserver");
	assert_utf8_ext(sk_X509_EXTENSION_value(exts, 1),
	    "1.3.6.1.4.1.34380.1.2.1", "caf\xC3\xA9");
	assert_utf8_ext(sk_X509_EXTENSION_value(exts, 2),
	    "1.3.6.1.4.1.34380.1.1.5", "42");
	assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(
	    sk_X509_EXTENSION_value(exts, 3))), NID_subject_alt_name);
	assert_int_equal(X509_EXTENSION_get_critical(
	    sk_X509_EXTENSION_value(exts, 3)), 0);
	/* Puppet: alt names + certname, "DNS:"/"IP:" strings sorted, uniq */
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 6);
	for (i = 0; i < 6; i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		char text[80];
		if (gn->type == GEN_DNS)
			snprintf(text, sizeof(text), "DNS:%.*s",
			    ASN1_STRING_length(gn->d.dNSName),
			    (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
		else {
			ASN1_STRING *ip = gn->d.iPAddress;
			char t[INET6_ADDRSTRLEN];
			assert_int_equal(gn->type, GEN_IPADD);
			assert_non_null(inet_ntop(ASN1_STRING_length(ip) == 4 ?
			    AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), t,
			    sizeof(t)));
			snprintf(text, sizeof(text), "IP:%s", t);
		}
		assert_string_equal(text, want_san[i]);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

	/* custom attributes: PrintableString as Puppet, UTF8String when the
	 * value is outside PrintableString's alphabet */
	s = attr_string(req, "1.2.840.113549.1.9.7", V_ASN1_PRINTABLESTRING);
	assert_int_equal(ASN1_STRING_length(s), 6);
	assert_memory_equal(ASN1_STRING_get0_data(s), "s3cr3t", 6);
	assert_true(X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword,
	    -1) >= 0);
	s = attr_string(req, "1.2.3.4.5", V_ASN1_UTF8STRING);
	assert_memory_equal(ASN1_STRING_get0_data(s), "x@y", 3);

	/* the description */
	j = cr_csr_json(req);
	QUEUE_EMPTY();
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "subject")),
	    "CN=agent.example.com");
	assert_string_equal(json_string_value(json_object_get(j, "certname")),
	    "agent.example.com");
	assert_json_strings(json_object_get(j, "dns_alt_names"),
	    "agent.example.com", "puppet", "puppet.example.com", NULL);
	assert_json_strings(json_object_get(j, "ip_alt_names"), "192.0.2.10",
	    "192.0.2.99", "2001:db8::1", NULL);
	a = json_object_get(j, "extension_requests");
	assert_int_equal(json_object_size(a), 3);
	assert_string_equal(json_string_value(json_object_get(a, "pp_role")),
	    "webserver");
	assert_string_equal(json_string_value(json_object_get(a,
	    "pp_cost_center")), "42");
	assert_string_equal(json_string_value(json_object_get(a,
	    "1.3.6.1.4.1.34380.1.2.1")), "caf\xC3\xA9");
	a = json_object_get(j, "custom_attributes");
	assert_int_equal(json_object_size(a), 2);
	assert_string_equal(json_string_value(json_object_get(a,
	    "1.2.840.113549.1.9.7")), "(redacted)");
	assert_string_equal(json_string_value(json_object_get(a,
	    "1.2.3.4.5")), "x@y");
	assert_true(json_is_true(json_object_get(j, "signature_valid")));
	assert_string_equal(json_string_value(json_object_get(j,
	    "signature_algorithm")), "sha256WithRSAEncryption");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "key"), "type")), "RSA");
	fp = cr_fingerprint_req(req, EVP_sha256());
	assert_string_equal(json_string_value(json_object_get(j,
	    "fingerprint_sha256")), fp);
	free(fp);
	json_decref(j);
	json_decref(attrs);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

static void
test_csr_minimal(void **state)
{
	EVP_PKEY *key = pki_ec_cached();
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	json_t *attrs, *j;
	static const char *const none[] = { NULL };
	static const char *const only_ip[] = { "192.0.2.1", NULL };

	(void)state;
	/* no alt names, no attributes: no SAN, no extReq attribute at all */
	req = make_csr(key, none, NULL, NULL);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_REQ_get_attr_count(req), 0);
	j = cr_csr_json(req);
	assert_int_equal(json_array_size(json_object_get(j, "dns_alt_names")),
	    0);
	assert_int_equal(json_object_size(json_object_get(j,
	    "extension_requests")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "key"), "type")), "EC");
	json_decref(j);
	X509_REQ_free(req);

	/* extension requests only: extReq without a SAN */
	attrs = json_pack("{s:{s:s}}", "extension_requests", "pp_role", "db");
	req = make_csr(key, NULL, NULL, attrs);
	exts = X509_REQ_get_extensions(req);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	assert_int_equal(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1),
	    -1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	json_decref(attrs);

	/* an IP alt name alone also brings the certname in (Puppet) */
	req = make_csr(key, NULL, only_ip, NULL);
	j = cr_csr_json(req);
	assert_int_equal(json_array_size(json_object_get(j, "dns_alt_names")),
	    1);
	assert_int_equal(json_array_size(json_object_get(j, "ip_alt_names")),
	    1);
	json_decref(j);
	X509_REQ_free(req);
	QUEUE_EMPTY();
	EVP_PKEY_free(key);
}

static void
test_csr_alt_names_sorted_uniq(void **state)
{
	EVP_PKEY *key = pki_ec_cached();
	static const char *const dns[] = {
		"b.example.com", "agent.example.com", "*.example.com",
		"DNS:b.example.com", "A.example.com", NULL
	};
	static const char *const want[] = {
		"*.example.com", "A.example.com", "agent.example.com",
		"b.example.com"
	};
	X509_REQ *req = make_csr(key, dns, NULL, NULL);
	json_t *j = cr_csr_json(req), *a = json_object_get(j, "dns_alt_names");
	size_t i;

	(void)state;
	assert_int_equal(json_array_size(a), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)),
		    want[i]);
	json_decref(j);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

static void
test_dns_name_valid(void **state)
{
	static const char *const good[] = {
		"puppet", "agent.example.com", "*.example.com", "a-b.c",
		"xn--bcher-kva.example", "A.EXAMPLE.COM", "1.2.3.4",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
	};
	static const char *const bad[] = {
		"", "*", "*.", "*.*.example.com", "a.*.example.com",
		"bad..name", ".lead.example.com", "trail.example.com.",
		"-x.example.com", "x-.example.com", "under_score.example.com",
		"a b.example.com", "a,b", "caf\xC3\xA9.example.com",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(cr_dns_name_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cr_dns_name_valid(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(cr_dns_name_valid(NULL));
}

struct bad_case {
	const char *certname;
	const char *const *dns;
	const char *const *ip;
	const char *attrs;	/* JSON text, or NULL */
	const char *param;	/* details.parameter */
	const char *msg_has;	/* substring of the message, or NULL */
};

static void
test_csr_invalid(void **state)
{
	static const char *const d_dots[] = { "bad..name", NULL };
	static const char *const d_dash[] = { "-x.example.com", NULL };
	static const char *const d_under[] = { "a_b.example.com", NULL };
	static const char *const d_empty[] = { "", NULL };
	static const char *const d_space[] = { "a b", NULL };
	static const char *const d_ipbad[] = { "IP:300.1.1.1", NULL };
	static const char *const ip_bad[] = { "999.1.1.1", NULL };
	static const char *const ip_short[] = { "1.2.3", NULL };
	static const char *const ip_name[] = { "example.com", NULL };
	static const struct bad_case cases[] = {
		{ "Agent.Example.com", NULL, NULL, NULL, "certname", NULL },
		{ "", NULL, NULL, NULL, "certname", NULL },
		{ "../etc", NULL, NULL, NULL, "certname", NULL },
		{ "a", d_dots, NULL, NULL, "dns_alt_names", "bad..name" },
		{ "a", d_dash, NULL, NULL, "dns_alt_names", NULL },
		{ "a", d_under, NULL, NULL, "dns_alt_names", NULL },
		{ "a", d_empty, NULL, NULL, "dns_alt_names", NULL },
		{ "a", d_space, NULL, NULL, "dns_alt_names", NULL },
		{ "a", d_ipbad, NULL, NULL, "dns_alt_names", NULL },
		{ "a", NULL, ip_bad, NULL, "ip_alt_names", NULL },
		{ "a", NULL, ip_short, NULL, "ip_alt_names", NULL },
		{ "a", NULL, ip_name, NULL, "ip_alt_names", NULL },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"1.3.6.1.4.1.99999.1\":\"x\"}}",
		  "extension_requests", "allowed OID arcs" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"2.5.29.17\":\"DNS:evil\"}}",
		  "extension_requests", "allowed OID arcs" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"subjectAltName\":\"DNS:evil\"}}",
		  "extension_requests", "dotted OID" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"1.3.6.1.4.1.34380.1.1\":\"x\"}}",
		  "extension_requests", "allowed OID arcs" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"1.3.6.1.4.1.34380.1.3.39\":\"true\"}}",
		  "extension_requests", "authorization" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"pp_cli_auth\":\"true\"}}",
		  "extension_requests", "authorization" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"pp_nope\":\"x\"}}",
		  "extension_requests", "short name" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"1.3.6.1.4.1.34380.1.01.1\":\"x\"}}",
		  "extension_requests", NULL },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"pp_role\":[\"a\"]}}",
		  "extension_requests", "must be a string" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"pp_role\":\"a\\u0000b\"}}",
		  "extension_requests", "NUL" },
		{ "a", NULL, NULL,
		  "{\"extension_requests\":{\"pp_role\":\"a\","
		  "\"1.3.6.1.4.1.34380.1.1.13\":\"b\"}}",
		  "extension_requests", "duplicates" },
		{ "a", NULL, NULL, "{\"extension_requests\":[]}",
		  "extension_requests", NULL },
		{ "a", NULL, NULL,
		  "{\"custom_attributes\":{\"extReq\":\"x\"}}",
		  "custom_attributes", "extension request" },
		{ "a", NULL, NULL,
		  "{\"custom_attributes\":{\"1.2.840.113549.1.9.14\":\"x\"}}",
		  "custom_attributes", "extension request" },
		{ "a", NULL, NULL,
		  "{\"custom_attributes\":{\"no such name\":\"x\"}}",
		  "custom_attributes", NULL },
		{ "a", NULL, NULL,
		  "{\"custom_attributes\":{\"1.2.840.113549.1.9.7\":1.5}}",
		  "custom_attributes", NULL },
	};
	EVP_PKEY *key = pki_ec_cached();
	struct cr_csr_spec spec;
	json_t *attrs;
	size_t i;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&spec, 0, sizeof(spec));
		spec.certname = cases[i].certname;
		spec.dns_alt_names = cases[i].dns;
		spec.ip_alt_names = cases[i].ip;
		spec.key = key;
		attrs = cases[i].attrs ? json_loads(cases[i].attrs,
		    JSON_ALLOW_NUL, NULL) : NULL;
		if (cases[i].attrs != NULL)
			assert_non_null(attrs);
		spec.attributes = attrs;
		cr_err_init(&e);
		if (cr_csr_new(&spec, &e) != NULL)
			fail_msg("case %zu accepted", i);
		assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
		assert_string_equal(json_string_value(json_object_get(
		    e.details, "parameter")), cases[i].param);
		if (cases[i].msg_has != NULL &&
		    strstr(e.msg, cases[i].msg_has) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg,
			    cases[i].msg_has);
		QUEUE_EMPTY();
		cr_err_clear(&e);
		json_decref(attrs);
	}
	/* no key */
	memset(&spec, 0, sizeof(spec));
	spec.certname = "a";
	cr_err_init(&e);
	assert_null(cr_csr_new(&spec, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&e);
	EVP_PKEY_free(key);
}

static void
test_csr_auth_extension_allowed(void **state)
{
	EVP_PKEY *key = pki_ec_cached();
	json_t *attrs = json_pack("{s:{s:s}}", "extension_requests",
	    "pp_cli_auth", "true"), *j;
	struct cr_csr_spec spec = {
		.certname = "ca.example.com", .attributes = attrs, .key = key,
		.allow_authorization_extensions = true,
	};
	X509_REQ *req;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	req = cr_csr_new(&spec, &e);
	assert_non_null(req);
	j = cr_csr_json(req);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "extension_requests"), "pp_cli_auth")), "true");
	json_decref(j);
	X509_REQ_free(req);
	json_decref(attrs);
	EVP_PKEY_free(key);
	cr_err_clear(&e);
}

static void
test_csr_write_read(void **state)
{
	EVP_PKEY *key = pki_rsa_cached(1);
	json_t *attrs = full_attributes();
	X509_REQ *req = make_csr(key, full_dns, full_ip, attrs), *back;
	char *path = tpath("req.pem"), *pem;
	unsigned char *d1 = NULL, *d2 = NULL;
	int n1, n2;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_true(cr_csr_write(path, req, 0644, (uid_t)-1, (gid_t)-1, &e));
	assert_int_equal(mode_of(path), S_IFREG | 0644);
	pem = slurp(path);
	assert_true(starts_with(pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));
	free(pem);
	back = cr_csr_read(path, &e);
	assert_non_null(back);
	n1 = i2d_X509_REQ(req, &d1);
	n2 = i2d_X509_REQ(back, &d2);
	assert_true(n1 > 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(d1, d2, (size_t)n1);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	X509_REQ_free(back);
	/* missing file and not-a-CSR */
	assert_null(cr_csr_read("/nonexistent-cr/req.pem", &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	assert_true(pki_write_file(path, "garbage\n", 8, 0644));
	assert_null(cr_csr_read(path, &e));
	assert_string_equal(e.kind, CR_KIND_OPENSSL);
	QUEUE_EMPTY();
	cr_err_clear(&e);
	X509_REQ_free(req);
	json_decref(attrs);
	EVP_PKEY_free(key);
	free(path);
}

/* For tests/integration/test_csr_puppet.sh: the same inputs it feeds to
 * Puppet's own CertificateRequest#generate. */
static void
test_export(void **state)
{
	const char *out = getenv("CR_EXPORT_DIR");
	static const char *const dns[] = {
		"puppet", "puppet.example.com", "IP:192.0.2.10", NULL
	};
	static const char *const types[] = { "rsa", "ec" };
	char path[4096];
	EVP_PKEY *key;
	X509_REQ *req;
	json_t *attrs;
	size_t i;
	cr_err e;

	(void)state;
	if (out == NULL || out[0] == '\0')
		skip();
	attrs = json_pack("{s:{s:s, s:s, s:s}, s:{s:s}}",
	    "extension_requests",
	    "pp_role", "webserver",
	    "pp_environment", "production",
	    "1.3.6.1.4.1.34380.1.2.1", "private value",
	    "custom_attributes",
	    "1.2.840.113549.1.9.7", "s3cr3t");
	assert_non_null(attrs);
	for (i = 0; i < 2; i++) {
		cr_err_init(&e);
		key = cr_key_generate(types[i], 2048, "prime256v1", &e);
		assert_non_null(key);
		snprintf(path, sizeof(path), "%s/%s.key", out, types[i]);
		unlink(path);
		assert_true(cr_key_write_new(path, key, 0640, &e));
		req = make_csr(key, dns, NULL, attrs);
		snprintf(path, sizeof(path), "%s/%s.csr", out, types[i]);
		assert_true(cr_csr_write(path, req, 0644, (uid_t)-1, (gid_t)-1,
		    &e));
		X509_REQ_free(req);
		EVP_PKEY_free(key);
		cr_err_clear(&e);
	}
	json_decref(attrs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_key),
		cmocka_unit_test(test_ec_keys),
		cmocka_unit_test(test_keygen_invalid),
		cmocka_unit_test(test_key_fits),
		cmocka_unit_test(test_key_write_refusals),
		cmocka_unit_test(test_csr_fields),
		cmocka_unit_test(test_csr_minimal),
		cmocka_unit_test(test_csr_alt_names_sorted_uniq),
		cmocka_unit_test(test_dns_name_valid),
		cmocka_unit_test(test_csr_invalid),
		cmocka_unit_test(test_csr_auth_extension_allowed),
		cmocka_unit_test(test_csr_write_read),
		cmocka_unit_test(test_export),
	};

	return cmocka_run_group_tests(tests, pki_group_setup, pki_group_teardown);
}
