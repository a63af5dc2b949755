/*
 * cr_check.c - the server check behind cert_regen::check_server (see
 * cr_check.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "cr_check.h"
#include "cr_http.h"
#include "cr_json.h"
#include "cr_identity.h"
#include "cr_settings.h"
#include "cr_x509.h"

/* Lower-case hex digits of a fingerprint, any common spelling. */
static void
fp_norm(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (strncmp(in, "SHA256:", 7) == 0)
		in += 7;
	else if (strncmp(in, "(SHA256) ", 9) == 0)
		in += 9;
	for (; *in != '\0' && n + 1 < len; in++)
		if (isxdigit((unsigned char)*in))
			out[n++] = (char)tolower((unsigned char)*in);
	out[n] = '\0';
}

static bool
env_valid(const char *e)
{
	size_t i;

	for (i = 0; e[i] != '\0'; i++)
		if (!(islower((unsigned char)e[i]) || isdigit((unsigned char)e[i])
		    || e[i] == '_') || i >= 128)
			return false;
	return i > 0;
}

/* Maps the HTTP client's kinds to this task's. */
static void
remap(cr_err *err)
{
	if (cr_err_is(err, CR_KIND_CA_UNREACHABLE))
		snprintf(err->kind, sizeof(err->kind), "%s",
		    CR_KIND_SERVER_UNREACHABLE);
	else if (cr_err_is(err, CR_KIND_CA_TLS))
		snprintf(err->kind, sizeof(err->kind), "%s", CR_KIND_SERVER_TLS);
}

/* The presented certificate: CRLs, fingerprint, names. */
static bool
check_peer(const struct cr_check_opts *o, const cr_settings *set, X509 *peer,
    json_t *result, cr_err *err)
{
	STACK_OF(X509) *bundle = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	enum cr_crl_mode mode = cr_crl_mode_parse(cr_settings_get(set,
	    "certificate_revocation"));
	char *fp = cr_fingerprint_x509(peer, EVP_sha256()), a[80], b[80];
	json_t *dns = json_array(), *ip = json_array(), *v, *w;
	const char *why = NULL;
	size_t i, j;
	bool ok = false, found;
	cr_err e;

	cr_err_init(&e);
	json_object_set_new(result, "certificate", cr_identity_cert_summary(peer));
	if ((bundle = cr_certs_read(cr_settings_get(set, "localcacert"), err))
	    == NULL)
		goto out;
	if (mode != CR_CRL_OFF && (crls = cr_crls_read(cr_settings_get(set,
	    "hostcrl"), &e)) == NULL)
		mode = CR_CRL_OFF;	/* no CRL yet: what the agent does too */
	if (cr_verify_chain(peer, bundle, crls, mode, time(NULL), &why, err)
	    != 1) {
		if (!err->set)
			cr_err_set(err, CR_KIND_SERVER_TLS, "the server's "
			    "certificate does not verify against this agent's "
			    "CA bundle and CRLs: %s", why ? why : "?");
		goto out;
	}
	json_object_set_new(result, "chain_valid", json_true());
	if (o->expect_fingerprint != NULL) {
		fp_norm(o->expect_fingerprint, a, sizeof(a));
		fp_norm(fp ? fp : "", b, sizeof(b));
		if (strcmp(a, b) != 0) {
			cr_err_set(err, CR_KIND_SERVER_MISMATCH, "the server "
			    "presents %s, not the expected %s", fp ? fp : "?",
			    o->expect_fingerprint);
			goto out;
		}
	}
	cr_sans_json(X509_get0_extensions(peer), dns, ip);
	json_array_foreach(o->expect_names, i, v) {
		const char *want = json_string_value(v);
		const char *bare = strncmp(want, "DNS:", 4) == 0 ? want + 4 :
		    strncmp(want, "IP:", 3) == 0 ? want + 3 : want;

		found = false;
		json_array_foreach(dns, j, w)
			found = found || strcasecmp(json_string_value(w), bare) == 0;
		json_array_foreach(ip, j, w)
			found = found || strcmp(json_string_value(w), bare) == 0;
		if (!found) {
			cr_err_set(err, CR_KIND_SERVER_MISMATCH, "the server's "
			    "certificate does not carry the name %s", want);
			goto out;
		}
	}
	ok = true;
out:
	cr_err_clear(&e);
	ERR_clear_error();
	sk_X509_pop_free(bundle, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	json_decref(dns);
	json_decref(ip);
	free(fp);
	return ok;
}

static bool
check_catalog(cr_http *h, const char *certname, const char *env,
    json_t *result, cr_err *err)
{
	struct cr_http_response r = { 0 };
	char path[512];
	json_t *cat = NULL;
	json_error_t jerr;
	bool ok = false;

	snprintf(path, sizeof(path), "/puppet/v3/catalog/%s?environment=%s",
	    certname, env);
	if (!cr_http_request(h, "GET", path, NULL, NULL, 0, &r, err)) {
		remap(err);
		if (!cr_err_is(err, CR_KIND_SERVER_UNREACHABLE) &&
		    !cr_err_is(err, CR_KIND_SERVER_TLS))
			snprintf(err->kind, sizeof(err->kind), "%s",
			    CR_KIND_CATALOG);
		goto out;
	}
	if ((cat = json_loadb(r.body, r.len, 0, &jerr)) == NULL ||
	    !json_is_array(json_object_get(cat, "resources"))) {
		cr_err_set(err, CR_KIND_CATALOG, "the server's answer to %s is "
		    "not a catalog", path);
		goto out;
	}
	json_object_set_new(result, "catalog", json_pack("{s:s, s:O?, s:I}",
	    "environment", env, "version", json_object_get(cat, "version"),
	    "resources", (json_int_t)json_array_size(json_object_get(cat,
	    "resources"))));
	ok = true;
out:
	json_decref(cat);
	cr_http_response_clear(&r);
	return ok;
}

json_t *
cr_check_server(const struct cr_check_opts *o, cr_err *err)
{
	struct cr_http_opts ho = { 0 };
	struct cr_http_response r = { 0 };
	cr_settings *set = NULL;
	cr_http *h = NULL;
	STACK_OF(X509) *peer = NULL;
	char *pem = NULL;
	const char *env = o->environment ? o->environment : "production";
	const char *port;
	json_t *result = json_object(), *out = NULL;

	if (!env_valid(env)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "'%s' is not an "
		    "environment name", env);
		goto out;
	}
	if ((set = cr_settings_agent(o->confdir, NULL, NULL, NULL, err)) == NULL)
		goto out;
	port = cr_settings_get(set, "serverport");
	ho.server = o->server ? o->server : cr_settings_get(set, "server");
	ho.port = o->port > 0 ? o->port : port ? atoi(port) : 0;
	ho.cacert = cr_settings_get(set, "localcacert");
	ho.client_cert = cr_settings_get(set, "hostcert");
	ho.client_key = cr_settings_get(set, "hostprivkey");
	json_object_set_new(result, "server", cr_json_str(ho.server));
	json_object_set_new(result, "port", json_integer(ho.port ? ho.port :
	    CR_HTTP_DEFAULT_PORT));
	json_object_set_new(result, "certname", cr_json_str(
	    cr_settings_get(set, "certname")));
	if ((h = cr_http_new(&ho, err)) == NULL)
		goto out;
	if (!cr_http_request(h, "GET", "/status/v1/simple", NULL, NULL, 0, &r,
	    err)) {
		remap(err);
		goto out;
	}
	if ((pem = cr_http_peer_cert(h)) == NULL ||
	    (peer = cr_certs_parse(pem, strlen(pem), "the server's "
	    "certificate", err)) == NULL) {
		if (!err->set)
			cr_err_set(err, CR_KIND_SERVER_TLS, "the server's "
			    "certificate could not be read");
		goto out;
	}
	if (!check_peer(o, set, sk_X509_value(peer, 0), result, err))
		goto out;
	if (o->catalog && !check_catalog(h, cr_settings_get(set, "certname"),
	    env, result, err))
		goto out;
	out = json_incref(result);
out:
	if (out == NULL)
		cr_err_next(err, "nothing was changed by this check: see the "
		    "message, and the server's log");
	cr_http_response_clear(&r);
	cr_http_free(h);
	sk_X509_pop_free(peer, X509_free);
	free(pem);
	cr_settings_free(set);
	json_decref(result);
	return out;
}
