/*
 * plat.h - the few calls the portable unit suites (test_sys_fs.c,
 * test_settings_windows.c) make to set up files and environment, on POSIX
 * and on Windows (mingw, run under wine).  Test scaffolding only: the
 * code under test goes through ext/core/sys.
 */
#ifndef CR_TEST_PLAT_H
#define CR_TEST_PLAT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <direct.h>
#include <process.h>
#include <windows.h>
/* This Windows is wine (which keeps no DACL: it maps one to Unix modes). */
static inline int
tp_under_wine(void)
{
	HMODULE nt = GetModuleHandleA("ntdll.dll");

	return nt != NULL && GetProcAddress(nt, "wine_get_version") != NULL;
}
#define tp_mkdir(p) _mkdir(p)
#define tp_rmdir(p) _rmdir(p)
#define tp_getpid() _getpid()
static inline int
tp_setenv(const char *n, const char *v)
{
	return _putenv_s(n, v != NULL ? v : "");
}
#else
#include <sys/stat.h>
#include <unistd.h>
#define tp_under_wine() 0
#define tp_mkdir(p) mkdir((p), 0700)
#define tp_rmdir(p) rmdir(p)
#define tp_getpid() getpid()
static inline int
tp_setenv(const char *n, const char *v)
{
	return v != NULL ? setenv(n, v, 1) : unsetenv(n);
}
#endif

/* Makes a new directory "<TEMP, else TMPDIR, else /tmp (. on Windows)>/
 * cr-<tag>-<pid>-<n>" and writes its path into dir; 0 on success. */
static inline int
tp_tempdir(char *dir, size_t size, const char *tag)
{
	static unsigned n;
	const char *tmp = getenv("TEMP");

	if (tmp == NULL || *tmp == '\0')
		tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0')
#ifdef _WIN32
		tmp = ".";
#else
		tmp = "/tmp";
#endif
	snprintf(dir, size, "%s/cr-%s-%d-%u", tmp, tag, (int)tp_getpid(), n++);
	return tp_mkdir(dir);
}

/* Writes len bytes of data to path (created or truncated); 0 on success. */
static inline int
tp_write(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fwrite(data, 1, len, f) == len)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

#endif
