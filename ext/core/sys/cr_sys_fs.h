/*
 * cr_sys_fs.h - the platform seam for reading an ssldir and a confdir.
 *
 * What the status task, the settings resolver and the fact need from the
 * file system, with one implementation per platform (sys/posix/,
 * sys/win32/).  Paths are UTF-8; on Windows both '/' and '\' separate
 * components (Puppet prints settings with '/').  Nothing here writes.
 */
#ifndef CR_SYS_FS_H
#define CR_SYS_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_err.h"

/* Flags of cr_sys_read_file and cr_sys_stat. */
#define CR_SYS_FOLLOW 0u	/* a symlink/reparse point is followed */
#define CR_SYS_NOFOLLOW 1u	/* the last component must not be one */

enum cr_sys_ftype {
	CR_SYS_MISSING = 0,	/* no such path */
	CR_SYS_FILE,
	CR_SYS_DIR,
	CR_SYS_LINK,		/* symlink, junction or other reparse point */
	CR_SYS_FIFO,
	CR_SYS_SOCKET,
	CR_SYS_DEVICE,
	CR_SYS_OTHER,
};

#define CR_SYS_ID_MAX 192

struct cr_sys_stat {
	enum cr_sys_ftype type;
	unsigned long long size;
	unsigned int mode;		/* permission bits; 0 on Windows */
	char owner[CR_SYS_ID_MAX];	/* uid (POSIX) or owner SID (Windows) */
	char group[CR_SYS_ID_MAX];	/* gid (POSIX) or group SID (Windows) */
	bool owned_by_me;		/* owner is this process's (effective) user */
	/* Readable by no one but its owner (POSIX: no group/other bits) or,
	 * on Windows, the DACL allows no one but SYSTEM, Administrators and
	 * the owner when the owner is one of those two. */
	bool private_access;
};

/* "FIFO", "directory", ... for messages. */
const char *cr_sys_ftype_name(enum cr_sys_ftype t);

/*
 * Reads a whole regular file into a new NUL-terminated buffer (free with
 * free(), or cr_secret_free() for key material).  Never blocks on a FIFO;
 * refuses anything but a regular file and files larger than max.  On
 * failure err has CR_KIND_IO with the path (details.missing = true when
 * the path does not exist), or CR_KIND_PATH_SYMLINK when flags has
 * CR_SYS_NOFOLLOW and path is a link.
 */
bool cr_sys_read_file(const char *path, size_t max, unsigned flags,
    char **buf, size_t *len, cr_err *err);

/*
 * Type, size, owner and access of path (flags: follow or not).  1 when it
 * exists, 0 when it does not (st->type = CR_SYS_MISSING), -1 on error
 * (err set, CR_KIND_IO).
 */
int cr_sys_stat(const char *path, unsigned flags, struct cr_sys_stat *st,
    cr_err *err);

/*
 * The entry names of directory path ("." and ".." left out), sorted
 * bytewise, at most max of them (more is an error).  *names is a new
 * array of new strings: free with cr_sys_names_free.
 */
bool cr_sys_list_dir(const char *path, size_t max, char ***names,
    size_t *count, cr_err *err);
void cr_sys_names_free(char **names, size_t count);
#ifndef _WIN32
/* cr_sys_list_dir of the open directory dfd, which stays open (path is
 * for messages): the tree walk of cr_fs_walk.c lists what it opened with
 * O_NOFOLLOW, not a path that could be swapped for a symlink. */
bool cr_sys_list_dir_at(int dfd, const char *path, size_t max,
    char ***names, size_t *count, cr_err *err);
#endif

/* The target of the symlink at path, as a new string; NULL if path is not
 * a symlink (or cannot be read). */
char *cr_sys_readlink(const char *path);

/* The absolute path of path with its symlinks resolved, as a new string;
 * NULL with errno set when it cannot be resolved (missing, ...). */
char *cr_sys_realpath(const char *path);

/* New "a/b" (no separator added when a ends with one), NULL when out of
 * memory.  '/' on every platform: Windows takes it, Puppet prints it. */
char *cr_sys_path_join(const char *a, const char *b);
/* Absolute on this platform ("/x"; on Windows "C:/x", "C:\x", "\\srv\x"). */
bool cr_sys_path_absolute(const char *path);

#endif
