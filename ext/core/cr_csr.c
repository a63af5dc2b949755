/*
 * cr_csr.c - Puppet-style CSRs (see cr_csr.h for what is matched).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cr_csr.h"
#include "cr_fs.h"
#include "cr_json.h"
#include "cr_task.h"
#include "cr_x509.h"

#define OID_CHALLENGE_PASSWORD "1.2.840.113549.1.9.7"
#define OID_PP_PRESHARED_KEY "1.3.6.1.4.1.34380.1.1.4"
#define MAX_OID_TEXT 128
#define MAX_ALT_NAMES 1024

static void
bad_param(cr_err *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bad_param(cr_err *err, const char *param, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (err == NULL || err->set)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cr_err_set(err, CR_KIND_INVALID_PARAMETER, "%s", msg);
	cr_err_detail_new(err, "parameter", json_string(param));
}

/* ---- validation ------------------------------------------------------- */

bool
cr_dns_name_valid(const char *name)
{
	size_t len, label = 0, i;

	if (name == NULL)
		return false;
	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	len = strlen(name);
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i <= len; i++) {
		char c = name[i];
		if (c == '.' || c == '\0') {
			/* a label: 1..63 bytes, no '-' at either end */
			if (label == 0 || label > 63 || name[i - 1] == '-' ||
			    name[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return false;
		label++;
	}
	return true;
}

/* "1.2.3": arcs of digits without leading zeros, at least two, first
 * 0..2, at most MAX_OID_TEXT - 1 bytes. */
static bool
oid_syntax_valid(const char *s)
{
	size_t len = strlen(s), i, arcs = 1, digits = 0;

	if (len == 0 || len >= MAX_OID_TEXT || s[0] < '0' || s[0] > '2')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (digits == 0)
				return false;
			arcs++;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (digits > 0 && s[i - digits] == '0')
				return false;	/* leading zero */
			digits++;
		} else {
			return false;
		}
	}
	return digits > 0 && arcs >= 2;
}

static bool
under_arc(const char *oid, const char *arc)
{
	size_t n = strlen(arc);

	return strncmp(oid, arc, n) == 0 && oid[n] == '.';
}

bool
cr_ext_oid_resolve(const char *key, bool allow_auth, char *buf, size_t len,
    cr_err *err)
{
	const char *oid = NULL;

	if (key != NULL && strncmp(key, "pp_", 3) == 0) {
		if ((oid = cr_puppet_oid_number(key)) == NULL) {
			bad_param(err, "extension_requests", "extension request "
			    "'%s' is not a Puppet short name (pp_role, pp_uuid, "
			    "... or a dotted OID)", key);
			return false;
		}
	} else if (key != NULL && oid_syntax_valid(key)) {
		oid = key;
	} else {
		bad_param(err, "extension_requests", "extension request "
		    "'%s' is neither a pp_* short name nor a dotted OID",
		    key ? key : "(null)");
		return false;
	}
	if (under_arc(oid, CR_PP_AUTH_ARC) && !allow_auth) {
		bad_param(err, "extension_requests", "extension request '%s' "
		    "(%s) is in Puppet's authorization arc " CR_PP_AUTH_ARC
		    ", allowed only with allow_authorization_extensions",
		    key, oid);
		return false;
	}
	if (!under_arc(oid, CR_PP_REG_ARC) && !under_arc(oid, CR_PP_PRIV_ARC)
	    && !under_arc(oid, CR_PP_AUTH_ARC)) {
		bad_param(err, "extension_requests", "extension request '%s' "
		    "(%s) is outside Puppet's allowed OID arcs " CR_PP_REG_ARC
		    " (ppRegCertExt) and " CR_PP_PRIV_ARC " (ppPrivCertExt)",
		    key, oid);
		return false;
	}
	if (strlen(oid) >= len) {
		bad_param(err, "extension_requests", "OID %s is too long", oid);
		return false;
	}
	strcpy(buf, oid);
	return true;
}

/* The text of a value as Puppet's value.to_s makes it; num holds numbers.
 * NULL (err set) for other JSON types, a NUL byte or an oversize value. */
static const char *
value_text(json_t *v, const char *param, const char *key, char *num,
    size_t numlen, size_t *len, cr_err *err)
{
	const char *s = NULL;

	if (json_is_string(v)) {
		s = json_string_value(v);
		*len = json_string_length(v);
	} else if (json_is_integer(v)) {
		snprintf(num, numlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = num;
		*len = strlen(num);
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
		*len = strlen(s);
	} else {
		bad_param(err, param, "%s: the value of '%s' must be a string",
		    param, key);
		return NULL;
	}
	if (memchr(s, '\0', *len) != NULL || *len > CR_MAX_ATTR_VALUE) {
		bad_param(err, param, "%s: the value of '%s' has a NUL byte or "
		    "is longer than %d bytes", param, key, CR_MAX_ATTR_VALUE);
		return NULL;
	}
	return s;
}

/* A member of spec->attributes that must be an object (NULL: none). */
static bool
attr_section(json_t *attrs, const char *name, json_t **out, cr_err *err)
{
	json_t *v = attrs ? json_object_get(attrs, name) : NULL;

	*out = NULL;
	if (attrs != NULL && !json_is_object(attrs)) {
		bad_param(err, "attributes", "CSR attributes must be an object");
		return false;
	}
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_object(v)) {
		bad_param(err, name, "%s must be an object of name -> value",
		    name);
		return false;
	}
	*out = v;
	return true;
}

/* ---- building --------------------------------------------------------- */

/* DER UTF8String of value inside a non-critical extension. */
static X509_EXTENSION *
utf8_extension(const char *oid, const char *value, size_t len)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_UTF8STRING *u = NULL;
	ASN1_OCTET_STRING *oct = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int n;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (u = ASN1_UTF8STRING_new()) == NULL ||
	    !ASN1_STRING_set(u, value, (int)len) ||
	    (n = i2d_ASN1_UTF8STRING(u, &der)) <= 0 ||
	    (oct = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(oct, der, n))
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, oct);
out:
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(oct);
	ASN1_UTF8STRING_free(u);
	ASN1_OBJECT_free(obj);
	return ext;
}

static bool
add_extension_requests(json_t *reqs, bool allow_auth,
    STACK_OF(X509_EXTENSION) *exts, cr_err *err)
{
	char oid[MAX_OID_TEXT], num[32];
	const char *key, *text;
	json_t *v, *seen = NULL;
	X509_EXTENSION *ext;
	size_t len;
	bool ok = false;

	if ((seen = json_object()) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for the CSR");
		goto out;
	}
	json_object_foreach(reqs, key, v) {
		if (!cr_ext_oid_resolve(key, allow_auth, oid, sizeof(oid), err))
			goto out;
		/* pp_role and 1.3.6.1.4.1.34380.1.1.13 are the same */
		if (json_object_get(seen, oid) != NULL) {
			bad_param(err, "extension_requests", "extension request "
			    "'%s' duplicates '%s' (both are %s)", key,
			    json_string_value(json_object_get(seen, oid)), oid);
			goto out;
		}
		json_object_set_new(seen, oid, json_string(key));
		if ((text = value_text(v, "extension_requests", key, num,
		    sizeof(num), &len, err)) == NULL)
			goto out;
		if ((ext = utf8_extension(oid, text, len)) == NULL) {
			cr_err_openssl(err, "cannot build extension %s", oid);
			goto out;
		}
		if (!sk_X509_EXTENSION_push(exts, ext)) {
			X509_EXTENSION_free(ext);
			cr_err_openssl(err, "cannot build extension %s", oid);
			goto out;
		}
	}
	ok = true;
out:
	json_decref(seen);
	return ok;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One alt-name string ("DNS:x" / "IP:x") appended to v (new string). */
static bool
san_push(char **v, size_t *n, const char *prefix, const char *name,
    cr_err *err)
{
	if (*n >= MAX_ALT_NAMES) {
		bad_param(err, "dns_alt_names", "more than %d alt names",
		    MAX_ALT_NAMES);
		return false;
	}
	if (asprintf(&v[*n], "%s%s", prefix, name) == -1) {
		v[*n] = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "no memory for alt names");
		return false;
	}
	(*n)++;
	return true;
}

static bool
ip_valid(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* Puppet: (dns_alt_names + [certname]) -> "DNS:x"/"IP:x", sort, uniq. */
static bool
add_san(const struct cr_csr_spec *spec, STACK_OF(X509_EXTENSION) *exts,
    cr_err *err)
{
	char **v = NULL;
	size_t n = 0, i, j;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	X509_EXTENSION *ext = NULL;
	const char *const *p;
	const char *name;
	bool ok = false;

	if ((spec->dns_alt_names == NULL || spec->dns_alt_names[0] == NULL) &&
	    (spec->ip_alt_names == NULL || spec->ip_alt_names[0] == NULL))
		return true;	/* Puppet adds no SAN extension then */
	if ((v = calloc(MAX_ALT_NAMES + 1, sizeof(*v))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for alt names");
		goto out;
	}
	for (p = spec->dns_alt_names; p != NULL && *p != NULL; p++) {
		name = *p;
		if (strncmp(name, "IP:", 3) == 0) {
			if (!ip_valid(name + 3)) {
				bad_param(err, "dns_alt_names", "'%s' is not an "
				    "IP address", name);
				goto out;
			}
			if (!san_push(v, &n, "", name, err))
				goto out;
			continue;
		}
		if (strncmp(name, "DNS:", 4) == 0)
			name += 4;
		if (!cr_dns_name_valid(name)) {
			bad_param(err, "dns_alt_names", "'%s' is not a valid DNS "
			    "name (letters, digits and '-' in dot-separated "
			    "labels, optionally starting with \"*.\")", name);
			goto out;
		}
		if (!san_push(v, &n, "DNS:", name, err))
			goto out;
	}
	for (p = spec->ip_alt_names; p != NULL && *p != NULL; p++) {
		if (!ip_valid(*p)) {
			bad_param(err, "ip_alt_names", "'%s' is not an IPv4 or "
			    "IPv6 address", *p);
			goto out;
		}
		if (!san_push(v, &n, "IP:", *p, err))
			goto out;
	}
	if (!san_push(v, &n, "DNS:", spec->certname, err))
		goto out;
	qsort(v, n, sizeof(*v), str_cmp);
	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto ossl;
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;	/* uniq */
		if ((gn = GENERAL_NAME_new()) == NULL)
			goto ossl;
		if (v[i][0] == 'D') {
			ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
			if (ia5 == NULL || !ASN1_STRING_set(ia5, v[i] + 4, -1)) {
				ASN1_IA5STRING_free(ia5);
				goto ossl;
			}
			GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		} else {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(v[i] + 3);
			if (ip == NULL)
				goto ossl;
			GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		}
		if (!sk_GENERAL_NAME_push(gens, gn))
			goto ossl;
		gn = NULL;
	}
	if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext))
		goto ossl;
	ext = NULL;
	ok = true;
	goto out;
ossl:
	cr_err_openssl(err, "cannot build the subjectAltName extension");
out:
	X509_EXTENSION_free(ext);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	for (j = 0; v != NULL && j < n; j++)
		free(v[j]);
	free(v);
	return ok;
}

/* PrintableString's alphabet (X.680): A-Z a-z 0-9 space '()+,-./:=? */
static bool
printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL))
			return false;
	}
	return true;
}

/* The OID of a custom_attributes key: pp_* name, dotted OID or a name
 * OpenSSL knows (challengePassword, unstructuredName, ...). */
static ASN1_OBJECT *
attr_object(const char *key, cr_err *err)
{
	ASN1_OBJECT *obj = NULL;
	const char *oid;
	int nid;

	if (strncmp(key, "pp_", 3) == 0 &&
	    (oid = cr_puppet_oid_number(key)) != NULL)
		obj = OBJ_txt2obj(oid, 1);
	else if (oid_syntax_valid(key))
		obj = OBJ_txt2obj(key, 1);
	else if ((nid = OBJ_sn2nid(key)) != NID_undef ||
	    (nid = OBJ_ln2nid(key)) != NID_undef)
		obj = OBJ_nid2obj(nid);
	ERR_clear_error();
	if (obj == NULL) {
		bad_param(err, "custom_attributes", "custom attribute '%s' is "
		    "not a dotted OID or a known attribute name", key);
		return NULL;
	}
	if (OBJ_length(obj) == 0) {
		/* a name OpenSSL knows without an OID ("chacha20-poly1305"):
		 * nothing that can go into a CSR */
		bad_param(err, "custom_attributes", "custom attribute '%s' has "
		    "no OID", key);
		ASN1_OBJECT_free(obj);
		return NULL;
	}
	nid = OBJ_obj2nid(obj);
	if (nid == NID_ext_req || nid == NID_ms_ext_req) {
		/* Puppet: "conflicts with internally used CSR attribute" */
		bad_param(err, "custom_attributes", "custom attribute '%s' "
		    "conflicts with the extension request attribute", key);
		ASN1_OBJECT_free(obj);
		return NULL;
	}
	return obj;
}

static bool
add_custom_attributes(X509_REQ *req, json_t *attrs, cr_err *err)
{
	const char *key, *text;
	json_t *v;
	ASN1_OBJECT *obj;
	char num[32];
	size_t len;
	int rc;

	json_object_foreach(attrs, key, v) {
		if ((obj = attr_object(key, err)) == NULL)
			return false;
		if ((text = value_text(v, "custom_attributes", key, num,
		    sizeof(num), &len, err)) == NULL) {
			ASN1_OBJECT_free(obj);
			return false;
		}
		rc = X509_REQ_add1_attr_by_OBJ(req, obj, printable(text, len) ?
		    V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING,
		    (const unsigned char *)text, (int)len);
		ASN1_OBJECT_free(obj);
		if (rc != 1) {
			cr_err_openssl(err, "cannot add custom attribute %s",
			    key);
			return false;
		}
	}
	return true;
}

X509_REQ *
cr_csr_new(const struct cr_csr_spec *spec, cr_err *err)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	json_t *ext_reqs = NULL, *custom = NULL;
	bool ok = false;

	if (spec == NULL || spec->key == NULL) {
		bad_param(err, "key", "a CSR needs a key");
		goto out;
	}
	if (!cr_certname_valid(spec->certname)) {
		bad_param(err, "certname", "'%s' is not a valid certname "
		    "(lower-case letters, digits, '.', '-', '_')",
		    spec->certname ? spec->certname : "(null)");
		goto out;
	}
	if (!attr_section(spec->attributes, "extension_requests", &ext_reqs,
	    err) || !attr_section(spec->attributes, "custom_attributes",
	    &custom, err))
		goto out;
	if ((req = X509_REQ_new()) == NULL || (name = X509_NAME_new()) == NULL
	    || (exts = sk_X509_EXTENSION_new_null()) == NULL) {
		cr_err_openssl(err, "cannot allocate a CSR");
		goto out;
	}
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
	    (const unsigned char *)spec->certname, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, spec->key) != 1) {
		cr_err_openssl(err, "cannot set the CSR's subject or key");
		goto out;
	}
	/* Puppet's order: custom attributes, then extReq (its extensions
	 * in the order given, subjectAltName last) */
	if ((custom != NULL && !add_custom_attributes(req, custom, err)) ||
	    (ext_reqs != NULL && !add_extension_requests(ext_reqs,
	    spec->allow_authorization_extensions, exts, err)) ||
	    !add_san(spec, exts, err))
		goto out;
	if (sk_X509_EXTENSION_num(exts) > 0 &&
	    X509_REQ_add_extensions(req, exts) != 1) {
		cr_err_openssl(err, "cannot add the extension requests");
		goto out;
	}
	if (X509_REQ_sign(req, spec->key, EVP_sha256()) <= 0) {
		cr_err_openssl(err, "cannot sign the CSR for %s",
		    spec->certname);
		goto out;
	}
	/* as Puppet: "CSR sign verification failed" */
	if (X509_REQ_verify(req, spec->key) != 1) {
		cr_err_openssl(err, "the CSR for %s does not verify with its "
		    "own key", spec->certname);
		goto out;
	}
	ok = true;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	if (!ok) {
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}

/* ---- files ------------------------------------------------------------ */

bool
cr_csr_write(const char *path, X509_REQ *req, mode_t mode, uid_t uid,
    gid_t gid, cr_err *err)
{
	BIO *bio = NULL;
	char *pem = NULL;
	long len;
	bool ok = false;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		cr_err_openssl(err, "cannot encode the CSR for %s", path);
		goto out;
	}
	ok = cr_file_write_atomic(path, pem, (size_t)len, mode, uid, gid, err);
out:
	BIO_free(bio);
	return ok;
}

X509_REQ *
cr_csr_parse(const char *pem, size_t len, const char *what, cr_err *err)
{
	X509_REQ *req = NULL;
	BIO *bio = NULL;

	if (len > (size_t)INT32_MAX)
		cr_err_set(err, CR_KIND_PARSE, "%s is too large", what);
	else if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL)
		cr_err_openssl(err, "%s holds no PEM certificate request", what);
	BIO_free(bio);
	return req;
}

X509_REQ *
cr_csr_read(const char *path, cr_err *err)
{
	X509_REQ *req = NULL;
	char *buf = NULL;
	size_t len = 0;

	if (cr_file_read(path, CR_MAX_PEM_FILE, &buf, &len, err))
		req = cr_csr_parse(buf, len, path, err);
	free(buf);
	return req;
}

/* ---- description ------------------------------------------------------ */

static json_t *
attr_value_json(X509_ATTRIBUTE *a)
{
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
	json_t *out = t != NULL ? cr_asn1_text_json(t) : NULL;

	return out != NULL ? out : json_null();
}

static json_t *
custom_attributes_json(X509_REQ *req)
{
	json_t *out = json_object();
	char oid[MAX_OID_TEXT];
	const char *name;
	int i, nid;

	for (i = 0; out != NULL && i < X509_REQ_get_attr_count(req); i++) {
		X509_ATTRIBUTE *a = X509_REQ_get_attr(req, i);
		ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(a);

		nid = OBJ_obj2nid(obj);
		if (nid == NID_ext_req || nid == NID_ms_ext_req ||
		    OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
			continue;
		name = cr_puppet_oid_name(oid);
		if (strcmp(oid, OID_CHALLENGE_PASSWORD) == 0 ||
		    strcmp(oid, OID_PP_PRESHARED_KEY) == 0)
			json_object_set_new(out, name ? name : oid,
			    json_string("(redacted)"));
		else
			cr_json_set(out, name ? name : oid, attr_value_json(a));
	}
	return out;
}

static json_t *
certname_json(X509_REQ *req)
{
	const X509_NAME *name = X509_REQ_get_subject_name(req);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);

	if (i < 0)
		return json_null();
	return cr_asn1_string_json(X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(name, i)));
}

json_t *
cr_csr_json(X509_REQ *req)
{
	json_t *out = NULL, *dns = NULL, *ip = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const X509_ALGOR *alg = NULL;
	EVP_PKEY *pub;
	char *s;

	if (req == NULL || (out = json_object()) == NULL ||
	    (dns = json_array()) == NULL || (ip = json_array()) == NULL) {
		json_decref(out);
		out = NULL;
		goto out;
	}
	s = cr_name_string(X509_REQ_get_subject_name(req));
	cr_json_set(out, "subject", s ? cr_json_str(s) : NULL);
	free(s);
	cr_json_set(out, "certname", certname_json(req));
	exts = X509_REQ_get_extensions(req);
	cr_sans_json(exts, dns, ip);
	json_object_set(out, "dns_alt_names", dns);
	json_object_set(out, "ip_alt_names", ip);
	cr_json_set(out, "extension_requests", cr_extensions_json(exts));
	cr_json_set(out, "custom_attributes", custom_attributes_json(req));
	pub = X509_REQ_get0_pubkey(req);
	cr_json_set(out, "key", pub ? cr_key_json(pub) : NULL);
	json_object_set_new(out, "signature_valid",
	    json_boolean(pub != NULL && X509_REQ_verify(req, pub) == 1));
	X509_REQ_get0_signature(req, NULL, &alg);
	cr_sigalg_set(out, alg);
	s = cr_fingerprint_req(req, EVP_sha256());
	cr_json_set(out, "fingerprint_sha256", s ? cr_json_str(s) : NULL);
	free(s);
	ERR_clear_error();	/* a CSR that does not verify is a value */
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	json_decref(dns);
	json_decref(ip);
	return out;
}
