/*
 * fuzz_crls - CRL chains: cr_crls_parse (PEM; raw DER is wrapped as one
 * X509 CRL) and cr_crl_json.  When the same input also holds
 * certificates (a leaf first, then its CAs), the chain is verified with
 * those CRLs in Puppet's chain and leaf modes and cr_revoked_by is asked,
 * as the status task does with crl.pem.
 */
#include "cr_x509.h"
#include "fuzz_common.h"

static void
verify(STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls)
{
	STACK_OF(X509) *rest = sk_X509_dup(certs);
	X509 *leaf = sk_X509_value(certs, 0);
	const char *why = NULL;
	cr_err err;
	int rc;

	cr_err_init(&err);
	if (rest == NULL)
		fz_fail("out of memory");
	if (sk_X509_num(rest) > 1)
		(void)sk_X509_shift(rest);	/* else: self-signed leaf */
	rc = cr_verify_chain(leaf, rest, crls, CR_CRL_CHAIN, FZ_NOW, &why,
	    &err);
	fz_check_err("cr_verify_chain(chain)", rc >= 0, &err);
	cr_err_clear(&err);
	rc = cr_verify_chain(leaf, rest, crls, CR_CRL_LEAF, FZ_NOW, &why,
	    &err);
	fz_check_err("cr_verify_chain(leaf)", rc >= 0, &err);
	cr_err_clear(&err);
	rc = cr_revoked_by(leaf, crls);
	if (rc < -1 || rc > 1)
		fz_fail("cr_revoked_by returned %d", rc);
	fz_queue_empty("cr_revoked_by");
	sk_X509_free(rest);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *certs = NULL;
	const char *pem = (const char *)data;
	char *wrapped = NULL;
	size_t len = size;
	cr_err err;
	int i;

	cr_err_init(&err);
	if (!fz_is_pem(data, size))
		pem = wrapped = fz_der_to_pem("X509 CRL", data, size, &len);
	crls = cr_crls_parse(pem, len, "fuzz input", &err);
	fz_check_err("cr_crls_parse", crls != NULL, &err);
	for (i = 0; crls != NULL && i < sk_X509_CRL_num(crls); i++) {
		fz_json_consume("cr_crl_json",
		    cr_crl_json(sk_X509_CRL_value(crls, i), FZ_NOW));
		fz_queue_empty("cr_crl_json");
	}
	cr_err_clear(&err);
	if (crls != NULL && wrapped == NULL) {
		certs = cr_certs_parse(pem, len, "fuzz input", &err);
		fz_check_err("cr_certs_parse", certs != NULL, &err);
		if (certs != NULL)
			verify(certs, crls);
	}
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(wrapped);
	cr_err_clear(&err);
	return 0;
}
