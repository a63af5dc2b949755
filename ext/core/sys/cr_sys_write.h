/*
 * cr_sys_write.h - the platform seam for writing an ssldir: secret files,
 * private directories, atomic installs and the directory exchange of the
 * swap, one implementation per platform (sys/posix/, sys/win32/).
 *
 * "private" is Puppet's access for a private key: POSIX mode 0600 (0700
 * for a directory) for this process's user; Windows a protected DACL
 * (nothing inherited) granting full control to SYSTEM and BUILTIN\
 * Administrators only, inherited by what a private directory holds, as
 * Puppet's Windows security gives its ssldir.  Never wider.  Not private:
 * POSIX 0644 / 0755, Windows the DACL inherited from the parent.
 */
#ifndef CR_SYS_WRITE_H
#define CR_SYS_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

/*
 * Creates path, which must not exist (a link there is not followed:
 * POSIX O_EXCL|O_NOFOLLOW, Windows CREATE_NEW), with data, flushed to disk
 * (fsync / FlushFileBuffers) before it is closed.  On failure what was
 * created is removed; err has CR_KIND_IO (details.exists when path
 * already existed).
 */
bool cr_sys_write_new(const char *path, const void *data, size_t len,
    bool private_, cr_err *err);

/*
 * Creates the secret file path (a private key), which must not exist (a
 * link there is not followed), with data.  POSIX: open O_EXCL|O_NOFOLLOW|
 * O_NOCTTY, chown to uid/gid unless both are -1, exactly mode (at most
 * 0640: Puppet's group may read a key), fsync of the file and of its
 * directory; a failed creation removes the file only while it is still
 * the one created.  Windows: private (Puppet's DACL; mode, uid and gid
 * are POSIX's), as cr_sys_write_new.  The caller cleanses data.
 */
bool cr_sys_secret_new(const char *path, const void *data, size_t len,
    unsigned mode, long uid, long gid, cr_err *err);

/*
 * Installs data at path atomically: a new temp file beside it written and
 * flushed as cr_sys_write_new does, then renamed over path (POSIX
 * rename + fsync of the directory; Windows MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH).  A reader sees the
 * old file or the new one, never a part.
 */
bool cr_sys_install_file(const char *path, const void *data, size_t len,
    bool private_, cr_err *err);

/* Creates directory path, which must not exist (details.exists). */
bool cr_sys_mkdir(const char *path, bool private_, cr_err *err);

/*
 * Removes the file, the empty directory or the link (symlink, junction:
 * the link itself, never its target) at path.  A missing path is not an
 * error.  POSIX unlink, or rmdir for a directory; Windows DeleteFileW or
 * RemoveDirectoryW (a read-only attribute cleared first, as Puppet's own
 * files may carry it).
 */
bool cr_sys_remove(const char *path, cr_err *err);

/*
 * Exchanges the directories a and b (same volume): afterwards a holds
 * what b held and b what a held.  1 done, 0 this filesystem cannot
 * (POSIX: renameat2 answered EINVAL, EXDEV, ENOSYS or ENOTSUP; the caller
 * falls back), -1 error before a changed (err set), 2 a holds what b held
 * but the exchange could not be made durable or finished (err set: POSIX,
 * a parent's fsync failed; Windows, the last rename failed, which
 * cr_sys_dir_exchange_finish completes).
 * POSIX: one renameat2(RENAME_EXCHANGE), then both parents fsync'd.
 * Windows: NTFS has no exchange, so three renames, each written through:
 * a -> "<b>.xchg", b -> a, "<b>.xchg" -> b.  A kill between them leaves
 * "<b>.xchg", from which cr_sys_dir_exchange_finish completes the
 * exchange.
 */
int cr_sys_dir_exchange(const char *a, const char *b, cr_err *err);

/*
 * Completes an exchange of a and b that a kill interrupted (Windows: a
 * "<b>.xchg" is left: a missing -> b becomes a, then "<b>.xchg" becomes b),
 * so that a holds a complete identity again.  *finished: there was one to
 * complete.  POSIX: the exchange is one step, nothing is ever left.
 */
bool cr_sys_dir_exchange_finish(const char *a, const char *b, bool *finished,
    cr_err *err);

#endif
