/*
 * cr_fs.c (POSIX) - file I/O of cr_fs.h: atomic installs, fsync of
 * directories, mkdir -p (following no symlink or as the path says) and a
 * file's mode and owner.  The tree copy / compare / remove are in
 * cr_fs_tree.c, on the walk of cr_fs_walk.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_fs.h"

/* ---- atomic installs ---------------------------------------------------- */

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
cr_fd_sync_close(int fd, const char *what, cr_err *err)
{
	bool ok = false;

	if (fsync(fd) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fsync %s", what);
		goto out;
	}
	/* checked: a failed close may have lost what was written */
	ok = close(fd) == 0;
	fd = -1;
	if (!ok)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot close %s", what);
out:
	if (fd != -1)
		close(fd);
	return ok;
}

bool
cr_fd_fill_close(int fd, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, const char *what, cr_err *err)
{
	bool ok = false;

	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chown %s", what);
		goto out;
	}
	/* after fchown, which may clear set-id bits; exactly mode, whatever
	 * the umask */
	if (fchmod(fd, mode) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chmod %s", what);
		goto out;
	}
	if (!cr_write_all(fd, data, len)) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot write %s", what);
		goto out;
	}
	ok = true;
out:
	if (!ok)
		close(fd);
	return ok && cr_fd_sync_close(fd, what, err);
}

int
cr_dir_open_at(int dfd, const char *name)
{
	return openat(dfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
	bool filled;
	int fd = -1;

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
	filled = cr_fd_fill_close(fd, data, len, mode, uid, gid, tmp, err);
	fd = -1;
	if (!filled)
		goto out;
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

/* One component of cr_mkdir_p_nofollow: opened (made first when
 * missing) under dfd without following a symlink; -1 with err set. */
static int
nofollow_component(int dfd, const char *name, const char *sofar,
    mode_t mode, cr_err *err)
{
	struct stat st;
	int fd = cr_dir_open_at(dfd, name);

	if (fd == -1 && errno == ENOENT) {
		if (mkdirat(dfd, name, mode) == -1 && errno != EEXIST) {
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot create directory %s", sofar);
			return -1;
		}
		if ((fd = cr_dir_open_at(dfd, name)) != -1 &&
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
