/*
 * cr_http.h - a small libcurl client for puppetserver's CA API v1
 * (/puppet-ca/v1/...), for the agent side (regenerate) and the CA side
 * (clean, sign, list).
 *
 * Transport rules, fixed here rather than left to each caller:
 *   - https only (CURLOPT_PROTOCOLS_STR), TLS 1.2 or later, redirects are
 *     not followed (a 3xx is an error);
 *   - the peer is verified against opts.cacert ONLY: the system CA path and
 *     bundle compiled into libcurl are switched off, and the host name must
 *     be opts.server (Puppet's `ca_server`, a name or an IP in the server
 *     certificate's SANs).  Like Puppet, every certificate of the bundle is
 *     a trust anchor (root and intermediate);
 *   - no proxy from the environment: PE hosts often export http_proxy for
 *     package downloads, and sending the CA traffic (client certificate
 *     included) to that proxy would be a surprise.  Pass opts.proxy (from
 *     Puppet's http_proxy_host/http_proxy_port) to use one;
 *   - every body is bounded by opts.max_body: a larger body is an error
 *     (CR_KIND_CA_PROTOCOL), never a truncation;
 *   - nothing is logged; the client key is only handed to libcurl by path.
 *
 * Pinning (opts.ca_fingerprint, SHA-256): the pin names either the whole
 * PEM text of a bundle (what Puppet's `ca_fingerprint` setting compares)
 * or the DER of one CA certificate of it (what `openssl x509 -fingerprint
 * -sha256` and cr_ca_json() print), root or intermediate; then every other
 * certificate of the bundle must be linked to that one by a signature
 * (signed by a linked key, or one step up: carrying the key that signed
 * the pinned certificate; at most CR_HTTP_PIN_MAX_CERTS, see
 * cr_http_parse.h), so nothing unrelated rides along.  With opts.cacert
 * the pin is checked against that file in cr_http_new(): every chain
 * verified against it then ends at the pinned CA.  Puppetserver sends only its own certificate in
 * the handshake, so the pin cannot be checked on the wire.
 *
 * Bootstrap: with opts.cacert NULL there is nothing to verify the server
 * with, so opts.ca_fingerprint is mandatory and the handle can do one thing
 * only, cr_ca_get_ca_bundle(), whose body is then checked against the pin
 * (as Puppet does); the TLS session itself is unauthenticated.
 *
 * libcurl is initialised once, on the first cr_http_new(); the Debian 12
 * libcurl (7.88, "threadsafe" feature) makes that call thread-safe, and our
 * executables and the Ruby extension call it from one thread anyway.
 * curl_global_cleanup() is never called (it is not safe in a process that
 * may still use OpenSSL, such as Ruby).
 */
#ifndef CR_HTTP_H
#define CR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cr_err.h"

/* Error kinds (details always carry "url", "method" and "status", 0 when
 * no HTTP response was received; transport failures add "curl_code",
 * "curl_error" and "openssl_errors", the whole drained queue). */

#define CR_HTTP_DEFAULT_PORT 8140
#define CR_HTTP_DEFAULT_TIMEOUT 60L		/* seconds, whole request */
#define CR_HTTP_DEFAULT_CONNECT_TIMEOUT 10L	/* seconds */
/* Big enough for the CRL of a CA that revoked 100,000 certificates and a
 * certificate_statuses listing of tens of thousands of nodes. */
#define CR_HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define CR_HTTP_ERROR_BODY_MAX 500	/* bytes of body kept in an error */

struct cr_http_opts {
	const char *server;	/* ca_server: host name or IP literal */
	int port;		/* 0: 8140 */
	const char *cacert;	/* PEM bundle the server must chain to; NULL
				 * only for the bootstrap (see above) */
	const char *ca_fingerprint;	/* optional SHA-256 pin: 64 hex digits,
				 * colons optional, any case, "SHA256:" or
				 * "(SHA256) " allowed first (see above) */
	const char *client_cert;	/* optional PEM files; both or none */
	const char *client_key;
	const char *proxy;	/* NULL: no proxy at all (environment ignored) */
	long timeout_s;		/* 0: CR_HTTP_DEFAULT_TIMEOUT */
	long connect_timeout_s;	/* 0: CR_HTTP_DEFAULT_CONNECT_TIMEOUT */
	size_t max_body;	/* 0: CR_HTTP_DEFAULT_MAX_BODY */
	bool content_checked;	/* cacert NULL without a pin is allowed: the
				 * caller checks the bundle's CONTENT itself
				 * (ca_bundle_update, when the trusted bundle
				 * has expired and cannot verify the server) */
};

struct cr_http_response {
	long status;		/* 0 when no HTTP response was received */
	char *body;		/* owned, NUL-terminated (len excludes it) */
	size_t len;
	char *content_type;	/* owned, or NULL */
};

typedef struct cr_http cr_http;

/* Checks the options: CR_KIND_INVALID_PARAMETER (host, port, pin format,
 * client key not the certificate's), CR_KIND_IO / CR_KIND_PARSE /
 * CR_KIND_OPENSSL (files), CR_KIND_CA_TLS (cacert does not match the pin).
 * Nothing is sent yet.  The handle keeps its connection open between
 * requests (one handle per thread). */
cr_http *cr_http_new(const struct cr_http_opts *opts, cr_err *err);
void cr_http_free(cr_http *h);

/*
 * One request; path is already escaped ("/puppet-ca/v1/...", query
 * allowed).  body may be NULL (len 0); content_type is sent when non-NULL.
 * True on a 2xx response.  On false, err is set with one of the kinds
 * above, and *out still holds whatever was received (status, body), so a
 * caller can tolerate e.g. a 404.  Call cr_http_response_clear(out) in
 * every case.
 */
bool cr_http_request(cr_http *h, const char *method, const char *path,
    const char *content_type, const void *body, size_t len,
    struct cr_http_response *out, cr_err *err);
void cr_http_response_clear(struct cr_http_response *r);

/* New "https://server:port<path>" (brackets around an IPv6 literal). */
char *cr_http_url(const cr_http *h, const char *path);
/* PEM of the certificate the server presented in the handshake of the last
 * request on a new connection (new string), or NULL. */
char *cr_http_peer_cert(cr_http *h);
/* HTTP status of the last request (0: no response status received). */
long cr_http_last_status(const cr_http *h);
/* details.status of an error from this module (0 if none). */
long cr_http_err_status(const cr_err *err);

/*
 * The CA endpoints.  certname must pass cr_certname_valid() (else
 * CR_KIND_INVALID_PARAMETER, nothing is sent) and is URL-escaped anyway.
 * PEM results are new NUL-terminated strings (*len without the NUL) that
 * parsed as at least one certificate / CRL; JSON results are new
 * references.
 */
char *cr_ca_get_ca_bundle(cr_http *h, size_t *len, cr_err *err);
char *cr_ca_get_cert(cr_http *h, const char *certname, size_t *len,
    cr_err *err);
char *cr_ca_get_crl(cr_http *h, size_t *len, cr_err *err);
/* PUT certificate_request (autosign happens inline on the server). */
bool cr_ca_put_csr(cr_http *h, const char *certname, const char *pem,
    size_t len, cr_err *err);
/* certificate_status: an object (name, state, fingerprint, ...). */
json_t *cr_ca_status_get(cr_http *h, const char *certname, cr_err *err);
/* desired_state "signed" or "revoked"; cert_ttl in seconds, 0: omitted.
 * 409 = nothing to sign/revoke, 404 = unknown (see cr_http_err_status). */
bool cr_ca_status_put(cr_http *h, const char *certname,
    const char *desired_state, long long cert_ttl, cr_err *err);
/* Removes the certificate and CSR on the CA WITHOUT revoking. */
bool cr_ca_status_delete(cr_http *h, const char *certname, cr_err *err);
/* certificate_statuses: an array; state "requested", "signed", "revoked"
 * or NULL for all. */
json_t *cr_ca_statuses(cr_http *h, const char *state, cr_err *err);

#endif
