/*
 * cr_sys_host.h - the platform seam for what the settings resolver asks of
 * the host: which platform it is and whether Puppet would consider this
 * process privileged (Puppet.features.root?).
 */
#ifndef CR_SYS_HOST_H
#define CR_SYS_HOST_H

#include <stdbool.h>

/* true in the Windows build. */
bool cr_sys_windows(void);
/* POSIX: the real uid is 0.  Windows: the token is a member of
 * BUILTIN\Administrators (elevated), as Puppet's Windows::User.admin?. */
bool cr_sys_privileged(void);

#endif
