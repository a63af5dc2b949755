/*
 * cr_certname.c - default certname and the puppet executable (see
 * cr_certname.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "cr_certname.h"
#include "cr_fs.h"
#include "cr_proc.h"

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

/* Settings.default_certname with Facter's hostname and domain facts. */
char *
cr_certname_from_hostname(cr_err *err)
{
	char host[HOST_NAME_MAX + 1], *dot, *domain = NULL, *out = NULL;
	struct addrinfo hints, *ai = NULL;
	size_t n;

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
	if (domain != NULL && *domain != '\0')
		n = (size_t)asprintf(&out, "%s.%s", host, domain);
	else
		n = (size_t)asprintf(&out, "%s", host);
	if (n == (size_t)-1) {
		out = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "out of memory resolving settings");
		goto out;
	}
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
	for (dot = out; *dot != '\0'; dot++)
		*dot = (char)tolower((unsigned char)*dot);
	if (n == 0 || n > CR_CERTNAME_MAX) {
		cr_err_set(err, CR_KIND_SETTINGS,
		    "cannot work out a default certname from the hostname");
		free(out);
		out = NULL;
	}
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	free(domain);
	return out;
}

const char *
cr_puppet_find(enum cr_packaging pkg, const char *explicit_bin)
{
	static const char *const aio[] = {
		"/opt/puppetlabs/bin/puppet", "/opt/puppetlabs/puppet/bin/puppet",
		"/usr/bin/puppet", "/usr/local/bin/puppet", NULL,
	};
	static const char *const deb[] = {
		"/usr/bin/puppet", "/usr/local/bin/puppet",
		"/opt/puppetlabs/bin/puppet", "/opt/puppetlabs/puppet/bin/puppet",
		NULL,
	};
	const char *const *c = pkg == CR_PKG_DEBIAN ? deb : aio;
	const char *found = "puppet";	/* posix_spawnp searches PATH */

	if (explicit_bin != NULL)
		found = explicit_bin;
	else
		for (; *c != NULL && found[0] != '/'; c++)
			if (access(*c, X_OK) == 0)
				found = *c;
	return found;
}

char *
cr_certname_from_puppet(const char *puppet, const char *section,
    const char *confdir)
{
	const char *argv[] = {
		puppet, "config", "print", "certname", "--section", section,
		"--confdir", confdir, NULL,
	};
	struct cr_proc_opts po;
	struct cr_proc_result res;
	char *out = NULL, *v;
	size_t n, i;
	cr_err e;

	cr_err_init(&e);
	memset(&po, 0, sizeof(po));
	po.argv = argv;
	po.max_out = 4096;
	po.timeout_ms = CR_CERTNAME_EXEC_TIMEOUT_MS;
	if (!cr_proc_run(&po, &res, &e))
		goto out;
	if (cr_proc_succeeded(&res) && !res.out_truncated &&
	    strlen(res.out) == res.out_len) {
		v = res.out + strspn(res.out, " \t\r\n");
		for (n = strlen(v); n > 0 && isspace((unsigned char)v[n - 1]); n--)
			v[n - 1] = '\0';
		for (i = 0; i < n && isgraph((unsigned char)v[i]); i++)
			;
		if (n > 0 && n <= CR_CERTNAME_MAX && i == n)
			out = strdup(v);
	}
	cr_proc_result_free(&res);
out:
	cr_err_clear(&e);
	return out;
}
