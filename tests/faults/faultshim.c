/*
 * faultshim.c - an LD_PRELOAD library that makes one file system call fail
 * on demand, to drive a program's error paths (as jq's and jansson's test
 * suites do for write/fsync/rename and malloc).
 *
 * Wrapped ("the counted set"): open open64 openat openat64 __open_2
 * __open64_2 __openat_2 __openat64_2 creat fopen fopen64 mkstemp mkostemp,
 * write pwrite writev, fsync fdatasync, rename renameat renameat2, link
 * linkat symlink symlinkat, mkdir mkdirat, and with FAULT_OPS=all also
 * unlink unlinkat rmdir fchmod fchown.
 *
 * A call counts only when it acts on a path under FAULT_PATH_PREFIX (for fd
 * calls: the fd's path, read from /proc/self/fd; for *at calls: the path
 * resolved against the directory fd), so the dynamic loader, OpenSSL's
 * config, libcurl, sockets and pipes are never counted nor failed.
 *
 * Environment:
 *   FAULT_PATH_PREFIX  required: nothing happens without it
 *   FAULT_AT=N         fail the Nth counted call (1-based); 0 or unset: never
 *   FAULT_MODE         once (default): only call N fails; from: N and every
 *                      later counted call fail (a disk that stays full)
 *   FAULT_ERRNO        EIO (default) | ENOSPC | EACCES | EROFS | EDQUOT |
 *                      EPERM | ENOMEM | a number
 *   FAULT_OPS          default | all (adds unlink unlinkat rmdir fchmod fchown)
 *   FAULT_EXE          only act in processes whose program name (basename
 *                      of argv[0]) is this
 *   FAULT_COUNT_FILE   at exit, a process that counted at least one call
 *                      writes "<count>\n" here (the range of N to drive)
 *   FAULT_TRACE_FILE   every counted call is appended as
 *                      "<n> <op> <path>[ FAILED <errno>]"
 *   FAULT_NO_EXCHANGE=1  renameat2(RENAME_EXCHANGE) under the prefix fails
 *                      with EINVAL, as on a file system that cannot exchange
 *   FAULT_PLANT=PATH=TARGET  right before the FAULT_PLANT_NTH'th (default
 *                      1st) create (open with O_CREAT, mkdir) of exactly
 *                      PATH, a symlink PATH -> TARGET is planted: an
 *                      attacker winning a race
 *
 * Counting is per process.  The shim's own bookkeeping goes through the
 * real functions and is never counted.  No data passed to write() is ever
 * recorded (it may be key material).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

extern char *program_invocation_short_name;

#define EXPORT __attribute__((visibility("default")))

static struct {
	bool init, active, all_ops, from, no_exchange, planted;
	long plant_nth;
	char plant_path[PATH_MAX], plant_target[PATH_MAX];
	char prefix[PATH_MAX];
	size_t prefix_len;
	long at;
	int err;
	const char *count_file, *trace_file;
	long count;
	int trace_fd;
} S = { .trace_fd = -1 };

/* the real functions */
static int (*r_open)(const char *, int, ...);
static int (*r_open64)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_open_2)(const char *, int);
static int (*r_open64_2)(const char *, int);
static int (*r_openat_2)(int, const char *, int);
static int (*r_openat64_2)(int, const char *, int);
static int (*r_creat)(const char *, mode_t);
static FILE *(*r_fopen)(const char *, const char *);
static FILE *(*r_fopen64)(const char *, const char *);
static int (*r_mkstemp)(char *);
static int (*r_mkostemp)(char *, int);
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static int (*r_rename)(const char *, const char *);
static int (*r_renameat)(int, const char *, int, const char *);
static int (*r_renameat2)(int, const char *, int, const char *, unsigned);
static int (*r_link)(const char *, const char *);
static int (*r_linkat)(int, const char *, int, const char *, int);
static int (*r_symlink)(const char *, const char *);
static int (*r_symlinkat)(const char *, int, const char *);
static int (*r_mkdir)(const char *, mode_t);
static int (*r_mkdirat)(int, const char *, mode_t);
static int (*r_unlink)(const char *);
static int (*r_unlinkat)(int, const char *, int);
static int (*r_rmdir)(const char *);
static int (*r_fchmod)(int, mode_t);
static int (*r_fchown)(int, uid_t, gid_t);
static int (*r_close)(int);

#define LOAD(var, name) (var = (__typeof__(var))dlsym(RTLD_NEXT, name))

static int
parse_errno(const char *s)
{
	static const struct { const char *n; int v; } t[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EACCES", EACCES },
		{ "EROFS", EROFS }, { "EDQUOT", EDQUOT }, { "EPERM", EPERM },
		{ "ENOMEM", ENOMEM }, { NULL, 0 },
	};
	int i;

	if (s == NULL || *s == '\0')
		return EIO;
	for (i = 0; t[i].n != NULL; i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].v;
	return atoi(s) > 0 ? atoi(s) : EIO;
}

static void
load_all(void)
{
	LOAD(r_open, "open");
	LOAD(r_open64, "open64");
	LOAD(r_openat, "openat");
	LOAD(r_openat64, "openat64");
	LOAD(r_open_2, "__open_2");
	LOAD(r_open64_2, "__open64_2");
	LOAD(r_openat_2, "__openat_2");
	LOAD(r_openat64_2, "__openat64_2");
	LOAD(r_creat, "creat");
	LOAD(r_fopen, "fopen");
	LOAD(r_fopen64, "fopen64");
	LOAD(r_mkstemp, "mkstemp");
	LOAD(r_mkostemp, "mkostemp");
	LOAD(r_write, "write");
	LOAD(r_pwrite, "pwrite");
	LOAD(r_writev, "writev");
	LOAD(r_fsync, "fsync");
	LOAD(r_fdatasync, "fdatasync");
	LOAD(r_rename, "rename");
	LOAD(r_renameat, "renameat");
	LOAD(r_renameat2, "renameat2");
	LOAD(r_link, "link");
	LOAD(r_linkat, "linkat");
	LOAD(r_symlink, "symlink");
	LOAD(r_symlinkat, "symlinkat");
	LOAD(r_mkdir, "mkdir");
	LOAD(r_mkdirat, "mkdirat");
	LOAD(r_unlink, "unlink");
	LOAD(r_unlinkat, "unlinkat");
	LOAD(r_rmdir, "rmdir");
	LOAD(r_fchmod, "fchmod");
	LOAD(r_fchown, "fchown");
	LOAD(r_close, "close");
}

__attribute__((constructor)) static void
shim_init(void)
{
	const char *p, *v;
	char real[PATH_MAX];

	if (S.init)
		return;
	S.init = true;
	load_all();
	p = getenv("FAULT_PATH_PREFIX");
	if (p == NULL || *p == '\0')
		return;
	v = getenv("FAULT_EXE");
	if (v != NULL && *v != '\0' && (program_invocation_short_name == NULL ||
	    strcmp(program_invocation_short_name, v) != 0))
		return;
	/* /proc/self/fd shows real paths: compare against the real prefix */
	if (realpath(p, real) != NULL)
		p = real;
	if (strlen(p) >= sizeof(S.prefix))
		return;
	strcpy(S.prefix, p);
	S.prefix_len = strlen(S.prefix);
	while (S.prefix_len > 1 && S.prefix[S.prefix_len - 1] == '/')
		S.prefix[--S.prefix_len] = '\0';
	v = getenv("FAULT_AT");
	S.at = v ? atol(v) : 0;
	v = getenv("FAULT_MODE");
	S.from = v != NULL && strcmp(v, "from") == 0;
	S.err = parse_errno(getenv("FAULT_ERRNO"));
	v = getenv("FAULT_OPS");
	S.all_ops = v != NULL && strcmp(v, "all") == 0;
	S.count_file = getenv("FAULT_COUNT_FILE");
	S.trace_file = getenv("FAULT_TRACE_FILE");
	v = getenv("FAULT_NO_EXCHANGE");
	S.no_exchange = v != NULL && strcmp(v, "1") == 0;
	v = getenv("FAULT_PLANT");
	if (v != NULL && strchr(v, '=') != NULL &&
	    strlen(v) < sizeof(S.plant_path)) {
		size_t k = (size_t)(strchr(v, '=') - v);
		memcpy(S.plant_path, v, k);
		S.plant_path[k] = '\0';
		strcpy(S.plant_target, v + k + 1);
		v = getenv("FAULT_PLANT_NTH");
		S.plant_nth = v ? atol(v) : 1;
	} else {
		S.planted = true;	/* nothing to plant */
	}
	S.active = true;
}

__attribute__((destructor)) static void
shim_fini(void)
{
	char buf[32];
	int fd, n;

	if (!S.active || S.count_file == NULL || S.count <= 0)
		return;
	if ((fd = r_open(S.count_file, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%ld\n", S.count);
	if (r_write(fd, buf, (size_t)n) != n)
		(void)0;
	r_close(fd);
}

static bool
under_prefix(const char *abs)
{
	return strncmp(abs, S.prefix, S.prefix_len) == 0 &&
	    (abs[S.prefix_len] == '/' || abs[S.prefix_len] == '\0' ||
	    S.prefix_len == 1);
}

/* The absolute (not normalised) path of (dirfd, path) into out. */
static bool
resolve(int dirfd, const char *path, char *out, size_t size)
{
	char link[64], base[PATH_MAX];
	ssize_t n;

	if (path == NULL)
		return false;
	if (path[0] == '/') {
		n = snprintf(out, size, "%s", path);
		return n > 0 && (size_t)n < size;
	}
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, sizeof(base)) == NULL)
			return false;
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(link, base, sizeof(base) - 1)) <= 0)
			return false;
		base[n] = '\0';
	}
	n = snprintf(out, size, "%s/%s", base, path);
	return n > 0 && (size_t)n < size;
}

static bool
fd_path(int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, out, size - 1)) <= 0)
		return false;
	out[n] = '\0';
	return out[0] == '/';
}

static void
trace(long n, const char *op, const char *path, int failed)
{
	char line[PATH_MAX + 96];
	int len;

	if (S.trace_file == NULL)
		return;
	if (S.trace_fd == -1)
		S.trace_fd = r_open(S.trace_file, O_WRONLY | O_CREAT |
		    O_APPEND | O_CLOEXEC, 0644);
	if (S.trace_fd == -1)
		return;
	if (failed)
		len = snprintf(line, sizeof(line), "%ld %s %s FAILED %d\n", n,
		    op, path, failed);
	else
		len = snprintf(line, sizeof(line), "%ld %s %s\n", n, op, path);
	if (len > (int)sizeof(line))
		len = (int)sizeof(line);
	if (r_write(S.trace_fd, line, (size_t)len) != len)
		(void)0;
}

/* Counts a call on abs; true (errno set) when it is to fail. */
static bool
hit(const char *op, const char *abs)
{
	long n;
	bool fail;

	if (!S.active || abs == NULL || !under_prefix(abs))
		return false;
	n = __atomic_add_fetch(&S.count, 1, __ATOMIC_SEQ_CST);
	fail = S.at > 0 && (n == S.at || (S.from && n > S.at));
	trace(n, op, abs, fail ? S.err : 0);
	if (fail)
		errno = S.err;
	return fail;
}

static bool
hit_at(const char *op, int dirfd, const char *path)
{
	char abs[PATH_MAX];

	if (!S.active)
		return false;
	return resolve(dirfd, path, abs, sizeof(abs)) && hit(op, abs);
}

static bool
hit_fd(const char *op, int fd)
{
	char abs[PATH_MAX];

	if (!S.active)
		return false;
	return fd_path(fd, abs, sizeof(abs)) && hit(op, abs);
}

/* FAULT_PLANT: a symlink appears at path just before it is created. */
static void
plant(int dirfd, const char *path)
{
	char abs[PATH_MAX];

	if (!S.active || S.planted || !resolve(dirfd, path, abs, sizeof(abs)) ||
	    strcmp(abs, S.plant_path) != 0 || --S.plant_nth > 0)
		return;
	S.planted = true;
	if (r_symlink(S.plant_target, abs) == 0)
		trace(0, "planted-symlink", abs, 0);
}

#define ENSURE() do { if (!S.init) shim_init(); } while (0)

static mode_t
mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

/* A create may first meet FAULT_PLANT's symlink, then counts as any call. */
static bool
hit_create(const char *op, int dirfd, const char *path)
{
	plant(dirfd, path);
	return hit_at(op, dirfd, path);
}

static bool
hit_open(const char *op, int dirfd, const char *path, int flags)
{
	if (flags & O_CREAT)
		return hit_create(op, dirfd, path);
	return hit_at(op, dirfd, path);
}

/*
 * WRAP(type, name, params, check, failed, real, args): the wrapper name,
 * which returns failed (errno set by hit) when check, a hit_* call on its
 * own parameters, says this call is the one to fail, and otherwise passes
 * args on to the real function.  Written once so that every wrapper counts
 * and fails the same way; what differs is only the op and the path.
 */
#define WRAP(type, name, params, check, failed, real, args)	\
	EXPORT type name params					\
	{							\
		ENSURE();					\
		if (check)					\
			return failed;				\
		return real args;				\
	}

/*
 * The variadic open family: the mode is read only when the flags ask for
 * one, as glibc does (reading it otherwise is undefined).  at is AT_FDCWD
 * or the wrapper's own dirfd parameter.
 */
#define WRAP_OPEN(name, params, at, op, real, args)		\
	EXPORT int name params					\
	{							\
		va_list ap;					\
		mode_t m;					\
								\
		ENSURE();					\
		va_start(ap, flags);				\
		m = mode_arg(flags, ap);			\
		va_end(ap);					\
		if (hit_open(op, at, path, flags))		\
			return -1;				\
		return real args;				\
	}

/* ---- open --------------------------------------------------------------- */

WRAP_OPEN(open, (const char *path, int flags, ...), AT_FDCWD, "open",
    r_open, (path, flags, m))
WRAP_OPEN(open64, (const char *path, int flags, ...), AT_FDCWD, "open",
    r_open64, (path, flags, m))
WRAP_OPEN(openat, (int dirfd, const char *path, int flags, ...), dirfd,
    "openat", r_openat, (dirfd, path, flags, m))
WRAP_OPEN(openat64, (int dirfd, const char *path, int flags, ...), dirfd,
    "openat", r_openat64, (dirfd, path, flags, m))

/* the _FORTIFY_SOURCE entry points: no mode, never O_CREAT */
WRAP(int, __open_2, (const char *path, int flags),
    hit_at("open", AT_FDCWD, path), -1, r_open_2, (path, flags))
WRAP(int, __open64_2, (const char *path, int flags),
    hit_at("open", AT_FDCWD, path), -1, r_open64_2, (path, flags))
WRAP(int, __openat_2, (int dirfd, const char *path, int flags),
    hit_at("openat", dirfd, path), -1, r_openat_2, (dirfd, path, flags))
WRAP(int, __openat64_2, (int dirfd, const char *path, int flags),
    hit_at("openat", dirfd, path), -1, r_openat64_2, (dirfd, path, flags))

WRAP(int, creat, (const char *path, mode_t mode),
    hit_at("creat", AT_FDCWD, path), -1, r_creat, (path, mode))
WRAP(FILE *, fopen, (const char *path, const char *mode),
    hit_at("fopen", AT_FDCWD, path), NULL, r_fopen, (path, mode))
WRAP(FILE *, fopen64, (const char *path, const char *mode),
    hit_at("fopen", AT_FDCWD, path), NULL, r_fopen64, (path, mode))

/* glibc's mkstemp family opens through an internal call: wrap it whole.
 * The template is the path (its X's are not filled in yet on failure). */
WRAP(int, mkstemp, (char *tmpl),
    hit_at("mkstemp", AT_FDCWD, tmpl), -1, r_mkstemp, (tmpl))
WRAP(int, mkostemp, (char *tmpl, int flags),
    hit_at("mkstemp", AT_FDCWD, tmpl), -1, r_mkostemp, (tmpl, flags))

/* ---- write, sync ---------------------------------------------------------- */

WRAP(ssize_t, write, (int fd, const void *buf, size_t len),
    hit_fd("write", fd), -1, r_write, (fd, buf, len))
WRAP(ssize_t, pwrite, (int fd, const void *buf, size_t len, off_t off),
    hit_fd("write", fd), -1, r_pwrite, (fd, buf, len, off))
WRAP(ssize_t, writev, (int fd, const struct iovec *iov, int n),
    hit_fd("write", fd), -1, r_writev, (fd, iov, n))
WRAP(int, fsync, (int fd), hit_fd("fsync", fd), -1, r_fsync, (fd))
WRAP(int, fdatasync, (int fd), hit_fd("fsync", fd), -1, r_fdatasync, (fd))

/* ---- rename, link, mkdir ------------------------------------------------- */

/* A call on two paths counts once when either is under the prefix. */
static bool
hit2(const char *op, int dfa, const char *a, int dfb, const char *b)
{
	char x[PATH_MAX], y[PATH_MAX];
	bool xa, yb;

	if (!S.active)
		return false;
	xa = resolve(dfa, a, x, sizeof(x)) && under_prefix(x);
	yb = resolve(dfb, b, y, sizeof(y)) && under_prefix(y);
	if (yb)
		return hit(op, y);
	return xa && hit(op, x);
}

/* Either path under the prefix, without counting. */
static bool
hit2_quiet(int dfa, const char *a, int dfb, const char *b)
{
	char x[PATH_MAX];

	return (resolve(dfa, a, x, sizeof(x)) && under_prefix(x)) ||
	    (resolve(dfb, b, x, sizeof(x)) && under_prefix(x));
}

WRAP(int, rename, (const char *a, const char *b),
    hit2("rename", AT_FDCWD, a, AT_FDCWD, b), -1, r_rename, (a, b))
WRAP(int, renameat, (int dfa, const char *a, int dfb, const char *b),
    hit2("renameat", dfa, a, dfb, b), -1, r_renameat, (dfa, a, dfb, b))

EXPORT int
renameat2(int dfa, const char *a, int dfb, const char *b, unsigned flags)
{
	ENSURE();
	if (hit2("renameat2", dfa, a, dfb, b))
		return -1;
	if (S.no_exchange && (flags & RENAME_EXCHANGE) &&
	    hit2_quiet(dfa, a, dfb, b)) {
		errno = EINVAL;
		return -1;
	}
	return r_renameat2(dfa, a, dfb, b, flags);
}

WRAP(int, link, (const char *a, const char *b),
    hit2("link", AT_FDCWD, a, AT_FDCWD, b), -1, r_link, (a, b))
WRAP(int, linkat, (int dfa, const char *a, int dfb, const char *b, int flags),
    hit2("linkat", dfa, a, dfb, b), -1, r_linkat, (dfa, a, dfb, b, flags))
WRAP(int, symlink, (const char *target, const char *b),
    hit_at("symlink", AT_FDCWD, b), -1, r_symlink, (target, b))
WRAP(int, symlinkat, (const char *target, int dfb, const char *b),
    hit_at("symlinkat", dfb, b), -1, r_symlinkat, (target, dfb, b))
WRAP(int, mkdir, (const char *path, mode_t mode),
    hit_create("mkdir", AT_FDCWD, path), -1, r_mkdir, (path, mode))
WRAP(int, mkdirat, (int dirfd, const char *path, mode_t mode),
    hit_create("mkdirat", dirfd, path), -1, r_mkdirat, (dirfd, path, mode))

/* ---- FAULT_OPS=all ------------------------------------------------------- */

WRAP(int, unlink, (const char *path),
    S.all_ops && hit_at("unlink", AT_FDCWD, path), -1, r_unlink, (path))
WRAP(int, unlinkat, (int dirfd, const char *path, int flags),
    S.all_ops && hit_at("unlinkat", dirfd, path), -1, r_unlinkat,
    (dirfd, path, flags))
WRAP(int, rmdir, (const char *path),
    S.all_ops && hit_at("rmdir", AT_FDCWD, path), -1, r_rmdir, (path))
WRAP(int, fchmod, (int fd, mode_t mode),
    S.all_ops && hit_fd("fchmod", fd), -1, r_fchmod, (fd, mode))
WRAP(int, fchown, (int fd, uid_t uid, gid_t gid),
    S.all_ops && hit_fd("fchown", fd), -1, r_fchown, (fd, uid, gid))
