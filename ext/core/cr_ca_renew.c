/*
 * cr_ca_renew.c - a CA's certificates signed again with the same keys, and
 * the acceptance rule for a renewed bundle (see cr_ca_renew.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cr_ca_renew.h"
#include "cr_json.h"
#include "cr_x509.h"

#define DAY 86400L

/* The key among keys whose public half is pub (borrowed), or NULL. */
static EVP_PKEY *
key_for(EVP_PKEY *const *keys, size_t nkeys, const EVP_PKEY *pub)
{
	size_t i;

	for (i = 0; pub != NULL && i < nkeys; i++)
		if (keys[i] != NULL && EVP_PKEY_eq(keys[i], pub) == 1)
			return keys[i];
	ERR_clear_error();
	return NULL;
}

/* The certificate of bundle that issued x (borrowed), or NULL. */
static X509 *
issuer_in(STACK_OF(X509) *bundle, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(bundle); i++)
		if (X509_check_issued(sk_X509_value(bundle, i), x) == X509_V_OK)
			return sk_X509_value(bundle, i);
	return NULL;
}

/* The digest of x's signature (NULL for keys that take none: Ed25519). */
static bool
old_digest(X509 *x, const EVP_MD **md)
{
	int md_nid = NID_undef, pk_nid = NID_undef;

	if (!OBJ_find_sigid_algs(X509_get_signature_nid(x), &md_nid, &pk_nid))
		return false;
	*md = md_nid == NID_undef ? NULL : EVP_get_digestbynid(md_nid);
	return md_nid == NID_undef || *md != NULL;
}

/* A copy of old, valid from now - 1 day to now + days, signed by key. */
static X509 *
resign_one(X509 *old, EVP_PKEY *key, time_t now, long days, cr_err *err)
{
	X509 *x = X509_dup(old);
	const EVP_MD *md = NULL;
	char *subj = NULL;

	if (x == NULL || !old_digest(old, &md) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) ==
	    NULL || X509_sign(x, key, md) <= 0 ||
	    X509_verify(x, key) != 1) {
		subj = cr_name_string(X509_get_subject_name(old));
		cr_err_openssl(err, "cannot sign the CA certificate %s again",
		    subj ? subj : "?");
		X509_free(x);
		x = NULL;
	}
	free(subj);
	return x;
}

STACK_OF(X509) *
cr_ca_renew(STACK_OF(X509) *bundle, EVP_PKEY *const *keys, size_t nkeys,
    time_t now, long days, cr_err *err)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	char *subj = NULL;
	int i;

	if (out == NULL || sk_X509_num(bundle) < 1) {
		cr_err_set(err, CR_KIND_CA_RENEW, "the CA bundle holds no "
		    "certificate");
		goto fail;
	}
	if (days < CR_CA_RENEW_DAYS_MIN || days > 36500) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "days must be "
		    "between %ld and 36500, not %ld", CR_CA_RENEW_DAYS_MIN,
		    days);
		goto fail;
	}
	for (i = 0; i < sk_X509_num(bundle); i++) {
		X509 *old = sk_X509_value(bundle, i), *iss, *x;
		EVP_PKEY *key;

		iss = issuer_in(bundle, old);
		key = iss ? key_for(keys, nkeys, X509_get0_pubkey(iss)) : NULL;
		if (key == NULL) {
			subj = cr_name_string(X509_get_subject_name(old));
			cr_err_set(err, CR_KIND_CA_RENEW, "the CA certificate %s "
			    "cannot be signed again: %s", subj ? subj : "?",
			    iss == NULL ? "its issuer is not in the CA bundle" :
			    "the private key of its issuer is not in the CA "
			    "directory (ca_key.pem, root_key.pem)");
			goto fail;
		}
		if ((x = resign_one(old, key, now, days, err)) == NULL)
			goto fail;
		if (sk_X509_push(out, x) <= 0) {
			X509_free(x);
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto fail;
		}
	}
	return out;
fail:
	free(subj);
	sk_X509_pop_free(out, X509_free);
	return NULL;
}

bool
cr_ca_renew_not_shorter(STACK_OF(X509) *bundle, time_t now, long days,
    cr_err *err)
{
	time_t end = 0, t = 0, want = now + days * DAY;
	X509 *last = NULL;
	char *subj = NULL, iso[21];
	long min_days;
	bool ok = true;
	int i;

	for (i = 0; i < sk_X509_num(bundle); i++)
		if (cr_asn1_time_epoch(X509_get0_notAfter(sk_X509_value(bundle,
		    i)), &t) && t > end) {
			end = t;
			last = sk_X509_value(bundle, i);
		}
	ERR_clear_error();
	if (last == NULL || end <= want)
		goto out;
	ok = false;
	min_days = (long)((end - now + DAY - 1) / DAY);
	if (min_days < CR_CA_RENEW_DAYS_MIN)
		min_days = CR_CA_RENEW_DAYS_MIN;
	subj = cr_name_string(X509_get_subject_name(last));
	cr_iso8601(end, iso);
	cr_err_set(err, CR_KIND_INVALID_PARAMETER, "days=%ld would end the CA "
	    "certificate %s sooner than it ends now (%s): nothing was changed; "
	    "give days=%ld or more, or allow_shorter=true to shorten the CA "
	    "on purpose", days, subj ? subj : "?", iso, min_days);
	cr_err_detail_new(err, "parameter", cr_json_str("days"));
	cr_err_detail_new(err, "days_min", json_integer(min_days));
	cr_err_detail_new(err, "current_not_after", cr_json_str(iso));
	cr_err_detail_new(err, "subject", cr_json_str(subj ? subj : ""));
out:
	free(subj);
	return ok;
}

/* x has the key and subject of a certificate of trusted. */
static bool
known(STACK_OF(X509) *trusted, X509 *x)
{
	int i;
	bool found = false;

	for (i = 0; i < sk_X509_num(trusted) && !found; i++) {
		X509 *t = sk_X509_value(trusted, i);
		found = X509_NAME_cmp(X509_get_subject_name(t),
		    X509_get_subject_name(x)) == 0 &&
		    EVP_PKEY_eq(X509_get0_pubkey(t), X509_get0_pubkey(x)) == 1;
	}
	ERR_clear_error();
	return found;
}

/* x's signature verifies with the key of its issuer in bundle. */
static bool
signed_in(STACK_OF(X509) *bundle, X509 *x)
{
	X509 *iss = issuer_in(bundle, x);
	bool ok = iss != NULL && X509_verify(x, X509_get0_pubkey(iss)) == 1;

	ERR_clear_error();
	return ok;
}

bool
cr_ca_bundle_acceptable(STACK_OF(X509) *trusted, STACK_OF(X509) *fresh,
    cr_err *err)
{
	char *subj = NULL, *fp = NULL;
	int i;
	bool ok = sk_X509_num(fresh) > 0;

	for (i = 0; ok && i < sk_X509_num(fresh); i++) {
		X509 *x = sk_X509_value(fresh, i);

		if (known(trusted, x) && signed_in(fresh, x))
			continue;
		ok = false;
		subj = cr_name_string(X509_get_subject_name(x));
		fp = cr_fingerprint_x509(x, EVP_sha256());
		cr_err_set(err, CR_KIND_CA_KEY_CHANGED, "the CA bundle holds "
		    "%s (SHA-256 %s), whose public key and subject this node "
		    "does not trust yet (or whose signature does not verify "
		    "with its issuer's key): this is a new CA, not a renewal",
		    subj ? subj : "?", fp ? fp : "?");
		cr_err_detail_new(err, "subject", cr_json_str(subj ? subj : ""));
		cr_err_detail_new(err, "fingerprint_sha256", cr_json_str(fp ?
		    fp : ""));
	}
	if (sk_X509_num(fresh) == 0)
		cr_err_set(err, CR_KIND_CA_KEY_CHANGED, "the CA bundle holds no "
		    "certificate");
	free(subj);
	free(fp);
	return ok;
}

bool
cr_ca_bundle_older(STACK_OF(X509) *trusted, STACK_OF(X509) *fresh)
{
	bool older = false;
	int i, j;

	for (i = 0; i < sk_X509_num(fresh); i++) {
		X509 *x = sk_X509_value(fresh, i);

		for (j = 0; j < sk_X509_num(trusted); j++) {
			X509 *t = sk_X509_value(trusted, j);

			if (X509_NAME_cmp(X509_get_subject_name(t),
			    X509_get_subject_name(x)) == 0 &&
			    EVP_PKEY_eq(X509_get0_pubkey(t),
			    X509_get0_pubkey(x)) == 1 &&
			    ASN1_TIME_compare(X509_get0_notAfter(x),
			    X509_get0_notAfter(t)) < 0)
				older = true;
		}
	}
	ERR_clear_error();
	return older;
}
