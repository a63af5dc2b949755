/*
 * cr_fs.c - bounded file reads, path helpers, atomic installs and the
 * ssldir tree copy/compare/remove (see cr_fs.h).
 */
#include <dirent.h>
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

/* ---- atomic installs ------------------------------------------------- */

/* New string: the directory part of path ("a/b" -> "a", "b" -> ".",
 * "/b" -> "/"), or NULL when out of memory. */
static char *
path_dir_new(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static const char *
path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* write(2) until everything is written; false with errno set. */
bool
cr_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return false;
		if (n == 0) {
			errno = EIO;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool
cr_dir_fsync(const char *dir, cr_err *err)
{
	bool ok = false;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open directory %s",
		    dir);
		goto out;
	}
	/* EINVAL: a file system that cannot sync directories */
	if (fsync(fd) == -1 && errno != EINVAL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync directory %s",
		    dir);
		goto out;
	}
	ok = true;
out:
	if (fd != -1)
		close(fd);
	return ok;
}

bool
cr_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, cr_err *err)
{
	bool ok = false;
	char *dir = NULL, *tmp = NULL;
	int fd = -1, rc;

	if (path == NULL || path[0] == '\0' || path_base(path)[0] == '\0') {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_file_write_atomic: '%s' is not a file path",
		    path ? path : "(null)");
		goto out;
	}
	/* the base name is cut so that ".<base>.XXXXXX" fits NAME_MAX */
	if ((dir = path_dir_new(path)) == NULL ||
	    asprintf(&tmp, "%s/.%.200s.XXXXXX", dir, path_base(path)) == -1) {
		tmp = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "no memory to write %s", path);
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno,
		    "cannot create a temporary file in %s", dir);
		free(tmp);
		tmp = NULL;	/* nothing to unlink */
		goto out;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chown %s", tmp);
		goto out;
	}
	/* after fchown, which may clear set-id bits */
	if (fchmod(fd, mode) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chmod %s", tmp);
		goto out;
	}
	if (!cr_write_all(fd, data, len)) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot write %s", tmp);
		goto out;
	}
	if (fsync(fd) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync %s", tmp);
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot close %s", tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot rename %s to %s",
		    tmp, path);
		goto out;
	}
	free(tmp);
	tmp = NULL;	/* it is path now */
	if (!cr_dir_fsync(dir, err))
		goto out;
	ok = true;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(tmp);
	free(dir);
	return ok;
}

/* Creates one directory with exactly mode; 1 created, 0 existed, -1 error. */
static int
mkdir_one(const char *dir, mode_t mode, cr_err *err)
{
	struct stat st;
	int fd = -1, ret = -1;

	if (mkdir(dir, mode) == -1) {
		if (errno == EEXIST && stat(dir, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			ret = 0;
		else if (errno == EEXIST)
			cr_err_set(err, CR_KIND_IO,
			    "%s exists and is not a directory", dir);
		else
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot create directory %s", dir);
		goto out;
	}
	/* the mode without the umask; O_NOFOLLOW: the directory we made */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1 || fchmod(fd, mode) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chmod %s", dir);
		goto out;
	}
	ret = 1;
out:
	if (fd != -1)
		close(fd);
	return ret;
}

bool
cr_mkdir_p(const char *path, mode_t mode, cr_err *err)
{
	bool ok = false;
	char *buf = NULL, *parent = NULL, *p;
	int made;

	if (path == NULL || path[0] == '\0') {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_mkdir_p: empty path");
		goto out;
	}
	if ((buf = strdup(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for %s", path);
		goto out;
	}
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {	/* skip "//" and a trailing '/' */
			char c = *p;
			*p = '\0';
			if ((made = mkdir_one(buf, mode, err)) == -1)
				goto out;
			if (made == 1) {
				free(parent);
				if ((parent = path_dir_new(buf)) == NULL) {
					cr_err_set(err, CR_KIND_NOMEM,
					    "no memory for %s", path);
					goto out;
				}
				if (!cr_dir_fsync(parent, err))
					goto out;
			}
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	ok = true;
out:
	free(parent);
	free(buf);
	return ok;
}

/* ---- tree walks ------------------------------------------------------ */

struct names {
	char **v;
	size_t n;
};

static void
names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entry names of an open directory (not "." and ".."). */
static bool
dir_names(int dfd, const char *what, struct names *out, cr_err *err)
{
	bool ok = false;
	DIR *d = NULL;
	struct dirent *de;
	size_t cap = 0;
	char **nv;
	int fd;

	out->v = NULL;
	out->n = 0;
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot list %s", what);
		if (fd != -1)
			close(fd);
		goto out;
	}
	rewinddir(d);	/* a dup shares the offset of an earlier listing */
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				cr_err_errno(err, CR_KIND_IO, errno,
				    "cannot list %s", what);
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (out->n >= CR_TREE_MAX_ENTRIES) {
			cr_err_set(err, CR_KIND_IO,
			    "%s has more than %d entries", what,
			    CR_TREE_MAX_ENTRIES);
			goto out;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(out->v, cap * sizeof(*nv))) == NULL) {
				cr_err_set(err, CR_KIND_NOMEM,
				    "no memory to list %s", what);
				goto out;
			}
			out->v = nv;
		}
		if ((out->v[out->n] = strdup(de->d_name)) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "no memory to list %s",
			    what);
			goto out;
		}
		out->n++;
	}
	if (out->n > 0)
		qsort(out->v, out->n, sizeof(*out->v), name_cmp);
	ok = true;
out:
	if (d != NULL)
		closedir(d);
	if (!ok)
		names_free(out);
	return ok;
}

/* New "dir/name" for messages, never NULL ("?" when out of memory). */
static char *
child_path(const char *dir, const char *name)
{
	char *out = NULL;

	if (dir == NULL || dir[0] == '\0')
		out = strdup(name);
	else if (asprintf(&out, "%s/%s", dir, name) == -1)
		out = NULL;
	return out ? out : strdup("?");
}

static int
open_dir_at(int dfd, const char *name)
{
	return openat(dfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

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

static bool
copy_file(int sdir, int ddir, const char *name, const struct stat *st,
    const char *sp, const char *dp, cr_err *err)
{
	bool ok = false;
	unsigned char buf[65536];
	struct stat sst;
	int in = -1, out = -1, rc;
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
		n = read(in, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
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
	if (fsync(out) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync %s", dp);
		goto out;
	}
	rc = close(out);
	out = -1;
	if (rc == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot close %s", dp);
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(buf, sizeof(buf));	/* may have held a key */
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
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

static bool copy_dir(int sdir, int ddir, const char *sp, const char *dp,
    int depth, cr_err *err);

static bool
copy_entry(int sdir, int ddir, const char *name, const char *sp,
    const char *dp, int depth, cr_err *err)
{
	bool ok = false;
	struct stat st, sst;
	int sfd = -1, dfd = -1;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", sp);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		ok = copy_file(sdir, ddir, name, &st, sp, dp, err);
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		ok = copy_link(sdir, ddir, name, &st, sp, dp, err);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		cr_err_set(err, CR_KIND_IO, "%s is a %s: refusing to copy it",
		    sp, type_name(st.st_mode));
		goto out;
	}
	/* checked before creating it, so that the partial copy stays
	 * within what cr_tree_remove will remove */
	if (depth + 1 > CR_TREE_MAX_DEPTH) {
		cr_err_set(err, CR_KIND_IO, "%s is nested more than %d deep",
		    sp, CR_TREE_MAX_DEPTH);
		goto out;
	}
	if ((sfd = open_dir_at(sdir, name)) == -1 || fstat(sfd, &sst) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", sp);
		goto out;
	}
	if (sst.st_ino != st.st_ino || sst.st_dev != st.st_dev) {
		cr_err_set(err, CR_KIND_IO, "%s changed while it was copied",
		    sp);
		goto out;
	}
	if (mkdirat(ddir, name, 0700) == -1 ||
	    (dfd = open_dir_at(ddir, name)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create %s", dp);
		goto out;
	}
	if (!copy_dir(sfd, dfd, sp, dp, depth + 1, err) ||
	    !meta_set_fd(dfd, &sst, dp, err))
		goto out;
	ok = true;
out:
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	return ok;
}

/* Copies the entries of sdir into ddir, then fsyncs ddir. */
static bool
copy_dir(int sdir, int ddir, const char *sp, const char *dp, int depth,
    cr_err *err)
{
	bool ok = false;
	struct names ns = { NULL, 0 };
	char *csp = NULL, *cdp = NULL;
	size_t i;

	if (depth > CR_TREE_MAX_DEPTH) {
		cr_err_set(err, CR_KIND_IO, "%s is nested more than %d deep",
		    sp, CR_TREE_MAX_DEPTH);
		goto out;
	}
	if (!dir_names(sdir, sp, &ns, err))
		goto out;
	for (i = 0; i < ns.n; i++) {
		csp = child_path(sp, ns.v[i]);
		cdp = child_path(dp, ns.v[i]);
		if (!copy_entry(sdir, ddir, ns.v[i], csp, cdp, depth, err))
			goto out;
		free(csp);
		free(cdp);
		csp = cdp = NULL;
	}
	if (fsync(ddir) == -1 && errno != EINVAL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync %s", dp);
		goto out;
	}
	ok = true;
out:
	free(csp);
	free(cdp);
	names_free(&ns);
	return ok;
}

bool
cr_tree_copy_at(const char *src, int pfd, const char *name, const char *dst,
    cr_err *err)
{
	bool ok = false, created = false;
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
	if ((dfd = open_dir_at(pfd, name)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", dst);
		goto out;
	}
	if (!copy_dir(sfd, dfd, src, dst, 0, err) ||
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
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	if (!ok && created)
		cr_tree_remove(dst, NULL);
	return ok;
}

bool
cr_tree_copy(const char *src, const char *dst, cr_err *err)
{
	char *parent = path_dir_new(dst), *copy = strdup(dst);
	const char *name;
	bool ok = false;
	int pfd = -1;

	if (parent == NULL || copy == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for %s", dst);
		goto out;
	}
	name = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", parent);
		goto out;
	}
	ok = cr_tree_copy_at(src, pfd, name, dst, err);
out:
	if (pfd != -1)
		close(pfd);
	free(parent);
	free(copy);
	return ok;
}

/* One component of cr_mkdir_p_nofollow: opened (made first when
 * missing) under dfd without following a symlink; -1 with err set. */
static int
nofollow_component(int dfd, const char *name, const char *sofar,
    mode_t mode, cr_err *err)
{
	struct stat st;
	int fd = open_dir_at(dfd, name);

	if (fd == -1 && errno == ENOENT) {
		if (mkdirat(dfd, name, mode) == -1 && errno != EEXIST) {
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot create directory %s", sofar);
			return -1;
		}
		if ((fd = open_dir_at(dfd, name)) != -1 &&
		    (fchmod(fd, mode) == -1 || fsync(dfd) == -1)) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot set up %s",
			    sofar);
			close(fd);
			return -1;
		}
	}
	if (fd != -1)
		return fd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		cr_err_set(err, CR_KIND_PATH_SYMLINK, "%s is a symlink: it is "
		    "not followed", sofar);
		cr_err_detail_new(err, "path", json_string(sofar));
	} else {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open directory %s "
		    "(symlinks are not followed)", sofar);
	}
	return -1;
}

int
cr_mkdir_p_nofollow(const char *path, mode_t mode, cr_err *err)
{
	char *buf = NULL, *p, *name, c;
	int dfd = -1, fd;

	if (path == NULL || path[0] != '/') {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_mkdir_p_nofollow: not an absolute path");
		goto out;
	}
	if ((buf = strdup(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for %s", path);
		goto out;
	}
	if ((dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open /");
		goto out;
	}
	for (p = buf + 1; *p != '\0';) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		name = p;
		while (*p != '/' && *p != '\0')
			p++;
		c = *p;
		*p = '\0';
		fd = nofollow_component(dfd, name, buf, mode, err);
		close(dfd);
		dfd = fd;
		if (dfd == -1)
			goto out;
		*p = c;
	}
out:
	free(buf);
	return dfd;
}

bool
cr_tree_copy_nofollow(const char *src, const char *dst, cr_err *err)
{
	char *parent = strdup(dst);
	const char *base;
	bool ok = false;
	int pfd = -1;

	if (parent == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((pfd = cr_mkdir_p_nofollow(dirname(parent), 0700, err)) == -1)
		goto out;
	base = strrchr(dst, '/') ? strrchr(dst, '/') + 1 : dst;
	ok = cr_tree_copy_at(src, pfd, base, dst, err);
out:
	if (pfd != -1)
		close(pfd);
	free(parent);
	return ok;
}

int
cr_file_meta(const char *path, mode_t *mode, uid_t *uid, gid_t *gid)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	*mode = st.st_mode & 07777;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 1;
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
		if (na == -1 || nb == -1) {
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot read %s in %s or %s", rel, a, b);
			goto out;
		}
		if (na != nb || memcmp(x, y, (size_t)na) != 0) {
			differs(err, a, b, rel, "content", NULL, NULL);
			goto out;
		}
		if (na == 0)
			break;
	}
	ok = true;
out:
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(y, sizeof(y));
	if (fa != -1)
		close(fa);
	if (fb != -1)
		close(fb);
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
	if (na == -1 || nb == -1) {
		cr_err_errno(err, CR_KIND_IO, errno,
		    "cannot read symlink %s in %s or %s", rel, a, b);
		return false;
	}
	if (na != nb || memcmp(x, y, (size_t)na) != 0) {
		differs(err, a, b, rel, "target", NULL, NULL);
		return false;
	}
	return true;
}

static bool compare_dir(int adir, int bdir, const char *a, const char *b,
    const char *rel, int depth, cr_err *err);

static bool
compare_entry(int adir, int bdir, const char *name, const char *a,
    const char *b, const char *rel, int depth, cr_err *err)
{
	bool ok = false;
	struct stat x, y;
	int fa = -1, fb = -1;

	if (fstatat(adir, name, &x, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(bdir, name, &y, AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s in %s or %s",
		    rel, a, b);
		goto out;
	}
	if (!stat_same(&x, &y, a, b, rel, err))
		goto out;
	if (S_ISREG(x.st_mode)) {
		if (x.st_size != y.st_size) {
			char u[32], v[32];
			snprintf(u, sizeof(u), "%lld", (long long)x.st_size);
			snprintf(v, sizeof(v), "%lld", (long long)y.st_size);
			differs(err, a, b, rel, "size", u, v);
			goto out;
		}
		ok = files_same(adir, bdir, name, a, b, rel, err);
	} else if (S_ISLNK(x.st_mode)) {
		ok = links_same(adir, bdir, name, a, b, rel, err);
	} else if (S_ISDIR(x.st_mode)) {
		if ((fa = open_dir_at(adir, name)) == -1 ||
		    (fb = open_dir_at(bdir, name)) == -1) {
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot open %s in %s or %s", rel, a, b);
			goto out;
		}
		ok = compare_dir(fa, fb, a, b, rel, depth + 1, err);
	} else {
		ok = true;	/* same special file type: nothing to read */
	}
out:
	if (fa != -1)
		close(fa);
	if (fb != -1)
		close(fb);
	return ok;
}

static bool
compare_dir(int adir, int bdir, const char *a, const char *b,
    const char *rel, int depth, cr_err *err)
{
	bool ok = false;
	struct names na = { NULL, 0 }, nb = { NULL, 0 };
	char *crel = NULL;
	size_t i = 0, j = 0;
	int c;

	if (depth > CR_TREE_MAX_DEPTH) {
		cr_err_set(err, CR_KIND_IO, "%s/%s is nested more than %d deep",
		    a, rel, CR_TREE_MAX_DEPTH);
		goto out;
	}
	if (!dir_names(adir, a, &na, err) || !dir_names(bdir, b, &nb, err))
		goto out;
	while (i < na.n || j < nb.n) {
		c = i == na.n ? 1 : j == nb.n ? -1 : strcmp(na.v[i], nb.v[j]);
		crel = child_path(rel, c <= 0 ? na.v[i] : nb.v[j]);
		if (c != 0) {
			differs(err, a, b, crel, c < 0 ? "missing" : "extra",
			    NULL, NULL);
			goto out;
		}
		if (!compare_entry(adir, bdir, na.v[i], a, b, crel, depth, err))
			goto out;
		free(crel);
		crel = NULL;
		i++;
		j++;
	}
	ok = true;
out:
	free(crel);
	names_free(&na);
	names_free(&nb);
	return ok;
}

bool
cr_tree_compare(const char *a, const char *b, cr_err *err)
{
	bool ok = false;
	struct stat x, y;
	int fa = -1, fb = -1;

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
	    !compare_dir(fa, fb, a, b, "", 0, err))
		goto out;
	ok = true;
out:
	if (fa != -1)
		close(fa);
	if (fb != -1)
		close(fb);
	return ok;
}

/* ---- remove ------------------------------------------------------------ */

static bool
remove_contents(int dfd, const char *path, int depth, cr_err *err)
{
	bool ok = false;
	struct names ns = { NULL, 0 };
	struct stat st;
	char *cp = NULL;
	size_t i;
	int cfd = -1;

	if (depth > CR_TREE_MAX_DEPTH) {
		cr_err_set(err, CR_KIND_IO, "%s is nested more than %d deep",
		    path, CR_TREE_MAX_DEPTH);
		goto out;
	}
	if (!dir_names(dfd, path, &ns, err))
		goto out;
	for (i = 0; i < ns.n; i++) {
		cp = child_path(path, ns.v[i]);
		if (fstatat(dfd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s",
			    cp);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if ((cfd = open_dir_at(dfd, ns.v[i])) == -1) {
				cr_err_errno(err, CR_KIND_IO, errno,
				    "cannot open %s", cp);
				goto out;
			}
			if (!remove_contents(cfd, cp, depth + 1, err))
				goto out;
			close(cfd);
			cfd = -1;
		}
		if (unlinkat(dfd, ns.v[i], S_ISDIR(st.st_mode) ?
		    AT_REMOVEDIR : 0) == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s",
			    cp);
			goto out;
		}
		free(cp);
		cp = NULL;
	}
	ok = true;
out:
	if (cfd != -1)
		close(cfd);
	free(cp);
	names_free(&ns);
	return ok;
}

bool
cr_tree_remove(const char *path, cr_err *err)
{
	bool ok = false;
	struct stat st;
	int fd = -1;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			ok = true;
		else
			cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s",
			    path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) == -1)
			cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s",
			    path);
		else
			ok = true;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s", path);
		goto out;
	}
	if (!remove_contents(fd, path, 0, err))
		goto out;
	if (rmdir(path) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s", path);
		goto out;
	}
	ok = true;
out:
	if (fd != -1)
		close(fd);
	return ok;
}
