/*
 * cr_regen_ca.c - the CA side of a regeneration: connect (pinning a new CA
 * when asked), submit the staged CSR, wait for the signed certificate,
 * fetch the CA bundle and CRL and verify everything before it is used.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cr_fs.h"
#include "cr_json.h"
#include "cr_regen_int.h"
#include "cr_x509.h"

#define PUBLIC_MODE 0644

static int
ca_port(struct regen *r)
{
	const char *p = cr_settings_get(r->set, "ca_port");

	if (r->o->ca_port > 0)
		return r->o->ca_port;
	return p ? atoi(p) : CR_HTTP_DEFAULT_PORT;
}

static const char *
ca_server(struct regen *r)
{
	return r->o->ca_server ? r->o->ca_server :
	    cr_settings_get(r->set, "ca_server");
}

/* Saves PEM text in the staging directory (not in noop: no staging). */
static bool
stage_file(struct regen *r, const char *name, const char *text, size_t len,
    cr_err *err)
{
	char *path;
	bool ok;

	if (r->o->noop)
		return true;
	if ((path = cr_staging_file(r->staging, name)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	ok = cr_file_write_atomic(path, text, len, PUBLIC_MODE, (uid_t)-1,
	    (gid_t)-1, err);
	free(path);
	return ok;
}

/*
 * With ca_fingerprint, the pinned bundle is the handle's cacert file, kept
 * in the staging directory: created here if this is a fresh run, and
 * written again after the stage step (which starts the directory afresh),
 * before the next request needs it.
 */
static bool
stage_pinned_bundle(struct regen *r, cr_err *err)
{
	if (r->o->ca_fingerprint == NULL || r->ca_pem == NULL || r->o->noop)
		return true;
	return cr_mkdir_p(r->staging, 0700, err) &&
	    stage_file(r, "ca.pem", r->ca_pem, r->ca_len, err);
}

bool
regen_ca_connect(struct regen *r, cr_err *err)
{
	struct cr_http_opts ho;
	const struct cr_flow_ops *ops = r->ops;
	void *boot = NULL;
	char *path = NULL;
	bool ok = false;

	memset(&ho, 0, sizeof(ho));
	ho.server = ca_server(r);
	ho.port = ca_port(r);
	if (r->o->ca_fingerprint != NULL) {
		/* a new CA (rebuild): fetch its bundle, accept it only if it
		 * matches the pin, then talk to the CA through it */
		ho.ca_fingerprint = r->o->ca_fingerprint;
		free(r->ca_pem);	/* a resumed run re-fetches it, pinned */
		r->ca_pem = NULL;
		if ((boot = ops->ca_open(ops->ctx, &ho, err)) == NULL ||
		    (r->ca_pem = ops->ca_bundle(ops->ctx, boot, &r->ca_len,
		    err)) == NULL)
			goto out;
		if (r->o->noop) {
			ok = true;	/* nothing staged to connect through */
			goto out;
		}
		if (!stage_pinned_bundle(r, err) ||
		    (path = cr_staging_file(r->staging, "ca.pem")) == NULL)
			goto out;
		ho.cacert = path;
	} else {
		ho.cacert = cr_settings_get(r->set, "localcacert");
	}
	if ((r->http = ops->ca_open(ops->ctx, &ho, err)) == NULL)
		goto out;
	if (r->ca_pem == NULL && (r->ca_pem = ops->ca_bundle(ops->ctx,
	    r->http, &r->ca_len, err)) == NULL)
		goto out;
	ok = true;
out:
	if (!ok && cr_err_is(err, CR_KIND_CA_PIN_MISMATCH))
		cr_err_next(err, "check ca_fingerprint against the fingerprint "
		    "the new CA printed (rebuild_ca's output, or on the CA: "
		    "openssl x509 -noout -fingerprint -sha256 -in "
		    "<cadir>/ca_crt.pem), and that %s:%d is that CA, then run "
		    "the task again; nothing was changed",
		    ho.server ? ho.server : "?", ho.port);
	if (!ok && (cr_err_is(err, CR_KIND_CA_UNREACHABLE) ||
	    cr_err_is(err, CR_KIND_CA_TLS)))
		cr_err_next(err, "check that %s:%d is the CA and answers "
		    "(ca_server / ca_port), then run the task again; nothing "
		    "was changed", ho.server ? ho.server : "?", ho.port);
	free(path);
	if (boot != NULL)
		ops->ca_close(ops->ctx, boot);
	return ok;
}

/* The certificate the CA has for certname: 1 found (*pem set), 0 none,
 * -1 error. */
static int
ca_cert(struct regen *r, char **pem, size_t *len, cr_err *err)
{
	cr_err e;
	int rc = -1;

	cr_err_init(&e);
	*pem = r->ops->ca_cert(r->ops->ctx, r->http, r->certname, len, &e);
	if (*pem != NULL)
		rc = 1;
	else if (cr_http_err_status(&e) == 404)
		rc = 0;
	else
		cr_err_set(err, e.kind, "%s", e.msg);
	cr_err_clear(&e);
	return rc;
}

/* 1 when the first certificate of pem carries key, 0 when not, -1 bad PEM. */
static int
pem_has_key(const char *pem, size_t len, EVP_PKEY *key, cr_err *err)
{
	STACK_OF(X509) *certs = cr_certs_parse(pem, len, "the CA's answer", err);
	int rc = -1;

	if (certs != NULL)
		rc = cr_key_matches(sk_X509_value(certs, 0), key);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* Whether the certificate in pem is the live hostcert (same SHA-256). */
static bool
pem_is_live(struct regen *r, const char *pem, size_t len)
{
	STACK_OF(X509) *a = NULL, *b = NULL;
	cr_err e;
	bool same = false;

	cr_err_init(&e);
	if (pem != NULL &&
	    (a = cr_certs_parse(pem, len, "the CA's answer", &e)) != NULL &&
	    (b = cr_certs_read(cr_settings_get(r->set, "hostcert"), &e))
	    != NULL)
		same = X509_cmp(sk_X509_value(a, 0), sk_X509_value(b, 0)) == 0;
	sk_X509_pop_free(a, X509_free);
	sk_X509_pop_free(b, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
	return same;
}

/* The next step of ca-not-cleaned, for the error and for noop. */
static void
not_cleaned_next(struct regen *r, bool live, char *buf, size_t len)
{
	snprintf(buf, len, "%sclean it on the CA (`puppetserver ca clean "
	    "--certname %s` or the cert_regen::ca_clean task), then run this "
	    "task again at once: it resumes with the key and CSR already "
	    "staged", live ? "the CA's certificate is this node's live one, "
	    "which cleaning revokes: to replace it, " : "the CA's certificate "
	    "is neither the live one nor the staged one: ", r->certname);
}

static void
not_cleaned(struct regen *r, const char *pem, size_t len, cr_err *err)
{
	char next[512];
	bool live = pem_is_live(r, pem, len);

	cr_err_set(err, CR_KIND_CA_NOT_CLEANED,
	    "the CA still holds a signed certificate for %s that is not the "
	    "one being staged (%s)", r->certname, live ? "it is the live "
	    "certificate" : "not the live certificate either");
	not_cleaned_next(r, live, next, sizeof(next));
	cr_err_next(err, "%s", next);
}

static char *pending_csr_fp(struct regen *r, cr_err *err);

int
regen_ca_signed_for_staged(struct regen *r, cr_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int rc = ca_cert(r, &pem, &len, err);

	if (rc == 1)
		rc = pem_has_key(pem, len, r->key, err);
	free(pem);
	return rc;
}

bool
regen_ca_check_clean(struct regen *r, json_t *into, cr_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int found = ca_cert(r, &pem, &len, err), mine = 0;
	char next[512];
	bool live;

	if (found >= 0)
		json_object_set_new(into, "ca_holds_signed_cert",
		    json_boolean(found == 1));
	if (found == 1 && r->key != NULL)
		mine = pem_has_key(pem, len, r->key, err);
	if (found == 1 && mine == 0) {
		/* what the real run would stop at */
		live = pem_is_live(r, pem, len);
		not_cleaned_next(r, live, next, sizeof(next));
		json_object_set_new(into, "blocked_by", json_pack(
		    "{s:s, s:s, s:b, s:s}", "step", "submit", "kind",
		    CR_KIND_CA_NOT_CLEANED, "ca_cert_is_live", live,
		    "next_step", next));
	}
	free(pem);
	return found >= 0 && mine >= 0;
}

char *
regen_ca_pending_fp(struct regen *r, bool *none, cr_err *err)
{
	cr_err e;
	char *fp;

	cr_err_init(&e);
	*none = false;
	if ((fp = pending_csr_fp(r, &e)) == NULL) {
		if (cr_http_err_status(&e) == 404)
			*none = true;
		else
			cr_err_set(err, e.kind, "%s", e.msg);
	}
	cr_err_clear(&e);
	return fp;
}

/* Fingerprint of the CSR the CA holds for certname, or NULL. */
static char *
pending_csr_fp(struct regen *r, cr_err *err)
{
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	char *body = NULL, *fp = NULL;
	size_t len = 0;

	if ((body = r->ops->ca_request(r->ops->ctx, r->http, r->certname, &len,
	    err)) == NULL)
		goto out;
	if ((bio = BIO_new_mem_buf(body, (int)len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL) {
		cr_err_openssl(err, "the CA's pending request for %s is not a "
		    "PEM CSR", r->certname);
		goto out;
	}
	fp = cr_fingerprint_req(req, EVP_sha256());
out:
	X509_REQ_free(req);
	BIO_free(bio);
	free(body);
	return fp;
}

bool
regen_ca_submit(struct regen *r, cr_err *err)
{
	char *pem = NULL, *csr_pem = NULL, *theirs = NULL;
	const char *body;
	size_t len = 0;
	long status;
	BIO *bio = NULL;
	cr_err e;
	bool ok = false;
	int found;

	cr_err_init(&e);
	if (!stage_pinned_bundle(r, err))
		goto out;
	/* autosigned in an earlier run, or the CA still has the old cert? */
	if ((found = ca_cert(r, &pem, &len, err)) < 0)
		goto out;
	if (found == 1) {
		int mine = pem_has_key(pem, len, r->key, err);
		if (mine < 0)
			goto out;
		if (mine == 0) {
			not_cleaned(r, pem, len, err);
			goto out;
		}
		ok = true;	/* already signed: the wait step picks it up */
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, r->csr) != 1) {
		cr_err_openssl(err, "cannot encode the CSR");
		goto out;
	}
	len = (size_t)BIO_get_mem_data(bio, &csr_pem);
	if (r->ops->ca_submit(r->ops->ctx, r->http, r->certname, csr_pem, len,
	    &e)) {
		ok = true;
		goto out;
	}
	status = cr_http_err_status(&e);
	body = e.details ? json_string_value(json_object_get(e.details, "body"))
	    : NULL;
	if (status == 400 && body != NULL && strstr(body, "requested") != NULL) {
		/* "already has a requested certificate": ours from an earlier
		 * run, or somebody else's? */
		if ((theirs = pending_csr_fp(r, err)) == NULL)
			goto out;
		if (strcmp(theirs, r->csr_fp) != 0) {
			cr_err_set(err, CR_KIND_CSR_CONFLICT,
			    "the CA holds another pending request for %s "
			    "(fingerprint %s, ours is %s)", r->certname, theirs,
			    r->csr_fp);
			cr_err_next(err, "if that request is not this node's, "
			    "remove it on the CA (`puppetserver ca clean "
			    "--certname %s`), then run this task again",
			    r->certname);
			goto out;
		}
		ok = true;
	} else if (status == 400 && body != NULL &&
	    (strstr(body, "already has a signed") != NULL ||
	    strstr(body, "already has a revoked") != NULL)) {
		free(pem);
		pem = NULL;
		if (ca_cert(r, &pem, &len, err) < 0)
			goto out;
		not_cleaned(r, pem, len, err);
	} else if (status == 400) {
		/* refused for its content: alt names or authorization
		 * extensions the CA does not allow, a bad name...
		 * puppetserver may keep such a CSR as pending anyway */
		cr_err_set(err, CR_KIND_CSR_REFUSED, "the CA refused the CSR "
		    "for %s: %.400s", r->certname, body ? body : e.msg);
		cr_err_detail_new(err, "ca_message", cr_json_str(body));
		cr_err_next(err, "%s; the key and CSR stay staged: run the task "
		    "again, and if the CA kept the request pending, sign it "
		    "(csr_fingerprint %s) with cert_regen::ca_sign; to ask for "
		    "other dns_alt_names or extensions instead, remove the "
		    "pending request on the CA first (cert_regen::ca_clean) and "
		    "run the task with the corrected parameters: it stages a "
		    "new key and CSR",
		    body != NULL && strstr(body, "subject alternative names") ?
		    "allow alt names on the CA (allow-subject-alt-names: true "
		    "in puppetserver's ca.conf, then reload it), or give "
		    "dns_alt_names the CA accepts" : "fix what the CA names",
		    r->csr_fp);
	} else {
		cr_err_set(err, e.kind, "%s", e.msg);
		cr_err_next(err, "the CSR is staged: run the task again once the "
		    "CA accepts requests");
	}
out:
	cr_err_clear(&e);
	BIO_free(bio);
	free(theirs);
	free(pem);
	return ok;
}

bool
regen_ca_wait(struct regen *r, bool *signed_, cr_err *err)
{
	time_t deadline = time(NULL) + (r->o->wait_for_cert < 0 ?
	    CR_REGEN_WAIT_DEFAULT : r->o->wait_for_cert);
	char *pem = NULL;
	size_t len = 0;
	bool ok = false;
	int found, mine;

	*signed_ = false;
	for (;;) {
		if ((found = ca_cert(r, &pem, &len, err)) < 0)
			goto out;
		if (found == 1) {
			if ((mine = pem_has_key(pem, len, r->key, err)) < 0)
				goto out;
			if (mine == 0) {
				not_cleaned(r, pem, len, err);
				goto out;
			}
			r->cert_pem = pem;
			r->cert_len = len;
			pem = NULL;
			*signed_ = true;
			break;
		}
		if (time(NULL) + CR_REGEN_POLL_SECONDS > deadline)
			break;
		sleep(CR_REGEN_POLL_SECONDS);
	}
	ok = true;
out:
	free(pem);
	return ok;
}

/* Every requested DNS name is among the certificate's SANs. */
static bool
sans_cover(X509 *x, json_t *wanted, json_t *wanted_ip, cr_err *err)
{
	json_t *dns = json_array(), *ip = json_array(), *v, *w;
	size_t i, j;
	bool ok = false, found;

	if (dns == NULL || ip == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	cr_sans_json(X509_get0_extensions(x), dns, ip);
	json_array_foreach(wanted, i, w) {
		found = false;
		json_array_foreach(dns, j, v)
			if (strcasecmp(json_string_value(v), json_string_value(w)) == 0)
				found = true;
		if (!found) {
			cr_err_set(err, CR_KIND_VERIFY,
			    "the signed certificate lacks the alt name %s",
			    json_string_value(w));
			goto out;
		}
	}
	json_array_foreach(wanted_ip, i, w) {
		found = false;
		json_array_foreach(ip, j, v)
			if (strcmp(json_string_value(v), json_string_value(w)) == 0)
				found = true;
		if (!found) {
			cr_err_set(err, CR_KIND_VERIFY,
			    "the signed certificate lacks the IP alt name %s",
			    json_string_value(w));
			goto out;
		}
	}
	ok = true;
out:
	json_decref(dns);
	json_decref(ip);
	return ok;
}

/* Every CRL is signed by a certificate of the bundle that bears its
 * issuer's name: no unverified CRL is installed. */
static bool
crls_signed_by(STACK_OF(X509_CRL) *crls, STACK_OF(X509) *bundle, cr_err *err)
{
	char name[256];
	int i = cr_crls_unsigned(crls, bundle);

	if (i < 0)
		return true;
	X509_NAME_oneline(X509_CRL_get_issuer(sk_X509_CRL_value(crls, i)),
	    name, sizeof(name));
	cr_err_set(err, CR_KIND_VERIFY,
	    "CRL %d (issuer %s) is not signed by a CA of the bundle", i + 1,
	    name);
	return false;
}

bool
regen_ca_fetch_verify(struct regen *r, cr_err *err)
{
	STACK_OF(X509) *cert = NULL, *bundle = NULL, *old = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	const char *why = NULL;
	char cn[256];
	X509 *leaf;
	enum cr_crl_mode mode;
	bool ok = false;
	int rc, i;

	if ((r->crl_pem = r->ops->ca_crl(r->ops->ctx, r->http, &r->crl_len,
	    err)) == NULL)
		goto out;
	if ((cert = cr_certs_parse(r->cert_pem, r->cert_len,
	    "the signed certificate", err)) == NULL ||
	    (bundle = cr_certs_parse(r->ca_pem, r->ca_len, "the CA bundle",
	    err)) == NULL ||
	    (crls = cr_crls_parse(r->crl_pem, r->crl_len, "the CRL", err))
	    == NULL)
		goto out;
	leaf = sk_X509_value(cert, 0);
	if (sk_X509_num(cert) != 1) {
		/* only what is verified is installed: nothing rides along */
		cr_err_set(err, CR_KIND_VERIFY,
		    "the CA answered %d certificates for %s, not one",
		    sk_X509_num(cert), r->certname);
		goto out;
	}
	if (!crls_signed_by(crls, bundle, err))
		goto out;
	if (cr_key_matches(leaf, r->key) != 1) {
		cr_err_set(err, CR_KIND_VERIFY,
		    "the signed certificate does not carry the staged key");
		goto out;
	}
	mode = cr_crl_mode_parse(cr_settings_get(r->set,
	    "certificate_revocation"));
	if ((rc = cr_verify_chain(leaf, bundle, crls, mode, time(NULL), &why,
	    err)) != 1) {
		if (rc == 0)
			cr_err_set(err, CR_KIND_VERIFY,
			    "the signed certificate does not verify against the "
			    "CA bundle and CRL: %s", why);
		goto out;
	}
	if (r->o->ca_fingerprint == NULL) {
		/* without a pin, the cert must chain to the CA we trust now */
		old = cr_certs_read(cr_settings_get(r->set, "localcacert"), err);
		if (old == NULL)
			goto out;
		if ((rc = cr_verify_chain(leaf, old, NULL, CR_CRL_OFF,
		    time(NULL), &why, err)) != 1) {
			if (rc == 0) {
				cr_err_set(err, CR_KIND_CA_CHANGED,
				    "the new certificate does not chain to the "
				    "CA this agent trusts (%s)", why);
				cr_err_next(err, "if the CA was rebuilt, run "
				    "again with ca_fingerprint set to the new "
				    "CA's SHA-256 fingerprint");
			}
			goto out;
		}
		/* ... and so must every CA certificate that will be
		 * installed: nothing unrelated rides along in the bundle */
		for (i = 0; i < sk_X509_num(bundle); i++) {
			if ((rc = cr_verify_chain(sk_X509_value(bundle, i), old,
			    NULL, CR_CRL_OFF, time(NULL), &why, err)) == 1)
				continue;
			if (rc == 0) {
				cr_err_set(err, CR_KIND_CA_CHANGED,
				    "certificate %d of the CA's bundle does not "
				    "chain to the CA this agent trusts (%s)",
				    i + 1, why);
				cr_err_next(err, "if the CA was rebuilt, run "
				    "again with ca_fingerprint set to the new "
				    "CA's SHA-256 fingerprint");
			}
			goto out;
		}
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn)) < 0 ||
	    strcmp(cn, r->certname) != 0) {
		cr_err_set(err, CR_KIND_VERIFY,
		    "the signed certificate's CN is not %s", r->certname);
		goto out;
	}
	if (!sans_cover(leaf, json_object_get(r->request, "dns_alt_names"),
	    json_object_get(r->request, "ip_alt_names"), err))
		goto out;
	ok = stage_file(r, "cert.pem", r->cert_pem, r->cert_len, err) &&
	    stage_file(r, "ca.pem", r->ca_pem, r->ca_len, err) &&
	    stage_file(r, "crl.pem", r->crl_pem, r->crl_len, err);
out:
	ERR_clear_error();
	sk_X509_pop_free(cert, X509_free);
	sk_X509_pop_free(bundle, X509_free);
	sk_X509_pop_free(old, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return ok;
}

int
regen_ca_recheck(struct regen *r, cr_err *err)
{
	STACK_OF(X509) *cert = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	char *pem = NULL;
	size_t len = 0;
	int rc = -1;

	if ((pem = r->ops->ca_crl(r->ops->ctx, r->http, &len, err)) == NULL ||
	    (crls = cr_crls_parse(pem, len, "the CRL", err)) == NULL ||
	    (cert = cr_certs_parse(r->cert_pem, r->cert_len, "cert.pem", err))
	    == NULL)
		goto out;
	rc = cr_revoked_by(sk_X509_value(cert, 0), crls) == 1 ? 1 : 0;
out:
	ERR_clear_error();
	sk_X509_pop_free(cert, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(pem);
	return rc;
}
