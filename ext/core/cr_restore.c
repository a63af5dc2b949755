/*
 * cr_restore.c - put a backup of the ssldir back (cert_regen::restore).
 *
 * The current ssldir is backed up first (nothing is lost, a restore can be
 * undone by restoring that one), a verified copy of the chosen backup is
 * built beside the live directory, and the two are exchanged atomically,
 * with the same service handling as a regeneration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr_fs.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_regen_int.h"
#include "cr_service.h"
#include "cr_swap.h"

static bool
looks_like_ssldir(const char *dir, cr_err *err)
{
	char *certs = cr_path_join(dir, "certs");
	struct stat st;
	bool ok = certs != NULL && lstat(certs, &st) == 0 && S_ISDIR(st.st_mode);

	if (!ok)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "%s is not an ssldir backup (no certs/ directory)", dir);
	free(certs);
	return ok;
}

json_t *
cr_restore_run(const struct cr_restore_opts *o, cr_err *err)
{
	cr_settings *set = NULL;
	cr_lock *locks[2] = { NULL, NULL };
	json_t *result = json_object(), *out = NULL, *names = NULL;
	json_t *stopped = NULL, *warnings = json_array();
	char *live = NULL, *staging = NULL, *tree = NULL, *backup = NULL;
	char *safety = NULL;
	bool exchanged = false, under_pxp = cr_under_pxp_agent();

	if (result == NULL || warnings == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((set = regen_settings(o->confdir, o->ssldir, NULL, NULL, err)) == NULL ||
	    (live = regen_real_ssldir(cr_settings_get(set, "ssldir"), err)) == NULL)
		goto out;
	if (o->backup == NULL || strcmp(o->backup, "latest") == 0)
		backup = cr_backup_latest(live, o->backup_dir, err);
	else
		backup = realpath(o->backup, NULL);
	if (backup == NULL) {
		cr_err_errno(err, CR_KIND_INVALID_PARAMETER, errno,
		    "cannot find the backup %s", o->backup);
		goto out;
	}
	if (!looks_like_ssldir(backup, err))
		goto out;
	json_object_set_new(result, "ssldir", cr_json_str(live));
	json_object_set_new(result, "restored_from", cr_json_str(backup));
	if (o->noop) {
		json_object_set_new(result, "state", json_string("unchanged"));
		json_object_set_new(result, "noop", json_true());
		goto done;
	}
	if (!regen_lock_both(set, o->lock_timeout_ms, locks, err)) {
		cr_err_set_step(err, "preflight");
		goto out;
	}
	if ((staging = cr_staging_path(live)) == NULL ||
	    (tree = cr_path_join(staging, "restore")) == NULL ||
	    (safety = cr_backup_path(live, o->backup_dir, time(NULL))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	/* the identity being replaced is kept too */
	if (!cr_backup_make(live, safety, err) ||
	    !regen_drop_lock_copy(set, safety, err)) {
		cr_err_set_step(err, "backup");
		goto out;
	}
	json_object_set_new(result, "backup", cr_json_str(safety));
	if (!cr_mkdir_p(staging, 0700, err) || !cr_tree_remove(tree, err) ||
	    !cr_tree_copy(backup, tree, err) ||
	    !cr_tree_compare(backup, tree, err) ||
	    !regen_drop_lock_copy(set, tree, err)) {
		cr_err_set_step(err, "prepare");
		goto out;
	}
	names = regen_service_list(o->services);
	if ((stopped = regen_services_stop(names, under_pxp, err)) == NULL) {
		cr_err_set_step(err, "swap");
		goto out;
	}
	if (!cr_swap_exchange(live, tree, &exchanged, err) || !exchanged) {
		cr_err_set_step(err, "swap");
		if (!err->set)
			cr_err_set(err, CR_KIND_IO, "this filesystem cannot "
			    "exchange directories atomically; restore %s by "
			    "hand (the current ssldir is saved in %s)", backup,
			    safety);
		json_decref(regen_services_start(stopped, warnings));
		if (exchanged) {	/* exchanged, not made durable */
			cr_err_detail_new(err, "live_identity",
			    json_string("restored"));
			regen_next(err, "the backup %s is live, but the change "
			    "could not be synced to disk: check the disk, then "
			    "run the task again", backup);
		}
		goto out;
	}
	json_object_set(result, "services_stopped", stopped);
	json_object_set_new(result, "services_restarted",
	    regen_services_start(stopped, warnings));
	/* restored: leftovers are warnings; a regeneration's staging
	 * (journal, staged key) beside ours is not ours to remove */
	{
		cr_err e;
		cr_err_init(&e);
		if (!cr_tree_remove(tree, &e))
			json_array_append_new(warnings, cr_json_str(e.msg));
		else if (rmdir(staging) == -1 && errno != ENOTEMPTY &&
		    errno != EEXIST && errno != ENOENT)
			json_array_append_new(warnings, cr_json_str(strerror(
			    errno)));
		cr_err_clear(&e);
	}
	if (under_pxp) {
		cr_err e;
		cr_err_init(&e);
		if (!cr_restart_detached("pxp-agent", 3, &e))
			json_array_append_new(warnings, cr_json_str(e.msg));
		cr_err_clear(&e);
	}
	json_object_set_new(result, "state", json_string("restored"));
done:
	json_object_set(result, "warnings", warnings);
	out = json_incref(result);
out:
	if (out == NULL) {
		cr_err_set_step(err, "restore");
		regen_next(err, "the live ssldir is unchanged unless the "
		    "message says otherwise; fix the cause and run again");
	}
	cr_lock_release(locks[1]);
	cr_lock_release(locks[0]);
	json_decref(result);
	json_decref(warnings);
	json_decref(names);
	json_decref(stopped);
	free(live);
	free(staging);
	free(tree);
	free(backup);
	free(safety);
	cr_settings_free(set);
	return out;
}
