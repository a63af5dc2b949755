/*
 * test_yaml.c - cr_yaml: csr_attributes.yaml as Puppet reads it.
 *
 * The scalar table was produced with Ruby 3.1 / Psych 4 (what Puppet 7
 * uses here): Psych.safe_load(..., permitted_classes: [Symbol]) then to_s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cr_csr.h"
#include "cr_yaml.h"
#include "pki.h"

static json_t *
parse(const char *text, cr_err *e)
{
	cr_err_init(e);
	return cr_csr_attributes_parse(text, strlen(text), "test.yaml", e);
}

static const char *
ext(json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j,
	    "extension_requests"), key));
}

static const char *
custom(json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j,
	    "custom_attributes"), key));
}

static void
assert_empty_result(json_t *j)
{
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 2);
	assert_int_equal(json_object_size(json_object_get(j,
	    "custom_attributes")), 0);
	assert_int_equal(json_object_size(json_object_get(j,
	    "extension_requests")), 0);
}

static const char valid_doc[] =
    "---\n"
    "# as in Puppet's documentation\n"
    "custom_attributes:\n"
    "  1.2.840.113549.1.9.7: 342thbjkt82094y0uthhor289jnqthpc2290\n"
    "extension_requests:\n"
    "  pp_uuid: ED803750-E3C7-44F5-BB08-41A04433FE2E\n"
    "  pp_role: webserver\n"
    "  1.3.6.1.4.1.34380.1.2.1: \"quoted: value\"\n"
    "  pp_cost_center: 0x1F\n"
    "  pp_zone: yes\n"
    "  pp_apptier: 1.50\n"
    "  pp_hostname:\n"
    "  pp_owner: :sym\n"
    "  pp_project: '007'\n"
    "  pp_product: 007\n"
    "  pp_cluster: |\n"
    "    block\n"
    "  pp_region: !!str 12\n";

static void
test_valid(void **state)
{
	json_t *j;
	cr_err e;

	(void)state;
	j = parse(valid_doc, &e);
	if (j == NULL)
		fail_msg("%s", e.msg);
	assert_string_equal(custom(j, "1.2.840.113549.1.9.7"),
	    "342thbjkt82094y0uthhor289jnqthpc2290");
	assert_string_equal(ext(j, "pp_uuid"),
	    "ED803750-E3C7-44F5-BB08-41A04433FE2E");
	assert_string_equal(ext(j, "pp_role"), "webserver");
	assert_string_equal(ext(j, "1.3.6.1.4.1.34380.1.2.1"), "quoted: value");
	assert_string_equal(ext(j, "pp_cost_center"), "31");
	assert_string_equal(ext(j, "pp_zone"), "true");
	assert_string_equal(ext(j, "pp_apptier"), "1.5");
	assert_string_equal(ext(j, "pp_hostname"), "");
	assert_string_equal(ext(j, "pp_owner"), "sym");
	assert_string_equal(ext(j, "pp_project"), "007");
	assert_string_equal(ext(j, "pp_product"), "7");
	assert_string_equal(ext(j, "pp_cluster"), "block\n");
	assert_string_equal(ext(j, "pp_region"), "12");
	assert_int_equal(json_object_size(json_object_get(j,
	    "extension_requests")), 12);
	assert_false(e.set);
	json_decref(j);

	/* flow style is YAML too */
	j = parse("{extension_requests: {pp_role: web}, custom_attributes: {}}",
	    &e);
	assert_non_null(j);
	assert_string_equal(ext(j, "pp_role"), "web");
	json_decref(j);
}

/* The parsed file feeds cr_csr_new as it is. */
static void
test_into_csr(void **state)
{
	EVP_PKEY *key = pki_ec_cached();
	struct cr_csr_spec spec = { .certname = "agent.example.com" };
	X509_REQ *req;
	json_t *j, *d;
	cr_err e;

	(void)state;
	j = parse(valid_doc, &e);
	spec.attributes = j;
	spec.key = key;
	req = cr_csr_new(&spec, &e);
	if (req == NULL)
		fail_msg("%s", e.msg);
	d = cr_csr_json(req);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    d, "extension_requests"), "pp_cost_center")), "31");
	assert_int_equal(json_object_size(json_object_get(d,
	    "extension_requests")), 12);
	json_decref(d);
	X509_REQ_free(req);
	json_decref(j);
	EVP_PKEY_free(key);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_scalars_as_puppet(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "webserver", "webserver" }, { "yes", "true" }, { "Yes", "true" },
		{ "ON", "true" }, { "no", "false" }, { "off", "false" },
		{ "y", "y" }, { "n", "n" }, { "False", "false" },
		{ "null", "" }, { "Null", "" }, { "~", "" }, { "", "" },
		{ "42", "42" }, { "+42", "42" }, { "-42", "-42" }, { "00", "0" },
		{ "007", "7" }, { "08", "08" }, { "0o17", "0o17" },
		{ "0x1F", "31" }, { "0X1F", "0X1F" }, { "-0x1f", "-31" },
		{ "0b101", "5" }, { "1_000", "1000" }, { "1,000", "1000" },
		{ "0_7", "7" }, { "1__2", "1__2" }, { "-0", "0" },
		{ "12345678901234567890123", "12345678901234567890123" },
		{ "1.5", "1.5" }, { "1.50", "1.5" }, { "1.", "1.0" },
		{ ".5", "0.5" }, { "-.5", "-0.5" }, { "1.0e+3", "1000.0" },
		{ "1.e+5", "100000.0" }, { "1e5", "1e5" },
		{ "1.5e-7", "1.5e-07" }, { "0.0001", "0.0001" },
		{ "0.00001", "1.0e-05" }, { "0.1", "0.1" },
		{ "1234567890123456.0", "1.234567890123456e+15" },
		{ "1234567890123456.5", "1234567890123456.5" },
		{ "123456789012345678.0", "1.2345678901234568e+17" },
		{ ".inf", "Infinity" }, { "-.Inf", "-Infinity" }, { ".NaN", "NaN" },
		{ ":sym", "sym" }, { ":\"quoted\"x", "quoted" },
		{ "::double", ":double" }, { "1:30", "5400" },
		{ "-1:30", "-1800" }, { "1:30:15", "5415" },
		{ "1:30.5", "5430.0" }, { "2024-13-01", "2024-13-01" },
		{ "1.2.3", "1.2.3" }, { "'yes'", "yes" }, { "\"0x1F\"", "0x1F" },
		{ "!!str yes", "yes" },
	};
	char doc[256];
	size_t i;
	json_t *j;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc), "extension_requests:\n  k: %s\n",
		    cases[i].in);
		j = parse(doc, &e);
		if (j == NULL)
			fail_msg("'%s': %s", cases[i].in, e.msg);
		if (strcmp(ext(j, "k"), cases[i].out) != 0)
			fail_msg("'%s' -> '%s', Puppet makes '%s'", cases[i].in,
			    ext(j, "k"), cases[i].out);
		json_decref(j);
	}
}

static void
test_empty_inputs(void **state)
{
	static const char *const docs[] = {
		"", "---\n", "# only a comment\n", "~\n", "---\n...\n",
		"custom_attributes:\n", "extension_requests: ~\n",
		"custom_attributes: {}\nextension_requests: {}\n",
	};
	char *missing = pki_path(pki_dir, "no-such.yaml");
	char *empty = pki_path(pki_dir, "empty.yaml");
	size_t i;
	json_t *j;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		j = parse(docs[i], &e);
		if (j == NULL)
			fail_msg("'%s': %s", docs[i], e.msg);
		assert_empty_result(j);
		json_decref(j);
	}
	/* a missing file is no attributes, not an error */
	cr_err_init(&e);
	j = cr_csr_attributes_read(missing, &e);
	assert_empty_result(j);
	assert_false(e.set);
	json_decref(j);
	/* an empty file */
	assert_true(pki_write_file(empty, "", 0, 0644));
	j = cr_csr_attributes_read(empty, &e);
	assert_empty_result(j);
	assert_false(e.set);
	json_decref(j);
	free(missing);
	free(empty);
}

static void
test_read_file(void **state)
{
	char *path = pki_path(pki_dir, "csr_attributes.yaml");
	json_t *j;
	cr_err e;

	(void)state;
	assert_true(pki_write_file(path, valid_doc, strlen(valid_doc), 0640));
	cr_err_init(&e);
	j = cr_csr_attributes_read(path, &e);
	assert_non_null(j);
	assert_string_equal(ext(j, "pp_role"), "webserver");
	json_decref(j);
	/* a directory is not a file */
	assert_null(cr_csr_attributes_read(pki_dir, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	free(path);
}

struct bad {
	const char *doc;
	long line, column;	/* 0: not checked */
	const char *msg_has;
};

static void
test_rejected(void **state)
{
	static const struct bad cases[] = {
		{ "extension_requests:\n  pp_role: [a, b]\n", 2, 12,
		  "a sequence" },
		{ "extension_requests:\n  pp_role:\n    - a\n", 3, 5,
		  "a sequence" },
		{ "extension_requests:\n  pp_role:\n    x: y\n", 3, 5,
		  "a mapping" },
		{ "extension_requests:\n  [a]: b\n", 2, 3, "keys must be" },
		{ "extension_requests:\n  pp_role: &r web\n  pp_zone: *r\n",
		  3, 12, "an alias" },
		{ "extension_requests: [pp_role]\n", 1, 21, "must be a mapping" },
		{ "extension_requests: web\n", 1, 21, "must be a mapping" },
		{ "- a\n- b\n", 1, 1, "expected a mapping" },
		{ "just a string\n", 1, 1, "expected a mapping" },
		{ "pp_role: web\n", 1, 1, "unexpected attribute 'pp_role'" },
		{ "extension_requests:\n  pp_role: a\n  pp_role: b\n", 3, 3,
		  "duplicate key" },
		{ "extension_requests: {}\nextension_requests: {}\n", 2, 1,
		  "duplicate key" },
		{ "extension_requests: {}\n---\nextension_requests: {}\n", 2, 1,
		  "more than one" },
		{ "extension_requests:\n  pp_role: 2024-01-01\n", 2, 12,
		  "date" },
		{ "extension_requests:\n  pp_role: 2024-01-01 10:00:00\n", 2, 12,
		  "date" },
		{ "extension_requests:\n  pp_role: 0x_\n", 2, 12, "Integer" },
		{ "extension_requests:\n  pp_role: !!binary aGk=\n", 2, 12,
		  "tag" },
		{ "extension_requests: !!set {a}\n", 1, 21, "tag" },
		{ "extension_requests:\n  pp_role: \"a\\0b\"\n", 2, 12, "NUL" },
		{ "extension_requests:\n  '': x\n", 2, 3, "empty key" },
		/* garbage */
		{ "extension_requests: {pp_role: \"unterminated\n", 0, 0, NULL },
		{ "extension_requests:\n  pp_role: a\n bad: indent\n", 0, 0,
		  NULL },
		{ "\x01\x02\x03\xff\xfe binary", 0, 0, NULL },
		{ "extension_requests:\n\tpp_role: tab\n", 0, 0, NULL },
		{ "}{", 1, 1, NULL },
	};
	size_t i;
	json_t *j;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = parse(cases[i].doc, &e);
		if (j != NULL)
			fail_msg("case %zu accepted", i);
		assert_string_equal(e.kind, CR_KIND_PARSE);
		assert_true(json_is_integer(json_object_get(e.details, "line")));
		assert_true(json_is_integer(json_object_get(e.details,
		    "column")));
		assert_string_equal(json_string_value(json_object_get(e.details,
		    "path")), "test.yaml");
		if (cases[i].line != 0 && (json_integer_value(json_object_get(
		    e.details, "line")) != cases[i].line ||
		    json_integer_value(json_object_get(e.details, "column")) !=
		    cases[i].column))
			fail_msg("case %zu: at %lld:%lld, not %ld:%ld (%s)", i,
			    json_integer_value(json_object_get(e.details,
			    "line")), json_integer_value(json_object_get(
			    e.details, "column")), cases[i].line,
			    cases[i].column, e.msg);
		if (cases[i].msg_has != NULL &&
		    strstr(e.msg, cases[i].msg_has) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg,
			    cases[i].msg_has);
		cr_err_clear(&e);
	}
}

static void
test_size_and_nesting_bounds(void **state)
{
	size_t big = 100 * 1024, i;
	char *text = malloc(big + 1), *path = pki_path(pki_dir, "big.yaml");
	json_t *j;
	cr_err e;

	(void)state;
	assert_non_null(text);
	/* 100 KB of a valid-looking file: refused before parsing */
	memcpy(text, "extension_requests:\n", 20);
	for (i = 20; i + 16 <= big; i += 16)
		memcpy(text + i, "  pp_role: abc\n#", 16);
	memset(text + i, '#', big - i);
	text[big] = '\0';
	assert_true(pki_write_file(path, text, big, 0644));
	cr_err_init(&e);
	assert_null(cr_csr_attributes_read(path, &e));
	assert_true(e.set);
	assert_non_null(strstr(e.msg, "allowed"));
	cr_err_clear(&e);
	assert_null(cr_csr_attributes_parse(text, big, "big", &e));
	assert_string_equal(e.kind, CR_KIND_PARSE);
	cr_err_clear(&e);

	/* 60 KB of nested flow sequences: the first one stops the parse */
	memset(text, '[', 60000);
	text[60000] = '\0';
	j = parse(text, &e);
	assert_null(j);
	assert_string_equal(e.kind, CR_KIND_PARSE);
	cr_err_clear(&e);
	/* nested mappings: stopped at the third level */
	j = parse("extension_requests: {a: {b: {c: {d: e}}}}", &e);
	assert_null(j);
	assert_string_equal(e.kind, CR_KIND_PARSE);
	cr_err_clear(&e);
	free(text);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_into_csr),
		cmocka_unit_test(test_scalars_as_puppet),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_size_and_nesting_bounds),
	};

	return cmocka_run_group_tests(tests, pki_group_setup, pki_group_teardown);
}
