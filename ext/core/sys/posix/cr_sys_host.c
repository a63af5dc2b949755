/*
 * cr_sys_host.c (POSIX) - host names and home directories for the
 * settings resolver (see sys/cr_sys_host.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "cr_fs_read.h"
#include "sys/cr_sys_host.h"
#include "sys/cr_sys_proc.h"

#define RESOLV_CONF_MAX ((size_t)64 << 10)

/* The first `domain`, else the first `search` entry of resolv.conf. */
static char *
resolv_domain(void)
{
	static const char *const keys[] = { "domain", "search" };
	char *text = NULL, *out = NULL, *line, *save = NULL, *tok, *copy;
	size_t len, k;
	cr_err e;

	cr_err_init(&e);
	if (!cr_file_read("/etc/resolv.conf", RESOLV_CONF_MAX, &text, &len, &e))
		goto out;
	for (k = 0; k < 2 && out == NULL; k++) {
		if ((copy = strdup(text)) == NULL)
			goto out;
		for (line = strtok_r(copy, "\n", &save); line != NULL && out == NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, keys[k], strlen(keys[k])) != 0 ||
			    !isspace((unsigned char)line[strlen(keys[k])]))
				continue;
			tok = line + strlen(keys[k]);
			tok += strspn(tok, " \t");
			tok[strcspn(tok, " \t\r")] = '\0';
			if (*tok != '\0')
				out = strdup(tok);
		}
		free(copy);
	}
out:
	free(text);
	cr_err_clear(&e);
	return out;
}

bool
cr_sys_windows(void)
{
	return false;
}

bool
cr_sys_privileged(void)
{
	return getuid() == 0;
}

bool
cr_sys_host_names(char **hostp, char **domainp, cr_err *err)
{
	char host[HOST_NAME_MAX + 1], *dot, *domain = NULL;
	struct addrinfo hints, *ai = NULL;
	bool ok = false;

	*hostp = NULL;
	*domainp = NULL;
	if (gethostname(host, sizeof(host)) != 0) {
		cr_err_errno(err, CR_KIND_SETTINGS, errno, "gethostname");
		goto out;
	}
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL) {
		*dot = '\0';
		domain = strdup(dot + 1);
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_CANONNAME;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai != NULL &&
		    ai->ai_canonname != NULL &&
		    (dot = strchr(ai->ai_canonname, '.')) != NULL)
			domain = strdup(dot + 1);
		else
			domain = resolv_domain();
	}
	if ((*hostp = strdup(host)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
		goto out;
	}
	*domainp = domain;
	domain = NULL;
	ok = true;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	free(domain);
	return ok;
}

char *
cr_sys_home_of(const char *user, size_t ulen)
{
	struct passwd *pw = NULL;
	char name[256];

	if (ulen == 0)
		pw = getpwuid(getuid());
	else if (ulen < sizeof(name)) {
		memcpy(name, user, ulen);
		name[ulen] = '\0';
		pw = getpwnam(name);
	}
	return pw != NULL && pw->pw_dir != NULL ? strdup(pw->pw_dir) : NULL;
}

bool
cr_sys_pid_alive(unsigned long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

static bool
no_scm(const char *name, cr_err *err)
{
	cr_err_set(err, CR_KIND_UNSUPPORTED_PLATFORM, "there is no Service "
	    "Control Manager here (service %s): cr_service.c drives systemd "
	    "or SysV init on this platform", name);
	return false;
}

bool
cr_sys_service_query(const char *name, enum cr_sys_svc *state, cr_err *err)
{
	*state = CR_SYS_SVC_ABSENT;
	return no_scm(name, err);
}

bool
cr_sys_service_stop(const char *name, unsigned timeout_ms, cr_err *err)
{
	(void)timeout_ms;
	return no_scm(name, err);
}

bool
cr_sys_service_start(const char *name, unsigned timeout_ms, cr_err *err)
{
	(void)timeout_ms;
	return no_scm(name, err);
}
