/*
 * cr_ca_renew.h - renewing a CA with its own keys (cert_regen::ca_renew)
 * and the rule an agent applies before it trusts a renewed bundle
 * (cert_regen::ca_bundle_update).
 *
 * Renewal: each CA certificate of the bundle is copied (X509_dup: subject,
 * issuer, serial, public key, every extension, so the subject and
 * authority key identifiers too) and given notBefore = now - 1 day and
 * notAfter = now + days, then signed again with the digest of its old
 * signature by the key of its issuer: a self-signed certificate by its own
 * key, an intermediate by the key of the bundle's certificate that issued
 * it.  Certificates and CRLs signed by the old CA certificates verify
 * against the new ones (same names, same keys, same key identifiers).
 *
 * The serial stays: puppetserver's CA writes into every certificate it
 * signs an authority key identifier that names the issuer's issuer AND
 * SERIAL (keyid, DirName, serial), and OpenSSL (and Java) then accept only
 * an issuer with that serial: a new serial would cut every agent off
 * (measured on puppetserver 7.9.5: "sslv3 alert certificate unknown").
 *
 * Acceptance: a new bundle is trusted only when each of its certificates
 * has the public key AND the subject of a certificate the node already
 * trusts, or when the bundle matches a pinned SHA-256 fingerprint.
 */
#ifndef CR_CA_RENEW_H
#define CR_CA_RENEW_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cr_err.h"

#define CR_CA_RENEW_DAYS_DEFAULT 5475L	/* 15 years, Puppet's ca_ttl */
#define CR_CA_RENEW_DAYS_MIN 30L

/*
 * The renewed bundle (new stack, same order as bundle), or NULL with err
 * set (CR_KIND_CA_RENEW when a certificate's signing key is not among
 * keys[0..nkeys-1] or its issuer is not in the bundle).
 */
STACK_OF(X509) *cr_ca_renew(STACK_OF(X509) *bundle, EVP_PKEY *const *keys,
    size_t nkeys, time_t now, long days, cr_err *err);

/*
 * true when days from now reaches at least the latest notAfter of bundle:
 * the renewal does not shorten the CA.  Else false with err set
 * (CR_KIND_INVALID_PARAMETER; details parameter, days_min: the fewest days
 * that do not shorten it, current_not_after, subject).
 */
bool cr_ca_renew_not_shorter(STACK_OF(X509) *bundle, time_t now, long days,
    cr_err *err);

/*
 * true when every certificate of fresh has the public key and subject of
 * one in trusted; else false with err set (CR_KIND_CA_KEY_CHANGED, details
 * subject, fingerprint_sha256 of the first stranger).
 */
bool cr_ca_bundle_acceptable(STACK_OF(X509) *trusted, STACK_OF(X509) *fresh,
    cr_err *err);

/* true when a certificate of fresh ends before the trusted certificate
 * with its key and subject: an older bundle (a replay, or a CA put back
 * from a backup), which must not replace a renewed one. */
bool cr_ca_bundle_older(STACK_OF(X509) *trusted, STACK_OF(X509) *fresh);

/* cert_regen::ca_bundle_update's parameters */
struct cr_bundle_opts {
	const char *confdir;	/* NULL: packaging default */
	const char *ca_server;	/* NULL: the ca_server setting */
	int ca_port;		/* 0: the ca_port setting */
	const char *ca_fingerprint;	/* optional SHA-256 pin */
	const char *backup_dir;	/* NULL: <ssldir>_bak */
	long lock_timeout_ms;	/* < 0: default */
	bool noop;
};

/*
 * Fetches the CA's bundle (over TLS verified with the node's bundle; when
 * that fails because the node's bundle no longer verifies, over TLS that
 * is not verified, the content being checked instead), accepts it by
 * cr_ca_bundle_acceptable (or the pin), and installs it as localcacert
 * (backup of the ssldir first, atomic, fsync).  Result: state current |
 * updated | would_update, per CA certificate old and new not_after, and
 * offered_ends_sooner: the CA offered a bundle (same keys) that ends
 * before the installed one, which was kept (state current).
 */
json_t *cr_ca_bundle_update(const struct cr_bundle_opts *o, cr_err *err);

#endif
