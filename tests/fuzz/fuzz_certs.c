/*
 * fuzz_certs - certificates and CA bundles: cr_certs_parse (PEM; raw DER
 * is wrapped as one CERTIFICATE), then everything the facts and tasks
 * print about a certificate (cr_cert_json, cr_ca_json, serial, name,
 * fingerprint) and, for a bundle, verifying its first certificate against
 * the others (cr_verify_chain, as the status task does).
 */
#include "cr_x509.h"
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *certs = NULL, *rest = NULL;
	const char *pem, *why = NULL;
	char *wrapped;
	size_t len;
	cr_err err;
	int i, rc;

	cr_err_init(&err);
	pem = fz_pem_input("CERTIFICATE", data, size, &len, &wrapped);
	certs = cr_certs_parse(pem, len, "fuzz input", &err);
	fz_check_err("cr_certs_parse", certs != NULL, &err);
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		fz_json_checked("cr_cert_json", cr_cert_json(x, FZ_NOW));
		fz_json_checked("cr_ca_json", cr_ca_json(x, FZ_NOW));
		free(cr_serial_hex(x));
		free(cr_name_string(X509_get_subject_name(x)));
		free(cr_fingerprint_x509(x, EVP_sha256()));
		ERR_clear_error();	/* these three report by NULL only */
	}
	if (certs != NULL && sk_X509_num(certs) > 1 &&
	    (rest = sk_X509_dup(certs)) != NULL) {
		(void)sk_X509_shift(rest);
		rc = cr_verify_chain(sk_X509_value(certs, 0), rest, NULL,
		    CR_CRL_OFF, FZ_NOW, &why, &err);
		fz_check_err("cr_verify_chain", rc >= 0, &err);
		if (rc == 0 && why == NULL)
			fz_fail("cr_verify_chain: invalid without a reason");
	}
	sk_X509_free(rest);
	sk_X509_pop_free(certs, X509_free);
	free(wrapped);
	cr_err_clear(&err);
	return 0;
}
