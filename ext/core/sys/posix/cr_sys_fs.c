/*
 * cr_sys_fs.c (POSIX) - the file-system reads of the platform seam
 * (see sys/cr_sys_fs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_int.h"

bool
cr_sys_path_absolute(const char *path)
{
	return path[0] == '/';
}

static enum cr_sys_ftype
ftype_of(mode_t m)
{
	if (S_ISREG(m))
		return CR_SYS_FILE;
	if (S_ISDIR(m))
		return CR_SYS_DIR;
	if (S_ISLNK(m))
		return CR_SYS_LINK;
	if (S_ISFIFO(m))
		return CR_SYS_FIFO;
	if (S_ISSOCK(m))
		return CR_SYS_SOCKET;
	if (S_ISCHR(m) || S_ISBLK(m))
		return CR_SYS_DEVICE;
	return CR_SYS_OTHER;
}

static void
fill_stat(const struct stat *sb, struct cr_sys_stat *st)
{
	st->type = ftype_of(sb->st_mode);
	st->size = (unsigned long long)sb->st_size;
	st->mode = (unsigned int)(sb->st_mode & 07777);
	snprintf(st->owner, sizeof(st->owner), "%lu", (unsigned long)sb->st_uid);
	snprintf(st->group, sizeof(st->group), "%lu", (unsigned long)sb->st_gid);
	st->owned_by_me = sb->st_uid == geteuid();
	st->private_access = (sb->st_mode & 077) == 0;
}

/* cr_sys_read_chunk_fn over a file descriptor. */
static long long
fd_read(void *h, char *dst, size_t want, const char *path, cr_err *err)
{
	ssize_t n;

	do
		n = read(*(int *)h, dst, want);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot read %s", path);
	return (long long)n;
}

bool
cr_sys_read_file(const char *path, size_t max, unsigned flags, char **buf,
    size_t *len, cr_err *err)
{
	bool ok = false;
	int fd = -1, saved;
	struct stat st;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO planted at path must not block the open (nor a
	 * read); what is opened must be a regular file. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    ((flags & CR_SYS_NOFOLLOW) ? O_NOFOLLOW : 0))) == -1) {
		saved = errno;
		if (saved == ELOOP && (flags & CR_SYS_NOFOLLOW)) {
			cr_err_set(err, CR_KIND_PATH_SYMLINK, "%s is a symlink "
			    "where a file is expected: replace it with the file "
			    "it points to", path);
			cr_err_detail_new(err, "path", json_string(path));
			goto out;
		}
		cr_err_errno(err, CR_KIND_IO, saved, "cannot open %s", path);
		if (saved == ENOENT || saved == ENOTDIR)
			cr_err_detail_new(err, "missing", json_true());
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cr_err_set(err, CR_KIND_IO, "%s is not a regular file (a %s): "
		    "replace it with the file it should be", path,
		    S_ISFIFO(st.st_mode) ? "FIFO" : S_ISDIR(st.st_mode) ?
		    "directory" : S_ISSOCK(st.st_mode) ? "socket" :
		    "device or other special file");
		goto out;
	}
	ok = cr_sys_read_bounded(&fd, fd_read, path,
	    (unsigned long long)st.st_size, max, buf, len, err);
out:
	if (fd != -1)
		close(fd);
	return ok;
}

int
cr_sys_stat(const char *path, unsigned flags, struct cr_sys_stat *st,
    cr_err *err)
{
	struct stat sb;
	int r;

	memset(st, 0, sizeof(*st));
	r = (flags & CR_SYS_NOFOLLOW) ? lstat(path, &sb) : stat(path, &sb);
	if (r == 0) {
		fill_stat(&sb, st);
		return 1;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	r = errno;
	cr_err_errno(err, CR_KIND_IO, r, "cannot stat %s", path);
	errno = r;	/* kept for callers of cr_path_exists */
	return -1;
}

/* The names of the open directory stream d (closed here); ENOENT at the
 * open is the caller's. */
static bool
list_stream(DIR *d, const char *path, size_t max, char ***names,
    size_t *count, cr_err *err)
{
	bool ok = false;
	struct dirent *de;
	struct cr_sys_names ns = { 0 };

	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!cr_sys_names_add(&ns, strdup(de->d_name), path, max, err))
			goto out;
	}
	if (errno != 0) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot list %s", path);
		goto out;
	}
	cr_sys_names_finish(&ns, names, count);
	ok = true;
out:
	cr_sys_names_free(ns.v, ns.n);
	closedir(d);
	return ok;
}

bool
cr_sys_list_dir(const char *path, size_t max, char ***names, size_t *count,
    cr_err *err)
{
	bool ok = false;
	DIR *d;

	*names = NULL;
	*count = 0;
	if ((d = opendir(path)) == NULL) {
		int saved = errno;
		cr_err_errno(err, CR_KIND_IO, saved, "cannot list %s", path);
		if (saved == ENOENT)
			cr_err_detail_new(err, "missing", json_true());
		goto out;
	}
	ok = list_stream(d, path, max, names, count, err);
out:
	return ok;
}

bool
cr_sys_list_dir_at(int dfd, const char *path, size_t max, char ***names,
    size_t *count, cr_err *err)
{
	bool ok = false;
	DIR *d = NULL;
	int fd;

	*names = NULL;
	*count = 0;
	/* a dup, so that closedir leaves dfd open to its caller */
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot list %s", path);
		if (fd != -1)
			close(fd);
		goto out;
	}
	rewinddir(d);	/* a dup shares the offset of an earlier listing */
	ok = list_stream(d, path, max, names, count, err);
out:
	return ok;
}

char *
cr_sys_readlink(const char *path)
{
	char link[PATH_MAX];
	ssize_t n;

	if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
		return NULL;
	link[n] = '\0';
	return strdup(link);
}

char *
cr_sys_realpath(const char *path)
{
	return realpath(path, NULL);
}
