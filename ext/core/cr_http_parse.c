/*
 * cr_http_parse.c - the CA's answers checked on bytes alone (see
 * cr_http_parse.h); cr_http.c calls these after libcurl is done.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cr_http.h"
#include "cr_http_parse.h"
#include "cr_x509.h"

#define BODY_FIRST_CAP 16384

bool
cr_http_body_append(struct cr_http_body *b, const void *p, size_t n,
    size_t max)
{
	size_t cap;
	char *nb;

	if (b->len > max || n > max - b->len) {
		b->too_large = true;
		return false;
	}
	if (n > SIZE_MAX - 1 - b->len) {	/* max == SIZE_MAX */
		b->nomem = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : BODY_FIRST_CAP;
		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (max < SIZE_MAX && cap > max + 1)
			cap = max + 1;
		if ((nb = realloc(b->buf, cap)) == NULL) {
			b->nomem = true;
			return false;
		}
		b->buf = nb;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return true;
}

const char *
cr_http_status_kind(long status)
{
	if (status >= 200 && status <= 299)
		return NULL;
	if (status == 401 || status == 403)
		return CR_KIND_CA_UNAUTHORIZED;
	return CR_KIND_CA_ERROR;
}

void
cr_http_body_snippet(const char *body, size_t len, char *out, size_t max)
{
	size_t i, n;

	if (max == 0)
		return;
	n = len < max ? len : max - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)body[i];
		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

bool
cr_http_pin_parse(const char *s, unsigned char out[CR_HTTP_PIN_LEN])
{
	size_t n = 0;

	if (strncasecmp(s, "SHA256:", 7) == 0)
		s += 7;
	else if (strncasecmp(s, "(SHA256) ", 9) == 0)
		s += 9;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]) || n == CR_HTTP_PIN_LEN)
			return false;
		out[n++] = (unsigned char)strtoul((char[3]){ s[0], s[1], 0 },
		    NULL, 16);
		s++;
	}
	return n == CR_HTTP_PIN_LEN;
}

static bool
pin_matches_cert(const unsigned char pin[CR_HTTP_PIN_LEN], X509 *x)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	return X509_digest(x, EVP_sha256(), d, &n) == 1 &&
	    n == CR_HTTP_PIN_LEN && memcmp(d, pin, CR_HTTP_PIN_LEN) == 0;
}

/* How a certificate of a pinned bundle got linked to the pin. */
enum { L_NONE = 0, L_PIN, L_DOWN, L_UP };

/* a's signature verifies with b's key and b's name says it issued a. */
static bool
issued_by(X509 *a, X509 *b)
{
	return X509_check_issued(b, a) == X509_V_OK &&
	    X509_verify(a, X509_get0_pubkey(b)) == 1;
}

/*
 * Every certificate of the bundle is the pinned one or linked to it by a
 * signature (so a root or an intermediate can be pinned, and nothing
 * unrelated can ride along):
 *   down: signed by the key of a linked certificate (the pinned CA's
 *         descendants, or those of its issuer);
 *   up:   carries the key that signed the pinned certificate or one linked
 *         down (the pinned intermediate's issuer).
 * Never up from a certificate linked up: anyone can make a certificate
 * that carries the genuine issuer's public key, signed by a key of their
 * own, and a certificate of that key would then "have issued" it.
 * Bounded: a bundle of more than CR_HTTP_PIN_MAX_CERTS is refused here.
 */
static bool
bundle_linked_to_pin(const unsigned char pin[CR_HTTP_PIN_LEN],
    STACK_OF(X509) *certs)
{
	int n = sk_X509_num(certs), i, j, linked = 0, before = -1;
	char *in = NULL;
	bool ok = false;

	if (n <= 0 || n > CR_HTTP_PIN_MAX_CERTS ||
	    (in = calloc((size_t)n, 1)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (pin_matches_cert(pin, sk_X509_value(certs, i))) {
			in[i] = L_PIN;
			linked++;
		}
	while (linked > before && linked < n) {
		before = linked;
		for (i = 0; i < n; i++)
			for (j = 0; j < n && !in[i]; j++) {
				X509 *a = sk_X509_value(certs, i);
				X509 *b = sk_X509_value(certs, j);
				if (!in[j] || i == j)
					continue;
				if (issued_by(a, b))
					in[i] = L_DOWN;
				else if (in[j] != L_UP && issued_by(b, a))
					in[i] = L_UP;
				if (in[i])
					linked++;
			}
	}
	ok = linked > 0 && linked == n;
out:
	ERR_clear_error();
	free(in);
	return ok;
}

bool
cr_http_bundle_pin_ok(const unsigned char pin[CR_HTTP_PIN_LEN],
    const char *pem, size_t len, STACK_OF(X509) *certs)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(pem, len, d, &n, EVP_sha256(), NULL) == 1 &&
	    n == CR_HTTP_PIN_LEN && memcmp(d, pin, CR_HTTP_PIN_LEN) == 0)
		return true;
	ERR_clear_error();
	return bundle_linked_to_pin(pin, certs);
}

enum cr_http_answer
cr_http_pem_answer(const char *body, size_t len, bool crl, const char *what,
    const unsigned char *pin, cr_err *why)
{
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	enum cr_http_answer out = CR_HTTP_ANSWER_BAD_BODY;

	if (crl ? (crls = cr_crls_parse(body, len, what, why)) == NULL :
	    (certs = cr_certs_parse(body, len, what, why)) == NULL)
		goto out;
	if (pin != NULL && certs != NULL &&
	    !cr_http_bundle_pin_ok(pin, body, len, certs)) {
		out = CR_HTTP_ANSWER_PIN_MISMATCH;
		goto out;
	}
	out = CR_HTTP_ANSWER_OK;
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return out;
}

json_t *
cr_http_json_answer(const char *body, size_t len, bool array, cr_err *why)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || (array ? !json_is_array(j) : !json_is_object(j))) {
		cr_err_set(why, CR_KIND_CA_PROTOCOL,
		    "the body is not a JSON %s%s%s", array ? "array" : "object",
		    j ? "" : ": ", j ? "" : je.text);
		json_decref(j);
		j = NULL;
	}
	return j;
}
