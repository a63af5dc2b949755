/*
 * cr_swap_path.c - the swap's path arithmetic, on every platform (the
 * swap itself, cr_swap.c, is POSIX so far; cr_lock.c needs this part on
 * Windows too).
 */
#include <string.h>

#include "cr_swap.h"

const char *
cr_swap_relative(const char *ssldir, const char *path, const char *setting,
    cr_err *err)
{
	size_t n = strlen(ssldir);

	while (n > 1 && ssldir[n - 1] == '/')
		n--;
	if (path == NULL || strncmp(path, ssldir, n) != 0 || path[n] != '/' ||
	    path[n + 1] == '\0') {
		cr_err_set(err, CR_KIND_SETTINGS,
		    "%s (%s) is not inside the ssldir %s: cert_regen replaces "
		    "the ssldir as a whole, so keep Puppet's default layout "
		    "for this setting", setting, path ? path : "unset", ssldir);
		return NULL;
	}
	return path + n + 1;
}
