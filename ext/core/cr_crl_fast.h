/*
 * cr_crl_fast.h - CRLs for the fact and the status task without decoding
 * every revoked entry.
 *
 * A 100,000-entry CRL costs ~100 ms to decode into an X509_CRL (one
 * X509_REVOKED per entry); the status only ever asks about a handful of
 * serials (the host certificate's and the CA certificates').  So each CRL
 * of the PEM file is read like this:
 *   - the DER is walked (definite lengths only, every TLV bounded): the
 *     header fields, and each entry's serial and extensions;
 *   - the signature is verified with EVP over the original TBSCertList
 *     bytes, with the key of a bundle certificate named as the CRL's issuer
 *     (the algorithm as X509_CRL_verify takes it: outer and inner
 *     AlgorithmIdentifier equal, no unused bits in the signature);
 *   - a reduced CRL is built: the same DER with only the entries whose
 *     serial is one of `keep` or that are not in the plainest form
 *     (minimal serial, canonical time, no extension but one non-critical
 *     reasonCode): whatever OpenSSL would refuse or act on in the full CRL
 *     it still sees; the reduced CRL is decoded by OpenSSL (d2i_X509_CRL)
 *     as usual: issuer, dates, extensions, the kept entries are OpenSSL's.
 * A reduced CRL's own signature no longer verifies; cr_verify_chain_detail
 * accepts X509_V_ERR_CRL_SIGNATURE_FAILURE for it only when the issuer
 * OpenSSL chose has the key that verified the original.  Anything the
 * walker does not take (BER, RSA-PSS, an unknown algorithm, a malformed
 * entry) falls back to the full decode of that CRL, so the answer is
 * OpenSSL's in every case.
 */
#ifndef CR_CRL_FAST_H
#define CR_CRL_FAST_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "cr_err.h"

/* One CRL of a set, parallel to the stack. */
struct cr_crl_info {
	X509_CRL *crl;		/* borrowed from the set's stack */
	EVP_PKEY *signer;	/* owned: the key that verified the original
				 * (reduced CRLs only), or NULL */
	bool reduced;		/* entries were left out */
	long revoked_count;	/* entries in the original */
};

struct cr_crl_set {
	STACK_OF(X509_CRL) *crls;	/* owned */
	struct cr_crl_info *info;	/* owned, sk_X509_CRL_num(crls) */
};

/*
 * Parses the CRLs of PEM text (as cr_crls_parse, same errors) keeping only
 * the entries about the serials of the certificates in keep (NULL
 * entries and NULL stacks skipped); signatures are checked against the
 * certificates of bundle.  False with err set when cr_crls_parse would
 * fail.  Free with cr_crl_set_clear().
 */
bool cr_crl_set_parse(const char *pem, size_t len, const char *what,
    STACK_OF(X509) *keep, STACK_OF(X509) *bundle, struct cr_crl_set *out,
    cr_err *err);
bool cr_crl_set_read(const char *path, STACK_OF(X509) *keep,
    STACK_OF(X509) *bundle, struct cr_crl_set *out, cr_err *err);
/* A set around CRLs decoded in full (takes crls). */
bool cr_crl_set_wrap(STACK_OF(X509_CRL) *crls, struct cr_crl_set *out);
void cr_crl_set_clear(struct cr_crl_set *s);

/* True when crl is a reduced CRL of the set whose original was verified
 * with the key of issuer. */
bool cr_crl_set_signed(const struct cr_crl_set *s, const X509_CRL *crl,
    X509 *issuer);

#endif
