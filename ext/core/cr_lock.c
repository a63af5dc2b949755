/*
 * cr_lock.c - Puppet-compatible pid lock files (see cr_lock.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cr_fs.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_swap.h"
#include "sys/cr_sys_proc.h"

#define LOCK_POLL_MIN_MS 50
#define LOCK_POLL_MAX_MS 500
#define LOCK_DATA_MAX 64		/* a PID, maybe with whitespace */
#define HOLDER_ARGS_MAX 1024
#define DISABLED_MAX ((size_t)64 << 10)

struct cr_lock {
	char *path;
	pid_t pid;		/* the process that created it */
	dev_t dev;
	ino_t ino;
};

/* What is in a lock file we could not create. */
struct holder {
	bool pid_valid;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	time_t mtime;
	bool alive;		/* kill(pid, 0) did not say ESRCH */
	bool known;		/* comm could be read */
	char comm[32];
	char args[HOLDER_ARGS_MAX];
};

enum verdict { V_HELD, V_STALE, V_MINE };
enum attempt { A_CREATED, A_EXISTS, A_GONE, A_ERROR };

/* Our comm is CR_LOCK_COMM while name_refs > 0. */
static int name_refs;
static char saved_comm[17];

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
name_hold(void)
{
	if (name_refs++ == 0) {
		memset(saved_comm, 0, sizeof(saved_comm));
		if (prctl(PR_GET_NAME, saved_comm, 0, 0, 0) != 0)
			saved_comm[0] = '\0';
		prctl(PR_SET_NAME, CR_LOCK_COMM, 0, 0, 0);
	}
}

static void
name_drop(void)
{
	if (name_refs > 0 && --name_refs == 0 && saved_comm[0] != '\0')
		prctl(PR_SET_NAME, saved_comm, 0, 0, 0);
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

/* Ruby's Integer() on what Puppet writes: optional blanks, decimal digits. */
static bool
parse_pid(const char *s, pid_t *pid)
{
	long long v = 0;
	bool digits = false;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		digits = true;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return false;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!digits || *s != '\0' || v <= 0)
		return false;
	*pid = (pid_t)v;
	return true;
}

/* comm and command line (NULs as spaces) of a live process, from /proc. */
static void
holder_identify(struct holder *h)
{
	char path[64];
	ssize_t n;

	h->alive = cr_sys_pid_alive((unsigned long)h->pid);
	if (!h->alive)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)h->pid);
	if ((n = read_small(path, h->comm, sizeof(h->comm))) <= 0)
		return;
	if (h->comm[n - 1] == '\n')
		h->comm[n - 1] = '\0';
	h->known = true;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)h->pid);
	if ((n = read_small(path, h->args, sizeof(h->args))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (h->args[i] == '\0')
				h->args[i] = ' ';
		while (n > 0 && h->args[n - 1] == ' ')
			h->args[--n] = '\0';
	}
}

/* Puppet's test: comm =~ /ruby/ && args =~ /puppet/ || comm =~ /puppet(-.*)?$/;
 * plus our own name. */
static bool
holder_is_puppet(const struct holder *h)
{
	const char *p;

	if (strstr(h->comm, "ruby") != NULL && strstr(h->args, "puppet") != NULL)
		return true;
	for (p = h->comm; (p = strstr(p, "puppet")) != NULL; p++)
		if (p[6] == '\0' || p[6] == '-')
			return true;
	return strncmp(h->comm, "cert_regen", 10) == 0;
}

static enum verdict
judge(const struct holder *h)
{
	if (!h->pid_valid)
		return time(NULL) - h->mtime >= CR_LOCK_GARBAGE_GRACE_S ?
		    V_STALE : V_HELD;
	if (h->pid == getpid())
		return V_MINE;
	if (!h->alive)
		return V_STALE;
	if (!h->known)		/* alive but /proc hidden from us: keep it */
		return V_HELD;
	return holder_is_puppet(h) ? V_HELD : V_STALE;
}

/* O_EXCL create + our PID, as Puppet's Lockfile#lock writes it. */
static enum attempt
try_create(const char *path, struct cr_lock *l, cr_err *err)
{
	enum attempt a = A_ERROR;
	char data[32];
	struct stat st;
	size_t len, off = 0;
	ssize_t w;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		if (errno == EEXIST)
			return A_EXISTS;
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create lock %s", path);
		return A_ERROR;
	}
	len = (size_t)snprintf(data, sizeof(data), "%d", (int)l->pid);
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
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	a = A_CREATED;
out:
	if (close(fd) != 0 && a == A_CREATED) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot write lock %s", path);
		a = A_ERROR;
	}
	if (a == A_ERROR)
		unlink(path);
	return a;
}

/* Reads an existing lock; A_GONE if it vanished meanwhile. */
static enum attempt
inspect(const char *path, struct holder *h, cr_err *err)
{
	enum attempt a = A_ERROR;
	char data[LOCK_DATA_MAX + 1];
	struct stat st;
	ssize_t n = 0, r;
	int fd, e;

	memset(h, 0, sizeof(*h));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if ((e = errno) == ENOENT) {
			a = A_GONE;
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
	while ((size_t)n < LOCK_DATA_MAX) {
		r = read(fd, data + n, LOCK_DATA_MAX - (size_t)n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	data[n] = '\0';
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->mtime = st.st_mtime;
	h->pid_valid = strlen(data) == (size_t)n && parse_pid(data, &h->pid);
	if (h->pid_valid)
		holder_identify(h);
	a = A_EXISTS;
out:
	if (fd != -1)
		close(fd);
	return a;
}

/* Unlinks path only if it still is the inode we judged stale. */
static bool
remove_stale(const char *path, const struct holder *h, cr_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return true;
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat lock %s", path);
		return false;
	}
	if (st.st_dev != h->dev || st.st_ino != h->ino)
		return true;	/* replaced meanwhile: judge again */
	if (unlink(path) != 0 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno,
		    "cannot remove stale lock %s", path);
		return false;
	}
	return true;
}

static void
set_locked_error(cr_err *err, const char *path, const struct holder *h,
    long timeout_ms)
{
	const char *who = h->args[0] ? h->args : h->comm[0] ? h->comm : "?";

	if (err == NULL || err->set)
		return;
	if (h->pid_valid)
		cr_err_set(err, CR_KIND_LOCKED, "%s is held by process %d (%s) "
		    "after waiting %ld ms: a puppet agent run (or another "
		    "cert_regen) is in progress. Wait for it to finish and retry, "
		    "or run `puppet agent --disable \"certificate regeneration\"`, "
		    "wait for the current run to end, retry, then `puppet agent "
		    "--enable`", path, (int)h->pid, who, timeout_ms);
	else
		cr_err_set(err, CR_KIND_LOCKED, "%s is being written by another "
		    "process (no PID in it yet) after waiting %ld ms; retry, or "
		    "remove it if no puppet process is running", path, timeout_ms);
	cr_err_detail_new(err, "path", cr_json_str(path));
	cr_err_detail_new(err, "pid", h->pid_valid ? json_integer(h->pid) : json_null());
	cr_err_detail_new(err, "holder", h->args[0] ? cr_json_str(h->args) : json_null());
	cr_err_detail_new(err, "holder_comm", h->comm[0] ? cr_json_str(h->comm) : json_null());
	cr_err_detail_new(err, "timeout_ms", json_integer(timeout_ms));
}

cr_lock *
cr_lock_acquire(const char *path, long timeout_ms, cr_err *err)
{
	struct cr_lock *l = NULL, *ret = NULL;
	struct holder h;
	long deadline, left, pause = LOCK_POLL_MIN_MS;
	bool named = false;
	enum attempt a;

	if (path == NULL || path[0] == '\0' || timeout_ms < 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_lock_acquire: a lock path and a timeout >= 0 are needed");
		goto out;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->path = strdup(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	l->pid = getpid();
	deadline = now_ms() + timeout_ms;
	name_hold();		/* before the file exists: Puppet must see a puppet */
	named = true;
	for (;;) {
		if ((a = try_create(path, l, err)) == A_CREATED)
			break;
		if (a == A_ERROR || (a = inspect(path, &h, err)) == A_ERROR)
			goto out;
		if (a == A_GONE)
			continue;
		switch (judge(&h)) {
		case V_MINE:	/* Puppet's `mine?`: same PID, it is ours */
			l->dev = h.dev;
			l->ino = h.ino;
			goto got;
		case V_STALE:
			if (!remove_stale(path, &h, err))
				goto out;
			continue;
		case V_HELD:
			break;
		}
		if ((left = deadline - now_ms()) <= 0) {
			set_locked_error(err, path, &h, timeout_ms);
			goto out;
		}
		poll(NULL, 0, (int)(pause < left ? pause : left));
		if ((pause *= 2) > LOCK_POLL_MAX_MS)
			pause = LOCK_POLL_MAX_MS;
	}
got:
	ret = l;
	l = NULL;
out:
	if (ret == NULL && named)
		name_drop();
	if (l != NULL)
		free(l->path);
	free(l);
	return ret;
}

void
cr_lock_release(cr_lock *l)
{
	char data[LOCK_DATA_MAX + 1];
	struct stat st;
	pid_t pid;
	int fd;
	ssize_t n;

	if (l == NULL)
		return;
	if (l->pid != getpid())		/* a forked child: not ours to remove */
		goto out;
	name_drop();
	fd = open(l->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		goto out;
	n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_dev == l->dev && st.st_ino == l->ino ?
	    read(fd, data, LOCK_DATA_MAX) : -1;
	close(fd);
	if (n < 0)
		goto out;
	data[n] = '\0';
	if (strlen(data) == (size_t)n && parse_pid(data, &pid) && pid == l->pid)
		unlink(l->path);
out:
	free(l->path);
	free(l);
}

const char *
cr_lock_path(const cr_lock *l)
{
	return l != NULL ? l->path : NULL;
}

bool
cr_agent_disabled(const char *path, bool *disabled, char **message_out,
    cr_err *err)
{
	bool ok = false;
	char *buf = NULL;
	json_t *j = NULL, *m;
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd = -1;

	*disabled = false;
	*message_out = NULL;
	if (stat(path, &st) != 0) {	/* File.exist? follows symlinks */
		if (errno != ENOENT && errno != ENOTDIR) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", path);
			goto out;
		}
		ok = true;
		goto out;
	}
	*disabled = true;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) != 0) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot read %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > DISABLED_MAX) {
		ok = true;	/* exists, but no message we would read */
		goto out;
	}
	if ((buf = malloc(DISABLED_MAX + 1)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	while (len < DISABLED_MAX) {
		r = read(fd, buf + len, DISABLED_MAX - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot read %s", path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	j = json_loadb(buf, len, 0, NULL);
	if (json_is_object(j) &&
	    json_is_string(m = json_object_get(j, "disabled_message")) &&
	    (*message_out = strdup(json_string_value(m))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = true;
out:
	if (fd != -1)
		close(fd);
	json_decref(j);
	free(buf);
	return ok;
}

/*
 * A copy of the ssldir made while this process holds Puppet's ssl_lockfile
 * carries that lock file: drop it from the copy.  A lock is not part of
 * the identity, and the copy would outlive this process as a lock nobody
 * holds (in the new live ssldir, or put back from the backup later).
 */
bool
cr_lock_drop_copy(const cr_settings *set, const char *copy, cr_err *err)
{
	const char *rel;
	char *path = NULL;
	bool ok = true;
	cr_err e;

	cr_err_init(&e);
	/* a lockfile outside the ssldir is not in the copy */
	rel = cr_swap_relative(cr_settings_get(set, "ssldir"),
	    cr_settings_get(set, "ssl_lockfile"), "ssl_lockfile", &e);
	if (rel != NULL && (path = cr_path_join(copy, rel)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		ok = false;
	} else if (path != NULL && unlink(path) == -1 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s", path);
		ok = false;
	}
	cr_err_clear(&e);
	free(path);
	return ok;
}

/* Takes Puppet's agent run lock and SSL lock, as a puppet run does
 * (their directories are created the way Puppet creates them on a first
 * run). timeout_ms < 0: CR_LOCK_PAIR_TIMEOUT_MS. */
bool
cr_lock_pair(const cr_settings *set, long timeout_ms, cr_lock **locks,
    cr_err *err)
{
	const char *paths[2];
	char *dir = NULL;
	long t = timeout_ms >= 0 ? timeout_ms : CR_LOCK_PAIR_TIMEOUT_MS;
	bool ok = false;
	int i;

	paths[0] = cr_settings_get(set, "agent_catalog_run_lockfile");
	paths[1] = cr_settings_get(set, "ssl_lockfile");
	for (i = 0; i < 2; i++) {
		free(dir);
		dir = NULL;
		if (paths[i] == NULL || (dir = strdup(paths[i])) == NULL) {
			cr_err_set(err, CR_KIND_SETTINGS, "no lock file setting");
			goto out;
		}
		if (!cr_mkdir_p(dirname(dir), 0755, err) ||
		    (locks[i] = cr_lock_acquire(paths[i], t, err)) == NULL) {
			if (cr_err_is(err, CR_KIND_LOCKED))
				cr_err_next(err, "a puppet run holds the lock: "
				    "wait for it to finish (or stop it), then "
				    "run the task again");
			goto out;
		}
	}
	ok = true;
out:
	free(dir);
	return ok;
}
