/*
 * test_server.c - the certificate summary of the primary's tasks
 * (cr_identity_cert_summary: the results' old / new, check_server's certificate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "cr_identity.h"
#include "json_check.h"
#include "pki.h"

/* old.dns_alt_names / new.dns_alt_names list the IP names too, in the form
 * of the top-level dns_alt_names ("DNS:x", "IP:y"). */
static void
test_summary_alt_names(void **state)
{
	static const char *const dns[] = { "primary.test", "puppet", NULL };
	static const char *const ip[] = { "127.0.0.1", "::1", NULL };
	struct pki_leaf_opts o;
	EVP_PKEY *key = pki_rsa_cached(0);
	pki_ca *ca = pki_ca_new("Puppet CA: test", key, NULL, time(NULL),
	    -PKI_DAY, PKI_YEAR);
	json_t *sum;
	X509 *x;

	(void)state;
	assert_non_null(ca);
	pki_leaf_opts_init(&o, "primary.test", key, time(NULL));
	o.dns = dns;
	o.ip = ip;
	x = pki_leaf_new(&o, ca);
	assert_non_null(x);
	sum = cr_identity_cert_summary(x);
	assert_json_strings(json_object_get(sum, "dns_alt_names"),
	    "DNS:primary.test", "DNS:puppet", "IP:127.0.0.1", "IP:::1", NULL);
	assert_non_null(json_object_get(sum, "fingerprint_sha256"));
	json_decref(sum);
	X509_free(x);
	/* no SANs: an empty list */
	pki_leaf_opts_init(&o, "bare.test", key, time(NULL));
	x = pki_leaf_new(&o, ca);
	sum = cr_identity_cert_summary(x);
	assert_json_strings(json_object_get(sum, "dns_alt_names"), NULL);
	json_decref(sum);
	X509_free(x);
	pki_ca_free(ca);
	EVP_PKEY_free(key);
	pki_cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_alt_names),
	};

	return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
