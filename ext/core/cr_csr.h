/*
 * cr_csr.h - certificate signing requests built the way Puppet 7 builds
 * them (lib/puppet/ssl/certificate_request.rb), and described as JSON.
 *
 * What Puppet does and this matches:
 *  - version 0, subject CN=<certname> (UTF8String), SHA-256 signature,
 *    verified after signing;
 *  - alt names: when any are given, the certname is added as a DNS name;
 *    entries become "DNS:x" / "IP:x" strings, sorted (byte order),
 *    de-duplicated, in ONE subjectAltName extension (non-critical);
 *    without alt names there is no SAN extension at all;
 *  - extension_requests: each key (pp_* short name or dotted OID) becomes
 *    a non-critical extension whose value is the DER of a UTF8String of
 *    the value, in the object's order, before the SAN extension, all in
 *    one extReq attribute (absent when there are no extensions);
 *  - custom_attributes (e.g. challengePassword 1.2.840.113549.1.9.7):
 *    one attribute per key, value a SET of one PrintableString.  Puppet
 *    tags any value PrintableString even when it holds characters
 *    PrintableString cannot (e.g. "@", "_", "!"); here such a value is
 *    a UTF8String instead, which is valid DER and reads back the same.
 * Stricter than Puppet: extension OIDs must be in Puppet's arcs
 * 1.3.6.1.4.1.34380.1.1 (ppRegCertExt) or .1.2 (ppPrivCertExt) - .1.3
 * (ppAuthCertExt) only with allow_authorization_extensions, as
 * puppetserver's allow-authorization-extensions; DNS names must be
 * hostnames (optionally "*."-prefixed); duplicates are refused.
 */
#ifndef CR_CSR_H
#define CR_CSR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cr_err.h"

#define CR_PP_REG_ARC "1.3.6.1.4.1.34380.1.1"
#define CR_PP_PRIV_ARC "1.3.6.1.4.1.34380.1.2"
#define CR_PP_AUTH_ARC "1.3.6.1.4.1.34380.1.3"
#define CR_MAX_ATTR_VALUE 4096	/* bytes of one extension/attribute value */

struct cr_csr_spec {
	const char *certname;			/* cr_certname_valid */
	/* NULL-terminated lists, or NULL.  A dns entry may carry Puppet's
	 * "DNS:" or "IP:" prefix (as in the dns_alt_names setting). */
	const char *const *dns_alt_names;
	const char *const *ip_alt_names;	/* IPv4 / IPv6 text */
	/* {"custom_attributes": {k: v}, "extension_requests": {k: v}}, the
	 * shape cr_csr_attributes_read returns; values strings (integers and
	 * booleans are turned into text); NULL or members absent = none */
	json_t *attributes;
	bool allow_authorization_extensions;
	EVP_PKEY *key;				/* borrowed; signs the CSR */
};

/* A new signed CSR (X509_REQ_free), or NULL: bad input gets
 * CR_KIND_INVALID_PARAMETER with details.parameter, OpenSSL failures
 * CR_KIND_OPENSSL. */
X509_REQ *cr_csr_new(const struct cr_csr_spec *spec, cr_err *err);

/* PEM to path via cr_file_write_atomic (a CSR is public: Puppet uses
 * 0644). */
bool cr_csr_write(const char *path, X509_REQ *req, mode_t mode, uid_t uid,
    gid_t gid, cr_err *err);
/* The first CSR of a PEM file (bounded by CR_MAX_PEM_FILE). */
X509_REQ *cr_csr_read(const char *path, cr_err *err);
/* The first CSR of PEM text (what names it in messages). */
X509_REQ *cr_csr_parse(const char *pem, size_t len, const char *what,
    cr_err *err);

/*
 * New {"subject", "certname", "dns_alt_names": [], "ip_alt_names": [],
 * "extension_requests": {pp_* name or OID: value}, "custom_attributes":
 * {name or OID: value}, "key": cr_key_json, "signature_valid": bool,
 * "signature_algorithm", "fingerprint_sha256"}.  Secret attribute values
 * (challengePassword, pp_preshared_key) are given as "(redacted)".
 */
json_t *cr_csr_json(X509_REQ *req);

/* A strict DNS name for a SAN: [*.]label(.label)*, labels of [A-Za-z0-9-]
 * (1..63, no leading/trailing '-'), at most 253 bytes. */
bool cr_dns_name_valid(const char *name);
/*
 * The dotted OID of an extension_requests key (pp_* short name or dotted
 * OID) if Puppet's CA would accept it: within CR_PP_REG_ARC or
 * CR_PP_PRIV_ARC, or CR_PP_AUTH_ARC when allow_auth.  buf receives the
 * dotted form; false with CR_KIND_INVALID_PARAMETER otherwise.
 */
bool cr_ext_oid_resolve(const char *key, bool allow_auth, char *buf,
    size_t len, cr_err *err);

#endif
