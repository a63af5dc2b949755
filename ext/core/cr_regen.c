/*
 * cr_regen.c - regenerate an agent's certificate (see cr_regen.h): the
 * flow, the journal transitions and the local steps.  The CA side is in
 * cr_regen_ca.c, the swap in cr_swap.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "cr_csr.h"
#include "cr_fs.h"
#include "cr_json.h"
#include "cr_keygen.h"
#include "cr_lock.h"
#include "cr_proc.h"
#include "cr_regen_int.h"
#include "cr_service.h"
#include "cr_swap.h"
#include "cr_task.h"
#include "cr_x509.h"
#include "cr_yaml.h"

static const char *const default_services[] = {
	"puppet", "mcollective", "pxp-agent", NULL,
};

/* ------------------------------------------------------ bookkeeping -- */

#ifdef CR_TEST_HOOKS
#include <signal.h>
void
regen_test_point(const char *name)
{
	const char *at = getenv("CERT_REGEN_TEST_KILL_AT");

	if (at != NULL && strcmp(at, name) == 0)
		raise(SIGKILL);
}
#endif

void
regen_step_begin(struct regen *r, const char *name)
{
	r->step = name;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
}

json_t *
regen_step_end(struct regen *r)
{
	struct timespec t1;
	json_t *s = json_object();
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - r->t0.tv_sec) * 1000 +
	    (t1.tv_nsec - r->t0.tv_nsec) / 1000000;
	if (s == NULL)
		return NULL;
	json_object_set_new(s, "name", json_string(r->step));
	json_object_set_new(s, "duration_ms", json_integer(ms));
	json_array_append_new(r->steps, s);
	return s;
}

void
regen_next(cr_err *err, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (err == NULL || (err->details != NULL &&
	    json_object_get(err->details, "next_step") != NULL))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cr_err_detail_new(err, "next_step", cr_json_str(buf));
}

/* {serial, fingerprint_sha256, not_after, key} of a certificate file, or
 * JSON null when there is none. */
static json_t *
summary_of(const char *path)
{
	STACK_OF(X509) *certs;
	json_t *full, *out = NULL;
	cr_err e;

	cr_err_init(&e);
	if ((certs = cr_certs_read(path, &e)) != NULL &&
	    (full = cr_cert_json(sk_X509_value(certs, 0), time(NULL))) != NULL) {
		out = json_pack("{s:O, s:O, s:O, s:O, s:O}",
		    "serial", json_object_get(full, "serial"),
		    "fingerprint_sha256", json_object_get(full, "fingerprint_sha256"),
		    "not_before", json_object_get(full, "not_before"),
		    "not_after", json_object_get(full, "not_after"),
		    "key", json_object_get(full, "key"));
		json_decref(full);
	}
	sk_X509_pop_free(certs, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
	return out ? out : json_null();
}

/* ----------------------------------------------------------- request -- */

/* Splits "IP:x" / "DNS:x" / bare names into the two lists. */
void
regen_alt_name_add(json_t *dns, json_t *ip, const char *s)
{
	unsigned char buf[16];

	if (strncmp(s, "IP:", 3) == 0)
		json_array_append_new(ip, cr_json_str(s + 3));
	else if (strncmp(s, "DNS:", 4) == 0)
		json_array_append_new(dns, cr_json_str(s + 4));
	else if (inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1)
		json_array_append_new(ip, cr_json_str(s));
	else
		json_array_append_new(dns, cr_json_str(s));
}

/* Removes the certname from dns: the CSR builder adds it itself. */
static void
drop_certname(json_t *dns, const char *certname)
{
	size_t i = json_array_size(dns);

	while (i-- > 0)
		if (strcasecmp(json_string_value(json_array_get(dns, i)),
		    certname) == 0)
			json_array_remove(dns, i);
}

/* pp_* (registered and private arcs) of the current cert, to carry over. */
void
regen_carry_extensions(X509 *current, json_t *ext)
{
	json_t *all = cr_extensions_json(X509_get0_extensions(current)), *v;
	const char *k;
	char oid[128];
	cr_err e;

	cr_err_init(&e);
	json_object_foreach(all, k, v) {
		if (json_is_string(v) &&
		    cr_ext_oid_resolve(k, false, oid, sizeof(oid), &e))
			json_object_set(ext, k, v);
		cr_err_clear(&e);
	}
	json_decref(all);
}

static bool
build_request(struct regen *r, X509 *current, cr_err *err)
{
	json_t *dns = json_array(), *ip = json_array(), *ext = json_object();
	json_t *yaml = NULL, *v;
	const char *k, *setting;
	size_t i;
	bool ok = false;

	if (dns == NULL || ip == NULL || ext == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (r->o->dns_alt_names != NULL) {
		json_array_foreach(r->o->dns_alt_names, i, v)
			regen_alt_name_add(dns, ip, json_string_value(v));
	} else if (current != NULL) {
		cr_sans_json(X509_get0_extensions(current), dns, ip);
	} else if ((setting = cr_settings_get(r->set, "dns_alt_names")) != NULL &&
	    *setting != '\0') {
		char *copy = strdup(setting), *tok, *save = NULL;
		for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			if (*tok != '\0')
				regen_alt_name_add(dns, ip, tok);
		}
		free(copy);
	}
	drop_certname(dns, r->certname);
	if ((yaml = cr_csr_attributes_read(cr_settings_get(r->set,
	    "csr_attributes"), err)) == NULL) {
		regen_next(err, "fix csr_attributes.yaml (Puppet refuses it "
		    "too), then run the task again");
		goto out;
	}
	if (current != NULL)
		regen_carry_extensions(current, ext);
	json_object_foreach(json_object_get(yaml, "extension_requests"), k, v)
		json_object_set(ext, k, v);
	json_object_foreach(r->o->extension_requests, k, v)
		json_object_set(ext, k, v);
	json_object_set(yaml, "extension_requests", ext);
	r->request = json_pack("{s:O, s:O, s:O}", "dns_alt_names", dns,
	    "ip_alt_names", ip, "attributes", yaml);
	ok = r->request != NULL;
out:
	json_decref(yaml);
	json_decref(dns);
	json_decref(ip);
	json_decref(ext);
	return ok;
}

/* NULL-terminated borrowed string list of a JSON array (free the array). */
static const char **
str_list(json_t *arr)
{
	const char **out = calloc(json_array_size(arr) + 1, sizeof(*out));
	size_t i;
	json_t *v;

	if (out != NULL)
		json_array_foreach(arr, i, v)
			out[i] = json_string_value(v);
	return out;
}

/* ------------------------------------------------------------ stage -- */

static bool
make_csr(struct regen *r, cr_err *err)
{
	struct cr_csr_spec spec;
	const char **dns = str_list(json_object_get(r->request, "dns_alt_names"));
	const char **ip = str_list(json_object_get(r->request, "ip_alt_names"));
	bool ok = false;

	memset(&spec, 0, sizeof(spec));
	if (dns == NULL || ip == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	spec.certname = r->certname;
	spec.dns_alt_names = dns;
	spec.ip_alt_names = ip;
	spec.attributes = json_object_get(r->request, "attributes");
	spec.key = r->key;
	if ((r->csr = cr_csr_new(&spec, err)) == NULL ||
	    (r->csr_fp = cr_fingerprint_req(r->csr, EVP_sha256())) == NULL)
		goto out;
	ok = true;
out:
	free(dns);
	free(ip);
	return ok;
}

static bool
stage(struct regen *r, cr_err *err)
{
	const char *type = r->o->key_type ? r->o->key_type :
	    cr_settings_get(r->set, "key_type");
	const char *kl = cr_settings_get(r->set, "keylength");
	int bits = r->o->key_size > 0 ? r->o->key_size : (kl ? atoi(kl) : 4096);
	const char *curve = r->o->curve ? r->o->curve :
	    cr_settings_get(r->set, "named_curve");
	char *key_path = NULL, *csr_path = NULL;
	bool ok = false;

	/* a staging directory without a journal is what a run killed
	 * before its first journal write leaves: nothing was sent */
	if (!cr_tree_remove(r->staging, err) ||
	    !cr_mkdir_p(r->staging, 0700, err))
		goto out;
	if ((key_path = cr_staging_file(r->staging, "key.pem")) == NULL ||
	    (csr_path = cr_staging_file(r->staging, "csr.pem")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	regen_test_point("staging-created");
	if ((r->key = cr_key_generate(type ? type : "rsa", bits, curve, err))
	    == NULL || !cr_key_write_new(key_path, r->key, 0600, err) ||
	    !make_csr(r, err) ||
	    !cr_csr_write(csr_path, r->csr, 0644, (uid_t)-1, (gid_t)-1, err))
		goto out;
	r->journal = json_pack("{s:i, s:s, s:s, s:s, s:s, s:O}", "version", 1,
	    "certname", r->certname, "ssldir", r->ssldir,
	    "csr_fingerprint", r->csr_fp, "key_type", type ? type : "rsa",
	    "request", r->request);
	if (r->journal == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = cr_journal_write(r->staging, r->journal, CR_J_STAGED, err);
out:
	free(key_path);
	free(csr_path);
	return ok;
}

/* Reads a staged PEM file into *pem (NULL and ok if absent and optional). */
static bool
load_staged_text(struct regen *r, const char *name, char **pem, size_t *len,
    cr_err *err)
{
	char *path = cr_staging_file(r->staging, name);
	bool ok;

	if (path == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	ok = cr_file_read(path, CR_MAX_CRL_FILE, pem, len, err);
	free(path);
	return ok;
}

/* Picks up an earlier run's key, CSR and downloads. */
static bool
resume(struct regen *r, cr_err *err)
{
	char *key_path = NULL, *csr_path = NULL;
	const char *c = json_string_value(json_object_get(r->journal, "certname"));
	const char *s = json_string_value(json_object_get(r->journal, "ssldir"));
	bool ok = false;

	if (c == NULL || s == NULL || strcmp(c, r->certname) != 0 ||
	    strcmp(s, r->ssldir) != 0) {
		cr_err_set(err, CR_KIND_STAGING,
		    "the staging directory %s belongs to a run for %s in %s",
		    r->staging, c ? c : "?", s ? s : "?");
		regen_next(err, "finish that run with its own parameters, or "
		    "move %s aside, then run the task again", r->staging);
		goto out;
	}
	json_decref(r->request);
	r->request = json_incref(json_object_get(r->journal, "request"));
	if ((key_path = cr_staging_file(r->staging, "key.pem")) == NULL ||
	    (csr_path = cr_staging_file(r->staging, "csr.pem")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((r->key = cr_key_read(key_path, err)) == NULL ||
	    (r->csr = cr_csr_read(csr_path, err)) == NULL ||
	    (r->csr_fp = cr_fingerprint_req(r->csr, EVP_sha256())) == NULL)
		goto out;
	if (r->state >= CR_J_SIGNED) {
		free(r->ca_pem);
		r->ca_pem = NULL;
		if (!load_staged_text(r, "cert.pem", &r->cert_pem, &r->cert_len,
		    err) || !load_staged_text(r, "ca.pem", &r->ca_pem,
		    &r->ca_len, err) || !load_staged_text(r, "crl.pem",
		    &r->crl_pem, &r->crl_len, err))
			goto out;
	}
	ok = true;
out:
	if (!ok)
		regen_next(err, "the staging directory %s is incomplete: move "
		    "it aside and run the task again (the live identity is "
		    "untouched unless the journal says swapped)", r->staging);
	free(key_path);
	free(csr_path);
	return ok;
}

/* -------------------------------------------------- prepare and swap -- */

/* The identity's paths relative to the ssldir, from the settings. */
static bool
identity_paths(struct regen *r, const char *ssldir_setting,
    struct cr_identity *id, cr_err *err)
{
	const cr_settings *s = r->set;

	memset(id, 0, sizeof(*id));
	id->rel_key = cr_swap_relative(ssldir_setting,
	    cr_settings_get(s, "hostprivkey"), "hostprivkey", err);
	id->rel_pubkey = cr_swap_relative(ssldir_setting,
	    cr_settings_get(s, "hostpubkey"), "hostpubkey", err);
	id->rel_cert = cr_swap_relative(ssldir_setting,
	    cr_settings_get(s, "hostcert"), "hostcert", err);
	id->rel_ca = cr_swap_relative(ssldir_setting,
	    cr_settings_get(s, "localcacert"), "localcacert", err);
	id->rel_crl = cr_swap_relative(ssldir_setting,
	    cr_settings_get(s, "hostcrl"), "hostcrl", err);
	id->rel_csr = cr_swap_relative(ssldir_setting,
	    cr_settings_get(s, "hostcsr"), "hostcsr", err);
	return !err->set;
}

/*
 * A copy of the ssldir made while this process holds Puppet's ssl_lockfile
 * carries that lock file: drop it from the copy.  A lock is not part of
 * the identity, and the copy would outlive this process as a lock nobody
 * holds (in the new live ssldir, or put back from the backup later).
 */
bool
regen_drop_lock_copy(const cr_settings *set, const char *copy, cr_err *err)
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
	} else if (path != NULL && unlink(path) == -1 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s", path);
		ok = false;
	}
	cr_err_clear(&e);
	free(path);
	return ok;
}

static bool
prepare(struct regen *r, cr_err *err)
{
	struct cr_identity id;
	char *tree = NULL, *backup = NULL;
	bool ok = false;

	if (!identity_paths(r, cr_settings_get(r->set, "ssldir"), &id, err))
		goto out;
	id.key = r->key;
	id.cert_pem = r->cert_pem;
	id.ca_pem = r->ca_pem;
	id.crl_pem = r->crl_pem;
	if ((tree = cr_staging_file(r->staging, "tree")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	/* a tree left by a killed run is rebuilt from scratch */
	if (!cr_tree_remove(tree, err) ||
	    !cr_swap_build_tree(r->ssldir, tree, &id, err) ||
	    !regen_drop_lock_copy(r->set, tree, err))
		goto out;
	regen_test_point("tree-built");
	if (r->o->backup) {
		if ((backup = cr_backup_path(r->ssldir, r->o->backup_dir,
		    time(NULL))) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		if (!cr_backup_make(r->ssldir, backup, err) ||
		    !regen_drop_lock_copy(r->set, backup, err)) {
			regen_next(err, "make room for or fix the backup "
			    "directory (or give backup_dir), then run the task "
			    "again: it resumes with the certificate already "
			    "signed");
			goto out;
		}
		json_object_set_new(r->journal, "backup", json_string(backup));
	}
	ok = cr_journal_write(r->staging, r->journal, CR_J_PREPARED, err);
out:
	free(tree);
	free(backup);
	return ok;
}

/* The services to handle: the parameter or the default list. */
json_t *
regen_service_list(json_t *param)
{
	json_t *out;
	size_t i;

	if (param != NULL)
		return json_incref(param);
	out = json_array();
	for (i = 0; out != NULL && default_services[i] != NULL; i++)
		json_array_append_new(out, json_string(default_services[i]));
	return out;
}

/* Stops the running ones (not pxp-agent when it runs this task); returns
 * the names stopped (new reference) or NULL with err set.  On failure the
 * ones already stopped are started again. */
json_t *
regen_services_stop(json_t *names, bool under_pxp, cr_err *err)
{
	json_t *stopped = json_array(), *v;
	const char *name;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		if (under_pxp && strcmp(name, "pxp-agent") == 0)
			continue;	/* restarted detached at the end */
		switch (cr_service_state(name, &e)) {
		case CR_SVC_RUNNING:
			if (!cr_service_stop(name, &e))
				goto fail;
			json_array_append_new(stopped, json_string(name));
			break;
		case CR_SVC_UNKNOWN:
			goto fail;
		default:
			break;
		}
	}
	return stopped;
fail:
	cr_err_set(err, CR_KIND_SERVICE, "%s", e.msg);
	cr_err_clear(&e);
	json_array_foreach(stopped, i, v)
		cr_service_start(json_string_value(v), &e);
	cr_err_clear(&e);
	json_decref(stopped);
	return NULL;
}

/* The running ones among names (not pxp-agent under pxp-agent): a new
 * reference, or NULL with err set when a state cannot be read. */
static json_t *
services_running(json_t *names, bool under_pxp, cr_err *err)
{
	json_t *running = json_array(), *v;
	const char *name;
	enum cr_svc_state st;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		if (under_pxp && strcmp(name, "pxp-agent") == 0)
			continue;
		if ((st = cr_service_state(name, &e)) == CR_SVC_UNKNOWN) {
			cr_err_set(err, CR_KIND_SERVICE, "%s", e.msg);
			json_decref(running);
			running = NULL;
			break;
		}
		if (st == CR_SVC_RUNNING)
			json_array_append_new(running, json_string(name));
	}
	cr_err_clear(&e);
	return running;
}

/* Starts what was stopped; failures are reported as warnings. */
json_t *
regen_services_start(json_t *stopped, json_t *warnings)
{
	json_t *started = json_array(), *v;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(stopped, i, v) {
		if (cr_service_start(json_string_value(v), &e))
			json_array_append_new(started, json_incref(v));
		else
			json_array_append_new(warnings, cr_json_str(e.msg));
		cr_err_clear(&e);
	}
	return started;
}

/* Fingerprint of the live hostcert, or NULL. */
static char *
live_fingerprint(struct regen *r)
{
	STACK_OF(X509) *c;
	char *fp = NULL;
	cr_err e;

	cr_err_init(&e);
	if ((c = cr_certs_read(cr_settings_get(r->set, "hostcert"), &e)) != NULL)
		fp = cr_fingerprint_x509(sk_X509_value(c, 0), EVP_sha256());
	sk_X509_pop_free(c, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
	return fp;
}

/* Whether the live hostcert is the signed one this run holds: a failure
 * after the exchange must not be reported as "untouched". */
static bool
live_is_new(struct regen *r)
{
	STACK_OF(X509) *c;
	char *a = NULL, *b;
	bool same;
	cr_err e;

	if (r->cert_pem == NULL || r->set == NULL)
		return false;
	cr_err_init(&e);
	if ((c = cr_certs_parse(r->cert_pem, r->cert_len, "cert.pem", &e))
	    != NULL)
		a = cr_fingerprint_x509(sk_X509_value(c, 0), EVP_sha256());
	sk_X509_pop_free(c, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
	b = live_fingerprint(r);
	same = a != NULL && b != NULL && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

#define NEW_LIVE_NEXT "the new identity is live, but the change could not " \
	"be recorded or synced to disk: fix the cause and run the task again " \
	"to finish (services, staging directory)"

/* Adds to stopped the services an earlier, killed run had stopped (its
 * journal's list): they were running before and are to be started too. */
static void
merge_stopped(json_t *stopped, json_t *earlier)
{
	json_t *v, *w;
	size_t i, j;
	bool seen;

	json_array_foreach(earlier, i, v) {
		seen = false;
		json_array_foreach(stopped, j, w)
			if (json_equal(v, w))
				seen = true;
		if (!seen && json_is_string(v))
			json_array_append(stopped, v);
	}
}

static bool
swap(struct regen *r, bool under_pxp, cr_err *err)
{
	struct cr_identity id;
	json_t *names = regen_service_list(r->o->services), *stopped = NULL;
	json_t *running = NULL;
	STACK_OF(X509) *newc = NULL;
	char *tree = NULL, *live_fp = NULL, *new_fp = NULL;
	const char *how = "exchange (by an earlier, interrupted run)";
	bool ok = false, exchanged = false;

	if ((tree = cr_staging_file(r->staging, "tree")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	/* the journal names the services BEFORE they are stopped, so a run
	 * killed in between still starts them again when resumed */
	if ((running = services_running(names, under_pxp, err)) == NULL)
		goto out;
	merge_stopped(running, json_object_get(r->journal, "services_stopped"));
	json_object_set(r->journal, "services_stopped", running);
	if (!cr_journal_write(r->staging, r->journal, CR_J_PREPARED, err))
		goto out;
	if ((stopped = regen_services_stop(running, false, err)) == NULL) {
		regen_next(err, "stop the service by hand, or leave it out "
		    "of `services`, then run the task again; nothing was "
		    "changed");
		goto out;
	}
	merge_stopped(stopped, running);
	/* did a killed run exchange already? */
	if ((newc = cr_certs_parse(r->cert_pem, r->cert_len, "cert.pem", err))
	    == NULL)
		goto restart;
	new_fp = cr_fingerprint_x509(sk_X509_value(newc, 0), EVP_sha256());
	live_fp = live_fingerprint(r);
	regen_test_point("services-stopped");
	if (new_fp == NULL || live_fp == NULL || strcmp(new_fp, live_fp) != 0) {
		if (!cr_swap_exchange(r->ssldir, tree, &exchanged, err)) {
			if (exchanged)	/* but not synced */
				regen_next(err, NEW_LIVE_NEXT);
			goto restart;
		}
		regen_test_point("exchanged");
		how = exchanged ? "exchange" : "files";
		if (!exchanged) {
			/* filesystem without RENAME_EXCHANGE: file by file */
			if (!identity_paths(r, cr_settings_get(r->set, "ssldir"),
			    &id, err) || !cr_swap_install_files(r->ssldir, tree,
			    json_string_value(json_object_get(r->journal,
			    "backup")), &id, err))
				goto restart;
		}
	}
	json_object_set_new(r->result, "swap", json_string(how));
	if (cr_journal_write(r->staging, r->journal, CR_J_SWAPPED, err)) {
		ok = true;
		goto out;
	}
	/* the new identity is live: start the services on it now */
	regen_next(err, NEW_LIVE_NEXT);
restart:
	{
		json_t *w = json_array(), *s = regen_services_start(stopped, w);
		json_decref(s);
		json_decref(w);
	}
	regen_next(err, "the live identity is unchanged; fix the cause and "
	    "run the task again: it resumes with the signed certificate");
out:
	sk_X509_pop_free(newc, X509_free);
	free(new_fp);
	free(live_fp);
	free(tree);
	json_decref(running);
	json_decref(stopped);
	json_decref(names);
	return ok;
}

void
regen_catalog_remove(const cr_settings *set, const char *certname,
    json_t *result, json_t *warnings)
{
	const char *dd = cr_settings_get(set, "client_datadir");
	char *catalog = NULL;

	if (dd == NULL || certname == NULL ||
	    asprintf(&catalog, "%s/catalog/%s.json", dd, certname) == -1)
		return;
	if (unlink(catalog) == 0)
		json_object_set_new(result, "cached_catalog_removed",
		    cr_json_str(catalog));
	else if (errno != ENOENT)
		json_array_append_new(warnings, json_sprintf("the cached "
		    "catalog %s was not removed: %s (remove it by hand)",
		    catalog, strerror(errno)));
	free(catalog);
}

/* After the swap: cached catalog, services, staging. */
static void
finish_swap(struct regen *r, bool under_pxp, json_t *warnings)
{
	json_t *started;
	cr_err e;

	cr_err_init(&e);
	if (r->o->remove_cached_catalog)
		regen_catalog_remove(r->set, r->certname, r->result, warnings);
	started = regen_services_start(json_object_get(r->journal,
	    "services_stopped"), warnings);
	json_object_set(r->result, "services_stopped",
	    json_object_get(r->journal, "services_stopped"));
	json_object_set_new(r->result, "services_restarted", started);
	if (under_pxp && cr_restart_detached("pxp-agent", 3, &e))
		json_object_set_new(r->result, "pxp_agent",
		    json_string("restart scheduled after this result"));
	else if (under_pxp)
		json_array_append_new(warnings, cr_json_str(e.msg));
	cr_err_clear(&e);
	/* the old identity is in tree/ now; the backup (if asked) is its copy */
	if (!cr_tree_remove(r->staging, &e))
		json_array_append_new(warnings, cr_json_str(e.msg));
	cr_err_clear(&e);
}

static void
run_puppet(struct regen *r)
{
	const char *argv[] = { "puppet", "agent", "--test", "--confdir",
	    cr_settings_get(r->set, "confdir"), NULL };
	struct cr_proc_opts po;
	struct cr_proc_result res;
	json_t *out = json_object();
	cr_err e;

	memset(&po, 0, sizeof(po));
	memset(&res, 0, sizeof(res));
	cr_err_init(&e);
	po.argv = argv;
	po.max_out = 64 << 10;
	po.max_err = 16 << 10;
	po.timeout_ms = CR_REGEN_PUPPET_TIMEOUT_MS;
	if (cr_proc_run(&po, &res, &e)) {
		json_object_set_new(out, "exit_code", res.exited ?
		    json_integer(res.exit_code) : json_null());
		/* --test implies --detailed-exitcodes: 0 and 2 are success */
		json_object_set_new(out, "success", json_boolean(res.exited &&
		    (res.exit_code == 0 || res.exit_code == 2)));
		json_object_set_new(out, "timed_out", json_boolean(res.timed_out));
	} else {
		json_object_set_new(out, "success", json_false());
		json_object_set_new(out, "error", cr_json_str(e.msg));
	}
	json_object_set_new(r->result, "puppet_run", out);
	cr_proc_result_free(&res);
	cr_err_clear(&e);
}

/* ------------------------------------------------------------- flow -- */

cr_settings *
regen_settings(const char *confdir, const char *ssldir, const char *certname,
    const char *ca_server, cr_err *err)
{
	const char *pairs[9];
	size_t n = 0;
	struct cr_settings_opts so;

	memset(&so, 0, sizeof(so));
	if (ssldir != NULL) {
		pairs[n++] = "ssldir";
		pairs[n++] = ssldir;
	}
	if (certname != NULL) {
		pairs[n++] = "certname";
		pairs[n++] = certname;
	}
	if (ca_server != NULL) {
		pairs[n++] = "ca_server";
		pairs[n++] = ca_server;
	}
	pairs[n] = NULL;
	so.confdir = confdir;
	so.section = "agent";
	so.overrides = pairs;
	so.allow_exec = true;
	return cr_settings_load(&so, err);
}

/* The live ssldir's real path (symlinks resolved: the exchange must act
 * on the directory itself). */
char *
regen_real_ssldir(const char *ssldir, cr_err *err)
{
	char *out = realpath(ssldir, NULL);

	if (out == NULL) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot resolve the ssldir %s",
		    ssldir);
		regen_next(err, "this node has no Puppet identity to "
		    "regenerate: bootstrap it with `puppet ssl bootstrap`");
	}
	return out;
}

/* Takes Puppet's agent run lock and SSL lock, as a puppet run does
 * (their directories are created the way Puppet creates them on a first
 * run). timeout_ms < 0: CR_REGEN_LOCK_TIMEOUT_MS. */
bool
regen_lock_both(const cr_settings *set, long timeout_ms, cr_lock **locks,
    cr_err *err)
{
	const char *paths[2];
	char *dir = NULL;
	long t = timeout_ms >= 0 ? timeout_ms : CR_REGEN_LOCK_TIMEOUT_MS;
	bool ok = false;
	int i;

	paths[0] = cr_settings_get(set, "agent_catalog_run_lockfile");
	paths[1] = cr_settings_get(set, "ssl_lockfile");
	for (i = 0; i < 2; i++) {
		free(dir);
		if (paths[i] == NULL || (dir = strdup(paths[i])) == NULL) {
			cr_err_set(err, CR_KIND_SETTINGS, "no lock file setting");
			goto out;
		}
		if (!cr_mkdir_p(dirname(dir), 0755, err) ||
		    (locks[i] = cr_lock_acquire(paths[i], t, err)) == NULL) {
			if (strcmp(err->kind, "cert_regen/locked") == 0)
				regen_next(err, "a puppet run holds the lock: "
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

static bool
preflight(struct regen *r, cr_lock **locks, cr_err *err)
{
	STACK_OF(X509) *current = NULL;
	const char *hostcert;
	cr_err e;
	bool ok = false;

	cr_err_init(&e);
	if ((r->set = regen_settings(r->o->confdir, r->o->ssldir,
	    r->o->certname, r->o->ca_server, err)) == NULL)
		goto out;
	r->certname = cr_settings_get(r->set, "certname");
	if (r->certname == NULL || !cr_certname_valid(r->certname)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "certname '%s' is not a valid certname",
		    r->certname ? r->certname : "");
		goto out;
	}
	json_object_set_new(r->result, "certname", json_string(r->certname));
	if ((r->ssldir = regen_real_ssldir(cr_settings_get(r->set, "ssldir"), err))
	    == NULL || (r->staging = cr_staging_path(r->ssldir)) == NULL) {
		cr_err_set(err, CR_KIND_IO, "no staging path for the ssldir");
		goto out;
	}
	json_object_set_new(r->result, "ssldir", cr_json_str(r->ssldir));
	json_object_set_new(r->result, "staging", cr_json_str(r->staging));
	/* locks first: what is read below must not change under us */
	if (!r->o->noop && !regen_lock_both(r->set, r->o->lock_timeout_ms,
	    locks, err))
		goto out;
	hostcert = cr_settings_get(r->set, "hostcert");
	json_object_set_new(r->result, "before", summary_of(hostcert));
	current = cr_certs_read(hostcert, &e);	/* absent: nothing to carry */
	ERR_clear_error();
	if (!build_request(r, current ? sk_X509_value(current, 0) : NULL, err))
		goto out;
	ok = true;
out:
	sk_X509_pop_free(current, X509_free);
	cr_err_clear(&e);
	return ok;
}

/* The noop answer: what a real run would do, nothing changed. */
static bool
describe(struct regen *r, bool found, cr_err *err)
{
	json_t *plan = json_object();

	if (plan == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	json_object_set_new(r->result, "state", json_string("unchanged"));
	json_object_set_new(r->result, "noop", json_true());
	json_object_set(plan, "request", r->request);
	json_object_set_new(plan, "resume_from", json_string(found ?
	    cr_jstate_name(r->state) : "none"));
	if (r->http != NULL)
		regen_ca_check_clean(r, plan, err);
	json_object_set_new(plan, "would", json_pack("[s,s,s,s,s,s]",
	    "stage a new key and CSR", "submit the CSR",
	    "wait for the signed certificate", "verify it",
	    "back up the ssldir and build the new one",
	    "stop services, swap, remove the cached catalog, restart"));
	json_object_set_new(r->result, "plan", plan);
	return !err->set;
}

static void
regen_free(struct regen *r)
{
	cr_http_free(r->http);
	EVP_PKEY_free(r->key);
	X509_REQ_free(r->csr);
	free(r->csr_fp);
	free(r->cert_pem);
	free(r->ca_pem);
	free(r->crl_pem);
	json_decref(r->journal);
	json_decref(r->request);
	json_decref(r->result);
	free(r->staging);
	free(r->ssldir);
	cr_settings_free(r->set);
}

/*
 * A run resumed after its certificate was downloaded re-checks it against
 * a fresh CRL before installing it: when the name was cleaned on the CA in
 * between, the staged CSR is submitted again (same key) instead of
 * installing a revoked certificate.  A CA that cannot be reached does not
 * stop the resume (the certificate was verified when it was downloaded).
 */
static void
recheck_revocation(struct regen *r, json_t *warnings)
{
	char *tree = NULL;
	cr_err e;
	int rc = -1;

	cr_err_init(&e);
	if (regen_ca_connect(r, &e))
		rc = regen_ca_recheck(r, &e);
	if (rc < 0) {
		json_array_append_new(warnings, cr_json_str("could not re-check "
		    "the staged certificate against the CA's CRL; installing "
		    "the certificate verified when it was downloaded"));
	} else if (rc == 1 && (tree = cr_staging_file(r->staging, "tree")) != NULL &&
	    cr_tree_remove(tree, &e)) {
		json_array_append_new(warnings, cr_json_str("the staged "
		    "certificate was revoked on the CA since it was downloaded: "
		    "the staged CSR is submitted again"));
		free(r->cert_pem);
		free(r->crl_pem);
		r->cert_pem = r->crl_pem = NULL;
		r->state = CR_J_STAGED;
	}
	free(tree);
	cr_err_clear(&e);
}

/* A step reached its journal state: record it, time it, and (test build)
 * offer the kill point named after the state. */
static void
advanced(struct regen *r, enum cr_jstate s)
{
	r->state = s;
	regen_step_end(r);
	regen_test_point(cr_jstate_name(s));
}

json_t *
cr_regen_run(const struct cr_regen_opts *o, cr_err *err)
{
	struct regen r;
	cr_lock *locks[2] = { NULL, NULL };
	json_t *out = NULL, *warnings = json_array(), *s;
	enum cr_jstate resumed = CR_J_NONE;
	bool found = false, signed_ = false, under_pxp = cr_under_pxp_agent();

	memset(&r, 0, sizeof(r));
	r.o = o;
	if ((r.result = json_object()) == NULL ||
	    (r.steps = json_array()) == NULL || warnings == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto fail;
	}
	json_object_set_new(r.result, "steps", r.steps);

	regen_step_begin(&r, "preflight");
	if (!preflight(&r, locks, err))
		goto fail;
	if ((r.journal = cr_journal_read(r.staging, &found, err)) == NULL &&
	    err->set)
		goto fail;
	r.state = found ? cr_journal_state(r.journal) : CR_J_NONE;
	resumed = r.state;
	if (found && !o->noop && !resume(&r, err))
		goto fail;
	if ((o->noop || r.state < CR_J_SIGNED) && !regen_ca_connect(&r, err))
		goto fail;
	if (!o->noop && r.state >= CR_J_SIGNED && r.state < CR_J_SWAPPED)
		recheck_revocation(&r, warnings);
	s = regen_step_end(&r);
	json_object_set_new(s, "resumed_from", json_string(found ?
	    cr_jstate_name(resumed) : "none"));
	if (o->noop) {
		if (!describe(&r, found, err))
			goto fail;
		goto done;
	}

	if (r.state < CR_J_STAGED) {
		regen_step_begin(&r, "stage");
		if (!stage(&r, err))
			goto fail;
		advanced(&r, CR_J_STAGED);
	}
	json_object_set_new(r.result, "csr_fingerprint", json_string(r.csr_fp));
	if (r.state < CR_J_SUBMITTED) {
		regen_step_begin(&r, "submit");
		if (!regen_ca_submit(&r, err) ||
		    !cr_journal_write(r.staging, r.journal, CR_J_SUBMITTED, err))
			goto fail;
		advanced(&r, CR_J_SUBMITTED);
	}
	if (r.state < CR_J_SIGNED) {
		regen_step_begin(&r, "wait");
		if (!regen_ca_wait(&r, &signed_, err))
			goto fail;
		regen_step_end(&r);
		if (!signed_) {
			json_object_set_new(r.result, "state",
			    json_string("pending"));
			json_object_set_new(r.result, "next_step", cr_json_str(
			    "sign the CSR on the CA (check its fingerprint: "
			    "csr_fingerprint), then run this task again"));
			goto done;
		}
		regen_step_begin(&r, "verify");
		if (!regen_ca_fetch_verify(&r, err) ||
		    !cr_journal_write(r.staging, r.journal, CR_J_SIGNED, err))
			goto fail;
		advanced(&r, CR_J_SIGNED);
	}
	if (r.state < CR_J_PREPARED) {
		regen_step_begin(&r, "prepare");
		if (!prepare(&r, err))
			goto fail;
		advanced(&r, CR_J_PREPARED);
	}
	json_object_set(r.result, "backup", json_object_get(r.journal, "backup"));
	if (r.state < CR_J_SWAPPED) {
		regen_step_begin(&r, "swap");
		if (!swap(&r, under_pxp, err))
			goto fail;
		advanced(&r, CR_J_SWAPPED);
	}
	regen_step_begin(&r, "restart");
	finish_swap(&r, under_pxp, warnings);
	regen_step_end(&r);
	json_object_set_new(r.result, "state", json_string("regenerated"));
	json_object_set_new(r.result, "after",
	    summary_of(cr_settings_get(r.set, "hostcert")));
	if (o->run_puppet) {
		/* the run takes Puppet's locks itself: holding them, it would
		 * only say "already in progress" and exit 1 */
		cr_lock_release(locks[1]);
		cr_lock_release(locks[0]);
		locks[0] = locks[1] = NULL;
		regen_step_begin(&r, "puppet");
		run_puppet(&r);
		regen_step_end(&r);
	}
done:
	json_object_set(r.result, "warnings", warnings);
	out = json_incref(r.result);
	goto out;
fail:
	cr_err_set(err, CR_KIND_INTERNAL, "regeneration failed");
	cr_err_set_step(err, r.step ? r.step : "preflight");
	if (r.staging != NULL)
		cr_err_detail_new(err, "staging", cr_json_str(r.staging));
	if (r.state != CR_J_NONE)
		cr_err_detail_new(err, "journal_state",
		    json_string(cr_jstate_name(r.state)));
	if (r.steps != NULL)
		cr_err_detail_new(err, "steps", json_incref(r.steps));
	if (r.state < CR_J_SWAPPED)
		cr_err_detail_new(err, "live_identity",
		    json_string(live_is_new(&r) ? "new" : "untouched"));
out:
	cr_lock_release(locks[1]);
	cr_lock_release(locks[0]);
	json_decref(warnings);
	regen_free(&r);
	ERR_clear_error();
	return out;
}
