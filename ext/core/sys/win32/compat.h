/*
 * compat.h (Windows build only, force-included by ext/Makefile's Windows
 * section) - the C library functions the core uses that mingw-w64 lacks,
 * implemented in cr_sys_compat.c.  The core keeps its POSIX spelling.
 */
#ifndef CR_WIN32_COMPAT_H
#define CR_WIN32_COMPAT_H

#include <stddef.h>
#include <time.h>

/* timegm is the CRT's _mkgmtime; gmtime_r comes from time.h with
 * _POSIX_THREAD_SAFE_FUNCTIONS (set in ext/Makefile). */
#define timegm(tm) _mkgmtime(tm)

/* owners of cr_fs.h's installs, ignored on Windows (the DACL decides) */
typedef int uid_t;
typedef int gid_t;

char *strndup(const char *s, size_t n);
void *memmem(const void *hay, size_t hlen, const void *needle, size_t nlen);

#endif
