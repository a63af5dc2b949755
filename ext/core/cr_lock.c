/*
 * cr_lock.c - Puppet-compatible pid lock files (see cr_lock.h).
 */
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "cr_fs.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_swap.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_lock.h"
#include "sys/cr_sys_proc.h"
#include "sys/cr_sys_write.h"

#define LOCK_POLL_MIN_MS 50
#define LOCK_POLL_MAX_MS 500
#define LOCK_DATA_MAX 64		/* a PID, maybe with whitespace */
#define HOLDER_ARGS_MAX 1024
#define DISABLED_MAX ((size_t)64 << 10)

struct cr_lock {
	char *path;
	pid_t pid;		/* the process that created it */
	struct cr_sys_file_id id;
};

/* What is in a lock file we could not create. */
struct holder {
	bool pid_valid;
	pid_t pid;
	struct cr_sys_file_id id;
	time_t mtime;
	bool alive;		/* kill(pid, 0) did not say ESRCH */
	bool known;		/* comm could be read */
	char comm[32];
	char args[HOLDER_ARGS_MAX];
};

enum verdict { V_HELD, V_STALE, V_MINE };
enum attempt { A_CREATED, A_EXISTS, A_GONE, A_ERROR };

/* Our comm is CR_LOCK_COMM while name_refs > 0. */
static int name_refs;
static char saved_comm[17];

static void
name_hold(void)
{
	if (name_refs++ == 0) {
		memset(saved_comm, 0, sizeof(saved_comm));
		if (!cr_sys_proc_name_get(saved_comm, sizeof(saved_comm)))
			saved_comm[0] = '\0';
		cr_sys_proc_name_set(CR_LOCK_COMM);
	}
}

static void
name_drop(void)
{
	if (name_refs > 0 && --name_refs == 0 && saved_comm[0] != '\0')
		cr_sys_proc_name_set(saved_comm);
}

/* Ruby's Integer() on what Puppet writes: optional blanks, decimal digits. */
static bool
parse_pid(const char *s, pid_t *pid)
{
	long long v = 0;
	bool digits = false;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		digits = true;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return false;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!digits || *s != '\0' || v <= 0)
		return false;
	*pid = (pid_t)v;
	return true;
}

/* comm and command line of a live process (sys/cr_sys_lock.h). */
static void
holder_identify(struct holder *h)
{
	h->alive = cr_sys_pid_alive((unsigned long)h->pid);
	if (h->alive)
		h->known = cr_sys_proc_identify((unsigned long)h->pid, h->comm,
		    sizeof(h->comm), h->args, sizeof(h->args));
}

/* Puppet's test: comm =~ /ruby/ && args =~ /puppet/ || comm =~ /puppet(-.*)?$/;
 * plus our own name. */
static bool
holder_is_puppet(const struct holder *h)
{
	const char *p;

	if (strstr(h->comm, "ruby") != NULL && strstr(h->args, "puppet") != NULL)
		return true;
	for (p = h->comm; (p = strstr(p, "puppet")) != NULL; p++)
		if (p[6] == '\0' || p[6] == '-')
			return true;
	return strncmp(h->comm, "cert_regen", 10) == 0;
}

static enum verdict
judge(const struct holder *h)
{
	if (!h->pid_valid)
		return time(NULL) - h->mtime >= CR_LOCK_GARBAGE_GRACE_S ?
		    V_STALE : V_HELD;
	if ((unsigned long)h->pid == cr_sys_getpid())
		return V_MINE;
	if (!h->alive)
		return V_STALE;
	if (!h->known)		/* alive but /proc hidden from us: keep it */
		return V_HELD;
	return holder_is_puppet(h) ? V_HELD : V_STALE;
}

/* O_EXCL create + our PID, as Puppet's Lockfile#lock writes it. */
static enum attempt
try_create(const char *path, struct cr_lock *l, cr_err *err)
{
	char data[32];
	size_t len;
	int r;

	len = (size_t)snprintf(data, sizeof(data), "%d", (int)l->pid);
	r = cr_sys_lock_create(path, data, len, &l->id, err);
	return r == 1 ? A_CREATED : r == 0 ? A_EXISTS : A_ERROR;
}

/* Reads an existing lock; A_GONE if it vanished meanwhile. */
static enum attempt
inspect(const char *path, struct holder *h, cr_err *err)
{
	char data[LOCK_DATA_MAX + 1];
	size_t n = 0;
	int r;

	memset(h, 0, sizeof(*h));
	r = cr_sys_lock_read(path, data, sizeof(data), &n, &h->id, &h->mtime,
	    err);
	if (r != 1)
		return r == 0 ? A_GONE : A_ERROR;
	h->pid_valid = strlen(data) == n && parse_pid(data, &h->pid);
	if (h->pid_valid)
		holder_identify(h);
	return A_EXISTS;
}

/* Removes path only if it still is the file we judged stale. */
static bool
remove_stale(const char *path, const struct holder *h, cr_err *err)
{
	return cr_sys_lock_remove_if(path, &h->id, err);
}

static void
set_locked_error(cr_err *err, const char *path, const struct holder *h,
    long timeout_ms)
{
	const char *who = h->args[0] ? h->args : h->comm[0] ? h->comm : "?";

	if (err == NULL || err->set)
		return;
	if (h->pid_valid)
		cr_err_set(err, CR_KIND_LOCKED, "%s is held by process %d (%s) "
		    "after waiting %ld ms: a puppet agent run (or another "
		    "cert_regen) is in progress. Wait for it to finish and retry, "
		    "or run `puppet agent --disable \"certificate regeneration\"`, "
		    "wait for the current run to end, retry, then `puppet agent "
		    "--enable`", path, (int)h->pid, who, timeout_ms);
	else
		cr_err_set(err, CR_KIND_LOCKED, "%s is being written by another "
		    "process (no PID in it yet) after waiting %ld ms; retry, or "
		    "remove it if no puppet process is running", path, timeout_ms);
	cr_err_detail_new(err, "path", cr_json_str(path));
	cr_err_detail_new(err, "pid", h->pid_valid ? json_integer(h->pid) : json_null());
	cr_err_detail_new(err, "holder", h->args[0] ? cr_json_str(h->args) : json_null());
	cr_err_detail_new(err, "holder_comm", h->comm[0] ? cr_json_str(h->comm) : json_null());
	cr_err_detail_new(err, "timeout_ms", json_integer(timeout_ms));
}

cr_lock *
cr_lock_acquire(const char *path, long timeout_ms, cr_err *err)
{
	struct cr_lock *l = NULL, *ret = NULL;
	struct holder h;
	long deadline, left, pause = LOCK_POLL_MIN_MS;
	bool named = false;
	enum attempt a;

	if (path == NULL || path[0] == '\0' || timeout_ms < 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_lock_acquire: a lock path and a timeout >= 0 are needed");
		goto out;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->path = strdup(path)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	l->pid = (pid_t)cr_sys_getpid();
	deadline = cr_sys_now_ms() + timeout_ms;
	name_hold();		/* before the file exists: Puppet must see a puppet */
	named = true;
	for (;;) {
		if ((a = try_create(path, l, err)) == A_CREATED)
			break;
		if (a == A_ERROR || (a = inspect(path, &h, err)) == A_ERROR)
			goto out;
		if (a == A_GONE)
			continue;
		switch (judge(&h)) {
		case V_MINE:	/* Puppet's `mine?`: same PID, it is ours */
			l->id = h.id;
			goto got;
		case V_STALE:
			if (!remove_stale(path, &h, err))
				goto out;
			continue;
		case V_HELD:
			break;
		}
		if ((left = deadline - cr_sys_now_ms()) <= 0) {
			set_locked_error(err, path, &h, timeout_ms);
			goto out;
		}
		cr_sys_sleep_ms(pause < left ? pause : left);
		if ((pause *= 2) > LOCK_POLL_MAX_MS)
			pause = LOCK_POLL_MAX_MS;
	}
got:
	ret = l;
	l = NULL;
out:
	if (ret == NULL && named)
		name_drop();
	if (l != NULL)
		free(l->path);
	free(l);
	return ret;
}

void
cr_lock_release(cr_lock *l)
{
	char data[LOCK_DATA_MAX + 1];
	struct cr_sys_file_id id;
	time_t mtime;
	size_t n = 0;
	pid_t pid;

	if (l == NULL)
		return;
	if ((unsigned long)l->pid != cr_sys_getpid())	/* a forked child */
		goto out;
	name_drop();
	if (cr_sys_lock_read(l->path, data, sizeof(data), &n, &id, &mtime,
	    NULL) != 1 || id.dev != l->id.dev || id.ino != l->id.ino)
		goto out;
	if (strlen(data) == n && parse_pid(data, &pid) && pid == l->pid)
		cr_sys_lock_remove_if(l->path, &id, NULL);
out:
	free(l->path);
	free(l);
}

const char *
cr_lock_path(const cr_lock *l)
{
	return l != NULL ? l->path : NULL;
}

bool
cr_agent_disabled(const char *path, bool *disabled, char **message_out,
    cr_err *err)
{
	struct cr_sys_stat st;
	bool ok = false;
	char *buf = NULL;
	json_t *j = NULL, *m;
	size_t len = 0;
	int r;

	*disabled = false;
	*message_out = NULL;
	/* File.exist? follows symlinks */
	if ((r = cr_sys_stat(path, CR_SYS_FOLLOW, &st, err)) != 1) {
		ok = r == 0;
		goto out;
	}
	*disabled = true;
	if (st.type != CR_SYS_FILE || st.size > DISABLED_MAX) {
		ok = true;	/* exists, but no message we would read */
		goto out;
	}
	if (!cr_sys_read_file(path, DISABLED_MAX, CR_SYS_FOLLOW, &buf, &len,
	    err))
		goto out;
	j = json_loadb(buf, len, 0, NULL);
	if (json_is_object(j) &&
	    json_is_string(m = json_object_get(j, "disabled_message")) &&
	    (*message_out = strdup(json_string_value(m))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = true;
out:
	json_decref(j);
	free(buf);
	return ok;
}

/*
 * A copy of the ssldir made while this process holds Puppet's ssl_lockfile
 * carries that lock file: drop it from the copy.  A lock is not part of
 * the identity, and the copy would outlive this process as a lock nobody
 * holds (in the new live ssldir, or put back from the backup later).
 */
bool
cr_lock_drop_copy(const cr_settings *set, const char *copy, cr_err *err)
{
	const char *rel;
	char *path = NULL;
	bool ok = true;
	cr_err e;

	cr_err_init(&e);
	/* a lockfile outside the ssldir is not in the copy */
	rel = cr_swap_relative(cr_settings_get(set, "ssldir"),
	    cr_settings_get(set, "ssl_lockfile"), "ssl_lockfile", &e);
	if (rel != NULL && (path = cr_path_join(copy, rel)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		ok = false;
	} else if (path != NULL) {
		ok = cr_sys_remove(path, err);
	}
	cr_err_clear(&e);
	free(path);
	return ok;
}

/* Takes Puppet's agent run lock and SSL lock, as a puppet run does
 * (their directories are created the way Puppet creates them on a first
 * run). timeout_ms < 0: CR_LOCK_PAIR_TIMEOUT_MS. */
bool
cr_lock_pair(const cr_settings *set, long timeout_ms, cr_lock **locks,
    cr_err *err)
{
	const char *paths[2];
	char *dir = NULL;
	long t = timeout_ms >= 0 ? timeout_ms : CR_LOCK_PAIR_TIMEOUT_MS;
	bool ok = false;
	int i;

	paths[0] = cr_settings_get(set, "agent_catalog_run_lockfile");
	paths[1] = cr_settings_get(set, "ssl_lockfile");
	for (i = 0; i < 2; i++) {
		free(dir);
		dir = NULL;
		if (paths[i] == NULL || (dir = strdup(paths[i])) == NULL) {
			cr_err_set(err, CR_KIND_SETTINGS, "no lock file setting");
			goto out;
		}
		if (!cr_mkdir_p(dirname(dir), 0755, err) ||
		    (locks[i] = cr_lock_acquire(paths[i], t, err)) == NULL) {
			if (cr_err_is(err, CR_KIND_LOCKED))
				cr_err_next(err, "a puppet run holds the lock: "
				    "wait for it to finish (or stop it), then "
				    "run the task again");
			goto out;
		}
	}
	ok = true;
out:
	free(dir);
	return ok;
}
