/*
 * cr_proc.c - run a program, capture bounded output, enforce a timeout
 * (see cr_proc.h).  posix_spawn with an argv array: no shell ever parses
 * anything, so no value can become a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cr_proc.h"

extern char **environ;

#define PROC_CHUNK 4096
#define PROC_POLL_MS 20

struct capture {
	int fd;
	char *buf;
	size_t len, cap, max;
	bool truncated;
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* Appends what fits under c->max; the rest is dropped (and noted). */
static bool
capture_add(struct capture *c, const char *data, size_t n)
{
	size_t take = n, want;
	char *nb;

	if (c->len + take > c->max) {
		take = c->max - c->len;
		c->truncated = true;
	}
	if (c->len + take + 1 > c->cap) {
		want = c->cap ? c->cap : PROC_CHUNK;
		while (want < c->len + take + 1)
			want *= 2;
		if (want > c->max + 1)
			want = c->max + 1;
		if ((nb = realloc(c->buf, want)) == NULL)
			return false;
		c->buf = nb;
		c->cap = want;
	}
	memcpy(c->buf + c->len, data, take);
	c->len += take;
	c->buf[c->len] = '\0';
	return true;
}

/* One read from a ready pipe; closes it at EOF or on error. */
static bool
capture_read(struct capture *c, cr_err *err)
{
	char chunk[PROC_CHUNK];
	ssize_t n;

	n = read(c->fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		close_fd(&c->fd);
		return true;
	}
	if (!capture_add(c, chunk, (size_t)n)) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for a child's output");
		return false;
	}
	return true;
}

/* waitpid that retries on EINTR; 0 while the child still runs. */
static pid_t
reap(pid_t pid, int *status, bool block)
{
	pid_t r;

	do
		r = waitpid(pid, status, block ? 0 : WNOHANG);
	while (r == -1 && errno == EINTR);
	return r;
}

/* SIGTERM to the child's group, SIGKILL after grace_ms, then reap. */
static pid_t
stop_child(pid_t pid, int grace_ms, int *status)
{
	long until = now_ms() + grace_ms;
	pid_t r;

	kill(-pid, SIGTERM);
	while ((r = reap(pid, status, false)) == 0 && now_ms() < until)
		poll(NULL, 0, PROC_POLL_MS);
	if (r == 0) {
		kill(-pid, SIGKILL);
		r = reap(pid, status, true);
	}
	return r;
}

static int
remaining_ms(long deadline)
{
	long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* stdin from /dev/null, stdout/stderr to our pipes, nothing else open. */
static bool
spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
    int out_w, int err_w, cr_err *err)
{
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, out_w, 1)) != 0 ||
	    (rc = err_w != -1 ? posix_spawn_file_actions_adddup2(fa, err_w, 2) :
	    posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0)) != 0 ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	    (rc = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0 ||
#endif
	    (rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(at, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(at, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(at, &all)) != 0) {
		cr_err_errno(err, CR_KIND_INTERNAL, rc, "cannot prepare posix_spawn");
		return false;
	}
	return true;
}

/* Reads both pipes until EOF or the deadline; true = deadline passed. */
static bool
pump(struct capture *out, struct capture *er, long deadline, cr_err *err,
    bool *failed)
{
	struct pollfd pf[2];
	nfds_t n;
	int r;

	*failed = false;
	while (out->fd != -1 || er->fd != -1) {
		n = 0;
		if (out->fd != -1)
			pf[n++] = (struct pollfd){ .fd = out->fd, .events = POLLIN };
		if (er->fd != -1)
			pf[n++] = (struct pollfd){ .fd = er->fd, .events = POLLIN };
		r = poll(pf, n, remaining_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "poll on a child's output");
			*failed = true;
			return false;
		}
		if (r == 0)
			return true;
		for (nfds_t i = 0; i < n; i++) {
			struct capture *c = pf[i].fd == out->fd ? out : er;

			if (pf[i].revents == 0)
				continue;
			if (!capture_read(c, err)) {
				*failed = true;
				return false;
			}
		}
	}
	return false;
}

bool
cr_proc_run(const struct cr_proc_opts *o, struct cr_proc_result *res,
    cr_err *err)
{
	bool ok = false, fa_init = false, at_init = false, late, failed;
	struct capture out = { .fd = -1 }, er = { .fd = -1 };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid = -1, r = 0;
	int rc, status = 0, grace;
	long start = now_ms(), deadline;

	memset(res, 0, sizeof(*res));
	if (o == NULL || o->argv == NULL || o->argv[0] == NULL ||
	    o->max_out > CR_PROC_OUT_MAX || o->max_err > CR_PROC_OUT_MAX) {
		cr_err_set(err, CR_KIND_INTERNAL, "cr_proc_run: bad arguments");
		goto out;
	}
	grace = o->kill_grace_ms > 0 ? o->kill_grace_ms : 2000;
	deadline = o->timeout_ms > 0 ? start + o->timeout_ms : -1;
	out.max = o->max_out;
	er.max = o->max_err;
	if (pipe2(outp, O_CLOEXEC) == -1 ||
	    (o->max_err > 0 && pipe2(errp, O_CLOEXEC) == -1)) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot create a pipe");
		goto out;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		cr_err_errno(err, CR_KIND_INTERNAL, rc, "cannot prepare posix_spawn");
		goto out;
	}
	fa_init = true;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		cr_err_errno(err, CR_KIND_INTERNAL, rc, "cannot prepare posix_spawn");
		goto out;
	}
	at_init = true;
	if (!spawn_setup(&fa, &at, outp[1], errp[1], err))
		goto out;
	rc = posix_spawnp(&pid, o->argv[0], &fa, &at, (char *const *)o->argv,
	    o->envp != NULL ? (char *const *)o->envp : environ);
	if (rc != 0) {
		pid = -1;
		cr_err_errno(err, CR_KIND_IO, rc, "cannot run %s", o->argv[0]);
		cr_err_detail_new(err, "errno", json_integer(rc));
		goto out;
	}
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	out.fd = outp[0];
	er.fd = errp[0];
	outp[0] = errp[0] = -1;

	late = pump(&out, &er, deadline, err, &failed);
	while (!late && !failed && (r = reap(pid, &status, false)) == 0) {
		/* output closed, child still running (or a grandchild holds it) */
		if (deadline >= 0 && now_ms() >= deadline)
			late = true;
		else
			poll(NULL, 0, PROC_POLL_MS);
	}
	if (late || failed) {
		r = stop_child(pid, grace, &status);
		res->timed_out = late;
	}
	if (r == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot wait for %s", o->argv[0]);
		goto out;
	}
	pid = -1;
	if (failed)
		goto out;
	res->exited = WIFEXITED(status);
	res->exit_code = res->exited ? WEXITSTATUS(status) : -1;
	res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	res->elapsed_ms = now_ms() - start;
	if (!capture_add(&out, "", 0) || (o->max_err > 0 && !capture_add(&er, "", 0))) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory for a child's output");
		goto out;
	}
	res->out = out.buf;
	res->out_len = out.len;
	res->out_truncated = out.truncated;
	res->err = er.buf;
	res->err_len = er.len;
	res->err_truncated = er.truncated;
	out.buf = er.buf = NULL;
	ok = true;
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		reap(pid, &status, true);
	}
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&out.fd);
	close_fd(&er.fd);
	free(out.buf);
	free(er.buf);
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (at_init)
		posix_spawnattr_destroy(&at);
	if (!ok)
		cr_proc_result_free(res);
	return ok;
}
