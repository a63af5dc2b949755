/*
 * cr_regen.c - regenerate an agent's certificate (see cr_regen.h): the
 * flow, the journal transitions and the local steps.  The CA side is in
 * cr_regen_ca.c, the swap in cr_swap.c.
 */
#include <arpa/inet.h>
#include <dirent.h>
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
#include "cr_identity.h"
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

/* ------------------------------------------------------ bookkeeping -- */

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
			cr_identity_alt_name_add(dns, ip, json_string_value(v));
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
				cr_identity_alt_name_add(dns, ip, tok);
		}
		free(copy);
	}
	drop_certname(dns, r->certname);
	if ((yaml = cr_csr_attributes_read(cr_settings_get(r->set,
	    "csr_attributes"), err)) == NULL) {
		cr_err_next(err, "fix csr_attributes.yaml (Puppet refuses it "
		    "too), then run the task again");
		goto out;
	}
	if (current != NULL)
		cr_identity_carry_extensions(current, ext);
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

/* The key asked for: the parameters, else Puppet's settings. */
static void
key_params(struct regen *r, const char **type, int *bits, const char **curve)
{
	const char *kl = cr_settings_get(r->set, "keylength");

	*type = r->o->key_type ? r->o->key_type :
	    cr_settings_get(r->set, "key_type");
	if (*type == NULL)
		*type = "rsa";
	*bits = r->o->key_size > 0 ? r->o->key_size : (kl ? atoi(kl) : 4096);
	*curve = r->o->curve ? r->o->curve :
	    cr_settings_get(r->set, "named_curve");
}

/*
 * The key and the CSR are made in memory first: a parameter the key
 * generator or the CSR builder refuses (curve, alt name, OID) leaves no
 * staging directory behind.  Whatever fails before the journal is written
 * removes the directory again (nothing was sent).
 */
static bool
stage(struct regen *r, cr_err *err)
{
	const char *type, *curve;
	int bits;
	char *key_path = NULL, *csr_path = NULL;
	bool ok = false;

	key_params(r, &type, &bits, &curve);
	if ((r->key = cr_key_generate(type, bits, curve, err)) == NULL ||
	    !make_csr(r, err))
		goto out;
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
	cr_killpoint("staging-created");
	if (!cr_key_write_new(key_path, r->key, 0600, err) ||
	    !cr_csr_write(csr_path, r->csr, 0644, (uid_t)-1, (gid_t)-1, err))
		goto out;
	r->journal = json_pack("{s:i, s:s, s:s, s:s, s:s, s:O}", "version", 1,
	    "certname", r->certname, "ssldir", r->ssldir,
	    "csr_fingerprint", r->csr_fp, "key_type", type,
	    "request", r->request);
	if (r->journal == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = cr_journal_write(r->staging, r->journal, CR_J_STAGED, err);
out:
	/* nothing was sent: no staging directory is left behind (not even
	 * the one a pinned bundle was fetched into) */
	if (!ok)
		cr_tree_remove(r->staging, NULL);
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
		cr_err_next(err, "finish that run with its own parameters, or "
		    "move %s aside, then run the task again", r->staging);
		goto out;
	}
	json_decref(r->request);
	r->request = json_incref(json_object_get(r->journal, "request"));
	if (r->state == CR_J_SWAPPED) {
		/* the new identity is live; only the cleanup is left, and a
		 * run killed in it may have removed the staged files already */
		const char *fp = json_string_value(json_object_get(r->journal,
		    "csr_fingerprint"));
		r->csr_fp = fp ? strdup(fp) : NULL;
		ok = true;
		goto out;
	}
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
		cr_err_next(err, "the staging directory %s is incomplete: move "
		    "it aside and run the task again (the live identity is "
		    "untouched unless the journal says swapped)", r->staging);
	free(key_path);
	free(csr_path);
	return ok;
}

static char *live_fingerprint(struct regen *r);

/* ------------------------------------------- asked against staged -- */

/* Same set of strings (DNS names compare case-insensitively). */
static bool
same_names(json_t *a, json_t *b, bool nocase)
{
	json_t *v, *w;
	size_t i, j;
	bool found;

	if (json_array_size(a) != json_array_size(b))
		return false;
	json_array_foreach(a, i, v) {
		found = false;
		json_array_foreach(b, j, w) {
			const char *x = json_string_value(v), *y = json_string_value(w);
			if (x != NULL && y != NULL && (nocase ? strcasecmp(x, y) :
			    strcmp(x, y)) == 0)
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

/* The value of extension k (short name or OID) in ext, by its OID. */
static json_t *
ext_value(json_t *ext, const char *k)
{
	char want[128], have[128];
	const char *k2;
	json_t *v, *out = NULL;
	cr_err e;

	cr_err_init(&e);
	if (!cr_ext_oid_resolve(k, true, want, sizeof(want), &e))
		snprintf(want, sizeof(want), "%s", k);
	cr_err_clear(&e);
	json_object_foreach(ext, k2, v) {
		if (!cr_ext_oid_resolve(k2, true, have, sizeof(have), &e))
			snprintf(have, sizeof(have), "%s", k2);
		cr_err_clear(&e);
		if (strcmp(want, have) == 0)
			out = v;
	}
	ERR_clear_error();
	return out;
}

static void
diff_add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
diff_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 3 >= len)
		return;
	if (n > 0) {
		strcat(buf, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* A JSON value as compact text (new string; "(none)" for NULL). */
static char *
json_text(json_t *v)
{
	return v == NULL ? strdup("(none)") :
	    json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The staged key in words: "ec secp384r1" / "rsa 2048". */
static void
key_words(EVP_PKEY *key, char *buf, size_t len)
{
	json_t *k = cr_key_json(key);
	const char *t = json_string_value(json_object_get(k, "type"));
	const char *c = json_string_value(json_object_get(k, "curve"));

	if (t != NULL && strcmp(t, "EC") == 0)
		snprintf(buf, len, "key_type ec, curve %s", c ? c : "?");
	else
		snprintf(buf, len, "key_type rsa, key_size %lld",
		    (long long)json_integer_value(json_object_get(k, "bits")));
	json_decref(k);
}

/*
 * What the parameters of this run ask for (asked, built by preflight)
 * against what an earlier run staged (r->request, r->key).  Only what the
 * run names explicitly (key_type, key_size, curve, dns_alt_names,
 * extension_requests) and the custom attributes of csr_attributes.yaml
 * are compared: a plain rerun resumes.  Writes the differences into diff
 * (empty: none) and the staged parameters into staged.
 */
static void
params_diff(struct regen *r, json_t *asked, char *diff, size_t dlen,
    char *staged, size_t slen)
{
	json_t *sa = json_object_get(r->request, "attributes");
	json_t *aa = json_object_get(asked, "attributes");
	json_t *sext = json_object_get(sa, "extension_requests"), *v, *w;
	char kw[96], *x = NULL, *y = NULL, *names = NULL;
	const char *k;

	diff[0] = '\0';
	key_words(r->key, kw, sizeof(kw));
	if (!cr_key_fits(r->key, r->o->key_type, r->o->key_size, r->o->curve))
		diff_add(diff, dlen, "key: staged %s, asked %s%s%s%s%s", kw,
		    r->o->key_type ? "key_type " : "",
		    r->o->key_type ? r->o->key_type : "",
		    r->o->curve ? " curve " : "", r->o->curve ? r->o->curve : "",
		    r->o->key_size > 0 ? " key_size given" : "");
	if (r->o->dns_alt_names != NULL &&
	    (!same_names(json_object_get(asked, "dns_alt_names"),
	    json_object_get(r->request, "dns_alt_names"), true) ||
	    !same_names(json_object_get(asked, "ip_alt_names"),
	    json_object_get(r->request, "ip_alt_names"), false))) {
		char *xi = json_text(json_object_get(r->request, "ip_alt_names"));
		char *yi = json_text(json_object_get(asked, "ip_alt_names"));
		x = json_text(json_object_get(r->request, "dns_alt_names"));
		y = json_text(json_object_get(asked, "dns_alt_names"));
		diff_add(diff, dlen, "dns_alt_names: staged %s IP %s, asked %s "
		    "IP %s", x, xi, y, yi);
		free(x);
		free(y);
		free(xi);
		free(yi);
		x = y = NULL;
	}
	json_object_foreach(r->o->extension_requests, k, v) {
		w = ext_value(sext, k);
		if (w == NULL || !json_equal(v, w)) {
			x = json_text(w);
			diff_add(diff, dlen, "extension_requests %s: staged %s, "
			    "asked %s", k, x, json_string_value(v));
			free(x);
			x = NULL;
		}
	}
	if (!json_equal(json_object_get(sa, "custom_attributes"),
	    json_object_get(aa, "custom_attributes")) &&
	    (json_object_size(json_object_get(sa, "custom_attributes")) > 0 ||
	    json_object_size(json_object_get(aa, "custom_attributes")) > 0))
		diff_add(diff, dlen, "custom_attributes of csr_attributes.yaml "
		    "changed since the CSR was staged");
	names = json_text(json_object_get(r->request, "dns_alt_names"));
	x = json_text(sext);
	snprintf(staged, slen, "%s, dns_alt_names %s, extension_requests %s",
	    kw, names ? names : "?", x ? x : "?");
	free(names);
	free(x);
}

/*
 * A rerun whose parameters differ from the staged key and CSR: before the
 * CSR reached the CA, the staging is dropped and the run stages afresh
 * (a warning says so); once the CA has it (submitted, pending or signed),
 * the run stops with cert_regen/parameters-changed and says what differs.
 */
static bool
params_check(struct regen *r, json_t *asked, json_t *warnings, cr_err *err)
{
	char diff[1024], staged[768], *pending = NULL;
	bool none = false, ok = false;
	int signed_ = 0;

	if (r->key == NULL || r->state >= CR_J_SWAPPED)
		return true;	/* swapped: the new identity is live already */
	params_diff(r, asked, diff, sizeof(diff), staged, sizeof(staged));
	if (diff[0] == '\0' || r->state >= CR_J_PREPARED) {
		if (diff[0] != '\0')
			json_array_append_new(warnings, json_sprintf("the "
			    "parameters differ from the identity being "
			    "installed (%s): run the task again afterwards to "
			    "apply them", diff));
		ok = true;
		goto out;
	}
	if (r->state <= CR_J_SUBMITTED) {
		/* does the CA hold this CSR, pending or signed? */
		pending = regen_ca_pending_fp(r, &none, err);
		if ((pending == NULL && !none) ||
		    (signed_ = regen_ca_signed_for_staged(r, err)) < 0)
			goto out;
	}
	if (r->state <= CR_J_SUBMITTED && signed_ == 0 && (pending == NULL ||
	    strcmp(pending, r->csr_fp) != 0)) {
		/* the CA does not have this CSR (never took it, or it was
		 * cleaned since): stage afresh */
		if (!cr_tree_remove(r->staging, err))
			goto out;
		json_array_append_new(warnings, json_sprintf("the key and CSR "
		    "staged by an earlier run (%s) did not match this run's "
		    "parameters (%s) and the CA does not hold that CSR: they "
		    "were discarded and a new key and CSR staged", staged,
		    diff));
		EVP_PKEY_free(r->key);
		X509_REQ_free(r->csr);
		free(r->csr_fp);
		r->key = NULL;
		r->csr = NULL;
		r->csr_fp = NULL;
		json_decref(r->request);
		r->request = json_incref(asked);
		json_decref(r->journal);
		r->journal = NULL;
		r->state = CR_J_NONE;
		ok = true;
		goto out;
	}
	cr_err_set(err, CR_KIND_PARAMETERS_CHANGED, "the parameters differ "
	    "from the key and CSR an earlier run staged and sent to the CA "
	    "(journal state %s, CSR %s): %s",
	    signed_ == 1 ? "the CA signed it" : pending != NULL ?
	    "the CA holds it pending" : cr_jstate_name(r->state), r->csr_fp,
	    diff);
	cr_err_detail_new(err, "differences", cr_json_str(diff));
	cr_err_detail_new(err, "staged", cr_json_str(staged));
	cr_err_detail_new(err, "csr_fingerprint", cr_json_str(r->csr_fp));
	cr_err_next(err, "either run the task again with the staged parameters "
	    "(%s) to finish that run, or drop it: remove the name's request or "
	    "certificate on the CA (cert_regen::ca_clean, or `puppetserver ca "
	    "clean --certname %s`, which exits 24 for a request that was never "
	    "signed but removes it)%s%s, and run the task again with the new "
	    "parameters", staged, r->certname, r->state >= CR_J_SIGNED ?
	    ", remove the staging directory " : "",
	    r->state >= CR_J_SIGNED ? r->staging : "");
out:
	free(pending);
	return ok;
}

/* A staging directory without a journal whose key is the live one: an
 * earlier run swapped it in and was killed while cleaning up. */
static bool
stale_staging_is_live(struct regen *r)
{
	STACK_OF(X509) *c = NULL;
	EVP_PKEY *key = NULL;
	char *path = cr_staging_file(r->staging, "key.pem");
	bool live = false;
	cr_err e;

	cr_err_init(&e);
	if (path != NULL && cr_path_exists(path) == 1 &&
	    (key = cr_key_read(path, &e)) != NULL &&
	    (c = cr_certs_read(cr_settings_get(r->set, "hostcert"), &e)) != NULL)
		live = cr_key_matches(sk_X509_value(c, 0), key) == 1;
	sk_X509_pop_free(c, X509_free);
	EVP_PKEY_free(key);
	free(path);
	cr_err_clear(&e);
	ERR_clear_error();
	return live;
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
	    !cr_lock_drop_copy(r->set, tree, err))
		goto out;
	cr_killpoint("tree-built");
	if (r->o->backup) {
		if ((backup = cr_backup_path(r->ssldir, r->o->backup_dir,
		    time(NULL))) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		if (!cr_backup_make(r->ssldir, backup, err) ||
		    !cr_lock_drop_copy(r->set, backup, err)) {
			cr_err_next(err, "make room for or fix the backup "
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

static bool
swap(struct regen *r, bool under_pxp, cr_err *err)
{
	struct cr_identity id;
	json_t *names = cr_services_list(r->o->services), *stopped = NULL;
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
	if ((running = r->ops->services_running(r->ops->ctx, names, under_pxp,
	    err)) == NULL)
		goto out;
	cr_services_merge(running, json_object_get(r->journal,
	    "services_stopped"));
	json_object_set(r->journal, "services_stopped", running);
	if (!cr_journal_write(r->staging, r->journal, CR_J_PREPARED, err))
		goto out;
	if ((stopped = r->ops->services_stop(r->ops->ctx, running, false,
	    err)) == NULL) {
		cr_err_next(err, "stop the service by hand, or leave it out "
		    "of `services`, then run the task again; nothing was "
		    "changed");
		goto out;
	}
	cr_services_merge(stopped, running);
	/* did a killed run exchange already? */
	if ((newc = cr_certs_parse(r->cert_pem, r->cert_len, "cert.pem", err))
	    == NULL)
		goto restart;
	new_fp = cr_fingerprint_x509(sk_X509_value(newc, 0), EVP_sha256());
	live_fp = live_fingerprint(r);
	cr_killpoint("services-stopped");
	if (new_fp == NULL || live_fp == NULL || strcmp(new_fp, live_fp) != 0) {
		if (!cr_swap_exchange(r->ssldir, tree, &exchanged, err)) {
			if (exchanged)	/* but not synced */
				cr_err_next(err, NEW_LIVE_NEXT);
			goto restart;
		}
		cr_killpoint("exchanged");
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
	cr_err_next(err, NEW_LIVE_NEXT);
restart:
	{
		json_t *w = json_array();
		json_t *s = r->ops->services_start(r->ops->ctx, stopped, w);
		json_decref(s);
		json_decref(w);
	}
	cr_err_next(err, "the live identity is unchanged; fix the cause and "
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

/*
 * Removes a staging directory with its journal LAST: a run killed in
 * between still finds the journal, and its rerun finishes the cleanup
 * instead of starting afresh next to a staged key that is live already.
 */
static bool
regen_staging_remove(const char *staging, cr_err *err)
{
	struct dirent *de;
	DIR *d = opendir(staging);
	char *path = NULL;
	bool ok = false;

	if (d == NULL) {
		if (errno == ENOENT)
			ok = true;
		else
			cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s",
			    staging);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "journal.json") == 0)
			continue;
		if ((path = cr_staging_file(staging, de->d_name)) == NULL) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		if (!cr_tree_remove(path, err))
			goto out;
		free(path);
		path = NULL;
	}
	cr_killpoint("staging-emptied");
	ok = cr_tree_remove(staging, err);
out:
	if (d != NULL)
		closedir(d);
	free(path);
	return ok;
}

/* After the swap: cached catalog, services, staging. */
static void
finish_swap(struct regen *r, bool under_pxp, json_t *warnings)
{
	json_t *started;
	cr_err e;

	cr_err_init(&e);
	if (r->o->remove_cached_catalog)
		cr_identity_catalog_remove(r->set, r->certname, r->result, warnings);
	started = r->ops->services_start(r->ops->ctx,
	    json_object_get(r->journal, "services_stopped"), warnings);
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
	if (!regen_staging_remove(r->staging, &e))
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

static bool
preflight(struct regen *r, cr_lock **locks, cr_err *err)
{
	STACK_OF(X509) *current = NULL;
	const char *hostcert, *type, *curve;
	char *after = NULL;
	int bits;
	cr_err e;
	bool ok = false;

	cr_err_init(&e);
	if ((r->set = cr_settings_agent(r->o->confdir, r->o->ssldir,
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
	if (!r->o->noop && !cr_swap_exchange_finish(r->set, "tree",
	    r->o->lock_timeout_ms, err))
		goto out;
	if ((r->ssldir = cr_settings_real_ssldir(cr_settings_get(r->set, "ssldir"), err))
	    == NULL || (r->staging = cr_staging_path(r->ssldir)) == NULL) {
		cr_err_set(err, CR_KIND_IO, "no staging path for the ssldir");
		goto out;
	}
	json_object_set_new(r->result, "ssldir", cr_json_str(r->ssldir));
	json_object_set_new(r->result, "staging", cr_json_str(r->staging));
	key_params(r, &type, &bits, &curve);
	if (!cr_key_params_check(type, bits, curve, err)) {
		cr_err_next(err, "give key_type rsa with key_size 2048 or more, "
		    "or key_type ec with curve %s (parameters, or Puppet's "
		    "key_type / keylength / named_curve settings); nothing was "
		    "changed", CR_EC_CURVES_TEXT);
		goto out;
	}
	/* locks first: what is read below must not change under us */
	r->live_fp = live_fingerprint(r);
	if (!r->o->noop && !cr_lock_pair(r->set, r->o->lock_timeout_ms,
	    locks, err))
		goto out;
	if (!r->o->noop && (after = live_fingerprint(r)) != NULL &&
	    r->live_fp != NULL && strcmp(after, r->live_fp) != 0)
		r->current = "the certificate changed while this run waited "
		    "for Puppet's locks (another regeneration, or a puppet run, "
		    "installed it): nothing was done; run the task again to "
		    "replace this certificate too";
	hostcert = cr_settings_get(r->set, "hostcert");
	json_object_set_new(r->result, "before", summary_of(hostcert));
	current = cr_certs_read(hostcert, &e);	/* absent: nothing to carry */
	ERR_clear_error();
	if (!build_request(r, current ? sk_X509_value(current, 0) : NULL, err))
		goto out;
	ok = true;
out:
	free(after);
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
	if (json_object_get(plan, "blocked_by") != NULL)
		json_object_set_new(plan, "would", json_pack("[s,s]", found ?
		    "resume with the staged key and CSR" :
		    "stage a new key and CSR", "stop at the submit step with "
		    "cert_regen/ca-not-cleaned (see blocked_by.next_step): "
		    "nothing else"));
	else
		json_object_set_new(plan, "would", json_pack("[s,s,s,s,s,s]",
		    "stage a new key and CSR", "submit the CSR",
		    "wait for the signed certificate", "verify it",
		    "back up the ssldir and build the new one",
		    "stop services, swap, remove the cached catalog, restart"));
	json_object_set_new(r->result, "plan", plan);
	return !err->set;
}

/* noop: the staged key, if any, read only (the CA's certificate may be
 * the one signed for it). */
static void
noop_staged_key(struct regen *r)
{
	char *path = cr_staging_file(r->staging, "key.pem");
	cr_err e;

	cr_err_init(&e);
	if (path != NULL && cr_path_exists(path) == 1)
		r->key = cr_key_read(path, &e);
	free(path);
	cr_err_clear(&e);
	ERR_clear_error();
}

/* The answer when the live identity needs nothing more. */
static void
say_current(struct regen *r)
{
	json_object_set_new(r->result, "state", json_string("current"));
	json_object_set_new(r->result, "reason", cr_json_str(r->current));
	json_object_set_new(r->result, "after",
	    summary_of(cr_settings_get(r->set, "hostcert")));
}

static void
regen_free(struct regen *r)
{
	if (r->http != NULL)
		r->ops->ca_close(r->ops->ctx, r->http);
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
	free(r->live_fp);
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
/*
 * A run resumed at "submitted" waits for the CA to sign the CSR it holds.
 * When the CA holds neither that CSR nor a certificate for the staged key
 * (the request was cleaned or rejected since), nothing would ever be
 * signed: go back to "staged" so that the CSR is submitted again.
 */
static bool
resubmit_if_dropped(struct regen *r, json_t *warnings, cr_err *err)
{
	char *pending = NULL;
	bool none = false, ok = false;
	int signed_ = 0;

	if (r->state != CR_J_SUBMITTED) {
		ok = true;
		goto out;
	}
	pending = regen_ca_pending_fp(r, &none, err);
	if ((pending == NULL && !none) ||
	    (signed_ = regen_ca_signed_for_staged(r, err)) < 0)
		goto out;
	if (signed_ == 0 && (pending == NULL ||
	    strcmp(pending, r->csr_fp) != 0)) {
		r->state = CR_J_STAGED;
		json_array_append_new(warnings, json_sprintf("the CA no longer "
		    "holds the CSR an earlier run submitted (%s): it was "
		    "cleaned or rejected since, and is submitted again",
		    r->csr_fp));
	}
	ok = true;
out:
	free(pending);
	return ok;
}

static void
advanced(struct regen *r, enum cr_jstate s)
{
	r->state = s;
	regen_step_end(r);
	cr_killpoint(cr_jstate_name(s));
}

/* A restore stopped before it finished left its journal in the staging
 * directory (cr_restore.c): a regeneration would sweep it away with the
 * services it names, so it waits for that restore.  false: err set. */
static bool
restore_unfinished(const char *staging, cr_err *err)
{
	char *path = cr_staging_file(staging, CR_RESTORE_JOURNAL_FILE);
	int there = path != NULL ? cr_path_exists(path) : -1;

	if (path == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	else if (there == -1)
		cr_err_errno(err, CR_KIND_IO, errno, "cannot tell whether %s "
		    "exists: fix its directory's permissions, then run again",
		    path);
	else if (there == 1) {
		cr_err_set(err, CR_KIND_STAGING, "a restore of this ssldir was "
		    "stopped before it finished (%s)", path);
		cr_err_next(err, "run cert_regen::restore again with "
		    "backup=latest to finish it (or remove %s to give it up), "
		    "then run regenerate again; nothing was changed", path);
	}
	free(path);
	return there == 0;
}

json_t *
cr_regen_run(const struct cr_regen_opts *o, cr_err *err)
{
	struct regen r;
	cr_lock *locks[2] = { NULL, NULL };
	json_t *out = NULL, *warnings = json_array(), *s;
	enum cr_jstate resumed = CR_J_NONE;
	json_t *asked = NULL;
	bool found = false, signed_ = false, under_pxp = cr_under_pxp_agent();

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.ops = cr_flow_ops_or_real(o->ops);
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
	if (!found && !restore_unfinished(r.staging, err))
		goto fail;
	r.state = found ? cr_journal_state(r.journal) : CR_J_NONE;
	resumed = r.state;
	if (!found && !o->noop && r.current == NULL &&
	    stale_staging_is_live(&r))
		r.current = "the live certificate carries the key an earlier "
		    "run staged: that run installed it and was stopped while "
		    "it cleaned up; its staging directory is removed now, "
		    "nothing else was needed";
	if (r.current != NULL && !found) {
		if (!o->noop && !regen_staging_remove(r.staging, err))
			goto fail;
		regen_step_end(&r);
		say_current(&r);
		goto done;
	}
	r.current = NULL;
	asked = json_incref(r.request);
	if (found && !o->noop && !resume(&r, err))
		goto fail;
	if (o->noop && found)
		noop_staged_key(&r);
	if ((o->noop || r.state < CR_J_SIGNED) && !regen_ca_connect(&r, err))
		goto fail;
	if (found && !o->noop && (!params_check(&r, asked, warnings, err) ||
	    !resubmit_if_dropped(&r, warnings, err)))
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
		cr_err_live(err, live_is_new(&r) ? CR_LIVE_NEW : CR_LIVE_OLD);
out:
	cr_lock_release(locks[1]);
	cr_lock_release(locks[0]);
	json_decref(warnings);
	json_decref(asked);
	regen_free(&r);
	ERR_clear_error();
	return out;
}
