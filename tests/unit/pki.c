/*
 * pki.c - a throwaway Puppet-style PKI for the unit tests (see pki.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki.h"

static EVP_PKEY *rsa_cache[PKI_CACHED_KEYS];
static EVP_PKEY *ec_cache;
static uint64_t next_serial = 3;	/* 1 and 2 are the CAs, as on puppetserver */

EVP_PKEY *
pki_key_new(enum pki_key_kind kind)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	bool ec = kind == PKI_EC_P256 || kind == PKI_EC_SECP112R1;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, ec ? "EC" : "RSA", NULL))
	    == NULL || EVP_PKEY_keygen_init(ctx) != 1)
		goto out;
	if (ec ? EVP_PKEY_CTX_set_group_name(ctx, kind == PKI_EC_P256 ?
	    "P-256" : "secp112r1") != 1 :
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, kind == PKI_RSA4096 ? 4096 :
	    kind == PKI_RSA1024 ? 1024 : 2048) != 1)
		goto out;
	if (EVP_PKEY_generate(ctx, &key) != 1)
		key = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static EVP_PKEY *
cached(EVP_PKEY **slot, enum pki_key_kind kind)
{
	if (*slot == NULL)
		*slot = pki_key_new(kind);
	if (*slot == NULL || EVP_PKEY_up_ref(*slot) != 1)
		return NULL;
	return *slot;
}

EVP_PKEY *
pki_rsa_cached(int slot)
{
	if (slot < 0 || slot >= PKI_CACHED_KEYS)
		return NULL;
	return cached(&rsa_cache[slot], PKI_RSA2048);
}

EVP_PKEY *
pki_ec_cached(void)
{
	return cached(&ec_cache, PKI_EC_P256);
}

void
pki_cleanup(void)
{
	int i;

	for (i = 0; i < PKI_CACHED_KEYS; i++) {
		EVP_PKEY_free(rsa_cache[i]);
		rsa_cache[i] = NULL;
	}
	EVP_PKEY_free(ec_cache);
	ec_cache = NULL;
}

static bool
set_time(ASN1_TIME *t, time_t now, long long offset)
{
	return ASN1_TIME_set(t, (time_t)((long long)now + offset)) != NULL;
}

/* An extension from OpenSSL's config syntax ("critical,CA:TRUE"). */
static bool
add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool ok = e != NULL && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok;
}

static bool
add_custom_ext(X509 *x, const struct pki_ext *pe)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *data = NULL;
	ASN1_UTF8STRING *u = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int dlen;
	bool ok = false;

	if ((obj = OBJ_txt2obj(pe->oid, 1)) == NULL ||
	    (data = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	if (pe->utf8 != NULL) {
		if ((u = ASN1_UTF8STRING_new()) == NULL ||
		    ASN1_STRING_set(u, pe->utf8, -1) != 1 ||
		    (dlen = i2d_ASN1_UTF8STRING(u, &der)) <= 0 ||
		    ASN1_OCTET_STRING_set(data, der, dlen) != 1)
			goto out;
	} else if (ASN1_OCTET_STRING_set(data, pe->raw, (int)pe->raw_len) != 1)
		goto out;
	if ((ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, data)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	ok = true;
out:
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_UTF8STRING_free(u);
	ASN1_OCTET_STRING_free(data);
	ASN1_OBJECT_free(obj);
	return ok;
}

static bool
push_name(GENERAL_NAMES *names, int type, ASN1_STRING *value)
{
	GENERAL_NAME *gn;

	if (value == NULL || (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(value);
		return false;
	}
	GENERAL_NAME_set0_value(gn, type, value);
	if (!sk_GENERAL_NAME_push(names, gn)) {
		GENERAL_NAME_free(gn);
		return false;
	}
	return true;
}

static bool
add_sans(X509 *x, const char *const *dns, const char *const *ip)
{
	GENERAL_NAMES *names;
	ASN1_IA5STRING *s;
	bool ok = false;

	if ((dns == NULL || dns[0] == NULL) && (ip == NULL || ip[0] == NULL))
		return true;
	if ((names = GENERAL_NAMES_new()) == NULL)
		return false;
	for (; dns != NULL && *dns != NULL; dns++) {
		if ((s = ASN1_IA5STRING_new()) != NULL &&
		    ASN1_STRING_set(s, *dns, -1) != 1) {
			ASN1_IA5STRING_free(s);
			s = NULL;
		}
		if (!push_name(names, GEN_DNS, s))
			goto out;
	}
	for (; ip != NULL && *ip != NULL; ip++)
		if (!push_name(names, GEN_IPADD, a2i_IPADDRESS(*ip)))
			goto out;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0,
	    X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAMES_free(names);
	return ok;
}

/* The parts every certificate has: version, serial, names, dates, key. */
static X509 *
cert_base(const char *cn, EVP_PKEY *pub, const X509 *issuer, uint64_t serial,
    time_t now, long long not_before, long long not_after)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	bool ok = false;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
	    serial ? serial : next_serial++) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    name) != 1 ||
	    !set_time(X509_getm_notBefore(x), now, not_before) ||
	    !set_time(X509_getm_notAfter(x), now, not_after) ||
	    X509_set_pubkey(x, pub) != 1)
		goto out;
	ok = true;
out:
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

pki_ca *
pki_ca_new(const char *cn, EVP_PKEY *key, const pki_ca *parent, time_t now,
    long long not_before, long long not_after)
{
	pki_ca *ca = NULL;
	X509V3_CTX v3;
	bool ok = false;

	if (key == NULL || (ca = calloc(1, sizeof(*ca))) == NULL)
		goto out;
	if (EVP_PKEY_up_ref(key) != 1)
		goto out;
	ca->key = key;
	if ((ca->cert = cert_base(cn, key, parent ? parent->cert : NULL,
	    parent ? 0 : 1, now, not_before, not_after)) == NULL)
		goto out;
	X509V3_set_ctx(&v3, parent ? parent->cert : ca->cert, ca->cert, NULL,
	    NULL, 0);
	if (!add_conf_ext(ca->cert, &v3, NID_basic_constraints,
	    "critical,CA:TRUE") ||
	    !add_conf_ext(ca->cert, &v3, NID_key_usage,
	    "critical,keyCertSign,cRLSign") ||
	    !add_conf_ext(ca->cert, &v3, NID_subject_key_identifier, "hash") ||
	    (parent != NULL && !add_conf_ext(ca->cert, &v3,
	    NID_authority_key_identifier, "keyid:always")) ||
	    X509_sign(ca->cert, parent ? parent->key : key, EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	if (!ok) {
		pki_ca_free(ca);
		ca = NULL;
	}
	return ca;
}

void
pki_ca_free(pki_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

void
pki_leaf_opts_init(struct pki_leaf_opts *o, const char *cn, EVP_PKEY *key,
    time_t now)
{
	memset(o, 0, sizeof(*o));
	o->cn = cn;
	o->key = key;
	o->now = now;
	o->not_before = -PKI_DAY;
	o->not_after = 5 * PKI_YEAR;
}

X509 *
pki_leaf_new(const struct pki_leaf_opts *o, const pki_ca *issuer)
{
	X509 *x;
	X509V3_CTX v3;
	const struct pki_ext *e;
	bool ok = false;

	if ((x = cert_base(o->cn, o->key, issuer->cert, o->serial, o->now,
	    o->not_before, o->not_after)) == NULL)
		return NULL;
	X509V3_set_ctx(&v3, issuer->cert, x, NULL, NULL, 0);
	if (!add_conf_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_conf_ext(x, &v3, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment") ||
	    !add_conf_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    !add_conf_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    !add_conf_ext(x, &v3, NID_authority_key_identifier,
	    "keyid:always") ||
	    !add_sans(x, o->dns, o->ip))
		goto out;
	for (e = o->exts; e != NULL && e->oid != NULL; e++)
		if (!add_custom_ext(x, e))
			goto out;
	if (X509_sign(x, issuer->key, o->md ? o->md : EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

X509_REQ *
pki_csr_new(const char *cn, EVP_PKEY *key)
{
	X509_REQ *r = NULL;
	X509_NAME *name = NULL;
	bool ok = false;

	if ((r = X509_REQ_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(r, name) != 1 ||
	    X509_REQ_set_pubkey(r, key) != 1 ||
	    X509_REQ_sign(r, key, EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	X509_NAME_free(name);
	if (!ok) {
		X509_REQ_free(r);
		r = NULL;
	}
	return r;
}

/* A CRL without entries, not yet signed. */
static X509_CRL *
crl_base(const pki_ca *ca, time_t now, long long last_update,
    long long next_update)
{
	X509_CRL *crl = NULL;
	ASN1_TIME *lu = NULL, *nu = NULL;
	bool ok = false;

	if ((crl = X509_CRL_new()) == NULL ||
	    (lu = ASN1_TIME_new()) == NULL || (nu = ASN1_TIME_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert))
	    != 1 || !set_time(lu, now, last_update) ||
	    !set_time(nu, now, next_update) ||
	    X509_CRL_set1_lastUpdate(crl, lu) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, nu) != 1)
		goto out;
	ok = true;
out:
	ASN1_TIME_free(lu);
	ASN1_TIME_free(nu);
	if (!ok) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

/* CRL number + AKID, then the signature. */
static bool
crl_finish(X509_CRL *crl, const pki_ca *ca, long number)
{
	ASN1_INTEGER *num = NULL;
	X509_EXTENSION *akid = NULL;
	X509V3_CTX v3;
	bool ok = false;

	X509V3_set_ctx(&v3, ca->cert, NULL, NULL, crl, 0);
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    (akid = X509V3_EXT_conf_nid(NULL, &v3,
	    NID_authority_key_identifier, "keyid:always")) == NULL ||
	    X509_CRL_add_ext(crl, akid, -1) != 1 ||
	    X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0)
		goto out;
	ok = true;
out:
	ASN1_INTEGER_free(num);
	X509_EXTENSION_free(akid);
	return ok;
}

static bool
crl_add(X509_CRL *crl, ASN1_INTEGER *serial, const ASN1_TIME *when)
{
	X509_REVOKED *r;

	if ((r = X509_REVOKED_new()) == NULL ||
	    X509_REVOKED_set_serialNumber(r, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)when) != 1 ||
	    X509_CRL_add0_revoked(crl, r) != 1) {
		X509_REVOKED_free(r);
		return false;
	}
	return true;
}

static X509_CRL *
crl_make(const pki_ca *ca, time_t now, long long last_update,
    long long next_update, const uint64_t *list, uint64_t first, size_t n)
{
	X509_CRL *crl;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	size_t i;
	bool ok = false;

	if ((crl = crl_base(ca, now, last_update, next_update)) == NULL)
		return NULL;
	if ((serial = ASN1_INTEGER_new()) == NULL ||
	    (when = ASN1_TIME_new()) == NULL || !set_time(when, now, -3600))
		goto out;
	for (i = 0; i < n; i++)
		if (ASN1_INTEGER_set_uint64(serial,
		    list ? list[i] : first + i) != 1 ||
		    !crl_add(crl, serial, when))
			goto out;
	if (list != NULL && X509_CRL_sort(crl) != 1)
		goto out;
	ok = crl_finish(crl, ca, (long)n + 1);
out:
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	if (!ok) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

X509_CRL *
pki_crl_new(const pki_ca *ca, time_t now, long long last_update,
    long long next_update, const uint64_t *revoked, size_t n_revoked)
{
	static const uint64_t none[1];

	return crl_make(ca, now, last_update, next_update,
	    revoked ? revoked : none, 0, revoked ? n_revoked : 0);
}

X509_CRL *
pki_crl_bulk_new(const pki_ca *ca, time_t now, uint64_t first, size_t n)
{
	return crl_make(ca, now, -PKI_DAY, 5 * PKI_YEAR, NULL, first, n);
}

pki_world *
pki_world_new(time_t now)
{
	pki_world *w;
	EVP_PKEY *rk = pki_rsa_cached(0), *ik = pki_rsa_cached(1);
	bool ok = false;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto out;
	w->now = now;
	if ((w->root = pki_ca_new("Puppet Root CA: test", rk, NULL, now,
	    -PKI_YEAR, 14 * PKI_YEAR)) == NULL ||
	    (w->inter = pki_ca_new("Puppet CA: test", ik, w->root, now,
	    -PKI_YEAR, 14 * PKI_YEAR)) == NULL ||
	    (w->root_crl = pki_crl_new(w->root, now, -PKI_DAY, 5 * PKI_YEAR,
	    NULL, 0)) == NULL ||
	    (w->inter_crl = pki_crl_new(w->inter, now, -PKI_DAY, 5 * PKI_YEAR,
	    NULL, 0)) == NULL)
		goto out;
	ok = true;
out:
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	if (!ok) {
		pki_world_free(w);
		w = NULL;
	}
	return w;
}

void
pki_world_free(pki_world *w)
{
	if (w == NULL)
		return;
	pki_ca_free(w->root);
	pki_ca_free(w->inter);
	X509_CRL_free(w->root_crl);
	X509_CRL_free(w->inter_crl);
	free(w);
}

static char *
bio_take(BIO *bio, size_t *len)
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

/* Writes object i of objs (an array of X509 * or of X509_CRL *) as PEM. */
typedef int pem_write_fn(BIO *bio, const void *objs, size_t i);

static int
pem_write_cert(BIO *bio, const void *objs, size_t i)
{
	return PEM_write_bio_X509(bio, ((X509 *const *)objs)[i]);
}

static int
pem_write_crl(BIO *bio, const void *objs, size_t i)
{
	return PEM_write_bio_X509_CRL(bio, ((X509_CRL *const *)objs)[i]);
}

/* The n objects one after the other, as a new PEM string. */
static char *
pem_all(const void *objs, size_t n, pem_write_fn *write_one, size_t *len)
{
	BIO *bio;
	char *out = NULL;
	size_t i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (write_one(bio, objs, i) != 1)
			goto out;
	out = bio_take(bio, len);
out:
	BIO_free(bio);
	return out;
}

char *
pki_certs_pem(X509 *const *certs, size_t n, size_t *len)
{
	return pem_all(certs, n, pem_write_cert, len);
}

char *
pki_crls_pem(X509_CRL *const *crls, size_t n, size_t *len)
{
	return pem_all(crls, n, pem_write_crl, len);
}

bool
pki_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	size_t done = 0;
	ssize_t n;
	int fd;
	bool ok = false;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return false;
	if (fchmod(fd, mode) == -1)
		goto out;
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	ok = true;
out:
	if (close(fd) == -1)
		ok = false;
	return ok;
}

/* The n objects written as PEM to path (mode 0644). */
static bool
pem_write_all(const char *path, const void *objs, size_t n,
    pem_write_fn *write_one)
{
	size_t len = 0;
	char *pem = pem_all(objs, n, write_one, &len);
	bool ok = pem != NULL && pki_write_file(path, pem, len, 0644);

	free(pem);
	return ok;
}

bool
pki_write_certs(const char *path, X509 *const *certs, size_t n)
{
	return pem_write_all(path, certs, n, pem_write_cert);
}

bool
pki_write_crls(const char *path, X509_CRL *const *crls, size_t n)
{
	return pem_write_all(path, crls, n, pem_write_crl);
}

/* Traditional PEM ("BEGIN RSA PRIVATE KEY" / "BEGIN EC PRIVATE KEY"), as
 * Puppet's Ruby OpenSSL writes keys. */
bool
pki_write_key(const char *path, EVP_PKEY *key, mode_t mode)
{
	BIO *bio;
	char *data = NULL;
	long n;
	bool ok = false;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return false;
	if (PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL,
	    NULL) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0)
		ok = pki_write_file(path, data, (size_t)n, mode);
	BIO_free(bio);
	return ok;
}

static bool
mkdir_p(const char *dir, const char *sub, mode_t mode)
{
	char *p = pki_path(dir, sub);
	bool ok = p != NULL && (mkdir(p, mode) == 0 || errno == EEXIST);

	free(p);
	return ok;
}

/* dir/sub/<certname>.pem */
static char *
pem_path(const char *dir, const char *sub, const char *certname)
{
	char *rel = NULL, *out;

	if (asprintf(&rel, "%s/%s.pem", sub, certname) == -1)
		return NULL;
	out = pki_path(dir, rel);
	free(rel);
	return out;
}

static bool
write_csr(const char *path, const char *cn, EVP_PKEY *key)
{
	X509_REQ *r = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	size_t len = 0;
	bool ok = false;

	if (key == NULL || (r = pki_csr_new(cn, key)) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, r) != 1 ||
	    (pem = bio_take(bio, &len)) == NULL)
		goto out;
	ok = pki_write_file(path, pem, len, 0644);
out:
	free(pem);
	BIO_free(bio);
	X509_REQ_free(r);
	return ok;
}

bool
pki_ssldir_write(const char *dir, const struct pki_ssldir *s)
{
	char *hostcert = NULL, *hostkey = NULL, *csr = NULL, *ca = NULL,
	    *crl = NULL;
	bool ok = false;

	if (mkdir(dir, 0771) == -1 && errno != EEXIST)
		return false;
	if (!mkdir_p(dir, "certs", 0755) ||
	    !mkdir_p(dir, "private_keys", 0750) ||
	    !mkdir_p(dir, "public_keys", 0755) ||
	    !mkdir_p(dir, "certificate_requests", 0755) ||
	    (hostcert = pem_path(dir, "certs", s->certname)) == NULL ||
	    (hostkey = pem_path(dir, "private_keys", s->certname)) == NULL ||
	    (csr = pem_path(dir, "certificate_requests", s->certname)) == NULL ||
	    (ca = pki_path(dir, "certs/ca.pem")) == NULL ||
	    (crl = pki_path(dir, "crl.pem")) == NULL)
		goto out;
	if ((s->leaf != NULL && !pki_write_certs(hostcert, &s->leaf, 1)) ||
	    (s->key != NULL && !pki_write_key(hostkey, s->key, 0640)) ||
	    (s->n_cas > 0 && !pki_write_certs(ca, s->cas, s->n_cas)) ||
	    (s->n_crls > 0 && !pki_write_crls(crl, s->crls, s->n_crls)) ||
	    (s->csr && !write_csr(csr, s->certname, s->key)))
		goto out;
	ok = true;
out:
	free(hostcert);
	free(hostkey);
	free(csr);
	free(ca);
	free(crl);
	return ok;
}

bool
pki_ssldir_write_world(const char *dir, const pki_world *w,
    const char *certname, X509 *leaf, EVP_PKEY *key)
{
	X509 *cas[2] = { w->inter->cert, w->root->cert };
	X509_CRL *crls[2] = { w->inter_crl, w->root_crl };
	struct pki_ssldir s = {
		.certname = certname, .leaf = leaf, .key = key,
		.cas = cas, .n_cas = 2, .crls = crls, .n_crls = 2,
	};

	return pki_ssldir_write(dir, &s);
}

char *
pki_tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/cr_unit.XXXXXX", base) == -1)
		return NULL;
	if (mkdtemp(path) == NULL) {
		free(path);
		return NULL;
	}
	return path;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

void
pki_rmtree(const char *dir)
{
	if (dir != NULL && dir[0] == '/')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
pki_path(const char *dir, const char *rel)
{
	char *out = NULL;

	if (asprintf(&out, "%s/%s", dir, rel) == -1)
		return NULL;
	return out;
}

char *pki_dir;

int
pki_group_setup(void **state)
{
	(void)state;
	return (pki_dir = pki_tmpdir_new()) == NULL ? -1 : 0;
}

int
pki_group_teardown(void **state)
{
	(void)state;
	pki_rmtree(pki_dir);
	free(pki_dir);
	pki_dir = NULL;
	pki_cleanup();
	return 0;
}
