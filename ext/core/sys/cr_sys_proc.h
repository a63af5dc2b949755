/*
 * cr_sys_proc.h - the platform seam for the processes and services the
 * agent flow waits for or stops: whether the pid in one of Puppet's lock
 * files (agent_catalog_run.lock, pidlock) still runs, and, on Windows,
 * the puppet and pxp-agent services through the Service Control Manager
 * (on Linux cr_service.c drives systemd, SysV or OpenRC with argv arrays).
 */
#ifndef CR_SYS_PROC_H
#define CR_SYS_PROC_H

#include <stdbool.h>

#include "cr_err.h"

/*
 * false only when the platform says no process has this pid: POSIX
 * kill(pid, 0) failing with ESRCH (EPERM: it runs under another user);
 * Windows OpenProcess failing with ERROR_INVALID_PARAMETER, or the
 * process having exited (GetExitCodeProcess; access denied: it runs).
 */
bool cr_sys_pid_alive(unsigned long pid);

enum cr_sys_svc {
	CR_SYS_SVC_ABSENT = 0,	/* no such service: nothing to stop */
	CR_SYS_SVC_STOPPED,
	CR_SYS_SVC_RUNNING,
	CR_SYS_SVC_PENDING,	/* starting, stopping, pausing, paused */
};

/* "absent", "stopped", "running", "pending". */
const char *cr_sys_svc_name(enum cr_sys_svc s);

/*
 * The Service Control Manager (Windows; on POSIX these answer
 * CR_KIND_UNSUPPORTED_PLATFORM: cr_service.c runs systemd or SysV there): the state of service name
 * (OpenSCManagerW, OpenServiceW, QueryServiceStatusEx; a service that
 * does not exist is CR_SYS_SVC_ABSENT, as on Linux); stop
 * (ControlService SERVICE_CONTROL_STOP) and start (StartServiceW), each
 * waiting up to timeout_ms for the state to settle.  Stopping or starting
 * an absent service is an error (CR_KIND_SERVICE).
 */
bool cr_sys_service_query(const char *name, enum cr_sys_svc *state,
    cr_err *err);
bool cr_sys_service_stop(const char *name, unsigned timeout_ms, cr_err *err);
bool cr_sys_service_start(const char *name, unsigned timeout_ms,
    cr_err *err);

/* One line in the system's log, an error or a notice: syslog (LOG_DAEMON,
 * ident cert_regen) on POSIX, the Application event log (source
 * cert_regen) on Windows. */
void cr_sys_log(bool error, const char *text);

/* This process's id; sleep ms milliseconds; a monotonic clock in ms. */
unsigned long cr_sys_getpid(void);
void cr_sys_sleep_ms(long ms);
long cr_sys_now_ms(void);

#endif
