/*
 * cr_sys_write.c (Windows) - the writes of the platform seam (see
 * sys/cr_sys_write.h) on Win32: CreateFileW(CREATE_NEW) with a protected
 * SYSTEM + Administrators DACL for private files and directories,
 * FlushFileBuffers before every rename, MoveFileExW written through, and
 * the swap's exchange as three renames a kill can be finished from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>
#include <sddl.h>

#include "cr_killpoint.h"
#include "sys/cr_sys_write.h"
#include "sys/win32/cr_sys_win.h"

/* Full control for SYSTEM and Administrators, nothing inherited from the
 * parent (P), inherited by what a directory holds (OICI). */
#define PRIVATE_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

/* sa for a private object (*sd to LocalFree) or, not private, NULL
 * (inherit).  false with err set. */
static bool
security_new(bool private_, SECURITY_ATTRIBUTES *sa, PSECURITY_DESCRIPTOR *sd,
    cr_err *err)
{
	memset(sa, 0, sizeof(*sa));
	*sd = NULL;
	if (!private_)
		return true;
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(PRIVATE_SDDL,
	    SDDL_REVISION_1, sd, NULL)) {
		cr_sys_win_error(err, GetLastError(), "cannot build the private "
		    "access list for", "a new file", "report this Windows "
		    "version with the error");
		return false;
	}
	sa->nLength = sizeof(*sa);
	sa->lpSecurityDescriptor = *sd;
	sa->bInheritHandle = FALSE;
	return true;
}

static void
exists_detail(cr_err *err, DWORD code)
{
	if (code == ERROR_FILE_EXISTS || code == ERROR_ALREADY_EXISTS)
		cr_err_detail_new(err, "exists", json_true());
}

/* Creates w (CREATE_NEW) with data, flushed; removes it on failure. */
static bool
write_new_w(const wchar_t *w, const char *path, const void *data, size_t len,
    bool private_, cr_err *err)
{
	bool ok = false, made = false;
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	const char *p = data;
	DWORD n, code;

	if (!security_new(private_, &sa, &sd, err))
		goto out;
	/* CREATE_NEW fails on anything already there, a link included:
	 * nothing is followed or written through */
	if ((h = CreateFileW(w, GENERIC_WRITE, 0, private_ ? &sa : NULL,
	    CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL)) == INVALID_HANDLE_VALUE) {
		code = GetLastError();
		cr_sys_win_error(err, code, "cannot create", path, "remove what "
		    "is in the way if it is not Puppet's, then rerun");
		exists_detail(err, code);
		goto out;
	}
	made = true;
	while (len > 0) {
		if (!WriteFile(h, p, len > 0x40000000 ? 0x40000000 : (DWORD)len,
		    &n, NULL) || n == 0) {
			cr_sys_win_error(err, GetLastError(), "cannot write",
			    path, "free space on the volume and rerun");
			goto out;
		}
		p += n;
		len -= n;
	}
	if (!FlushFileBuffers(h)) {
		cr_sys_win_error(err, GetLastError(), "cannot flush", path,
		    "check the volume and rerun");
		goto out;
	}
	ok = true;
out:
	if (h != INVALID_HANDLE_VALUE && !CloseHandle(h) && ok) {
		cr_sys_win_error(err, GetLastError(), "cannot close", path,
		    "check the volume and rerun");
		ok = false;
	}
	if (!ok && made)
		DeleteFileW(w);
	if (sd != NULL)
		LocalFree(sd);
	return ok;
}

bool
cr_sys_write_new(const char *path, const void *data, size_t len,
    bool private_, cr_err *err)
{
	wchar_t *w = cr_sys_wide_new(path);
	bool ok = false;

	if (w == NULL)
		cr_err_set(err, CR_KIND_IO, "%s is not a valid UTF-8 path: "
		    "use a path Windows can name", path);
	else
		ok = write_new_w(w, path, data, len, private_, err);
	free(w);
	return ok;
}

/* MoveFileExW(from, to, flags | WRITE_THROUGH) with err set on failure. */
static bool
move(const char *from, const char *to, DWORD flags, cr_err *err)
{
	wchar_t *wf = cr_sys_wide_new(from), *wt = cr_sys_wide_new(to);
	bool ok = false;
	char *both = NULL;
	size_t n = strlen(from) + strlen(to) + sizeof(" to ");
	DWORD code;

	if (wf == NULL || wt == NULL) {
		cr_err_set(err, CR_KIND_IO, "%s or %s is not a valid UTF-8 "
		    "path: use a path Windows can name", from, to);
	} else if (!MoveFileExW(wf, wt, flags | MOVEFILE_WRITE_THROUGH)) {
		code = GetLastError();
		if ((both = malloc(n)) != NULL)
			snprintf(both, n, "%s to %s", from, to);
		cr_sys_win_error(err, code, "cannot rename", both != NULL ?
		    both : from, "close programs that hold files in it open "
		    "(an editor, a virus scanner) and rerun");
	} else {
		ok = true;
	}
	free(both);
	free(wf);
	free(wt);
	return ok;
}

bool
cr_sys_secret_new(const char *path, const void *data, size_t len,
    unsigned mode, long uid, long gid, cr_err *err)
{
	/* a key is private on Windows whatever POSIX's group may read */
	(void)mode;
	(void)uid;
	(void)gid;
	return cr_sys_write_new(path, data, len, true, err);
}

bool
cr_sys_install_file(const char *path, const void *data, size_t len,
    bool private_, cr_err *err)
{
	char *tmp = NULL;
	wchar_t *wtmp = NULL;
	bool ok = false;
	size_t n = strlen(path) + 32;

	if ((tmp = malloc(n)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to write %s", path);
		goto out;
	}
	snprintf(tmp, n, "%s.%lu.tmp", path,
	    (unsigned long)GetCurrentProcessId());
	if ((wtmp = cr_sys_wide_new(tmp)) == NULL) {
		cr_err_set(err, CR_KIND_IO, "%s is not a valid UTF-8 path: "
		    "use a path Windows can name", path);
		goto out;
	}
	DeleteFileW(wtmp);	/* a temp file a killed run of ours left */
	if (!write_new_w(wtmp, tmp, data, len, private_, err))
		goto out;
	if (!move(tmp, path, MOVEFILE_REPLACE_EXISTING, err)) {
		DeleteFileW(wtmp);
		goto out;
	}
	ok = true;
out:
	free(wtmp);
	free(tmp);
	return ok;
}

bool
cr_sys_mkdir(const char *path, bool private_, cr_err *err)
{
	wchar_t *w = cr_sys_wide_new(path);
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd = NULL;
	bool ok = false;
	DWORD code;

	if (w == NULL) {
		cr_err_set(err, CR_KIND_IO, "%s is not a valid UTF-8 path: "
		    "use a path Windows can name", path);
	} else if (security_new(private_, &sa, &sd, err)) {
		if (CreateDirectoryW(w, private_ ? &sa : NULL)) {
			ok = true;
		} else {
			code = GetLastError();
			cr_sys_win_error(err, code, "cannot create directory",
			    path, "remove what is in the way if it is not "
			    "Puppet's, then rerun");
			exists_detail(err, code);
		}
	}
	if (sd != NULL)
		LocalFree(sd);
	free(w);
	return ok;
}

bool
cr_sys_remove(const char *path, cr_err *err)
{
	wchar_t *w = cr_sys_wide_new(path);
	DWORD attr, code = 0;
	bool ok = false;

	if (w == NULL) {
		cr_err_set(err, CR_KIND_IO, "%s is not a valid UTF-8 path: "
		    "use a path Windows can name", path);
		return false;
	}
	attr = GetFileAttributesW(w);
	if (attr == INVALID_FILE_ATTRIBUTES) {
		code = GetLastError();
		ok = cr_sys_win_missing(code);
	} else {
		if ((attr & FILE_ATTRIBUTE_READONLY) != 0)
			SetFileAttributesW(w, attr & ~(DWORD)FILE_ATTRIBUTE_READONLY);
		/* a directory link is removed as a directory: the link, not
		 * what it points to */
		ok = (attr & FILE_ATTRIBUTE_DIRECTORY) != 0 ?
		    RemoveDirectoryW(w) != 0 : DeleteFileW(w) != 0;
		if (!ok) {
			code = GetLastError();
			ok = cr_sys_win_missing(code);
		}
	}
	if (!ok)
		cr_sys_win_error(err, code, "cannot remove", path,
		    "close what holds it open, remove it by hand, then rerun");
	free(w);
	return ok;
}

/* 1 path exists, 0 it does not, -1 cannot tell (err set). */
static int
exists(const char *path, cr_err *err)
{
	wchar_t *w = cr_sys_wide_new(path);
	DWORD attr, code;
	int r = -1;

	if (w == NULL) {
		cr_err_set(err, CR_KIND_IO, "%s is not a valid UTF-8 path: "
		    "use a path Windows can name", path);
	} else if ((attr = GetFileAttributesW(w)) != INVALID_FILE_ATTRIBUTES) {
		r = 1;
	} else if (cr_sys_win_missing(code = GetLastError())) {
		r = 0;
	} else {
		cr_sys_win_error(err, code, "cannot look at", path,
		    "check its permissions and rerun");
	}
	free(w);
	return r;
}

/* New "<b>.xchg", or NULL with err set. */
static char *
aside_new(const char *b, cr_err *err)
{
	size_t n = strlen(b) + sizeof(".xchg");
	char *x = malloc(n);

	if (x == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	else
		snprintf(x, n, "%s.xchg", b);
	return x;
}

int
cr_sys_dir_exchange(const char *a, const char *b, cr_err *err)
{
	char *x = aside_new(b, err);
	int r = -1;
	cr_err undo;

	if (x == NULL)
		return -1;
	/* files in b were flushed when they were written; each rename is
	 * written through before the next one starts */
	if (exists(x, err) != 0) {
		if (!err->set)
			cr_err_set(err, CR_KIND_IO, "%s is left from an "
			    "exchange that did not finish: rerun, which "
			    "finishes it first", x);
	} else if (move(a, x, 0, err)) {
		cr_killpoint("exchange-aside");
		if (move(b, a, 0, err)) {
			cr_killpoint("exchange-live");
			/* a holds b's now: 2 if the old a cannot go to b */
			r = move(x, b, 0, err) ? 1 : 2;
		} else {
			cr_err_init(&undo);	/* err keeps the first failure */
			move(x, a, 0, &undo);	/* a back in place */
			cr_err_clear(&undo);
		}
	}
	free(x);
	return r;
}

bool
cr_sys_dir_exchange_finish(const char *a, const char *b, bool *finished,
    cr_err *err)
{
	char *x = aside_new(b, err);
	bool ok = false;
	int xa, aa;

	*finished = false;
	if (x == NULL)
		return false;
	if ((xa = exists(x, err)) < 0)
		goto out;
	if (xa == 0) {
		ok = true;	/* nothing left: before or after the exchange */
		goto out;
	}
	if ((aa = exists(a, err)) < 0)
		goto out;
	/* killed after a -> x: b (the new one) becomes a; after b -> a:
	 * only x -> b is left */
	if (aa == 0 && !move(b, a, 0, err))
		goto out;
	if (!move(x, b, 0, err))
		goto out;
	*finished = true;
	ok = true;
out:
	free(x);
	return ok;
}
