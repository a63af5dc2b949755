/*
 * cr_service_detach.c (Windows) - cr_service.h's process side: whether
 * pxp-agent started this task (the parent chain of a Toolhelp snapshot,
 * image pxp-agent.exe); the detached restart is not built for Windows
 * yet (a process of its own, outside the task's job object, is the next
 * step), so it answers unsupported-platform.
 */
#include <stdio.h>
#include <string.h>

#include <windows.h>
#include <tlhelp32.h>

#include "cr_service.h"

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

bool
cr_restart_detached(const char *name, unsigned delay_s, cr_err *err)
{
	(void)delay_s;
	cr_err_set(err, CR_KIND_UNSUPPORTED_PLATFORM, "cert_regen does not "
	    "restart a service detached on Windows yet (%s): restart it by "
	    "hand after the task (Restart-Service %s)", name != NULL ? name :
	    "", name != NULL ? name : "");
	return false;
}
