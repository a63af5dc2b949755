/*
 * cr_x509.c - certificates, CRLs and keys: reading and describing them.
 *
 * Every function leaves the OpenSSL error queue as it found it on success
 * and drains it into the cr_err on failure.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cr_crl_fast.h"
#include "cr_fs_read.h"
#include "cr_json.h"
#include "cr_x509.h"

#define SECONDS_PER_DAY 86400LL

/* Puppet's registered OIDs (lib/puppet/ssl/oids.rb) plus pp_cli_auth, which
 * puppetserver puts on its own certificate. */
static const struct {
	const char *oid;
	const char *name;
} puppet_oids[] = {
	{ "1.3.6.1.4.1.34380.1.1.1", "pp_uuid" },
	{ "1.3.6.1.4.1.34380.1.1.2", "pp_instance_id" },
	{ "1.3.6.1.4.1.34380.1.1.3", "pp_image_name" },
	{ "1.3.6.1.4.1.34380.1.1.4", "pp_preshared_key" },
	{ "1.3.6.1.4.1.34380.1.1.5", "pp_cost_center" },
	{ "1.3.6.1.4.1.34380.1.1.6", "pp_product" },
	{ "1.3.6.1.4.1.34380.1.1.7", "pp_project" },
	{ "1.3.6.1.4.1.34380.1.1.8", "pp_application" },
	{ "1.3.6.1.4.1.34380.1.1.9", "pp_service" },
	{ "1.3.6.1.4.1.34380.1.1.10", "pp_employee" },
	{ "1.3.6.1.4.1.34380.1.1.11", "pp_created_by" },
	{ "1.3.6.1.4.1.34380.1.1.12", "pp_environment" },
	{ "1.3.6.1.4.1.34380.1.1.13", "pp_role" },
	{ "1.3.6.1.4.1.34380.1.1.14", "pp_software_version" },
	{ "1.3.6.1.4.1.34380.1.1.15", "pp_department" },
	{ "1.3.6.1.4.1.34380.1.1.16", "pp_cluster" },
	{ "1.3.6.1.4.1.34380.1.1.17", "pp_provisioner" },
	{ "1.3.6.1.4.1.34380.1.1.18", "pp_region" },
	{ "1.3.6.1.4.1.34380.1.1.19", "pp_datacenter" },
	{ "1.3.6.1.4.1.34380.1.1.20", "pp_zone" },
	{ "1.3.6.1.4.1.34380.1.1.21", "pp_network" },
	{ "1.3.6.1.4.1.34380.1.1.22", "pp_securitypolicy" },
	{ "1.3.6.1.4.1.34380.1.1.23", "pp_cloudplatform" },
	{ "1.3.6.1.4.1.34380.1.1.24", "pp_apptier" },
	{ "1.3.6.1.4.1.34380.1.1.25", "pp_hostname" },
	{ "1.3.6.1.4.1.34380.1.1.26", "pp_owner" },
	{ "1.3.6.1.4.1.34380.1.3.1", "pp_authorization" },
	{ "1.3.6.1.4.1.34380.1.3.13", "pp_auth_role" },
	{ "1.3.6.1.4.1.34380.1.3.39", "pp_cli_auth" },
};

/* X.509 plumbing that is described elsewhere or says nothing about identity. */
static const int plumbing_nids[] = {
	NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
	NID_subject_key_identifier, NID_authority_key_identifier,
	NID_subject_alt_name, NID_issuer_alt_name, NID_netscape_comment,
	NID_crl_distribution_points, NID_info_access,
};

/* The row of puppet_oids whose name (by_name) or number is s, or -1. */
static int
puppet_oid_row(const char *s, bool by_name)
{
	int i, n = (int)(sizeof(puppet_oids) / sizeof(puppet_oids[0]));

	for (i = 0; i < n; i++)
		if (strcmp(by_name ? puppet_oids[i].name : puppet_oids[i].oid,
		    s) == 0)
			return i;
	return -1;
}

const char *
cr_puppet_oid_name(const char *oid)
{
	int i = puppet_oid_row(oid, false);

	return i < 0 ? NULL : puppet_oids[i].name;
}

const char *
cr_puppet_oid_number(const char *name)
{
	int i = puppet_oid_row(name, true);

	return i < 0 ? NULL : puppet_oids[i].oid;
}

/* True when the last error on the queue is the PEM reader's normal "no more
 * objects" signal. */
static bool
pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* What one PEM reader needs to know of the objects it reads. */
struct pem_kind {
	const char *noun;			/* "certificate", "CRL" */
	void *(*read)(BIO *bio);
	int (*write)(BIO *bio, void *obj);	/* 1 on success */
	void (*free)(void *obj);
};

/*
 * The typed adapters of one kind (T: X509, X509_CRL; name: cert, crl):
 * OpenSSL's readers, writers and destructors take their own types, and
 * calling them through the void * signatures of pem_kind would be undefined.
 */
#define PEM_ADAPTERS(T, name) \
	static void *read_##name(BIO *bio) \
	{ return PEM_read_bio_##T(bio, NULL, NULL, NULL); } \
	static int write_##name(BIO *bio, void *obj) \
	{ return PEM_write_bio_##T(bio, obj); } \
	static void free_##name(void *obj) { T##_free(obj); }

PEM_ADAPTERS(X509, cert)
PEM_ADAPTERS(X509_CRL, crl)

static const struct pem_kind pem_certs = { "certificate", read_cert,
    write_cert, free_cert };
static const struct pem_kind pem_crls = { "CRL", read_crl, write_crl,
    free_crl };

/*
 * Every object of kind k in pem, in order: a new stack (the typed
 * STACK_OF(...) the caller names, as OpenSSL's own macros cast it), or
 * NULL with err set when there is none or one of them is not valid PEM.
 * OpenSSL's error queue is left as it was found on success.
 */
static OPENSSL_STACK *
pem_parse_all(const char *pem, size_t len, const char *what,
    const struct pem_kind *k, cr_err *err)
{
	OPENSSL_STACK *out = NULL, *objs = NULL;
	BIO *bio = NULL;
	void *obj;
	int n;

	if (len > (size_t)INT32_MAX) {
		cr_err_set(err, CR_KIND_PARSE, "%s is too large", what);
		goto out;
	}
	ERR_set_mark();
	if ((objs = OPENSSL_sk_new_null()) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		ERR_clear_last_mark();
		cr_err_openssl(err, "cannot allocate a reader for %s", what);
		goto out;
	}
	while ((obj = k->read(bio)) != NULL) {
		if (!OPENSSL_sk_push(objs, obj)) {
			k->free(obj);
			ERR_clear_last_mark();
			cr_err_openssl(err, "cannot store a %s of %s", k->noun,
			    what);
			goto out;
		}
	}
	n = OPENSSL_sk_num(objs);
	if (!pem_at_end() || n == 0) {
		bool empty = n == 0 && pem_at_end();
		char q[256];	/* "no start line": drained, not left behind */
		ERR_clear_last_mark();
		if (empty)
			cr_err_set(err, CR_KIND_PARSE, "%s holds no PEM %s (%s)",
			    what, k->noun, cr_openssl_errors(q, sizeof(q)));
		else
			cr_err_openssl(err, "%s: %s %d is not valid PEM", what,
			    k->noun, n + 1);
		goto out;
	}
	ERR_pop_to_mark();
	out = objs;
	objs = NULL;
out:
	OPENSSL_sk_pop_free(objs, k->free);
	BIO_free(bio);
	return out;
}

STACK_OF(X509) *
cr_certs_parse(const char *pem, size_t len, const char *what, cr_err *err)
{
	return (STACK_OF(X509) *)pem_parse_all(pem, len, what, &pem_certs,
	    err);
}

STACK_OF(X509_CRL) *
cr_crls_parse(const char *pem, size_t len, const char *what, cr_err *err)
{
	return (STACK_OF(X509_CRL) *)pem_parse_all(pem, len, what, &pem_crls,
	    err);
}

/*
 * The objects of objs as PEM text, in order: a new NUL-terminated string
 * (*len without the NUL), or NULL with err set (an empty stack is an
 * error: nobody writes an empty bundle).
 */
static char *
pem_write_all(const OPENSSL_STACK *objs, const struct pem_kind *k,
    size_t *len, cr_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	int i, n = OPENSSL_sk_num(objs);

	for (i = 0; b != NULL && i < n; i++)
		if (k->write(b, OPENSSL_sk_value(objs, i)) != 1)
			break;
	if (b == NULL)
		cr_err_openssl(err, "cannot allocate a buffer for PEM");
	else if (n <= 0)
		cr_err_set(err, CR_KIND_INTERNAL, "no %s to write as PEM",
		    k->noun);
	else if (i < n)
		cr_err_openssl(err, "cannot write %s %d as PEM", k->noun, i + 1);
	else if ((out = cr_bio_string(b, len)) == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	BIO_free(b);
	return out;
}

char *
cr_certs_pem(STACK_OF(X509) *certs, size_t *len, cr_err *err)
{
	return pem_write_all((const OPENSSL_STACK *)certs, &pem_certs, len,
	    err);
}

char *
cr_crls_pem(STACK_OF(X509_CRL) *crls, size_t *len, cr_err *err)
{
	return pem_write_all((const OPENSSL_STACK *)crls, &pem_crls, len, err);
}

/* Every object of kind k in the PEM file at path (at most max bytes), as
 * pem_parse_all. */
static OPENSSL_STACK *
pem_read_all(const char *path, size_t max, const struct pem_kind *k,
    cr_err *err)
{
	OPENSSL_STACK *out = NULL;
	char *buf = NULL;
	size_t len = 0;

	if (cr_file_read(path, max, &buf, &len, err))
		out = pem_parse_all(buf, len, path, k, err);
	free(buf);
	return out;
}

STACK_OF(X509) *
cr_certs_read(const char *path, cr_err *err)
{
	return (STACK_OF(X509) *)pem_read_all(path, CR_MAX_PEM_FILE,
	    &pem_certs, err);
}

STACK_OF(X509_CRL) *
cr_crls_read(const char *path, cr_err *err)
{
	return (STACK_OF(X509_CRL) *)pem_read_all(path, CR_MAX_CRL_FILE,
	    &pem_crls, err);
}

/* Never prompt for a passphrase: an encrypted key is an error. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

EVP_PKEY *
cr_key_parse(const char *pem, size_t len, const char *what, cr_err *err)
{
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;

	if (len > (size_t)INT32_MAX) {
		cr_err_set(err, CR_KIND_PARSE, "%s is too large", what);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		cr_err_openssl(err, "cannot allocate a reader for %s", what);
		goto out;
	}
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL))
	    == NULL)
		cr_err_openssl(err, "%s is not an unencrypted PEM private key",
		    what);
out:
	BIO_free(bio);
	return key;
}

EVP_PKEY *
cr_key_read(const char *path, cr_err *err)
{
	EVP_PKEY *key = NULL;
	char *buf = NULL;
	size_t len = 0;

	if (cr_file_read(path, CR_MAX_PEM_FILE, &buf, &len, err))
		key = cr_key_parse(buf, len, path, err);
	cr_secret_free(buf, len);
	return key;
}

bool
cr_asn1_time_epoch(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

void
cr_iso8601(time_t t, char buf[21])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 21, "invalid");
}

long long
cr_days_until(time_t t, time_t now)
{
	long long diff = (long long)t - (long long)now;

	/* floor division: one second past expiry is day -1, not day 0 */
	if (diff >= 0)
		return diff / SECONDS_PER_DAY;
	return -((-diff + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
}

char *
cr_hex_colon(const unsigned char *p, size_t n)
{
	char *hex, *out;

	/* OPENSSL_buf2hexstr: "AB:CD:..."; moved to a malloc'd copy, which
	 * the callers free() */
	if (n == 0)
		return strdup("");
	if ((hex = OPENSSL_buf2hexstr(p, (long)n)) == NULL)
		return NULL;
	out = strdup(hex);
	OPENSSL_free(hex);
	return out;
}

/* The colon hex of md over the DER of obj (it: its ASN.1 type), as
 * X509_digest and X509_REQ_digest compute it; NULL on failure. */
static char *
der_fingerprint(const ASN1_ITEM *it, void *obj, const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (ASN1_item_digest(it, md, obj, d, &n) != 1)
		return NULL;
	return cr_hex_colon(d, n);
}

char *
cr_fingerprint_x509(X509 *x, const EVP_MD *md)
{
	return der_fingerprint(ASN1_ITEM_rptr(X509), x, md);
}

char *
cr_fingerprint_req(X509_REQ *r, const EVP_MD *md)
{
	return der_fingerprint(ASN1_ITEM_rptr(X509_REQ), r, md);
}

char *
cr_bio_string(BIO *bio, size_t *len)
{
	char *data = NULL, *out;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return out;
}

char *
cr_name_string(const X509_NAME *name)
{
	BIO *bio;
	char *out = NULL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		out = cr_bio_string(bio, NULL);
	BIO_free(bio);
	return out;
}

char *
cr_serial_hex(const X509 *x)
{
	BIGNUM *bn;
	char *hex, *out = NULL;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL)
		return NULL;
	if ((hex = BN_bn2hex(bn)) != NULL) {
		out = strdup(hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	return out;
}

json_t *
cr_asn1_string_json(const ASN1_STRING *s)
{
	/* length + bytes: an embedded NUL must not truncate */
	return cr_json_strn((const char *)ASN1_STRING_get0_data(s),
	    (size_t)ASN1_STRING_length(s));
}

json_t *
cr_asn1_text_json(const ASN1_TYPE *t)
{
	switch (t->type) {
	case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_VISIBLESTRING:
	case V_ASN1_T61STRING:
		return cr_asn1_string_json(t->value.asn1_string);
	default:
		return NULL;
	}
}

void
cr_sigalg_set(json_t *obj, const X509_ALGOR *alg)
{
	char name[80];

	if (alg != NULL &&
	    OBJ_obj2txt(name, sizeof(name), alg->algorithm, 0) > 0)
		json_object_set_new(obj, "signature_algorithm",
		    cr_json_str(name));
	else
		cr_json_set(obj, "signature_algorithm", NULL);
}

/* Stores a new string (taken from a malloc'd pointer) as key; NULL -> null. */
static void
set_owned_str(json_t *obj, const char *key, char *s)
{
	cr_json_set(obj, key, s ? cr_json_str(s) : NULL);
	free(s);
}

static void
set_time(json_t *obj, const char *key, const char *days_key,
    const ASN1_TIME *t, time_t now)
{
	time_t when;
	char iso[21];

	if (!cr_asn1_time_epoch(t, &when)) {
		cr_json_set(obj, key, NULL);
		if (days_key != NULL)
			cr_json_set(obj, days_key, NULL);
		return;
	}
	cr_iso8601(when, iso);
	cr_json_set(obj, key, json_string(iso));
	if (days_key != NULL)
		cr_json_set(obj, days_key,
		    json_integer(cr_days_until(when, now)));
}

json_t *
cr_key_json(const EVP_PKEY *pkey)
{
	json_t *out;
	char group[80];
	size_t glen = 0;
	int id;

	if ((out = json_object()) == NULL || pkey == NULL)
		return out;
	id = EVP_PKEY_get_base_id(pkey);
	switch (id) {
	case EVP_PKEY_RSA:
		json_object_set_new(out, "type", json_string("RSA"));
		break;
	case EVP_PKEY_EC:
		json_object_set_new(out, "type", json_string("EC"));
		if (EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) == 1)
			json_object_set_new(out, "curve", cr_json_str(group));
		break;
	case EVP_PKEY_ED25519:
		json_object_set_new(out, "type", json_string("ED25519"));
		break;
	case EVP_PKEY_ED448:
		json_object_set_new(out, "type", json_string("ED448"));
		break;
	default:
		json_object_set_new(out, "type", cr_json_str(OBJ_nid2sn(id)));
		break;
	}
	json_object_set_new(out, "bits", json_integer(EVP_PKEY_get_bits(pkey)));
	ERR_clear_error();	/* a failed group-name lookup leaves entries */
	return out;
}

void
cr_sans_json(const STACK_OF(X509_EXTENSION) *exts, json_t *dns, json_t *ip)
{
	GENERAL_NAMES *names;
	char text[INET6_ADDRSTRLEN];
	int i;

	names = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const ASN1_STRING *s;

		if (gn->type == GEN_DNS) {
			json_array_append_new(dns,
			    cr_asn1_string_json(gn->d.dNSName));
		} else if (gn->type == GEN_IPADD) {
			s = gn->d.iPAddress;
			int af = ASN1_STRING_length(s) == 4 ? AF_INET :
			    ASN1_STRING_length(s) == 16 ? AF_INET6 : 0;
			if (af != 0 && inet_ntop(af, ASN1_STRING_get0_data(s),
			    text, sizeof(text)) != NULL)
				json_array_append_new(ip, json_string(text));
		}
	}
	GENERAL_NAMES_free(names);
}

static bool
is_plumbing(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(plumbing_nids) / sizeof(plumbing_nids[0]); i++)
		if (plumbing_nids[i] == nid)
			return true;
	return false;
}

/* An extension value: the text of a DER string type, else hex of the DER. */
static json_t *
ext_value_json(const ASN1_OCTET_STRING *data)
{
	const unsigned char *p = ASN1_STRING_get0_data(data);
	long len = ASN1_STRING_length(data);
	ASN1_TYPE *t;
	json_t *out = NULL;
	char *hex;

	if ((t = d2i_ASN1_TYPE(NULL, &p, len)) != NULL &&
	    p == ASN1_STRING_get0_data(data) + len &&
	    (out = cr_asn1_text_json(t)) == NULL &&
	    t->type == V_ASN1_BOOLEAN)
		out = json_string(t->value.boolean ? "true" : "false");
	ASN1_TYPE_free(t);
	ERR_clear_error();	/* a value that is not DER is not an error */
	if (out == NULL && (hex = cr_hex_colon(ASN1_STRING_get0_data(data),
	    (size_t)len)) != NULL) {
		/* plain upper-case hex, no colons, for a non-string value */
		char *r = hex, *w = hex;
		for (; *r; r++)
			if (*r != ':')
				*w++ = *r;
		*w = '\0';
		out = json_string(hex);
		free(hex);
	}
	return out;
}

json_t *
cr_extensions_json(const STACK_OF(X509_EXTENSION) *exts)
{
	json_t *out = json_object();
	char oid[128];
	const char *name;
	int i;

	for (i = 0; out != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);

		if (is_plumbing(OBJ_obj2nid(obj)))
			continue;
		if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
			continue;
		name = cr_puppet_oid_name(oid);
		cr_json_set(out, name ? name : oid,
		    ext_value_json(X509_EXTENSION_get_data(ext)));
	}
	return out;
}

/* What a certificate and a CA bundle entry both say: subject, issuer,
 * serial, dates, expires_in_days, fingerprint_sha256. */
static void
set_identity(json_t *out, X509 *x, time_t now)
{
	set_owned_str(out, "subject", cr_name_string(X509_get_subject_name(x)));
	set_owned_str(out, "issuer", cr_name_string(X509_get_issuer_name(x)));
	set_owned_str(out, "serial", cr_serial_hex(x));
	set_time(out, "not_before", NULL, X509_get0_notBefore(x), now);
	set_time(out, "not_after", "expires_in_days", X509_get0_notAfter(x),
	    now);
	set_owned_str(out, "fingerprint_sha256",
	    cr_fingerprint_x509(x, EVP_sha256()));
}

json_t *
cr_cert_json(X509 *x, time_t now)
{
	json_t *out = NULL, *dns = NULL, *ip = NULL;
	const X509_ALGOR *alg = NULL;

	if ((out = json_object()) == NULL || (dns = json_array()) == NULL ||
	    (ip = json_array()) == NULL) {
		json_decref(out);
		out = NULL;
		goto out;
	}
	set_identity(out, x, now);
	cr_sans_json(X509_get0_extensions(x), dns, ip);
	json_object_set(out, "dns_alt_names", dns);
	json_object_set(out, "ip_alt_names", ip);
	cr_json_set(out, "extensions",
	    cr_extensions_json(X509_get0_extensions(x)));
	X509_get0_signature(NULL, &alg, x);
	cr_sigalg_set(out, alg);
	cr_json_set(out, "key", cr_key_json(X509_get0_pubkey(x)));
	ERR_clear_error();
out:
	json_decref(dns);
	json_decref(ip);
	return out;
}

json_t *
cr_ca_json(X509 *x, time_t now)
{
	json_t *out;

	if ((out = json_object()) != NULL)
		set_identity(out, x, now);
	ERR_clear_error();
	return out;
}

json_t *
cr_crl_json(X509_CRL *crl, time_t now)
{
	json_t *out;
	ASN1_INTEGER *num;
	BIGNUM *bn = NULL;
	char *hex = NULL;

	if ((out = json_object()) == NULL)
		return NULL;
	set_owned_str(out, "issuer", cr_name_string(X509_CRL_get_issuer(crl)));
	set_time(out, "last_update", NULL, X509_CRL_get0_lastUpdate(crl), now);
	set_time(out, "next_update", "expires_in_days",
	    X509_CRL_get0_nextUpdate(crl), now);
	/* an empty CRL has no list at all (sk_num(NULL) is -1) */
	json_object_set_new(out, "revoked_count", json_integer(
	    X509_CRL_get_REVOKED(crl) == NULL ? 0 :
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl))));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (num != NULL && (bn = ASN1_INTEGER_to_BN(num, NULL)) != NULL)
		hex = BN_bn2dec(bn);
	cr_json_set(out, "crl_number", hex ? json_string(hex) : NULL);
	OPENSSL_free(hex);
	BN_free(bn);
	ASN1_INTEGER_free(num);
	ERR_clear_error();
	return out;
}

enum cr_crl_mode
cr_crl_mode_parse(const char *setting)
{
	if (setting != NULL && strcmp(setting, "leaf") == 0)
		return CR_CRL_LEAF;
	if (setting != NULL && strcmp(setting, "false") == 0)
		return CR_CRL_OFF;
	return CR_CRL_CHAIN;
}

/* Errors that are about a CRL, not about the certificate being checked. */
static bool
is_crl_error(int code)
{
	switch (code) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
		return true;
	default:
		return false;
	}
}

/*
 * Records the first error, and goes on past errors that are the CA's side
 * (a CA certificate, a CRL) so that an error of the leaf itself behind
 * them is still found.  A leaf error stops the verification.
 */
static int
verify_note(int ok, X509_STORE_CTX *ctx)
{
	struct cr_verify_detail *d = X509_STORE_CTX_get_app_data(ctx);
	int code = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);

	if (ok || d == NULL)
		return ok;
	if (code == X509_V_ERR_CRL_SIGNATURE_FAILURE && cr_crl_set_signed(
	    d->set, X509_STORE_CTX_get0_current_crl(ctx),
	    X509_STORE_CTX_get0_current_issuer(ctx)))
		return 1;	/* reduced; the original is signed by it */
	if (d->code == X509_V_OK) {
		d->code = code;
		d->depth = depth;
	}
	if (depth > 0 || is_crl_error(code)) {
		if (d->ca_code == X509_V_OK)
			d->ca_code = code;
		return 1;
	}
	if (d->leaf_code == X509_V_OK)
		d->leaf_code = code;
	return 0;
}

int
cr_verify_chain_detail(X509 *leaf, STACK_OF(X509) *bundle,
    STACK_OF(X509_CRL) *crls, const struct cr_crl_set *set,
    enum cr_crl_mode mode, time_t now, struct cr_verify_detail *d,
    cr_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	int i, rc = -1;

	memset(d, 0, sizeof(*d));
	d->set = set;
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		cr_err_openssl(err, "cannot allocate a certificate store");
		goto out;
	}
	for (i = 0; bundle != NULL && i < sk_X509_num(bundle); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(bundle, i)) != 1) {
			cr_err_openssl(err, "cannot add CA certificate %d", i);
			goto out;
		}
	}
	if (mode == CR_CRL_OFF)
		crls = NULL;
	for (i = 0; crls != NULL && i < sk_X509_CRL_num(crls); i++) {
		if (X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i)) != 1) {
			cr_err_openssl(err, "cannot add CRL %d", i);
			goto out;
		}
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1) {
		cr_err_openssl(err, "cannot set up verification");
		goto out;
	}
	X509_STORE_CTX_set_app_data(ctx, d);
	X509_STORE_CTX_set_verify_cb(ctx, verify_note);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	if (crls != NULL && sk_X509_CRL_num(crls) > 0)
		X509_VERIFY_PARAM_set_flags(param, mode == CR_CRL_CHAIN ?
		    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL :
		    X509_V_FLAG_CRL_CHECK);
	i = X509_verify_cert(ctx);
	if (i == 1 && d->code == X509_V_OK) {
		rc = 1;
	} else {
		if (d->code == X509_V_OK)
			d->code = X509_STORE_CTX_get_error(ctx);
		if (d->code == X509_V_OK) {
			cr_err_openssl(err, "certificate verification failed");
			goto out;
		}
		d->why = X509_verify_cert_error_string(d->code);
		rc = 0;
	}
	ERR_clear_error();
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int
cr_verify_chain(X509 *leaf, STACK_OF(X509) *bundle, STACK_OF(X509_CRL) *crls,
    enum cr_crl_mode mode, time_t now, const char **why, cr_err *err)
{
	struct cr_verify_detail d;
	int rc = cr_verify_chain_detail(leaf, bundle, crls, NULL, mode, now,
	    &d, err);

	*why = rc == 0 ? d.why : NULL;
	return rc;
}

static int tls_level = 1;
static pthread_once_t tls_level_once = PTHREAD_ONCE_INIT;

static void
tls_level_init(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	if (ctx != NULL)
		tls_level = SSL_CTX_get_security_level(ctx);
	SSL_CTX_free(ctx);
	ERR_clear_error();
}

int
cr_tls_security_level(void)
{
	/* once per process: a fresh SSL_CTX costs more than the rest of a
	 * status on a normal ssldir */
	pthread_once(&tls_level_once, tls_level_init);
	return tls_level;
}

int
cr_security_level_bits(int level)
{
	/* SSL_CTX_set_security_level(3): the minimum of each level */
	static const int bits[] = { 0, 80, 112, 128, 192, 256 };

	if (level < 0)
		level = 0;
	if (level > 5)
		level = 5;
	return bits[level];
}

int
cr_weak_crypto(X509 *x, json_t *reasons)
{
	int level = cr_tls_security_level();
	int need = cr_security_level_bits(level), n = 0;
	int kbits = EVP_PKEY_get_security_bits(X509_get0_pubkey(x));
	int mdnid = NID_undef, pknid = NID_undef, sbits = -1;
	uint32_t flags = 0;
	char buf[256];

	if (need == 0)
		goto out;
	if (kbits < need) {
		snprintf(buf, sizeof(buf), "the host key has %d security bits, "
		    "fewer than the %d that OpenSSL's default security level %d "
		    "requires", kbits < 0 ? 0 : kbits, need, level);
		json_array_append_new(reasons, json_string(buf));
		n++;
	}
	if (X509_get_signature_info(x, &mdnid, &pknid, &sbits, &flags) != 1 ||
	    (flags & X509_SIG_INFO_VALID) == 0)
		sbits = -1;
	if (sbits < need) {
		snprintf(buf, sizeof(buf), "the hostcert's signature (%s) has "
		    "%d security bits, fewer than the %d that OpenSSL's default "
		    "security level %d requires", OBJ_nid2sn(
		    X509_get_signature_nid(x)), sbits < 0 ? 0 : sbits, need,
		    level);
		json_array_append_new(reasons, json_string(buf));
		n++;
	}
out:
	ERR_clear_error();
	return n;
}

int
cr_revoked_by(X509 *x, STACK_OF(X509_CRL) *crls)
{
	X509_REVOKED *rev = NULL;
	int i, rc = -1;

	for (i = 0; crls != NULL && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);

		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_issuer_name(x)) != 0)
			continue;
		if (X509_CRL_get0_by_cert(crl, &rev, x) == 1) {
			rc = 1;
			break;
		}
		rc = 0;
	}
	ERR_clear_error();
	return rc;
}

int
cr_crls_unsigned(STACK_OF(X509_CRL) *crls, STACK_OF(X509) *bundle)
{
	X509_CRL *crl;
	X509 *ca;
	int i, j, bad = -1;
	bool found;

	for (i = 0; bad < 0 && i < sk_X509_CRL_num(crls); i++) {
		crl = sk_X509_CRL_value(crls, i);
		found = false;
		for (j = 0; !found && j < sk_X509_num(bundle); j++) {
			ca = sk_X509_value(bundle, j);
			found = X509_NAME_cmp(X509_CRL_get_issuer(crl),
			    X509_get_subject_name(ca)) == 0 &&
			    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
		}
		if (!found)
			bad = i;
	}
	ERR_clear_error();
	return bad;
}

int
cr_key_matches(X509 *x, EVP_PKEY *key)
{
	int rc = EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1;

	ERR_clear_error();
	return rc;
}
