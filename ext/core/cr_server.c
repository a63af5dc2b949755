/*
 * cr_server.c - the CA host's own certificate, a new CA, and putting a
 * pair of backups back (see cr_server.h).  The flow is the same for the
 * three operations; cr_server_build.c makes the new directories.
 *
 *   preflight  settings of the [server] section; both directories in
 *              Puppet's default layout and apart; Puppet's agent locks
 *   stop       the services that run are stopped and journaled; the
 *              server must then be silent on its port (a CA still
 *              issuing certificates while its files are copied would
 *              hand out a serial twice)
 *   backup     verified copies of the ssldir and of the cadir
 *   build      complete new ssldir and cadir beside the live ones, each
 *              on its own filesystem, verified (cr_server_build.c)
 *   exchange   cadir, then ssldir (renameat2 RENAME_EXCHANGE each); the
 *              journal records the inode of each new directory, so a
 *              rerun knows which exchange happened even when it was
 *              killed between an exchange and the journal write
 *   start      the services stopped are started; the server must answer
 *              on its port with the new certificate
 *
 * Journal (<staging>/journal.json, 0600): operation, state (stopped,
 * built, ca_exchanged, exchanged), services_stopped, backup, new inodes.
 * A failure before the first exchange starts the services again and drops
 * the journal: the live directories are as they were.  A failure after it
 * keeps the journal: running the task again finishes the run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cr_flow_ops.h"
#include "cr_fs.h"
#include "cr_http.h"
#include "cr_json.h"
#include "cr_journal.h"
#include "cr_lock.h"
#include "cr_identity.h"
#include "cr_killpoint.h"
#include "cr_regen.h"
#include "cr_settings.h"
#include "cr_server_int.h"
#include "cr_service.h"
#include "cr_swap.h"
#include "cr_x509.h"

#define CHECK_CONNECT_S 5L
#define DOWN_CONNECT_S 3L

/* the services a CA host's flow stops when the task names none */
static const char *const default_services[] = {
	"puppet", "pxp-agent", "mcollective", "puppetserver", NULL
};

static const char *const op_names[] = {
	NULL, "primary_cert", "ca_rebuild", "primary_restore", "ca_renew"
};

/* settings that must stay inside each directory */
static const char *const ssl_settings[] = {
	"hostcert", "hostprivkey", "hostpubkey", "localcacert", "hostcrl",
	"hostcsr", "certdir", "privatekeydir", "publickeydir", NULL
};
static const char *const ca_settings[] = {
	"cacert", "cakey", "capub", "cacrl", "serial", "signeddir", "csrdir",
	"cert_inventory", NULL
};

/* ------------------------------------------------------------ helpers -- */

const char *
srv_rel(const char *dir, const char *path, const char *setting, cr_err *err)
{
	size_t n = strlen(dir);

	if (path == NULL || strncmp(path, dir, n) != 0 || path[n] != '/' ||
	    path[n + 1] == '\0') {
		cr_err_set(err, CR_KIND_SETTINGS, "%s (%s) is not inside %s: "
		    "cert_regen replaces the directory as a whole, so keep "
		    "Puppet's default layout for this setting", setting,
		    path ? path : "unset", dir);
		return NULL;
	}
	return path + n + 1;
}

/* New "<staging path of dir>.server". */
static char *
server_staging(const char *dir)
{
	char *base = cr_staging_path(dir), *out = NULL;

	if (base != NULL && asprintf(&out, "%s.server", base) == -1)
		out = NULL;
	free(base);
	return out;
}

/*
 * The server flows' journal states, in order (cr_journal_save writes them):
 *   new           the run began: nothing changed yet
 *   stopped       the services named in services_stopped are stopped
 *   built         new ssldir (and cadir) complete and verified in staging,
 *                 the live ones backed up
 *   ca_exchanged  the new cadir is live (rebuild, restore, renew)
 *   exchanged     the new ssldir is live; services still to be started
 */
static bool
journal_save(struct srv *s, const char *state, cr_err *err)
{
	return cr_journal_save(s->staging, s->journal, state, err);
}

static const char *
journal_state(const struct srv *s)
{
	const char *st = json_string_value(json_object_get(s->journal, "state"));

	return st ? st : "";
}

/* Inode of path as "dev:ino", or "" when it cannot be read. */
static void
inode_of(const char *path, char buf[64])
{
	struct stat st;

	buf[0] = '\0';
	if (lstat(path, &st) == 0)
		snprintf(buf, 64, "%llu:%llu", (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
}

/* The live directory is the one built (its inode was journaled). */
static bool
live_is_new(const struct srv *s, const char *live, const char *key)
{
	const char *want = json_string_value(json_object_get(s->journal, key));
	char have[64];

	inode_of(live, have);
	return want != NULL && have[0] != '\0' && strcmp(want, have) == 0;
}

/* ---------------------------------------------------------- preflight -- */

static bool
load_settings(struct srv *s, cr_err *err)
{
	struct cr_settings_opts so = { 0 };
	const char *ssl, *ca;
	size_t i;
	bool ok = false;

	so.confdir = s->o->confdir;
	so.section = "server";
	so.allow_exec = true;
	if ((s->set = cr_settings_load(&so, err)) == NULL)
		goto out;
	s->certname = cr_settings_get(s->set, "certname");
	ssl = cr_settings_get(s->set, "ssldir");
	ca = cr_settings_get(s->set, "cadir");
	if ((s->ssldir = realpath(ssl, NULL)) == NULL) {
		cr_err_errno(err, CR_KIND_SETTINGS, errno, "the ssldir %s", ssl);
		goto out;
	}
	if ((s->cadir = realpath(ca, NULL)) == NULL) {
		cr_err_errno(err, CR_KIND_SETTINGS, errno, "the cadir %s (is "
		    "this the CA host? the tasks for the primary run there)",
		    ca);
		goto out;
	}
	/* the settings are resolved from the configured paths; compare them
	 * against those, then work on the real ones */
	for (i = 0; ssl_settings[i] != NULL; i++)
		if (srv_rel(ssl, cr_settings_get(s->set, ssl_settings[i]),
		    ssl_settings[i], err) == NULL)
			goto out;
	for (i = 0; ca_settings[i] != NULL; i++)
		if (srv_rel(ca, cr_settings_get(s->set, ca_settings[i]),
		    ca_settings[i], err) == NULL)
			goto out;
	if (srv_rel(s->ssldir, s->cadir, "cadir", NULL) != NULL ||
	    srv_rel(s->cadir, s->ssldir, "ssldir", NULL) != NULL ||
	    strcmp(s->ssldir, s->cadir) == 0) {
		cr_err_set(err, CR_KIND_SETTINGS, "the cadir %s is inside the "
		    "ssldir %s (Puppet 5's layout): move it out with "
		    "`puppetserver ca migrate` first", s->cadir, s->ssldir);
		goto out;
	}
	if ((s->staging = server_staging(s->ssldir)) == NULL ||
	    (s->ca_staging = server_staging(s->cadir)) == NULL ||
	    (s->new_ssl = cr_path_join(s->staging, "ssl")) == NULL ||
	    (s->new_ca = cr_path_join(s->ca_staging, "ca")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = true;
out:
	return ok;
}

static bool
read_old_cert(struct srv *s, cr_err *err)
{
	STACK_OF(X509) *certs;
	cr_err e;

	cr_err_init(&e);
	if ((certs = cr_certs_read(cr_settings_get(s->set, "hostcert"), &e))
	    != NULL) {
		s->old_cert = sk_X509_shift(certs);
		sk_X509_pop_free(certs, X509_free);
	}
	if (s->old_cert == NULL && (s->o->op == CR_SRV_PRIMARY_CERT ||
	    s->o->op == CR_SRV_CA_RENEW)) {
		cr_err_set(err, e.kind[0] ? e.kind : CR_KIND_IO, "the primary's "
		    "certificate: %s", e.msg);
		cr_err_clear(&e);
		return false;
	}
	cr_err_clear(&e);
	ERR_clear_error();
	json_object_set_new(s->result, "old", s->old_cert ?
	    cr_identity_cert_summary(s->old_cert) : json_null());
	return true;
}

/* Fingerprints of the CA bundle of dir's cacert ({subject, fp}...). */
static json_t *
ca_summary(const char *cacert)
{
	STACK_OF(X509) *certs;
	json_t *out = json_array();
	int i;
	cr_err e;

	cr_err_init(&e);
	certs = cr_certs_read(cacert, &e);
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		char *fp = cr_fingerprint_x509(x, EVP_sha256());
		char *subj = cr_name_string(X509_get_subject_name(x));

		json_array_append_new(out, json_pack("{s:s?, s:s?}", "subject",
		    subj, "fingerprint_sha256", fp));
		free(fp);
		free(subj);
	}
	sk_X509_pop_free(certs, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
	return out;
}

/* ---------------------------------------------------------- the server -- */

static void *
server_handle(const struct srv *s, long connect_s, bool client, cr_err *err)
{
	struct cr_http_opts ho = { 0 };
	const char *port = cr_settings_get(s->set, "ca_port");

	ho.server = cr_settings_get(s->set, "ca_server");
	ho.port = port ? atoi(port) : 0;
	ho.cacert = cr_settings_get(s->set, "localcacert");
	if (client) {
		ho.client_cert = cr_settings_get(s->set, "hostcert");
		ho.client_key = cr_settings_get(s->set, "hostprivkey");
	}
	ho.connect_timeout_s = connect_s;
	ho.timeout_s = connect_s + 10;
	return s->ops->ca_open(s->ops->ctx, &ho, err);
}

/* true when nothing answers on the CA port any more. */
static bool
server_down(const struct srv *s, cr_err *err)
{
	char *body = NULL, *peer = NULL, *url = NULL;
	void *h;
	cr_err e;
	bool down = false;

	cr_err_init(&e);
	if ((h = server_handle(s, DOWN_CONNECT_S, false, &e)) == NULL) {
		/* no usable CA bundle: cannot ask; a TCP answer is all that
		 * counts here, so treat a broken bundle as "cannot tell" */
		down = true;
		goto out;
	}
	body = s->ops->server_status(s->ops->ctx, h, &peer, &url, &e);
	down = cr_err_is(&e, CR_KIND_CA_UNREACHABLE);
	if (!down)
		cr_err_set(err, CR_KIND_SERVER_RUNNING, "something still "
		    "answers on %s:%s after the services were stopped: add the "
		    "server's service name to the parameter 'services' (the "
		    "CA's files must not change while they are copied)",
		    cr_settings_get(s->set, "ca_server"),
		    cr_settings_get(s->set, "ca_port"));
out:
	free(body);
	free(peer);
	free(url);
	s->ops->ca_close(s->ops->ctx, h);
	cr_err_clear(&e);
	return down;
}

/*
 * Waits (up to start_timeout) for the server to answer /status/v1/simple
 * over mutual TLS with the live (new) identity, and checks that the
 * certificate it presents is the live hostcert.
 */
static bool
server_check(struct srv *s, cr_err *err)
{
	long limit = s->o->start_timeout_s > 0 ? s->o->start_timeout_s :
	    CR_SERVER_START_TIMEOUT_DEFAULT;
	time_t t0 = time(NULL);
	char *want = NULL, *peer = NULL, *got = NULL, *url = NULL;
	char *body = NULL;
	STACK_OF(X509) *certs = NULL;
	void *h = NULL;
	cr_err e;
	bool ok = false;

	cr_err_init(&e);
	if ((certs = cr_certs_read(cr_settings_get(s->set, "hostcert"), err))
	    == NULL)
		goto out;
	want = cr_fingerprint_x509(sk_X509_value(certs, 0), EVP_sha256());
	sk_X509_pop_free(certs, X509_free);
	certs = NULL;
	for (;;) {
		cr_err_clear(&e);
		s->ops->ca_close(s->ops->ctx, h);
		if ((h = server_handle(s, CHECK_CONNECT_S, true, &e)) != NULL &&
		    (body = s->ops->server_status(s->ops->ctx, h, &peer, &url,
		    &e)) != NULL)
			break;
		if (time(NULL) - t0 >= limit) {
			cr_err_set(err, CR_KIND_SERVER_CHECK, "the server did "
			    "not answer over TLS within %ld s: %s", limit,
			    e.msg);
			goto out;
		}
		sleep(2);
	}
	if (peer == NULL || (certs = cr_certs_parse(peer, strlen(peer),
	    "the server's certificate", &e)) == NULL) {
		cr_err_set(err, CR_KIND_SERVER_CHECK, "cannot read the "
		    "certificate the server presented");
		goto out;
	}
	got = cr_fingerprint_x509(sk_X509_value(certs, 0), EVP_sha256());
	json_object_set_new(s->result, "server_check", json_pack(
	    "{s:s?, s:s?, s:s?, s:I, s:b}", "url", url,
	    "presented_fingerprint_sha256", got, "status", body,
	    "seconds", (json_int_t)(time(NULL) - t0),
	    "matches", want != NULL && got != NULL && strcmp(want, got) == 0));
	if (want == NULL || got == NULL || strcmp(want, got) != 0) {
		cr_err_set(err, CR_KIND_SERVER_CHECK, "the server presents %s, "
		    "not the new certificate %s: is another process serving "
		    "that port, or does webserver.conf name other ssl-cert "
		    "files?", got ? got : "?", want ? want : "?");
		goto out;
	}
	ok = true;
out:
	sk_X509_pop_free(certs, X509_free);
	s->ops->ca_close(s->ops->ctx, h);
	cr_err_clear(&e);
	ERR_clear_error();
	free(want);
	free(peer);
	free(got);
	free(url);
	free(body);
	return ok;
}

/* ------------------------------------------------------------- phases -- */

/* <backup_dir>/<sub> or NULL (then cr_backup_path uses <dir>_bak). */
static char *
backup_root(const struct srv *s, const char *sub)
{
	return s->o->backup_dir ? cr_path_join(s->o->backup_dir, sub) : NULL;
}

/* Verified copies of both live directories (reused on a rerun when the
 * journaled ones still equal the live ones). */
static bool
backups(struct srv *s, cr_err *err)
{
	json_t *b = json_object_get(s->journal, "backup");
	const char *js = json_string_value(json_object_get(b, "ssldir"));
	const char *jc = json_string_value(json_object_get(b, "cadir"));
	char *root_s = backup_root(s, "ssl"), *root_c = backup_root(s, "ca");
	time_t now = time(NULL);
	bool ok = false;
	cr_err e;

	cr_err_init(&e);
	if (js != NULL && jc != NULL && cr_tree_compare(s->ssldir, js, &e) &&
	    cr_tree_compare(s->cadir, jc, &e)) {
		s->backup_ssl = strdup(js);
		s->backup_ca = strdup(jc);
		ok = s->backup_ssl != NULL && s->backup_ca != NULL;
		goto out;
	}
	cr_err_clear(&e);
	if ((s->backup_ssl = cr_backup_path(s->ssldir, root_s, now)) == NULL ||
	    (s->backup_ca = cr_backup_path(s->cadir, root_c, now)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (!cr_backup_make(s->ssldir, s->backup_ssl, err) ||
	    !cr_lock_drop_copy(s->set, s->backup_ssl, err))
		goto out;
	if (!cr_backup_make(s->cadir, s->backup_ca, err))
		goto out;
	json_object_set_new(s->journal, "backup", json_pack("{s:s, s:s}",
	    "ssldir", s->backup_ssl, "cadir", s->backup_ca));
	ok = journal_save(s, "stopped", err);
out:
	if (!ok)
		cr_err_set_step(err, "backup");
	json_object_set_new(s->result, "backup", json_pack("{s:s?, s:s?}",
	    "ssldir", s->backup_ssl, "cadir", s->backup_ca));
	cr_err_clear(&e);
	free(root_s);
	free(root_c);
	return ok;
}

static bool
stop_services(struct srv *s, bool under_pxp, cr_err *err)
{
	json_t *names = cr_services_list_from(s->o->services,
	    default_services), *stopped;
	bool ok = false;

	if ((stopped = s->ops->services_stop(s->ops->ctx, names, under_pxp,
	    err)) == NULL)
		goto out;
	json_object_set_new(s->journal, "services_stopped", stopped);
	if (!journal_save(s, "stopped", err)) {
		json_decref(s->ops->services_start(s->ops->ctx, stopped,
		    s->warnings));
		goto out;
	}
	ok = true;
out:
	json_decref(names);
	if (!ok)
		cr_err_set_step(err, "stop");
	return ok;
}

/* What a build found (srv_build's answer), journaled so that a resumed run
 * reports it: copied from one object to the other. */
static void
built_copy(json_t *to, json_t *from)
{
	static const char *const keys[] = {
		"new", "new_ca", "renewal", "bundle_sha256", NULL
	};
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		json_object_set(to, keys[i], json_object_get(from, keys[i]));
}

/* A preflight step failed: nothing was changed, the old identity is live. */
static void
preflight_failed(cr_err *err, const char *next)
{
	cr_err_set_step(err, "preflight");
	cr_err_live(err, CR_LIVE_OLD);
	cr_err_next(err, "nothing was changed: %s", next);
}

/* Removes what a run leaves in the staging dirs (journal included). */
static void
drop_staging(struct srv *s, bool keep_journal)
{
	char *j = cr_path_join(s->staging, CR_JOURNAL_FILE);
	cr_err e;

	cr_err_init(&e);
	if (!cr_tree_remove(s->new_ssl, &e) || !cr_tree_remove(s->new_ca, &e))
		json_array_append_new(s->warnings, cr_json_str(e.msg));
	cr_err_clear(&e);
	if (!keep_journal) {
		if (j != NULL && unlink(j) == -1 && errno != ENOENT)
			json_array_append_new(s->warnings,
			    cr_json_str(strerror(errno)));
		if (!cr_tree_remove(s->staging, &e))
			json_array_append_new(s->warnings, cr_json_str(e.msg));
		cr_err_clear(&e);
	}
	if (!cr_tree_remove(s->ca_staging, &e))
		json_array_append_new(s->warnings, cr_json_str(e.msg));
	cr_err_clear(&e);
	free(j);
}

/* Exchanges live and built; the journal then says state. */
static bool
exchange_one(struct srv *s, const char *live, const char *built,
    const char *key, const char *state, bool ca, cr_err *err)
{
	bool exchanged = false;

	if (live_is_new(s, live, key))
		return journal_save(s, state, err);	/* done before a kill */
	if (!cr_swap_exchange(live, built, &exchanged, err))
		return false;
	if (!exchanged) {
		cr_err_set(err, CR_KIND_IO, "the filesystem of %s cannot "
		    "exchange directories atomically (renameat2 "
		    "RENAME_EXCHANGE)", live);
		return false;
	}
	if (ca)
		cr_killpoint("server-ca-exchanged");
	else
		cr_killpoint("server-ssl-exchanged");
	return journal_save(s, state, err);
}

static bool
exchange(struct srv *s, cr_err *err)
{
	bool ok = false;
	cr_err e;

	cr_err_init(&e);
	if (strcmp(journal_state(s), "built") == 0 &&
	    !exchange_one(s, s->cadir, s->new_ca, "new_ca_inode",
	    "ca_exchanged", true, err))
		goto out;
	if (!exchange_one(s, s->ssldir, s->new_ssl, "new_ssl_inode",
	    "exchanged", false, err)) {
		/* put the old cadir back: old ssldir + old cadir again */
		if (live_is_new(s, s->cadir, "new_ca_inode")) {
			bool back = false;

			if (cr_swap_exchange(s->cadir, s->new_ca, &back, &e) &&
			    back && journal_save(s, "built", &e))
				cr_err_live(err, CR_LIVE_OLD);
		}
		goto out;
	}
	ok = true;
out:
	cr_err_clear(&e);
	if (!ok)
		cr_err_set_step(err, "exchange");
	return ok;
}

/* The agent on this host cached a catalog compiled for the identity that
 * was just replaced (Puppet's procedure removes it).  Agent-section
 * settings: the [server] section may have a vardir of its own. */
static void
remove_cached_catalog(struct srv *s)
{
	cr_settings *agent;
	cr_err e;

	cr_err_init(&e);
	if ((agent = cr_settings_agent(s->o->confdir, NULL, NULL, NULL, &e)) ==
	    NULL)
		json_array_append_new(s->warnings, json_sprintf("the cached "
		    "catalog was not removed (%s): remove "
		    "$client_datadir/catalog/%s.json by hand", e.msg,
		    s->certname));
	else
		cr_identity_catalog_remove(agent,
		    cr_settings_get(agent, "certname"), s->result,
		    s->warnings);
	cr_settings_free(agent);
	cr_err_clear(&e);
}

static json_t *
finish(struct srv *s, bool under_pxp, cr_err *err)
{
	json_t *stopped = json_object_get(s->journal, "services_stopped");
	static const char *const done[] = {
		NULL, "regenerated", "rebuilt", "restored", "renewed"
	};
	json_t *out = NULL;

	cr_killpoint("server-exchanged");
	remove_cached_catalog(s);
	json_object_set(s->result, "services_stopped", stopped ? stopped :
	    json_array());
	json_object_set_new(s->result, "services_restarted",
	    s->ops->services_start(s->ops->ctx, stopped, s->warnings));
	if (under_pxp) {
		cr_err e;
		cr_err_init(&e);
		if (!cr_restart_detached("pxp-agent", 3, &e))
			json_array_append_new(s->warnings, cr_json_str(e.msg));
		cr_err_clear(&e);
	}
	drop_staging(s, false);
	if (!server_check(s, err)) {
		cr_err_set_step(err, "verify");
		cr_err_live(err, CR_LIVE_NEW);
		cr_err_next(err, "the new identity is live and the old "
		    "one is kept in %s and %s: look at the server's log; to go "
		    "back run cert_regen::primary_restore with backup=%s "
		    "ca_backup=%s", s->backup_ssl, s->backup_ca,
		    s->backup_ssl, s->backup_ca);
		goto out;
	}
	json_object_set_new(s->result, "state",
	    json_string(done[s->o->op]));
	out = json_incref(s->result);
out:
	return out;
}

static void
srv_free(struct srv *s)
{
	cr_settings_free(s->set);
	free(s->ssldir);
	free(s->cadir);
	free(s->staging);
	free(s->ca_staging);
	free(s->new_ssl);
	free(s->new_ca);
	free(s->backup_ssl);
	free(s->backup_ca);
	free(s->src_ssl);
	free(s->src_ca);
	json_decref(s->result);
	json_decref(s->journal);
	json_decref(s->alt_names);
	X509_free(s->old_cert);
}

/* Parameters that only some operations take. */
static bool
check_opts(const struct cr_server_opts *o, cr_err *err)
{
	if (o->op < CR_SRV_PRIMARY_CERT || o->op > CR_SRV_CA_RENEW)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "unknown operation");
	else if (o->op == CR_SRV_RESTORE && o->dns_alt_names != NULL)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "a restore takes "
		    "no dns_alt_names: it puts the backed-up certificate back");
	else if (o->op == CR_SRV_CA_RENEW && o->dns_alt_names != NULL)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "a CA renewal takes "
		    "no dns_alt_names: the server's certificate stays as it is");
	return !err->set;
}

static bool
describe_noop(struct srv *s, cr_err *err)
{
	json_t *names = cr_services_list_from(s->o->services,
	    default_services), *st = json_object();
	json_t *v;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(names, i, v) {
		enum cr_svc_state ss = s->ops->service_state(s->ops->ctx,
		    json_string_value(v), &e);
		json_object_set_new(st, json_string_value(v),
		    json_string(cr_service_state_name(ss)));
		cr_err_clear(&e);
	}
	json_object_set_new(s->result, "services", st);
	json_object_set_new(s->result, "state", json_string("unchanged"));
	json_object_set_new(s->result, "noop", json_true());
	json_decref(names);
	if (s->o->op == CR_SRV_CA_RENEW && !srv_renew_preview(s, err))
		return false;
	return s->o->op == CR_SRV_RESTORE || srv_alt_names(s, err);
}

/*
 * A journal left by an unfinished run must be this operation's: another
 * one is finished by running that task again.  A journal that names no
 * operation (damaged, or not written by these tasks) cannot be resumed by
 * any task: say so and what to look at, never "cert_regen::(null)".
 */
static bool
journal_operation_ok(struct srv *s, cr_err *err)
{
	const char *op = json_string_value(json_object_get(s->journal,
	    "operation"));
	size_t i;
	bool known = false;

	for (i = 0; op != NULL && i < sizeof(op_names) / sizeof(op_names[0]);
	    i++)
		if (op_names[i] != NULL && strcmp(op, op_names[i]) == 0)
			known = true;
	if (!known) {
		cr_err_set(err, CR_KIND_BUSY, "the journal %s/" CR_JOURNAL_FILE " names "
		    "no operation of these tasks (%s): it is damaged or not "
		    "cert_regen's, and no task can resume it", s->staging,
		    op ? op : "none");
		cr_err_live(err, CR_LIVE_UNKNOWN);
		cr_err_next(err, "check the live identity with "
		    "cert_regen::check_server (or puppetserver ca list and "
		    "puppet ssl verify) and compare the live ssldir and cadir "
		    "with the backups under <ssldir>_bak and <cadir>_bak; if "
		    "it works, move %s aside (it may hold keys: keep it 0700 "
		    "or remove it) and run the task again; if it does not, "
		    "put the newest verified backup back with "
		    "cert_regen::primary_restore", s->staging);
		return false;
	}
	if (strcmp(op, op_names[s->o->op]) != 0) {
		cr_err_set(err, CR_KIND_BUSY, "a %s run did not finish (%s): "
		    "run cert_regen::%s again to finish it first", op,
		    journal_state(s), op);
		cr_err_live(err, CR_LIVE_UNKNOWN);
		cr_err_next(err, "run cert_regen::%s again", op);
		return false;
	}
	return true;
}

/* After the services were stopped, a failure leaves them stopped: the
 * journal knows where the run is. */
static bool
stuck(struct srv *s, cr_err *err)
{
	cr_err_live(err, CR_LIVE_UNKNOWN);
	cr_err_next(err, "the services stay stopped and the journal in %s "
	    "knows where the run is: fix the cause and run the task again "
	    "(backups: %s, %s)", s->staging, s->backup_ssl ? s->backup_ssl :
	    "-", s->backup_ca ? s->backup_ca : "-");
	return false;
}

/* Step 1: the options, settings, Puppet's locks (the locks first, as
 * regenerate takes them: a concurrent run of these tasks, or a puppet run,
 * finishes before this one reads the old certificate and the journal, so
 * it never goes on with state that run has since changed), the old
 * certificate and the journal (*found). */
static bool
step_preflight(struct srv *s, cr_lock **locks, bool *found, cr_err *err)
{
	const struct cr_server_opts *o = s->o;

	if (!check_opts(o, err))
		return false;
	if ((s->result = json_object()) == NULL ||
	    json_object_set_new(s->result, "warnings", json_array()) != 0) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	s->warnings = json_object_get(s->result, "warnings");
	json_object_set_new(s->result, "operation",
	    json_string(op_names[o->op]));
	if (!load_settings(s, err)) {
		preflight_failed(err, "fix the settings named above and run "
		    "the task again");
		return false;
	}
	if (!o->noop && !cr_lock_pair(s->set, o->lock_timeout_ms, locks,
	    err)) {
		preflight_failed(err, "wait for the puppet run (or the other "
		    "cert_regen task) to end and run the task again");
		return false;
	}
	if (!read_old_cert(s, err)) {
		preflight_failed(err, "fix the settings named above and run "
		    "the task again");
		return false;
	}
	json_object_set_new(s->result, "certname", json_string(s->certname));
	json_object_set_new(s->result, "ssldir", json_string(s->ssldir));
	json_object_set_new(s->result, "cadir", json_string(s->cadir));
	json_object_set_new(s->result, "old_ca", ca_summary(
	    cr_settings_get(s->set, "cacert")));
	if ((s->journal = cr_journal_read(s->staging, found, err)) == NULL &&
	    err->set) {
		cr_err_live(err, CR_LIVE_UNKNOWN);
		cr_err_next(err, "look at %s", s->staging);
		return false;
	}
	return !*found || journal_operation_ok(s, err);
}

/* Step 2: a new run journals itself and stops the services (a renewal
 * that cannot be made, a key missing or days that shorten the CA, is
 * refused before anything stops); a resumed one says where it resumes. */
static bool
step_stop(struct srv *s, bool found, bool under_pxp, cr_err *err)
{
	if (found) {
		json_object_set(s->result, "resumed_from", json_object_get(
		    s->journal, "state"));
		return srv_alt_names(s, err);
	}
	s->journal = json_pack("{s:s, s:s}", "operation", op_names[s->o->op],
	    "state", "new");
	if (s->journal == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	if (!srv_alt_names(s, err) || (s->o->op == CR_SRV_CA_RENEW &&
	    !srv_renew_preview(s, err)) ||
	    !cr_mkdir_p(s->staging, 0700, err) ||
	    !stop_services(s, under_pxp, err)) {
		cr_err_set_step(err, "stop");
		cr_err_live(err, CR_LIVE_OLD);
		cr_err_next(err, "nothing was changed: fix the cause and run "
		    "the task again");
		drop_staging(s, false);
		return false;
	}
	cr_killpoint("server-stopped");
	return true;
}

/* Step 3: the server down, the live directories backed up, the new ones
 * built and journaled ("built"); a failure before that starts the
 * services again.  A run resumed later reports what the build found. */
static bool
step_build(struct srv *s, cr_err *err)
{
	const char *st = journal_state(s);
	char a[64], b[64];

	if (strcmp(st, "stopped") != 0 && strcmp(st, "new") != 0) {
		built_copy(s->result, s->journal);
		return true;
	}
	if (!server_down(s, err) || !backups(s, err) || !srv_build(s, err)) {
		cr_err_live(err, CR_LIVE_OLD);
		cr_err_next(err, "the live ssldir and cadir are unchanged and "
		    "the services were started again: fix the cause and run "
		    "the task again");
		json_decref(s->ops->services_start(s->ops->ctx,
		    json_object_get(s->journal, "services_stopped"),
		    s->warnings));
		drop_staging(s, false);
		return false;
	}
	inode_of(s->new_ca, a);
	inode_of(s->new_ssl, b);
	json_object_set_new(s->journal, "new_ca_inode", json_string(a));
	json_object_set_new(s->journal, "new_ssl_inode", json_string(b));
	built_copy(s->journal, s->result);
	if (!journal_save(s, "built", err))
		return stuck(s, err);
	cr_killpoint("server-built");
	return true;
}

/* Step 4: the backups named in the result, the built directories
 * exchanged with the live ones (unless a killed run did). */
static bool
step_exchange(struct srv *s, cr_err *err)
{
	json_t *b = json_object_get(s->journal, "backup");
	const char *bs = json_string_value(json_object_get(b, "ssldir"));
	const char *bc = json_string_value(json_object_get(b, "cadir"));
	const char *st;

	json_object_set_new(s->result, "backup", json_pack("{s:O?, s:O?}",
	    "ssldir", json_object_get(b, "ssldir"), "cadir",
	    json_object_get(b, "cadir")));
	if (s->backup_ssl == NULL) {
		s->backup_ssl = bs ? strdup(bs) : NULL;
		s->backup_ca = bc ? strdup(bc) : NULL;
	}
	st = journal_state(s);
	if ((strcmp(st, "built") == 0 || strcmp(st, "ca_exchanged") == 0) &&
	    !exchange(s, err))
		return stuck(s, err);
	return true;
}

json_t *
cr_server_run(const struct cr_server_opts *o, cr_err *err)
{
	struct srv s = { 0 };
	cr_lock *locks[2] = { NULL, NULL };
	json_t *out = NULL;
	bool found = false, under_pxp = cr_under_pxp_agent();

	s.o = o;
	s.ops = cr_flow_ops_or_real(o->ops);
	if (!step_preflight(&s, locks, &found, err))
		goto out;
	if (o->noop) {
		if (found)
			json_object_set(s.result, "journal", s.journal);
		if (describe_noop(&s, err))
			out = json_incref(s.result);
		goto out;
	}
	if (step_stop(&s, found, under_pxp, err) && step_build(&s, err) &&
	    step_exchange(&s, err))
		out = finish(&s, under_pxp, err);
out:
	if (out == NULL)
		cr_err_set_step(err, "server");
	cr_lock_release(locks[1]);
	cr_lock_release(locks[0]);
	srv_free(&s);
	return out;
}
