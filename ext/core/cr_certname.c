/*
 * cr_certname.c - default certname and the puppet executable (see
 * cr_certname.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cr_certname.h"
#include "cr_fs_read.h"
#include "cr_proc.h"
#include "sys/cr_sys_host.h"

/* Settings.default_certname with Facter's hostname and domain facts. */
char *
cr_certname_from_hostname(cr_err *err)
{
	char *host = NULL, *domain = NULL, *out = NULL, *p;
	size_t n;

	if (!cr_sys_host_names(&host, &domain, err))
		goto out;
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
	for (p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (n == 0 || n > CR_CERTNAME_MAX) {
		cr_err_set(err, CR_KIND_SETTINGS,
		    "cannot work out a default certname from the hostname");
		free(out);
		out = NULL;
	}
out:
	free(host);
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

bool
cr_certname_valid(const char *name)
{
	size_t i, len = name ? strlen(name) : 0;

	if (len == 0 || len > CR_CERTNAME_MAX || name[0] == '.' ||
	    name[0] == '-' || strstr(name, "..") != NULL)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}
