/*
 * cr_http_parse.h - the pure half of cr_http: what an answer of the CA
 * must look like before anything uses it.  No libcurl here, so the rules
 * can be fuzzed and unit-tested on bytes alone (tests/fuzz/fuzz_http_answer).
 *
 * The transport (status line, headers, chunking, TLS) is libcurl's; what
 * reaches this module is a status code, the body bytes in the chunks
 * libcurl hands over, and the body as a whole.
 */
#ifndef CR_HTTP_PARSE_H
#define CR_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "cr_err.h"

#define CR_HTTP_PIN_LEN 32	/* SHA-256 */
/* Certificates of a bundle checked against a certificate pin (a Puppet CA
 * bundle holds a handful; the check is quadratic in signatures). */
#define CR_HTTP_PIN_MAX_CERTS 32

/* A response body being received: at most max bytes, always
 * NUL-terminated once it holds any. */
struct cr_http_body {
	char *buf;		/* owned */
	size_t len, cap;
	bool too_large;		/* a chunk would have gone past max */
	bool nomem;
};

/* Appends n bytes; false (too_large or nomem set, nothing appended) when
 * the body would exceed max or memory runs out. */
bool cr_http_body_append(struct cr_http_body *b, const void *p, size_t n,
    size_t max);

/* NULL for a 2xx status; else the error kind (cr_http.h) it maps to. */
const char *cr_http_status_kind(long status);

/* The first max - 1 bytes of a body with control characters made spaces
 * and trailing blanks dropped (invalid UTF-8 is left to cr_json_str). */
void cr_http_body_snippet(const char *body, size_t len, char *out,
    size_t max);

/* "AB:CD:..." (or without colons, any case, optionally "SHA256:" or
 * "(SHA256) " first) -> 32 bytes. */
bool cr_http_pin_parse(const char *s, unsigned char out[CR_HTTP_PIN_LEN]);

/* The pin against a bundle: the SHA-256 of the whole text (Puppet's
 * ca_fingerprint), or one certificate of it to which every other one is
 * linked by a signature: signed by a linked key, or (one step up only)
 * carrying the key that signed the pinned certificate or one it signed.
 * At most CR_HTTP_PIN_MAX_CERTS for the certificate form.  Leaves the
 * OpenSSL error queue empty. */
bool cr_http_bundle_pin_ok(const unsigned char pin[CR_HTTP_PIN_LEN],
    const char *pem, size_t len, STACK_OF(X509) *certs);

enum cr_http_answer {
	CR_HTTP_ANSWER_OK = 0,
	CR_HTTP_ANSWER_BAD_BODY,	/* not the PEM / JSON promised */
	CR_HTTP_ANSWER_PIN_MISMATCH,	/* bundle does not match the pin */
};

/*
 * A PEM body that must hold certificates (crl false) or CRLs: "what" names
 * it in why's message.  With pin non-NULL (the bootstrap bundle) the
 * certificates must also match it.  The parsed stacks are freed.
 */
enum cr_http_answer cr_http_pem_answer(const char *body, size_t len,
    bool crl, const char *what, const unsigned char *pin, cr_err *why);

/* A JSON body of the promised type (array or object): a new reference, or
 * NULL with why set (CR_KIND_CA_PROTOCOL). */
json_t *cr_http_json_answer(const char *body, size_t len, bool array,
    cr_err *why);

#endif
