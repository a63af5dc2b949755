/*
 * cr_x509.h - reading certificates, CRLs and keys, and describing them as
 * JSON.  Every fact and task field about a certificate comes from here.
 */
#ifndef CR_X509_H
#define CR_X509_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cr_err.h"

/* All certificates of a PEM file (a CA bundle may hold root + intermediate).
 * A file with no certificate is an error. Caller frees with
 * sk_X509_pop_free(s, X509_free). */
STACK_OF(X509) *cr_certs_read(const char *path, cr_err *err);
/* Same for the CRLs of a PEM file (Puppet's crl.pem holds one per CA). */
STACK_OF(X509_CRL) *cr_crls_read(const char *path, cr_err *err);
/* A private key (PEM, unencrypted); the file buffer is cleansed. */
EVP_PKEY *cr_key_read(const char *path, cr_err *err);
/* Parsers on memory, for the same formats (used by the readers above and by
 * tasks that receive PEM over HTTP). */
STACK_OF(X509) *cr_certs_parse(const char *pem, size_t len, const char *what,
    cr_err *err);
STACK_OF(X509_CRL) *cr_crls_parse(const char *pem, size_t len,
    const char *what, cr_err *err);

/* certs / crls as PEM text, in order: a new NUL-terminated string (*len
 * without the NUL), or NULL with err set (also for an empty stack). */
char *cr_certs_pem(STACK_OF(X509) *certs, size_t *len, cr_err *err);
char *cr_crls_pem(STACK_OF(X509_CRL) *crls, size_t *len, cr_err *err);
/* The private key of PEM text (unencrypted; the caller cleanses pem). */
EVP_PKEY *cr_key_parse(const char *pem, size_t len, const char *what,
    cr_err *err);

/* "YYYY-MM-DDTHH:MM:SSZ" from an ASN1_TIME; false if unparseable. */
bool cr_asn1_time_epoch(const ASN1_TIME *t, time_t *out);
void cr_iso8601(time_t t, char buf[21]);
/* Whole days from now until t, rounded down (negative once past). */
long long cr_days_until(time_t t, time_t now);

/* New "AB:CD:..." (upper-case colon hex) digest of a DER encoding. */
char *cr_fingerprint_x509(X509 *x, const EVP_MD *md);
char *cr_fingerprint_req(X509_REQ *r, const EVP_MD *md);
char *cr_hex_colon(const unsigned char *p, size_t n);
/* New RFC 2253 string of a name ("CN=agent.example.com"). */
char *cr_name_string(const X509_NAME *name);
/* A memory BIO's contents as a new NUL-terminated string (its length in
 * *len when len is not NULL); NULL when out of memory. */
char *cr_bio_string(BIO *bio, size_t *len);
/* New upper-case hex serial, as `openssl x509 -serial` prints it. */
char *cr_serial_hex(const X509 *x);

/* Puppet's short name for an OID in its arc (pp_role, pp_cli_auth, ...), or
 * NULL when it has none. */
const char *cr_puppet_oid_name(const char *oid);
/* Reverse: the dotted OID of a Puppet short name, or NULL. */
const char *cr_puppet_oid_number(const char *name);

/* {"type": "RSA", "bits": 4096} or {"type": "EC", "curve": "prime256v1", "bits": 256} */
json_t *cr_key_json(const EVP_PKEY *pkey);
/* The full description of a certificate: subject, issuer, serial, dates,
 * expires_in_days, fingerprint_sha256, dns_alt_names, ip_alt_names,
 * extensions, signature_algorithm, key. */
json_t *cr_cert_json(X509 *x, time_t now);
/* A CA bundle entry: subject, issuer, serial, not_after, expires_in_days,
 * fingerprint_sha256. */
json_t *cr_ca_json(X509 *x, time_t now);
/* A CRL: issuer, last_update, next_update, expires_in_days, revoked_count. */
json_t *cr_crl_json(X509_CRL *crl, time_t now);
/* The bytes of s as a JSON string (U+FFFD for what is not UTF-8). */
json_t *cr_asn1_string_json(const ASN1_STRING *s);
/* The text of a DER string type Puppet reads as text (UTF8String,
 * PrintableString, IA5String, VisibleString, T61String); NULL for any other
 * type. */
json_t *cr_asn1_text_json(const ASN1_TYPE *t);
/* obj's "signature_algorithm": alg's name, or null when it has none. */
void cr_sigalg_set(json_t *obj, const X509_ALGOR *alg);
/* SANs of an extension stack into two arrays (borrowed: appended to). */
void cr_sans_json(const STACK_OF(X509_EXTENSION) *exts, json_t *dns, json_t *ip);
/* Extensions that are not plain X.509 plumbing: Puppet's pp_* by name, others
 * by dotted OID; values are strings (UTF-8) or upper-case hex of the DER. */
json_t *cr_extensions_json(const STACK_OF(X509_EXTENSION) *exts);

/* Puppet's certificate_revocation setting. */
enum cr_crl_mode {
	CR_CRL_CHAIN = 0,	/* "chain" (default): a CRL for every CA */
	CR_CRL_LEAF,		/* "leaf": only the leaf's issuer's CRL */
	CR_CRL_OFF,		/* "false": no revocation check */
};
/* Maps the setting's text; unknown or NULL -> CR_CRL_CHAIN. */
enum cr_crl_mode cr_crl_mode_parse(const char *setting);

/*
 * Verifies leaf against the CA bundle (every cert trusted, as Puppet does)
 * and, when crls is non-empty and mode is not CR_CRL_OFF, the CRLs with
 * CRL_CHECK (+ CRL_CHECK_ALL for CR_CRL_CHAIN), at time now.  Returns 1
 * valid, 0 invalid (*why = OpenSSL's reason, static), -1 error (err set).
 */
int cr_verify_chain(X509 *leaf, STACK_OF(X509) *bundle,
    STACK_OF(X509_CRL) *crls, enum cr_crl_mode mode, time_t now,
    const char **why, cr_err *err);
/* What a verification found.  code is the first error (what a plain
 * verification stops at); leaf_code the first error of the leaf itself
 * (not expired/untrusted CA certificates, not CRL problems: those are
 * ca_code, and verification goes on past them to find leaf_code). */
struct cr_crl_set;
struct cr_verify_detail {
	int code, depth;
	int leaf_code, ca_code;
	const char *why;	/* OpenSSL's text of code, static */
	const struct cr_crl_set *set;	/* the reduced CRLs (cr_crl_fast.h) */
};
/* cr_verify_chain with the detail above (d is always filled).  When crls
 * come from a cr_crl_set, pass it as set: a reduced CRL is then taken as
 * signed when its original was (cr_crl_set_signed); else NULL. */
int cr_verify_chain_detail(X509 *leaf, STACK_OF(X509) *bundle,
    STACK_OF(X509_CRL) *crls, const struct cr_crl_set *set,
    enum cr_crl_mode mode, time_t now, struct cr_verify_detail *d,
    cr_err *err);

/* OpenSSL's default TLS security level (a fresh SSL_CTX's, so the system
 * configuration counts) and the minimum security bits of a level. */
int cr_tls_security_level(void);
int cr_security_level_bits(int level);
/* Appends a reason to `reasons` for x's key and for x's signature when
 * their security bits are below the default level's minimum (what makes
 * TLS refuse the certificate: "ee key too small", "ca md too weak").
 * Returns how many were appended (0: strong enough). */
int cr_weak_crypto(X509 *x, json_t *reasons);

/* 1 revoked, 0 not revoked by a CRL of its issuer, -1 no CRL of its issuer. */
int cr_revoked_by(X509 *x, STACK_OF(X509_CRL) *crls);
/* The index of the first CRL that no certificate of bundle bearing its
 * issuer's name has signed, or -1 when every CRL is signed so. */
int cr_crls_unsigned(STACK_OF(X509_CRL) *crls, STACK_OF(X509) *bundle);
/* 1 the key is the certificate's, 0 it is not. */
int cr_key_matches(X509 *x, EVP_PKEY *key);

#endif
