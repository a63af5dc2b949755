/*
 * cr_yaml.c - csr_attributes.yaml (see cr_yaml.h).
 *
 * libyaml's event API drives a small state machine that accepts exactly
 * the shape Puppet accepts, so nesting never goes beyond two mappings and
 * the first unexpected event stops the parse.  Plain scalars are resolved
 * the way Psych's ScalarScanner#tokenize does (Ruby 3.1, Psych 4), then
 * turned into the string Ruby's to_s gives, since Puppet calls value.to_s.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <yaml.h>

#include "cr_fs_read.h"
#include "cr_json.h"
#include "cr_yaml.h"
#include "sys/cr_sys_regex.h"

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_MAP "tag:yaml.org,2002:map"

/* Psych's patterns, in POSIX ERE (same matches on one-line input). */
enum re_id {
	RE_STRINGISH, RE_TIME, RE_DATE, RE_INF, RE_NINF, RE_NAN, RE_SEXA_INT,
	RE_SEXA_FLOAT, RE_FLOAT, RE_FLOAT_DOT, RE_INT, RE_NULL, RE_TRUE,
	RE_FALSE, RE_COUNT
};
static const struct {
	const char *re;
	unsigned flags;
} patterns[RE_COUNT] = {
	[RE_STRINGISH] = { "^[^0-9.:-]?[[:alpha:]_[:space:]!@#$%^&*(){}<>|/\\~;=]+", 0 },
	[RE_TIME] = { "^-?[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[[:space:]]+)"
	    "[0-9]{1,2}:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?"
	    "([[:space:]]*(Z|[-+][0-9]{1,2}:?([0-9][0-9])?))?$", 0 },
	[RE_DATE] = { "^[0-9]{4}-(1[012]|0[0-9]|[0-9])-"
	    "([12][0-9]|3[01]|0[0-9]|[0-9])$", 0 },
	[RE_INF] = { "^\\+?\\.inf$", CR_SYS_RE_ICASE },
	[RE_NINF] = { "^-\\.inf$", CR_SYS_RE_ICASE },
	[RE_NAN] = { "^\\.nan$", CR_SYS_RE_ICASE },
	[RE_SEXA_INT] = { "^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$", 0 },
	[RE_SEXA_FLOAT] = { "^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\\.[0-9_]*$",
	    0 },
	[RE_FLOAT] = { "^[-+]?([0-9][0-9_,]*)?\\.[0-9]*([eE][-+][0-9]+)?$", 0 },
	[RE_FLOAT_DOT] = { "^[-+]?\\.$", 0 },
	[RE_INT] = { "^([-+]?0b[01_,]+|[-+]?0[0-7_,]+|"
	    "[-+]?(0|[1-9]([0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$", 0 },
	[RE_NULL] = { "^(~|null)$", CR_SYS_RE_ICASE },
	[RE_TRUE] = { "^(yes|true|on)$", CR_SYS_RE_ICASE },
	[RE_FALSE] = { "^(no|false|off)$", CR_SYS_RE_ICASE },
};

struct yp {
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
	bool parser_ok;
	cr_sys_regex *re[RE_COUNT];
	int n_re;
	const char *what;
	cr_err *err;
};

static void
fail_at(struct yp *p, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail_at(struct yp *p, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (p->err == NULL || p->err->set)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cr_err_set(p->err, CR_KIND_PARSE, "%s:%zu:%zu: %s", p->what,
	    m->line + 1, m->column + 1, msg);
	cr_err_detail_new(p->err, "path", cr_json_str(p->what));
	cr_err_detail_new(p->err, "line", json_integer((json_int_t)m->line + 1));
	cr_err_detail_new(p->err, "column",
	    json_integer((json_int_t)m->column + 1));
}

/* Replaces the current event by the next one. */
static bool
next(struct yp *p)
{
	if (p->have_ev)
		yaml_event_delete(&p->ev);
	p->have_ev = false;
	if (!yaml_parser_parse(&p->parser, &p->ev)) {
		if (p->parser.error == YAML_MEMORY_ERROR)
			cr_err_set(p->err, CR_KIND_NOMEM,
			    "no memory to parse %s", p->what);
		else
			fail_at(p, &p->parser.problem_mark, "%s%s%s",
			    p->parser.context ? p->parser.context : "",
			    p->parser.context ? ": " : "",
			    p->parser.problem ? p->parser.problem :
			    "YAML syntax error");
		return false;
	}
	p->have_ev = true;
	return true;
}

static bool
pat_match(struct yp *p, enum re_id id, const char *s)
{
	return cr_sys_regex_match(p->re[id], s);
}

/* ---- Ruby's to_s of the values Psych makes ---------------------------- */

/* Float#to_s (no libm needed: isnan/isinf/signbit are macros): shortest round-trip digits; fixed notation for
 * 1e-4 <= |v| < 1e15 (see below), else d.ddde+XX. */
static char *
ruby_float_str(double v)
{
	char tmp[64], digits[32], *out = NULL, *e;
	const char *sign = signbit(v) ? "-" : "";
	int prec, exp10, decpt, nd, i;
	size_t o;

	if (isnan(v))
		return strdup("NaN");
	if (isinf(v))
		return strdup(v < 0 ? "-Infinity" : "Infinity");
	if (v == 0)
		return strdup(signbit(v) ? "-0.0" : "0.0");
	if (v < 0)
		v = -v;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp = "d[.ddd]e[+-]XX" */
	nd = 0;
	for (e = tmp; *e != 'e'; e++)
		if (*e != '.')
			digits[nd++] = *e;
	exp10 = atoi(e + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = exp10 + 1;
	if ((out = malloc(64)) == NULL)
		return NULL;
	o = (size_t)snprintf(out, 64, "%s", sign);
	/* measured on Ruby 3.1: 1e15 -> "1.0e+15" but 1234567890123456.5
	 * stays fixed (a 16-digit integer part fits only with a fraction) */
	if (decpt > 0 && (decpt < 16 || (decpt == 16 && nd > 16))) {
		for (i = 0; i < decpt; i++)
			out[o++] = i < nd ? digits[i] : '0';
		out[o++] = '.';
		if (nd > decpt)
			for (i = decpt; i < nd; i++)
				out[o++] = digits[i];
		else
			out[o++] = '0';
		out[o] = '\0';
	} else if (decpt <= 0 && decpt > -4) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = decpt; i < 0; i++)
			out[o++] = '0';
		for (i = 0; i < nd; i++)
			out[o++] = digits[i];
		out[o] = '\0';
	} else {
		snprintf(out + o, 64 - o, "%c.%se%+03d", digits[0],
		    nd > 1 ? digits + 1 : "0", decpt - 1);
	}
	return out;
}

/* Copy of s without ',' and '_' (Ruby's delete(',_')). */
static char *
strip_seps(const char *s)
{
	char *out = malloc(strlen(s) + 1), *w = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++)
		if (*s != ',' && *s != '_')
			*w++ = *s;
	*w = '\0';
	return out;
}

/* Integer(s) for s matching RE_INT after strip_seps: "" if invalid. */
static char *
ruby_integer_str(const char *s)
{
	BIGNUM *bn = NULL;
	char *clean = NULL, *dec = NULL, *out = NULL;
	const char *p;
	bool neg = false;
	unsigned base = 10, d;

	if ((clean = strip_seps(s)) == NULL)
		goto out;
	p = clean;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] == 'b') {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		base = 8;
		p++;
	}
	if (*p == '\0') {	/* "0x_": Integer() raises, Puppet fails */
		out = strdup("");
		goto out;
	}
	if ((bn = BN_new()) == NULL)
		goto out;
	BN_zero(bn);
	for (; *p; p++) {
		d = (*p >= '0' && *p <= '9') ? (unsigned)(*p - '0') :
		    (*p >= 'a' && *p <= 'f') ? (unsigned)(*p - 'a' + 10) :
		    (unsigned)(*p - 'A' + 10);
		if (!BN_mul_word(bn, base) || !BN_add_word(bn, d))
			goto out;
	}
	BN_set_negative(bn, neg);
	if ((dec = BN_bn2dec(bn)) != NULL)
		out = strdup(dec);
out:
	OPENSSL_free(dec);
	BN_free(bn);
	free(clean);
	return out;
}

/* Ruby's String#to_i / to_f accept '_' only between two digits. */
static void
ruby_num_prefix(const char *s, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '_') {
			if (i == 0 || i + 1 >= n || s[i - 1] < '0' ||
			    s[i - 1] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
				break;
			continue;
		}
		buf[o++] = s[i];
	}
	buf[o] = '\0';
}

/* Psych's base-60 numbers: sum of part * 60**|index - 2| (sic). */
static char *
sexagesimal_str(const char *s, bool is_float)
{
	BIGNUM *sum = NULL, *part = NULL, *mul = NULL;
	BN_CTX *ctx = NULL;
	char buf[128], *dec = NULL, *out = NULL;
	const char *p = s, *colon;
	double fsum = 0;
	int idx = 0, k;

	if (!is_float && ((sum = BN_new()) == NULL || (part = BN_new()) == NULL
	    || (mul = BN_new()) == NULL || (ctx = BN_CTX_new()) == NULL))
		goto out;
	if (!is_float)
		BN_zero(sum);
	for (;; idx++) {
		colon = strchr(p, ':');
		ruby_num_prefix(p, colon ? (size_t)(colon - p) : strlen(p),
		    buf, sizeof(buf));
		k = abs(idx - 2);
		if (is_float) {
			double f = strtod(buf, NULL);
			while (k-- > 0)
				f *= 60;
			fsum += f;
		} else {
			/* "+5" / "-5": BN_dec2bn takes '-' only */
			if (BN_dec2bn(&part, buf[0] == '+' ? buf + 1 : buf) == 0
			    || !BN_set_word(mul, 1))
				goto out;
			while (k-- > 0)
				if (!BN_mul_word(mul, 60))
					goto out;
			if (!BN_mul(part, part, mul, ctx) ||
			    !BN_add(sum, sum, part))
				goto out;
		}
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	if (is_float)
		out = ruby_float_str(fsum);
	else if ((dec = BN_bn2dec(sum)) != NULL)
		out = strdup(dec);
out:
	OPENSSL_free(dec);
	BN_CTX_free(ctx);
	BN_free(mul);
	BN_free(part);
	BN_free(sum);
	return out;
}

/* Float(s.delete(',_').gsub(/\.([Ee]|$)/, '\1')); "" if Float() raises. */
static char *
ruby_float_parse_str(const char *s)
{
	char *clean, *w, *r, *end, *out = NULL;
	size_t mantissa_digits = 0;
	bool in_exp = false;
	double v;

	if ((clean = strip_seps(s)) == NULL)
		return NULL;
	for (r = w = clean; *r; r++) {
		if (*r == '.' && (r[1] == 'e' || r[1] == 'E' || r[1] == '\0'))
			continue;
		if (*r == 'e' || *r == 'E')
			in_exp = true;
		else if (!in_exp && *r >= '0' && *r <= '9')
			mantissa_digits++;
		*w++ = *r;
	}
	*w = '\0';
	v = strtod(clean, &end);
	/* ".e+5" -> "e+5": Float() raises */
	out = (mantissa_digits == 0 || *end != '\0') ? strdup("") :
	    ruby_float_str(v);
	free(clean);
	return out;
}

/* A pattern and the string Puppet makes of a plain scalar it matches. */
struct plain_as {
	enum re_id re;
	const char *as;
};

/* null, true and false; the three non-numbers of a float */
static const struct plain_as plain_words[] = {
	{ RE_NULL, "" }, { RE_TRUE, "true" }, { RE_FALSE, "false" },
};
static const struct plain_as plain_nonnumbers[] = {
	{ RE_INF, "Infinity" }, { RE_NINF, "-Infinity" }, { RE_NAN, "NaN" },
};

/* What s reads as by the first of the three rows whose pattern matches it;
 * NULL when none does. */
static const char *
plain_match(struct yp *p, const struct plain_as rows[3], const char *s)
{
	int i;

	for (i = 0; i < 3; i++)
		if (pat_match(p, rows[i].re, s))
			return rows[i].as;
	return NULL;
}

/*
 * The string Puppet makes of a plain scalar.  NULL: out of memory;
 * *why set (and "" returned) when Puppet would fail on it.
 */
static char *
resolve_plain(struct yp *p, const char *s, size_t len, const char **why)
{
	const char *as;

	*why = NULL;
	if (len == 0)
		return strdup("");
	if (pat_match(p, RE_STRINGISH, s) || memchr(s, '\n', len) != NULL) {
		if (len > 5 || strchr("ytonfYTONF~", s[0]) == NULL)
			return strdup(s);
		as = plain_match(p, plain_words, s);
		return strdup(as != NULL ? as : s);
	}
	if (pat_match(p, RE_TIME, s) || pat_match(p, RE_DATE, s)) {
		*why = "is a date or timestamp, which Puppet's safe_load refuses"
		    " (quote it to make it a string)";
		return strdup("");
	}
	if ((as = plain_match(p, plain_nonnumbers, s)) != NULL)
		return strdup(as);
	if (s[0] == ':' && len > 1) {
		/* Symbol: /^:(["'])(.*)\1/ -> $2, else drop the ':' */
		const char *q = (s[1] == '"' || s[1] == '\'') ?
		    strrchr(s + 2, s[1]) : NULL;
		if (q != NULL) {
			const char *in = s + 2;
			if (*in == ':' && in < q)
				in++;
			return strndup(in, (size_t)(q - in));
		}
		return strdup(s + 1);
	}
	if (pat_match(p, RE_SEXA_INT, s))
		return sexagesimal_str(s, false);
	if (pat_match(p, RE_SEXA_FLOAT, s))
		return sexagesimal_str(s, true);
	if (pat_match(p, RE_FLOAT, s)) {
		char *f;
		if (pat_match(p, RE_FLOAT_DOT, s))
			return strdup(s);
		if ((f = ruby_float_parse_str(s)) != NULL && f[0] == '\0')
			*why = "is a number Ruby's Float() refuses";
		return f;
	}
	if (pat_match(p, RE_INT, s)) {
		char *i = ruby_integer_str(s);
		if (i != NULL && i[0] == '\0')
			*why = "is a number Ruby's Integer() refuses";
		return i;
	}
	return strdup(s);
}

/* ---- the document shape ----------------------------------------------- */

/* The text of the current scalar event as a new string; NULL on error. */
static char *
scalar_text(struct yp *p, bool resolve)
{
	const yaml_event_t *ev = &p->ev;
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *why = NULL;
	char *out;

	if (memchr(s, '\0', len) != NULL) {
		fail_at(p, &ev->start_mark, "NUL character in a scalar");
		return NULL;
	}
	if (tag != NULL && strcmp(tag, TAG_STR) != 0 && strcmp(tag, "!") != 0) {
		fail_at(p, &ev->start_mark, "tag %s is not supported (only "
		    "!!str)", tag);
		return NULL;
	}
	if (!resolve || tag != NULL ||
	    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		out = strndup(s, len);
	else
		out = resolve_plain(p, s, len, &why);
	if (out == NULL) {
		cr_err_set(p->err, CR_KIND_NOMEM, "no memory to parse %s",
		    p->what);
	} else if (why != NULL) {
		fail_at(p, &ev->start_mark, "value '%s' %s", s, why);
		free(out);
		out = NULL;
	}
	return out;
}

static const char *
event_name(yaml_event_type_t t)
{
	switch (t) {
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	case YAML_SCALAR_EVENT:
		return "a scalar";
	default:
		return "something else";
	}
}

static bool
mapping_tag_ok(struct yp *p)
{
	const char *tag = (const char *)p->ev.data.mapping_start.tag;

	if (tag == NULL || strcmp(tag, TAG_MAP) == 0)
		return true;
	fail_at(p, &p->ev.start_mark, "tag %s is not supported", tag);
	return false;
}

/*
 * Steps to the next key of the mapping being read (the current event is
 * its MAPPING_START or the last key's value): 1 with that key, a scalar,
 * the current event; 0 at the mapping's end; -1 when reading fails or the
 * key is not a scalar (section: the csr_attributes section the mapping is,
 * NULL for the top level).
 */
static int
next_key(struct yp *p, const char *section)
{
	int rc = -1;

	if (!next(p))
		goto out;
	if (p->ev.type == YAML_MAPPING_END_EVENT)
		rc = 0;
	else if (p->ev.type == YAML_SCALAR_EVENT)
		rc = 1;
	else if (section != NULL)
		fail_at(p, &p->ev.start_mark, "%s: keys must be scalars "
		    "(pp_* names or OIDs), not %s", section,
		    event_name(p->ev.type));
	else
		fail_at(p, &p->ev.start_mark, "unexpected %s as a "
		    "top-level key", event_name(p->ev.type));
out:
	return rc;
}

/* Plain "", "~", "null": YAML's null. */
static bool
scalar_is_null(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    ev->data.scalar.tag == NULL && (ev->data.scalar.length == 0 ||
	    strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0);
}

/* One of the two sections: the current event is its MAPPING_START. */
static bool
parse_section(struct yp *p, const char *section, json_t *out)
{
	char *key = NULL, *value = NULL;
	bool ok = false;
	int more = -1;

	if (!mapping_tag_ok(p))
		goto out;
	while ((more = next_key(p, section)) > 0) {
		if ((key = scalar_text(p, false)) == NULL)
			goto out;
		if (key[0] == '\0') {
			fail_at(p, &p->ev.start_mark, "%s: empty key", section);
			goto out;
		}
		if (json_object_get(out, key) != NULL) {
			fail_at(p, &p->ev.start_mark, "%s: duplicate key '%s'",
			    section, key);
			goto out;
		}
		if (!next(p))
			goto out;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			fail_at(p, &p->ev.start_mark, "%s: the value of '%s' "
			    "must be a scalar, not %s", section, key,
			    event_name(p->ev.type));
			goto out;
		}
		if ((value = scalar_text(p, true)) == NULL)
			goto out;
		if (json_object_set_new(out, key, json_string(value)) != 0) {
			fail_at(p, &p->ev.start_mark, "%s: the value of '%s' "
			    "is not UTF-8", section, key);
			goto out;
		}
		free(key);
		free(value);
		key = value = NULL;
	}
	ok = more == 0;
out:
	free(key);
	free(value);
	return ok;
}

/* The top-level mapping: the current event is its MAPPING_START. */
static bool
parse_top(struct yp *p, json_t *result)
{
	bool ok = false, seen[2] = { false, false };
	static const char *const names[2] = {
		"custom_attributes", "extension_requests"
	};
	const char *s;
	int which, more = -1;

	if (!mapping_tag_ok(p))
		goto out;
	while ((more = next_key(p, NULL)) > 0) {
		s = (const char *)p->ev.data.scalar.value;
		which = strcmp(s, names[0]) == 0 ? 0 :
		    strcmp(s, names[1]) == 0 ? 1 : -1;
		if (which < 0) {
			fail_at(p, &p->ev.start_mark, "unexpected attribute "
			    "'%.100s' (only custom_attributes and "
			    "extension_requests are allowed)", s);
			goto out;
		}
		if (seen[which]) {
			fail_at(p, &p->ev.start_mark, "duplicate key '%s'",
			    names[which]);
			goto out;
		}
		seen[which] = true;
		if (!next(p))
			goto out;
		if (p->ev.type == YAML_SCALAR_EVENT && scalar_is_null(&p->ev))
			continue;	/* "custom_attributes:" = {} */
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			fail_at(p, &p->ev.start_mark, "%s must be a mapping, "
			    "not %s", names[which], event_name(p->ev.type));
			goto out;
		}
		if (!parse_section(p, names[which],
		    json_object_get(result, names[which])))
			goto out;
	}
	ok = more == 0;
out:
	return ok;
}

static bool
parse_stream(struct yp *p, json_t *result)
{
	if (!next(p) || p->ev.type != YAML_STREAM_START_EVENT || !next(p))
		return false;
	if (p->ev.type == YAML_STREAM_END_EVENT)
		return true;	/* empty file */
	/* DOCUMENT_START, then the root node */
	if (!next(p))
		return false;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (!parse_top(p, result))
			return false;
	} else if (!(p->ev.type == YAML_SCALAR_EVENT &&
	    scalar_is_null(&p->ev))) {
		/* Puppet: "invalid CSR attributes, expected instance of
		 * Hash"; a null document is read as {} */
		fail_at(p, &p->ev.start_mark, "expected a mapping at the top "
		    "level, found %s", event_name(p->ev.type));
		return false;
	}
	if (!next(p) || p->ev.type != YAML_DOCUMENT_END_EVENT || !next(p))
		return false;
	if (p->ev.type != YAML_STREAM_END_EVENT) {
		fail_at(p, &p->ev.start_mark, "more than one YAML document");
		return false;
	}
	return true;
}

json_t *
cr_csr_attributes_parse(const char *text, size_t len, const char *what,
    cr_err *err)
{
	struct yp p;
	json_t *result = NULL;
	int i;

	memset(&p, 0, sizeof(p));
	p.what = what ? what : "csr_attributes";
	p.err = err;
	if ((result = json_object()) == NULL ||
	    json_object_set_new(result, "custom_attributes", json_object()) ||
	    json_object_set_new(result, "extension_requests", json_object())) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to parse %s", p.what);
		goto fail;
	}
	if (len > CR_MAX_CSR_ATTRIBUTES_FILE) {
		cr_err_set(err, CR_KIND_PARSE, "%s is %zu bytes, more than the "
		    "%zu allowed", p.what, len, CR_MAX_CSR_ATTRIBUTES_FILE);
		goto fail;
	}
	for (i = 0; i < RE_COUNT; i++) {
		if ((p.re[i] = cr_sys_regex_new(patterns[i].re,
		    patterns[i].flags)) == NULL) {
			cr_err_set(err, CR_KIND_INTERNAL,
			    "cannot compile YAML scalar pattern %d", i);
			goto fail;
		}
		p.n_re = i + 1;
	}
	if (!yaml_parser_initialize(&p.parser)) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to parse %s", p.what);
		goto fail;
	}
	p.parser_ok = true;
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text,
	    len);
	if (!parse_stream(&p, result)) {
		/* a state error without a message of its own */
		fail_at(&p, p.have_ev ? &p.ev.start_mark :
		    &p.parser.problem_mark, "unexpected YAML structure");
		goto fail;
	}
	goto out;
fail:
	json_decref(result);
	result = NULL;
out:
	if (p.have_ev)
		yaml_event_delete(&p.ev);
	if (p.parser_ok)
		yaml_parser_delete(&p.parser);
	for (i = 0; i < p.n_re; i++)
		cr_sys_regex_free(p.re[i]);
	return result;
}

json_t *
cr_csr_attributes_read(const char *path, cr_err *err)
{
	json_t *out = NULL;
	char *buf = NULL;
	size_t len = 0;
	cr_err local;

	cr_err_init(&local);
	if (!cr_file_read(path, CR_MAX_CSR_ATTRIBUTES_FILE, &buf, &len,
	    &local)) {
		json_t *missing = local.details ?
		    json_object_get(local.details, "missing") : NULL;
		if (json_is_true(missing)) {
			/* no file: Puppet sends no attributes */
			out = cr_csr_attributes_parse("", 0, path, err);
		} else if (err != NULL && !err->set) {
			*err = local;	/* hand the record over */
			cr_err_init(&local);
		}
		goto out;
	}
	out = cr_csr_attributes_parse(buf, len, path, err);
out:
	cr_err_clear(&local);
	/* pp_preshared_key and challengePassword are secrets */
	cr_secret_free(buf, len);
	return out;
}
