/*
 * cr_sys_fs.c (Windows) - the file-system reads of the platform seam
 * (see sys/cr_sys_fs.h) on Win32: UTF-8 paths converted to UTF-16, files
 * opened with CreateFileW (reparse points not followed when asked), owner
 * and DACL read with GetSecurityInfo.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_int.h"
#include "sys/win32/cr_sys_win.h"

static bool
is_sep(char c)
{
	return c == '/' || c == '\\';
}

bool
cr_sys_path_absolute(const char *p)
{
	if (is_sep(p[0]) && is_sep(p[1]))
		return true;	/* \\server\share, \\?\C:\ */
	return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'))
	    && p[1] == ':' && is_sep(p[2]);
}

wchar_t *
cr_sys_wide_new(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1,
	    NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(*w))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n)
	    != n) {
		free(w);
		return NULL;
	}
	return w;
}

char *
cr_sys_narrow_new(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s;

	if (n <= 0 || (s = malloc((size_t)n)) == NULL)
		return NULL;
	if (WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
		free(s);
		return NULL;
	}
	return s;
}

bool
cr_sys_win_missing(DWORD e)
{
	return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ||
	    e == ERROR_INVALID_NAME || e == ERROR_BAD_NETPATH;
}

void
cr_sys_win_error(cr_err *err, DWORD code, const char *what, const char *path,
    const char *next)
{
	char text[512];
	DWORD n;

	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, text,
	    sizeof(text), NULL);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
	    text[n - 1] == ' ' || text[n - 1] == '.'))
		text[--n] = '\0';
	if (n == 0)
		snprintf(text, sizeof(text), "system error");
	if (next != NULL)
		cr_err_set(err, CR_KIND_IO, "%s %s: %s (Windows error %lu): %s",
		    what, path, text, (unsigned long)code, next);
	else
		cr_err_set(err, CR_KIND_IO, "%s %s: %s (Windows error %lu)",
		    what, path, text, (unsigned long)code);
	cr_err_detail_new(err, "winerror", json_integer((json_int_t)code));
	if (cr_sys_win_missing(code))
		cr_err_detail_new(err, "missing", json_true());
}

/* The reads' error: the caller's message says what to do next. */
static void
win_error(cr_err *err, DWORD code, const char *what, const char *path)
{
	cr_sys_win_error(err, code, what, path, NULL);
}

/* An open handle for reading metadata and data; INVALID_HANDLE_VALUE with
 * GetLastError() on failure.  Directories open too (BACKUP_SEMANTICS). */
static HANDLE
open_path(const char *path, unsigned flags, DWORD access)
{
	wchar_t *w = cr_sys_wide_new(path);
	HANDLE h;

	if (w == NULL) {
		SetLastError(ERROR_INVALID_NAME);
		return INVALID_HANDLE_VALUE;
	}
	h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS |
	    ((flags & CR_SYS_NOFOLLOW) ? FILE_FLAG_OPEN_REPARSE_POINT : 0),
	    NULL);
	free(w);
	return h;
}

static enum cr_sys_ftype
ftype_of(HANDLE h, const BY_HANDLE_FILE_INFORMATION *fi)
{
	DWORD t = GetFileType(h);

	if (t == FILE_TYPE_PIPE)
		return CR_SYS_FIFO;
	if (t == FILE_TYPE_CHAR)
		return CR_SYS_DEVICE;
	if (fi->dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
		return CR_SYS_LINK;
	if (fi->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		return CR_SYS_DIR;
	return t == FILE_TYPE_DISK ? CR_SYS_FILE : CR_SYS_OTHER;
}

/* cr_sys_read_chunk_fn over a file HANDLE. */
static long long
handle_read(void *h, char *dst, size_t want, const char *path, cr_err *err)
{
	DWORD n = 0;

	if (want > 0x40000000)
		want = 0x40000000;
	if (!ReadFile(*(HANDLE *)h, dst, (DWORD)want, &n, NULL)) {
		win_error(err, GetLastError(), "cannot read", path);
		return -1;
	}
	return (long long)n;
}

bool
cr_sys_read_file(const char *path, size_t max, unsigned flags, char **buf,
    size_t *len, cr_err *err)
{
	bool ok = false;
	HANDLE h;
	BY_HANDLE_FILE_INFORMATION fi;
	enum cr_sys_ftype t;

	*buf = NULL;
	*len = 0;
	if ((h = open_path(path, flags, GENERIC_READ)) == INVALID_HANDLE_VALUE) {
		win_error(err, GetLastError(), "cannot open", path);
		goto out;
	}
	if (!GetFileInformationByHandle(h, &fi)) {
		win_error(err, GetLastError(), "cannot stat", path);
		goto out;
	}
	if ((t = ftype_of(h, &fi)) == CR_SYS_LINK) {
		cr_err_set(err, CR_KIND_PATH_SYMLINK, "%s is a symlink or "
		    "junction where a file is expected: replace it with the "
		    "file it points to", path);
		cr_err_detail_new(err, "path", json_string(path));
		goto out;
	}
	if (t != CR_SYS_FILE) {
		cr_err_set(err, CR_KIND_IO, "%s is not a regular file (a %s): "
		    "replace it with the file it should be", path,
		    cr_sys_ftype_name(t));
		goto out;
	}
	ok = cr_sys_read_bounded(&h, handle_read, path,
	    ((unsigned long long)fi.nFileSizeHigh << 32) | fi.nFileSizeLow,
	    max, buf, len, err);
out:
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	return ok;
}

static void
sid_text(PSID sid, char *out, size_t outlen)
{
	LPSTR s = NULL;

	out[0] = '\0';
	if (sid != NULL && ConvertSidToStringSidA(sid, &s)) {
		snprintf(out, outlen, "%s", s);
		LocalFree(s);
	}
}

static bool
sid_is(PSID sid, WELL_KNOWN_SID_TYPE t)
{
	return sid != NULL && IsWellKnownSid(sid, t);
}

static bool
sid_trusted(PSID sid)
{
	return sid_is(sid, WinLocalSystemSid) ||
	    sid_is(sid, WinBuiltinAdministratorsSid);
}

/* Every allow entry of the DACL names SYSTEM or Administrators (or the
 * owner, when the owner is one of those).  A NULL DACL allows everyone. */
static bool
dacl_private(PACL dacl, PSID owner)
{
	ACL_SIZE_INFORMATION ai;
	DWORD i;
	void *ace;
	PSID sid;

	if (dacl == NULL || !GetAclInformation(dacl, &ai, sizeof(ai),
	    AclSizeInformation))
		return false;
	for (i = 0; i < ai.AceCount; i++) {
		if (!GetAce(dacl, i, &ace))
			return false;
		if (((ACE_HEADER *)ace)->AceType != ACCESS_ALLOWED_ACE_TYPE)
			continue;
		sid = (PSID)&((ACCESS_ALLOWED_ACE *)ace)->SidStart;
		if (sid_trusted(sid))
			continue;
		if (owner != NULL && EqualSid(sid, owner) && sid_trusted(owner))
			continue;
		return false;
	}
	return true;
}

/* Does sid name the user of this process's token? */
static bool
sid_is_me(PSID sid)
{
	HANDLE tok = NULL;
	union {
		TOKEN_USER tu;
		char raw[256];
	} u;
	DWORD n;
	bool me = false;

	if (sid == NULL || !OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY,
	    &tok))
		return false;
	if (GetTokenInformation(tok, TokenUser, &u, sizeof(u), &n))
		me = EqualSid(u.tu.User.Sid, sid) != FALSE;
	CloseHandle(tok);
	return me;
}

int
cr_sys_stat(const char *path, unsigned flags, struct cr_sys_stat *st,
    cr_err *err)
{
	int r = -1;
	HANDLE h;
	DWORD code;
	BY_HANDLE_FILE_INFORMATION fi;
	PSID owner = NULL, group = NULL;
	PACL dacl = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;

	memset(st, 0, sizeof(*st));
	if ((h = open_path(path, flags, READ_CONTROL | FILE_READ_ATTRIBUTES))
	    == INVALID_HANDLE_VALUE) {
		code = GetLastError();
		if (cr_sys_win_missing(code))
			r = 0;
		else
			win_error(err, code, "cannot stat", path);
		goto out;
	}
	if (!GetFileInformationByHandle(h, &fi)) {
		win_error(err, GetLastError(), "cannot stat", path);
		goto out;
	}
	st->type = ftype_of(h, &fi);
	st->size = ((unsigned long long)fi.nFileSizeHigh << 32) |
	    fi.nFileSizeLow;
	if (GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION |
	    GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
	    &group, &dacl, NULL, &sd) == ERROR_SUCCESS) {
		sid_text(owner, st->owner, sizeof(st->owner));
		sid_text(group, st->group, sizeof(st->group));
		st->owned_by_me = sid_is_me(owner);
		st->private_access = dacl_private(dacl, owner);
	}
	r = 1;
out:
	if (sd != NULL)
		LocalFree(sd);
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	return r;
}

bool
cr_sys_list_dir(const char *path, size_t max, char ***names, size_t *count,
    cr_err *err)
{
	bool ok = false;
	HANDLE fh = INVALID_HANDLE_VALUE;
	WIN32_FIND_DATAW fd;
	char *pattern = NULL;
	wchar_t *wpattern = NULL;
	struct cr_sys_names ns = { 0 };
	DWORD code;

	*names = NULL;
	*count = 0;
	if ((pattern = cr_sys_path_join(path, "*")) == NULL ||
	    (wpattern = cr_sys_wide_new(pattern)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to list %s", path);
		goto out;
	}
	if ((fh = FindFirstFileExW(wpattern, FindExInfoBasic, &fd,
	    FindExSearchNameMatch, NULL, 0)) == INVALID_HANDLE_VALUE) {
		win_error(err, GetLastError(), "cannot list", path);
		goto out;
	}
	do {
		if (wcscmp(fd.cFileName, L".") == 0 ||
		    wcscmp(fd.cFileName, L"..") == 0)
			continue;
		if (!cr_sys_names_add(&ns, cr_sys_narrow_new(fd.cFileName), path, max,
		    err))
			goto out;
	} while (FindNextFileW(fh, &fd));
	if ((code = GetLastError()) != ERROR_NO_MORE_FILES) {
		win_error(err, code, "cannot list", path);
		goto out;
	}
	cr_sys_names_finish(&ns, names, count);
	ok = true;
out:
	cr_sys_names_free(ns.v, ns.n);
	if (fh != INVALID_HANDLE_VALUE)
		FindClose(fh);
	free(wpattern);
	free(pattern);
	return ok;
}

char *
cr_sys_readlink(const char *path)
{
	/* Puppet does not follow an old $ssldir/ca on Windows (cadir is ""),
	 * and nothing else here reads link targets. */
	(void)path;
	return NULL;
}

char *
cr_sys_realpath(const char *path)
{
	HANDLE h = open_path(path, CR_SYS_FOLLOW, FILE_READ_ATTRIBUTES);
	wchar_t buf[32768];
	DWORD n;
	char *out = NULL, *p;

	if (h == INVALID_HANDLE_VALUE) {
		errno = cr_sys_win_missing(GetLastError()) ? ENOENT : EACCES;
		return NULL;
	}
	n = GetFinalPathNameByHandleW(h, buf, sizeof(buf) / sizeof(buf[0]),
	    FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
	CloseHandle(h);
	if (n == 0 || n >= sizeof(buf) / sizeof(buf[0])) {
		errno = EINVAL;
		return NULL;
	}
	/* "\\?\C:\x" -> "C:/x", as Puppet prints paths */
	if ((out = cr_sys_narrow_new(wcsncmp(buf, L"\\\\?\\", 4) == 0 ? buf + 4 : buf))
	    != NULL)
		for (p = out; *p != '\0'; p++)
			if (*p == '\\')
				*p = '/';
	return out;
}
