/*
 * cr_sys_lock.c (Windows) - Puppet's lock files by handle: CreateFileW
 * CREATE_NEW (FILE_FLAG_OPEN_REPARSE_POINT: a link there is not
 * followed), the identity from GetFileInformationByHandle (volume serial,
 * file index), a stale lock removed through a handle opened on it
 * (FileDispositionInfo) after its identity was checked, so a lock
 * replaced meanwhile is never the one removed.  A holder's name is its
 * image (QueryFullProcessImageNameW), which Puppet's own Windows pidlock
 * test looks at too.  See sys/cr_sys_lock.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include <jansson.h>

#include "sys/cr_sys_lock.h"
#include "sys/win32/cr_sys_win.h"

static const char next_lock[] = "check that the lock's directory is "
    "writable by this user (run as Administrator), then rerun";

static void
id_of(const BY_HANDLE_FILE_INFORMATION *fi, struct cr_sys_file_id *id)
{
	id->dev = fi->dwVolumeSerialNumber;
	id->ino = ((unsigned long long)fi->nFileIndexHigh << 32) |
	    fi->nFileIndexLow;
}

static wchar_t *
wide_or_err(const char *path, cr_err *err)
{
	wchar_t *w = cr_sys_wide_new(path);

	if (w == NULL)
		cr_err_set(err, CR_KIND_IO, "%s is not a valid UTF-8 path: "
		    "use a path Windows can name", path);
	return w;
}

int
cr_sys_lock_create(const char *path, const char *data, size_t len,
    struct cr_sys_file_id *id, cr_err *err)
{
	BY_HANDLE_FILE_INFORMATION fi;
	wchar_t *w = wide_or_err(path, err);
	HANDLE h;
	DWORD code, done = 0;
	int r = -1;

	if (w == NULL)
		return -1;
	h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE,
	    NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL |
	    FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		code = GetLastError();
		if (code == ERROR_FILE_EXISTS || code == ERROR_ALREADY_EXISTS)
			r = 0;
		else
			cr_sys_win_error(err, code, "cannot create lock", path,
			    next_lock);
		free(w);
		return r;
	}
	if (!WriteFile(h, data, (DWORD)len, &done, NULL) || done != len)
		cr_sys_win_error(err, GetLastError(), "cannot write lock", path,
		    next_lock);
	else if (!GetFileInformationByHandle(h, &fi))
		cr_sys_win_error(err, GetLastError(), "cannot stat lock", path,
		    next_lock);
	else
		r = 1;
	if (r == 1)
		id_of(&fi, id);
	CloseHandle(h);
	if (r == -1)
		DeleteFileW(w);	/* just created by us (CREATE_NEW) */
	free(w);
	return r;
}

int
cr_sys_lock_read(const char *path, char *buf, size_t cap, size_t *len,
    struct cr_sys_file_id *id, time_t *mtime, cr_err *err)
{
	BY_HANDLE_FILE_INFORMATION fi;
	ULARGE_INTEGER t;
	wchar_t *w;
	HANDLE h;
	DWORD code, got = 0;
	size_t n = 0;
	int r = -1;

	*len = 0;
	buf[0] = '\0';
	if ((w = wide_or_err(path, err)) == NULL)
		return -1;
	h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		code = GetLastError();
		if (cr_sys_win_missing(code))
			return 0;
		if (err != NULL && !err->set) {
			cr_sys_win_error(err, code, "cannot read lock", path,
			    next_lock);
			cr_err_detail_new(err, "path", json_string(path));
		}
		return -1;
	}
	if (!GetFileInformationByHandle(h, &fi) || (fi.dwFileAttributes &
	    (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0 ||
	    GetFileType(h) != FILE_TYPE_DISK) {
		if (err != NULL && !err->set) {
			cr_err_set(err, CR_KIND_IO, "lock %s is not a regular "
			    "file (a directory, a link or a device)", path);
			cr_err_detail_new(err, "path", json_string(path));
			cr_err_next(err, "move %s out of the way if no puppet "
			    "process is running, then rerun", path);
		}
		goto out;
	}
	while (n + 1 < cap && ReadFile(h, buf + n, (DWORD)(cap - 1 - n), &got,
	    NULL) && got > 0)
		n += got;
	buf[n] = '\0';
	*len = n;
	id_of(&fi, id);
	/* FILETIME: 100 ns since 1601; time_t: s since 1970 */
	t.LowPart = fi.ftLastWriteTime.dwLowDateTime;
	t.HighPart = fi.ftLastWriteTime.dwHighDateTime;
	*mtime = (time_t)(t.QuadPart / 10000000ULL - 11644473600ULL);
	r = 1;
out:
	CloseHandle(h);
	return r;
}

bool
cr_sys_lock_remove_if(const char *path, const struct cr_sys_file_id *id,
    cr_err *err)
{
	BY_HANDLE_FILE_INFORMATION fi;
	FILE_DISPOSITION_INFO del = { TRUE };
	struct cr_sys_file_id now;
	wchar_t *w;
	HANDLE h;
	DWORD code;
	bool ok = true;

	if ((w = wide_or_err(path, err)) == NULL)
		return false;
	h = CreateFileW(w, DELETE | FILE_READ_ATTRIBUTES, FILE_SHARE_READ |
	    FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		code = GetLastError();
		if (cr_sys_win_missing(code))
			return true;
		cr_sys_win_error(err, code, "cannot open stale lock", path,
		    next_lock);
		return false;
	}
	if (!GetFileInformationByHandle(h, &fi)) {
		cr_sys_win_error(err, GetLastError(), "cannot stat lock", path,
		    next_lock);
		ok = false;
	} else {
		id_of(&fi, &now);
		/* replaced meanwhile: judge again; else this very file goes */
		if (now.dev == id->dev && now.ino == id->ino &&
		    !SetFileInformationByHandle(h, FileDispositionInfo, &del,
		    sizeof(del))) {
			cr_sys_win_error(err, GetLastError(),
			    "cannot remove stale lock", path, next_lock);
			ok = false;
		}
	}
	CloseHandle(h);
	return ok;
}

bool
cr_sys_proc_identify(unsigned long pid, char *comm, size_t commlen,
    char *args, size_t argslen)
{
	wchar_t image[MAX_PATH * 2];
	DWORD n = (DWORD)(sizeof(image) / sizeof(image[0]));
	char *path = NULL, *base, *dot;
	bool ok = false;
	HANDLE h;

	if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
	    (DWORD)pid)) == NULL)
		return false;
	if (QueryFullProcessImageNameW(h, 0, image, &n) &&
	    (path = cr_sys_narrow_new(image)) != NULL) {
		for (char *p = path; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		snprintf(args, argslen, "%s", path);
		base = strrchr(path, '\\');
		base = base != NULL ? base + 1 : path;
		if ((dot = strrchr(base, '.')) != NULL &&
		    strcmp(dot, ".exe") == 0)
			*dot = '\0';
		snprintf(comm, commlen, "%s", base);
		ok = true;
	}
	free(path);
	CloseHandle(h);
	return ok;
}

bool
cr_sys_proc_name_get(char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return false;
}

void
cr_sys_proc_name_set(const char *name)
{
	(void)name;
}

unsigned long
cr_sys_getpid(void)
{
	return (unsigned long)GetCurrentProcessId();
}

void
cr_sys_sleep_ms(long ms)
{
	Sleep(ms > 0 ? (DWORD)ms : 0);
}

/* ms since the first call (a Windows long is 32 bits: no uptime in it) */
long
cr_sys_now_ms(void)
{
	static ULONGLONG t0;

	if (t0 == 0)
		t0 = GetTickCount64();
	return (long)(GetTickCount64() - t0);
}
