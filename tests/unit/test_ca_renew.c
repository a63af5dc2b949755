/*
 * test_ca_renew.c - cr_ca_renew (a CA signed again with its own keys) and
 * cr_ca_bundle_acceptable (what an agent takes as a renewal), checked
 * through OpenSSL's own verification: certificates and CRLs of the old CA
 * must verify against the renewed bundle, also past the old CA's end and
 * when the old CA has already expired.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cr_ca_renew.h"
#include "cr_http_parse.h"
#include "cr_x509.h"
#include "pki.h"

#define QUEUE_EMPTY() assert_int_equal(ERR_peek_error(), 0)
#define DAYS 5475L

static time_t now;
static EVP_PKEY *K[4];	/* RSA-2048 keys, one per role */

/* A Puppet 6+ CA: [intermediate, root], both ending at now + end. */
struct ca2 {
	pki_ca *root, *inter;
	X509_CRL *root_crl, *inter_crl;
	X509 *leaf;		/* signed by the intermediate, 5 years */
};

static void
ca2_make(struct ca2 *c, long long end)
{
	struct pki_leaf_opts lo;

	c->root = pki_ca_new("Puppet Root CA: renew", K[0], NULL,
	    now, -10 * PKI_YEAR, end);
	c->inter = pki_ca_new("Puppet CA: renew", K[1], c->root,
	    now, -10 * PKI_YEAR, end);
	assert_non_null(c->root);
	assert_non_null(c->inter);
	c->root_crl = pki_crl_new(c->root, now, -PKI_DAY, PKI_YEAR, NULL, 0);
	c->inter_crl = pki_crl_new(c->inter, now, -PKI_DAY, PKI_YEAR, NULL, 0);
	pki_leaf_opts_init(&lo, "agent.test", K[2], now);
	lo.not_before = -PKI_YEAR;
	c->leaf = pki_leaf_new(&lo, c->inter);
	assert_non_null(c->leaf);
}

static void
ca2_free(struct ca2 *c)
{
	pki_ca_free(c->root);
	pki_ca_free(c->inter);
	X509_CRL_free(c->root_crl);
	X509_CRL_free(c->inter_crl);
	X509_free(c->leaf);
}

/* c->leaf as puppetserver's CA signs agents: its authority key identifier
 * names the issuer's key AND the issuer's issuer and serial number */
static X509 *
leaf_aki_serial(const struct ca2 *c)
{
	X509 *x = X509_dup(c->leaf);
	X509_EXTENSION *e;
	X509V3_CTX v3;
	int i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1);

	assert_true(i >= 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	X509V3_set_ctx(&v3, c->inter->cert, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier,
	    "keyid:always,issuer:always");
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, c->inter->key, EVP_sha256()) > 0);
	return x;
}

static STACK_OF(X509) *
bundle2(const struct ca2 *c)
{
	STACK_OF(X509) *s = sk_X509_new_null();

	sk_X509_push(s, X509_dup(c->inter->cert));
	sk_X509_push(s, X509_dup(c->root->cert));
	return s;
}

static STACK_OF(X509_CRL) *
crls2(const struct ca2 *c)
{
	STACK_OF(X509_CRL) *s = sk_X509_CRL_new_null();

	sk_X509_CRL_push(s, X509_CRL_dup(c->inter_crl));
	sk_X509_CRL_push(s, X509_CRL_dup(c->root_crl));
	return s;
}

/* The old and the renewed bundle and the CRLs a test verified with. */
static void
bundles_free(STACK_OF(X509) *old, STACK_OF(X509) *fresh,
    STACK_OF(X509_CRL) *crls)
{
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(fresh, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
}

static int
verify_at(X509 *leaf, STACK_OF(X509) *bundle, STACK_OF(X509_CRL) *crls,
    time_t t)
{
	const char *why = NULL;
	cr_err e;
	int rc;

	cr_err_init(&e);
	rc = cr_verify_chain(leaf, bundle, crls, CR_CRL_CHAIN, t, &why, &e);
	cr_err_clear(&e);
	ERR_clear_error();
	return rc;
}

/* DER of extension nid of x, NULL when absent */
static const ASN1_OCTET_STRING *
ext_data(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

/* the renewed certificate is the old one but for serial, validity and
 * signature */
static void
assert_same_ca(X509 *old, X509 *fresh, time_t t, long days)
{
	const STACK_OF(X509_EXTENSION) *a = X509_get0_extensions(old);
	const STACK_OF(X509_EXTENSION) *b = X509_get0_extensions(fresh);
	time_t na = 0, nb = 0;
	int i;

	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(old),
	    X509_get_subject_name(fresh)), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(old),
	    X509_get_issuer_name(fresh)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(old),
	    X509_get0_pubkey(fresh)), 1);
	assert_int_equal(sk_X509_EXTENSION_num(a), sk_X509_EXTENSION_num(b));
	for (i = 0; i < sk_X509_EXTENSION_num(a); i++)
		assert_int_equal(ASN1_STRING_cmp(X509_EXTENSION_get_data(
		    sk_X509_EXTENSION_value(a, i)), X509_EXTENSION_get_data(
		    sk_X509_EXTENSION_value(b, i))), 0);
	assert_non_null(ext_data(fresh, NID_subject_key_identifier));
	assert_int_equal(ASN1_STRING_cmp(ext_data(old,
	    NID_subject_key_identifier), ext_data(fresh,
	    NID_subject_key_identifier)), 0);
	/* the serial stays: leaves name it in their AKI */
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(old),
	    X509_get0_serialNumber(fresh)), 0);
	assert_int_equal(X509_get_signature_nid(old),
	    X509_get_signature_nid(fresh));
	assert_true(cr_asn1_time_epoch(X509_get0_notAfter(fresh), &nb));
	assert_true(cr_asn1_time_epoch(X509_get0_notAfter(old), &na));
	assert_true(nb > na);
	assert_true(nb >= t + days * PKI_DAY - 5 && nb <= t + days * PKI_DAY +
	    5);
}

/* old renewed for DAYS with the intermediate's and the root's keys (e
 * initialised here, for the caller to clear). */
static STACK_OF(X509) *
renew2(const struct ca2 *c, STACK_OF(X509) *old, cr_err *e)
{
	EVP_PKEY *keys[2];
	STACK_OF(X509) *fresh;

	keys[0] = c->inter->key;
	keys[1] = c->root->key;
	cr_err_init(e);
	fresh = cr_ca_renew(old, keys, 2, now, DAYS, e);
	assert_non_null(fresh);
	return fresh;
}

static void
test_root_and_intermediate(void **state)
{
	struct ca2 c;
	STACK_OF(X509) *old, *fresh;
	STACK_OF(X509_CRL) *crls;
	X509 *leaf2;
	cr_err e;

	(void)state;
	ca2_make(&c, 2 * PKI_DAY);	/* ends in two days */
	old = bundle2(&c);
	crls = crls2(&c);
	fresh = renew2(&c, old, &e);
	assert_false(e.set);
	QUEUE_EMPTY();
	assert_int_equal(sk_X509_num(fresh), 2);
	assert_same_ca(sk_X509_value(old, 0), sk_X509_value(fresh, 0), now,
	    DAYS);
	assert_same_ca(sk_X509_value(old, 1), sk_X509_value(fresh, 1), now,
	    DAYS);
	/* the AKI of the intermediate still names the root's key */
	assert_int_equal(ASN1_STRING_cmp(ext_data(sk_X509_value(old, 0),
	    NID_authority_key_identifier), ext_data(sk_X509_value(fresh, 0),
	    NID_authority_key_identifier)), 0);
	/* the intermediate is signed by the root key, the root by itself */
	assert_int_equal(X509_verify(sk_X509_value(fresh, 0), c.root->key), 1);
	assert_int_equal(X509_verify(sk_X509_value(fresh, 1), c.root->key), 1);
	/* the old leaf and the old CRLs: fine today with both bundles; in
	 * ten days only with the renewed one */
	assert_int_equal(verify_at(c.leaf, old, crls, now), 1);
	assert_int_equal(verify_at(c.leaf, fresh, crls, now), 1);
	assert_int_equal(verify_at(c.leaf, old, crls, now + 10 * PKI_DAY), 0);
	assert_int_equal(verify_at(c.leaf, fresh, crls, now + 10 * PKI_DAY), 1);
	/* a leaf whose AKI names the intermediate's issuer and serial (as
	 * puppetserver writes them) must still find the renewed one */
	leaf2 = leaf_aki_serial(&c);
	assert_int_equal(verify_at(leaf2, fresh, crls, now + 10 * PKI_DAY), 1);
	X509_free(leaf2);
	assert_int_equal(cr_crls_unsigned(crls, fresh), -1);
	/* an agent that trusts the old bundle takes the renewed one */
	assert_true(cr_ca_bundle_acceptable(old, fresh, &e));
	/* and once it has it, the old one is older: not installed again */
	assert_false(cr_ca_bundle_older(old, fresh));
	assert_true(cr_ca_bundle_older(fresh, old));
	assert_false(cr_ca_bundle_older(fresh, fresh));
	cr_err_clear(&e);
	bundles_free(old, fresh, crls);
	ca2_free(&c);
}

/* the single self-signed CA of Puppet < 6: ca_crt.pem + ca_key.pem */
static void
test_single_self_signed(void **state)
{
	pki_ca *ca = pki_ca_new("Puppet CA: old.test", K[3], NULL,
	    now, -5 * PKI_YEAR, PKI_DAY);
	STACK_OF(X509) *old = sk_X509_new_null(), *fresh;
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	struct pki_leaf_opts lo;
	X509 *leaf;
	EVP_PKEY *keys[1];
	cr_err e;

	(void)state;
	pki_leaf_opts_init(&lo, "agent.test", K[2], now);
	leaf = pki_leaf_new(&lo, ca);
	sk_X509_push(old, X509_dup(ca->cert));
	sk_X509_CRL_push(crls, pki_crl_new(ca, now, -PKI_DAY, PKI_YEAR, NULL,
	    0));
	keys[0] = ca->key;
	cr_err_init(&e);
	fresh = cr_ca_renew(old, keys, 1, now, 40, &e);
	assert_non_null(fresh);
	assert_same_ca(sk_X509_value(old, 0), sk_X509_value(fresh, 0), now, 40);
	assert_int_equal(verify_at(leaf, old, crls, now + 5 * PKI_DAY), 0);
	assert_int_equal(verify_at(leaf, fresh, crls, now + 5 * PKI_DAY), 1);
	assert_true(cr_ca_bundle_acceptable(old, fresh, &e));
	cr_err_clear(&e);
	bundles_free(old, fresh, crls);
	X509_free(leaf);
	pki_ca_free(ca);
}

/* a CA that expired yesterday is renewed and works again */
static void
test_expired_ca(void **state)
{
	struct ca2 c;
	STACK_OF(X509) *old, *fresh;
	STACK_OF(X509_CRL) *crls;
	EVP_PKEY *keys[2];
	cr_err e;

	(void)state;
	ca2_make(&c, -PKI_DAY);
	old = bundle2(&c);
	crls = crls2(&c);
	keys[0] = c.root->key;	/* any order */
	keys[1] = c.inter->key;
	cr_err_init(&e);
	assert_int_equal(verify_at(c.leaf, old, crls, now), 0);
	fresh = cr_ca_renew(old, keys, 2, now, DAYS, &e);
	assert_non_null(fresh);
	assert_int_equal(verify_at(c.leaf, fresh, crls, now), 1);
	cr_err_clear(&e);
	bundles_free(old, fresh, crls);
	ca2_free(&c);
}

/* without the root key the intermediate cannot be signed again, nor
 * with a key of another CA; too short a validity is refused */
static void
test_refusals(void **state)
{
	struct ca2 c;
	STACK_OF(X509) *old, *fresh;
	EVP_PKEY *keys[1];
	cr_err e;

	(void)state;
	ca2_make(&c, PKI_YEAR);
	old = bundle2(&c);
	keys[0] = c.inter->key;
	cr_err_init(&e);
	fresh = cr_ca_renew(old, keys, 1, now, DAYS, &e);
	assert_null(fresh);
	assert_string_equal(e.kind, CR_KIND_CA_RENEW);
	assert_non_null(strstr(e.msg, "Puppet CA: renew"));
	cr_err_clear(&e);
	keys[0] = K[3];	/* a key of no certificate here */
	fresh = cr_ca_renew(old, keys, 1, now, DAYS, &e);
	assert_null(fresh);
	assert_string_equal(e.kind, CR_KIND_CA_RENEW);
	cr_err_clear(&e);
	keys[0] = c.root->key;
	fresh = cr_ca_renew(old, keys, 1, now, CR_CA_RENEW_DAYS_MIN - 1, &e);
	assert_null(fresh);
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&e);
	QUEUE_EMPTY();
	sk_X509_pop_free(old, X509_free);
	ca2_free(&c);
}

/* a renewal that would end sooner than the CA does now is refused, with
 * the fewest days that do not shorten it; the same days past it pass */
static void
test_not_shorter(void **state)
{
	struct ca2 c;
	STACK_OF(X509) *old;
	cr_err e;

	(void)state;
	ca2_make(&c, 100 * PKI_DAY + 3600);	/* ends in 100 days + 1 h */
	old = bundle2(&c);
	cr_err_init(&e);
	assert_false(cr_ca_renew_not_shorter(old, now, 100, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	assert_int_equal(json_integer_value(json_object_get(e.details,
	    "days_min")), 101);
	assert_string_equal(json_string_value(json_object_get(e.details,
	    "parameter")), "days");
	assert_non_null(strstr(e.msg, "allow_shorter=true"));
	assert_non_null(strstr(e.msg, "days=101 or more"));
	cr_err_clear(&e);
	assert_true(cr_ca_renew_not_shorter(old, now, 101, &e));
	assert_false(e.set);
	sk_X509_pop_free(old, X509_free);
	ca2_free(&c);
	/* ending in 5 days: the minimum is still the parameter's minimum */
	ca2_make(&c, 5 * PKI_DAY);
	old = bundle2(&c);
	assert_true(cr_ca_renew_not_shorter(old, now, CR_CA_RENEW_DAYS_MIN,
	    &e));
	assert_false(cr_ca_renew_not_shorter(old, now, 4, &e));
	assert_int_equal(json_integer_value(json_object_get(e.details,
	    "days_min")), CR_CA_RENEW_DAYS_MIN);
	cr_err_clear(&e);
	QUEUE_EMPTY();
	sk_X509_pop_free(old, X509_free);
	ca2_free(&c);
}

/* A bundle of cert alone, offered to an agent that trusts trusted:
 * refused as a changed CA key. */
static void
assert_refused(STACK_OF(X509) *trusted, X509 *cert)
{
	STACK_OF(X509) *fresh = sk_X509_new_null();
	cr_err e;

	assert_non_null(fresh);
	sk_X509_push(fresh, X509_dup(cert));
	cr_err_init(&e);
	assert_false(cr_ca_bundle_acceptable(trusted, fresh, &e));
	assert_string_equal(e.kind, CR_KIND_CA_KEY_CHANGED);
	assert_non_null(json_object_get(e.details, "fingerprint_sha256"));
	cr_err_clear(&e);
	QUEUE_EMPTY();
	sk_X509_pop_free(fresh, X509_free);
}

/* another CA (other keys), the same name with another key, the same key
 * under another name, a forged signature: refused */
static void
test_acceptance_rule(void **state)
{
	struct ca2 c;
	pki_ca *other, *same_name, *other_name, *forged;
	STACK_OF(X509) *trusted;
	cr_err e;

	(void)state;
	ca2_make(&c, PKI_YEAR);
	trusted = bundle2(&c);
	other = pki_ca_new("Puppet Root CA: other", K[3], NULL,
	    now, -PKI_DAY, PKI_YEAR);
	same_name = pki_ca_new("Puppet Root CA: renew", K[3], NULL,
	    now, -PKI_DAY, PKI_YEAR);
	other_name = pki_ca_new("Puppet Root CA: renamed", K[0],
	    NULL, now, -PKI_DAY, PKI_YEAR);
	/* the root's name and key, signed by a key that is not its own */
	forged = pki_ca_new("Puppet Root CA: renew", K[0], other,
	    now, -PKI_DAY, PKI_YEAR);
	assert_non_null(forged);
	X509_set_issuer_name(forged->cert, X509_get_subject_name(forged->cert));
	X509_sign(forged->cert, other->key, EVP_sha256());

	assert_refused(trusted, other->cert);
	assert_refused(trusted, same_name->cert);
	assert_refused(trusted, other_name->cert);
	assert_refused(trusted, forged->cert);
	/* a renewed intermediate alone whose root is not in the bundle */
	assert_refused(trusted, c.inter->cert);
	/* the old bundle itself is acceptable (state current) */
	cr_err_init(&e);
	assert_true(cr_ca_bundle_acceptable(trusted, trusted, &e));
	cr_err_clear(&e);
	sk_X509_pop_free(trusted, X509_free);
	pki_ca_free(other);
	pki_ca_free(same_name);
	pki_ca_free(other_name);
	pki_ca_free(forged);
	ca2_free(&c);
}

/* with a pin (ca_bundle_update's ca_fingerprint), the renewed bundle is
 * accepted by the new root's fingerprint and another CA's is not */
static void
test_pin(void **state)
{
	struct ca2 c;
	pki_ca *other;
	STACK_OF(X509) *old, *fresh, *o;
	unsigned char pin[CR_HTTP_PIN_LEN];
	char *fp, *pem, *opem;
	size_t len = 0, olen = 0;
	cr_err e;

	(void)state;
	ca2_make(&c, PKI_DAY);
	other = pki_ca_new("Puppet Root CA: other", K[3], NULL,
	    now, -PKI_DAY, PKI_YEAR);
	old = bundle2(&c);
	fresh = renew2(&c, old, &e);
	pem = cr_certs_pem(fresh, &len, &e);
	assert_non_null(pem);
	fp = cr_fingerprint_x509(sk_X509_value(fresh, 1), EVP_sha256());
	assert_true(cr_http_pin_parse(fp, pin));
	assert_true(cr_http_bundle_pin_ok(pin, pem, len, fresh));
	o = sk_X509_new_null();
	sk_X509_push(o, X509_dup(other->cert));
	opem = cr_certs_pem(o, &olen, &e);
	assert_false(cr_http_bundle_pin_ok(pin, opem, olen, o));
	QUEUE_EMPTY();
	cr_err_clear(&e);
	free(fp);
	free(pem);
	free(opem);
	sk_X509_pop_free(o, X509_free);
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(fresh, X509_free);
	pki_ca_free(other);
	ca2_free(&c);
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		EVP_PKEY_free(K[i]);
	pki_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_and_intermediate),
		cmocka_unit_test(test_single_self_signed),
		cmocka_unit_test(test_expired_ca),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_not_shorter),
		cmocka_unit_test(test_acceptance_rule),
		cmocka_unit_test(test_pin),
	};

	int i;

	now = time(NULL);
	for (i = 0; i < 4; i++)
		K[i] = pki_rsa_cached(i);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
