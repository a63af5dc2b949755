/*
 * cr_task.c - task parameters and results (see cr_task.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_json.h"
#include "cr_task.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"
#include "sys/cr_sys_regex.h"

/* Reads all of `in` up to max bytes; NULL on error or overflow. */
static char *
read_all(FILE *in, size_t max, size_t *len, cr_err *err)
{
	char *buf = NULL, *out = NULL;
	size_t cap = 0, used = 0, n;

	for (;;) {
		if (used == cap) {
			char *nbuf;
			if (cap >= max + 1) {
				cr_err_set(err, CR_KIND_INVALID_PARAMETER,
				    "task input is larger than %zu bytes", max);
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				cr_err_set(err, CR_KIND_NOMEM, "out of memory");
				goto out;
			}
			buf = nbuf;
		}
		n = fread(buf + used, 1, cap - used, in);
		used += n;
		if (n == 0)
			break;
	}
	if (ferror(in)) {
		cr_err_set(err, CR_KIND_IO, "cannot read the task input");
		goto out;
	}
	if (used > max) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "task input is larger than %zu bytes", max);
		goto out;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	buf[used] = '\0';
	*len = used;
	out = buf;
	buf = NULL;
out:
	free(buf);
	return out;
}

static bool
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static const char *
env_get(char *const *envp, const char *key)
{
	size_t klen = strlen(key);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
			return *envp + klen + 1;
	return NULL;
}

/* One PT_<name> value: raw for strings, JSON for the rest. */
static bool
env_param(json_t *params, char *const *envp, const char *name, bool is_str,
    cr_err *err)
{
	char key[160];
	const char *raw;
	json_t *v;
	json_error_t jerr;

	snprintf(key, sizeof(key), "PT_%s", name);
	if ((raw = env_get(envp, key)) == NULL)
		return true;
	if (is_str) {
		v = cr_json_str(raw);
	} else if ((v = json_loads(raw, JSON_DECODE_ANY, &jerr)) == NULL) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "%s is not valid JSON: %s", key, jerr.text);
		cr_err_detail_new(err, "parameter", json_string(name));
		return false;
	}
	json_object_set_new(params, name, v);
	return true;
}

json_t *
cr_task_params_read(FILE *in, char *const *envp, const struct cr_param *spec,
    cr_err *err)
{
	json_t *params = NULL, *out = NULL;
	json_error_t jerr;
	char *buf = NULL;
	size_t len = 0;
	const struct cr_param *p;

	if (in != NULL && (buf = read_all(in, CR_MAX_TASK_INPUT, &len, err))
	    == NULL)
		goto out;
	if (buf != NULL && !blank(buf, len)) {
		if ((params = json_loadb(buf, len, JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "task input on stdin is not valid JSON (line %d: %s)",
			    jerr.line, jerr.text);
			goto out;
		}
		if (!json_is_object(params)) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "task input on stdin must be a JSON object");
			goto out;
		}
	} else {
		if ((params = json_object()) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		for (p = spec; p != NULL && p->name != NULL; p++)
			if (!env_param(params, envp, p->name,
			    p->type == CR_P_STRING || p->type == CR_P_PATH ||
			    p->type == CR_P_DIR || p->type == CR_P_CERTNAME, err))
				goto out;
		if (!env_param(params, envp, "_noop", false, err) ||
		    !env_param(params, envp, "_installdir", true, err) ||
		    !env_param(params, envp, "_task", true, err))
			goto out;
	}
	out = params;
	params = NULL;
out:
	json_decref(params);
	free(buf);
	return out;
}

/* A path separator here ('\\' too on Windows). */
static bool
is_sep(char c)
{
	return c == '/' || (c == '\\' && cr_sys_windows());
}

/* Absolute on this platform, and no ".." component. */
static bool
path_valid(const char *s)
{
	const char *p;

	if (!cr_sys_path_absolute(s))
		return false;
	for (p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == s || is_sep(p[-1])) && (p[2] == '\0' || is_sep(p[2])))
			return false;
	return true;
}

static bool
is_dir(const char *path)
{
	struct cr_sys_stat st;
	cr_err e;
	bool yes;

	cr_err_init(&e);
	yes = cr_sys_stat(path, CR_SYS_FOLLOW, &st, &e) == 1 &&
	    st.type == CR_SYS_DIR;
	cr_err_clear(&e);
	return yes;
}

bool
cr_param_type_is_string(enum cr_param_type t)
{
	return t == CR_P_STRING || t == CR_P_PATH || t == CR_P_DIR ||
	    t == CR_P_CERTNAME || t == CR_P_FINGERPRINT;
}

bool
cr_fingerprint_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	if (strncmp(s, "SHA256:", 7) == 0)
		s += 7;
	else if (strncmp(s, "(SHA256) ", 9) == 0)
		s += 9;
	for (i = 0; i < 32; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i < 31 ? ':' : '\0'))
			return false;
	}
	return true;
}

static const char *
type_name(enum cr_param_type t)
{
	switch (t) {
	case CR_P_STRING: return "a non-empty string";
	case CR_P_PATH: return "an absolute path without '..'";
	case CR_P_DIR: return "an existing directory (absolute path without '..')";
	case CR_P_CERTNAME: return "a certname (lower case a-z 0-9 . _ -, at most 255, no '..')";
	case CR_P_INT: return "an integer";
	case CR_P_BOOL: return "a boolean";
	case CR_P_STRINGS: return "an array of non-empty strings";
	case CR_P_HASH: return "an object of non-empty names to non-empty strings";
	case CR_P_FINGERPRINT: return "a SHA-256 fingerprint (" CR_FINGERPRINT_FORM ")";
	case CR_P_CERTNAMES: return "an array of certnames";
	case CR_P_FINGERPRINTS: return "an object of certnames to SHA-256 fingerprints (" CR_FINGERPRINT_FORM ")";
	}
	return "?";
}

static bool
str_ok(json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 &&
	    json_string_length(v) <= CR_MAX_STRING_PARAM &&
	    strlen(json_string_value(v)) == json_string_length(v);
}

/* The whole of s matches the POSIX extended regexp (NULL: anything). */
static bool
pattern_ok(const char *pattern, const char *s)
{
	cr_sys_regex *re;
	bool ok;

	if (pattern == NULL)
		return true;
	if ((re = cr_sys_regex_new(pattern, 0)) == NULL)
		return false;	/* a bad table entry refuses everything */
	ok = cr_sys_regex_match(re, s);
	cr_sys_regex_free(re);
	return ok;
}

static bool
pstr_ok(const struct cr_param *p, json_t *v)
{
	return str_ok(v) && pattern_ok(p->pattern, json_string_value(v));
}

/* Objects: every name non-empty and bounded, every value checked by the
 * type; *bad: the first name that is not. */
static bool
hash_ok(const struct cr_param *p, json_t *v, const char **bad)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return false;
	json_object_foreach(v, k, e) {
		bool ok = k[0] != '\0' && strlen(k) <= CR_MAX_STRING_PARAM &&
		    str_ok(e);

		if (ok && p->type == CR_P_FINGERPRINTS)
			ok = cr_certname_valid(k) &&
			    cr_fingerprint_valid(json_string_value(e));
		if (!ok) {
			*bad = k;
			return false;
		}
	}
	return true;
}

/* An array of strings, each matching the pattern, compiled once: musl's
 * regcomp of a bounded repetition ({0,254}) takes a good part of a second,
 * so a per-element compile made 1000 service names take minutes. */
static bool
strings_ok(const struct cr_param *p, json_t *v)
{
	cr_sys_regex *re = NULL;
	bool ok = false;
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		goto out;
	if (p->pattern != NULL && json_array_size(v) > 0 &&
	    (re = cr_sys_regex_new(p->pattern, 0)) == NULL)
		goto out;	/* a bad table entry refuses everything */
	json_array_foreach(v, i, e)
		if (!str_ok(e) || (re != NULL &&
		    !cr_sys_regex_match(re, json_string_value(e))))
			goto out;
	ok = true;
out:
	cr_sys_regex_free(re);
	return ok;
}

static bool
value_ok(const struct cr_param *p, json_t *v, const char **bad)
{
	size_t i;
	json_t *e;

	switch (p->type) {
	case CR_P_STRING:
		return pstr_ok(p, v);
	case CR_P_PATH:
		return str_ok(v) && path_valid(json_string_value(v));
	case CR_P_DIR:
		return str_ok(v) && path_valid(json_string_value(v)) &&
		    is_dir(json_string_value(v));
	case CR_P_CERTNAME:
		return str_ok(v) && cr_certname_valid(json_string_value(v));
	case CR_P_INT:
		return json_is_integer(v) && json_integer_value(v) >= p->min &&
		    json_integer_value(v) <= p->max;
	case CR_P_BOOL:
		return json_is_boolean(v);
	case CR_P_STRINGS:
		return strings_ok(p, v);
	case CR_P_CERTNAMES:
		if (!json_is_array(v) || (long long)json_array_size(v) < p->min ||
		    (long long)json_array_size(v) > p->max)
			return false;
		json_array_foreach(v, i, e)
			if (!str_ok(e) || !cr_certname_valid(json_string_value(e)))
				return false;
		return true;
	case CR_P_HASH:
	case CR_P_FINGERPRINTS:
		return hash_ok(p, v, bad);
	case CR_P_FINGERPRINT:
		return str_ok(v) && cr_fingerprint_valid(json_string_value(v));
	}
	return false;
}

/* A string, array element, hash key or hash value over the length limit. */
static bool
too_long(json_t *v)
{
	size_t i;
	const char *k;
	json_t *e;

	if (json_is_string(v))
		return json_string_length(v) > CR_MAX_STRING_PARAM;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (too_long(e))
				return true;
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			if (strlen(k) > CR_MAX_STRING_PARAM || too_long(e))
				return true;
	}
	return false;
}

/*
 * A pattern that only lists words, "^(a|b|c)$", as "a, b, c" in buf; false
 * (buf unspecified) for any other pattern.
 */
static bool
pattern_words(const char *pattern, char *buf, size_t len)
{
	size_t n = strlen(pattern), i, o = 0;

	if (n < 5 || strncmp(pattern, "^(", 2) != 0 ||
	    strcmp(pattern + n - 2, ")$") != 0)
		return false;
	for (i = 2; i < n - 2; i++) {
		const char c = pattern[i];

		if (o + 3 >= len)
			return false;
		if (c == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else if (isalnum((unsigned char)c) || strchr("_.@-", c) != NULL) {
			buf[o++] = c;
		} else {
			return false;
		}
	}
	buf[o] = '\0';
	return o > 0;
}

/* Sets err for a value of p that value_ok refused. */
static void
value_error(const struct cr_param *p, json_t *v, const char *bad, cr_err *err)
{
	char words[512];

	if (p->type != CR_P_INT && too_long(v))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "parameter '%s' "
		    "holds a value that is too long (at most %d characters)",
		    p->name, CR_MAX_STRING_PARAM);
	else if (p->type == CR_P_INT && json_is_integer(v))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "parameter '%s' must be between %lld and %lld",
		    p->name, p->min, p->max);
	else if (p->type == CR_P_CERTNAMES)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "parameter '%s' "
		    "must list %lld to %lld certnames (lower case a-z 0-9 . _ "
		    "-, at most 255, no '..'), not %zu value(s)", p->name,
		    p->min, p->max, json_array_size(v));
	else if (bad != NULL)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "parameter '%s': "
		    "entry '%.255s' must map %s", p->name, bad,
		    p->type == CR_P_FINGERPRINTS ? "a certname to a SHA-256 "
		    "fingerprint (" CR_FINGERPRINT_FORM ")" : "a non-empty name "
		    "to a non-empty string");
	else if (p->pattern != NULL &&
	    pattern_words(p->pattern, words, sizeof(words))) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "parameter '%s' "
		    "must be one of: %s", p->name, words);
		cr_err_next(err, "give '%s' "
		    "one of %s and run the task again",
		    p->name, words);
	} else if (p->pattern != NULL)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "parameter '%s' "
		    "must be %s matching %s", p->name, type_name(p->type),
		    p->pattern);
	else
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "parameter '%s' must be %s", p->name, type_name(p->type));
	cr_err_detail_new(err, "parameter", cr_json_str(p->name));
	if (bad != NULL)
		cr_err_detail_new(err, "entry", cr_json_str(bad));
}

bool
cr_task_params_check(json_t *params, const struct cr_param *spec, cr_err *err)
{
	const struct cr_param *p;
	const char *key, *bad;
	json_t *v;
	bool ok = false;

	json_object_foreach(params, key, v) {
		if (key[0] == '_') {
			if (strcmp(key, "_noop") == 0 && !json_is_boolean(v)) {
				cr_err_set(err, CR_KIND_INVALID_PARAMETER,
				    "_noop must be a boolean");
				goto out;
			}
			continue;	/* other metaparameters: _task, _installdir, ... */
		}
		for (p = spec; p->name != NULL; p++)
			if (strcmp(p->name, key) == 0)
				break;
		if (p->name == NULL) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "unknown parameter '%s'", key);
			cr_err_detail_new(err, "parameter", cr_json_str(key));
			goto out;
		}
		if (json_is_null(v))
			continue;	/* null means "use the default" */
		bad = NULL;
		if (!value_ok(p, v, &bad)) {
			value_error(p, v, bad, err);
			goto out;
		}
	}
	ok = true;
out:
	return ok;
}

static const char *const type_keys[] = {
	[CR_P_STRING] = "string", [CR_P_PATH] = "path", [CR_P_DIR] = "dir",
	[CR_P_CERTNAME] = "certname", [CR_P_INT] = "int", [CR_P_BOOL] = "bool",
	[CR_P_STRINGS] = "strings", [CR_P_HASH] = "hash",
	[CR_P_FINGERPRINT] = "fingerprint", [CR_P_CERTNAMES] = "certnames",
	[CR_P_FINGERPRINTS] = "fingerprints",
};

json_t *
cr_task_params_json(const struct cr_param *spec)
{
	json_t *out = json_object(), *one;
	const struct cr_param *p;

	for (p = spec; out != NULL && p->name != NULL; p++) {
		one = json_pack("{s:s, s:I, s:I, s:s?}", "type",
		    type_keys[p->type], "min", (json_int_t)p->min, "max",
		    (json_int_t)p->max, "pattern", p->pattern);
		json_object_set_new(out, p->name, one);
	}
	return out;
}

const char *
cr_param_str(json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

long long
cr_param_int(json_t *params, const char *name, long long dflt)
{
	json_t *v = json_object_get(params, name);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool
cr_param_bool(json_t *params, const char *name, bool dflt)
{
	json_t *v = json_object_get(params, name);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

json_t *
cr_param_json(json_t *params, const char *name)
{
	json_t *v = json_object_get(params, name);

	return json_is_null(v) ? NULL : v;
}

long long
cr_param_ms(json_t *params, const char *name)
{
	long long s = cr_param_int(params, name, -1);

	return s > 0 ? s * 1000 : s;
}

bool
cr_task_noop(json_t *params)
{
	return cr_param_bool(params, "_noop", false);
}

int
cr_task_print_result(json_t *result)
{
	int rc = json_dumpf(result, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);

	fputc('\n', stdout);
	return (rc == 0 && fflush(stdout) == 0) ? 0 : -1;
}

int
cr_task_print_error(const cr_err *err)
{
	json_t *inner = cr_err_to_json(err), *outer;
	int rc = -1;

	if (inner != NULL && (outer = json_object()) != NULL) {
		json_object_set_new(outer, "_error", inner);
		rc = cr_task_print_result(outer);
		json_decref(outer);
	} else {
		json_decref(inner);
	}
	return rc;
}
