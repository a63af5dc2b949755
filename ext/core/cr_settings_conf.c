/*
 * cr_settings_conf.c - the puppet.conf reader (see cr_settings_conf.h).
 *
 * Puppet 7 behaviour reproduced here, checked against `puppet config print`:
 *  - lines before any [section] belong to [main]; a section may repeat;
 *  - `[name]` with optional whitespace around it, nothing else on the line;
 *    only main/server/master/agent/user are allowed;
 *  - `name = value`: the value is the rest of the line, trimmed; there are
 *    NO trailing comments (`a = b # c` is "b # c"); only lines starting
 *    with optional whitespace and `#` are comments (`;` is an error);
 *  - a value of true/false (any case) becomes a boolean; otherwise ONE
 *    leading and ONE trailing quote (' or ", unpaired) are dropped, then
 *    trailing whitespace;
 *  - the first `{...}` holding text is file metadata (owner/group/mode) and
 *    is cut out; anything else in braces (e.g. `${confdir}`) is an error;
 *  - modulepath, manifest, config_version are refused in puppet.conf.
 * Errors are reported in the order Puppet finds them: bad bytes, then
 * sections, then lines section by section.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cr_fs_read.h"
#include "cr_json.h"
#include "cr_settings_conf.h"

#define SHOW 120	/* bytes of a bad line quoted in a message */

static const char *const sec_names[CR_CONF_NSEC] = {
	"main", "server", "master", "agent", "user",
};

struct line {
	const char *p;
	size_t len;
	unsigned no;
};

int
cr_conf_section_id(const char *name)
{
	int i;

	for (i = 0; i < CR_CONF_NSEC; i++)
		if (strcmp(sec_names[i], name) == 0)
			return i;
	return -1;
}

const char *
cr_conf_section_name(int sec)
{
	return sec >= 0 && sec < CR_CONF_NSEC ? sec_names[sec] : NULL;
}

/* Ruby's \s */
static bool
rspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Ruby's [[:word:]]; any non-ASCII byte counts (letters of UTF-8 names). */
static bool
rword(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

/* Ruby's \w (ASCII). */
static bool
aword(unsigned char c)
{
	return c < 0x80 && rword(c);
}

static bool
utf8_ok(const unsigned char *p, size_t len)
{
	size_t i = 0, n, k;
	unsigned int cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xE0) == 0xC0)
			n = 2, cp = p[i] & 0x1F;
		else if ((p[i] & 0xF0) == 0xE0)
			n = 3, cp = p[i] & 0x0F;
		else if ((p[i] & 0xF8) == 0xF0)
			n = 4, cp = p[i] & 0x07;
		else
			return false;
		if (i + n > len)
			return false;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

/* "<path>, line N: <what> '<quote>'"; quote may be NULL. */
static void
parse_error(cr_err *err, const char *path, unsigned no, const char *what,
    const char *quote, size_t qlen)
{
	cr_err_set(err, CR_KIND_PARSE, "%s, line %u: %s%s%.*s%s (Puppet ignores "
	    "the whole file when it finds this and falls back to its defaults)",
	    path, no, what, quote ? " '" : "", (int)(qlen > SHOW ? SHOW : qlen),
	    quote ? quote : "", quote ? "'" : "");
	cr_err_detail_new(err, "path", cr_json_str(path));
	cr_err_detail_new(err, "line", json_integer(no));
}

/* `[name]`: returns the name span, or false if the line is not a header. */
static bool
match_section(const struct line *l, const char **name, size_t *nlen)
{
	size_t i = 0, s;

	while (i < l->len && rspace((unsigned char)l->p[i]))
		i++;
	if (i >= l->len || l->p[i] != '[')
		return false;
	s = ++i;
	while (i < l->len && rword((unsigned char)l->p[i]))
		i++;
	if (i == s || i >= l->len || l->p[i] != ']')
		return false;
	*name = l->p + s;
	*nlen = i - s;
	for (i++; i < l->len; i++)
		if (!rspace((unsigned char)l->p[i]))
			return false;
	return true;
}

/* `name = value`: spans of the name and the trimmed value. */
static bool
match_setting(const struct line *l, const char **name, size_t *nlen,
    const char **val, size_t *vlen)
{
	size_t i = 0, s, e;

	while (i < l->len && rspace((unsigned char)l->p[i]))
		i++;
	s = i;
	while (i < l->len && rword((unsigned char)l->p[i]))
		i++;
	if (i == s)
		return false;
	*name = l->p + s;
	*nlen = i - s;
	while (i < l->len && rspace((unsigned char)l->p[i]))
		i++;
	if (i >= l->len || l->p[i] != '=')
		return false;
	for (i++; i < l->len && rspace((unsigned char)l->p[i]); i++)
		;
	for (e = l->len; e > i && rspace((unsigned char)l->p[e - 1]); e--)
		;
	*val = l->p + i;
	*vlen = e - i;
	return true;
}

static bool
is_blank_or_comment(const struct line *l)
{
	size_t i = 0;

	while (i < l->len && rspace((unsigned char)l->p[i]))
		i++;
	return i == l->len || l->p[i] == '#';
}

/* The index after the bytes of p from i on that in accepts. */
static size_t
span(const char *p, size_t len, size_t i, bool (*in)(unsigned char))
{
	while (i < len && in((unsigned char)p[i]))
		i++;
	return i;
}

/* Past white space, a word from *i on: false when there is none; else *s
 * its start and *i its end. */
static bool
next_word(const char *p, size_t len, size_t *i, size_t *s)
{
	*s = span(p, len, *i, rspace);
	*i = span(p, len, *s, aword);
	return *i > *s;
}

/* One `owner = x` part of a metadata block; NULL if fine, else the error. */
static const char *
check_meta_part(const char *p, size_t len)
{
	size_t i = 0, s;
	bool is_mode;

	if (!next_word(p, len, &i, &s))
		return "Could not parse";
	is_mode = i - s == 4 && memcmp(p + s, "mode", 4) == 0;
	if (!((i - s == 5 && (memcmp(p + s, "owner", 5) == 0 ||
	    memcmp(p + s, "group", 5) == 0)) || is_mode)) {
		i = span(p, len, i, rspace);
		if (i < len && p[i] == '=')
			return "Invalid file option in";
		return "Could not parse";
	}
	i = span(p, len, i, rspace);
	if (i >= len || p[i++] != '=')
		return "Could not parse";
	if (!next_word(p, len, &i, &s))
		return "Could not parse";
	if (is_mode)
		for (size_t k = s; k < i; k++)
			if (p[k] < '0' || p[k] > '9')
				return "File modes must be numbers:";
	i = span(p, len, i, rspace);
	return i == len ? NULL : "Could not parse";
}

/*
 * ConfigFile#extract_fileinfo: the first `{` followed by text and `}` is
 * metadata; it is cut out.  Returns the error format, or NULL.
 */
static const char *
cut_metadata(char *v)
{
	char *o, *c, *p, *e, *q;
	const char *bad;
	size_t n;

	for (o = strchr(v, '{'); o != NULL; o = strchr(o + 1, '{')) {
		if ((c = strchr(o + 1, '}')) == NULL)
			return NULL;
		if (c > o + 1)
			break;
	}
	if (o == NULL)
		return NULL;
	/* split on commas; Ruby's split drops trailing empty parts */
	for (e = c; e > o + 1 && (rspace((unsigned char)e[-1]) || e[-1] == ','); e--)
		;
	if (e == o + 1 && memchr(o + 1, ',', (size_t)(c - o - 1)) != NULL)
		p = e + 1;	/* only commas: Ruby's split yields nothing */
	else
		p = o + 1;
	for (; p <= e; p = q + 1) {
		q = memchr(p, ',', (size_t)(e - p));
		if (q == NULL)
			q = e;
		if ((bad = check_meta_part(p, (size_t)(q - p))) != NULL)
			return bad;
		if (q == e)
			break;
	}
	n = strlen(c + 1);
	memmove(o, c + 1, n + 1);
	for (n = strlen(v); n > 0 && rspace((unsigned char)v[n - 1]); n--)
		v[n - 1] = '\0';
	return NULL;
}

/* ValueTranslator + extract_fileinfo for one line's value. */
static bool
add_entry(struct cr_conf *c, int sec, const struct line *l, const char *name,
    size_t nlen, const char *val, size_t vlen, cr_err *err)
{
	struct cr_conf_entry *ne, *x;
	const char *bad;
	size_t cap, s = 0, e = vlen;

	if (c->n == c->cap) {
		cap = c->cap ? c->cap * 2 : 32;
		if ((ne = realloc(c->e, cap * sizeof(*ne))) == NULL)
			goto nomem;
		c->e = ne;
		c->cap = cap;
	}
	x = &c->e[c->n];
	memset(x, 0, sizeof(*x));
	x->section = sec;
	x->line = l->no;
	if ((vlen == 4 && strncasecmp(val, "true", 4) == 0) ||
	    (vlen == 5 && strncasecmp(val, "false", 5) == 0)) {
		x->is_bool = true;
		val = vlen == 4 ? "true" : "false";
	} else {
		if (e > 0 && (val[0] == '"' || val[0] == '\''))
			s = 1;
		if (e > s && (val[e - 1] == '"' || val[e - 1] == '\''))
			e--;
		while (e > s && rspace((unsigned char)val[e - 1]))
			e--;
	}
	if ((x->name = strndup(name, nlen)) == NULL ||
	    (x->value = strndup(val + s, e - s)) == NULL) {
		free(x->name);
		free(x->value);
		goto nomem;
	}
	c->n++;
	if (!x->is_bool && (bad = cut_metadata(x->value)) != NULL) {
		if (strstr(x->value, "${") != NULL)
			bad = "Could not parse (Puppet takes '{...}' for file "
			    "owner/group/mode, so write $name, not ${name}, in "
			    "puppet.conf):";
		parse_error(err, c->path, l->no, bad, val, vlen);
		return false;
	}
	return true;
nomem:
	cr_err_set(err, CR_KIND_NOMEM, "out of memory reading %s", c->path);
	return false;
}

/* Splits text into lines (chomped), refusing NUL and invalid UTF-8. */
static struct line *
split_lines(const char *path, const char *text, size_t len, size_t *n,
    cr_err *err)
{
	struct line *ls = NULL;
	size_t count = 1, i, k = 0, start = 0;

	for (i = 0; i < len; i++)
		count += text[i] == '\n';
	if ((ls = calloc(count, sizeof(*ls))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory reading %s", path);
		return NULL;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		if (i == len && start == len)
			break;	/* no empty line after a final newline */
		ls[k].p = text + start;
		ls[k].len = i - start;
		ls[k].no = (unsigned)k + 1;
		if (ls[k].len > 0 && ls[k].p[ls[k].len - 1] == '\r')
			ls[k].len--;
		if (memchr(ls[k].p, '\0', ls[k].len) != NULL) {
			parse_error(err, path, ls[k].no, "a NUL byte", NULL, 0);
			goto fail;
		}
		if (!utf8_ok((const unsigned char *)ls[k].p, ls[k].len)) {
			parse_error(err, path, ls[k].no,
			    "invalid byte sequence in UTF-8", NULL, 0);
			goto fail;
		}
		k++;
		start = i + 1;
	}
	*n = k;
	return ls;
fail:
	free(ls);
	return NULL;
}

/* Section of every line; checks headers; order[] = sections by first use. */
static bool
assign_sections(const char *path, const struct line *ls, size_t n, int *secof,
    int *order, size_t *norder, cr_err *err)
{
	const char *name;
	size_t nlen, i, k;
	int cur = CR_CONF_SEC_MAIN, id;
	char buf[16];

	order[0] = CR_CONF_SEC_MAIN;
	*norder = 1;
	for (i = 0; i < n; i++) {
		secof[i] = -1;	/* header lines belong to no section */
		if (!match_section(&ls[i], &name, &nlen)) {
			secof[i] = cur;
			continue;
		}
		id = -1;
		if (nlen < sizeof(buf)) {
			memcpy(buf, name, nlen);
			buf[nlen] = '\0';
			id = cr_conf_section_id(buf);
		}
		if (id < 0) {
			parse_error(err, path, ls[i].no, "Illegal section (only "
			    "main, server, master, agent, user are valid):", name,
			    nlen);
			return false;
		}
		cur = id;
		for (k = 0; k < *norder && order[k] != id; k++)
			;
		if (k == *norder)
			order[(*norder)++] = id;
	}
	return true;
}

static bool
screen_env_only(const struct cr_conf *c, cr_err *err)
{
	static const char *const env_only[] = {
		"modulepath", "manifest", "config_version",
	};
	size_t i, k;

	for (i = 0; i < c->n; i++)
		for (k = 0; k < 3; k++)
			if (strcmp(c->e[i].name, env_only[k]) == 0) {
				cr_err_set(err, CR_KIND_SETTINGS, "%s, line %u: Cannot "
				    "set %s settings in puppet.conf (Puppet refuses "
				    "to start)", c->path, c->e[i].line, env_only[k]);
				cr_err_detail_new(err, "path", cr_json_str(c->path));
				cr_err_detail_new(err, "line",
				    json_integer(c->e[i].line));
				return false;
			}
	return true;
}

struct cr_conf *
cr_conf_parse(const char *path, const char *text, size_t len, cr_err *err)
{
	struct cr_conf *c = NULL, *out = NULL;
	struct line *ls = NULL;
	int *secof = NULL, order[CR_CONF_NSEC];
	size_t n = 0, norder, k, i, nlen, vlen;
	const char *name, *val;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	if ((ls = split_lines(path, text, len, &n, err)) == NULL)
		goto out;
	if ((secof = calloc(n + 1, sizeof(*secof))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	if (!assign_sections(path, ls, n, secof, order, &norder, err))
		goto out;
	for (k = 0; k < norder; k++) {
		for (i = 0; i < n; i++) {
			if (secof[i] != order[k])
				continue;
			if (match_setting(&ls[i], &name, &nlen, &val, &vlen)) {
				if (!add_entry(c, order[k], &ls[i], name, nlen, val,
				    vlen, err))
					goto out;
			} else if (!is_blank_or_comment(&ls[i])) {
				parse_error(err, path, ls[i].no,
				    "Could not match line", ls[i].p, ls[i].len);
				goto out;
			}
		}
	}
	if (!screen_env_only(c, err))
		goto out;
	out = c;
	c = NULL;
out:
	cr_conf_free(c);
	free(ls);
	free(secof);
	return out;
}

bool
cr_conf_load(const char *path, struct cr_conf **out, cr_err *err)
{
	bool ok = false;
	char *text = NULL;
	size_t len = 0;
	int ex;

	*out = NULL;
	/* Puppet: File.exist? (follows symlinks), else no config at all */
	if ((ex = cr_path_exists(path)) == 0) {
		ok = true;
		goto out;
	}
	if (ex < 0) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot check %s", path);
		goto out;
	}
	if (!cr_file_read(path, CR_CONF_MAX, &text, &len, err))
		goto out;
	if ((*out = cr_conf_parse(path, text, len, err)) == NULL)
		goto out;
	ok = true;
out:
	free(text);
	return ok;
}

void
cr_conf_free(struct cr_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->e[i].name);
		free(c->e[i].value);
	}
	free(c->e);
	free(c->path);
	free(c);
}

const struct cr_conf_entry *
cr_conf_find(const struct cr_conf *c, int sec, const char *name)
{
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < c->n; i++)
		if (c->e[i].section == sec && strcmp(c->e[i].name, name) == 0)
			return &c->e[i];
	return NULL;
}
