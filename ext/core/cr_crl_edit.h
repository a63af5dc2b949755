/*
 * cr_crl_edit.h - revoke a certificate in a CA's CRL offline, the way
 * puppetserver keeps its ca_crl.pem: the CRL of the issuing CA gets the
 * serial, its crlNumber goes up by one, thisUpdate becomes now, and it is
 * re-signed (SHA-256) with the CA key; the other CRLs of the chain (the
 * root's) are kept byte for byte, in their order.
 */
#ifndef CR_CRL_EDIT_H
#define CR_CRL_EDIT_H

#include <stdbool.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cr_err.h"

/*
 * Adds serial to the CRL in crls issued by ca (same subject, signature
 * verified with cakey, which must be ca's key).  *changed is false when the
 * serial was listed already (nothing is modified).  Errors: no CRL of ca
 * in the chain, key mismatch (CR_KIND_INVALID_PARAMETER), OpenSSL failures
 * (CR_KIND_OPENSSL with the whole error queue).
 */
bool cr_crl_revoke(STACK_OF(X509_CRL) *crls, X509 *ca, EVP_PKEY *cakey,
    const ASN1_INTEGER *serial, time_t now, bool *changed, cr_err *err);

#endif
