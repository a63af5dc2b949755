/*
 * cr_ruby_win.c - File.expand_path as Ruby does it on Windows (see
 * cr_ruby.h), so that settings print as `puppet config print` prints them
 * there: '\' becomes '/', the drive letter is kept as written, `~` is
 * HOME (else USERPROFILE), a path without a drive takes the current
 * one, "." and ".." are folded lexically and never climb above the root
 * ("C:" or "//server/share").
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cr_ruby.h"

static bool
is_drive(const char *p)
{
	return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'))
	    && p[1] == ':';
}

/* New copy of s with '\' turned into '/', or NULL. */
static char *
slashed_new(const char *s)
{
	char *d = strdup(s), *p;

	for (p = d; p != NULL && *p != '\0'; p++)
		if (*p == '\\')
			*p = '/';
	return d;
}

/* New copy of the first n bytes of s, or NULL. */
static char *
prefix_new(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Length of the root of an absolute, slashed path: "C:" (2) or
 * "//server/share" (up to the slash after share); 0 if p has none. */
static size_t
root_len(const char *p)
{
	size_t n;

	if (is_drive(p))
		return 2;
	if (p[0] == '/' && p[1] == '/' && p[2] != '/' && p[2] != '\0') {
		n = 2 + strcspn(p + 2, "/");
		if (p[n] == '/' && p[n + 1] != '\0')
			n += 1 + strcspn(p + n + 1, "/");
		return n;
	}
	return 0;
}

/* The directory a relative or drive-less path starts from (slashed,
 * with a root), as a new string; NULL with err set. */
static char *
base_new(const char *path, cr_err *err)
{
	const char *h, *drive;
	char *cwd = NULL, *out = NULL;

	if (path[0] == '~') {
		if (path[1] != '\0' && path[1] != '/') {
			cr_err_set(err, CR_KIND_SETTINGS, "cannot expand "
			    "'%.64s': only '~' (this user) is known on Windows",
			    path);
			goto out;
		}
		h = getenv("HOME");
		if (h == NULL || *h == '\0')
			h = getenv("USERPROFILE");
		if (h == NULL || *h == '\0' || (out = slashed_new(h)) == NULL ||
		    root_len(out) == 0) {
			cr_err_set(err, CR_KIND_SETTINGS, "cannot expand '~': "
			    "neither HOME nor USERPROFILE is an absolute path");
			free(out);
			out = NULL;
		}
		goto out;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL || (out = slashed_new(cwd)) == NULL) {
		cr_err_set(err, CR_KIND_SETTINGS, "cannot expand the relative "
		    "path '%.200s': the working directory is unknown", path);
		goto out;
	}
	if (root_len(out) == 0) {
		/* not a Windows directory (a test on a POSIX host): the
		 * system drive stands in for the current one */
		drive = getenv("SystemDrive");
		free(cwd);
		cwd = out;
		out = malloc(strlen(cwd) + 3);
		if (out != NULL) {
			memcpy(out, drive != NULL && is_drive(drive) ? drive : "C:", 2);
			strcpy(out + 2, cwd);
		}
	}
	if (out != NULL && path[0] == '/')
		out[root_len(out)] = '\0';	/* "/x": the current drive's root */
out:
	free(cwd);
	return out;
}

/* Appends the components of rest to out (which holds a root of length
 * root), folding "." and ".."; out has room for strlen(out)+strlen(rest)+2. */
static void
fold(char *out, size_t root, const char *rest)
{
	size_t len = strlen(out), n;

	while (len > root && out[len - 1] == '/')
		out[--len] = '\0';
	while (*rest != '\0') {
		n = strcspn(rest, "/");
		if (n == 2 && rest[0] == '.' && rest[1] == '.') {
			while (len > root && out[len - 1] != '/')
				len--;
			if (len > root)
				len--;
		} else if (n > 0 && !(n == 1 && rest[0] == '.')) {
			out[len++] = '/';
			memcpy(out + len, rest, n);
			len += n;
		}
		out[len] = '\0';
		rest += n;
		rest += strspn(rest, "/");
	}
	if (len == root) {
		out[len++] = '/';
		out[len] = '\0';
	}
}

bool
cr_ruby_absolute_path_windows(const char *p)
{
	bool sep0 = p[0] == '/' || p[0] == '\\', sep1 = p[1] == '/' ||
	    p[1] == '\\';

	if (is_drive(p))
		return p[2] == '/' || p[2] == '\\';
	return sep0 && sep1 && p[2] != '\0' && p[2] != '/' && p[2] != '\\';
}

char *
cr_ruby_expand_path_windows(const char *path, size_t max, cr_err *err)
{
	char *p = NULL, *base = NULL, *out = NULL;
	const char *rest;
	size_t root;

	if ((p = slashed_new(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory expanding a path");
		goto out;
	}
	if ((root = root_len(p)) > 0 && (p[root] == '/' || p[root] == '\0' ||
	    p[0] == '/')) {
		base = prefix_new(p, root);
		rest = p + root;
	} else if (root == 2) {
		/* "C:x": relative to C:'s directory; Puppet's settings are
		 * absolute, so the drive's root stands in for it */
		base = prefix_new(p, 2);
		rest = p + 2;
	} else {
		if ((base = base_new(p, err)) == NULL)
			goto out;
		rest = p[0] == '~' ? p + 1 : p;
	}
	if (base == NULL || (out = malloc(strlen(base) + strlen(rest) + 3))
	    == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory expanding a path");
		goto out;
	}
	strcpy(out, base);
	fold(out, root_len(base), rest);
	out = cr_ruby_path_within(out, max, err);
out:
	free(p);
	free(base);
	return out;
}
