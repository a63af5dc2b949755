/*
 * cr_sys_lock.c (POSIX) - Puppet's lock files by descriptor (O_EXCL,
 * O_NOFOLLOW, fstat's st_dev/st_ino), holders from /proc, our comm via
 * prctl; see sys/cr_sys_lock.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cr_json.h"
#include "sys/cr_sys_lock.h"

int
cr_sys_lock_create(const char *path, const char *data, size_t len,
    struct cr_sys_file_id *id, cr_err *err)
{
	int r = -1;
	struct stat st;
	size_t off = 0;
	ssize_t w;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		if (errno == EEXIST)
			return 0;
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create lock %s", path);
		return -1;
	}
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w == -1 ? errno : EIO;
			cr_err_errno(err, CR_KIND_IO, e, "cannot write lock %s", path);
			goto out;
		}
		off += (size_t)w;
	}
	if (fstat(fd, &st) != 0) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat lock %s", path);
		goto out;
	}
	id->dev = (unsigned long long)st.st_dev;
	id->ino = (unsigned long long)st.st_ino;
	r = 1;
out:
	if (close(fd) != 0 && r == 1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot write lock %s", path);
		r = -1;
	}
	if (r == -1)
		unlink(path);
	return r;
}

int
cr_sys_lock_read(const char *path, char *buf, size_t cap, size_t *len,
    struct cr_sys_file_id *id, time_t *mtime, cr_err *err)
{
	int r = -1;
	struct stat st;
	size_t n = 0;
	ssize_t got;
	int fd, e;

	*len = 0;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if ((e = errno) == ENOENT) {
			r = 0;
		} else if (err != NULL && !err->set) {
			cr_err_errno(err, CR_KIND_IO, e, e == ELOOP ?
			    "lock %s is a symbolic link; refusing to follow it" :
			    "cannot read lock %s", path);
			cr_err_detail_new(err, "path", cr_json_str(path));
		}
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (err != NULL && !err->set) {
			cr_err_set(err, CR_KIND_IO, "lock %s is not a regular file",
			    path);
			cr_err_detail_new(err, "path", cr_json_str(path));
		}
		goto out;
	}
	while (n + 1 < cap) {
		got = read(fd, buf + n, cap - 1 - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*len = n;
	id->dev = (unsigned long long)st.st_dev;
	id->ino = (unsigned long long)st.st_ino;
	*mtime = st.st_mtime;
	r = 1;
out:
	if (fd != -1)
		close(fd);
	return r;
}

bool
cr_sys_lock_remove_if(const char *path, const struct cr_sys_file_id *id,
    cr_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return true;
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat lock %s", path);
		return false;
	}
	if ((unsigned long long)st.st_dev != id->dev ||
	    (unsigned long long)st.st_ino != id->ino)
		return true;	/* replaced meanwhile: judge again */
	if (unlink(path) != 0 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno,
		    "cannot remove stale lock %s", path);
		return false;
	}
	return true;
}

/* Reads up to cap-1 bytes of a small file; returns the length or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t cap)
{
	ssize_t n = -1, r;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	while (len + 1 < cap) {
		r = read(fd, buf + len, cap - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	n = (ssize_t)len;
out:
	close(fd);
	return n;
}

bool
cr_sys_proc_identify(unsigned long pid, char *comm, size_t commlen,
    char *args, size_t argslen)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%lu/comm", pid);
	if ((n = read_small(path, comm, commlen)) <= 0)
		return false;
	if (comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	snprintf(path, sizeof(path), "/proc/%lu/cmdline", pid);
	if ((n = read_small(path, args, argslen)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (args[i] == '\0')
				args[i] = ' ';
		while (n > 0 && args[n - 1] == ' ')
			args[--n] = '\0';
	}
	return true;
}

bool
cr_sys_proc_name_get(char *buf, size_t len)
{
	char name[17] = { 0 };

	if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0)
		return false;
	snprintf(buf, len, "%s", name);
	return true;
}

void
cr_sys_proc_name_set(const char *name)
{
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

unsigned long
cr_sys_getpid(void)
{
	return (unsigned long)getpid();
}

void
cr_sys_sleep_ms(long ms)
{
	poll(NULL, 0, (int)ms);
}

long
cr_sys_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
