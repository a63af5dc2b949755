/*
 * cr_lock.h - Puppet-compatible pid lock files, and the agent's
 * "administratively disabled" marker.
 *
 * Puppet (lib/puppet/util/pidlock.rb, 7.x) guards a catalog run with
 * Puppet[:agent_catalog_run_lockfile] ($statedir/agent_catalog_run.lock) and
 * the SSL bootstrap with Puppet[:ssl_lockfile] ($ssldir/ssl.lock): a file
 * created with O_CREAT|O_EXCL holding the holder's PID in decimal, no newline.
 * Before failing, Puppet clears a lock as stale when its content is not an
 * integer, when kill(pid, 0) says ESRCH, or when the PID is not a puppet
 * process: `ps -o comm=` must match /puppet(-.*)?$/, or match /ruby/ with
 * `ps -o args=` matching /puppet/.  cr_lock does the same so that neither
 * side ever steals the other's live lock, with these differences:
 *   - a cert_regen process (comm starting with "cert_regen") is a live holder;
 *   - while this process holds a lock its comm is CR_LOCK_COMM (restored when
 *     the last lock is released), so Puppet's own check sees a puppet process
 *     and does not clear our lock as stale;
 *   - content that is not a PID is stale only once the file is older than
 *     CR_LOCK_GARBAGE_GRACE_S (a holder may be between create and write);
 *   - a symlink at the lock path is never followed: acquire fails;
 *   - a stale lock is removed only if it is still the same inode we judged.
 * Locks are not re-entrant across handles: like Puppet's `mine?`, a lock that
 * holds this process's PID is taken as ours.  Acquire and release from the
 * main thread (PR_SET_NAME names the calling thread; /proc/PID/comm is the
 * main thread's).
 */
#ifndef CR_LOCK_H
#define CR_LOCK_H

#include <stdbool.h>

#include "cr_err.h"
#include "cr_settings.h"

/* Our comm while holding a lock: matches Puppet's /puppet(-.*)?$/, <= 15 bytes. */
#define CR_LOCK_COMM "cr_regen-puppet"
#define CR_LOCK_GARBAGE_GRACE_S 2

typedef struct cr_lock cr_lock;

/*
 * Creates the lock file at path with our PID, clearing stale locks, polling
 * until timeout_ms (0: one try) has passed.  The directory must exist.
 * NULL on failure, err set: CR_KIND_LOCKED on timeout, with details
 * {path, pid (or null), holder (its command line), holder_comm, timeout_ms}
 * and a msg saying what to do; CR_KIND_IO for a symlink at path or an I/O
 * error; CR_KIND_INVALID_PARAMETER for bad arguments.
 */
cr_lock *cr_lock_acquire(const char *path, long timeout_ms, cr_err *err);
/* Removes the file only if it still is ours (same inode, our PID, and we are
 * the process that took it), then frees l.  Accepts NULL. */
void cr_lock_release(cr_lock *l);
/* Borrowed: the path l locks. */
const char *cr_lock_path(const cr_lock *l);

/*
 * The lock pair: Puppet's agent run lock and SSL lock
 * (agent_catalog_run_lockfile, ssl_lockfile of set), taken in that order as
 * a puppet run takes them; their directories are created the way Puppet
 * creates them on a first run.  timeout_ms < 0: CR_LOCK_PAIR_TIMEOUT_MS.
 * locks[0..1] get the locks (release both, NULL is fine); false with err
 * set (CR_KIND_LOCKED with a next step when a puppet run holds one).
 */
#define CR_LOCK_PAIR_TIMEOUT_MS 300000	/* wait for a running agent */
bool cr_lock_pair(const cr_settings *set, long timeout_ms, cr_lock **locks,
    cr_err *err);
/*
 * A copy of the ssldir made while this process holds Puppet's ssl_lockfile
 * carries that lock file: removes it from the copy (a lock is not part of
 * the identity).  A lockfile outside the ssldir is not in the copy.
 */
bool cr_lock_drop_copy(const cr_settings *set, const char *copy,
    cr_err *err);

/*
 * Reads Puppet[:agent_disabled_lockfile] ($statedir/agent_disabled.lock, JSON
 * {"disabled_message": "..."} written by `puppet agent --disable`).
 * *disabled: the file exists (Puppet's test).  *message_out: caller's copy of
 * disabled_message, or NULL (none, not JSON, or not a string).  false (err
 * set) only when existence cannot be decided or the file cannot be read.
 */
bool cr_agent_disabled(const char *path, bool *disabled, char **message_out,
    cr_err *err);

#endif
