/*
 * test_crl_edit.c - cr_crl_revoke / cr_crls_pem: offline revocation in the
 * issuing CA's CRL of a two-CRL chain, as cert_regen::primary_cert does it.
 * Each check goes through OpenSSL's own verification: the edited chain must
 * revoke exactly that serial, still verify with the CA key, and leave the
 * root's CRL byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cr_crl_edit.h"
#include "cr_x509.h"
#include "pki.h"

#define T0 ((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define QUEUE_EMPTY() assert_int_equal(ERR_peek_error(), 0)

static pki_world *W;

static int
setup(void **state)
{
	(void)state;
	W = pki_world_new(T0);
	return W == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	pki_world_free(W);
	pki_cleanup();
	return 0;
}

/* [inter CRL revoking `revoked`, root CRL] */
static STACK_OF(X509_CRL) *
chain(const uint64_t *revoked, size_t n)
{
	STACK_OF(X509_CRL) *s = sk_X509_CRL_new_null();

	sk_X509_CRL_push(s, pki_crl_new(W->inter, T0, -PKI_DAY, PKI_YEAR,
	    revoked, n));
	sk_X509_CRL_push(s, X509_CRL_dup(W->root_crl));
	return s;
}

static ASN1_INTEGER *
serial(uint64_t v)
{
	ASN1_INTEGER *a = ASN1_INTEGER_new();

	ASN1_INTEGER_set_uint64(a, v);
	return a;
}

static long
crl_number(X509_CRL *c)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL);
	long v = n ? ASN1_INTEGER_get(n) : -1;

	ASN1_INTEGER_free(n);
	return v;
}

static bool
lists(X509_CRL *c, uint64_t v)
{
	ASN1_INTEGER *a = serial(v);
	X509_REVOKED *r = NULL;
	bool found = X509_CRL_get0_by_serial(c, &r, a) == 1;

	ASN1_INTEGER_free(a);
	return found;
}

static void
test_revoke_adds_and_resigns(void **state)
{
	uint64_t old[] = { 9 };
	STACK_OF(X509_CRL) *s = chain(old, 1);
	ASN1_INTEGER *a = serial(0x1234);
	unsigned char *root_before = NULL, *root_after = NULL;
	int lb = i2d_X509_CRL(sk_X509_CRL_value(s, 1), &root_before), la;
	long num = crl_number(sk_X509_CRL_value(s, 0));
	bool changed = false;
	cr_err e;
	X509_CRL *c;

	(void)state;
	cr_err_init(&e);
	assert_true(cr_crl_revoke(s, W->inter->cert, W->inter->key, a,
	    T0 + 60, &changed, &e));
	QUEUE_EMPTY();
	assert_true(changed);
	c = sk_X509_CRL_value(s, 0);
	assert_true(lists(c, 0x1234));
	assert_true(lists(c, 9));			/* kept */
	assert_false(lists(c, 0x1235));
	assert_int_equal(crl_number(c), num + 1);
	assert_int_equal(X509_CRL_verify(c, W->inter->key), 1);
	assert_int_equal(X509_cmp_time(X509_CRL_get0_lastUpdate(c),
	    &(time_t){ T0 + 59 }), 1);
	la = i2d_X509_CRL(sk_X509_CRL_value(s, 1), &root_after);
	assert_int_equal(la, lb);
	assert_memory_equal(root_before, root_after, (size_t)la);
	OPENSSL_free(root_before);
	OPENSSL_free(root_after);

	/* again: already listed, nothing changes */
	assert_true(cr_crl_revoke(s, W->inter->cert, W->inter->key, a,
	    T0 + 120, &changed, &e));
	assert_false(changed);
	assert_int_equal(crl_number(sk_X509_CRL_value(s, 0)), num + 1);
	QUEUE_EMPTY();
	ASN1_INTEGER_free(a);
	sk_X509_CRL_pop_free(s, X509_CRL_free);
	cr_err_clear(&e);
}

/* The edited chain, written and read back, revokes a leaf in a real
 * verification and keeps a sibling valid. */
static void
test_round_trip_verifies(void **state)
{
	STACK_OF(X509_CRL) *s = chain(NULL, 0), *back = NULL;
	STACK_OF(X509) *bundle = sk_X509_new_null();
	struct pki_leaf_opts lo;
	X509 *gone, *kept;
	ASN1_INTEGER *a;
	const char *why = NULL;
	bool changed;
	char *pem;
	size_t len = 0;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	pki_leaf_opts_init(&lo, "old.example.com", pki_rsa_cached(2), T0);
	lo.serial = 41;
	gone = pki_leaf_new(&lo, W->inter);
	EVP_PKEY_free(lo.key);
	pki_leaf_opts_init(&lo, "new.example.com", pki_rsa_cached(3), T0);
	lo.serial = 42;
	kept = pki_leaf_new(&lo, W->inter);
	EVP_PKEY_free(lo.key);
	sk_X509_push(bundle, W->inter->cert);
	sk_X509_push(bundle, W->root->cert);
	a = serial(41);
	assert_true(cr_crl_revoke(s, W->inter->cert, W->inter->key, a, T0,
	    &changed, &e));
	assert_non_null(pem = cr_crls_pem(s, &len, &e));
	assert_int_equal(strlen(pem), len);
	assert_non_null(back = cr_crls_parse(pem, len, "edited", &e));
	assert_int_equal(sk_X509_CRL_num(back), 2);
	assert_int_equal(cr_verify_chain(gone, bundle, back, CR_CRL_CHAIN,
	    T0 + 10, &why, &e), 0);
	assert_string_equal(why, "certificate revoked");
	assert_int_equal(cr_verify_chain(kept, bundle, back, CR_CRL_CHAIN,
	    T0 + 10, &why, &e), 1);
	QUEUE_EMPTY();
	free(pem);
	ASN1_INTEGER_free(a);
	X509_free(gone);
	X509_free(kept);
	sk_X509_free(bundle);
	sk_X509_CRL_pop_free(s, X509_CRL_free);
	sk_X509_CRL_pop_free(back, X509_CRL_free);
	cr_err_clear(&e);
}

static void
test_refusals(void **state)
{
	STACK_OF(X509_CRL) *s = chain(NULL, 0);
	STACK_OF(X509_CRL) *only_root = sk_X509_CRL_new_null();
	ASN1_INTEGER *a = serial(5);
	bool changed = true;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	/* the root's key with the intermediate's cert */
	assert_false(cr_crl_revoke(s, W->inter->cert, W->root->key, a, T0,
	    &changed, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	assert_false(changed);
	QUEUE_EMPTY();
	cr_err_clear(&e);
	/* no CRL of the intermediate in the chain */
	sk_X509_CRL_push(only_root, X509_CRL_dup(W->root_crl));
	assert_false(cr_crl_revoke(only_root, W->inter->cert, W->inter->key, a,
	    T0, &changed, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	assert_non_null(strstr(e.msg, "no CRL of the CA"));
	QUEUE_EMPTY();
	ASN1_INTEGER_free(a);
	sk_X509_CRL_pop_free(s, X509_CRL_free);
	sk_X509_CRL_pop_free(only_root, X509_CRL_free);
	cr_err_clear(&e);
}

/* A nextUpdate in the past is pushed out; a future one is kept. */
static void
test_next_update(void **state)
{
	STACK_OF(X509_CRL) *s = sk_X509_CRL_new_null();
	ASN1_INTEGER *a = serial(7);
	bool changed;
	cr_err e;
	time_t later = T0 + 4 * PKI_YEAR;

	(void)state;
	cr_err_init(&e);
	sk_X509_CRL_push(s, pki_crl_new(W->inter, T0, -10 * PKI_DAY,
	    -PKI_DAY, NULL, 0));
	assert_true(cr_crl_revoke(s, W->inter->cert, W->inter->key, a, T0,
	    &changed, &e));
	assert_int_equal(X509_cmp_time(X509_CRL_get0_nextUpdate(
	    sk_X509_CRL_value(s, 0)), &later), 1);
	QUEUE_EMPTY();
	ASN1_INTEGER_free(a);
	sk_X509_CRL_pop_free(s, X509_CRL_free);
	cr_err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoke_adds_and_resigns),
		cmocka_unit_test(test_round_trip_verifies),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_next_update),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
