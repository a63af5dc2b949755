/*
 * cr_fs.h - atomic installs and the ssldir tree copy/compare/remove: POSIX in
 * cr_fs.c (file I/O) and cr_fs_tree.c (the trees, on the walk of
 * cr_fs_walk.c), Windows in sys/win32/cr_fs_win.c on the platform seam
 * (what differs there is said at its top; the descriptor-based calls are
 * POSIX only).  The bounded reads and path helpers are in cr_fs_read.h.
 */
#ifndef CR_FS_H
#define CR_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cr_err.h"

#include "cr_fs_read.h"

#ifndef _WIN32
/* write(2) until all of data is written (EINTR retried; a 0-byte write is
 * EIO).  false with errno set. */
bool cr_write_all(int fd, const void *data, size_t len);
/* fsync, then a checked close (a failed close may have lost what was
 * written); fd is closed in every case.  what names the file in err
 * (CR_KIND_IO with details.errno). */
bool cr_fd_sync_close(int fd, const char *what, cr_err *err);
/*
 * Fills the new, empty file open at fd and closes it (in every case):
 * fchown (uid/gid (uid_t)-1 / (gid_t)-1 = keep), exactly mode (fchmod,
 * after the fchown that may clear set-id bits), all of data, then
 * cr_fd_sync_close.  The fsync of the directory is the caller's.
 */
bool cr_fd_fill_close(int fd, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, const char *what, cr_err *err);
/* openat(dfd, name) of a directory that is not a symlink (O_NOFOLLOW |
 * O_DIRECTORY | O_CLOEXEC): the descriptor, or -1 with errno set. */
int cr_dir_open_at(int dfd, const char *name);
#endif

/*
 * Installs data at path atomically: a temp file ".<name>.XXXXXX" in path's
 * own directory (O_EXCL|O_NOFOLLOW), write-all, fchown (uid/gid (uid_t)-1 /
 * (gid_t)-1 = keep), fchmod(mode), fsync, checked close, rename over path
 * (a symlink at path is replaced, never written through), fsync of the
 * directory.  On failure the temp file is unlinked, path is untouched and
 * err has CR_KIND_IO with details.errno.
 */
bool cr_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, cr_err *err);
/* fsync of a directory (makes renames/creations in it durable). */
bool cr_dir_fsync(const char *dir, cr_err *err);
/* mkdir -p: missing components are created with exactly `mode` (not
 * umasked) and their parent fsync'd; existing directories are kept as
 * they are; a component that is not a directory is an error. */
bool cr_mkdir_p(const char *path, mode_t mode, cr_err *err);
#ifndef _WIN32
/* CR_KIND_PATH_SYMLINK (a component that must not be followed is a
 * symlink) comes from sys/cr_sys_fs.h. */
/*
 * mkdir -p that follows no symlink: every component is opened with
 * openat(O_NOFOLLOW|O_DIRECTORY) from "/" and the missing ones are made
 * with mkdirat (exactly `mode`, parent fsync'd).  Returns an open
 * descriptor of the last directory, or -1 with err set
 * (CR_KIND_PATH_SYMLINK with details.path when a component is a symlink).
 */
int cr_mkdir_p_nofollow(const char *path, mode_t mode, cr_err *err);
/* cr_tree_copy into the new directory name under the open directory pfd
 * (dst is for messages). */
bool cr_tree_copy_at(const char *src, int pfd, const char *name,
    const char *dst, cr_err *err);
#endif

/*
 * The permission bits and owner of path, not followed when it is a
 * symlink: 1, 0 when path does not exist, -1 on another error (errno
 * set).  Windows: mode 0600 when only its owner, SYSTEM and Administrators
 * may read it, else 0644, and uid/gid (uid_t)-1/(gid_t)-1 (the DACL
 * decides, cr_file_write_atomic takes only private or not).
 */
int cr_file_meta(const char *path, mode_t *mode, uid_t *uid, gid_t *gid);

/*
 * cr_tree_copy to dst after dst's parent directories were made (missing
 * ones 0700, private on Windows) following no symlink: CR_KIND_PATH_SYMLINK
 * with details.path when a component is one (POSIX: openat(O_NOFOLLOW) from
 * "/", the copy made under the open parent; Windows: each component looked
 * at without following a reparse point, then made).
 */
bool cr_tree_copy_nofollow(const char *src, const char *dst, cr_err *err);

/* Depth and size bounds of the tree functions below. */
#define CR_TREE_MAX_DEPTH 32
#define CR_TREE_MAX_ENTRIES 100000	/* per directory */

/*
 * Recursive copy of a directory (an ssldir) to dst, which must not exist:
 * modes, owners, atime/mtime preserved; symlinks copied as symlinks (never
 * followed); regular files fsync'd; devices, fifos and sockets refused.
 * dst is created 0700 and gets src's mode, owner and times at the end; a
 * failed copy removes what it created.
 */
bool cr_tree_copy(const char *src, const char *dst, cr_err *err);
/*
 * Verifies that b is a faithful copy of a: same names, types, modes,
 * owners, symlink targets and byte-identical regular files (times are not
 * compared).  false with err set on the first difference (CR_KIND_IO,
 * details.path = the relative path, details.difference = "missing" |
 * "extra" | "type" | "mode" | "owner" | "size" | "content" | "target")
 * or on an error reading either tree.
 */
bool cr_tree_compare(const char *a, const char *b, cr_err *err);
/* rm -rf without following symlinks (a symlink is removed, not its
 * target).  A missing path is not an error. */
bool cr_tree_remove(const char *path, cr_err *err);

#endif
