/*
 * commands_unsupported.c (Windows) - the debugging commands the Windows
 * build does not carry yet (ca-request, lock): each says so on
 * stderr and exits 2 (a usage error), as an unknown command does.
 */
#include <stdio.h>

#include "commands.h"

static int
not_here(const char *cmd)
{
	fprintf(stderr, "cert_regen %s is not built for Windows yet: run it "
	    "from a Linux host (docs/windows.md lists what the Windows build "
	    "carries)\n", cmd);
	return 2;
}

int
cr_cmd_ca_request(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_here("ca-request");
}

int
cr_cmd_lock(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_here("lock");
}
