/*
 * cr_sys_lock.h - the platform seam under cr_lock.c: Puppet's lock files
 * (agent_catalog_run.lock, the ssl pidlock: a file created exclusively
 * holding the creator's pid), which process holds one, and the name this
 * process shows to Puppet's own stale-lock test.  One implementation per
 * platform (sys/posix/, sys/win32/); cr_lock.c keeps Puppet's rules
 * (parsing the pid, judging a holder stale, waiting).
 */
#ifndef CR_SYS_LOCK_H
#define CR_SYS_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cr_err.h"
#include "sys/cr_sys_proc.h"	/* cr_sys_getpid, cr_sys_now_ms */

/* Which file a lock is: it is removed only while it is still that one. */
struct cr_sys_file_id {
	unsigned long long dev;	/* st_dev; Windows the volume serial */
	unsigned long long ino;	/* st_ino; Windows the file index */
};

/*
 * Creates the lock file path exclusively (a link there is not followed:
 * POSIX O_EXCL|O_NOFOLLOW mode 0644, Windows CREATE_NEW) holding data.
 * 1 created (*id set), 0 something is there already, -1 error (err set,
 * what was created removed).
 */
int cr_sys_lock_create(const char *path, const char *data, size_t len,
    struct cr_sys_file_id *id, cr_err *err);

/*
 * Reads up to cap-1 bytes of the existing lock path into buf (NUL added;
 * *len the bytes read), never following a link, never blocking on a FIFO,
 * with its identity and modification time.  1 read, 0 it is gone, -1 it
 * cannot be read or is not a regular file (err set, details.path).
 */
int cr_sys_lock_read(const char *path, char *buf, size_t cap, size_t *len,
    struct cr_sys_file_id *id, time_t *mtime, cr_err *err);

/*
 * Removes path if it is still the file id names (a lock replaced since it
 * was read is left alone).  true also when it is gone or replaced.
 */
bool cr_sys_lock_remove_if(const char *path, const struct cr_sys_file_id *id,
    cr_err *err);

/*
 * What Puppet's stale-lock test sees of the live process pid: comm (POSIX
 * /proc/<pid>/comm; Windows the image's base name without ".exe",
 * lowercased) and args (POSIX the command line, NULs as spaces; Windows
 * the image's full path, lowercased).  false when they cannot be read.
 */
bool cr_sys_proc_identify(unsigned long pid, char *comm, size_t commlen,
    char *args, size_t argslen);

/*
 * This process's name as that test sees it (POSIX prctl PR_GET_NAME /
 * PR_SET_NAME).  Windows cannot rename a running process: get answers
 * false, set does nothing (the image is cert_regen.exe).
 */
bool cr_sys_proc_name_get(char *buf, size_t len);
void cr_sys_proc_name_set(const char *name);

#endif
