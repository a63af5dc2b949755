/*
 * cr_service_detach.c (Windows) - cr_service.h's process side: whether
 * pxp-agent started this task (the parent chain of a Toolhelp snapshot,
 * image pxp-agent.exe), and the detached restart: this executable started
 * again as a process of its own (no console, no inherited handles, its
 * own process group, out of the task's job object when the job allows
 * it) running `service NAME restart-logged --delay N`, whose outcome goes
 * to the Application event log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>
#include <tlhelp32.h>

#include "cr_service.h"
#include "sys/cr_sys_proc.h"
#include "cr_sys_win.h"

#define ANCESTORS_MAX 64

/* The parent pid and image name of pid in snapshot snap. */
static bool
entry_of(HANDLE snap, DWORD pid, DWORD *ppid, char *exe, size_t len)
{
	PROCESSENTRY32 pe = { .dwSize = sizeof(pe) };
	BOOL more;

	for (more = Process32First(snap, &pe); more;
	    more = Process32Next(snap, &pe))
		if (pe.th32ProcessID == pid) {
			*ppid = pe.th32ParentProcessID;
			snprintf(exe, len, "%s", pe.szExeFile);
			return true;
		}
	return false;
}

bool
cr_under_pxp_agent(void)
{
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	DWORD pid = GetCurrentProcessId(), ppid = 0;
	char exe[MAX_PATH];
	bool found = false;
	int i;

	if (snap == INVALID_HANDLE_VALUE)
		return false;
	/* this process's parent first; a pid reused by a younger process
	 * ends the walk at the first entry it does not find */
	if (!entry_of(snap, pid, &ppid, exe, sizeof(exe)))
		ppid = 0;
	for (i = 0, pid = ppid; !found && i < ANCESTORS_MAX && pid != 0; i++) {
		if (!entry_of(snap, pid, &ppid, exe, sizeof(exe)))
			break;
		found = _stricmp(exe, "pxp-agent.exe") == 0;
		pid = ppid;
	}
	CloseHandle(snap);
	return found;
}

/* "<exe>" service <name> restart-logged --delay <n>: a new command line
 * (name is a valid service name: no quote, no space, no backslash). */
static wchar_t *
restart_cmdline(const wchar_t *exe, const char *name, unsigned delay_s)
{
	wchar_t *wname = cr_sys_wide_new(name), *line = NULL;
	size_t len;

	if (wname == NULL)
		goto out;
	len = wcslen(exe) + wcslen(wname) + 64;
	if ((line = calloc(len, sizeof(*line))) != NULL)
		swprintf(line, len, L"\"%ls\" service %ls restart-logged "
		    "--delay %u", exe, wname, delay_s);
out:
	free(wname);
	return line;
}

bool
cr_restart_detached(const char *name, unsigned delay_s, cr_err *err)
{
	STARTUPINFOW si = { .cb = sizeof(si) };
	PROCESS_INFORMATION pi;
	wchar_t exe[MAX_PATH + 1], *line = NULL;
	DWORD n, flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP |
	    CREATE_NO_WINDOW, code;
	bool ok = false;

	if (!cr_service_name_valid(name)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "invalid service name '%s'", name ? name : "");
		goto out;
	}
	n = GetModuleFileNameW(NULL, exe, MAX_PATH + 1);
	if (n == 0 || n > MAX_PATH) {
		cr_sys_win_error(err, GetLastError(), "cannot find this "
		    "executable to restart", name, "restart the service by hand "
		    "after the task (Restart-Service)");
		goto out;
	}
	if ((line = restart_cmdline(exe, name, delay_s)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	fflush(NULL);
	/* out of the task's job object first: a job that ends with the task
	 * (or with pxp-agent) would end the restart with it */
	if (!CreateProcessW(exe, line, NULL, NULL, FALSE,
	    flags | CREATE_BREAKAWAY_FROM_JOB, NULL, NULL, &si, &pi)) {
		code = GetLastError();
		if (code != ERROR_ACCESS_DENIED ||
		    !CreateProcessW(exe, line, NULL, NULL, FALSE, flags, NULL,
		    NULL, &si, &pi)) {
			cr_sys_win_error(err, code != ERROR_ACCESS_DENIED ? code :
			    GetLastError(), "cannot start a detached process to "
			    "restart", name, "restart the service by hand after "
			    "the task (Restart-Service)");
			goto out;
		}
	}
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	ok = true;
out:
	free(line);
	return ok;
}

void
cr_sys_log(bool error, const char *text)
{
	HANDLE h = RegisterEventSourceW(NULL, L"cert_regen");
	wchar_t *w = cr_sys_wide_new(text);
	LPCWSTR strings[1];

	if (h != NULL && w != NULL) {
		strings[0] = w;
		ReportEventW(h, error ? EVENTLOG_ERROR_TYPE :
		    EVENTLOG_INFORMATION_TYPE, 0, 0, NULL, 1, 0, strings, NULL);
	}
	if (h != NULL)
		DeregisterEventSource(h);
	free(w);
}
