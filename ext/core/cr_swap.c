/*
 * cr_swap.c - building the new ssldir, backing up, exchanging (see
 * cr_swap.h).
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cr_fs.h"
#include "cr_journal.h"
#include "cr_keygen.h"
#include "cr_lock.h"
#include "cr_swap.h"
#include "cr_x509.h"
#include "sys/cr_sys_write.h"

#define MODE_PUBLIC 0644
#define MODE_KEY 0640

/* Owner of an existing file in dir/rel, or (uid_t)-1/(gid_t)-1. */
static void
owner_of(const char *path, uid_t *uid, gid_t *gid)
{
	mode_t mode;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	(void)cr_file_meta(path, &mode, uid, gid);	/* unchanged if not */
}

/* mkdir -p of path's directory. */
static bool
parent_dir(const char *path, mode_t mode, cr_err *err)
{
	char *dir = strdup(path);
	bool ok = dir != NULL && cr_mkdir_p(dirname(dir), mode, err);

	if (dir == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	free(dir);
	return ok;
}

/* Writes text to tree/rel atomically, keeping the old file's owner. */
static bool
put_public(const char *tree, const char *rel, const char *text, cr_err *err)
{
	char *path = cr_path_join(tree, rel);
	uid_t uid;
	gid_t gid;
	bool ok = false;

	if (path == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (!parent_dir(path, 0755, err))
		goto out;
	owner_of(path, &uid, &gid);
	ok = cr_file_write_atomic(path, text, strlen(text), MODE_PUBLIC, uid,
	    gid, err);
out:
	free(path);
	return ok;
}

bool
cr_swap_build_tree(const char *live, const char *tree,
    const struct cr_identity *id, cr_err *err)
{
	char *key = NULL, *csr = NULL, *dir = NULL;
	uid_t uid;
	gid_t gid;
	bool ok = false;

	if (!cr_tree_copy(live, tree, err))
		goto out;
	if ((key = cr_path_join(tree, id->rel_key)) == NULL ||
	    (csr = cr_path_join(tree, id->rel_csr)) == NULL ||
	    (dir = strdup(key)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	/* a new key file: never written over or through the old one */
	owner_of(key, &uid, &gid);
	if (unlink(key) == -1 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot replace %s", key);
		goto out;
	}
	if (!cr_mkdir_p(dirname(dir), 0750, err) ||
	    !cr_key_write_new_owned(key, id->key, MODE_KEY, uid, gid, err))
		goto out;
	if (id->rel_pubkey != NULL) {
		char *pub = cr_path_join(tree, id->rel_pubkey);
		uid_t pu;
		gid_t pg;
		if (pub == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		owner_of(pub, &pu, &pg);
		ok = parent_dir(pub, 0755, err) &&
		    cr_pubkey_write(pub, id->key, MODE_PUBLIC, pu, pg, err);
		free(pub);
		if (!ok)
			goto out;
		ok = false;
	}
	if (!put_public(tree, id->rel_cert, id->cert_pem, err) ||
	    !put_public(tree, id->rel_ca, id->ca_pem, err) ||
	    !put_public(tree, id->rel_crl, id->crl_pem, err))
		goto out;
	/* Puppet deletes the CSR once its certificate is installed */
	if (unlink(csr) == -1 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s", csr);
		goto out;
	}
	ok = true;
out:
	free(dir);
	free(csr);
	free(key);
	return ok;
}

char *
cr_backup_path(const char *ssldir, const char *backup_dir, time_t now)
{
	char stamp[32], *out = NULL;
	struct tm tm;
	size_t n = strlen(ssldir);
	int tries;

	while (n > 1 && ssldir[n - 1] == '/')
		n--;
	/* two backups within one second (a restore right after a
	 * regeneration): the next free second, so that names stay unique
	 * and sorted, and "latest" is still the newest */
	for (tries = 0; tries < 60; tries++, now++) {
		free(out);
		out = NULL;
		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
			break;
		if (backup_dir != NULL) {
			if (asprintf(&out, "%s/%s", backup_dir, stamp) == -1)
				out = NULL;
		} else if (asprintf(&out, "%.*s_bak/%s", (int)n, ssldir,
		    stamp) == -1) {
			out = NULL;
		}
		if (out == NULL || cr_path_exists(out) != 1)
			break;
	}
	return out;
}

bool
cr_backup_make(const char *ssldir, const char *dest, cr_err *err)
{
	bool ok = false;

	if (cr_path_exists(dest) != 0) {
		cr_err_set(err, CR_KIND_IO,
		    "the backup directory %s exists already: wait a second and "
		    "run the task again, or give another backup_dir", dest);
		goto out;
	}
	/* no component of the backup path is followed through a symlink:
	 * a planted <ssldir>_bak link must not receive the private key */
	if (!cr_tree_copy_nofollow(ssldir, dest, err)) {
		if (cr_err_is(err, CR_KIND_PATH_SYMLINK))
			cr_err_next(err,
			    "remove the symlink %s (a backup is never written "
			    "through a link) or give backup_dir a directory "
			    "path without symlinks, then run the task again; "
			    "nothing was changed", json_string_value(
			    json_object_get(err->details, "path")));
		goto out;
	}
	if (!cr_tree_compare(ssldir, dest, err)) {
		cr_err_set_step(err, "backup");
		/* an unverified copy is no backup: not left for "latest" */
		cr_tree_remove(dest, NULL);
		goto out;
	}
	ok = true;
out:
	return ok;
}

char *
cr_backup_latest(const char *ssldir, const char *backup_dir, cr_err *err)
{
	char *base = NULL, *best = NULL, *out = NULL;
	size_t n = strlen(ssldir);
	struct dirent *de;
	DIR *d = NULL;

	while (n > 1 && ssldir[n - 1] == '/')
		n--;
	if (backup_dir != NULL)
		base = strdup(backup_dir);
	else if (asprintf(&base, "%.*s_bak", (int)n, ssldir) == -1)
		base = NULL;
	if (base == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((d = opendir(base)) == NULL) {
		cr_err_errno(err, CR_KIND_IO, errno,
		    "no backups found: cannot open %s", base);
		goto out;
	}
	/* names are UTC timestamps: the greatest is the newest */
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 16 || de->d_name[8] != 'T' ||
		    de->d_name[15] != 'Z')
			continue;
		if (best == NULL || strcmp(de->d_name, best) > 0) {
			free(best);
			if ((best = strdup(de->d_name)) == NULL) {
				cr_err_set(err, CR_KIND_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (best == NULL) {
		cr_err_set(err, CR_KIND_IO, "no backups found in %s", base);
		goto out;
	}
	out = cr_path_join(base, best);
out:
	if (d != NULL)
		closedir(d);
	free(best);
	free(base);
	return out;
}

bool
cr_swap_exchange(const char *live, const char *tree, bool *exchanged,
    cr_err *err)
{
	int r = cr_sys_dir_exchange(live, tree, err);

	/* 2: exchanged, not made durable: false with *exchanged, so the
	 * caller says the new identity is live */
	*exchanged = r == 1 || r == 2;
	return r == 1 || r == 0;	/* 0: not possible, the caller falls back */
}

bool
cr_swap_exchange_finish(const cr_settings *set, const char *name,
    long lock_timeout_ms, cr_err *err)
{
	const char *ssldir = cr_settings_get(set, "ssldir");
	const char *run_lock = cr_settings_get(set,
	    "agent_catalog_run_lockfile");
	char *staging = NULL, *tree = NULL, *aside = NULL;
	bool ok = false, finished = false;
	cr_lock *lock = NULL;

	if (ssldir == NULL || (staging = cr_staging_path(ssldir)) == NULL) {
		ok = true;	/* reported where the ssldir is resolved */
		goto out;
	}
	if ((tree = cr_staging_file(staging, name)) == NULL ||
	    asprintf(&aside, "%s.xchg", tree) == -1) {
		aside = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (cr_path_exists(aside) != 1) {
		ok = true;
		goto out;
	}
	if (run_lock == NULL) {
		cr_err_set(err, CR_KIND_SETTINGS, "no agent_catalog_run_lockfile "
		    "setting");
		cr_err_next(err, "check puppet.conf (agent_catalog_run_lockfile), "
		    "then run the task again; nothing was changed");
		goto out;
	}
	if ((lock = cr_lock_acquire(run_lock, lock_timeout_ms >= 0 ?
	    lock_timeout_ms : CR_LOCK_PAIR_TIMEOUT_MS, err)) == NULL ||
	    !cr_sys_dir_exchange_finish(ssldir, tree, &finished, err))
		goto out;
	ok = true;
out:
	cr_lock_release(lock);
	free(aside);
	free(tree);
	free(staging);
	return ok;
}

/* Copies src file to dst atomically with src's mode and owner. */
static bool
install_one(const char *src, const char *dst, cr_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool ok = false;
	int r = cr_file_meta(src, &mode, &uid, &gid);

	if (r != 1) {
		if (r == 0) {	/* absent in the source: absent here */
			ok = unlink(dst) == 0 || errno == ENOENT;
			if (!ok)
				cr_err_errno(err, CR_KIND_IO, errno,
				    "cannot remove %s", dst);
		} else {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s",
			    src);
		}
		goto out;
	}
	if (!cr_file_read(src, CR_MAX_CRL_FILE, &buf, &len, err))
		goto out;
	ok = cr_file_write_atomic(dst, buf, len, mode, uid, gid, err);
out:
	cr_secret_free(buf, len);
	return ok;
}

static bool
install_set(const char *from, const char *to, const struct cr_identity *id,
    cr_err *err)
{
	const char *rels[6];
	size_t i, n = 0;
	bool ok = true;

	rels[n++] = id->rel_key;
	if (id->rel_pubkey != NULL)
		rels[n++] = id->rel_pubkey;
	rels[n++] = id->rel_cert;
	rels[n++] = id->rel_ca;
	rels[n++] = id->rel_crl;
	rels[n++] = id->rel_csr;
	for (i = 0; ok && i < n; i++) {
		char *src = cr_path_join(from, rels[i]);
		char *dst = cr_path_join(to, rels[i]);
		ok = src != NULL && dst != NULL && install_one(src, dst, err);
		if (src == NULL || dst == NULL)
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		free(src);
		free(dst);
	}
	return ok;
}

bool
cr_swap_install_files(const char *live, const char *tree, const char *backup,
    const struct cr_identity *id, cr_err *err)
{
	cr_err undo;
	bool ok;

	if ((ok = install_set(tree, live, id, err)))
		return true;
	cr_err_init(&undo);
	if (backup == NULL || !install_set(backup, live, id, &undo)) {
		cr_err_detail_new(err, "restored", json_false());
		cr_err_detail_new(err, "restore_error", json_string(
		    backup == NULL ? "no backup to restore from" : undo.msg));
	} else {
		cr_err_detail_new(err, "restored", json_true());
	}
	cr_err_clear(&undo);
	return false;
}
