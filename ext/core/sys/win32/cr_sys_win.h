/*
 * cr_sys_win.h - the Win32 helpers the files of sys/win32/ share: UTF-8 <->
 * UTF-16 conversion and Windows error text in a cr_err.  Only sys/win32/
 * includes it.
 */
#ifndef CR_SYS_WIN_H
#define CR_SYS_WIN_H

#include <stdbool.h>

#include <windows.h>

#include "cr_err.h"

/* New UTF-16 copy of a UTF-8 string, or NULL. */
wchar_t *cr_sys_wide_new(const char *s);
/* New UTF-8 copy of a UTF-16 string, or NULL. */
char *cr_sys_narrow_new(const wchar_t *w);
/* The Windows error means "no such file or directory". */
bool cr_sys_win_missing(DWORD code);
/* "<what> <path>: <system text> (Windows error N): <next>" into err
 * (CR_KIND_IO, details.winerror, details.missing when it is missing). */
void cr_sys_win_error(cr_err *err, DWORD code, const char *what,
    const char *path, const char *next);

#endif
