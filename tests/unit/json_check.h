/*
 * json_check.h - checks of the JSON the code under test returns: lists of
 * names (test_keygen_csr, test_server, test_x509; json_check.c, not in the
 * Windows build) and the error details of a missing file (also built for
 * Windows: test_sys_fs).  Include after <cmocka.h>.
 */
#ifndef CR_TEST_JSON_CHECK_H
#define CR_TEST_JSON_CHECK_H

#include <jansson.h>

#include "cr_err.h"

/* a is an array of exactly the strings given, in that order (the list
 * ends with NULL). */
void assert_json_strings(const json_t *a, ...) __attribute__((sentinel));

/* e says that what was asked for does not exist: an I/O error whose
 * details have missing = true.  Clears e. */
static inline void
assert_err_missing(cr_err *e)
{
	assert_true(e->set);
	assert_string_equal(e->kind, CR_KIND_IO);
	assert_true(json_is_true(json_object_get(e->details, "missing")));
	cr_err_clear(e);
}

#endif
