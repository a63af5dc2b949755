/*
 * json_check.c - see json_check.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json_check.h"

void
assert_json_strings(const json_t *a, ...)
{
	const char *want;
	const char *got;
	size_t i = 0;
	va_list ap;

	if (!json_is_array(a))
		fail_msg("not a JSON array");
	va_start(ap, a);
	while ((want = va_arg(ap, const char *)) != NULL) {
		got = json_string_value(json_array_get(a, i));
		if (got == NULL || strcmp(got, want) != 0) {
			va_end(ap);
			fail_msg("[%zu]: expected '%s', got '%s'", i, want,
			    got != NULL ? got : "(no string)");
		}
		i++;
	}
	va_end(ap);
	assert_int_equal(json_array_size(a), i);
}
