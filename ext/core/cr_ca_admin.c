/*
 * cr_ca_admin.c - clean, sign and list on the CA (see cr_ca_admin.h).
 */
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_ca_admin.h"
#include "cr_json.h"
#include "cr_settings.h"
#include "cr_x509.h"

/*
 * The CA tasks authenticate with this host's own certificate unless cert
 * and key are given: when one of the defaulted files does not exist, this
 * host has no CA identity under the resolved confdir (an agent, or a wrong
 * confdir).  false with CR_KIND_NOT_CA_HOST.
 */
static bool
ca_identity_present(const struct cr_ca_conn *c, cr_settings *set,
    const struct cr_http_opts *ho, cr_err *err)
{
	const char *files[3], *what[3] = { "hostcert", "hostprivkey",
	    "localcacert" };
	const char *confdir = cr_settings_get(set, "confdir");
	struct stat st;
	size_t i;

	files[0] = c->cert ? NULL : ho->client_cert;
	files[1] = c->key ? NULL : ho->client_key;
	files[2] = c->cacert ? NULL : ho->cacert;
	for (i = 0; i < 3; i++) {
		if (files[i] == NULL || stat(files[i], &st) == 0 ||
		    errno != ENOENT)
			continue;
		cr_err_set(err, CR_KIND_NOT_CA_HOST, "this host has no CA "
		    "identity under confdir %s: its %s %s does not exist; the "
		    "CA tasks authenticate with the CA host's own certificate, "
		    "so confdir must name the CA's confdir",
		    confdir ? confdir : "(default)", what[i], files[i]);
		cr_err_detail_new(err, "confdir", cr_json_str(confdir));
		cr_err_detail_new(err, "missing", cr_json_str(files[i]));
		cr_err_detail_new(err, "setting", json_string(what[i]));
		return false;
	}
	return true;
}

cr_http *
cr_ca_admin_connect(const struct cr_ca_conn *c, cr_err *err)
{
	struct cr_settings_opts so;
	struct cr_http_opts ho;
	cr_settings *set = NULL;
	cr_http *h = NULL;
	const char *port;

	memset(&so, 0, sizeof(so));
	memset(&ho, 0, sizeof(ho));
	so.confdir = c->confdir;
	so.section = "server";
	so.allow_exec = true;
	if ((set = cr_settings_load(&so, err)) == NULL)
		goto out;
	port = cr_settings_get(set, "ca_port");
	ho.server = c->ca_server ? c->ca_server : cr_settings_get(set, "ca_server");
	ho.port = c->ca_port > 0 ? c->ca_port : (port ? atoi(port) : 0);
	ho.client_cert = c->cert ? c->cert : cr_settings_get(set, "hostcert");
	ho.client_key = c->key ? c->key : cr_settings_get(set, "hostprivkey");
	ho.cacert = c->cacert ? c->cacert : cr_settings_get(set, "localcacert");
	if (ca_identity_present(c, set, &ho, err))
		h = cr_http_new(&ho, err);
out:
	cr_settings_free(set);
	return h;
}

/* A failure every further name would hit too. */
static bool
global_failure(const cr_err *e)
{
	return cr_err_is(e, CR_KIND_CA_UNREACHABLE) ||
	    cr_err_is(e, CR_KIND_CA_TLS) ||
	    cr_err_is(e, CR_KIND_CA_UNAUTHORIZED);
}

static void
fail_row(json_t *row, const char *kind, const char *msg, const char *next)
{
	json_object_set_new(row, "outcome", json_string("failed"));
	json_object_set_new(row, "error", json_pack("{s:s, s:o, s:o}",
	    "kind", kind, "msg", cr_json_str(msg), "next_step",
	    cr_json_str(next ? next : cr_err_kind_next_step(kind))));
}

/* The row failed with e; when every further name would fail too, the run
 * stops with it (fatal). */
static void
fail_row_with(json_t *row, const cr_err *e, cr_err *fatal)
{
	fail_row(row, e->kind, e->msg, NULL);
	if (global_failure(e))
		cr_err_set(fatal, e->kind, "%s", e->msg);
}

/*
 * Bolt's human output prints the error's msg only: name the failed rows
 * there ("<certname>: <msg>", bounded), and when they all share one next
 * step, make it the error's.
 */
static void
partial_failure(json_t *rows, const char *what, size_t failed, cr_err *err)
{
	char text[1536];
	const char *next = NULL, *ns;
	size_t i, used, listed = 0;
	json_t *row, *e;
	bool same = true;
	int n;

	used = (size_t)snprintf(text, sizeof(text), "%s failed for %zu of %zu "
	    "name(s)", what, failed, json_array_size(rows));
	json_array_foreach(rows, i, row) {
		if ((e = json_object_get(row, "error")) == NULL)
			continue;
		ns = json_string_value(json_object_get(e, "next_step"));
		if (next == NULL)
			next = ns;
		else if (ns == NULL || strcmp(ns, next) != 0)
			same = false;
		if (used >= sizeof(text) - 1)
			continue;
		n = snprintf(text + used, sizeof(text) - used, "%s %s: %s",
		    listed++ > 0 ? ";" : ":",
		    json_string_value(json_object_get(row, "certname")),
		    json_string_value(json_object_get(e, "msg")));
		used = n > 0 ? used + (size_t)n : used;
	}
	if (used >= sizeof(text) - 1)
		memcpy(text + sizeof(text) - 5, "...", 4);
	cr_err_set(err, CR_KIND_CA_PARTIAL, "%s", text);
	if (same && next != NULL)
		cr_err_next(err, "%s", next);
}

/* Wraps rows into the answer, or sets err when any row failed. */
static json_t *
conclude(json_t *rows, const char *what, cr_err *err)
{
	json_t *summary = json_object(), *row, *out = NULL;
	size_t i, failed = 0;
	const char *o;

	json_array_foreach(rows, i, row) {
		o = json_string_value(json_object_get(row, "outcome"));
		json_object_set_new(summary, o, json_integer(
		    json_integer_value(json_object_get(summary, o)) + 1));
		if (strcmp(o, "failed") == 0)
			failed++;
	}
	if (failed > 0) {
		partial_failure(rows, what, failed, err);
		cr_err_detail_new(err, "results", json_incref(rows));
		cr_err_detail_new(err, "summary", summary);
		return NULL;
	}
	out = json_pack("{s:O, s:o}", "results", rows, "summary", summary);
	return out;
}

/* One name's row (expected: the sign task's fingerprints; a clean has
 * none); fatal set when every further name would fail too. */
typedef json_t *one_name_fn(cr_http *h, const char *name, json_t *expected,
    cr_err *fatal);

/* Runs one over certnames, a row each, and concludes them as what
 * ("clean", "sign"); a failure every name would hit stops it (err set). */
static json_t *
each_name(cr_http *h, json_t *certnames, one_name_fn *one, json_t *expected,
    const char *what, cr_err *err)
{
	json_t *rows = json_array(), *v, *out = NULL;
	size_t i;

	json_array_foreach(certnames, i, v) {
		json_array_append_new(rows, one(h, json_string_value(v),
		    expected, err));
		if (err->set)
			goto out;
	}
	out = conclude(rows, what, err);
out:
	json_decref(rows);
	return out;
}

static json_t *
clean_one(cr_http *h, const char *name, json_t *expected, cr_err *fatal)
{
	json_t *row = json_pack("{s:s}", "certname", name);
	long st;
	bool revoked = false, deleted = false;
	cr_err e;

	cr_err_init(&e);
	if (cr_ca_status_put(h, name, "revoked", 0, &e))
		revoked = true;
	else if ((st = cr_http_err_status(&e)) != 409 && st != 404)
		goto fail;
	cr_err_clear(&e);
	if (cr_ca_status_delete(h, name, &e))
		deleted = true;
	else if (cr_http_err_status(&e) != 404)
		goto fail;
	json_object_set_new(row, "revoked", json_boolean(revoked));
	json_object_set_new(row, "deleted", json_boolean(deleted));
	json_object_set_new(row, "outcome", json_string(revoked || deleted ?
	    "cleaned" : "nothing_to_clean"));
	goto out;
fail:
	fail_row_with(row, &e, fatal);
out:
	cr_err_clear(&e);
	return row;
}

json_t *
cr_ca_clean_names(cr_http *h, json_t *certnames, cr_err *err)
{
	return each_name(h, certnames, clean_one, NULL, "clean", err);
}

/* "AB:CD..." from any case, with or without colons; NULL if not 32 bytes. */
static char *
fp_normal(const char *s)
{
	char hex[65], *out;
	size_t n = 0, i;

	if (s == NULL)
		return NULL;
	if (strncmp(s, "SHA256:", 7) == 0)
		s += 7;
	for (; *s != '\0' && n < 64; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s))
			return NULL;
		hex[n++] = (char)toupper((unsigned char)*s);
	}
	if (n != 64 || *s != '\0' || (out = malloc(96)) == NULL)
		return NULL;
	for (i = 0; i < 32; i++) {
		out[i * 3] = hex[i * 2];
		out[i * 3 + 1] = hex[i * 2 + 1];
		out[i * 3 + 2] = i < 31 ? ':' : '\0';
	}
	return out;
}

static json_t *
sign_one(cr_http *h, const char *name, json_t *expected, cr_err *fatal)
{
	json_t *row = json_pack("{s:s}", "certname", name), *status = NULL;
	const char *state, *fp, *want = json_string_value(json_object_get(expected,
	    name));
	char *a = NULL, *b = NULL, msg[1024];
	cr_err e;

	cr_err_init(&e);
	if ((status = cr_ca_status_get(h, name, &e)) == NULL) {
		if (cr_http_err_status(&e) == 404) {
			snprintf(msg, sizeof(msg), "the CA has no request and no "
			    "certificate for %s", name);
			fail_row(row, CR_KIND_NO_REQUEST, msg, "run "
			    "cert_regen::regenerate on the agent first (it "
			    "submits the CSR), then sign");
		} else {
			goto fail;
		}
		goto out;
	}
	state = json_string_value(json_object_get(status, "state"));
	fp = json_string_value(json_object_get(status, "fingerprint"));
	json_object_set_new(row, "fingerprint", cr_json_str(fp));
	if (state != NULL && strcmp(state, "signed") == 0) {
		json_object_set_new(row, "outcome", json_string("already_signed"));
		goto out;
	}
	if (state == NULL || strcmp(state, "requested") != 0) {
		snprintf(msg, sizeof(msg), "%s is %s on the CA, not requested",
		    name, state ? state : "in an unknown state");
		fail_row(row, CR_KIND_NO_REQUEST, msg, "clean the name on the "
		    "CA (cert_regen::ca_clean), run cert_regen::regenerate on "
		    "the agent, then sign");
		goto out;
	}
	if (want != NULL && ((a = fp_normal(want)) == NULL ||
	    (b = fp_normal(fp)) == NULL || strcmp(a, b) != 0)) {
		snprintf(msg, sizeof(msg), "the pending CSR for %s has "
		    "fingerprint %s, not the expected %s: refused", name,
		    fp ? fp : "?", want);
		fail_row(row, CR_KIND_FP_MISMATCH, msg, "find out who submitted "
		    "that CSR; clean it on the CA and regenerate on the agent");
		goto out;
	}
	if (!cr_ca_status_put(h, name, "signed", 0, &e)) {
		json_t *alts = json_object_get(status, "dns_alt_names");
		if (cr_http_err_status(&e) == 409 && json_array_size(alts) > 0) {
			snprintf(msg, sizeof(msg), "the CA refused to sign %s: "
			    "its CSR asks for subject alt names", name);
			fail_row(row, CR_KIND_SIGN_REFUSED, msg, "set "
			    "allow-subject-alt-names: true in the "
			    "certificate-authority section of puppetserver's "
			    "ca.conf (conf.d/ca.conf), reload puppetserver, "
			    "then sign again");
			goto out;
		}
		goto fail;
	}
	json_object_set_new(row, "outcome", json_string("signed"));
	goto out;
fail:
	fail_row_with(row, &e, fatal);
out:
	free(a);
	free(b);
	json_decref(status);
	cr_err_clear(&e);
	return row;
}

json_t *
cr_ca_sign_names(cr_http *h, json_t *certnames, json_t *expected, cr_err *err)
{
	return each_name(h, certnames, sign_one, expected, "sign", err);
}

/* puppetserver's "2031-11-22T21:13:29UTC" (or ISO 8601's "...Z") ->
 * epoch; false for anything else, trailing text included. */
static bool
ca_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    (strcmp(end, "UTC") != 0 && strcmp(end, "Z") != 0))
		return false;
	*out = timegm(&tm);
	return true;
}

static int
by_expiry(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	json_t *da = json_object_get(a, "expires_in_days");
	json_t *db = json_object_get(b, "expires_in_days");
	const char *na, *nb;

	if (json_is_null(da) != json_is_null(db))
		return json_is_null(da) ? -1 : 1;
	if (!json_is_null(da) && json_integer_value(da) != json_integer_value(db))
		return json_integer_value(da) < json_integer_value(db) ? -1 : 1;
	/* the CA's answer may lack a name or hold a non-string one */
	na = json_string_value(json_object_get(a, "name"));
	nb = json_string_value(json_object_get(b, "name"));
	return strcmp(na ? na : "", nb ? nb : "");
}

json_t *
cr_ca_list_rows(json_t *all, long within_days, time_t now, cr_err *err)
{
	json_t *out = NULL, *list = json_array(), *v, **sorted = NULL;
	time_t when;
	char iso[21];
	size_t i, n = 0;

	if (list == NULL || (sorted = calloc(json_array_size(all) + 1,
	    sizeof(*sorted))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(all, i, v) {
		json_t *row = json_object();
		bool dated = ca_time(json_string_value(json_object_get(v,
		    "not_after")), &when);
		long long days = dated ? cr_days_until(when, now) : 0;

		if (within_days >= 0 && (!dated || days > within_days)) {
			json_decref(row);
			continue;
		}
		json_object_set(row, "name", json_object_get(v, "name"));
		json_object_set(row, "state", json_object_get(v, "state"));
		json_object_set(row, "fingerprint", json_object_get(v, "fingerprint"));
		json_object_set(row, "dns_alt_names", json_object_get(v, "dns_alt_names"));
		if (dated) {
			cr_iso8601(when, iso);
			json_object_set_new(row, "not_after", json_string(iso));
			json_object_set_new(row, "expires_in_days", json_integer(days));
		} else {
			json_object_set_new(row, "not_after", json_null());
			json_object_set_new(row, "expires_in_days", json_null());
		}
		sorted[n++] = row;
	}
	qsort(sorted, n, sizeof(*sorted), by_expiry);
	for (i = 0; i < n; i++)
		json_array_append_new(list, sorted[i]);
	out = json_pack("{s:O, s:I}", "certificates", list, "count", (json_int_t)n);
out:
	free(sorted);
	json_decref(list);
	return out;
}

json_t *
cr_ca_list_certs(cr_http *h, const char *state, long within_days, cr_err *err)
{
	json_t *all, *out = NULL;

	if ((all = cr_ca_statuses(h, state != NULL && strcmp(state, "all") != 0 ?
	    state : NULL, err)) != NULL)
		out = cr_ca_list_rows(all, within_days, time(NULL), err);
	json_decref(all);
	return out;
}
