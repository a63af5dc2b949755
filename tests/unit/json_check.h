/*
 * json_check.h - checks of the JSON the code under test returns, shared by
 * the suites that look at lists of names (test_keygen_csr, test_server,
 * test_x509).  Include after <cmocka.h>.
 */
#ifndef CR_TEST_JSON_CHECK_H
#define CR_TEST_JSON_CHECK_H

#include <jansson.h>

/* a is an array of exactly the strings given, in that order (the list
 * ends with NULL). */
void assert_json_strings(const json_t *a, ...) __attribute__((sentinel));

#endif
