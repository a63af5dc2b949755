/*
 * cr_crl_edit.c - offline revocation in a CA's CRL (see cr_crl_edit.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cr_crl_edit.h"
#include "cr_x509.h"

/* Five years, what puppetserver gives a CRL it re-signs. */
#define CRL_NEXT_UPDATE_S (5LL * 365 * 24 * 3600)

/* Index in crls of the CRL ca issued, or -1. */
static int
crl_of(STACK_OF(X509_CRL) *crls, X509 *ca, EVP_PKEY *cakey)
{
	int i, found = -1;

	for (i = 0; i < sk_X509_CRL_num(crls) && found < 0; i++) {
		X509_CRL *c = sk_X509_CRL_value(crls, i);

		if (X509_NAME_cmp(X509_CRL_get_issuer(c),
		    X509_get_subject_name(ca)) == 0 &&
		    X509_CRL_verify(c, cakey) == 1)
			found = i;
	}
	ERR_clear_error();
	return found;
}

/* crlNumber + 1 (0 when the CRL has none) on crl. */
static bool
bump_number(X509_CRL *crl)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	BIGNUM *bn = num != NULL ? ASN1_INTEGER_to_BN(num, NULL) : BN_new();
	ASN1_INTEGER *next = NULL;
	bool ok = false;

	if (bn == NULL || !BN_add_word(bn, 1) ||
	    (next = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	ok = X509_CRL_add1_ext_i2d(crl, NID_crl_number, next, 0,
	    X509V3_ADD_REPLACE) == 1;
out:
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(next);
	BN_free(bn);
	return ok;
}

static bool
add_entry(X509_CRL *crl, const ASN1_INTEGER *serial, time_t now)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, now);
	bool ok = false;

	if (rev == NULL || t == NULL ||
	    X509_REVOKED_set_serialNumber(rev, (ASN1_INTEGER *)serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, t) != 1 ||
	    X509_CRL_add0_revoked(crl, rev) != 1)
		goto out;
	rev = NULL;		/* owned by crl now */
	ok = X509_CRL_sort(crl) == 1;
out:
	X509_REVOKED_free(rev);
	ASN1_TIME_free(t);
	return ok;
}

/* thisUpdate now; nextUpdate kept unless it is too close or gone. */
static bool
set_dates(X509_CRL *crl, time_t now)
{
	ASN1_TIME *last = ASN1_TIME_set(NULL, now), *next = NULL;
	const ASN1_TIME *cur = X509_CRL_get0_nextUpdate(crl);
	bool ok = last != NULL && X509_CRL_set1_lastUpdate(crl, last) == 1;

	if (ok && (cur == NULL || X509_cmp_time(cur, &now) <= 0)) {
		next = ASN1_TIME_adj(NULL, now, 0, (long)CRL_NEXT_UPDATE_S);
		ok = next != NULL && X509_CRL_set1_nextUpdate(crl, next) == 1;
	}
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	return ok;
}

bool
cr_crl_revoke(STACK_OF(X509_CRL) *crls, X509 *ca, EVP_PKEY *cakey,
    const ASN1_INTEGER *serial, time_t now, bool *changed, cr_err *err)
{
	X509_CRL *crl = NULL;
	X509_REVOKED *listed = NULL;
	int i;
	bool ok = false;

	*changed = false;
	if (X509_check_private_key(ca, cakey) != 1) {
		ERR_clear_error();
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "the CA key is not the key of the CA certificate");
		goto out;
	}
	if ((i = crl_of(crls, ca, cakey)) < 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "no CRL of the CA in the CRL chain (none is issued by its "
		    "subject and signed with its key)");
		goto out;
	}
	if (X509_CRL_get0_by_serial(sk_X509_CRL_value(crls, i), &listed,
	    serial) == 1) {
		ok = true;	/* revoked already */
		goto out;
	}
	if ((crl = X509_CRL_dup(sk_X509_CRL_value(crls, i))) == NULL ||
	    !add_entry(crl, serial, now) || !bump_number(crl) ||
	    !set_dates(crl, now) || X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_sign(crl, cakey, EVP_sha256()) <= 0) {
		cr_err_openssl(err, "cannot revoke in the CA's CRL");
		goto out;
	}
	{
		/* sk_set returns the new element: free the old one first */
		X509_CRL *old = sk_X509_CRL_value(crls, i);

		(void)sk_X509_CRL_set(crls, i, crl);
		X509_CRL_free(old);
	}
	crl = NULL;
	*changed = true;
	ok = true;
out:
	X509_CRL_free(crl);
	return ok;
}

