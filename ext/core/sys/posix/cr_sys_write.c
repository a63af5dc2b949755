/*
 * cr_sys_write.c (POSIX) - the writes of the platform seam (see
 * sys/cr_sys_write.h) on POSIX: modes 0600/0700 for private, O_EXCL |
 * O_NOFOLLOW creation, fsync, renameat2(RENAME_EXCHANGE).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_fs.h"
#include "sys/cr_sys_write.h"

static void
exists_detail(cr_err *err, int e)
{
	if (e == EEXIST)
		cr_err_detail_new(err, "exists", json_true());
}

bool
cr_sys_write_new(const char *path, const void *data, size_t len,
    bool private_, cr_err *err)
{
	bool ok = false;
	mode_t mode = private_ ? 0600 : 0644;
	int fd, e;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		e = errno;
		cr_err_errno(err, CR_KIND_IO, e, "cannot create %s", path);
		exists_detail(err, e);
		return false;
	}
	/* not narrowed by the umask */
	ok = cr_fd_fill_close(fd, data, len, mode, (uid_t)-1, (gid_t)-1, path,
	    err);
	if (!ok)
		unlink(path);
	return ok;
}

/* Unlinks path only if it is still the file we created (mine). */
static void
unlink_ours(const char *path, const struct stat *mine)
{
	struct stat now;

	if (lstat(path, &now) == 0 && now.st_dev == mine->st_dev &&
	    now.st_ino == mine->st_ino)
		unlink(path);
}

bool
cr_sys_secret_new(const char *path, const void *data, size_t len,
    unsigned mode, long uid, long gid, cr_err *err)
{
	bool ok = false, created = false, filled;
	char *dir = NULL, *slash;
	struct stat mine;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, (mode_t)mode)) == -1) {
		int saved = errno;
		cr_err_errno(err, CR_KIND_IO, saved, saved == EEXIST ?
		    "refusing to create key %s: something (a file or a "
		    "symlink) is already there" : "cannot create key %s", path);
		return false;
	}
	if (fstat(fd, &mine) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", path);
		unlink(path);	/* just created by us (O_EXCL) */
		goto out;
	}
	created = true;
	filled = cr_fd_fill_close(fd, data, len, (mode_t)mode, (uid_t)uid,
	    (gid_t)gid, path, err);
	fd = -1;
	if (!filled)
		goto out;
	if ((dir = strdup(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for %s", path);
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (!cr_dir_fsync(dir, err))
		goto out;
	ok = true;
out:
	if (fd != -1)
		close(fd);
	if (!ok && created)
		unlink_ours(path, &mine);
	free(dir);
	return ok;
}

bool
cr_sys_install_file(const char *path, const void *data, size_t len,
    bool private_, cr_err *err)
{
	return cr_file_write_atomic(path, data, len, private_ ? 0600 : 0644,
	    (uid_t)-1, (gid_t)-1, err);
}

bool
cr_sys_mkdir(const char *path, bool private_, cr_err *err)
{
	mode_t mode = private_ ? 0700 : 0755;
	int e;

	if (mkdir(path, mode) == -1) {
		e = errno;
		cr_err_errno(err, CR_KIND_IO, e, "cannot create directory %s",
		    path);
		exists_detail(err, e);
		return false;
	}
	if (chmod(path, mode) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot chmod %s", path);
		rmdir(path);
		return false;
	}
	return true;
}

bool
cr_sys_remove(const char *path, cr_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return true;
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", path);
		return false;
	}
	if ((S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s", path);
		cr_err_next(err, "remove %s by hand, then rerun", path);
		return false;
	}
	return true;
}

/* fsync of the directory that holds path. */
static bool
parent_fsync(const char *path, cr_err *err)
{
	char *copy = strdup(path);
	bool ok;

	if (copy == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	ok = cr_dir_fsync(dirname(copy), err);
	free(copy);
	return ok;
}

int
cr_sys_dir_exchange(const char *a, const char *b, cr_err *err)
{
	int r = -1;

	if (renameat2(AT_FDCWD, b, AT_FDCWD, a, RENAME_EXCHANGE) == -1) {
		if (errno == EINVAL || errno == EXDEV || errno == ENOSYS ||
		    errno == ENOTSUP)
			r = 0;	/* not possible here: caller falls back */
		else
			cr_err_errno(err, CR_KIND_IO, errno,
			    "cannot exchange %s and %s", b, a);
	} else {
		/* exchanged: what is live changed even if it is not durable */
		r = parent_fsync(a, err) && parent_fsync(b, err) ? 1 : 2;
	}
	return r;
}

bool
cr_sys_dir_exchange_finish(const char *a, const char *b, bool *finished,
    cr_err *err)
{
	(void)a;
	(void)b;
	(void)err;
	*finished = false;
	return true;
}
