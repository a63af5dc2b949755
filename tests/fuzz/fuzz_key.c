/*
 * fuzz_key - private keys: cr_key_parse (PEM, unencrypted; an encrypted
 * key must fail without prompting) and cr_key_json.  The core has no DER
 * key reader (Puppet keeps keys in PEM), so raw DER input is wrapped in
 * each armour the PEM reader accepts - PKCS#8, PKCS#1 RSA, SEC1 EC - and
 * the DER decoders behind cr_key_parse are fuzzed through it.
 */
#include "cr_x509.h"
#include "fuzz_common.h"

static const char *const der_labels[] = {
	"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
};

static void
one(const char *pem, size_t len)
{
	EVP_PKEY *key;
	cr_err err;

	cr_err_init(&err);
	key = cr_key_parse(pem, len, "fuzz input", &err);
	fz_check_err("cr_key_parse", key != NULL, &err);
	if (key != NULL)
		fz_json_checked("cr_key_json", cr_key_json(key));
	EVP_PKEY_free(key);
	cr_err_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *wrapped;
	size_t i, len;

	if (fz_is_pem(data, size)) {
		one((const char *)data, size);
		return 0;
	}
	for (i = 0; i < sizeof(der_labels) / sizeof(der_labels[0]); i++) {
		wrapped = fz_der_to_pem(der_labels[i], data, size, &len);
		one(wrapped, len);
		free(wrapped);
	}
	return 0;
}
