/*
 * test_flow_regen.c - the agent's regenerate flow (cr_regen_run) driven
 * end to end, in process, on a real temporary confdir and ssldir, through
 * the flows' seam (cr_flow_ops.h): the "CA" keeps its requests in memory
 * and really signs each CSR with a test CA of pki.c (an intermediate under
 * a root, as puppetserver does), and the services are kept in memory.
 *
 * Kill and resume: a recording run lists every kill point the flow
 * reaches (cr_killpoint_hook_set); then, for each point, a fresh run is
 * stopped there (the hook longjmps out of the flow, as a SIGKILL would stop
 * it: nothing after the point runs) and run again, and must converge: a
 * complete new identity (key matches cert, cert chains to the CA with its
 * CRLs), the backup holds the old one, no staging directory, journal, lock
 * or temporary file left, the stopped services started again.  At every
 * kill point of every run the live ssldir holds a complete identity, the
 * old or the new one.  Memory a stopped run leaves behind is what a killed
 * process leaves to the kernel: allocations between setjmp and the kill
 * are not counted as leaks (__lsan_disable); the resumed runs are.
 *
 * Needs CR_TEST_HOOKS (the ASan+UBSan build of `make SAN=1 unit`); other
 * builds skip it.
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

#include "cr_err.h"
#include "cr_flow_ops.h"
#include "cr_http.h"
#include "cr_killpoint.h"
#include "cr_regen.h"
#include "pki.h"

#ifdef CR_TEST_HOOKS

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

#define CERTNAME "agent.test"

/* ------------------------------------------------------- the CA -- */

struct tca {
	pki_world *w;
	pki_ca *rogue;		/* signs instead of the CA when use_rogue */
	bool down;		/* every request: connection refused */
	bool autosign;
	bool wrong_key;		/* signs another key than the CSR's */
	bool use_rogue;
	X509_REQ *pending;
	X509 *signed_;		/* the certificate it holds for CERTNAME */
	uint64_t serial;
	int submits;
	json_t *svc;		/* {"name": running?} */
	int stops, starts;
};

static void
refused(cr_err *err)
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
	assert_ptr_equal(ctx, conn);
}

static char *
tca_bundle(void *ctx, void *conn, size_t *len, cr_err *err)
{
	struct tca *ca = ctx;
	X509 *certs[2] = { ca->w->inter->cert, ca->w->root->cert };

	if (ca->down) {
		refused(err);
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
		refused(err);
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
		refused(err);
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

	if (ca->down) {
		refused(err);
		return NULL;
	}
	return pki_crls_pem(crls, 2, len);
}

/* Signs the pending CSR as puppetserver does: its subject, its key and
 * its requested extensions (SANs, pp_*), by the intermediate CA. */
static void
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
		refused(err);
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
	json_t *v;
	size_t i;

	json_array_foreach(names, i, v) {
		json_object_set_new(ca->svc, json_string_value(v), json_false());
		ca->stops++;
	}
	return json_deep_copy(names);
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

/* ------------------------------------------------------ the node -- */

struct env {
	char *dir, *conf, *ssl, *backups, *staging;
	struct tca ca;
	struct cr_flow_ops ops;
	struct cr_regen_opts o;
	char old_fp[2 * EVP_MAX_MD_SIZE + 1];
};

static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

static void
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
static void
assert_identity(const char *ssl, char *fp)
{
	char *kp = fmt("%s/private_keys/%s.pem", ssl, CERTNAME);
	char *cp = fmt("%s/certs/%s.pem", ssl, CERTNAME);
	char *cap = fmt("%s/certs/ca.pem", ssl), *crlp = fmt("%s/crl.pem", ssl);
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

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static struct env *
env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *dns[] = { "puppet.test", NULL };
	struct pki_leaf_opts lo;
	char *conf, *state;
	EVP_PKEY *key;
	X509 *leaf;

	assert_non_null(e);
	assert_non_null(e->dir = pki_tmpdir_new());
	e->conf = fmt("%s/conf", e->dir);
	e->ssl = fmt("%s/ssl", e->dir);
	e->backups = fmt("%s/backups", e->dir);
	e->staging = fmt("%s/.ssl.cert_regen", e->dir);
	assert_int_equal(mkdir(e->conf, 0755), 0);
	state = fmt("%s/var", e->dir);
	assert_int_equal(mkdir(state, 0755), 0);
	free(state);
	state = fmt("%s/var/state", e->dir);
	assert_int_equal(mkdir(state, 0755), 0);
	conf = fmt("[main]\nvardir = %s/var\nssldir = %s\ncertname = "
	    CERTNAME "\nca_server = ca.test\nkey_type = ec\nnamed_curve = "
	    "prime256v1\n", e->dir, e->ssl);
	free(state);
	state = fmt("%s/puppet.conf", e->conf);
	assert_true(pki_write_file(state, conf, strlen(conf), 0644));
	free(conf);
	free(state);

	e->ca.w = pki_world_new(time(NULL));
	assert_non_null(e->ca.w);
	assert_non_null(key = pki_rsa_cached(2));
	assert_non_null(e->ca.rogue = pki_ca_new("Puppet CA: rogue", key,
	    NULL, time(NULL), -PKI_DAY, PKI_YEAR));
	EVP_PKEY_free(key);
	e->ca.autosign = true;
	e->ca.serial = 1000;
	assert_non_null(e->ca.svc = json_pack("{s:b}", "puppet", 1));

	/* the old identity: an EC key, signed by the intermediate */
	assert_non_null(key = pki_ec_cached());
	pki_leaf_opts_init(&lo, CERTNAME, key, time(NULL));
	lo.dns = dns;
	assert_non_null(leaf = pki_leaf_new(&lo, e->ca.w->inter));
	assert_true(pki_ssldir_write_world(e->ssl, e->ca.w, CERTNAME, leaf,
	    key));
	X509_free(leaf);
	EVP_PKEY_free(key);
	assert_identity(e->ssl, e->old_fp);

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

	e->o.confdir = e->conf;
	e->o.wait_for_cert = 0;
	e->o.backup = true;
	e->o.backup_dir = e->backups;
	assert_non_null(e->o.services = json_pack("[s]", "puppet"));
	e->o.remove_cached_catalog = true;
	e->o.lock_timeout_ms = 0;
	e->o.ops = &e->ops;
	return e;
}

static void
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
	free(e->dir);
	free(e->conf);
	free(e->ssl);
	free(e->backups);
	free(e->staging);
	free(e);
}

/* ------------------------------------------------- kill and resume -- */

/* The kill points a full run reaches, in order (the recording run). */
static json_t *points;
static const char *const expected_points[] = {
	"staging-created", "staged", "submitted", "signed", "tree-built",
	"prepared", "services-stopped", "exchanged", "swapped",
	"staging-emptied", NULL,
};

static struct env *hook_env;	/* whose ssldir the hook checks */
static json_t *seen;		/* points reached by the current run */
static jmp_buf kill_jmp;
static long kill_after = -1;	/* stop at the first point past this index */
static bool killing;
static long killed_at;
static void (*at_point)(struct env *e, const char *name);

static long
point_index(const char *name)
{
	json_t *v;
	size_t i;

	json_array_foreach(points, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return (long)i;
	return -1;
}

/* At every point: the live ssldir holds a complete identity, the old one
 * or the one the CA signed. */
static void
check_live(struct env *e)
{
	char fp[2 * EVP_MAX_MD_SIZE + 1], ca_fp[2 * EVP_MAX_MD_SIZE + 1];

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

	json_array_append_new(seen, json_string(name));
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
static bool
run(struct env *e, bool kill, json_t **res, cr_err *err)
{
	json_t *volatile out = NULL;
	json_t *services = e->o.services, *dns = e->o.dns_alt_names;
	volatile bool killed = false;

	hook_env = e;
	json_decref(seen);
	seen = json_array();
	cr_killpoint_hook_set(hook);
	killing = kill;
	cr_err_init(err);
	if (kill) {
		LSAN_OFF();
		/* a run that is stopped keeps the references it took: it gets
		 * copies, abandoned with the rest of its memory */
		e->o.services = json_deep_copy(services);
		e->o.dns_alt_names = json_deep_copy(dns);
	}
	if (setjmp(kill_jmp) == 0)
		out = cr_regen_run(&e->o, err);
	else
		killed = true;
	if (kill) {
		if (!killed) {
			json_decref(e->o.services);
			json_decref(e->o.dns_alt_names);
		}
		e->o.services = services;
		e->o.dns_alt_names = dns;
		LSAN_ON();
	}
	killing = false;
	cr_killpoint_hook_set(NULL);
	if (killed)
		cr_err_clear(err);
	*res = out;
	return killed;
}

static const char *
state_of(json_t *res)
{
	return json_string_value(json_object_get(res, "state"));
}

static void
fail_err(const cr_err *err)
{
	fail_msg("the flow failed: %s: %s (next step: %s)", err->kind,
	    err->msg, cr_err_next_step(err));
}

/* Fails on any name starting with '.' under dir (temporary files, a
 * staging directory) and on a lock file left. */
static void
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
		path = fmt("%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			assert_no_leftovers(path);
		free(path);
	}
	closedir(d);
}

/* The one backup (of the old identity), its path. */
static char *
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
			out = fmt("%s/%s", e->backups, de->d_name);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
	return out;
}

/* After a finished run: the new identity is live, the old one backed up,
 * nothing left over, the service running again. */
static void
assert_converged(struct env *e, json_t *res)
{
	char fp[2 * EVP_MAX_MD_SIZE + 1], ca_fp[2 * EVP_MAX_MD_SIZE + 1];
	char *backup;

	assert_non_null(res);
	assert_string_equal(state_of(res), "regenerated");
	assert_identity(e->ssl, fp);
	assert_string_not_equal(fp, e->old_fp);
	assert_non_null(e->ca.signed_);
	hex_fp(e->ca.signed_, ca_fp);
	assert_string_equal(fp, ca_fp);
	backup = the_backup(e);
	assert_identity(backup, fp);
	assert_string_equal(fp, e->old_fp);
	free(backup);
	assert_false(exists(e->staging));
	assert_no_leftovers(e->dir);
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
	assert_int_equal(e->ca.submits, 1);
}

/* The recording run: every expected point is reached, in this order. */
static void
test_points(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;
	size_t i;

	(void)state;
	if (run(e, false, &res, &err))
		fail_msg("not killed, yet stopped");
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	for (i = 0; expected_points[i] != NULL; i++)
		if (i >= json_array_size(seen) || strcmp(json_string_value(
		    json_array_get(seen, i)), expected_points[i]) != 0)
			fail_msg("kill point %zu is not %s", i, expected_points[i]);
	assert_int_equal(json_array_size(seen), i);
	json_decref(points);
	points = json_incref(seen);
	env_free(e);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Each point on its own: stopped there, run again, converged. */
static void
test_kill_each_point(void **state)
{
	struct timespec t0;
	struct env *e;
	json_t *res;
	cr_err err;
	size_t i;

	(void)state;
	assert_non_null(points);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < json_array_size(points); i++) {
		e = env_new();
		kill_after = (long)i - 1;
		if (!run(e, true, &res, &err))
			fail_msg("the run did not reach %s", json_string_value(
			    json_array_get(points, i)));
		assert_int_equal(killed_at, (long)i);
		check_live(e);
		if (run(e, false, &res, &err))
			fail_msg("stopped without a kill");
		if (res == NULL)
			fail_err(&err);
		assert_converged(e, res);
		json_decref(res);
		env_free(e);
	}
	print_message("kill/resume: %zu kill points, each killed and resumed, "
	    "in %.0f ms\n", json_array_size(points), ms_since(&t0));
}

/* Killed at every point in turn: each rerun is stopped at the next point
 * it reaches, until one finishes. */
static void
test_kill_chain(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;
	int kills = 0;

	(void)state;
	assert_non_null(points);
	kill_after = -1;
	while (run(e, true, &res, &err)) {
		check_live(e);
		kill_after = killed_at;
		kills++;
		assert_true(kills <= (int)json_array_size(points));
	}
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	/* every point past staging-created is reached again by a resume */
	assert_int_equal(kills, (int)json_array_size(points));
	json_decref(res);
	env_free(e);
}

/* ------------------------------------------------------ failures -- */

static void
assert_untouched(struct env *e)
{
	char fp[2 * EVP_MAX_MD_SIZE + 1];

	assert_identity(e->ssl, fp);
	assert_string_equal(fp, e->old_fp);
	assert_true(json_is_true(json_object_get(e->ca.svc, "puppet")));
}

static void
assert_next_step(const cr_err *err, const char *words)
{
	const char *next = cr_err_next_step(err);

	if (next == NULL || strstr(next, words) == NULL)
		fail_msg("next step '%s' lacks '%s' (%s: %s)", next ? next : "",
		    words, err->kind, err->msg);
}

/* CA down from the start: nothing staged, nothing changed, and the
 * message says what to check. */
static void
test_ca_down(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.down = true;
	run(e, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_CA_UNREACHABLE));
	assert_next_step(&err, "ca.test:8140");
	assert_untouched(e);
	assert_false(exists(e->staging));
	assert_int_equal(e->ca.stops, 0);
	cr_err_clear(&err);
	/* the CA answers again: the rerun converges */
	e->ca.down = false;
	run(e, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	env_free(e);
}

static void
go_down_after_submit(struct env *e, const char *name)
{
	if (strcmp(name, "submitted") == 0)
		e->ca.down = true;
}

/* CA down once the CSR is in: the old identity stays, the journal keeps
 * the staged key, the rerun resumes with it (one submission). */
static void
test_ca_down_midway(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.autosign = false;
	at_point = go_down_after_submit;
	run(e, false, &res, &err);
	at_point = NULL;
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_CA_UNREACHABLE));
	assert_non_null(cr_err_next_step(&err));
	assert_true(strlen(cr_err_next_step(&err)) > 0);
	assert_untouched(e);
	assert_true(exists(e->staging));
	cr_err_clear(&err);
	e->ca.down = false;
	tca_sign(&e->ca);
	run(e, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	env_free(e);
}

/* A CA that answers a certificate for another key: refused, the old
 * identity stays. */
static void
test_wrong_key(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.wrong_key = true;
	run(e, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_CA_NOT_CLEANED));
	assert_non_null(strstr(err.msg, "not the one being staged"));
	assert_next_step(&err, "clean it on the CA");
	assert_untouched(e);
	cr_err_clear(&err);
	env_free(e);
}

/* A certificate for the staged key signed by another CA: refused at
 * verify, the old identity stays. */
static void
test_rogue_ca(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.use_rogue = true;
	run(e, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_VERIFY));
	assert_string_equal(err.step, "verify");
	assert_untouched(e);
	cr_err_clear(&err);
	env_free(e);
}

/* Other dns_alt_names on a rerun before the CSR reached the CA: the
 * staging is dropped, the new names are asked for and signed. */
static void
test_params_changed_before_submit(void **state)
{
	struct env *e = env_new();
	json_t *res, *w;
	cr_err err;
	char *dump;

	(void)state;
	kill_after = point_index("staged") - 1;
	assert_true(run(e, true, &res, &err));
	e->o.dns_alt_names = json_pack("[s]", "other.test");
	run(e, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	w = json_object_get(res, "warnings");
	dump = json_dumps(w, 0);
	assert_non_null(strstr(dump, "discarded"));
	free(dump);
	dump = json_dumps(json_object_get(res, "after"), 0);
	json_decref(res);
	free(dump);
	/* the signed certificate names what the rerun asked for */
	{
		GENERAL_NAMES *sans = X509_get_ext_d2i(e->ca.signed_,
		    NID_subject_alt_name, NULL, NULL);
		bool other = false;
		int i;

		assert_non_null(sans);
		for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
			if (g->type == GEN_DNS && ASN1_STRING_length(
			    g->d.dNSName) == 10 && memcmp(ASN1_STRING_get0_data(
			    g->d.dNSName), "other.test", 10) == 0)
				other = true;
		}
		GENERAL_NAMES_free(sans);
		assert_true(other);
	}
	env_free(e);
}

/* Other dns_alt_names once the CA holds the CSR pending: refused with
 * what differs; the original parameters finish the run. */
static void
test_params_changed_after_submit(void **state)
{
	struct env *e = env_new();
	json_t *res;
	cr_err err;

	(void)state;
	e->ca.autosign = false;
	run(e, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_string_equal(state_of(res), "pending");
	assert_non_null(json_object_get(res, "next_step"));
	json_decref(res);
	assert_untouched(e);

	e->o.dns_alt_names = json_pack("[s]", "other.test");
	run(e, false, &res, &err);
	assert_null(res);
	assert_true(cr_err_is(&err, CR_KIND_PARAMETERS_CHANGED));
	assert_non_null(strstr(err.msg, "other.test"));
	assert_next_step(&err, "run the task again with the staged parameters");
	assert_untouched(e);
	cr_err_clear(&err);

	json_decref(e->o.dns_alt_names);
	e->o.dns_alt_names = NULL;
	tca_sign(&e->ca);
	run(e, false, &res, &err);
	if (res == NULL)
		fail_err(&err);
	assert_converged(e, res);
	json_decref(res);
	env_free(e);
}

static int
group_teardown(void **state)
{
	json_decref(points);
	json_decref(seen);
	points = seen = NULL;
	return pki_group_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_points),
		cmocka_unit_test(test_kill_each_point),
		cmocka_unit_test(test_kill_chain),
		cmocka_unit_test(test_ca_down),
		cmocka_unit_test(test_ca_down_midway),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_rogue_ca),
		cmocka_unit_test(test_params_changed_before_submit),
		cmocka_unit_test(test_params_changed_after_submit),
	};

	return cmocka_run_group_tests(tests, pki_group_setup, group_teardown);
}

#else	/* !CR_TEST_HOOKS */

static void
test_needs_hooks(void **state)
{
	(void)state;
	skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
