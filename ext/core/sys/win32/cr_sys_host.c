/*
 * cr_sys_host.c (Windows) - platform, privilege and host names for the
 * settings resolver (see sys/cr_sys_host.h).
 */
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "sys/cr_sys_host.h"

bool
cr_sys_windows(void)
{
	return true;
}

bool
cr_sys_privileged(void)
{
	SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
	PSID admins = NULL;
	BOOL member = FALSE;

	if (!AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID,
	    DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0, 0, &admins))
		return false;
	if (!CheckTokenMembership(NULL, admins, &member))
		member = FALSE;
	FreeSid(admins);
	return member != FALSE;
}

/* A new copy of one of the computer's names, or NULL (*empty: it is ""). */
static char *
computer_name(COMPUTER_NAME_FORMAT which)
{
	char buf[256];
	DWORD n = sizeof(buf);

	if (!GetComputerNameExA(which, buf, &n))
		return NULL;
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
	return strdup(buf);
}

bool
cr_sys_host_names(char **host, char **domain, cr_err *err)
{
	*domain = NULL;
	if ((*host = computer_name(ComputerNameDnsHostname)) == NULL ||
	    **host == '\0') {
		cr_err_set(err, CR_KIND_SETTINGS, "cannot read this computer's "
		    "DNS host name (Windows error %lu): set certname in "
		    "puppet.conf or pass certname", (unsigned long)GetLastError());
		free(*host);
		*host = NULL;
		return false;
	}
	*domain = computer_name(ComputerNameDnsDomain);
	return true;
}

char *
cr_sys_home_of(const char *user, size_t ulen)
{
	(void)user;
	(void)ulen;
	return NULL;
}
