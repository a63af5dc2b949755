/*
 * fuzz_csr_attributes - csr_attributes.yaml: cr_csr_attributes_parse,
 * then, as the regenerate task does, a CSR built from what it accepted
 * (cr_csr_new: extension requests and custom attributes become DER) and
 * described again (cr_csr_json).  The signing key is a throwaway P-256
 * key made once per process.
 */
#include <openssl/evp.h>

#include "cr_csr.h"
#include "cr_yaml.h"
#include "fuzz_common.h"

static EVP_PKEY *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((key = EVP_EC_gen("P-256")) == NULL)
		fz_fail("cannot make the test key");
	return 0;
}

static void
build_csr(json_t *attrs)
{
	static const char *const dns[] = { "puppet", "fuzz.example.com", NULL };
	struct cr_csr_spec spec = {
		.certname = "agent.example.com",
		.dns_alt_names = dns,
		.attributes = attrs,
		.allow_authorization_extensions = true,
		.key = key,
	};
	X509_REQ *req;
	cr_err err;

	cr_err_init(&err);
	req = cr_csr_new(&spec, &err);
	fz_check_err("cr_csr_new", req != NULL, &err);
	if (req == NULL && strcmp(err.kind, CR_KIND_INVALID_PARAMETER) != 0)
		fz_fail("cr_csr_new: %s on parsed attributes: %s", err.kind,
		    err.msg);
	if (req != NULL)
		fz_json_checked("cr_csr_json", cr_csr_json(req));
	X509_REQ_free(req);
	cr_err_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *attrs;
	cr_err err;

	cr_err_init(&err);
	attrs = cr_csr_attributes_parse((const char *)data, size,
	    "csr_attributes.yaml", &err);
	fz_check_err("cr_csr_attributes_parse", attrs != NULL, &err);
	if (attrs != NULL) {
		if (!json_is_object(json_object_get(attrs,
		    "custom_attributes")) || !json_is_object(json_object_get(
		    attrs, "extension_requests")))
			fz_fail("cr_csr_attributes_parse: wrong shape");
		build_csr(attrs);
	}
	fz_json_consume("cr_csr_attributes_parse", attrs);
	cr_err_clear(&err);
	return 0;
}
