/*
 * flow_env.c - what the cmocka flow tests share (see flow_env.h): a node
 * with a real confdir and ssldir in a temporary directory, a CA behind the
 * flows' seam (cr_flow_ops.h) that really signs with a test CA of pki.c,
 * services kept in memory, and the kill-and-resume machinery.
 */
#include <dirent.h>
#include <setjmp.h>
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
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cr_killpoint.h"
#include "flow_env.h"

#ifdef CR_TEST_HOOKS

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

/* ------------------------------------------------------- the CA -- */


void
tca_refused(cr_err *err)
{
	cr_err_set(err, CR_KIND_CA_UNREACHABLE, "Failed to connect to ca.test "
	    "port 8140: Connection refused");
	cr_err_detail_new(err, "status", json_integer(0));
}

static void
http_error(cr_err *err, long status, const char *body)
{
	cr_err_set(err, CR_KIND_CA_ERROR, "the CA answered HTTP %ld", status);
	cr_err_detail_new(err, "status", json_integer(status));
	cr_err_detail_new(err, "body", json_string(body));
}

static void *
tca_open(void *ctx, const struct cr_http_opts *ho, cr_err *err)
{
	if (ho->ca_fingerprint != NULL) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "the test CA does "
		    "not pin");
		return NULL;
	}
	/* where the flow was told to go: the settings' ca_server, ca_port
	 * and localcacert */
	if (ho->server == NULL || strcmp(ho->server, "ca.test") != 0 ||
	    ho->port != 8140 || ho->cacert == NULL || access(ho->cacert, R_OK)
	    != 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "unexpected "
		    "connection options");
		return NULL;
	}
	return ctx;
}

static void
tca_close(void *ctx, void *conn)
{
	if (conn != NULL)
		assert_ptr_equal(ctx, conn);
}

static char *
tca_bundle(void *ctx, void *conn, size_t *len, cr_err *err)
{
	struct tca *ca = ctx;
	X509 *certs[2] = { ca->w->inter->cert, ca->w->root->cert };

	if (ca->down) {
		tca_refused(err);
		return NULL;
	}
	return pki_certs_pem(certs, 2, len);
}

static char *
tca_cert(void *ctx, void *conn, const char *certname, size_t *len,
    cr_err *err)
{
	struct tca *ca = ctx;

	if (ca->down) {
		tca_refused(err);
		return NULL;
	}
	if (ca->signed_ == NULL || strcmp(certname, CERTNAME) != 0) {
		http_error(err, 404, "Not Found: Could not find certificate");
		return NULL;
	}
	return pki_certs_pem(&ca->signed_, 1, len);
}

static char *
tca_request(void *ctx, void *conn, const char *certname, size_t *len,
    cr_err *err)
{
	struct tca *ca = ctx;
	BIO *bio;
	char *data, *out = NULL;
	long n;

	if (ca->down) {
		tca_refused(err);
		return NULL;
	}
	if (ca->pending == NULL || strcmp(certname, CERTNAME) != 0) {
		http_error(err, 404, "Not Found: Could not find "
		    "certificate_request");
		return NULL;
	}
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509_REQ(bio, ca->pending), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_non_null(out = strndup(data, (size_t)n));
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static char *
tca_crl(void *ctx, void *conn, size_t *len, cr_err *err)
{
	struct tca *ca = ctx;
	X509_CRL *crls[2] = { ca->w->inter_crl, ca->w->root_crl };
	char *out;

	if (ca->down) {
		tca_refused(err);
		return NULL;
	}
	if (ca->n_revoked == 0)
		return pki_crls_pem(crls, 2, len);
	assert_non_null(crls[0] = pki_crl_new(ca->w->inter, ca->w->now,
	    -PKI_DAY, 5 * PKI_YEAR, ca->revoked, ca->n_revoked));
	out = pki_crls_pem(crls, 2, len);
	X509_CRL_free(crls[0]);
	return out;
}

/* Signs the pending CSR as puppetserver does: its subject, its key and
 * its requested extensions (SANs, pp_*), by the intermediate CA. */
void
tca_sign(struct tca *ca)
{
	const pki_ca *by = ca->use_rogue ? ca->rogue : ca->w->inter;
	STACK_OF(X509_EXTENSION) *exts;
	EVP_PKEY *other = NULL;
	X509 *x;
	int i;

	assert_non_null(ca->pending);
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
	    ca->serial++), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(by->cert)), 1);
	assert_int_equal(X509_set_subject_name(x,
	    X509_REQ_get_subject_name(ca->pending)), 1);
	if (ca->wrong_key) {
		assert_non_null(other = pki_rsa_cached(3));
		assert_int_equal(X509_set_pubkey(x, other), 1);
	} else {
		assert_int_equal(X509_set_pubkey(x,
		    X509_REQ_get0_pubkey(ca->pending)), 1);
	}
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -PKI_DAY));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 5 * PKI_YEAR));
	exts = X509_REQ_get_extensions(ca->pending);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		assert_int_equal(X509_add_ext(x, sk_X509_EXTENSION_value(exts,
		    i), -1), 1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_sign(x, by->key, EVP_sha256()) > 0);
	X509_free(ca->signed_);
	ca->signed_ = x;
	X509_REQ_free(ca->pending);
	ca->pending = NULL;
	EVP_PKEY_free(other);
}

static bool
tca_submit(void *ctx, void *conn, const char *certname, const char *pem,
    size_t len, cr_err *err)
{
	struct tca *ca = ctx;
	X509_REQ *req;
	BIO *bio;

	if (ca->down) {
		tca_refused(err);
		return false;
	}
	assert_string_equal(certname, CERTNAME);
	assert_non_null(bio = BIO_new_mem_buf(pem, (int)len));
	assert_non_null(req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL));
	BIO_free(bio);
	/* a real CA checks the request's signature */
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	if (ca->signed_ != NULL || ca->pending != NULL) {
		X509_REQ_free(req);
		http_error(err, 400, ca->signed_ != NULL ? CERTNAME " already "
		    "has a signed certificate; ignoring certificate request" :
		    CERTNAME " already has a requested certificate; ignoring "
		    "certificate request");
		return false;
	}
	ca->pending = req;
	ca->submits++;
	if (ca->autosign)
		tca_sign(ca);
	return true;
}

/* --------------------------------------------------- the services -- */

static json_t *
svc_running(void *ctx, json_t *names, bool under_pxp, cr_err *err)
{
	struct tca *ca = ctx;
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(names, i, v)
		if (json_is_true(json_object_get(ca->svc, json_string_value(v))))
			json_array_append(out, v);
	return out;
}

static json_t *
svc_stop(void *ctx, json_t *names, bool under_pxp, cr_err *err)
{
	struct tca *ca = ctx;
	json_t *out = json_array(), *v;
	size_t i;

	if (ca->stop_fails) {
		json_decref(out);
		cr_err_set(err, CR_KIND_SERVICE, "systemctl stop failed (exit "
		    "1): check the service's log");
		return NULL;
	}
	/* as cr_services_stop: the running ones, and only they are named */
	json_array_foreach(names, i, v) {
		if (!json_is_true(json_object_get(ca->svc,
		    json_string_value(v))))
			continue;
		json_object_set_new(ca->svc, json_string_value(v), json_false());
		json_array_append(out, v);
		ca->stops++;
	}
	return out;
}

static json_t *
svc_start(void *ctx, json_t *stopped, json_t *warnings)
{
	struct tca *ca = ctx;
	json_t *v;
	size_t i;

	json_array_foreach(stopped, i, v) {
		json_object_set_new(ca->svc, json_string_value(v), json_true());
		ca->starts++;
	}
	return json_deep_copy(stopped);
}

static enum cr_svc_state
svc_state(void *ctx, const char *name, cr_err *err)
{
	struct tca *ca = ctx;
	json_t *v = json_object_get(ca->svc, name);

	return v == NULL ? CR_SVC_ABSENT : json_is_true(v) ? CR_SVC_RUNNING :
	    CR_SVC_STOPPED;
}

/* ------------------------------------------------------ the node -- */

char *
flow_fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

void
hex_fp(X509 *x, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[2 * n] = '\0';
}

/*
 * The identity of an ssldir, checked with plain OpenSSL: the private key
 * matches the certificate, whose CN is the certname and which verifies
 * against certs/ca.pem with every CRL of crl.pem.  Its SHA-256 into fp.
 */
void
assert_identity(const char *ssl, char *fp)
{
	char *kp = flow_fmt("%s/private_keys/%s.pem", ssl, CERTNAME);
	char *cp = flow_fmt("%s/certs/%s.pem", ssl, CERTNAME);
	char *cap = flow_fmt("%s/certs/ca.pem", ssl), *crlp = flow_fmt("%s/crl.pem", ssl);
	STACK_OF(X509_INFO) *infos;
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	X509_INFO *info;
	EVP_PKEY *key;
	X509 *cert;
	FILE *f;
	char cn[256];
	int i, ncas = 0, ncrls = 0;

	assert_non_null(f = fopen(kp, "r"));
	assert_non_null(key = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	assert_non_null(f = fopen(cp, "r"));
	assert_non_null(cert = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, CERTNAME);
	assert_non_null(store = X509_STORE_new());
	assert_non_null(f = fopen(cap, "r"));
	assert_non_null(infos = PEM_X509_INFO_read(f, NULL, NULL, NULL));
	fclose(f);
	for (i = 0; i < sk_X509_INFO_num(infos); i++)
		if ((info = sk_X509_INFO_value(infos, i))->x509 != NULL) {
			assert_int_equal(X509_STORE_add_cert(store, info->x509), 1);
			ncas++;
		}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	assert_non_null(f = fopen(crlp, "r"));
	assert_non_null(infos = PEM_X509_INFO_read(f, NULL, NULL, NULL));
	fclose(f);
	for (i = 0; i < sk_X509_INFO_num(infos); i++)
		if ((info = sk_X509_INFO_value(infos, i))->crl != NULL) {
			assert_int_equal(X509_STORE_add_crl(store, info->crl), 1);
			ncrls++;
		}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	assert_int_equal(ncas, 2);
	assert_int_equal(ncrls, 2);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
	    X509_V_FLAG_CRL_CHECK_ALL);
	assert_non_null(ctx = X509_STORE_CTX_new());
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, NULL), 1);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("%s does not verify: %s", cp,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	hex_fp(cert, fp);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(cert);
	EVP_PKEY_free(key);
	free(kp);
	free(cp);
	free(cap);
	free(crlp);
}

void
flow_mkdir(const char *dir, const char *rel, mode_t mode)
{
	char *path = flow_fmt("%s/%s", dir, rel);

	assert_int_equal(mkdir(path, mode), 0);
	free(path);
}

bool
flow_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The old identity, signed by the intermediate with the names dns and
 * exts (NULL or terminated by .oid == NULL), written as a whole ssldir. */
static void
old_identity(struct env *e, const char *const *dns,
    const struct pki_ext *exts)
{
	struct pki_leaf_opts lo;
	EVP_PKEY *key;
	X509 *leaf;

	assert_non_null(key = pki_ec_cached());
	pki_leaf_opts_init(&lo, CERTNAME, key, time(NULL));
	lo.dns = dns;
	lo.exts = exts;
	assert_non_null(leaf = pki_leaf_new(&lo, e->ca.w->inter));
	assert_true(pki_ssldir_write_world(e->ssl, e->ca.w, CERTNAME, leaf,
	    key));
	assert_int_equal(ASN1_INTEGER_get_uint64(&e->old_serial,
	    X509_get0_serialNumber(leaf)), 1);
	X509_free(leaf);
	EVP_PKEY_free(key);
	assert_identity(e->ssl, e->old_fp);
}

struct env *
env_base_new(const char *const *dns, const struct pki_ext *exts)
{
	struct env *e = calloc(1, sizeof(*e));
	char *conf, *path;
	EVP_PKEY *key;

	assert_non_null(e);
	assert_non_null(e->dir = pki_tmpdir_new());
	e->conf = flow_fmt("%s/conf", e->dir);
	e->ssl = flow_fmt("%s/ssl", e->dir);
	e->backups = flow_fmt("%s/backups", e->dir);
	e->staging = flow_fmt("%s/.ssl.cert_regen", e->dir);
	flow_mkdir(e->dir, "conf", 0755);
	flow_mkdir(e->dir, "var", 0755);
	flow_mkdir(e->dir, "var/state", 0755);
	conf = flow_fmt("[main]\nvardir = %s/var\nssldir = %s\ncertname = "
	    CERTNAME "\nca_server = ca.test\nkey_type = ec\nnamed_curve = "
	    "prime256v1\n", e->dir, e->ssl);
	path = flow_fmt("%s/puppet.conf", e->conf);
	assert_true(pki_write_file(path, conf, strlen(conf), 0644));
	free(conf);
	free(path);

	e->ca.w = pki_world_new(time(NULL));
	assert_non_null(e->ca.w);
	assert_non_null(key = pki_rsa_cached(2));
	assert_non_null(e->ca.rogue = pki_ca_new("Puppet CA: rogue", key,
	    NULL, time(NULL), -PKI_DAY, PKI_YEAR));
	EVP_PKEY_free(key);
	e->ca.autosign = true;
	e->ca.serial = 1000;
	assert_non_null(e->ca.svc = json_pack("{s:b}", "puppet", 1));
	old_identity(e, dns, exts);

	e->ops.ctx = &e->ca;
	e->ops.ca_open = tca_open;
	e->ops.ca_close = tca_close;
	e->ops.ca_bundle = tca_bundle;
	e->ops.ca_cert = tca_cert;
	e->ops.ca_request = tca_request;
	e->ops.ca_crl = tca_crl;
	e->ops.ca_submit = tca_submit;
	e->ops.services_running = svc_running;
	e->ops.services_stop = svc_stop;
	e->ops.services_start = svc_start;
	e->ops.service_state = svc_state;
	return e;
}

struct env *
env_new(void)
{
	static const char *const dns[] = { "puppet.test", NULL };
	struct env *e = env_base_new(dns, NULL);

	e->o.confdir = e->conf;
	e->o.wait_for_cert = 0;
	e->o.backup = true;
	e->o.backup_dir = e->backups;
	assert_non_null(e->o.services = json_pack("[s]", "puppet"));
	e->o.remove_cached_catalog = true;
	e->o.lock_timeout_ms = 0;
	e->o.ops = &e->ops;
	e->ro.confdir = e->conf;
	e->ro.backup_dir = e->backups;
	e->ro.services = e->o.services;
	e->ro.lock_timeout_ms = 0;
	e->ro.ops = &e->ops;
	return e;
}

void
env_free(struct env *e)
{
	pki_rmtree(e->dir);
	pki_world_free(e->ca.w);
	pki_ca_free(e->ca.rogue);
	X509_REQ_free(e->ca.pending);
	X509_free(e->ca.signed_);
	json_decref(e->ca.svc);
	json_decref(e->o.services);
	json_decref(e->o.dns_alt_names);
	json_decref(e->so.services);
	json_decref(e->so.dns_alt_names);
	free(e->ca.served);
	free(e->cadir);
	free(e->old_bundle);
	free(e->dir);
	free(e->conf);
	free(e->ssl);
	free(e->backups);
	free(e->staging);
	free(e);
}

/* ------------------------------------------------- kill and resume -- */

json_t *flow_points;

static struct env *hook_env;	/* whose ssldir the hook checks */
json_t *flow_seen;		/* flow_points reached by the current run */
static jmp_buf kill_jmp;
long kill_after = -1;	/* stop at the first point past this index */
static bool killing;
long killed_at;
void (*at_point)(struct env *e, const char *name);

long
point_index(const char *name)
{
	json_t *v;
	size_t i;

	json_array_foreach(flow_points, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return (long)i;
	return -1;
}

/* At every point: the live ssldir holds a complete identity, the old one
 * or the one the CA signed. */
void
check_live(struct env *e)
{
	char fp[FP_LEN], ca_fp[FP_LEN];

	if (e->cadir != NULL) {
		check_server_live(e);
		return;
	}
	assert_identity(e->ssl, fp);
	if (strcmp(fp, e->old_fp) == 0)
		return;
	assert_non_null(e->ca.signed_);
	hex_fp(e->ca.signed_, ca_fp);
	assert_string_equal(fp, ca_fp);
}

static void
hook(const char *name)
{
	long i;

	json_array_append_new(flow_seen, json_string(name));
	check_live(hook_env);
	if (at_point != NULL)
		at_point(hook_env, name);
	if (killing && (i = point_index(name)) > kill_after) {
		killed_at = i;
		longjmp(kill_jmp, 1);
	}
}

/* One run of the flow; with kill, stopped at the first point past
 * kill_after (true when it was).  *res / *err: the outcome otherwise. */
bool
flow_run(struct env *e, flow_fn flow, bool kill, json_t **res, cr_err *err)
{
	json_t *volatile out = NULL;
	json_t *services = e->o.services, *dns = e->o.dns_alt_names;
	json_t *s_services = e->so.services, *s_dns = e->so.dns_alt_names;
	volatile bool killed = false;

	hook_env = e;
	json_decref(flow_seen);
	flow_seen = json_array();
	cr_killpoint_hook_set(hook);
	killing = kill;
	cr_err_init(err);
	if (kill) {
		LSAN_OFF();
		/* a run that is stopped keeps the references it took: it gets
		 * copies, abandoned with the rest of its memory */
		e->o.services = e->ro.services = json_deep_copy(services);
		e->o.dns_alt_names = json_deep_copy(dns);
		e->so.services = json_deep_copy(s_services);
		e->so.dns_alt_names = json_deep_copy(s_dns);
	}
	if (setjmp(kill_jmp) == 0)
		out = flow(e, err);
	else
		killed = true;
	if (kill) {
		if (!killed) {
			json_decref(e->o.services);
			json_decref(e->o.dns_alt_names);
			json_decref(e->so.services);
			json_decref(e->so.dns_alt_names);
		}
		e->o.services = e->ro.services = services;
		e->o.dns_alt_names = dns;
		e->so.services = s_services;
		e->so.dns_alt_names = s_dns;
		LSAN_ON();
	}
	killing = false;
	cr_killpoint_hook_set(NULL);
	if (killed)
		cr_err_clear(err);
	*res = out;
	return killed;
}

const char *
state_of(json_t *res)
{
	return json_string_value(json_object_get(res, "state"));
}

void
fail_err(const cr_err *err)
{
	fail_msg("the flow failed: %s: %s (next step: %s)", err->kind,
	    err->msg, cr_err_next_step(err));
}

/* Fails on any name starting with '.' under dir (temporary files, a
 * staging directory) and on a lock file left. */
void
assert_no_leftovers(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char *path;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.' || strstr(de->d_name, ".lock") != NULL)
			fail_msg("left behind: %s/%s", dir, de->d_name);
		path = flow_fmt("%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			assert_no_leftovers(path);
		free(path);
	}
	closedir(d);
}

/* The one backup (of the old identity), its path. */
char *
the_backup(struct env *e)
{
	struct dirent *de;
	DIR *d = opendir(e->backups);
	char *out = NULL;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			free(out);
			out = flow_fmt("%s/%s", e->backups, de->d_name);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
	return out;
}

double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void
assert_untouched(struct env *e)
{
	char fp[FP_LEN];

	assert_identity(e->ssl, fp);
	assert_string_equal(fp, e->old_fp);
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
}

void
assert_next_step(const cr_err *err, const char *words)
{
	const char *next = cr_err_next_step(err);

	if (next == NULL || strstr(next, words) == NULL)
		fail_msg("next step '%s' lacks '%s' (%s: %s)", next ? next : "",
		    words, err->kind, err->msg);
}

void
flow_points_take(const char *const *expected)
{
	size_t i;

	for (i = 0; expected[i] != NULL; i++)
		if (i >= json_array_size(flow_seen) || strcmp(json_string_value(
		    json_array_get(flow_seen, i)), expected[i]) != 0)
			fail_msg("kill point %zu is not %s", i, expected[i]);
	assert_int_equal(json_array_size(flow_seen), i);
	json_decref(flow_points);
	flow_points = json_incref(flow_seen);
}

int
flow_group_teardown(void **state)
{
	json_decref(flow_points);
	json_decref(flow_seen);
	flow_points = flow_seen = NULL;
	return pki_group_teardown(state);
}

#endif

static void
needs_hooks(void **state)
{
	(void)state;
	skip();
}

int
flow_needs_hooks_main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(needs_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
