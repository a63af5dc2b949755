/*
 * cr_service_detach.c (POSIX) - cr_service.h's process side: whether
 * pxp-agent started this task (/proc's ppid chain) and the detached
 * restart (double fork, setsid, syslog).  The Windows side is in
 * sys/win32/cr_service_detach.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "cr_service.h"
#include "sys/cr_sys_proc.h"

#define ANCESTORS_MAX 64

/* comm and ppid from /proc/<pid>/stat: "pid (comm) state ppid ...". */
static bool
proc_stat(pid_t pid, char *comm, size_t len, pid_t *ppid)
{
	char path[64], buf[512], *open_p, *close_p;
	ssize_t n;
	size_t clen;
	int fd, pp;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	if ((open_p = strchr(buf, '(')) == NULL ||
	    (close_p = strrchr(buf, ')')) == NULL || close_p < open_p)
		goto out;
	if (sscanf(close_p + 1, " %*c %d", &pp) != 1)
		goto out;
	clen = (size_t)(close_p - open_p - 1);
	if (clen >= len)
		clen = len - 1;
	memcpy(comm, open_p + 1, clen);
	comm[clen] = '\0';
	*ppid = (pid_t)pp;
	ok = true;
out:
	close(fd);
	return ok;
}

bool
cr_under_pxp_agent(void)
{
	char comm[64];
	pid_t pid = getppid(), ppid;
	int i;

	for (i = 0; i < ANCESTORS_MAX && pid > 0; i++) {
		if (!proc_stat(pid, comm, sizeof(comm), &ppid))
			return false;
		if (strcmp(comm, "pxp-agent") == 0)
			return true;
		if (pid == 1)
			break;
		pid = ppid;
	}
	return false;
}

/* The grandchild: no stdio, no inherited descriptors, its own session. */
static void
detach_io(void)
{
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	closefrom(3);
#else
	for (fd = 3; fd < 65536; fd++)
		close(fd);
#endif
	if (chdir("/") != 0) {
		/* nothing to do: the restart does not depend on the cwd */
	}
}

void
cr_sys_log(bool error, const char *text)
{
	openlog("cert_regen", LOG_PID, LOG_DAEMON);
	syslog(error ? LOG_ERR : LOG_NOTICE, "%s", text);
	closelog();
}

static void
detached_restart(const char *name, unsigned delay_s)
{
	prctl(PR_SET_NAME, "cert_regen", 0, 0, 0);	/* not CR_LOCK_COMM */
	detach_io();
	_exit(cr_service_restart_logged(name, delay_s) ? 0 : 1);
}

bool
cr_restart_detached(const char *name, unsigned delay_s, cr_err *err)
{
	pid_t pid, r, p2;
	int status = 0;
	bool ok = false;

	if (!cr_service_name_valid(name)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "invalid service name '%s'", name ? name : "");
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot fork to restart %s", name);
		goto out;
	}
	if (pid == 0) {
		if (setsid() == -1)
			_exit(1);
		p2 = fork();
		if (p2 == 0)
			detached_restart(name, delay_s);
		_exit(p2 == -1 ? 1 : 0);
	}
	do
		r = waitpid(pid, &status, 0);
	while (r == -1 && errno == EINTR);
	if (r == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cr_err_set(err, CR_KIND_IO, "cannot start a detached process to "
		    "restart %s", name);
		goto out;
	}
	ok = true;
out:
	return ok;
}
