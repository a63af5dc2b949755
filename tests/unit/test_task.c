/*
 * test_task.c - the task contract (cr_task), plus the JSON string and
 * error-record helpers every task result goes through (cr_json, cr_err).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pemerr.h>
#include <openssl/x509err.h>

#include "cr_err.h"
#include "cr_json.h"
#include "cr_task.h"

static const struct cr_param spec[] = {
	{ .name = "label", .type = CR_P_STRING },
	{ .name = "ssldir", .type = CR_P_PATH },
	{ .name = "certname", .type = CR_P_CERTNAME },
	{ .name = "warn_days", .type = CR_P_INT, .min = 0, .max = 3650 },
	{ .name = "force", .type = CR_P_BOOL },
	{ .name = "dns_alt_names", .type = CR_P_STRINGS },
	{ .name = "extensions", .type = CR_P_HASH },
	{ .name = "ca_fingerprint", .type = CR_P_FINGERPRINT },
	{ .name = "names", .type = CR_P_CERTNAMES, .min = 1, .max = 3 },
	{ .name = "fps", .type = CR_P_FINGERPRINTS },
	{ .name = "key_type", .type = CR_P_STRING, .pattern = "^(rsa|ec)$" },
	{ .name = "services", .type = CR_P_STRINGS,
	    .pattern = "^[a-zA-Z0-9@_][a-zA-Z0-9@._-]{0,254}$" },
	{ .name = NULL },
};

/* Parameters from `text` on stdin (fmemopen) and envp. */
static json_t *
read_params(const char *text, size_t len, char *const *envp, cr_err *e)
{
	FILE *in = fmemopen((void *)text, len, "r");
	json_t *p;

	assert_non_null(in);
	p = cr_task_params_read(in, envp, spec, e);
	fclose(in);
	return p;
}

static json_t *
read_str(const char *text, char *const *envp, cr_err *e)
{
	return read_params(text, strlen(text), envp, e);
}

static void
assert_err(const cr_err *e, const char *kind, const char *in_msg)
{
	assert_true(e->set);
	assert_string_equal(e->kind, kind);
	if (in_msg != NULL && strstr(e->msg, in_msg) == NULL)
		fail_msg("'%s' not in '%s'", in_msg, e->msg);
}

/* Reads text (and envp) and expects it refused as an invalid parameter
 * with in_msg in the message; e keeps the error for the caller to look at
 * and clear. */
static void
assert_read_refused(const char *text, char *const *envp, const char *in_msg,
    cr_err *e)
{
	json_t *p;

	cr_err_init(e);
	p = read_str(text, envp, e);
	if (p != NULL) {
		json_decref(p);
		fail_msg("accepted: %.60s", text);
	}
	assert_err(e, CR_KIND_INVALID_PARAMETER, in_msg);
}

/* Each of the n texts refused with in_msg in the message. */
static void
assert_all_refused(const char *const *texts, size_t n, const char *in_msg)
{
	cr_err e;
	size_t i;

	for (i = 0; i < n; i++) {
		assert_read_refused(texts[i], NULL, in_msg, &e);
		cr_err_clear(&e);
	}
}

/* ------------------------------------------------------- reading -- */

static void
test_read_json(void **state)
{
	static const char in[] = "{\"certname\": \"agent.example.com\", "
	    "\"warn_days\": 5, \"_noop\": true, \"dns_alt_names\": [\"a\"]}\n";
	char *const envp[] = { "PT_warn_days=99", NULL };
	json_t *p;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	p = read_str(in, envp, &e);
	assert_non_null(p);
	assert_false(e.set);
	/* stdin wins; the environment is not looked at */
	assert_string_equal(cr_param_str(p, "certname"), "agent.example.com");
	assert_int_equal(cr_param_int(p, "warn_days", 30), 5);
	assert_true(cr_task_noop(p));
	assert_int_equal(json_array_size(json_object_get(p, "dns_alt_names")),
	    1);
	assert_null(cr_param_str(p, "label"));
	assert_int_equal(cr_param_int(p, "missing", 30), 30);
	assert_false(cr_param_bool(p, "force", false));
	assert_true(cr_task_params_check(p, spec, &e));
	json_decref(p);
}

static void
test_read_env_fallback(void **state)
{
	char *const envp[] = {
		"PATH=/usr/bin",
		"PT_label=42",			/* a string stays a string */
		"PT_ssldir=/var/lib/puppet/ssl",
		"PT_certname=agent.example.com",
		"PT_warn_days=45",
		"PT_force=true",
		"PT_dns_alt_names=[\"puppet\",\"puppet.example.com\"]",
		"PT_extensions={\"pp_role\":\"web\"}",
		"PT__noop=false",
		"PT__task=cert_regen::status",
		"PT__installdir=/tmp/bolt dir",
		"PT_unknown=dropped",		/* not in spec: not read */
		"PT_warn_days_x=1",		/* prefix of a name */
		NULL,
	};
	static const char *const stdins[] = { "", "  \n\t \n" };
	json_t *p;
	cr_err e;
	size_t i;
	FILE *devnull;

	(void)state;
	for (i = 0; i < 3; i++) {
		cr_err_init(&e);
		if (i < 2) {
			p = read_str(stdins[i], envp, &e);
		} else {
			/* a real empty stdin */
			devnull = fopen("/dev/null", "r");
			assert_non_null(devnull);
			p = cr_task_params_read(devnull, envp, spec, &e);
			fclose(devnull);
		}
		assert_non_null(p);
		assert_false(e.set);
		assert_true(json_is_string(json_object_get(p, "label")));
		assert_string_equal(cr_param_str(p, "label"), "42");
		assert_string_equal(cr_param_str(p, "ssldir"),
		    "/var/lib/puppet/ssl");
		assert_string_equal(cr_param_str(p, "certname"),
		    "agent.example.com");
		assert_true(json_is_integer(json_object_get(p, "warn_days")));
		assert_int_equal(cr_param_int(p, "warn_days", 0), 45);
		assert_true(json_is_true(json_object_get(p, "force")));
		assert_int_equal(json_array_size(json_object_get(p,
		    "dns_alt_names")), 2);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(p, "extensions"), "pp_role")), "web");
		assert_true(json_is_false(json_object_get(p, "_noop")));
		assert_string_equal(cr_param_str(p, "_task"),
		    "cert_regen::status");
		assert_string_equal(cr_param_str(p, "_installdir"),
		    "/tmp/bolt dir");
		assert_null(json_object_get(p, "unknown"));
		assert_null(json_object_get(p, "warn_days_x"));
		assert_int_equal(json_object_size(p), 10);
		assert_true(cr_task_params_check(p, spec, &e));
		json_decref(p);
	}

	/* no stdin at all, no environment: an empty object */
	cr_err_init(&e);
	p = cr_task_params_read(NULL, NULL, spec, &e);
	assert_non_null(p);
	assert_int_equal(json_object_size(p), 0);
	json_decref(p);
}

static void
test_read_env_bad_json(void **state)
{
	char *const envp[] = { "PT_warn_days=forty", NULL };
	char *const envp2[] = { "PT__noop=yes", NULL };
	cr_err e;

	(void)state;
	assert_read_refused("", envp, "PT_warn_days is not valid", &e);
	assert_string_equal(json_string_value(json_object_get(e.details,
	    "parameter")), "warn_days");
	cr_err_clear(&e);
	assert_read_refused("", envp2, "PT__noop", &e);
	cr_err_clear(&e);
}

static void
test_read_invalid_json(void **state)
{
	static const char *const bad[] = {
		"{\"certname\": ",			/* truncated */
		"{certname: 1}",			/* not JSON */
		"{\"a\": 1, \"a\": 2}",			/* duplicate key */
		"{\"a\": 1} {\"b\": 2}",		/* two documents */
		"{\"label\": \"a\\u0000b\"}",		/* NUL in a string */
		"\"just a string\"",			/* not an object or array */
	};

	(void)state;
	assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]),
	    "task input on stdin is not valid JSON");
}

static void
test_read_not_object(void **state)
{
	static const char *const bad[] = { "[1, 2, 3]", "[]", "[{}]" };

	(void)state;
	assert_all_refused(bad, sizeof(bad) / sizeof(bad[0]),
	    "must be a JSON object");
}

/* `{"label":"xxx...x"}` padded with spaces to exactly `size` bytes. */
static char *
padded_json(size_t size)
{
	char *buf = malloc(size + 1);
	int n;

	assert_non_null(buf);
	memset(buf, ' ', size);
	n = snprintf(buf, size, "{\"label\": \"%s\"}", "big");
	buf[n] = ' ';
	buf[size] = '\0';
	return buf;
}

static void
test_read_size_limit(void **state)
{
	char *buf;
	json_t *p;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	buf = padded_json(CR_MAX_TASK_INPUT);
	p = read_params(buf, CR_MAX_TASK_INPUT, NULL, &e);
	assert_non_null(p);
	assert_string_equal(cr_param_str(p, "label"), "big");
	json_decref(p);
	free(buf);

	/* padded_json has no NUL: read_str reads all of it */
	buf = padded_json(CR_MAX_TASK_INPUT + 1);
	assert_read_refused(buf, NULL, "larger than 1048576 bytes", &e);
	cr_err_clear(&e);
	free(buf);

	buf = padded_json(3 * CR_MAX_TASK_INPUT);
	assert_read_refused(buf, NULL, "larger than", &e);
	cr_err_clear(&e);
	free(buf);
}

/* ------------------------------------------------------- checking -- */

/* cr_task_params_check on `json`: expect success, or failure naming `param`
 * with `in_msg` in the message. */
static void
check(const char *json, const char *param, const char *in_msg)
{
	json_error_t jerr;
	json_t *p = json_loads(json, JSON_ALLOW_NUL, &jerr);
	cr_err e;
	bool ok;

	if (p == NULL)
		fail_msg("bad test JSON %s: %s", json, jerr.text);
	cr_err_init(&e);
	ok = cr_task_params_check(p, spec, &e);
	if (param == NULL && in_msg == NULL) {
		if (!ok)
			fail_msg("%s rejected: %s", json, e.msg);
	} else {
		if (ok)
			fail_msg("%s accepted", json);
		assert_err(&e, CR_KIND_INVALID_PARAMETER, in_msg);
		if (param != NULL)
			assert_string_equal(json_string_value(json_object_get(
			    e.details, "parameter")), param);
	}
	cr_err_clear(&e);
	json_decref(p);
}

/* check() on the JSON that fmt and its arguments make. */
static void __attribute__((format(printf, 3, 4)))
check_f(const char *param, const char *in_msg, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	check(buf, param, in_msg);
}

static void
test_check_unknown(void **state)
{
	(void)state;
	check("{\"bogus\": 1}", "bogus", "unknown parameter 'bogus'");
	check("{\"certname\": \"a\", \"Certname\": \"b\"}", "Certname",
	    "unknown parameter");
	check("{}", NULL, NULL);
}

static void
test_check_types(void **state)
{
	(void)state;
	/* strings */
	check("{\"label\": \"x\"}", NULL, NULL);
	check("{\"label\": \"\"}", "label", "must be a non-empty string");
	check("{\"label\": 5}", "label", "must be a non-empty string");
	check("{\"label\": \"a\\u0000b\"}", "label", "non-empty string");
	check("{\"label\": [\"x\"]}", "label", NULL);
	/* paths */
	check("{\"ssldir\": \"/etc/puppet/ssl\"}", NULL, NULL);
	check("{\"ssldir\": \"/a/..b/c..\"}", NULL, NULL);
	check("{\"ssldir\": \"etc/puppet\"}", "ssldir", "absolute path");
	check("{\"ssldir\": \"/etc/../root\"}", "ssldir", "absolute path");
	check("{\"ssldir\": \"/etc/..\"}", "ssldir", NULL);
	/* certnames */
	check("{\"certname\": \"agent-1.example.com\"}", NULL, NULL);
	check("{\"certname\": \"Agent.example.com\"}", "certname", "certname");
	check("{\"certname\": \"../x\"}", "certname", NULL);
	/* booleans */
	check("{\"force\": false}", NULL, NULL);
	check("{\"force\": \"true\"}", "force", "must be a boolean");
	check("{\"force\": 1}", "force", "must be a boolean");
	/* integers */
	check("{\"warn_days\": 0}", NULL, NULL);
	check("{\"warn_days\": 3650}", NULL, NULL);
	check("{\"warn_days\": \"30\"}", "warn_days", "must be an integer");
	check("{\"warn_days\": 30.0}", "warn_days", "must be an integer");
	check("{\"warn_days\": true}", "warn_days", "must be an integer");
	/* arrays and hashes of strings */
	check("{\"dns_alt_names\": []}", NULL, NULL);
	check("{\"dns_alt_names\": [\"a\", \"b\"]}", NULL, NULL);
	check("{\"dns_alt_names\": [\"a\", 1]}", "dns_alt_names",
	    "array of non-empty strings");
	check("{\"dns_alt_names\": [\"\"]}", "dns_alt_names", NULL);
	check("{\"dns_alt_names\": \"a\"}", "dns_alt_names", NULL);
	check("{\"extensions\": {\"pp_role\": \"web\"}}", NULL, NULL);
	check("{\"extensions\": {\"pp_role\": 1}}", "extensions",
	    "to a non-empty string");
	check("{\"extensions\": [\"pp_role\"]}", "extensions", NULL);
}

/* New "<head><n times x><tail>". */
static char *
long_value(const char *head, size_t n, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *out = malloc(h + n + t + 1);

	assert_non_null(out);
	memcpy(out, head, h);
	memset(out + h, 'x', n);
	memcpy(out + h + n, tail, t + 1);
	return out;
}

/* issue 10: the C checks said what the tasks' JSON metadata says (same fingerprint
 * regexp, empty names refused, a value too long says so). */
static void
test_check_matches_metadata(void **state)
{
	static const char fp[] = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:"
	    "89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
	/* a 70k-character value: "too long", not "must be an object" */
	static const struct { const char *head, *tail, *param, *in_msg; } big[] = {
		{ "{\"extensions\": {\"pp_role\": \"", "\"}}", "extensions",
		  "too long (at most 4096 characters)" },
		{ "{\"label\": \"", "\"}", "label", "too long" },
		{ "{\"dns_alt_names\": [\"", "\"]}", "dns_alt_names", "too long" },
		{ "{\"extensions\": {\"", "\": \"web\"}}", "extensions", "too long" },
	};
	char *json;
	size_t i;

	(void)state;
	check_f(NULL, NULL, "{\"ca_fingerprint\": \"%s\"}", fp);
	check_f(NULL, NULL, "{\"ca_fingerprint\": \"SHA256:%s\"}", fp);
	check_f(NULL, NULL, "{\"ca_fingerprint\": \"(SHA256) %s\"}", fp);
	/* a trailing colon, a missing pair, no colons, a stray character */
	check_f("ca_fingerprint", "32 colon-separated hex pairs",
	    "{\"ca_fingerprint\": \"%s:\"}", fp);
	check_f("ca_fingerprint", "SHA-256 fingerprint",
	    "{\"ca_fingerprint\": \"%.92s\"}", fp);
	check("{\"ca_fingerprint\": \"ABCDEF0123456789ABCDEF0123456789ABCDEF"
	    "0123456789ABCDEF0123456789\"}", "ca_fingerprint", "fingerprint");
	check_f("ca_fingerprint", "fingerprint",
	    "{\"ca_fingerprint\": \"%.94sG\"}", fp);
	assert_true(cr_fingerprint_valid(fp));
	assert_false(cr_fingerprint_valid(NULL));
	assert_false(cr_fingerprint_valid(""));
	/* certnames: count within [min, max], each a certname */
	check("{\"names\": [\"a.test\"]}", NULL, NULL);
	check("{\"names\": [\"a\", \"b\", \"c\"]}", NULL, NULL);
	check("{\"names\": []}", "names", "must list 1 to 3 certnames");
	check("{\"names\": [\"a\", \"b\", \"c\", \"d\"]}", "names",
	    "not 4 value(s)");
	check("{\"names\": [\"a..b\"]}", "names", "certnames");
	check("{\"names\": [\"Bad/Name\"]}", "names", "certnames");
	/* certname -> fingerprint, the bad entry named */
	check_f(NULL, NULL, "{\"fps\": {\"a.test\": \"%s\"}}", fp);
	check_f("fps", "entry 'a.test' must map a certname to a SHA-256",
	    "{\"fps\": {\"a.test\": \"%s:\"}}", fp);
	check_f("fps", "entry 'A/b'", "{\"fps\": {\"A/b\": \"%s\"}}", fp);
	/* enumerations and name patterns: the whole value must match */
	check("{\"key_type\": \"ec\"}", NULL, NULL);
	check("{\"key_type\": \"dsa\"}", "key_type", "must be one of: rsa, ec");
	check("{\"key_type\": \"rsaX\"}", "key_type", "must be one of: rsa, ec");
	check("{\"key_type\": \"xec\"}", "key_type", "must be one of: rsa, ec");
	{	/* ... and the next step names the values that work */
		json_t *p = json_loads("{\"key_type\": \"dsa\"}", 0, NULL);
		cr_err e;

		cr_err_init(&e);
		assert_false(cr_task_params_check(p, spec, &e));
		assert_string_equal(json_string_value(json_object_get(
		    e.details, "next_step")), "give 'key_type' one of rsa, ec "
		    "and run the task again");
		cr_err_clear(&e);
		json_decref(p);
	}
	check("{\"services\": [\"puppet\", \"pxp-agent\", \"a@b.service\"]}",
	    NULL, NULL);
	check("{\"services\": [\"-x\"]}", "services", "matching");
	check("{\"services\": [\"a b\"]}", "services", "matching");
	check("{\"services\": [\"a\\nb\"]}", "services", "matching");
	/* an empty extension name is refused at the parameter check */
	check("{\"extensions\": {\"\": \"web\"}}", "extensions",
	    "map a non-empty name");
	check("{\"extensions\": {\"pp_role\": \"web\"}}", NULL, NULL);
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		json = long_value(big[i].head, 70000, big[i].tail);
		check(json, big[i].param, big[i].in_msg);
		free(json);
	}
}

static void
test_check_int_range(void **state)
{
	(void)state;
	check("{\"warn_days\": -1}", "warn_days", "between 0 and 3650");
	check("{\"warn_days\": 3651}", "warn_days", "between 0 and 3650");
	check("{\"warn_days\": 9223372036854775807}", "warn_days",
	    "between 0 and 3650");
}

static void
test_check_null_default(void **state)
{
	json_t *p = json_loads("{\"warn_days\": null, \"label\": null, "
	    "\"force\": null}", 0, NULL);
	cr_err e;

	(void)state;
	assert_non_null(p);
	cr_err_init(&e);
	assert_true(cr_task_params_check(p, spec, &e));
	assert_int_equal(cr_param_int(p, "warn_days", 30), 30);
	assert_null(cr_param_str(p, "label"));
	assert_true(cr_param_bool(p, "force", true));
	json_decref(p);
}

static void
test_check_metaparameters(void **state)
{
	(void)state;
	check("{\"_noop\": true, \"_task\": \"cert_regen::status\", "
	    "\"_installdir\": \"/tmp/x\", \"_run_as\": \"root\", "
	    "\"_catch_errors\": true, \"_anything\": [1]}", NULL, NULL);
	check("{\"_noop\": false}", NULL, NULL);
	check("{\"_noop\": \"true\"}", NULL, "_noop must be a boolean");
	check("{\"_noop\": 1}", NULL, "_noop must be a boolean");
	check("{\"_noop\": null}", NULL, "_noop must be a boolean");
}

static void
test_certname_valid(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "agent.example.com", true },
		{ "agent", true },
		{ "a", true },
		{ "web-01.dc_2.example.com", true },
		{ "0agent", true },
		{ "agent.", true },
		{ "", false },
		{ "Agent.example.com", false },
		{ "AGENT", false },
		{ "agent/x", false },
		{ "/etc/passwd", false },
		{ "..", false },
		{ "a..b", false },
		{ "../agent", false },
		{ ".agent", false },
		{ "-agent", false },
		{ "agent example", false },
		{ "agent\texample", false },
		{ "agent\\x", false },
		{ "ag\xC3\xA9nt", false },
		{ "agent:8140", false },
		{ "*.example.com", false },
	};
	char long_name[257];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cr_certname_valid(cases[i].name) != cases[i].ok)
			fail_msg("'%s': want %s", cases[i].name,
			    cases[i].ok ? "valid" : "invalid");
	assert_false(cr_certname_valid(NULL));
	memset(long_name, 'a', sizeof(long_name));
	long_name[255] = '\0';
	assert_true(cr_certname_valid(long_name));	/* 255 bytes */
	long_name[255] = 'a';
	long_name[256] = '\0';
	assert_false(cr_certname_valid(long_name));	/* 256 bytes */
}

/* ------------------------------------------------------- printing -- */

/* Runs print(arg) with stdout sent to a temp file; returns what it wrote. */
static char *
capture_stdout(int (*print)(const void *), const void *arg, int *rc)
{
	char path[] = "/tmp/cr_task_out.XXXXXX";
	int fd = mkstemp(path), saved;
	FILE *f;
	char *buf;
	long n;

	assert_true(fd != -1);
	unlink(path);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fd, STDOUT_FILENO) != -1);
	*rc = print(arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int
err_printer(const void *e)
{
	return cr_task_print_error(e);
}

static int
result_printer(const void *j)
{
	return cr_task_print_result((json_t *)j);
}

/* The printed text is one JSON object on one line, newline-terminated. */
static json_t *
one_line_object(const char *out)
{
	size_t len = strlen(out);
	json_t *j;

	assert_true(len > 1);
	assert_int_equal(out[len - 1], '\n');
	assert_true(strchr(out, '\n') == out + len - 1);
	j = json_loads(out, 0, NULL);
	assert_true(json_is_object(j));
	return j;
}

static void
test_print_error(void **state)
{
	cr_err e;
	json_t *j, *err, *details;
	char *out;
	int rc;

	(void)state;
	cr_err_init(&e);
	cr_err_set(&e, CR_KIND_INVALID_PARAMETER, "parameter '%s' is bad: %s",
	    "certname", "caf\xC3\xA9 \"quoted\"\n");
	cr_err_detail_new(&e, "parameter", json_string("certname"));
	cr_err_set_step(&e, "validate");
	out = capture_stdout(err_printer, &e, &rc);
	assert_int_equal(rc, 0);
	/* ASCII only: non-ASCII is escaped */
	assert_non_null(strstr(out, "caf\\u00E9"));
	j = one_line_object(out);
	assert_int_equal(json_object_size(j), 1);
	err = json_object_get(j, "_error");
	assert_true(json_is_object(err));
	assert_int_equal(json_object_size(err), 3);
	assert_string_equal(json_string_value(json_object_get(err, "msg")),
	    "parameter 'certname' is bad: caf\xC3\xA9 \"quoted\"\n. Next step: "
	    "correct the parameter named above and run the task again.");
	assert_string_equal(json_string_value(json_object_get(err, "kind")),
	    CR_KIND_INVALID_PARAMETER);
	details = json_object_get(err, "details");
	assert_string_equal(json_string_value(json_object_get(details,
	    "parameter")), "certname");
	assert_string_equal(json_string_value(json_object_get(details,
	    "step")), "validate");
	/* the record itself is unchanged (details not consumed) */
	assert_null(json_object_get(e.details, "step"));
	json_decref(j);
	free(out);
	cr_err_clear(&e);

	/* an empty record still prints a well-formed error */
	out = capture_stdout(err_printer, &e, &rc);
	assert_int_equal(rc, 0);
	j = one_line_object(out);
	err = json_object_get(j, "_error");
	assert_string_equal(json_string_value(json_object_get(err, "msg")),
	    "unknown error. Next step: run the task again; if it fails the "
	    "same way, report it with the task's JSON output (--format json).");
	assert_string_equal(json_string_value(json_object_get(err, "kind")),
	    CR_KIND_INTERNAL);
	/* details: the default next step only */
	assert_int_equal(json_object_size(json_object_get(err, "details")), 1);
	json_decref(j);
	free(out);
}

static void
test_print_result(void **state)
{
	json_t *r = json_pack("{s:s, s:i, s:[s]}", "health", "ok", "days", 5,
	    "list", "x");
	json_t *j;
	char *out;
	int rc;

	(void)state;
	assert_non_null(r);
	out = capture_stdout(result_printer, r, &rc);
	assert_int_equal(rc, 0);
	j = one_line_object(out);
	assert_true(json_equal(j, r));
	json_decref(j);
	json_decref(r);
	free(out);
}

/* ---------------------------------------------------- JSON strings -- */

static void
assert_jstr(json_t *j, const char *want, size_t want_len)
{
	assert_true(json_is_string(j));
	assert_int_equal(json_string_length(j), want_len);
	assert_memory_equal(json_string_value(j), want, want_len);
	json_decref(j);
}

#define FFFD "\xEF\xBF\xBD"

static void
test_json_str(void **state)
{
	(void)state;
	assert_jstr(cr_json_str("plain"), "plain", 5);
	assert_jstr(cr_json_str("caf\xC3\xA9 \xF0\x9F\x94\x91"),
	    "caf\xC3\xA9 \xF0\x9F\x94\x91", 10);
	/* a stray byte, an overlong '/', a UTF-16 surrogate, a code point
	 * above U+10FFFF, a sequence cut off at the end */
	assert_jstr(cr_json_str("a\xFF" "b"), "a" FFFD "b", 5);
	assert_jstr(cr_json_str("\xC0\xAF"), FFFD FFFD, 6);
	assert_jstr(cr_json_str("\xED\xA0\x80"), FFFD FFFD FFFD, 9);
	assert_jstr(cr_json_str("\xF4\x90\x80\x80"), FFFD FFFD FFFD FFFD, 12);
	assert_jstr(cr_json_str("ok\xE2\x82"), "ok" FFFD FFFD, 8);
	/* Latin-1 subject bytes keep their ASCII neighbours */
	assert_jstr(cr_json_str("M\xFCnchen"), "M" FFFD "nchen", 9);
	assert_true(json_is_null(cr_json_str(NULL)));
	assert_true(json_is_null(cr_json_strn(NULL, 3)));
	assert_jstr(cr_json_strn("", 0), "", 0);
}

static void
test_json_str_nul(void **state)
{
	(void)state;
	/* a C string ends at its NUL */
	assert_jstr(cr_json_str("evil.com\0.good.com"), "evil.com", 8);
	/* with a length nothing is lost: the NUL becomes U+FFFD whether or
	 * not the rest is valid UTF-8, so no consumer truncates the value */
	assert_jstr(cr_json_strn("evil.com\0.good.com", 18),
	    "evil.com" FFFD ".good.com", 20);
	assert_jstr(cr_json_strn("a\0\xFF", 3), "a" FFFD FFFD, 7);
	assert_jstr(cr_json_strn("\0", 1), FFFD, 3);
	/* only len bytes are read */
	assert_jstr(cr_json_strn("abcdef", 3), "abc", 3);
}

static void
test_json_set(void **state)
{
	json_t *o = json_object();

	(void)state;
	assert_int_equal(cr_json_set(o, "a", NULL), 0);
	assert_int_equal(cr_json_set(o, "b", json_integer(1)), 0);
	assert_true(json_is_null(json_object_get(o, "a")));
	assert_int_equal(json_integer_value(json_object_get(o, "b")), 1);
	json_decref(o);
}

/* ------------------------------------------------------ error record -- */

static void
test_err_openssl_drains(void **state)
{
	cr_err e;
	int i;

	(void)state;
	cr_err_init(&e);
	ERR_raise_data(ERR_LIB_PEM, PEM_R_NO_START_LINE, "first %d", 1);
	ERR_raise(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE);
	ERR_raise_data(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH, "third");
	cr_err_openssl(&e, "cannot do %s", "it");
	assert_int_equal(ERR_peek_error(), 0);
	assert_string_equal(e.kind, CR_KIND_OPENSSL);
	assert_true(strncmp(e.msg, "cannot do it: error:", 20) == 0);
	assert_non_null(strstr(e.msg, "no start line"));
	assert_non_null(strstr(e.msg, "; error:"));
	assert_non_null(strstr(e.msg, "cert already in hash table"));
	assert_non_null(strstr(e.msg, "key values mismatch"));
	/* oldest first, as OpenSSL queued them */
	assert_true(strstr(e.msg, "no start line") <
	    strstr(e.msg, "key values mismatch"));

	/* a set record is kept, but the queue is still drained */
	ERR_raise(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH);
	cr_err_openssl(&e, "second failure");
	assert_int_equal(ERR_peek_error(), 0);
	assert_true(strncmp(e.msg, "cannot do it", 12) == 0);
	cr_err_clear(&e);

	/* and with no record at all */
	ERR_raise(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH);
	cr_err_openssl(NULL, "nobody listens");
	assert_int_equal(ERR_peek_error(), 0);

	/* more entries than the queue holds, more text than the buffer */
	for (i = 0; i < 40; i++)
		ERR_raise_data(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH,
		    "entry %d with some text to fill the message buffer", i);
	cr_err_openssl(&e, "many");
	assert_int_equal(ERR_peek_error(), 0);
	assert_true(strlen(e.msg) < sizeof(e.msg));
	cr_err_clear(&e);

	/* an empty queue adds nothing */
	cr_err_openssl(&e, "plain");
	assert_string_equal(e.msg, "plain");
	cr_err_clear(&e);
}

static void
test_err_record(void **state)
{
	cr_err e;
	json_t *j;
	char buf[8];

	(void)state;
	cr_err_init(&e);
	cr_err_errno(&e, CR_KIND_IO, 2, "cannot open %s", "/x");
	assert_string_equal(e.msg, "cannot open /x: No such file or directory");
	assert_int_equal(json_integer_value(json_object_get(e.details,
	    "errno")), 2);
	/* the first failure wins */
	cr_err_set(&e, CR_KIND_INTERNAL, "later");
	cr_err_set_step(&e, "read");
	cr_err_set_step(&e, "write");
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_string_equal(e.step, "read");
	j = cr_err_to_json(&e);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "details"), "step")), "read");
	json_decref(j);
	cr_err_clear(&e);
	assert_false(e.set);
	assert_null(e.details);
	cr_err_detail_new(NULL, "k", json_string("leak-free"));

	/* cr_openssl_errors on a tiny buffer, and on an empty queue */
	ERR_raise(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH);
	cr_openssl_errors(buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(ERR_peek_error(), 0);
	cr_openssl_errors(buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* Every registered kind has a next step in words; lookups find it; an
 * unknown kind still gets one. */
static void
test_err_kind_registry(void **state)
{
	const struct cr_err_kind_info *k;
	size_t n = 0;

	(void)state;
	for (k = cr_err_kinds(); k->kind != NULL; k++, n++) {
		const struct cr_err_kind_info *o;
		size_t len;

		if (strncmp(k->kind, "cert_regen/", 11) != 0)
			fail_msg("kind %s lacks the cert_regen/ prefix", k->kind);
		if (strlen(k->kind) >= CR_ERR_KIND_MAX)
			fail_msg("kind %s does not fit cr_err.kind", k->kind);
		assert_non_null(k->next_step);
		len = strlen(k->next_step);
		if (len < 20 || k->next_step[len - 1] != '.')
			fail_msg("next step of %s is not a sentence: '%s'",
			    k->kind, k->next_step);
		assert_ptr_equal(cr_err_kind_next_step(k->kind), k->next_step);
		for (o = k + 1; o->kind != NULL; o++)
			if (strcmp(o->kind, k->kind) == 0)
				fail_msg("kind %s registered twice", k->kind);
	}
	assert_true(n >= 35);
	/* the kinds of ext/core's headers (the lint checks the rest) */
	assert_string_not_equal(cr_err_kind_next_step(CR_KIND_IO),
	    cr_err_kind_next_step("cert_regen/no-such-kind"));
	assert_non_null(strstr(cr_err_kind_next_step("cert_regen/no-such-kind"),
	    "run the task again"));
	assert_non_null(cr_err_kind_next_step(NULL));
}

/* The printed message ends with the flow's next step, or the kind's
 * default; never twice; a message at the record's size limit keeps its
 * whole next step. */
static void
test_err_message_next_step(void **state)
{
	cr_err e;
	char *m, big[CR_ERR_MSG_MAX + 100];
	json_t *j;
	const char *jm, *ns;

	(void)state;
	cr_err_init(&e);
	cr_err_set(&e, CR_KIND_IO, "cannot open /x");
	m = cr_err_message_new(&e);
	assert_string_equal(m, "cannot open /x. Next step: check the path "
	    "named above (it must exist, be a regular file or directory with "
	    "the expected owner and mode, on a file system with free space), "
	    "then run the task again.");
	free(m);
	/* a flow's own next step wins, and details.next_step is kept */
	cr_err_detail_new(&e, "next_step", json_string("clean it on the CA "
	    "first: cert_regen::ca_clean"));
	j = cr_err_to_json(&e);
	jm = json_string_value(json_object_get(j, "msg"));
	ns = json_string_value(json_object_get(json_object_get(j, "details"),
	    "next_step"));
	assert_string_equal(jm, "cannot open /x. Next step: clean it on the CA "
	    "first: cert_regen::ca_clean");
	assert_string_equal(ns, "clean it on the CA first: cert_regen::ca_clean");
	json_decref(j);
	cr_err_clear(&e);

	/* no duplicate when the message already ends with it */
	cr_err_set(&e, CR_KIND_SETTINGS, "held. Next step: %s",
	    cr_err_kind_next_step(CR_KIND_SETTINGS));
	m = cr_err_message_new(&e);
	assert_string_equal(m, e.msg);
	free(m);
	/* the default lands in details.next_step too */
	j = cr_err_to_json(&e);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j,
	    "details"), "next_step")), cr_err_kind_next_step(CR_KIND_SETTINGS));
	json_decref(j);
	cr_err_clear(&e);

	/* a message truncated at CR_ERR_MSG_MAX keeps the whole next step */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_err_set(&e, CR_KIND_PARSE, "%s", big);
	assert_int_equal(strlen(e.msg), CR_ERR_MSG_MAX - 1);
	m = cr_err_message_new(&e);
	ns = cr_err_kind_next_step(CR_KIND_PARSE);
	assert_true(strlen(m) > strlen(ns));
	assert_string_equal(m + strlen(m) - strlen(ns), ns);
	assert_non_null(strstr(m, "x. Next step: "));
	free(m);
	cr_err_clear(&e);

	/* an empty record (kind internal) */
	m = cr_err_message_new(&e);
	assert_string_equal(m, "unknown error. Next step: run the task again; "
	    "if it fails the same way, report it with the task's JSON output "
	    "(--format json).");
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_json),
		cmocka_unit_test(test_read_env_fallback),
		cmocka_unit_test(test_read_env_bad_json),
		cmocka_unit_test(test_read_invalid_json),
		cmocka_unit_test(test_read_not_object),
		cmocka_unit_test(test_read_size_limit),
		cmocka_unit_test(test_check_unknown),
		cmocka_unit_test(test_check_types),
		cmocka_unit_test(test_check_int_range),
		cmocka_unit_test(test_check_matches_metadata),
		cmocka_unit_test(test_check_null_default),
		cmocka_unit_test(test_check_metaparameters),
		cmocka_unit_test(test_certname_valid),
		cmocka_unit_test(test_print_error),
		cmocka_unit_test(test_print_result),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_str_nul),
		cmocka_unit_test(test_json_set),
		cmocka_unit_test(test_err_openssl_drains),
		cmocka_unit_test(test_err_record),
		cmocka_unit_test(test_err_kind_registry),
		cmocka_unit_test(test_err_message_next_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
