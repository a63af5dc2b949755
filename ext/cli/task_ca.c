/*
 * task_ca.c - the CA-side tasks: cert_regen::ca_clean, ca_sign, ca_list.
 * They run on the CA host (or anywhere with an admin certificate) and talk
 * to the CA HTTP API; no JVM or Ruby start-up per call.
 */
#include <stddef.h>
#include <string.h>

#include "cr_ca_admin.h"
#include "cr_json.h"
#include "cr_task.h"
#include "tasks.h"

#define CONN_PARAMS \
	{ "confdir", CR_P_DIR, 0, 0, NULL }, \
	{ "ca_server", CR_P_STRING, 0, 0, NULL }, \
	{ "ca_port", CR_P_INT, 1, 65535, NULL }, \
	{ "cert", CR_P_PATH, 0, 0, NULL }, \
	{ "key", CR_P_PATH, 0, 0, NULL }, \
	{ "cacert", CR_P_PATH, 0, 0, NULL }

static cr_http *
connect_from(json_t *params, cr_err *err)
{
	struct cr_ca_conn c = { 0 };

	c.confdir = cr_param_str(params, "confdir");
	c.ca_server = cr_param_str(params, "ca_server");
	c.ca_port = (int)cr_param_int(params, "ca_port", 0);
	c.cert = cr_param_str(params, "cert");
	c.key = cr_param_str(params, "key");
	c.cacert = cr_param_str(params, "cacert");
	if ((c.cert == NULL) != (c.key == NULL)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "give both cert and key, or neither");
		return NULL;
	}
	return cr_ca_admin_connect(&c, err);
}

/*
 * certnames (checked by its type: 1 to CR_CA_MAX_NAMES certnames): a new
 * reference to the list without duplicates, first occurrence first.
 */
static json_t *
names_param(json_t *params, cr_err *err)
{
	json_t *names = json_object_get(params, "certnames"), *v;
	json_t *seen = json_object(), *uniq = json_array(), *out = NULL;
	const char *name;
	size_t i;

	if (seen == NULL || uniq == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (json_array_size(names) == 0) {	/* absent or null */
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "parameter 'certnames' must list at least one certname");
		cr_err_detail_new(err, "parameter", json_string("certnames"));
		goto out;
	}
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		if (json_object_get(seen, name) != NULL)
			continue;
		json_object_set_new(seen, name, json_true());
		json_array_append(uniq, v);
	}
	out = json_incref(uniq);
out:
	json_decref(seen);
	json_decref(uniq);
	return out;
}

/*
 * expected_fingerprints (its type checks the form): every name must be one
 * of certnames, or a misspelt name would be signed without its check.
 */
static bool
fingerprints_param(json_t *params, json_t *names, cr_err *err)
{
	json_t *fps = json_object_get(params, "expected_fingerprints"), *v, *n;
	const char *key;
	size_t i;
	bool found;

	json_object_foreach(fps, key, v) {
		found = false;
		json_array_foreach(names, i, n)
			if (strcmp(json_string_value(n), key) == 0)
				found = true;
		if (!found) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "expected_fingerprints names '%.255s', which is not "
			    "in certnames: refused, so that a misspelt name is "
			    "never signed without its check", key);
			cr_err_detail_new(err, "parameter",
			    json_string("expected_fingerprints"));
			cr_err_detail_new(err, "entry", cr_json_str(key));
			return false;
		}
	}
	return true;
}

static const struct cr_param clean_params[] = {
	{ "certnames", CR_P_CERTNAMES, 1, CR_CA_MAX_NAMES, NULL },
	CONN_PARAMS,
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
ca_clean_run(json_t *params, cr_err *err)
{
	json_t *names = names_param(params, err), *out = NULL;
	cr_http *h = NULL;

	if (names != NULL && (h = connect_from(params, err)) != NULL)
		out = cr_ca_clean_names(h, names, err);
	cr_http_free(h);
	json_decref(names);
	return out;
}

const struct cr_task_def cr_task_ca_clean = {
	"ca_clean", "revoke and delete certificates on the CA, by name",
	clean_params, ca_clean_run,
};

static const struct cr_param sign_params[] = {
	{ "certnames", CR_P_CERTNAMES, 1, CR_CA_MAX_NAMES, NULL },
	{ "expected_fingerprints", CR_P_FINGERPRINTS, 0, 0, NULL },
	CONN_PARAMS,
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
ca_sign_run(json_t *params, cr_err *err)
{
	json_t *names = names_param(params, err), *out = NULL;
	cr_http *h = NULL;

	if (names != NULL && fingerprints_param(params, names, err) &&
	    (h = connect_from(params, err)) != NULL)
		out = cr_ca_sign_names(h, names, json_object_get(params,
		    "expected_fingerprints"), err);
	cr_http_free(h);
	json_decref(names);
	return out;
}

const struct cr_task_def cr_task_ca_sign = {
	"ca_sign", "sign pending CSRs on the CA, refusing unexpected fingerprints",
	sign_params, ca_sign_run,
};

static const struct cr_param list_params[] = {
	{ "state", CR_P_STRING, 0, 0, "^(all|requested|signed|revoked)$" },
	{ "expiring_within_days", CR_P_INT, 0, 36500, NULL },
	CONN_PARAMS,
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
ca_list_run(json_t *params, cr_err *err)
{
	const char *state = cr_param_str(params, "state");
	json_t *out = NULL;
	cr_http *h = NULL;

	if (state != NULL && strcmp(state, "all") != 0 &&
	    strcmp(state, "requested") != 0 && strcmp(state, "signed") != 0 &&
	    strcmp(state, "revoked") != 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "parameter 'state' must be all, requested, signed or revoked");
		cr_err_detail_new(err, "parameter", json_string("state"));
		return NULL;
	}
	if ((h = connect_from(params, err)) != NULL)
		out = cr_ca_list_certs(h, state, (long)cr_param_int(params,
		    "expiring_within_days", -1), err);
	cr_http_free(h);
	return out;
}

const struct cr_task_def cr_task_ca_list = {
	"ca_list", "list the CA's certificates and requests, soonest expiry first",
	list_params, ca_list_run,
};
