/*
 * cr_killpoint.c - fault-injection points (see cr_killpoint.h).
 */
#include "cr_killpoint.h"

#ifdef CR_TEST_HOOKS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#endif

static void (*killpoint_hook)(const char *name);

void
cr_killpoint_hook_set(void (*hook)(const char *name))
{
	killpoint_hook = hook;
}

void
cr_killpoint(const char *name)
{
	const char *at = getenv("CERT_REGEN_TEST_KILL_AT");

	if (killpoint_hook != NULL)
		killpoint_hook(name);
	if (at != NULL && strcmp(at, name) == 0) {
#ifdef _WIN32
		/* no SIGKILL: as abrupt, with the code a SIGKILL'd shell child
		 * reports (128 + 9) */
		TerminateProcess(GetCurrentProcess(), 137);
#else
		raise(SIGKILL);
#endif
	}
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int cr_killpoint_unused;
#endif
