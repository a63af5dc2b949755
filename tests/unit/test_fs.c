/*
 * test_fs.c - cr_fs: atomic installs, mkdir -p, and the ssldir tree copy /
 * compare / remove used for backups and staging directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cr_fs.h"
#include "cr_swap.h"
#include "pki.h"
#include "slurp.h"

/* New "dir/rel"; rel may use printf formats. */
static char *
tp(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
tp(const char *fmt, ...)
{
	char rel[512], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	assert_non_null(p = pki_path(pki_dir, rel));
	return p;
}

static struct stat
lst(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("lstat %s: %s", path, strerror(errno));
	return st;
}

/* Number of entries of a directory whose name starts with prefix. */
static int
count_prefixed(const char *d, const char *prefix)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static json_int_t
err_errno(const cr_err *e)
{
	return json_integer_value(json_object_get(e->details, "errno"));
}

static const char *
err_detail(const cr_err *e, const char *key)
{
	return json_string_value(json_object_get(e->details, key));
}

/* ---- bounded reads ------------------------------------------------------ */

/* Every reader of the core (certificates, keys, CRLs, puppet.conf,
 * csr_attributes.yaml, the journal) goes through cr_file_read: a FIFO, a
 * symlink to a FIFO or a directory is refused at once, never waited on;
 * a symlink to a regular file is followed, as Puppet does. */
static void
test_file_read_special(void **state)
{
	char *fifo = tp("read-fifo"), *link = tp("read-fifo-link");
	char *file = tp("read-file"), *flink = tp("read-file-link");
	char *buf = NULL;
	size_t len = 0;
	cr_err e;

	(void)state;
	alarm(20);	/* a blocking open would hang: SIGALRM ends the run */
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(symlink(fifo, link), 0);
	cr_err_init(&e);
	assert_false(cr_file_read(fifo, 1 << 20, &buf, &len, &e));
	assert_non_null(strstr(e.msg, "is not a regular file (a FIFO)"));
	cr_err_clear(&e);
	assert_false(cr_file_read(link, 1 << 20, &buf, &len, &e));
	assert_non_null(strstr(e.msg, "(a FIFO)"));
	cr_err_clear(&e);
	assert_false(cr_file_read(pki_dir, 1 << 20, &buf, &len, &e));
	assert_non_null(strstr(e.msg, "(a directory)"));
	cr_err_clear(&e);
	alarm(0);
	assert_true(pki_write_file(file, "text\n", 5, 0644));
	assert_int_equal(symlink(file, flink), 0);
	assert_true(cr_file_read(flink, 1 << 20, &buf, &len, &e));
	assert_int_equal(len, 5);
	free(buf);
	unlink(fifo);
	unlink(link);
	unlink(file);
	unlink(flink);
	free(fifo);
	free(link);
	free(file);
	free(flink);
}

/* ---- atomic write ----------------------------------------------------- */

static void
test_atomic_write(void **state)
{
	char *d = tp("aw"), *f = tp("aw/cert.pem"), *victim = tp("aw-victim");
	char *link = tp("aw/link.pem"), *buf;
	struct stat before, after;
	cr_err e;

	(void)state;
	assert_int_equal(mkdir(d, 0755), 0);
	cr_err_init(&e);
	/* new file, exact mode whatever the umask */
	umask(077);
	assert_true(cr_file_write_atomic(f, "one\n", 4, 0644, (uid_t)-1,
	    (gid_t)-1, &e));
	umask(022);
	assert_int_equal(lst(f).st_mode, S_IFREG | 0644);
	buf = slurp(f);
	assert_string_equal(buf, "one\n");
	free(buf);
	/* replace: new inode, new content, no temp file left */
	before = lst(f);
	assert_true(cr_file_write_atomic(f, "two, longer\n", 12, 0640,
	    (uid_t)-1, (gid_t)-1, &e));
	after = lst(f);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_mode, S_IFREG | 0640);
	buf = slurp(f);
	assert_string_equal(buf, "two, longer\n");
	free(buf);
	assert_int_equal(count_prefixed(d, "."), 0);
	/* empty content */
	assert_true(cr_file_write_atomic(f, "", 0, 0600, (uid_t)-1, (gid_t)-1,
	    &e));
	assert_int_equal(lst(f).st_size, 0);
	/* a symlink at the path is replaced, its target untouched */
	assert_true(pki_write_file(victim, "victim", 6, 0644));
	assert_int_equal(symlink(victim, link), 0);
	assert_true(cr_file_write_atomic(link, "new", 3, 0644, (uid_t)-1,
	    (gid_t)-1, &e));
	assert_true(S_ISREG(lst(link).st_mode));
	buf = slurp(victim);
	assert_string_equal(buf, "victim");
	free(buf);
	/* owner (root only: anyone else cannot give files away) */
	if (geteuid() == 0) {
		assert_true(cr_file_write_atomic(f, "x", 1, 0640, 1234, 5678,
		    &e));
		after = lst(f);
		assert_int_equal(after.st_uid, 1234);
		assert_int_equal(after.st_gid, 5678);
		/* (uid_t)-1 alone keeps the owner, sets the group */
		assert_true(cr_file_write_atomic(f, "y", 1, 0640, (uid_t)-1,
		    4321, &e));
		assert_int_equal(lst(f).st_uid, geteuid());
		assert_int_equal(lst(f).st_gid, 4321);
	}
	assert_false(e.set);
	assert_int_equal(count_prefixed(d, "."), 0);
	cr_err_clear(&e);
	free(d);
	free(f);
	free(victim);
	free(link);
}

static void
test_atomic_write_failures(void **state)
{
	char *d = tp("awf"), *target = tp("awf/target.pem");
	char *inner = tp("awf/target.pem/keep"), *file = tp("awf/plain");
	char *under_file = tp("awf/plain/x.pem"), *ro = tp("awf/ro");
	char *ro_file = tp("awf/ro/cert.pem"), *buf;
	cr_err e;

	(void)state;
	assert_int_equal(mkdir(d, 0755), 0);
	/* rename fails (the target is a non-empty directory): what was
	 * there stays, the temp file is gone, errno is kept */
	assert_int_equal(mkdir(target, 0755), 0);
	assert_true(pki_write_file(inner, "old", 3, 0644));
	cr_err_init(&e);
	assert_false(cr_file_write_atomic(target, "new", 3, 0644, (uid_t)-1,
	    (gid_t)-1, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	assert_true(err_errno(&e) == EISDIR || err_errno(&e) == ENOTEMPTY ||
	    err_errno(&e) == EEXIST);
	assert_non_null(strstr(e.msg, "rename"));
	buf = slurp(inner);
	assert_string_equal(buf, "old");
	free(buf);
	assert_int_equal(count_prefixed(d, "."), 0);
	cr_err_clear(&e);

	/* the directory is a file: no temp file can be made */
	assert_true(pki_write_file(file, "plain", 5, 0644));
	assert_false(cr_file_write_atomic(under_file, "x", 1, 0644, (uid_t)-1,
	    (gid_t)-1, &e));
	assert_int_equal(err_errno(&e), ENOTDIR);
	buf = slurp(file);
	assert_string_equal(buf, "plain");
	free(buf);
	cr_err_clear(&e);

	/* chown refused (not root): the old file stays, no temp file */
	if (geteuid() != 0) {
		assert_true(pki_write_file(file, "plain", 5, 0644));
		assert_false(cr_file_write_atomic(file, "x", 1, 0644, 0, 0,
		    &e));
		assert_int_equal(err_errno(&e), EPERM);
		buf = slurp(file);
		assert_string_equal(buf, "plain");
		free(buf);
		assert_int_equal(count_prefixed(d, "."), 0);
		cr_err_clear(&e);
	}

	/* a read-only directory: only meaningful when not root */
	assert_int_equal(mkdir(ro, 0755), 0);
	assert_true(pki_write_file(ro_file, "old", 3, 0644));
	assert_int_equal(chmod(ro, 0555), 0);
	if (geteuid() != 0) {
		assert_false(cr_file_write_atomic(ro_file, "new", 3, 0644,
		    (uid_t)-1, (gid_t)-1, &e));
		assert_int_equal(err_errno(&e), EACCES);
		buf = slurp(ro_file);
		assert_string_equal(buf, "old");
		free(buf);
		cr_err_clear(&e);
	} else {
		print_message("# read-only directory check skipped: root "
		    "writes anyway (rename failure covered above)\n");
	}
	assert_int_equal(chmod(ro, 0755), 0);

	/* not a file path */
	assert_false(cr_file_write_atomic("/tmp/", "x", 1, 0644, (uid_t)-1,
	    (gid_t)-1, &e));
	assert_string_equal(e.kind, CR_KIND_INVALID_PARAMETER);
	cr_err_clear(&e);
	free(d);
	free(target);
	free(inner);
	free(file);
	free(under_file);
	free(ro);
	free(ro_file);
}

static void
test_dir_fsync_and_mkdir_p(void **state)
{
	char *deep = tp("mk/a/b/c"), *mid = tp("mk/a"), *messy = tp("mk//x///y/");
	char *file = tp("mk/file"), *through = tp("mk/file/sub");
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_true(cr_dir_fsync(pki_dir, &e));
	assert_false(cr_dir_fsync("/nonexistent-cr", &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);

	umask(077);
	assert_true(cr_mkdir_p(deep, 0750, &e));
	umask(022);
	assert_int_equal(lst(deep).st_mode, S_IFDIR | 0750);
	assert_int_equal(lst(mid).st_mode, S_IFDIR | 0750);
	/* existing directories are fine and keep their mode */
	assert_int_equal(chmod(mid, 0711), 0);
	assert_true(cr_mkdir_p(deep, 0700, &e));
	assert_int_equal(lst(mid).st_mode, S_IFDIR | 0711);
	assert_true(cr_mkdir_p(messy, 0755, &e));
	assert_true(S_ISDIR(lst(messy).st_mode));
	assert_false(e.set);
	/* a component that is a file */
	assert_true(pki_write_file(file, "f", 1, 0644));
	assert_false(cr_mkdir_p(through, 0755, &e));
	assert_string_equal(e.kind, CR_KIND_IO);
	cr_err_clear(&e);
	assert_false(cr_mkdir_p(file, 0755, &e));
	assert_non_null(strstr(e.msg, "not a directory"));
	cr_err_clear(&e);
	free(deep);
	free(mid);
	free(messy);
	free(file);
	free(through);
}

/* ---- tree copy / compare / remove ------------------------------------- */

/* A Puppet agent's ssldir under dir/name, with Puppet's modes, a symlink
 * and an old mtime. */
static char *
make_ssldir(const char *name)
{
	pki_world *w = pki_world_new(time(NULL));
	EVP_PKEY *key = pki_rsa_cached(0);
	struct pki_leaf_opts o;
	X509 *leaf;
	char *ssl = tp("%s", name), *p;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	assert_non_null(w);
	pki_leaf_opts_init(&o, "agent.example.com", key, w->now);
	assert_non_null(leaf = pki_leaf_new(&o, w->inter));
	assert_int_equal(mkdir(ssl, 0771), 0);
	assert_int_equal(chmod(ssl, 0771), 0);	/* not umasked */
	assert_true(pki_ssldir_write_world(ssl, w, "agent.example.com", leaf,
	    key));
	p = tp("%s/private_keys", name);
	assert_int_equal(chmod(p, 0750), 0);
	free(p);
	p = tp("%s/private_keys/agent.example.com.pem", name);
	assert_int_equal(chmod(p, 0640), 0);
	free(p);
	p = tp("%s/public_keys", name);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	free(p);
	p = tp("%s/certs/current.pem", name);
	assert_int_equal(symlink("agent.example.com.pem", p), 0);
	free(p);
	p = tp("%s/dangling", name);
	assert_int_equal(symlink("/nonexistent-cr/target", p), 0);
	free(p);
	p = tp("%s/crl.pem", name);
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	free(p);
	p = tp("%s/certs", name);
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	free(p);
	X509_free(leaf);
	EVP_PKEY_free(key);
	pki_world_free(w);
	return ssl;
}

static void
test_tree_copy(void **state)
{
	char *src = make_ssldir("ssl"), *dst = tp("ssl.bak"), *a, *b, *buf;
	char target[256];
	struct stat x, y;
	ssize_t n;
	cr_err e;
	static const char *const paths[] = {
		"", "/certs", "/certs/ca.pem", "/certs/agent.example.com.pem",
		"/private_keys", "/private_keys/agent.example.com.pem",
		"/public_keys", "/certificate_requests", "/crl.pem",
	};
	size_t i;

	(void)state;
	cr_err_init(&e);
	if (geteuid() == 0) {	/* owners are carried over */
		a = tp("ssl/crl.pem");
		assert_int_equal(lchown(a, 1234, 5678), 0);
		free(a);
	}
	if (!cr_tree_copy(src, dst, &e))
		fail_msg("%s", e.msg);
	if (!cr_tree_compare(src, dst, &e))
		fail_msg("%s", e.msg);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		a = tp("ssl%s", paths[i]);
		b = tp("ssl.bak%s", paths[i]);
		x = lst(a);
		y = lst(b);
		assert_int_equal(x.st_mode, y.st_mode);
		assert_int_equal(x.st_uid, y.st_uid);
		assert_int_equal(x.st_gid, y.st_gid);
		assert_int_equal(x.st_mtim.tv_sec, y.st_mtim.tv_sec);
		assert_int_equal(x.st_mtim.tv_nsec, y.st_mtim.tv_nsec);
		free(a);
		free(b);
	}
	b = tp("ssl.bak");
	assert_int_equal(lst(b).st_mode, S_IFDIR | 0771);
	free(b);
	b = tp("ssl.bak/private_keys");
	assert_int_equal(lst(b).st_mode, S_IFDIR | 0750);
	free(b);
	b = tp("ssl.bak/private_keys/agent.example.com.pem");
	assert_int_equal(lst(b).st_mode, S_IFREG | 0640);
	buf = slurp(b);
	assert_non_null(strstr(buf, "PRIVATE KEY"));
	free(buf);
	free(b);
	b = tp("ssl.bak/crl.pem");
	assert_int_equal(lst(b).st_mtim.tv_sec, 1000000000);
	if (geteuid() == 0)
		assert_int_equal(lst(b).st_uid, 1234);
	free(b);
	/* symlinks are copied as symlinks, never followed */
	b = tp("ssl.bak/certs/current.pem");
	assert_true(S_ISLNK(lst(b).st_mode));
	n = readlink(b, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "agent.example.com.pem");
	free(b);
	b = tp("ssl.bak/dangling");
	assert_true(S_ISLNK(lst(b).st_mode));
	free(b);

	/* dst must not exist: refused, and the existing copy is kept */
	assert_false(cr_tree_copy(src, dst, &e));
	assert_int_equal(err_errno(&e), EEXIST);
	cr_err_clear(&e);
	assert_true(cr_tree_compare(src, dst, &e));
	/* a symlink as src is not followed */
	a = tp("ssl-link");
	b = tp("ssl-link.bak");
	assert_int_equal(symlink(src, a), 0);
	assert_false(cr_tree_copy(a, b, &e));
	assert_int_equal(cr_path_exists(b), 0);
	cr_err_clear(&e);
	assert_true(cr_tree_remove(a, &e));
	assert_true(S_ISDIR(lst(src).st_mode));	/* only the link went */
	free(a);
	free(b);

	assert_true(cr_tree_remove(dst, &e));
	assert_int_equal(cr_path_exists(dst), 0);
	assert_false(e.set);
	free(src);
	free(dst);
}

static void
test_tree_copy_refusals(void **state)
{
	char *src = make_ssldir("ssl-fifo"), *dst = tp("ssl-fifo.bak");
	char *fifo = tp("ssl-fifo/certs/pipe"), *deep, *p;
	cr_err e;
	int i;

	(void)state;
	cr_err_init(&e);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_false(cr_tree_copy(src, dst, &e));
	assert_non_null(strstr(e.msg, "fifo"));
	/* what was copied before the failure is removed */
	assert_int_equal(cr_path_exists(dst), 0);
	cr_err_clear(&e);
	assert_true(cr_tree_remove(src, &e));
	assert_int_equal(cr_path_exists(src), 0);

	/* nesting is bounded */
	deep = tp("deep");
	assert_int_equal(mkdir(deep, 0755), 0);
	p = strdup(deep);
	for (i = 0; i < CR_TREE_MAX_DEPTH + 3; i++) {
		char *q = pki_path(p, "d");
		free(p);
		p = q;
		assert_int_equal(mkdir(p, 0755), 0);
	}
	free(p);
	p = tp("deep.bak");
	assert_false(cr_tree_copy(deep, p, &e));
	assert_non_null(strstr(e.msg, "nested"));
	assert_int_equal(cr_path_exists(p), 0);
	cr_err_clear(&e);
	/* removal is bounded too, and reports it */
	assert_false(cr_tree_remove(deep, &e));
	assert_non_null(strstr(e.msg, "nested"));
	cr_err_clear(&e);
	pki_rmtree(deep);
	free(p);
	free(deep);
	free(src);
	free(dst);
	free(fifo);
}

typedef void (*mutator)(const char *bak);

static void
flip_byte(const char *bak)
{
	char *p = pki_path(bak, "private_keys/agent.example.com.pem");
	int fd = open(p, O_RDWR);
	char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 40) >= 0 ? 0 : -1, 0);
	c = (char)(c ^ 1);
	assert_int_equal(pwrite(fd, &c, 1, 40), 1);
	close(fd);
	free(p);
}

static void
chmod_key(const char *bak)
{
	char *p = pki_path(bak, "private_keys/agent.example.com.pem");

	assert_int_equal(chmod(p, 0644), 0);
	free(p);
}

static void
chmod_root(const char *bak)
{
	assert_int_equal(chmod(bak, 0755), 0);
}

static void
add_file(const char *bak)
{
	char *p = pki_path(bak, "certs/zzz.pem");

	assert_true(pki_write_file(p, "x", 1, 0644));
	free(p);
}

static void
remove_file(const char *bak)
{
	char *p = pki_path(bak, "crl.pem");

	assert_int_equal(unlink(p), 0);
	free(p);
}

static void
retarget_link(const char *bak)
{
	char *p = pki_path(bak, "certs/current.pem");

	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("ca.pem", p), 0);
	free(p);
}

static void
file_to_dir(const char *bak)
{
	char *p = pki_path(bak, "crl.pem");

	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0644), 0);
	free(p);
}

static void
truncate_file(const char *bak)
{
	char *p = pki_path(bak, "certs/ca.pem");

	assert_int_equal(truncate(p, 10), 0);
	free(p);
}

static void
chown_file(const char *bak)
{
	char *p = pki_path(bak, "certs/ca.pem");

	assert_int_equal(lchown(p, 4242, 4242), 0);
	free(p);
}

static void
test_tree_compare_detects(void **state)
{
	static const struct {
		mutator fn;
		const char *difference, *path;
		bool root_only;
	} cases[] = {
		{ flip_byte, "content", "private_keys/agent.example.com.pem", false },
		{ chmod_key, "mode", "private_keys/agent.example.com.pem", false },
		{ chmod_root, "mode", ".", false },
		{ add_file, "extra", "certs/zzz.pem", false },
		{ remove_file, "missing", "crl.pem", false },
		{ retarget_link, "target", "certs/current.pem", false },
		{ file_to_dir, "type", "crl.pem", false },
		{ truncate_file, "size", "certs/ca.pem", false },
		{ chown_file, "owner", "certs/ca.pem", true },
	};
	char *src = make_ssldir("ssl-cmp"), *bak = tp("ssl-cmp.bak");
	size_t i;
	cr_err e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].root_only && geteuid() != 0)
			continue;
		cr_err_init(&e);
		assert_true(cr_tree_copy(src, bak, &e));
		assert_true(cr_tree_compare(src, bak, &e));
		cases[i].fn(bak);
		assert_false(cr_tree_compare(src, bak, &e));
		assert_string_equal(e.kind, CR_KIND_IO);
		assert_string_equal(err_detail(&e, "difference"),
		    cases[i].difference);
		assert_string_equal(err_detail(&e, "path"), cases[i].path);
		cr_err_clear(&e);
		assert_true(cr_tree_remove(bak, &e));
		assert_false(e.set);
	}
	/* a missing side is an error, not a match */
	cr_err_init(&e);
	assert_false(cr_tree_compare(src, bak, &e));
	assert_int_equal(err_errno(&e), ENOENT);
	cr_err_clear(&e);
	assert_true(cr_tree_remove(src, &e));
	free(src);
	free(bak);
}

/* What the walk under copy, compare and remove meets besides files and
 * directories: FIFOs are compared by type and never opened (a read would
 * hang), a symlink planted where a directory was is a difference, never
 * followed, a symlink to a directory is copied and removed as a link. */
static void
test_tree_walk_specials(void **state)
{
	char *src = make_ssldir("ssl-sp"), *bak = tp("ssl-sp.bak");
	char *a = tp("ssl-sp/certs/pipe"), *b = tp("ssl-sp.bak/certs/pipe");
	char *crl = tp("ssl-sp.bak/crl.pem"), *certs = tp("ssl-sp.bak/certs");
	char *src_certs = tp("ssl-sp/certs"), *link = tp("ssl-sp/to-certs");
	char *blink = tp("ssl-sp.bak/to-certs"), *ca = tp("ssl-sp/certs/ca.pem");
	char *buf;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	alarm(20);	/* a FIFO opened for reading would hang: SIGALRM */
	assert_int_equal(symlink("certs", link), 0);
	if (!cr_tree_copy(src, bak, &e))
		fail_msg("%s", e.msg);
	/* copied as a link, not as the directory it leads to */
	assert_true(S_ISLNK(lst(blink).st_mode));
	/* the same FIFO on both sides is no difference */
	assert_int_equal(mkfifo(a, 0644), 0);
	assert_int_equal(mkfifo(b, 0644), 0);
	assert_int_equal(chmod(a, 0644), 0);
	assert_int_equal(chmod(b, 0644), 0);
	if (!cr_tree_compare(src, bak, &e))
		fail_msg("%s", e.msg);
	/* a FIFO in place of a file is a type difference */
	assert_int_equal(unlink(crl), 0);
	assert_int_equal(mkfifo(crl, 0644), 0);
	assert_false(cr_tree_compare(src, bak, &e));
	assert_string_equal(err_detail(&e, "difference"), "type");
	assert_string_equal(err_detail(&e, "path"), "crl.pem");
	cr_err_clear(&e);
	/* a symlink planted in place of a directory, leading to the same
	 * contents: followed, it would compare equal */
	assert_true(cr_tree_remove(certs, &e));
	assert_int_equal(symlink(src_certs, certs), 0);
	assert_false(cr_tree_compare(src, bak, &e));
	assert_string_equal(err_detail(&e, "difference"), "type");
	assert_string_equal(err_detail(&e, "path"), "certs");
	cr_err_clear(&e);
	/* removal takes the links and the FIFOs, never what they lead to */
	assert_true(cr_tree_remove(bak, &e));
	assert_int_equal(cr_path_exists(bak), 0);
	assert_true(S_ISFIFO(lst(a).st_mode));
	buf = slurp(ca);
	assert_non_null(strstr(buf, "CERTIFICATE"));
	free(buf);
	assert_true(cr_tree_remove(src, &e));
	assert_false(e.set);
	alarm(0);
	free(src);
	free(bak);
	free(a);
	free(b);
	free(crl);
	free(certs);
	free(src_certs);
	free(link);
	free(blink);
	free(ca);
}

/* A difference deep in the tree is found, and before any difference
 * whose name comes after it; too deep a tree is refused, not walked. */
static void
test_tree_compare_deep(void **state)
{
	char *src = make_ssldir("ssl-deep"), *bak = tp("ssl-deep.bak");
	const char *rel = "certs/d/d/d/d/d/d/d/d/deep.pem";
	char *p, *q, *f, *g;
	cr_err e;
	int i;

	(void)state;
	cr_err_init(&e);
	p = tp("ssl-deep/certs");
	for (i = 0; i < 8; i++) {
		q = pki_path(p, "d");
		free(p);
		p = q;
		assert_int_equal(mkdir(p, 0755), 0);
	}
	f = pki_path(p, "deep.pem");
	assert_true(pki_write_file(f, "deep", 4, 0644));
	if (!cr_tree_copy(src, bak, &e))
		fail_msg("%s", e.msg);
	if (!cr_tree_compare(src, bak, &e))
		fail_msg("%s", e.msg);
	g = tp("ssl-deep.bak/certs/d/d/d/d/d/d/d/d/deep.pem");
	assert_true(pki_write_file(g, "DEEP", 4, 0644));
	q = tp("ssl-deep.bak/zzz");	/* the last name at the top */
	assert_true(pki_write_file(q, "z", 1, 0644));
	assert_false(cr_tree_compare(src, bak, &e));
	assert_string_equal(err_detail(&e, "difference"), "content");
	assert_string_equal(err_detail(&e, "path"), rel);
	cr_err_clear(&e);
	assert_true(pki_write_file(g, "deep", 4, 0644));
	assert_false(cr_tree_compare(src, bak, &e));
	assert_string_equal(err_detail(&e, "difference"), "extra");
	assert_string_equal(err_detail(&e, "path"), "zzz");
	cr_err_clear(&e);
	assert_int_equal(unlink(q), 0);
	free(q);
	/* nested beyond the bound on both sides: refused by the compare */
	for (i = 8; i < CR_TREE_MAX_DEPTH + 2; i++) {
		q = pki_path(p, "d");
		free(p);
		p = q;
		assert_int_equal(mkdir(p, 0755), 0);
	}
	q = tp("ssl-deep.bak/certs/d/d/d/d/d/d/d/d");
	for (i = 8; i < CR_TREE_MAX_DEPTH + 2; i++) {
		char *r = pki_path(q, "d");
		free(q);
		q = r;
		assert_int_equal(mkdir(q, 0755), 0);
	}
	assert_false(cr_tree_compare(src, bak, &e));
	assert_non_null(strstr(e.msg, "nested"));
	cr_err_clear(&e);
	pki_rmtree(src);
	pki_rmtree(bak);
	free(q);
	free(p);
	free(f);
	free(g);
	free(src);
	free(bak);
}

static void
test_tree_remove(void **state)
{
	char *outside = tp("outside"), *keep = tp("outside/keep.pem");
	char *stage = tp("stage"), *sub = tp("stage/sub");
	char *l1 = tp("stage/sub/to-outside"), *l2 = tp("stage/to-keep");
	char *f = tp("stage/sub/file"), *buf;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_true(pki_write_file(keep, "keep", 4, 0644));
	assert_int_equal(mkdir(stage, 0700), 0);
	assert_int_equal(mkdir(sub, 0500), 0);	/* read-only: root only */
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(symlink(outside, l1), 0);
	assert_int_equal(symlink(keep, l2), 0);
	assert_true(pki_write_file(f, "f", 1, 0600));
	assert_true(cr_tree_remove(stage, &e));
	assert_int_equal(cr_path_exists(stage), 0);
	/* symlinks were removed, not followed */
	buf = slurp(keep);
	assert_string_equal(buf, "keep");
	free(buf);
	/* a missing path is fine; a single file is removed */
	assert_true(cr_tree_remove(stage, &e));
	assert_true(cr_tree_remove(keep, &e));
	assert_int_equal(cr_path_exists(keep), 0);
	assert_false(e.set);
	cr_err_clear(&e);
	free(outside);
	free(keep);
	free(stage);
	free(sub);
	free(l1);
	free(l2);
	free(f);
}

/* A planted symlink in a backup path: refused (its own kind), nothing
 * written through it (issue 10 #5). */
static void
test_backup_path_nofollow(void **state)
{
	char *live = tp("bk/ssl"), *target = tp("bk/elsewhere");
	char *bak = tp("bk/ssl_bak"), *dest = tp("bk/ssl_bak/20260101T000000Z");
	char *key = tp("bk/ssl/key.pem"), *deep = tp("bk/new/a/b");
	char *mid = tp("bk/new/a/link"), *deep2 = tp("bk/new/a/link/c");
	char *good = tp("bk/ssl_bak2/20260101T000000Z");
	int fd;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	assert_true(cr_mkdir_p(live, 0700, &e));
	assert_int_equal(mkdir(target, 0700), 0);
	assert_true(pki_write_file(key, "secret", 6, 0600));
	assert_int_equal(symlink(target, bak), 0);
	assert_false(cr_backup_make(live, dest, &e));
	assert_string_equal(e.kind, CR_KIND_PATH_SYMLINK);
	assert_string_equal(err_detail(&e, "path"), bak);
	assert_non_null(strstr(err_detail(&e, "next_step"), "remove the symlink"));
	assert_int_equal(count_prefixed(target, ""), 0);	/* still empty */
	cr_err_clear(&e);
	/* a symlink in the middle of a longer path, too */
	assert_true(cr_mkdir_p(deep, 0700, &e));
	assert_int_equal(symlink(target, mid), 0);
	assert_int_equal(cr_mkdir_p_nofollow(deep2, 0700, &e), -1);
	assert_string_equal(e.kind, CR_KIND_PATH_SYMLINK);
	assert_int_equal(count_prefixed(target, ""), 0);
	cr_err_clear(&e);
	/* the ordinary case: made 0700, the copy verified */
	assert_true((fd = cr_mkdir_p_nofollow(deep, 0700, &e)) >= 0);
	close(fd);
	assert_true(cr_backup_make(live, good, &e));
	assert_int_equal(lst(good).st_mode & 07777, 0700);
	assert_false(e.set);
	cr_err_clear(&e);
	free(live);
	free(target);
	free(bak);
	free(dest);
	free(key);
	free(deep);
	free(mid);
	free(deep2);
	free(good);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_read_special),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_atomic_write_failures),
		cmocka_unit_test(test_dir_fsync_and_mkdir_p),
		cmocka_unit_test(test_tree_copy),
		cmocka_unit_test(test_tree_copy_refusals),
		cmocka_unit_test(test_tree_compare_detects),
		cmocka_unit_test(test_tree_walk_specials),
		cmocka_unit_test(test_tree_compare_deep),
		cmocka_unit_test(test_tree_remove),
		cmocka_unit_test(test_backup_path_nofollow),
	};

	return cmocka_run_group_tests(tests, pki_group_setup, pki_group_teardown);
}
