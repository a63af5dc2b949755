/*
 * cr_restore.c - put a backup of the ssldir back (cert_regen::restore).
 *
 * The current ssldir is backed up first (nothing is lost, a restore can be
 * undone by restoring that one), a verified copy of the chosen backup is
 * built beside the live directory, and the two are exchanged atomically,
 * with the same service handling as a regeneration.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cr_flow_ops.h"
#include "cr_fs.h"
#include "cr_http.h"
#include "cr_journal.h"
#include "cr_killpoint.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_regen.h"
#include "cr_settings.h"
#include "cr_service.h"
#include "cr_swap.h"
#include "sys/cr_sys_fs.h"
#include "cr_x509.h"

/* A restore is the rollback: a CA that does not answer quickly must not
 * hold it up for long. */
#define RESTORE_CRL_CONNECT_TIMEOUT 10
#define RESTORE_CRL_TIMEOUT 30

static bool
looks_like_ssldir(const char *dir, cr_err *err)
{
	char *certs = cr_path_join(dir, "certs");
	struct cr_sys_stat st;
	cr_err ignored;
	bool ok;

	cr_err_init(&ignored);
	ok = certs != NULL && cr_sys_stat(certs, CR_SYS_NOFOLLOW, &st,
	    &ignored) == 1 && st.type == CR_SYS_DIR;
	cr_err_clear(&ignored);

	if (!ok)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "%s is not an ssldir backup (no certs/ directory)", dir);
	free(certs);
	return ok;
}

/* Appends a printf-formatted warning (any bytes: cr_json_str). */
static void
warn(json_t *warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
warn(json_t *warnings, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(warnings, cr_json_str(buf));
}

/*
 * 1 the CA's fresh CRL revokes x, 0 it does not, -1 it could not be asked
 * (e: why).  The CA is ca_server:ca_port of the settings, its TLS checked
 * against the live CA bundle (localcacert), else the backup's.
 */
static int
ca_revokes(const struct cr_flow_ops *ops, cr_settings *set,
    const char *backup, X509 *x, cr_err *e)
{
	struct cr_http_opts ho;
	STACK_OF(X509_CRL) *crls = NULL;
	void *h = NULL;
	char *pem = NULL, *bundle = NULL;
	const char *port = cr_settings_get(set, "ca_port");
	size_t len = 0;
	struct cr_sys_stat st;
	cr_err ignored;
	int rc = -1;

	memset(&ho, 0, sizeof(ho));
	ho.server = cr_settings_get(set, "ca_server");
	ho.port = port ? atoi(port) : CR_HTTP_DEFAULT_PORT;
	ho.cacert = cr_settings_get(set, "localcacert");
	ho.connect_timeout_s = RESTORE_CRL_CONNECT_TIMEOUT;
	ho.timeout_s = RESTORE_CRL_TIMEOUT;
	cr_err_init(&ignored);
	if (ho.cacert == NULL || cr_sys_stat(ho.cacert, CR_SYS_FOLLOW, &st,
	    &ignored) != 1) {
		if ((bundle = cr_path_join(backup, "certs/ca.pem")) == NULL) {
			cr_err_set(e, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		ho.cacert = bundle;
	}
	if ((h = ops->ca_open(ops->ctx, &ho, e)) == NULL ||
	    (pem = ops->ca_crl(ops->ctx, h, &len, e)) == NULL ||
	    (crls = cr_crls_parse(pem, len, "the CA's CRL", e)) == NULL)
		goto out;
	if ((rc = cr_revoked_by(x, crls)) < 0)
		cr_err_set(e, CR_KIND_CA_ERROR, "the CRL of the CA at %s:%d is "
		    "not from the backup certificate's issuer (was the CA "
		    "rebuilt?)", ho.server ? ho.server : "?", ho.port);
out:
	cr_err_clear(&ignored);
	ERR_clear_error();
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	if (h != NULL)
		ops->ca_close(ops->ctx, h);
	free(pem);
	free(bundle);
	return rc;
}

/*
 * Describes the certificate the restore would bring back into info
 * (serial, fingerprint_sha256, not_after, revoked, revocation_checked) and
 * checks it against a fresh CRL from the CA.  Returns false (err set,
 * CR_KIND_BACKUP_REVOKED) for a revoked one unless allow_revoked or noop;
 * anything it cannot check is a warning, not a failure: a restore is the
 * rollback, and a careful operator still wants it when the CA is down.
 */
static bool
check_backup_cert(const struct cr_restore_opts *o, cr_settings *set,
    const char *backup, json_t *info, json_t *warnings, cr_err *err)
{
	const char *certname = cr_settings_get(set, "certname");
	STACK_OF(X509) *certs = NULL;
	json_t *full = NULL;
	char *path = NULL, *rel = NULL, *serial = NULL;
	bool ok = false;
	int revoked;
	cr_err e;

	cr_err_init(&e);
	json_object_set_new(info, "revoked", json_null());
	json_object_set_new(info, "revocation_checked", json_false());
	if (certname == NULL || asprintf(&rel, "certs/%s.pem", certname) < 0)
		rel = NULL;
	if (rel == NULL || (path = cr_path_join(backup, rel)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	json_object_set_new(info, "path", cr_json_str(path));
	if ((certs = cr_certs_read(path, &e)) == NULL ||
	    (full = cr_cert_json(sk_X509_value(certs, 0), time(NULL))) == NULL) {
		warn(warnings, "the backup holds "
		    "no readable certificate for %s (%s): its revocation was "
		    "not checked", certname, e.set ? e.msg : "out of memory");
		ok = true;
		goto out;
	}
	json_object_set(info, "serial", json_object_get(full, "serial"));
	json_object_set(info, "fingerprint_sha256",
	    json_object_get(full, "fingerprint_sha256"));
	json_object_set(info, "not_after", json_object_get(full, "not_after"));
	serial = cr_serial_hex(sk_X509_value(certs, 0));
	if ((revoked = ca_revokes(cr_flow_ops_or_real(o->ops), set, backup,
	    sk_X509_value(certs, 0), &e)) < 0) {
		warn(warnings, "the revocation "
		    "check could not be done (%s): if the CA revoked this "
		    "certificate, puppet agent runs will fail after the "
		    "restore; check with cert_regen::status once the CA "
		    "answers", e.msg);
		ok = true;
		goto out;
	}
	json_object_set_new(info, "revoked", json_boolean(revoked == 1));
	json_object_set_new(info, "revocation_checked", json_true());
	if (revoked == 0 || o->noop || o->allow_revoked) {
		if (revoked == 1)
			warn(warnings, "the CA "
			    "revoked this certificate (serial %s): puppet agent "
			    "runs fail with it; %s", serial ? serial : "?",
			    o->noop ? "a real run refuses it unless "
			    "allow_revoked=true" : "regenerate it "
			    "(cert_regen::regenerate) as soon as you can");
		ok = true;
		goto out;
	}
	cr_err_set(err, CR_KIND_BACKUP_REVOKED, "the backup %s holds the "
	    "certificate of %s with serial %s, which the CA has revoked: "
	    "restoring it would leave an agent the CA refuses; nothing was "
	    "changed", backup, certname, serial ? serial : "?");
	cr_err_detail_new(err, "backup", cr_json_str(backup));
	cr_err_detail_new(err, "backup_certificate", json_incref(info));
	cr_err_next(err, "regenerate instead: run cert_regen::regenerate on %s "
	    "(or the plan cert_regen::regenerate_agents); restore with "
	    "allow_revoked=true only if you know the CA will accept it",
	    certname);
out:
	ERR_clear_error();
	cr_err_clear(&e);
	sk_X509_pop_free(certs, X509_free);
	json_decref(full);
	free(serial);
	free(path);
	free(rel);
	return ok;
}

const char *
cr_restore_backup_name(const struct cr_restore_opts *o)
{
	return o->backup != NULL ? o->backup : "latest";
}

/* One restore run: what cr_restore_run's steps share. */
struct rst {
	const struct cr_restore_opts *o;
	const struct cr_flow_ops *ops;	/* o->ops, or the real ones */
	cr_settings *set;
	cr_lock *locks[2];
	json_t *result, *warnings;
	json_t *info;		/* the backup's certificate (result) */
	json_t *names, *stopped;	/* services to handle, stopped */
	char *live;		/* real path of the live ssldir */
	char *backup;		/* the backup being restored */
	char *staging, *tree;	/* <staging>/restore: the copy put live */
	char *safety;		/* backup of the identity being replaced */
	json_t *journal;	/* <staging>/restore.json: backup, safety,
				 * services_stopped */
	bool under_pxp;
};

/*
 * A restore that was stopped (kill -9, power) left <staging>/restore.json:
 * its backup is the one to finish restoring (with backup=latest, the
 * newest backup is by then that run's safety copy), its safety copy is
 * kept, and the services it stopped are started at the end.  Another
 * explicit backup is refused: finish or give up the earlier one first.
 */
static bool
resume_journal(struct rst *r, cr_err *err)
{
	const char *jb, *want = r->o->backup;
	char *real = NULL;
	bool found = false, ok = false;

	if ((r->staging = cr_staging_path(r->live)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	r->journal = cr_journal_read_named(r->staging, CR_RESTORE_JOURNAL_FILE,
	    &found, err);
	if (err->set)
		goto out;
	if (!found) {
		if ((r->journal = json_object()) == NULL)
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		ok = r->journal != NULL;
		goto out;
	}
	if ((jb = json_string_value(json_object_get(r->journal, "backup")))
	    == NULL) {
		cr_err_set(err, CR_KIND_PARSE, "the restore journal %s/%s names "
		    "no backup", r->staging, CR_RESTORE_JOURNAL_FILE);
		cr_err_next(err, "remove %s/%s, check that the ssldir holds "
		    "the identity you want, then run the restore again",
		    r->staging, CR_RESTORE_JOURNAL_FILE);
		goto out;
	}
	if (want != NULL && strcmp(want, "latest") != 0 &&
	    ((real = cr_sys_realpath(want)) == NULL || strcmp(real, jb) != 0)) {
		cr_err_set(err, CR_KIND_PARAMETERS_CHANGED, "an earlier restore "
		    "of %s was stopped before it finished; this run asks for "
		    "%s", jb, want);
		cr_err_detail_new(err, "journal_backup", cr_json_str(jb));
		cr_err_next(err, "run the restore again with backup=%s (or "
		    "backup=latest) to finish that one first, or remove "
		    "%s/%s to give it up", jb, r->staging,
		    CR_RESTORE_JOURNAL_FILE);
		goto out;
	}
	if ((r->backup = strdup(jb)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	warn(r->warnings, "finishing the restore of %s that an earlier run "
	    "began and did not finish", jb);
	ok = true;
out:
	free(real);
	return ok;
}

/* Step 1: the settings, the live ssldir and the backup to restore, whose
 * certificate is checked (result: ssldir, restored_from,
 * backup_certificate). */
static bool
find_backup(struct rst *r, cr_err *err)
{
	const struct cr_restore_opts *o = r->o;

	if ((r->set = cr_settings_agent(o->confdir, o->ssldir, NULL, NULL,
	    err)) == NULL || (!o->noop && !cr_swap_exchange_finish(r->set,
	    "restore", o->lock_timeout_ms, err)) || (r->live =
	    cr_settings_real_ssldir(
	    cr_settings_get(r->set, "ssldir"), err)) == NULL)
		return false;
	if (!resume_journal(r, err))
		return false;
	if (r->backup != NULL)
		;	/* an earlier run's, from its journal */
	else if (o->backup == NULL || strcmp(o->backup, "latest") == 0)
		r->backup = cr_backup_latest(r->live, o->backup_dir, err);
	else
		r->backup = cr_sys_realpath(o->backup);
	if (r->backup == NULL) {
		/* cr_backup_latest sets err, except when out of memory */
		cr_err_errno(err, CR_KIND_INVALID_PARAMETER, errno,
		    "cannot find the backup %s", cr_restore_backup_name(o));
		return false;
	}
	if (!looks_like_ssldir(r->backup, err))
		return false;
	json_object_set_new(r->result, "ssldir", cr_json_str(r->live));
	json_object_set_new(r->result, "restored_from", cr_json_str(r->backup));
	if ((r->info = json_object()) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	json_object_set(r->result, "backup_certificate", r->info);
	return check_backup_cert(o, r->set, r->backup, r->info, r->warnings,
	    err);
}

/* Step 2: Puppet's locks, and a backup of the identity being replaced
 * (result: backup). */
static bool
keep_current(struct rst *r, cr_err *err)
{
	const char *kept = json_string_value(json_object_get(r->journal,
	    "safety"));
	const char *state = json_string_value(json_object_get(r->journal,
	    "state"));
	bool reuse = kept != NULL && state != NULL &&
	    strcmp(state, "backing-up") != 0 && cr_path_exists(kept) == 1;

	if (!cr_lock_pair(r->set, r->o->lock_timeout_ms, r->locks, err)) {
		cr_err_set_step(err, "preflight");
		return false;
	}
	if ((r->tree = cr_path_join(r->staging, "restore")) == NULL ||
	    (r->safety = kept != NULL ? strdup(kept) : cr_backup_path(r->live,
	    r->o->backup_dir, time(NULL))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	json_object_set_new(r->journal, "backup", cr_json_str(r->backup));
	json_object_set_new(r->journal, "safety", cr_json_str(r->safety));
	/* the journal names the safety copy before it is made: a copy cut
	 * short by a stop is made again, never taken for a backup */
	if (!reuse && (!cr_mkdir_p(r->staging, 0700, err) ||
	    !cr_journal_save_named(r->staging, CR_RESTORE_JOURNAL_FILE,
	    r->journal, "backing-up", err) ||
	    !cr_tree_remove(r->safety, err) ||
	    !cr_backup_make(r->live, r->safety, err) ||
	    !cr_lock_drop_copy(r->set, r->safety, err) ||
	    !cr_journal_save_named(r->staging, CR_RESTORE_JOURNAL_FILE,
	    r->journal, "backed-up", err))) {
		cr_err_set_step(err, "backup");
		return false;
	}
	json_object_set_new(r->result, "backup", cr_json_str(r->safety));
	cr_killpoint("restore-backed-up");
	return true;
}

/* Step 3: a verified copy of the backup beside the live ssldir. */
static bool
prepare(struct rst *r, cr_err *err)
{
	if (!cr_mkdir_p(r->staging, 0700, err) ||
	    !cr_tree_remove(r->tree, err) ||
	    !cr_tree_copy(r->backup, r->tree, err) ||
	    !cr_tree_compare(r->backup, r->tree, err) ||
	    !cr_lock_drop_copy(r->set, r->tree, err)) {
		cr_err_set_step(err, "prepare");
		return false;
	}
	cr_killpoint("restore-prepared");
	return true;
}

/* Step 4: services stopped, the copy exchanged with the live ssldir.  On
 * failure the services are started again. */
static bool
swap(struct rst *r, cr_err *err)
{
	bool exchanged = false;

	json_t *running;

	r->names = cr_services_list(r->o->services);
	/* the journal names the services BEFORE they are stopped, so that a
	 * run stopped in between still starts them when run again */
	if ((running = r->ops->services_running(r->ops->ctx, r->names,
	    r->under_pxp, err)) == NULL) {
		cr_err_set_step(err, "swap");
		return false;
	}
	cr_services_merge(running, json_object_get(r->journal,
	    "services_stopped"));
	json_object_set_new(r->journal, "services_stopped", running);
	if (!cr_journal_save_named(r->staging, CR_RESTORE_JOURNAL_FILE,
	    r->journal, "stopping", err) ||
	    (r->stopped = r->ops->services_stop(r->ops->ctx, running, false,
	    err)) == NULL) {
		cr_err_set_step(err, "swap");
		return false;
	}
	cr_services_merge(r->stopped, running);
	cr_killpoint("restore-services-stopped");
	if (cr_swap_exchange(r->live, r->tree, &exchanged, err) && exchanged) {
		cr_killpoint("restore-exchanged");
		return true;
	}
	cr_err_set_step(err, "swap");
	if (!err->set)
		cr_err_set(err, CR_KIND_IO, "this filesystem cannot exchange "
		    "directories atomically; restore %s by hand (the current "
		    "ssldir is saved in %s)", r->backup, r->safety);
	json_decref(r->ops->services_start(r->ops->ctx, r->stopped,
	    r->warnings));
	if (exchanged) {	/* exchanged, not made durable */
		cr_err_live(err, CR_LIVE_RESTORED);
		cr_err_next(err, "the backup %s is live, but the change could "
		    "not be synced to disk: check the disk, then run the task "
		    "again", r->backup);
	}
	return false;
}

/* The finished restore's journal, removed last but the staging dir. */
static bool
remove_journal(struct rst *r, cr_err *err)
{
	char *path = cr_path_join(r->staging, CR_RESTORE_JOURNAL_FILE);
	bool ok = path != NULL && (unlink(path) == 0 || errno == ENOENT);

	if (path == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	else if (!ok)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s (remove "
		    "it by hand: the restore finished)", path);
	free(path);
	return ok;
}

/* Step 5: services started again, the copy's leftovers removed (as
 * warnings; a regeneration's staging beside ours is not ours to remove),
 * pxp-agent restarted detached when it runs this task. */
static void
finish(struct rst *r)
{
	cr_err e;

	cr_err_init(&e);
	json_object_set(r->result, "services_stopped", r->stopped);
	json_object_set_new(r->result, "services_restarted",
	    r->ops->services_start(r->ops->ctx, r->stopped, r->warnings));
	if (!cr_tree_remove(r->tree, &e) || !remove_journal(r, &e))
		json_array_append_new(r->warnings, cr_json_str(e.msg));
	else if (rmdir(r->staging) == -1 && errno != ENOTEMPTY &&
	    errno != EEXIST && errno != ENOENT)
		json_array_append_new(r->warnings, cr_json_str(strerror(
		    errno)));
	cr_err_clear(&e);
	if (r->under_pxp && !cr_restart_detached("pxp-agent", 3, &e))
		json_array_append_new(r->warnings, cr_json_str(e.msg));
	cr_err_clear(&e);
	json_object_set_new(r->result, "state", json_string("restored"));
}

static void
rst_free(struct rst *r)
{
	cr_lock_release(r->locks[1]);
	cr_lock_release(r->locks[0]);
	json_decref(r->result);
	json_decref(r->warnings);
	json_decref(r->info);
	json_decref(r->names);
	json_decref(r->stopped);
	json_decref(r->journal);
	free(r->live);
	free(r->staging);
	free(r->tree);
	free(r->backup);
	free(r->safety);
	cr_settings_free(r->set);
}

json_t *
cr_restore_run(const struct cr_restore_opts *o, cr_err *err)
{
	struct rst r;
	json_t *out = NULL;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.ops = cr_flow_ops_or_real(o->ops);
	r.under_pxp = cr_under_pxp_agent();
	if ((r.result = json_object()) == NULL ||
	    (r.warnings = json_array()) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (!find_backup(&r, err))
		goto out;
	if (o->noop) {
		json_object_set_new(r.result, "state", json_string("unchanged"));
		json_object_set_new(r.result, "noop", json_true());
	} else {
		if (!keep_current(&r, err) || !prepare(&r, err) ||
		    !swap(&r, err))
			goto out;
		finish(&r);
	}
	json_object_set(r.result, "warnings", r.warnings);
	out = json_incref(r.result);
out:
	if (out == NULL) {
		cr_err_set_step(err, "restore");
		cr_err_next(err, "the live ssldir is unchanged unless the "
		    "message says otherwise; fix the cause and run again");
	}
	rst_free(&r);
	return out;
}
