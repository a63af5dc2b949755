/*
 * cr_sys_svc.c (Windows) - processes and services of the platform seam
 * (see sys/cr_sys_proc.h): a lock file's pid checked with OpenProcess,
 * the puppet and pxp-agent services through the Service Control Manager.
 */
#include <stdio.h>
#include <stdlib.h>

#include <windows.h>

#include "cr_service.h"
#include "sys/cr_sys_proc.h"
#include "sys/win32/cr_sys_win.h"

bool
cr_sys_pid_alive(unsigned long pid)
{
	HANDLE h;
	DWORD code = 0;
	bool alive = true;

	if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
	    (DWORD)pid)) == NULL) {
		/* access denied and the like: something runs there */
		alive = GetLastError() != ERROR_INVALID_PARAMETER;
	} else {
		if (GetExitCodeProcess(h, &code) && code != STILL_ACTIVE)
			alive = false;	/* exited, only its handle is left */
		CloseHandle(h);
	}
	return alive;
}

/* CR_KIND_SERVICE with the Windows error text and the service's name. */
static void
svc_error(cr_err *err, DWORD code, const char *what, const char *name,
    const char *next)
{
	char subject[160];

	snprintf(subject, sizeof(subject), "service %.100s", name);
	cr_sys_win_error(err, code, what, subject, next);
	/* cr_sys_win_error's kind is io-error: this is a service's */
	snprintf(err->kind, sizeof(err->kind), "%s", CR_KIND_SERVICE);
	cr_err_detail_new(err, "service", json_string(name));
}

static enum cr_sys_svc
state_of(DWORD s)
{
	switch (s) {
	case SERVICE_STOPPED: return CR_SYS_SVC_STOPPED;
	case SERVICE_RUNNING: return CR_SYS_SVC_RUNNING;
	default: break;
	}
	return CR_SYS_SVC_PENDING;
}

/*
 * Opens service name with access; *svc NULL and true when it does not
 * exist.  *scm to CloseServiceHandle in any case.
 */
static bool
svc_open(const char *name, DWORD access, SC_HANDLE *scm, SC_HANDLE *svc,
    cr_err *err)
{
	wchar_t *w = cr_sys_wide_new(name);
	DWORD code;
	bool ok = false;

	*svc = NULL;
	if ((*scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT)) == NULL) {
		svc_error(err, GetLastError(), "cannot open the Service Control "
		    "Manager for", name, "run the task as an Administrator");
	} else if (w == NULL) {
		cr_err_set(err, CR_KIND_SERVICE, "service name %s is not valid "
		    "UTF-8: pass the name Windows shows for it", name);
	} else if ((*svc = OpenServiceW(*scm, w, access)) != NULL) {
		ok = true;
	} else if ((code = GetLastError()) == ERROR_SERVICE_DOES_NOT_EXIST) {
		ok = true;	/* absent, as a unit systemd does not know */
	} else {
		svc_error(err, code, "cannot open", name, "run the task as an "
		    "Administrator");
	}
	free(w);
	return ok;
}

static bool
query(SC_HANDLE svc, const char *name, enum cr_sys_svc *state, cr_err *err)
{
	SERVICE_STATUS_PROCESS sp;
	DWORD n;

	if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&sp,
	    sizeof(sp), &n)) {
		svc_error(err, GetLastError(), "cannot query", name, "check "
		    "the service with `sc.exe query` and rerun");
		return false;
	}
	*state = state_of(sp.dwCurrentState);
	return true;
}

bool
cr_sys_service_query(const char *name, enum cr_sys_svc *state, cr_err *err)
{
	SC_HANDLE scm = NULL, svc = NULL;
	bool ok;

	*state = CR_SYS_SVC_ABSENT;
	ok = svc_open(name, SERVICE_QUERY_STATUS, &scm, &svc, err) &&
	    (svc == NULL || query(svc, name, state, err));
	if (svc != NULL)
		CloseServiceHandle(svc);
	if (scm != NULL)
		CloseServiceHandle(scm);
	return ok;
}

/* Polls until the service is in want or timeout_ms passed. */
static bool
wait_for(SC_HANDLE svc, const char *name, enum cr_sys_svc want,
    unsigned timeout_ms, cr_err *err)
{
	enum cr_sys_svc st = CR_SYS_SVC_PENDING;
	ULONGLONG end = GetTickCount64() + timeout_ms;

	for (;;) {
		if (!query(svc, name, &st, err))
			return false;
		if (st == want)
			return true;
		if (GetTickCount64() >= end)
			break;
		Sleep(250);
	}
	cr_err_set(err, CR_KIND_SERVICE, "service %s is %s after %u ms, not "
	    "%s: look at its state with `sc.exe query %s` and rerun", name,
	    cr_sys_svc_name(st), timeout_ms, cr_sys_svc_name(want), name);
	cr_err_detail_new(err, "service", json_string(name));
	return false;
}

/* Stops (stop) or starts service name and waits for it to settle. */
static bool
control(const char *name, bool stop, unsigned timeout_ms, cr_err *err)
{
	SC_HANDLE scm = NULL, svc = NULL;
	SERVICE_STATUS ss;
	ULONGLONG end = GetTickCount64() + timeout_ms;
	bool ok = false;
	DWORD code = 0;

	if (!svc_open(name, SERVICE_QUERY_STATUS | (stop ? SERVICE_STOP :
	    SERVICE_START), &scm, &svc, err))
		goto out;
	if (svc == NULL) {
		cr_err_set(err, CR_KIND_SERVICE, "service %s does not exist, "
		    "so it cannot be %s: install it or leave it out", name,
		    stop ? "stopped" : "started");
		cr_err_detail_new(err, "service", json_string(name));
		goto out;
	}
	/* a locked service database (another start under way, the SCM
	 * starting up) is waited out within timeout_ms */
	for (;;) {
		code = (stop ? ControlService(svc, SERVICE_CONTROL_STOP, &ss) :
		    StartServiceW(svc, 0, NULL)) ? 0 : GetLastError();
		if (code != ERROR_SERVICE_DATABASE_LOCKED ||
		    GetTickCount64() >= end)
			break;
		Sleep(250);
	}
	if (code != 0 && code != (stop ? ERROR_SERVICE_NOT_ACTIVE :
	    ERROR_SERVICE_ALREADY_RUNNING)) {
		svc_error(err, code, stop ? "cannot stop" : "cannot start",
		    name, "look at the service's event log entries and rerun");
		goto out;
	}
	ok = wait_for(svc, name, stop ? CR_SYS_SVC_STOPPED :
	    CR_SYS_SVC_RUNNING, timeout_ms, err);
out:
	if (svc != NULL)
		CloseServiceHandle(svc);
	if (scm != NULL)
		CloseServiceHandle(scm);
	return ok;
}

bool
cr_sys_service_stop(const char *name, unsigned timeout_ms, cr_err *err)
{
	return control(name, true, timeout_ms, err);
}

bool
cr_sys_service_start(const char *name, unsigned timeout_ms, cr_err *err)
{
	return control(name, false, timeout_ms, err);
}
