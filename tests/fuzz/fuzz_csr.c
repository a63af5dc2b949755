/*
 * fuzz_csr - certificate signing requests: cr_csr_parse (PEM; raw DER is
 * wrapped as one CERTIFICATE REQUEST), then cr_csr_json (SANs, pp_*
 * extension requests, custom attributes, signature check) and the
 * request's fingerprint, what the regenerate and ca_sign tasks print.
 */
#include "cr_csr.h"
#include "cr_x509.h"
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pem;
	char *wrapped;
	X509_REQ *req;
	size_t len;
	cr_err err;

	cr_err_init(&err);
	pem = fz_pem_input("CERTIFICATE REQUEST", data, size, &len, &wrapped);
	req = cr_csr_parse(pem, len, "fuzz input", &err);
	fz_check_err("cr_csr_parse", req != NULL, &err);
	if (req != NULL) {
		fz_json_checked("cr_csr_json", cr_csr_json(req));
		free(cr_fingerprint_req(req, EVP_sha256()));
		ERR_clear_error();
	}
	X509_REQ_free(req);
	free(wrapped);
	cr_err_clear(&err);
	return 0;
}
