/*
 * test_flow_restore.c - the restore flow (cr_restore_run) driven end to
 * end, in process, on a real temporary ssldir through the flows' seam
 * (flow_env.h): first a regeneration (its backup holds the old identity),
 * then the restore of that backup, with the CA's fresh CRL revoking it or
 * not, the CA down, and the restore stopped at each of its kill points
 * and run again.
 *
 * Needs CR_TEST_HOOKS (the ASan+UBSan build of `make SAN=1 unit`); other
 * builds skip it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cr_err.h"
#include "cr_regen.h"
#include "flow_env.h"

#ifdef CR_TEST_HOOKS

static const char *const expected_points[] = {
	"restore-backed-up", "restore-prepared", "restore-services-stopped",
	"restore-exchanged", NULL,
};

static json_t *
restore(struct env *e, cr_err *err)
{
	return cr_restore_run(&e->ro, err);
}

static json_t *
regen(struct env *e, cr_err *err)
{
	return cr_regen_run(&e->o, err);
}

/* A node regenerated once: the new identity live, the old one in the one
 * backup (its path). */
static struct env *
regenerated(char **backup)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	flow_run(e, regen, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_string_equal(state_of(res), "regenerated");
	json_decref(res);
	*backup = the_backup(e);
	return e;
}

/* The number of backups under backups/. */
static int
backups(struct env *e)
{
	struct dirent *de;
	DIR *d = opendir(e->backups);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether a backup under backups/ holds the identity the CA signed. */
static bool
new_identity_kept(struct env *e)
{
	struct dirent *de;
	DIR *d = opendir(e->backups);
	char fp[FP_LEN], ca_fp[FP_LEN], *path;
	bool kept = false;

	assert_non_null(d);
	hex_fp(e->ca.signed_, ca_fp);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = flow_fmt("%s/%s", e->backups, de->d_name);
		assert_identity(path, fp);
		kept = kept || strcmp(fp, ca_fp) == 0;
		free(path);
	}
	closedir(d);
	return kept;
}

/* The old identity is live again, result.backup holds a complete one (the
 * replaced one, unless an earlier, stopped run had put the old one back
 * already), the replaced identity is in a backup, nothing left over. */
static void
assert_restored(struct env *e, json_t *res)
{
	char fp[FP_LEN];
	const char *saved;

	assert_non_null(res);
	assert_string_equal(state_of(res), "restored");
	assert_identity(e->ssl, fp);
	assert_string_equal(fp, e->old_fp);
	assert_non_null(saved = json_string_value(json_object_get(res,
	    "backup")));
	assert_identity(saved, fp);
	assert_true(new_identity_kept(e));
	assert_false(flow_exists(e->staging));
	assert_no_leftovers(e->dir);
}

static void
test_points(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;
	char *backup;

	(void)state;
	e = regenerated(&backup);
	e->ro.backup = backup;
	flow_run(e, restore, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_restored(e, res);
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
	assert_int_equal(backups(e), 2);
	{
		char fp[FP_LEN], ca_fp[FP_LEN];

		assert_identity(json_string_value(json_object_get(res,
		    "backup")), fp);
		hex_fp(e->ca.signed_, ca_fp);
		assert_string_equal(fp, ca_fp);
	}
	assert_true(json_is_true(json_object_get(json_object_get(res,
	    "backup_certificate"), "revocation_checked")));
	json_decref(res);
	flow_points_take(expected_points);
	free(backup);
	env_free(e);
}

/*
 * Stopped at each point, then run again with backup=latest: the run's
 * journal (restore.json) makes the rerun finish the backup the stopped run
 * was restoring (by then "latest" alone would name the stopped run's
 * safety copy), the old identity is live, the services the stopped run
 * stopped run again, nothing left over.
 */
static void
test_kill_each_point(void **state)
{
	struct timespec t0;
	struct env *e;
	json_t *res;
	cr_err err;
	char *backup;
	size_t i;

	(void)state;
	assert_non_null(flow_points);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < json_array_size(flow_points); i++) {
		e = regenerated(&backup);
		e->ro.backup = backup;
		kill_after = (long)i - 1;
		if (!flow_run(e, restore, true, &res, &err))
			fail_msg("the restore did not reach %s", json_string_value(
			    json_array_get(flow_points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		e->ro.backup = NULL;	/* latest */
		if (flow_run(e, restore, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_restored(e, res);
		assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
		assert_int_equal(backups(e), 2);
		json_decref(res);
		free(backup);
		env_free(e);
	}
	print_message("restore kill/resume: %zu kill points in %.0f ms\n",
	    json_array_size(flow_points), ms_since(&t0));
}

/* A restore stopped after its copy of the live ssldir: a regeneration
 * waits for it (staging-conflict), a rerun with another explicit backup is
 * refused (parameters-changed, naming the stopped run's backup), nothing
 * changed; the stopped run's own backup then finishes it. */
static void
test_kill_other_backup(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;
	char *backup, *other, fp[FP_LEN], ca_fp[FP_LEN];

	(void)state;
	assert_non_null(flow_points);
	e = regenerated(&backup);
	e->ro.backup = backup;
	kill_after = point_index("restore-backed-up") - 1;
	assert_true(flow_run(e, restore, true, &res, &err));
	assert_int_equal(backups(e), 2);
	/* a regeneration waits for the unfinished restore */
	flow_run(e, regen, false, &res, &err);
	assert_null(res);
	assert_string_equal(err.kind, "cert_regen/staging-conflict");
	assert_non_null(strstr(json_string_value(json_object_get(err.details,
	    "next_step")), "restore.json"));
	cr_err_clear(&err);
	other = flow_fmt("%s", e->ssl);	/* an ssldir, not the journal's */
	e->ro.backup = other;
	flow_run(e, restore, false, &res, &err);
	assert_null(res);
	assert_string_equal(err.kind, "cert_regen/parameters-changed");
	assert_non_null(strstr(err.msg, backup));
	assert_non_null(strstr(json_string_value(json_object_get(err.details,
	    "next_step")), "backup=latest"));
	cr_err_clear(&err);
	assert_identity(e->ssl, fp);
	hex_fp(e->ca.signed_, ca_fp);
	assert_string_equal(fp, ca_fp);
	e->ro.backup = backup;
	flow_run(e, restore, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_restored(e, res);
	assert_int_equal(backups(e), 2);
	json_decref(res);
	free(other);
	free(backup);
	env_free(e);
}

/* The CA revoked the backup's certificate: refused, nothing changed;
 * allow_revoked restores it with a warning. */
static void
test_revoked(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;
	char *backup, fp[FP_LEN], ca_fp[FP_LEN], *w;

	(void)state;
	e = regenerated(&backup);
	e->ca.revoked[e->ca.n_revoked++] = e->old_serial;
	flow_run(e, restore, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_BACKUP_REVOKED));
	assert_next_step(&err, "regenerate instead");
	cr_err_clear(&err);
	assert_identity(e->ssl, fp);
	hex_fp(e->ca.signed_, ca_fp);
	assert_string_equal(fp, ca_fp);
	assert_int_equal(backups(e), 1);

	e->ro.allow_revoked = true;
	flow_run(e, restore, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_restored(e, res);
	w = json_dumps(json_object_get(res, "warnings"), 0);
	assert_non_null(strstr(w, "revoked this certificate"));
	free(w);
	json_decref(res);
	free(backup);
	env_free(e);
}

/* The CA cannot be asked: the restore goes on (it is the rollback), and
 * says that the revocation was not checked. */
static void
test_ca_down(void **state)
{
	struct env *e;
	json_t *res;
	cr_err err;
	char *backup, *w;

	(void)state;
	e = regenerated(&backup);
	e->ca.down = true;
	flow_run(e, restore, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_restored(e, res);
	assert_false(json_is_true(json_object_get(json_object_get(res,
	    "backup_certificate"), "revocation_checked")));
	w = json_dumps(json_object_get(res, "warnings"), 0);
	assert_non_null(strstr(w, "revocation check could not be done"));
	free(w);
	json_decref(res);
	free(backup);
	env_free(e);
}

#endif	/* CR_TEST_HOOKS */

FLOW_SUITE_MAIN(
	cmocka_unit_test(test_points),
	cmocka_unit_test(test_kill_each_point),
	cmocka_unit_test(test_kill_other_backup),
	cmocka_unit_test(test_revoked),
	cmocka_unit_test(test_ca_down)
)
