/*
 * fuzz_http_answer - the CA's HTTP answers after libcurl: the body
 * received in chunks under a size limit (cr_http_body_append), the status
 * code mapped to an error with a sanitised body snippet, then the body
 * checked for what the endpoint promises (cr_http_pem_answer: certs, the
 * bootstrap bundle against a pin, CRLs; cr_http_json_answer: a status
 * object, a statuses array, which cr_ca_list_rows then lists).
 *
 * Input: 4 header bytes, then the body.
 *   [0] endpoint = (b & 0x3f) % 6: 0 CA bundle (bootstrap, pinned),
 *       1 certificate, 2 CRL, 3 certificate_status, 4
 *       certificate_statuses, 5 a PUT or DELETE (status only);
 *       bit 0x40: pin the last certificate of the bundle (else the
 *       digest of the whole text); bit 0x80: a pin matching nothing.
 *   [1..2] status = big-endian % 1000
 *   [3] chunk size = 1 + (b & 0x7f) * 37; bit 0x80: the body limit is
 *       half the body (the too-large path)
 * libcurl parses the status line and the headers; the core keeps only
 * the Content-Type (copied, never interpreted), so no header bytes here.
 */
#include <openssl/evp.h>

#include "cr_ca_admin.h"
#include "cr_http.h"
#include "cr_http_parse.h"
#include "cr_json.h"
#include "cr_x509.h"
#include "fuzz_common.h"

enum { EP_BUNDLE, EP_CERT, EP_CRL, EP_STATUS, EP_STATUSES, EP_OTHER, EP_N };

/* The pin the bootstrap handle would have been given. */
static void
make_pin(uint8_t mode, const char *body, size_t len,
    unsigned char pin[CR_HTTP_PIN_LEN])
{
	STACK_OF(X509) *certs;
	unsigned int n = 0;
	cr_err err;

	memset(pin, 0xA5, CR_HTTP_PIN_LEN);
	if (mode & 0x80)
		return;
	if (!(mode & 0x40)) {
		EVP_Digest(body, len, pin, &n, EVP_sha256(), NULL);
		return;
	}
	cr_err_init(&err);
	if ((certs = cr_certs_parse(body, len, "pin", &err)) != NULL)
		X509_digest(sk_X509_value(certs, sk_X509_num(certs) - 1),
		    EVP_sha256(), pin, &n);
	sk_X509_pop_free(certs, X509_free);
	cr_err_clear(&err);
	ERR_clear_error();
}

/*
 * The pin policy restated without the name checks, as an oracle: in a
 * bundle accepted on a certificate pin, every certificate is pinned,
 * signed by a key so vouched for, or carries the key that signed a
 * certificate that is pinned or signed by a vouched key (one step up).
 */
static void
check_vouched(const char *body, size_t len, const unsigned char *pin)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	STACK_OF(X509) *certs;
	unsigned int dn = 0;
	char how[CR_HTTP_PIN_MAX_CERTS];	/* 0, 'p'in, 'd'own, 'u'p */
	int n, i, j, changed = 1;
	cr_err err;

	if (EVP_Digest(body, len, d, &dn, EVP_sha256(), NULL) == 1 &&
	    memcmp(d, pin, CR_HTTP_PIN_LEN) == 0)
		return;		/* Puppet's digest of the whole text */
	cr_err_init(&err);
	if ((certs = cr_certs_parse(body, len, "oracle", &err)) == NULL)
		fz_fail("accepted bundle does not parse: %s", err.msg);
	if ((n = sk_X509_num(certs)) > CR_HTTP_PIN_MAX_CERTS)
		fz_fail("accepted a bundle of %d certificates on a pin", n);
	for (i = 0; i < n; i++) {
		X509_digest(sk_X509_value(certs, i), EVP_sha256(), d, &dn);
		how[i] = memcmp(d, pin, CR_HTTP_PIN_LEN) == 0 ? 'p' : 0;
	}
	while (changed)
		for (changed = 0, i = 0; i < n; i++)
			for (j = 0; j < n && !how[i]; j++) {
				X509 *a = sk_X509_value(certs, i);
				X509 *b = sk_X509_value(certs, j);
				if (!how[j] || i == j)
					continue;
				if (X509_verify(a, X509_get0_pubkey(b)) == 1)
					how[i] = 'd';
				else if (how[j] != 'u' &&
				    X509_verify(b, X509_get0_pubkey(a)) == 1)
					how[i] = 'u';
				changed |= how[i] != 0;
			}
	for (i = 0; i < n; i++)
		if (!how[i])
			fz_fail("certificate %d of a bundle accepted on a "
			    "certificate pin is vouched for by no pinned key",
			    i);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
}

static void
pem_body(int ep, uint8_t mode, const struct cr_http_body *b)
{
	unsigned char pin[CR_HTTP_PIN_LEN];
	enum cr_http_answer a;
	cr_err why;

	cr_err_init(&why);
	if (ep == EP_BUNDLE)
		make_pin(mode, b->buf, b->len, pin);
	a = cr_http_pem_answer(b->buf, b->len, ep == EP_CRL,
	    "the CA's answer", ep == EP_BUNDLE ? pin : NULL, &why);
	if ((a == CR_HTTP_ANSWER_BAD_BODY) != why.set)
		fz_fail("cr_http_pem_answer: verdict %d, error %d", a, why.set);
	if (a == CR_HTTP_ANSWER_PIN_MISMATCH && ep != EP_BUNDLE)
		fz_fail("cr_http_pem_answer: pin mismatch without a pin");
	fz_check_err("cr_http_pem_answer", a != CR_HTTP_ANSWER_BAD_BODY, &why);
	if (ep == EP_BUNDLE && a == CR_HTTP_ANSWER_OK)
		check_vouched(b->buf, b->len, pin);
	cr_err_clear(&why);
}

static void
json_body(int ep, uint8_t mode, const struct cr_http_body *b)
{
	unsigned char pin[CR_HTTP_PIN_LEN];
	json_t *j, *rows;
	const char *fp;
	cr_err why;

	cr_err_init(&why);
	j = cr_http_json_answer(b->buf, b->len, ep == EP_STATUSES, &why);
	fz_check_err("cr_http_json_answer", j != NULL, &why);
	cr_err_clear(&why);
	if (j != NULL && ep == EP_STATUSES) {
		rows = cr_ca_list_rows(j, (mode & 0x40) ? 30 : -1, FZ_NOW,
		    &why);
		fz_check_err("cr_ca_list_rows", rows != NULL, &why);
		fz_json_consume("cr_ca_list_rows", rows);
		cr_err_clear(&why);
	}
	if (j != NULL && ep == EP_STATUS &&
	    (fp = json_string_value(json_object_get(j, "fingerprint"))) != NULL)
		(void)cr_http_pin_parse(fp, pin);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_http_body b = { 0 };
	char snippet[CR_HTTP_ERROR_BODY_MAX + 1];
	size_t chunk, off, n, max = CR_HTTP_DEFAULT_MAX_BODY;
	const char *kind;
	int ep;
	long status;

	if (size < 4)
		return 0;
	ep = (data[0] & 0x3f) % EP_N;
	status = (long)(((unsigned)data[1] << 8 | data[2]) % 1000);
	chunk = 1 + (size_t)(data[3] & 0x7f) * 37;
	if (data[3] & 0x80)
		max = (size - 4) / 2;
	/* libcurl's write callback, chunk by chunk (perform()) */
	for (off = 4; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (!cr_http_body_append(&b, data + off, n, max))
			break;
		if (b.len > max || b.buf[b.len] != '\0')
			fz_fail("cr_http_body_append: over the limit or "
			    "unterminated");
	}
	if (off < size) {
		if (!b.too_large || size - 4 <= max)
			fz_fail("cr_http_body_append refused a body that fits");
		goto out;	/* CR_KIND_CA_PROTOCOL: too large */
	}
	if (b.buf == NULL && (b.buf = strdup("")) == NULL)
		fz_fail("out of memory");
	if ((kind = cr_http_status_kind(status)) != NULL) {
		cr_http_body_snippet(b.buf, b.len, snippet, sizeof(snippet));
		if (strlen(snippet) > CR_HTTP_ERROR_BODY_MAX)
			fz_fail("cr_http_body_snippet: too long");
		fz_json_consume("details.body", cr_json_str(snippet));
		goto out;
	}
	if (ep <= EP_CRL)
		pem_body(ep, data[0], &b);
	else if (ep <= EP_STATUSES)
		json_body(ep, data[0], &b);
out:
	free(b.buf);
	return 0;
}
