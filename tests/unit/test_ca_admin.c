/*
 * test_ca_admin.c - the listing of the CA's certificate statuses
 * (cr_ca_list_rows): dates as puppetserver writes them, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "cr_ca_admin.h"
#include "cr_err.h"

/* 2030-01-01T00:00:00Z */
#define NOW ((time_t)1893456000)

static json_t *
row_of(json_t *listing, const char *name)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(listing, "certificates"), i, row)
		if (strcmp(json_string_value(json_object_get(row, "name")),
		    name) == 0)
			return row;
	fail_msg("no row for %s", name);
	return NULL;
}

/* A not_after with trailing text is not a date (it was read as one). */
static void
test_ca_time_strict(void **state)
{
	json_t *all = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s},"
	    " {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]",
	    "name", "utc", "state", "signed", "not_after", "2030-01-11T00:00:00UTC",
	    "name", "zulu", "state", "signed", "not_after", "2030-01-21T00:00:00Z",
	    "name", "trailing", "state", "signed", "not_after",
	    "2030-01-11T00:00:00UTC and then some",
	    "name", "junkzone", "state", "signed", "not_after",
	    "2030-01-11T00:00:00UTX",
	    "name", "nozone", "state", "signed", "not_after",
	    "2030-01-11T00:00:00");
	json_t *out;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	out = cr_ca_list_rows(all, -1, NOW, &e);
	assert_non_null(out);
	assert_int_equal(json_integer_value(json_object_get(row_of(out, "utc"),
	    "expires_in_days")), 10);
	assert_string_equal(json_string_value(json_object_get(row_of(out, "utc"),
	    "not_after")), "2030-01-11T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(row_of(out, "zulu"),
	    "expires_in_days")), 20);
	assert_true(json_is_null(json_object_get(row_of(out, "trailing"),
	    "not_after")));
	assert_true(json_is_null(json_object_get(row_of(out, "junkzone"),
	    "expires_in_days")));
	assert_true(json_is_null(json_object_get(row_of(out, "nozone"),
	    "not_after")));
	json_decref(out);
	/* with an expiry filter an undated row is left out */
	out = cr_ca_list_rows(all, 15, NOW, &e);
	assert_int_equal(json_integer_value(json_object_get(out, "count")), 1);
	json_decref(out);
	json_decref(all);
	cr_err_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_time_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
