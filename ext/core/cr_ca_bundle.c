/*
 * cr_ca_bundle.c - cert_regen::ca_bundle_update: an agent (or compiler)
 * takes the renewed CA bundle of its CA, but only a renewal: every new CA
 * certificate must carry the public key and subject of one it already
 * trusts, or the bundle must match a pinned fingerprint (cr_ca_renew.h).
 *
 *   preflight  agent-section settings; Puppet's locks (as regenerate)
 *   fetch      GET certificate/ca, verified with the node's bundle; when
 *              that bundle has expired TLS verification fails, and the
 *              bundle is fetched again without verification: its content
 *              is what is checked, never the channel
 *   accept     same key + subject per certificate (or the pin); same text
 *              as installed, or a bundle that ends earlier than the one
 *              installed (a replay: offered_ends_sooner, with a warning):
 *              state current, nothing written
 *   install    verified backup of the ssldir, then localcacert replaced
 *              atomically (temp file, fsync, rename, directory fsync) with
 *              the old file's owner and mode
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "cr_ca_renew.h"
#include "cr_fs.h"
#include "cr_http.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_settings.h"
#include "cr_swap.h"
#include "cr_x509.h"

/* GET certificate/ca; *how says which channel was used. */
static char *
fetch(const struct cr_bundle_opts *o, cr_settings *set, size_t *len,
    const char **how, cr_err *err)
{
	struct cr_http_opts ho = { 0 };
	const char *port = cr_settings_get(set, "ca_port");
	cr_http *h = NULL;
	char *pem = NULL;
	cr_err e;

	cr_err_init(&e);
	ho.server = o->ca_server ? o->ca_server : cr_settings_get(set,
	    "ca_server");
	ho.port = o->ca_port > 0 ? o->ca_port : port ? atoi(port) : 0;
	if (o->ca_fingerprint != NULL) {
		ho.ca_fingerprint = o->ca_fingerprint;
		*how = "pinned";
		if ((h = cr_http_new(&ho, err)) != NULL)
			pem = cr_ca_get_ca_bundle(h, len, err);
		goto out;
	}
	ho.cacert = cr_settings_get(set, "localcacert");
	*how = "verified";
	if ((h = cr_http_new(&ho, &e)) != NULL &&
	    (pem = cr_ca_get_ca_bundle(h, len, &e)) != NULL)
		goto out;
	if (!cr_err_is(&e, CR_KIND_CA_TLS)) {
		cr_err_set(err, e.kind, "%s", e.msg);
		json_object_update(err->details, e.details);
		goto out;
	}
	/* the node's bundle no longer verifies the server (expired): the
	 * content decides, see cr_ca_bundle_acceptable */
	cr_http_free(h);
	ho.cacert = NULL;
	ho.content_checked = true;
	*how = "unverified_tls_content_checked";
	if ((h = cr_http_new(&ho, err)) != NULL)
		pem = cr_ca_get_ca_bundle(h, len, err);
out:
	cr_http_free(h);
	cr_err_clear(&e);
	return pem;
}

static json_t *
certs_json(STACK_OF(X509) *certs)
{
	json_t *out = json_array();
	int i;

	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++)
		json_array_append_new(out, cr_ca_json(sk_X509_value(certs, i),
		    time(NULL)));
	return out;
}

static bool
same_file(const char *path, const char *pem, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	bool same;
	cr_err e;

	cr_err_init(&e);
	same = cr_file_read(path, (size_t)64 << 20, &buf, &n, &e) &&
	    n == len && memcmp(buf, pem, len) == 0;
	cr_err_clear(&e);
	free(buf);
	return same;
}

/* The host certificate still chains to the new bundle (a warning when it
 * does not: a host certificate that expired stays for regenerate). */
static void
check_hostcert(cr_settings *set, STACK_OF(X509) *fresh, json_t *result)
{
	STACK_OF(X509) *host = NULL;
	const char *why = NULL;
	cr_err e;

	cr_err_init(&e);
	if ((host = cr_certs_read(cr_settings_get(set, "hostcert"), &e)) ==
	    NULL || cr_verify_chain(sk_X509_value(host, 0), fresh, NULL,
	    CR_CRL_OFF, time(NULL), &why, &e) != 1)
		json_array_append_new(json_object_get(result, "warnings"),
		    json_sprintf("the host certificate does not verify against "
		    "the new bundle (%s): check it with cert_regen::status",
		    why ? why : e.set ? e.msg : "?"));
	sk_X509_pop_free(host, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
}

static bool
install(const struct cr_bundle_opts *o, cr_settings *set, const char *pem,
    size_t len, json_t *result, cr_err *err)
{
	const char *path = cr_settings_get(set, "localcacert");
	char *ssldir = cr_settings_real_ssldir(cr_settings_get(set, "ssldir"), err);
	char *bak = NULL;
	mode_t mode = 0644;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	bool ok = false;

	if (ssldir == NULL)
		goto out;
	if ((bak = cr_backup_path(ssldir, o->backup_dir, time(NULL))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (!cr_backup_make(ssldir, bak, err) ||
	    !cr_lock_drop_copy(set, bak, err))
		goto out;
	json_object_set_new(result, "backup", cr_json_str(bak));
	/* the old file's owner and mode (Windows: its privacy); cr_file_meta
	 * fills them only when it is there: else 0644, owner unchanged */
	(void)cr_file_meta(path, &mode, &uid, &gid);
	ok = cr_file_write_atomic(path, pem, len, mode & 0777, uid, gid, err);
out:
	free(ssldir);
	free(bak);
	return ok;
}

json_t *
cr_ca_bundle_update(const struct cr_bundle_opts *o, cr_err *err)
{
	cr_settings *set = NULL;
	cr_lock *locks[2] = { NULL, NULL };
	STACK_OF(X509) *trusted = NULL, *fresh = NULL;
	json_t *result = json_pack("{s:[]}", "warnings"), *out = NULL;
	const char *how = NULL, *local;
	char *pem = NULL;
	size_t len = 0;
	bool sooner;
	cr_err e;

	cr_err_init(&e);
	if (result == NULL || (set = cr_settings_agent(o->confdir, NULL, NULL,
	    NULL, err)) == NULL) {
		if (!err->set)
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		cr_err_next(err, "nothing was changed: fix puppet.conf and run the "
		    "task again");
		goto out;
	}
	local = cr_settings_get(set, "localcacert");
	json_object_set_new(result, "localcacert", cr_json_str(local));
	if (!o->noop && !cr_lock_pair(set, o->lock_timeout_ms, locks, err)) {
		cr_err_next(err, "nothing was changed: wait for the puppet run (or "
		    "the other cert_regen task) to end and run the task again");
		goto out;
	}
	trusted = cr_certs_read(local, &e);
	if (trusted == NULL && o->ca_fingerprint == NULL) {
		cr_err_set(err, e.kind, "%s", e.msg);
		cr_err_next(err, "nothing was changed: without a CA bundle this node "
		    "trusts, pin the CA with ca_fingerprint");
		goto out;
	}
	json_object_set_new(result, "old", certs_json(trusted));
	if ((pem = fetch(o, set, &len, &how, err)) == NULL) {
		cr_err_next(err, "nothing was changed: check that the CA answers on "
		    "ca_server:ca_port (and the pin, if one was given), then "
		    "run the task again");
		goto out;
	}
	json_object_set_new(result, "fetched", json_string(how));
	if ((fresh = cr_certs_parse(pem, len, "the CA bundle", err)) == NULL)
		goto out;
	json_object_set_new(result, "new", certs_json(fresh));
	if (o->ca_fingerprint == NULL && !cr_ca_bundle_acceptable(trusted,
	    fresh, err)) {
		cr_err_next(err, "nothing was changed: this is a new CA, not a "
		    "renewal; move the node to it with cert_regen::rebuild_ca's "
		    "agent step, or cert_regen::regenerate with ca_fingerprint "
		    "set to the new CA's fingerprint");
		goto out;
	}
	check_hostcert(set, fresh, result);
	sooner = cr_ca_bundle_older(trusted, fresh);
	json_object_set_new(result, "offered_ends_sooner", json_boolean(
	    sooner));
	if (same_file(local, pem, len)) {
		json_object_set_new(result, "state", json_string("current"));
	} else if (sooner) {
		/* the installed bundle (same keys) ends later: refused, the
		 * installed one is kept */
		json_object_set_new(result, "state", json_string("current"));
		json_array_append_new(json_object_get(result, "warnings"),
		    json_string("the CA serves a bundle that ends before the "
		    "installed one (same keys): the installed one was kept; "
		    "check the CA with cert_regen::ca_renew _noop=true"));
	} else if (o->noop) {
		json_object_set_new(result, "state", json_string(
		    "would_update"));
		json_object_set_new(result, "noop", json_true());
	} else {
		if (!install(o, set, pem, len, result, err)) {
			cr_err_next(err, "the old CA bundle is still installed: fix the "
			    "cause named above and run the task again");
			goto out;
		}
		json_object_set_new(result, "state", json_string("updated"));
	}
	out = json_incref(result);
out:
	cr_lock_release(locks[1]);
	cr_lock_release(locks[0]);
	sk_X509_pop_free(trusted, X509_free);
	sk_X509_pop_free(fresh, X509_free);
	cr_settings_free(set);
	json_decref(result);
	cr_err_clear(&e);
	free(pem);
	return out;
}
