/*
 * cr_fs_win.c (Windows build only) - cr_fs.h's installs and the ssldir
 * tree copy / compare / remove, built on the platform seam (sys/cr_sys_fs.h
 * for reading, sys/cr_sys_write.h for writing) instead of cr_fs.c's
 * openat/O_NOFOLLOW/fchown, which Windows does not have.
 *
 * Where Windows differs from cr_fs.c: a copy's top directory is created
 * private (Puppet's DACL: SYSTEM and Administrators, inherited by all it
 * holds), which is what 0700 plus the copied modes give on POSIX; modes,
 * owners and times are neither copied nor compared (the owner is this
 * process's user, access comes from the DACL); a symlink or junction in a
 * tree is refused (CR_KIND_PATH_SYMLINK: Puppet's ssldir has none, and
 * making one needs a privilege); uid and gid of cr_file_write_atomic are
 * ignored.  Private means the mode gives group and others nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cr_fs.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_write.h"

#define TREE_FILE_MAX ((size_t)64 << 20)	/* per file of an ssldir */

static bool
mode_private(mode_t mode)
{
	return (mode & 077) == 0;
}

bool
cr_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, cr_err *err)
{
	(void)uid;
	(void)gid;
	return cr_sys_install_file(path, data, len, mode_private(mode), err);
}

bool
cr_dir_fsync(const char *dir, cr_err *err)
{
	/* the seam's renames and creations are written through */
	(void)dir;
	(void)err;
	return true;
}

/* A separator at p: Windows takes both. */
static bool
is_sep(char c)
{
	return c == '/' || c == '\\';
}

/* The length of the root of path ("C:/", "//srv/share/", "/"), which is
 * never created. */
static size_t
root_len(const char *p)
{
	size_t i = 0;
	int seps = 0;

	if (is_sep(p[0]) && is_sep(p[1])) {	/* \\server\share\ */
		for (i = 2; p[i] != '\0' && seps < 2; i++)
			if (is_sep(p[i]))
				seps++;
		return i;
	}
	if (p[0] != '\0' && p[1] == ':')
		i = 2;
	while (is_sep(p[i]))
		i++;
	return i;
}

/* prefix is a directory already, or is made one; with nofollow a
 * symlink or junction there is CR_KIND_PATH_SYMLINK. */
static bool
mkdir_one(const char *prefix, bool private_, bool nofollow, cr_err *err)
{
	struct cr_sys_stat st;
	int r;

	if ((r = cr_sys_stat(prefix, nofollow ? CR_SYS_NOFOLLOW :
	    CR_SYS_FOLLOW, &st, err)) == -1)
		return false;
	if (r == 1 && st.type == CR_SYS_LINK) {
		cr_err_set(err, CR_KIND_PATH_SYMLINK, "%s is a symlink or "
		    "junction: it is not followed", prefix);
		cr_err_detail_new(err, "path", json_string(prefix));
		return false;
	}
	if (r == 1 && st.type != CR_SYS_DIR) {
		cr_err_set(err, CR_KIND_IO, "%s is a %s, not a directory",
		    prefix, cr_sys_ftype_name(st.type));
		cr_err_next(err, "move %s out of the way, then rerun", prefix);
		return false;
	}
	return r == 1 || cr_sys_mkdir(prefix, private_, err);
}

static bool
mkdir_p(const char *path, bool private_, bool nofollow, cr_err *err)
{
	char *copy = strdup(path);
	size_t i, start;
	bool ok = true;
	char c;

	if (copy == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	start = root_len(copy);
	for (i = start; ok && copy[i] != '\0'; i++) {
		if (!is_sep(copy[i]) || i == 0 || is_sep(copy[i - 1]))
			continue;
		c = copy[i];
		copy[i] = '\0';
		ok = mkdir_one(copy, private_, nofollow, err);
		copy[i] = c;
	}
	if (ok && copy[start] != '\0')
		ok = mkdir_one(copy, private_, nofollow, err);
	free(copy);
	return ok;
}

bool
cr_mkdir_p(const char *path, mode_t mode, cr_err *err)
{
	return mkdir_p(path, mode_private(mode), false, err);
}

/* A new "dir/name", or NULL with err set. */
static char *
child_new(const char *dir, const char *name, cr_err *err)
{
	char *p = cr_sys_path_join(dir, name);

	if (p == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	return p;
}

static bool
refuse_type(const char *path, const struct cr_sys_stat *st, cr_err *err)
{
	if (st->type == CR_SYS_LINK)
		cr_err_set(err, CR_KIND_PATH_SYMLINK, "%s is a symlink or "
		    "junction, which an ssldir does not hold", path);
	else
		cr_err_set(err, CR_KIND_IO, "%s is a %s, which an ssldir does "
		    "not hold", path, cr_sys_ftype_name(st->type));
	cr_err_detail_new(err, "path", json_string(path));
	cr_err_next(err, "move %s out of the ssldir, then rerun", path);
	return false;
}

static bool
copy_file(const char *src, const char *dst, cr_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	bool ok;

	/* not private itself: it inherits the private top's DACL */
	ok = cr_sys_read_file(src, TREE_FILE_MAX, CR_SYS_NOFOLLOW, &buf, &len,
	    err) && cr_sys_write_new(dst, buf, len, false, err);
	if (buf != NULL)
		cr_secret_free(buf, len);
	return ok;
}

static bool copy_dir(const char *src, const char *dst, int depth,
    cr_err *err);

static bool
copy_entry(const char *src, const char *dst, int depth, cr_err *err)
{
	struct cr_sys_stat st;
	int r;

	if ((r = cr_sys_stat(src, CR_SYS_NOFOLLOW, &st, err)) == -1)
		return false;
	if (r == 0) {
		cr_err_set(err, CR_KIND_IO, "%s went away during the copy",
		    src);
		cr_err_next(err, "stop what changes the ssldir, then rerun");
		return false;
	}
	if (st.type == CR_SYS_DIR)
		return cr_sys_mkdir(dst, false, err) &&
		    copy_dir(src, dst, depth + 1, err);
	if (st.type == CR_SYS_FILE)
		return copy_file(src, dst, err);
	return refuse_type(src, &st, err);
}

static bool
copy_dir(const char *src, const char *dst, int depth, cr_err *err)
{
	char **names = NULL, *s = NULL, *d = NULL;
	size_t count = 0, i;
	bool ok;

	if (depth > CR_TREE_MAX_DEPTH) {
		cr_err_set(err, CR_KIND_IO, "%s is nested deeper than %d "
		    "directories", src, CR_TREE_MAX_DEPTH);
		cr_err_next(err, "flatten %s, then rerun", src);
		return false;
	}
	ok = cr_sys_list_dir(src, CR_TREE_MAX_ENTRIES, &names, &count, err);
	for (i = 0; ok && i < count; i++) {
		ok = (s = child_new(src, names[i], err)) != NULL &&
		    (d = child_new(dst, names[i], err)) != NULL &&
		    copy_entry(s, d, depth, err);
		free(s);
		free(d);
		s = d = NULL;
	}
	cr_sys_names_free(names, count);
	return ok;
}

/* A component checked and then made is open to a race that the POSIX
 * openat walk is not: the parent directories of a backup are the
 * ssldir's own (Administrators only), where no one else can plant a
 * junction in between. */
bool
cr_tree_copy_nofollow(const char *src, const char *dst, cr_err *err)
{
	char *parent = strdup(dst);
	size_t i, last = 0;
	bool ok;

	if (parent == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	for (i = root_len(parent); parent[i] != '\0'; i++)
		if (is_sep(parent[i]))
			last = i;
	parent[last] = '\0';
	ok = (last == 0 || mkdir_p(parent, true, true, err)) &&
	    cr_tree_copy(src, dst, err);
	free(parent);
	return ok;
}

int
cr_file_meta(const char *path, mode_t *mode, uid_t *uid, gid_t *gid)
{
	struct cr_sys_stat st;
	cr_err e;
	int r;

	cr_err_init(&e);
	if ((r = cr_sys_stat(path, CR_SYS_NOFOLLOW, &st, &e)) == 1) {
		*mode = st.private_access ? 0600 : 0644;
		*uid = (uid_t)-1;
		*gid = (gid_t)-1;
	} else if (r == -1) {
		errno = EACCES;
	}
	cr_err_clear(&e);
	return r;
}

bool
cr_tree_copy(const char *src, const char *dst, cr_err *err)
{
	struct cr_sys_stat st;
	int r;

	if ((r = cr_sys_stat(src, CR_SYS_NOFOLLOW, &st, err)) == -1)
		return false;
	if (r == 0) {
		cr_err_set(err, CR_KIND_IO, "cannot copy %s: it does not "
		    "exist", src);
		cr_err_detail_new(err, "missing", json_true());
		cr_err_next(err, "check the ssldir setting, then rerun");
		return false;
	}
	if (st.type != CR_SYS_DIR)
		return refuse_type(src, &st, err);
	if (!cr_sys_mkdir(dst, true, err))
		return false;
	if (!copy_dir(src, dst, 0, err)) {
		cr_tree_remove(dst, NULL);
		return false;
	}
	return true;
}

static bool
differs(cr_err *err, const char *a, const char *b, const char *rel,
    const char *what)
{
	cr_err_set(err, CR_KIND_IO, "%s differs from %s at %s (%s)", b, a,
	    rel[0] != '\0' ? rel : ".", what);
	cr_err_detail_new(err, "path", json_string(rel[0] != '\0' ? rel :
	    "."));
	cr_err_detail_new(err, "difference", json_string(what));
	cr_err_next(err, "remove %s and rerun to copy again", b);
	return false;
}

static bool
files_same(const char *pa, const char *pb, const char *a, const char *b,
    const char *rel, cr_err *err)
{
	char *x = NULL, *y = NULL;
	size_t xl = 0, yl = 0;
	bool ok;

	ok = cr_sys_read_file(pa, TREE_FILE_MAX, CR_SYS_NOFOLLOW, &x, &xl,
	    err) && cr_sys_read_file(pb, TREE_FILE_MAX, CR_SYS_NOFOLLOW, &y,
	    &yl, err);
	if (ok && xl != yl)
		ok = differs(err, a, b, rel, "size");
	else if (ok && memcmp(x, y, xl) != 0)
		ok = differs(err, a, b, rel, "content");
	if (x != NULL)
		cr_secret_free(x, xl);
	if (y != NULL)
		cr_secret_free(y, yl);
	return ok;
}

static bool compare_dir(const char *pa, const char *pb, const char *a,
    const char *b, const char *rel, int depth, cr_err *err);

static bool
compare_entry(const char *pa, const char *pb, const char *a, const char *b,
    const char *rel, int depth, cr_err *err)
{
	struct cr_sys_stat sa, sb;
	int ra, rb;

	if ((ra = cr_sys_stat(pa, CR_SYS_NOFOLLOW, &sa, err)) == -1 ||
	    (rb = cr_sys_stat(pb, CR_SYS_NOFOLLOW, &sb, err)) == -1)
		return false;
	if (ra == 0 || rb == 0)
		return differs(err, a, b, rel, ra == 0 ? "extra" : "missing");
	if (sa.type != sb.type)
		return differs(err, a, b, rel, "type");
	if (sa.type == CR_SYS_DIR)
		return compare_dir(pa, pb, a, b, rel, depth + 1, err);
	if (sa.type == CR_SYS_FILE)
		return files_same(pa, pb, a, b, rel, err);
	return refuse_type(pa, &sa, err);
}

static bool
compare_dir(const char *pa, const char *pb, const char *a, const char *b,
    const char *rel, int depth, cr_err *err)
{
	char **na = NULL, **nb = NULL, *ca = NULL, *cb = NULL, *cr = NULL;
	size_t la = 0, lb = 0, i = 0, j = 0;
	bool ok;
	int c;

	if (depth > CR_TREE_MAX_DEPTH)
		return differs(err, a, b, rel, "depth");
	ok = cr_sys_list_dir(pa, CR_TREE_MAX_ENTRIES, &na, &la, err) &&
	    cr_sys_list_dir(pb, CR_TREE_MAX_ENTRIES, &nb, &lb, err);
	/* both sorted bytewise: one merge pass */
	while (ok && (i < la || j < lb)) {
		c = i == la ? 1 : j == lb ? -1 : strcmp(na[i], nb[j]);
		cr = rel[0] != '\0' ? cr_sys_path_join(rel, c <= 0 ? na[i] :
		    nb[j]) : strdup(c <= 0 ? na[i] : nb[j]);
		if (cr == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			ok = false;
		} else if (c != 0) {
			ok = differs(err, a, b, cr, c < 0 ? "missing" :
			    "extra");
		} else {
			ok = (ca = child_new(pa, na[i], err)) != NULL &&
			    (cb = child_new(pb, nb[j], err)) != NULL &&
			    compare_entry(ca, cb, a, b, cr, depth, err);
			i++;
			j++;
		}
		free(ca);
		free(cb);
		free(cr);
		ca = cb = cr = NULL;
	}
	cr_sys_names_free(na, la);
	cr_sys_names_free(nb, lb);
	return ok;
}

bool
cr_tree_compare(const char *a, const char *b, cr_err *err)
{
	return compare_entry(a, b, a, b, "", 0, err);
}

static bool
remove_tree(const char *path, int depth, cr_err *err)
{
	struct cr_sys_stat st;
	char **names = NULL, *c = NULL;
	size_t count = 0, i;
	bool ok = true;
	int r;

	if ((r = cr_sys_stat(path, CR_SYS_NOFOLLOW, &st, err)) == -1)
		return false;
	if (r == 0)
		return true;
	if (st.type == CR_SYS_DIR) {
		if (depth > CR_TREE_MAX_DEPTH) {
			cr_err_set(err, CR_KIND_IO, "%s is nested deeper than "
			    "%d directories", path, CR_TREE_MAX_DEPTH);
			cr_err_next(err, "remove %s by hand, then rerun",
			    path);
			return false;
		}
		ok = cr_sys_list_dir(path, CR_TREE_MAX_ENTRIES, &names,
		    &count, err);
		for (i = 0; ok && i < count; i++) {
			ok = (c = child_new(path, names[i], err)) != NULL &&
			    remove_tree(c, depth + 1, err);
			free(c);
			c = NULL;
		}
		cr_sys_names_free(names, count);
	}
	/* a link (symlink, junction) is removed itself, never followed */
	return ok && cr_sys_remove(path, err);
}

bool
cr_tree_remove(const char *path, cr_err *err)
{
	return remove_tree(path, 0, err);
}
