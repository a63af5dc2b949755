/*
 * cr_ruby.c - File.expand_path and Integer() as Ruby does them (see
 * cr_ruby.h).  Checked against ruby 3.1: File.expand_path("//a/..") is "/",
 * "//.." is "//", "///a//b/" is "///a/b"; Integer("0_7") is 7, "08" fails.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cr_ruby.h"
#include "sys/cr_sys_host.h"

/* $HOME if set (must be absolute, as Ruby insists), else the passwd entry. */
static char *
home_dir(const char *user, size_t ulen, cr_err *err)
{
	const char *h = NULL;
	char *out = NULL;

	if (ulen == 0) {
		h = getenv("HOME");
		if (h != NULL && *h != '\0' && *h != '/') {
			cr_err_set(err, CR_KIND_SETTINGS,
			    "cannot expand '~': HOME is not absolute");
			goto out;
		}
		if (h != NULL && *h != '\0' && (out = strdup(h)) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM,
			    "out of memory expanding a path");
			goto out;
		}
	}
	if (out == NULL)
		out = cr_sys_home_of(user, ulen);
	if (out == NULL || *out != '/') {
		cr_err_set(err, CR_KIND_SETTINGS, "cannot expand '~%.*s': %s",
		    (int)(ulen > 64 ? 64 : ulen), user,
		    ulen ? "no such user" : "no home directory");
		free(out);
		out = NULL;
	}
out:
	return out;
}

/*
 * Folds an absolute path in place: "." and empty parts go, ".." drops the
 * previous part (never above /).  The result is never longer than the input.
 */
static void
normalize(char *buf, const char *full)
{
	size_t lead = 0, n, root, k, len;
	const char *p = full;

	while (p[lead] == '/')
		lead++;
	p += lead;
	len = lead ? lead : 1;
	memset(buf, '/', len);
	root = len;
	while (*p != '\0') {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (len > root) {
				for (k = len; k > root && buf[k - 1] != '/'; k--)
					;
				len = k > root ? k - 1 : root;
				if (len == root)
					len = root = 1;	/* "//a/.." is "/" */
			}
		} else if (!(n == 0 || (n == 1 && p[0] == '.'))) {
			if (len > root)
				buf[len++] = '/';
			memcpy(buf + len, p, n);
			len += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	buf[len] = '\0';
}

/* PATH itself when it fits in MAX bytes; else frees it, sets err, NULL. */
char *
cr_ruby_path_within(char *path, size_t max, cr_err *err)
{
	char *out = path;

	if (out != NULL && strlen(out) > max) {
		cr_err_set(err, CR_KIND_SETTINGS, "path '%.200s...' is longer "
		    "than %zu bytes", out, max);
		cr_err_next(err, "shorten that path in puppet.conf (or the "
		    "parameter that gave it) and run the task again");
		free(out);
		out = NULL;
	}
	return out;
}

char *
cr_ruby_expand_path(const char *path, size_t max, cr_err *err)
{
	char *base = NULL, *full = NULL, *out = NULL;
	const char *rest = path, *src;
	size_t ulen;

	if (path[0] == '~') {
		ulen = strcspn(path + 1, "/");
		if ((base = home_dir(path + 1, ulen, err)) == NULL)
			goto out;
		rest = path + 1 + ulen;
	} else if (path[0] != '/' && (base = getcwd(NULL, 0)) == NULL) {
		cr_err_errno(err, CR_KIND_SETTINGS, errno,
		    "cannot expand the relative path '%.200s'", path);
		goto out;
	}
	/* Ruby joins without doubling the separator: HOME "/" and "~/x" give
	 * "/x", HOME "//" gives "//x" */
	rest += strspn(rest, "/");
	if (base != NULL && asprintf(&full, "%s%s%s", base,
	    base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/",
	    rest) == -1) {
		full = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "out of memory expanding a path");
		goto out;
	}
	src = base != NULL ? full : path;
	if ((out = malloc(strlen(src) + 2)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory expanding a path");
		goto out;
	}
	normalize(out, src);
	out = cr_ruby_path_within(out, max, err);
out:
	free(base);
	free(full);
	return out;
}

bool
cr_ruby_integer(const char *s, long long *out)
{
	int base = 10, d;
	long long v = 0;
	bool neg = false, digit = false, under = false, ok = false;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && s[1] != '\0' && strchr("xXbBoOdD", s[1]) != NULL) {
		base = strchr("xX", s[1]) ? 16 : strchr("bB", s[1]) ? 2 :
		    strchr("oO", s[1]) ? 8 : 10;
		s += 2;
	} else if (s[0] == '0')
		base = 8;	/* "017" is 15; the 0 is a digit, "0_7" is 7 */
	for (; *s != '\0' && !isspace((unsigned char)*s); s++) {
		if (*s == '_') {
			if (!digit || under)
				goto out;
			under = true;
			continue;
		}
		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			goto out;
		if (d >= base || v > (LLONG_MAX - d) / base)
			goto out;
		v = v * base + d;
		digit = true;
		under = false;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!digit || under || *s != '\0')
		goto out;
	*out = neg ? -v : v;
	ok = true;
out:
	return ok;
}
