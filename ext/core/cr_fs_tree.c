/*
 * cr_fs_tree.c (POSIX) - the ssldir tree copy, compare and remove of
 * cr_fs.h, each a visitor of the one walk in cr_fs_walk.c: the walk opens,
 * checks and lists, the visitors copy, compare or remove what it meets.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cr_fs.h"
#include "cr_fs_walk.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_write.h"

/* ---- copy -------------------------------------------------------------- */

static const char *
type_name(mode_t m)
{
	return S_ISREG(m) ? "regular file" : S_ISDIR(m) ? "directory" :
	    S_ISLNK(m) ? "symlink" : S_ISFIFO(m) ? "fifo" :
	    S_ISSOCK(m) ? "socket" : S_ISCHR(m) ? "character device" :
	    S_ISBLK(m) ? "block device" : "special file";
}

/* Gives an open file or directory the owner, mode and times of st. */
static bool
meta_set_fd(int fd, const struct stat *st, const char *what, cr_err *err)
{
	struct stat now;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fstat(fd, &now) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", what);
		return false;
	}
	if ((now.st_uid != st->st_uid || now.st_gid != st->st_gid) &&
	    fchown(fd, st->st_uid, st->st_gid) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chown %s", what);
		return false;
	}
	if (fchmod(fd, st->st_mode & 07777) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chmod %s", what);
		return false;
	}
	if (futimens(fd, ts) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot set times of %s",
		    what);
		return false;
	}
	return true;
}

/* Reads up to len bytes (fewer only at EOF); -1 on error. */
static ssize_t
read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Closes whichever of two descriptors is open (-1: not). */
static void
close_both(int a, int b)
{
	if (a != -1)
		close(a);
	if (b != -1)
		close(b);
}

static bool
copy_file(int sdir, int ddir, const char *name, const struct stat *st,
    const char *sp, const char *dp, cr_err *err)
{
	bool ok = false;
	unsigned char buf[65536];
	struct stat sst;
	int in = -1, out = -1;
	ssize_t n;

	/* O_NONBLOCK: a fifo swapped in after the lstat must not hang us */
	if ((in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1 || fstat(in, &sst) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", sp);
		goto out;
	}
	if (!S_ISREG(sst.st_mode) || sst.st_ino != st->st_ino ||
	    sst.st_dev != st->st_dev) {
		cr_err_set(err, CR_KIND_IO, "%s changed while it was copied",
		    sp);
		goto out;
	}
	if ((out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create %s", dp);
		goto out;
	}
	for (;;) {
		if ((n = read_full(in, buf, sizeof(buf))) == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot read %s",
			    sp);
			goto out;
		}
		if (n == 0)
			break;
		if (!cr_write_all(out, buf, (size_t)n)) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot write %s",
			    dp);
			goto out;
		}
	}
	if (!meta_set_fd(out, &sst, dp, err))
		goto out;
	ok = cr_fd_sync_close(out, dp, err);
	out = -1;
out:
	OPENSSL_cleanse(buf, sizeof(buf));	/* may have held a key */
	close_both(in, out);
	return ok;
}

static bool
copy_link(int sdir, int ddir, const char *name, const struct stat *st,
    const char *sp, const char *dp, cr_err *err)
{
	char target[PATH_MAX];
	struct stat now;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	ssize_t n;

	if ((n = readlinkat(sdir, name, target, sizeof(target))) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot read symlink %s",
		    sp);
		return false;
	}
	if ((size_t)n >= sizeof(target)) {
		cr_err_set(err, CR_KIND_IO, "symlink %s is too long", sp);
		return false;
	}
	target[n] = '\0';
	if (symlinkat(target, ddir, name) == -1 ||
	    fstatat(ddir, name, &now, AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create symlink %s",
		    dp);
		return false;
	}
	if ((now.st_uid != st->st_uid || now.st_gid != st->st_gid) &&
	    fchownat(ddir, name, st->st_uid, st->st_gid,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chown %s", dp);
		return false;
	}
	if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot set times of %s",
		    dp);
		return false;
	}
	return true;
}

/* A directory met by the copy: made 0700 under the destination's twin;
 * the new directory is the twin of what the walk finds in it. */
static bool
copy_enter(const struct cr_walk_at *at, const char *dp, int *child_twin,
    cr_err *err)
{
	bool ok = false;

	if (mkdirat(at->twin, at->name, 0700) == -1 ||
	    (*child_twin = cr_dir_open_at(at->twin, at->name)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create %s", dp);
		goto out;
	}
	ok = true;
out:
	return ok;
}

/* A directory copied: its entries made durable, then the mode, owner and
 * times of the source.  The root is cr_tree_copy_at's, which sets its
 * mode, owner and times and then syncs it once. */
static bool
copy_leave(const struct cr_walk_at *at, const char *dp, cr_err *err)
{
	bool ok = false;

	if (at->name == NULL) {
		ok = true;
		goto out;
	}
	if (fsync(at->twin) == -1 && errno != EINVAL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync %s", dp);
		goto out;
	}
	if (!meta_set_fd(at->twin, at->st, dp, err))
		goto out;
	ok = true;
out:
	return ok;
}

struct copy {
	const char *dst;	/* the twin of the walk's root */
};

/* The copy's visitor: what the walk meets in the source, made again at
 * the same place under dst. */
static bool
copy_visit(const struct cr_walk_at *at, int *child_twin, void *ctx,
    cr_err *err)
{
	const struct copy *c = ctx;
	bool ok = false;
	char *dp = cr_walk_path(c->dst, at->rel);

	if (dp == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to copy %s",
		    at->path);
		goto out;
	}
	if (at->event == CR_WALK_ENTER)
		ok = copy_enter(at, dp, child_twin, err);
	else if (at->event == CR_WALK_LEAVE)
		ok = copy_leave(at, dp, err);
	else if (S_ISREG(at->st->st_mode))
		ok = copy_file(at->dir, at->twin, at->name, at->st, at->path,
		    dp, err);
	else if (S_ISLNK(at->st->st_mode))
		ok = copy_link(at->dir, at->twin, at->name, at->st, at->path,
		    dp, err);
	else
		cr_err_set(err, CR_KIND_IO, "%s is a %s: refusing to copy it",
		    at->path, type_name(at->st->st_mode));
out:
	free(dp);
	return ok;
}

bool
cr_tree_copy_at(const char *src, int pfd, const char *name, const char *dst,
    cr_err *err)
{
	bool ok = false, created = false;
	struct copy c = { dst };
	struct stat st;
	int sfd = -1, dfd = -1;

	if ((sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1 || fstat(sfd, &st) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno,
		    "cannot open directory %s (symlinks are not followed)",
		    src);
		goto out;
	}
	if (mkdirat(pfd, name, 0700) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create %s", dst);
		goto out;
	}
	created = true;
	if ((dfd = cr_dir_open_at(pfd, name)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", dst);
		goto out;
	}
	if (!cr_walk(sfd, dfd, src, copy_visit, &c, err) ||
	    !meta_set_fd(dfd, &st, dst, err))
		goto out;
	if (fsync(dfd) == -1 && errno != EINVAL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync %s", dst);
		goto out;
	}
	if (fsync(pfd) == -1 && errno != EINVAL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync the parent "
		    "of %s", dst);
		goto out;
	}
	ok = true;
out:
	close_both(sfd, dfd);
	if (!ok && created)
		cr_tree_remove(dst, NULL);
	return ok;
}

/* cr_tree_copy_at under dst's parent, opened as it is or (nofollow) made
 * following no symlink. */
static bool
copy_under_parent(const char *src, const char *dst, bool nofollow,
    cr_err *err)
{
	char *parent = strdup(dst), *dir;
	const char *base = strrchr(dst, '/') ? strrchr(dst, '/') + 1 : dst;
	bool ok = false;
	int pfd = -1;

	if (parent == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for %s", dst);
		goto out;
	}
	dir = dirname(parent);
	if (nofollow)
		pfd = cr_mkdir_p_nofollow(dir, 0700, err);
	else if ((pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", dir);
	if (pfd == -1)
		goto out;
	ok = cr_tree_copy_at(src, pfd, base, dst, err);
out:
	if (pfd != -1)
		close(pfd);
	free(parent);
	return ok;
}

bool
cr_tree_copy(const char *src, const char *dst, cr_err *err)
{
	return copy_under_parent(src, dst, false, err);
}

bool
cr_tree_copy_nofollow(const char *src, const char *dst, cr_err *err)
{
	return copy_under_parent(src, dst, true, err);
}

/* ---- compare ----------------------------------------------------------- */

static void
differs(cr_err *err, const char *a, const char *b, const char *rel,
    const char *what, const char *fmt_a, const char *fmt_b)
{
	cr_err_set(err, CR_KIND_IO, "%s differs from %s at %s: %s%s%s%s%s",
	    b, a, rel[0] ? rel : ".", what, fmt_a ? " " : "",
	    fmt_a ? fmt_a : "", fmt_b ? " vs " : "", fmt_b ? fmt_b : "");
	cr_err_detail_new(err, "path", json_string(rel[0] ? rel : "."));
	cr_err_detail_new(err, "difference", json_string(what));
}

/* Same type, mode and owner; false (err set) on the first difference. */
static bool
stat_same(const struct stat *x, const struct stat *y, const char *a,
    const char *b, const char *rel, cr_err *err)
{
	char u[64], v[64];

	if ((x->st_mode & S_IFMT) != (y->st_mode & S_IFMT)) {
		differs(err, a, b, rel, "type", type_name(x->st_mode),
		    type_name(y->st_mode));
		return false;
	}
	if ((x->st_mode & 07777) != (y->st_mode & 07777)) {
		snprintf(u, sizeof(u), "%04o", (unsigned)(x->st_mode & 07777));
		snprintf(v, sizeof(v), "%04o", (unsigned)(y->st_mode & 07777));
		differs(err, a, b, rel, "mode", u, v);
		return false;
	}
	if (x->st_uid != y->st_uid || x->st_gid != y->st_gid) {
		snprintf(u, sizeof(u), "%lu:%lu", (unsigned long)x->st_uid,
		    (unsigned long)x->st_gid);
		snprintf(v, sizeof(v), "%lu:%lu", (unsigned long)y->st_uid,
		    (unsigned long)y->st_gid);
		differs(err, a, b, rel, "owner", u, v);
		return false;
	}
	return true;
}

/* What was read of rel on each side (na, nb bytes, -1 when that read
 * failed, errno set) is the same: false with err set when a read failed
 * or they differ (difference: "content" of a file, "target" of a
 * symlink). */
static bool
read_same(ssize_t na, const void *x, ssize_t nb, const void *y,
    const char *difference, const char *a, const char *b, const char *rel,
    cr_err *err)
{
	bool ok = false;

	if (na == -1 || nb == -1)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot read the %s of %s "
		    "in %s or %s", difference, rel, a, b);
	else if (na != nb || memcmp(x, y, (size_t)na) != 0)
		differs(err, a, b, rel, difference, NULL, NULL);
	else
		ok = true;
	return ok;
}

static bool
files_same(int adir, int bdir, const char *name, const char *a,
    const char *b, const char *rel, cr_err *err)
{
	bool ok = false;
	unsigned char x[32768], y[32768];
	int fa = -1, fb = -1;
	ssize_t na, nb;

	if ((fa = openat(adir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1 || (fb = openat(bdir, name, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s in %s or %s",
		    rel, a, b);
		goto out;
	}
	for (;;) {
		na = read_full(fa, x, sizeof(x));
		nb = read_full(fb, y, sizeof(y));
		if (!read_same(na, x, nb, y, "content", a, b, rel, err))
			goto out;
		if (na == 0)
			break;
	}
	ok = true;
out:
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(y, sizeof(y));
	close_both(fa, fb);
	return ok;
}

static bool
links_same(int adir, int bdir, const char *name, const char *a,
    const char *b, const char *rel, cr_err *err)
{
	char x[PATH_MAX], y[PATH_MAX];
	ssize_t na, nb;

	na = readlinkat(adir, name, x, sizeof(x));
	nb = readlinkat(bdir, name, y, sizeof(y));
	return read_same(na, x, nb, y, "target", a, b, rel, err);
}

/*
 * The compare walks a and, beside it, b: the walk lists each directory of
 * a, the visitor the same directory of b, and both lists are sorted
 * bytewise, so that the first difference met is the one a merge of the
 * two lists meets first (an entry of b before a's next one is "extra", an
 * entry of a that b does not have next is "missing").
 */
struct compare {
	const char *a, *b;
	/* b's names of each directory the walk is in, by depth, and the
	 * next one the walk of a has not met yet */
	char **names[CR_TREE_MAX_DEPTH + 1];
	size_t count[CR_TREE_MAX_DEPTH + 1], next[CR_TREE_MAX_DEPTH + 1];
};

static void
compare_level_free(struct compare *c, int level)
{
	cr_sys_names_free(c->names[level], c->count[level]);
	c->names[level] = NULL;
	c->count[level] = c->next[level] = 0;
}

/* b's names of its directory dfd at rel, as the list of level. */
static bool
compare_list_b(struct compare *c, int dfd, const char *rel, int level,
    cr_err *err)
{
	bool ok = false;
	char *path = cr_walk_path(c->b, rel);

	if (path == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to compare %s", c->b);
		goto out;
	}
	compare_level_free(c, level);
	ok = cr_sys_list_dir_at(dfd, path, CR_TREE_MAX_ENTRIES,
	    &c->names[level], &c->count[level], err);
out:
	free(path);
	return ok;
}

/* An entry both trees have: same type, mode and owner, then the same
 * content, target or (a directory) b's side opened as the twin. */
static bool
compare_entry(struct compare *c, const struct cr_walk_at *at,
    int *child_twin, cr_err *err)
{
	bool ok = false;
	struct stat y;
	int fb = -1;

	if (fstatat(at->twin, at->name, &y, AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s in %s or %s",
		    at->rel, c->a, c->b);
		goto out;
	}
	if (!stat_same(at->st, &y, c->a, c->b, at->rel, err))
		goto out;
	if (at->event == CR_WALK_ENTER) {
		if ((fb = cr_dir_open_at(at->twin, at->name)) == -1) {
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot open %s in %s or %s", at->rel, c->a, c->b);
			goto out;
		}
		if (!compare_list_b(c, fb, at->rel, at->depth, err))
			goto out;
		*child_twin = fb;
		fb = -1;
		ok = true;
	} else if (S_ISREG(at->st->st_mode)) {
		if (at->st->st_size != y.st_size) {
			char u[32], v[32];
			snprintf(u, sizeof(u), "%lld", (long long)at->st->st_size);
			snprintf(v, sizeof(v), "%lld", (long long)y.st_size);
			differs(err, c->a, c->b, at->rel, "size", u, v);
			goto out;
		}
		ok = files_same(at->dir, at->twin, at->name, c->a, c->b,
		    at->rel, err);
	} else if (S_ISLNK(at->st->st_mode)) {
		ok = links_same(at->dir, at->twin, at->name, c->a, c->b,
		    at->rel, err);
	} else {
		ok = true;	/* same special file type: nothing to read */
	}
out:
	if (fb != -1)
		close(fb);
	return ok;
}

/* "extra" at b's next name in the directory of at (the one left at a
 * LEAVE, else the one holding at's entry). */
static void
compare_extra(const struct compare *c, const struct cr_walk_at *at,
    const char *bname, cr_err *err)
{
	size_t dlen = strlen(at->rel);
	char *rel = NULL;

	if (at->event != CR_WALK_LEAVE)	/* at->rel less "/name" */
		dlen -= strlen(at->name) + (dlen > strlen(at->name));
	if (asprintf(&rel, "%.*s%s%s", (int)dlen, at->rel, dlen ? "/" : "",
	    bname) == -1) {
		rel = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "no memory to compare %s", c->b);
	} else {
		differs(err, c->a, c->b, rel, "extra", NULL, NULL);
	}
	free(rel);
}

/* The compare's visitor: a's entry against b's next name. */
static bool
compare_visit(const struct cr_walk_at *at, int *child_twin, void *ctx,
    cr_err *err)
{
	struct compare *c = ctx;
	int level = at->event == CR_WALK_LEAVE ? at->depth : at->depth - 1;
	const char *bname = c->next[level] < c->count[level] ?
	    c->names[level][c->next[level]] : NULL;
	bool ok = false;

	if (bname != NULL && (at->event == CR_WALK_LEAVE ||
	    strcmp(bname, at->name) < 0)) {
		compare_extra(c, at, bname, err);
		goto out;
	}
	if (at->event == CR_WALK_LEAVE) {
		compare_level_free(c, level);
		ok = true;
		goto out;
	}
	if (bname == NULL || strcmp(bname, at->name) != 0) {
		differs(err, c->a, c->b, at->rel, "missing", NULL, NULL);
		goto out;
	}
	c->next[level]++;
	ok = compare_entry(c, at, child_twin, err);
out:
	return ok;
}

bool
cr_tree_compare(const char *a, const char *b, cr_err *err)
{
	bool ok = false;
	struct compare c = { .a = a, .b = b };
	struct stat x, y;
	int fa = -1, fb = -1, i;

	if ((fa = open(a, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1 || fstat(fa, &x) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open directory %s",
		    a);
		goto out;
	}
	if ((fb = open(b, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1 || fstat(fb, &y) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open directory %s",
		    b);
		goto out;
	}
	if (!stat_same(&x, &y, a, b, "", err) ||
	    !compare_list_b(&c, fb, "", 0, err) ||
	    !cr_walk(fa, fb, a, compare_visit, &c, err))
		goto out;
	ok = true;
out:
	for (i = 0; i <= CR_TREE_MAX_DEPTH; i++)
		compare_level_free(&c, i);
	close_both(fa, fb);
	return ok;
}

/* ---- remove ------------------------------------------------------------ */

/* The remove's visitor: what is not a directory at once, a directory at
 * its LEAVE, once empty; the root is cr_tree_remove's. */
static bool
remove_visit(const struct cr_walk_at *at, int *child_twin, void *ctx,
    cr_err *err)
{
	bool ok = true;

	(void)child_twin;
	(void)ctx;
	if (at->event != CR_WALK_ENTER && at->name != NULL &&
	    unlinkat(at->dir, at->name, at->event == CR_WALK_LEAVE ?
	    AT_REMOVEDIR : 0) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s",
		    at->path);
		ok = false;
	}
	return ok;
}

bool
cr_tree_remove(const char *path, cr_err *err)
{
	bool ok = false;
	struct stat st;
	int fd = -1;

	/* a directory is emptied first; then path goes as anything else
	 * (a missing one is not an error, a stat that fails is reported by
	 * cr_sys_remove) */
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s",
			    path);
			goto out;
		}
		if (!cr_walk(fd, -1, path, remove_visit, NULL, err))
			goto out;
	}
	ok = cr_sys_remove(path, err);
out:
	if (fd != -1)
		close(fd);
	return ok;
}
