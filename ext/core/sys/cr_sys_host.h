/*
 * cr_sys_host.h - the platform seam for what the settings resolver asks of
 * the host: which platform it is and whether Puppet would consider this
 * process privileged (Puppet.features.root?).
 */
#ifndef CR_SYS_HOST_H
#define CR_SYS_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

/* true in the Windows build. */
bool cr_sys_windows(void);
/* POSIX: the real uid is 0.  Windows: the token is a member of
 * BUILTIN\Administrators (elevated), as Puppet's Windows::User.admin?. */
bool cr_sys_privileged(void);

/*
 * Facter's hostname and domain facts, which make Puppet's default
 * certname: *host (new, the short name) and *domain (new, or NULL when
 * there is none).  POSIX: gethostname, then its canonical name, then
 * resolv.conf's domain/search.  Windows: the DNS host name and primary
 * DNS domain of the computer (GetComputerNameEx).  false with err set.
 */
bool cr_sys_host_names(char **host, char **domain, cr_err *err);

/*
 * The home directory of user (ulen bytes; ulen 0: this process's user),
 * for `~` when HOME says nothing (POSIX: the passwd entry).  A new string,
 * or NULL when unknown (always on Windows, where Ruby uses HOME and
 * USERPROFILE).
 */
char *cr_sys_home_of(const char *user, size_t ulen);

#endif
