/*
 * fuzz_common.h - what every fuzz target shares: the oracles that turn a
 * quiet contract violation into a crash libFuzzer can report, and the
 * DER-to-PEM wrapper that lets the PEM readers of the core be fuzzed on
 * raw ASN.1 (where the mutator does far better than on base64).
 *
 * Oracles (each one aborts with a message naming the call):
 *   - a result and an error record agree: NULL <=> err.set;
 *   - no out-of-memory or internal error on inputs of a few KiB;
 *   - the OpenSSL error queue is empty after every core call (the core
 *     promises to drain it into the cr_err or clear it);
 *   - every JSON value the core builds serialises (valid UTF-8 strings).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cr_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void __attribute__((noreturn, format(printf, 1, 2)))
fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz oracle: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The OpenSSL error queue must be empty after a core call. */
static inline void
fz_queue_empty(const char *call)
{
	unsigned long e = ERR_peek_error();
	char buf[256];

	if (e == 0)
		return;
	ERR_error_string_n(e, buf, sizeof(buf));
	fz_fail("%s left the OpenSSL error queue dirty: %s", call, buf);
}

/* ok (a non-NULL result) and err agree, and the error is a plain one. */
static inline void
fz_check_err(const char *call, bool ok, const cr_err *err)
{
	if (ok && err->set)
		fz_fail("%s succeeded with an error set: %s", call, err->msg);
	if (!ok && !err->set)
		fz_fail("%s failed without an error", call);
	if (err->set && (strcmp(err->kind, CR_KIND_NOMEM) == 0 ||
	    strcmp(err->kind, CR_KIND_INTERNAL) == 0))
		fz_fail("%s: %s on a small input: %s", call, err->kind,
		    err->msg);
	if (err->set && memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
		fz_fail("%s: unterminated message", call);
	fz_queue_empty(call);
}

/* Serialises (then drops) a JSON value the core built; steals j. */
static inline void
fz_json_consume(const char *call, json_t *j)
{
	char *s;

	if (j == NULL)
		return;
	if ((s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fz_fail("%s built JSON that does not serialise", call);
	free(s);
	json_decref(j);
}

/* A JSON value the core built (see fz_json_consume), after which the
 * OpenSSL error queue must be empty. */
static inline void
fz_json_checked(const char *call, json_t *j)
{
	fz_json_consume(call, j);
	fz_queue_empty(call);
}

/* Does the input hold PEM armour?  Otherwise it is taken as DER. */
static inline bool
fz_is_pem(const uint8_t *data, size_t size)
{
	return memmem(data, size, "-----BEGIN", 10) != NULL;
}

/* New PEM text of DER bytes under a label: exactly *len bytes, no NUL
 * (ASan then catches a read past the end, as on libFuzzer's own data). */
static inline char *
fz_der_to_pem(const char *label, const uint8_t *der, size_t size,
    size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;

	if (bio == NULL)
		fz_fail("out of memory wrapping DER");
	if (size == 0)	/* PEM_write_bio refuses an empty body */
		BIO_printf(bio, "-----BEGIN %s-----\n-----END %s-----\n",
		    label, label);
	else if (PEM_write_bio(bio, label, "", der, (long)size) <= 0)
		fz_fail("PEM_write_bio(%s) failed", label);
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || (out = malloc((size_t)n)) == NULL)
		fz_fail("out of memory wrapping DER");
	memcpy(out, data, (size_t)n);
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

/* The input as PEM text of *len bytes: the input itself when it holds
 * PEM armour, else its DER wrapped under label (then also in *wrapped,
 * for the caller to free; NULL otherwise). */
static inline const char *
fz_pem_input(const char *label, const uint8_t *data, size_t size,
    size_t *len, char **wrapped)
{
	*wrapped = NULL;
	*len = size;
	if (fz_is_pem(data, size))
		return (const char *)data;
	*wrapped = fz_der_to_pem(label, data, size, len);
	return *wrapped;
}

/* Fixed "now" for date arithmetic, so a run is reproducible. */
#define FZ_NOW ((time_t)1798761600)	/* 2027-01-01T00:00:00Z */

#endif
