/*
 * cr_service.h - look at, stop, start and restart system services (puppet,
 * mcollective, pxp-agent) through systemd or SysV init, every command run
 * through cr_proc from an argv array with a timeout.
 *
 * Backend: systemd when /run/systemd/system exists (what sd_booted() tests):
 * `systemctl show --property=LoadState,ActiveState NAME`, `systemctl stop|
 * start|restart NAME`; a unit whose LoadState is not-found (and that is not
 * active) is ABSENT.  Otherwise SysV: `/usr/sbin/service NAME status|stop|
 * start|restart` (or /etc/init.d/NAME directly when `service` is missing);
 * ABSENT when /etc/init.d/NAME is not an executable regular file; status
 * exit 0 is RUNNING, 1-3 (LSB: dead or not running) STOPPED, else UNKNOWN.
 *
 * Service names must be 1..255 bytes of [a-zA-Z0-9@._-], not starting with
 * '-' or '.' (never an option, never "." or "..").
 */
#ifndef CR_SERVICE_H
#define CR_SERVICE_H

#include <stdbool.h>

#include <jansson.h>

#include "cr_err.h"

#define CR_SVC_TIMEOUT_MS 60000		/* per systemctl / service call */
#define CR_SVC_SETTLE_MS 10000		/* cr_service_name_valid as a POSIX extended regexp (the tasks' parameter
 * tables and the services type of the tasks metadata). */
#define CR_SERVICE_PATTERN "^[a-zA-Z0-9@_][a-zA-Z0-9@._-]{0,254}$"
/* start: wait this long for "running" */

enum cr_svc_state { CR_SVC_ABSENT, CR_SVC_STOPPED, CR_SVC_RUNNING, CR_SVC_UNKNOWN };
/* SCM: Windows' Service Control Manager (sys/cr_sys_proc.h), the
 * backend there; a service it does not know is ABSENT, as on Linux. */
enum cr_svc_backend { CR_SVC_AUTO = 0, CR_SVC_SYSTEMD, CR_SVC_SYSV, CR_SVC_SCM };

bool cr_service_name_valid(const char *name);
/* "absent", "stopped", "running", "unknown". */
const char *cr_service_state_name(enum cr_svc_state s);
/* The backend in use (detected unless overridden) and its name. */
enum cr_svc_backend cr_service_backend(void);
const char *cr_service_backend_name(enum cr_svc_backend b);
/*
 * Tests only: force a backend, the program it runs (systemctl, or service;
 * NULL: the usual one) and the init.d directory (NULL: /etc/init.d).
 * Pointers are borrowed until the next call; CR_SVC_AUTO restores detection.
 */
void cr_service_backend_set(enum cr_svc_backend b, const char *tool,
    const char *initd_dir);

/* CR_SVC_UNKNOWN with err set when the state cannot be read at all. */
enum cr_svc_state cr_service_state(const char *name, cr_err *err);
/* Stop: afterwards the service must not be running.  Start and restart:
 * afterwards it must be running (polled up to CR_SVC_SETTLE_MS).  An ABSENT
 * service is an error (CR_KIND_SERVICE, details {service, backend, action,
 * exit_code, output}). */
bool cr_service_stop(const char *name, cr_err *err);
bool cr_service_start(const char *name, cr_err *err);
bool cr_service_restart(const char *name, cr_err *err);

/*
 * true when an ancestor of this process (parent, grandparent... at most 64
 * steps up /proc/<pid>/stat's ppid chain) has comm "pxp-agent": the task was
 * started by pxp-agent (through its execution_wrapper).  False when pxp-agent
 * was restarted meanwhile (the task is then re-parented to init), when /proc
 * is not mounted, or under Bolt over SSH.
 */
bool cr_under_pxp_agent(void);

/*
 * Restarts name in a detached grandchild (double fork, setsid, stdio on
 * /dev/null, every other descriptor closed) after delay_s seconds, with the
 * same backend, so the caller can exit and release the stdout pipe the
 * orchestrator reads first.  Flushes stdio before forking.  Returns once the
 * grandchild exists; the outcome goes to syslog (LOG_DAEMON, "cert_regen").
 * Survives the restart of pxp-agent itself (KillMode=process, or a SysV
 * script that signals the daemon's PID only).  On Windows: this executable
 * started again as a detached process (no console, no inherited handles,
 * out of the task's job object when the job allows it), running
 * cr_service_restart_logged; the outcome goes to the Application event log.
 */
bool cr_restart_detached(const char *name, unsigned delay_s, cr_err *err);

/*
 * What the detached process does: waits delay_s seconds, restarts name
 * and records the outcome in the system's log (syslog on POSIX, the
 * Application event log, source cert_regen, on Windows).  True when the
 * restart worked.  On Windows it is the whole of the process
 * cr_restart_detached leaves behind (`cert_regen service NAME
 * restart-logged --delay N`).
 */
bool cr_service_restart_logged(const char *name, unsigned delay_s);

/*
 * Lists of services, as the flows handle them (names: JSON array of
 * strings).  Under pxp-agent (under_pxp), pxp-agent is left out: it runs
 * the task and is restarted detached at the end.
 */
/* The services to handle: param (new reference) or the default list
 * (puppet, mcollective, pxp-agent). */
json_t *cr_services_list(json_t *param);
/* The same with another default list (names, NULL-terminated): the CA
 * host's flows stop puppetserver too. */
json_t *cr_services_list_from(json_t *param, const char *const *defaults);
/* The running ones among names: a new reference, or NULL with err set
 * when a state cannot be read. */
json_t *cr_services_running(json_t *names, bool under_pxp, cr_err *err);
/* Stops the running ones; returns the names stopped (new reference) or
 * NULL with err set, the ones already stopped started again. */
json_t *cr_services_stop(json_t *names, bool under_pxp, cr_err *err);
/* Starts what was stopped: the names started (new reference); failures
 * are appended to warnings. */
json_t *cr_services_start(json_t *stopped, json_t *warnings);
/* Adds to stopped the names of earlier (a journal's list of services a
 * stopped run had stopped) it lacks: they were running before and are to
 * be started too. */
void cr_services_merge(json_t *stopped, json_t *earlier);

#endif
