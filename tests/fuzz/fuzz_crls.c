/*
 * fuzz_crls - CRL chains: cr_crls_parse (PEM; raw DER is wrapped as one
 * X509 CRL) and cr_crl_json.  When the same input also holds
 * certificates (a leaf first, then its CAs), the chain is verified with
 * those CRLs in Puppet's chain and leaf modes and cr_revoked_by is asked,
 * as the status task does with crl.pem.
 *
 * Differential: the reduced CRLs of cr_crl_fast.c (what the status and the
 * fact use) must give the full decode's answers: accepted exactly when
 * cr_crls_parse accepts, the same JSON (revoked_count included), the same
 * revoked verdict for every certificate of the input and the same chain
 * verdict and error code in both modes.
 */
#include "cr_crl_fast.h"
#include "cr_x509.h"
#include "fuzz_common.h"

static void
same_json(const char *what, json_t *a, json_t *b)
{
	char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b,
	    JSON_SORT_KEYS);

	if (sa == NULL || sb == NULL || strcmp(sa, sb) != 0)
		fz_fail("%s differs: full %s, reduced %s", what,
		    sa ? sa : "?", sb ? sb : "?");
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

static void
same_verdict(X509 *leaf, STACK_OF(X509) *rest, STACK_OF(X509_CRL) *full,
    const struct cr_crl_set *set, enum cr_crl_mode mode)
{
	struct cr_verify_detail a, b;
	cr_err err;
	int ra, rb;

	cr_err_init(&err);
	ra = cr_verify_chain_detail(leaf, rest, full, NULL, mode, FZ_NOW, &a,
	    &err);
	cr_err_clear(&err);
	rb = cr_verify_chain_detail(leaf, rest, set->crls, set, mode, FZ_NOW,
	    &b, &err);
	cr_err_clear(&err);
	ERR_clear_error();
	if (ra != rb || a.code != b.code || a.leaf_code != b.leaf_code ||
	    a.ca_code != b.ca_code)
		fz_fail("verify (mode %d) differs: full %d/%d/%d/%d, reduced "
		    "%d/%d/%d/%d", (int)mode, ra, a.code, a.leaf_code,
		    a.ca_code, rb, b.code, b.leaf_code, b.ca_code);
}

static void
differential(const char *pem, size_t len, STACK_OF(X509_CRL) *full,
    STACK_OF(X509) *certs)
{
	STACK_OF(X509) *rest = certs ? sk_X509_dup(certs) : NULL;
	struct cr_crl_set set;
	json_t *j;
	cr_err err;
	bool ok;
	int i;

	cr_err_init(&err);
	if (rest != NULL && sk_X509_num(rest) > 1)
		(void)sk_X509_shift(rest);
	ok = cr_crl_set_parse(pem, len, "fuzz input", certs, rest, &set, &err);
	fz_check_err("cr_crl_set_parse", ok, &err);
	cr_err_clear(&err);
	if (ok != (full != NULL))
		fz_fail("cr_crl_set_parse %s what cr_crls_parse %s",
		    ok ? "accepts" : "refuses", full ? "accepts" : "refuses");
	if (!ok)
		goto out;
	if (sk_X509_CRL_num(set.crls) != sk_X509_CRL_num(full))
		fz_fail("%d CRLs reduced, %d in full",
		    sk_X509_CRL_num(set.crls), sk_X509_CRL_num(full));
	for (i = 0; i < sk_X509_CRL_num(full); i++) {
		j = cr_crl_json(sk_X509_CRL_value(set.crls, i), FZ_NOW);
		if (j != NULL)
			json_object_set_new(j, "revoked_count",
			    json_integer(set.info[i].revoked_count));
		same_json("cr_crl_json", cr_crl_json(sk_X509_CRL_value(full,
		    i), FZ_NOW), j);
	}
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++)
		if (cr_revoked_by(sk_X509_value(certs, i), full) !=
		    cr_revoked_by(sk_X509_value(certs, i), set.crls))
			fz_fail("cr_revoked_by differs for certificate %d",
			    i + 1);
	if (certs != NULL && sk_X509_num(certs) > 0) {
		same_verdict(sk_X509_value(certs, 0), rest, full, &set,
		    CR_CRL_CHAIN);
		same_verdict(sk_X509_value(certs, 0), rest, full, &set,
		    CR_CRL_LEAF);
	}
out:
	fz_queue_empty("differential");
	cr_crl_set_clear(&set);
	sk_X509_free(rest);
}

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
	const char *pem;
	char *wrapped;
	size_t len;
	cr_err err;
	int i;

	cr_err_init(&err);
	pem = fz_pem_input("X509 CRL", data, size, &len, &wrapped);
	crls = cr_crls_parse(pem, len, "fuzz input", &err);
	fz_check_err("cr_crls_parse", crls != NULL, &err);
	for (i = 0; crls != NULL && i < sk_X509_CRL_num(crls); i++) {
		fz_json_checked("cr_crl_json",
		    cr_crl_json(sk_X509_CRL_value(crls, i), FZ_NOW));
	}
	cr_err_clear(&err);
	if (crls != NULL && wrapped == NULL) {
		certs = cr_certs_parse(pem, len, "fuzz input", &err);
		fz_check_err("cr_certs_parse", certs != NULL, &err);
		if (certs != NULL)
			verify(certs, crls);
	}
	cr_err_clear(&err);
	differential(pem, len, crls, certs);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(wrapped);
	cr_err_clear(&err);
	return 0;
}
