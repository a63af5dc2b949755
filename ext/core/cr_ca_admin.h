/*
 * cr_ca_admin.h - CA-side operations over the CA HTTP API, by name, with
 * per-name outcomes: clean (revoke + delete), sign (with fingerprint
 * checks), list.  Used by the ca_clean, ca_sign and ca_list tasks on the
 * CA host, authenticated with the CA host's own certificate (it carries
 * pp_cli_auth) or an admin certificate.
 */
#ifndef CR_CA_ADMIN_H
#define CR_CA_ADMIN_H

#include <time.h>

#include <jansson.h>

#include "cr_err.h"
#include "cr_http.h"

/* At most this many names per ca_clean / ca_sign call (tasks/ca_clean.json, ca_sign.json). */
#define CR_CA_MAX_NAMES 1000

struct cr_ca_conn {
	const char *confdir;	/* the CA host's confdir; NULL: default */
	const char *ca_server;	/* NULL: ca_server setting */
	int ca_port;		/* 0: ca_port setting */
	const char *cert, *key, *cacert;	/* NULL: hostcert, hostprivkey, localcacert */
};

/* A handle to the CA with a client certificate. */
cr_http *cr_ca_admin_connect(const struct cr_ca_conn *c, cr_err *err);

/*
 * Each returns {"results": [{"certname", "outcome", ...}], "summary":
 * {outcome: count}}.  A name that fails gets outcome "failed" with
 * "error": {kind, msg, next_step}; then the function returns NULL with err
 * = CR_KIND_CA_PARTIAL and details.results.  A failure that would hit
 * every name (unreachable, TLS, unauthorized) stops at once with its own
 * kind.
 */
json_t *cr_ca_clean_names(cr_http *h, json_t *certnames, cr_err *err);
json_t *cr_ca_sign_names(cr_http *h, json_t *certnames, json_t *expected,
    cr_err *err);
/* {"certificates": [...]}: state NULL/"all", "requested", "signed",
 * "revoked"; within_days < 0: no expiry filter.  Sorted: pending requests
 * first, then by expiry, soonest first. */
json_t *cr_ca_list_certs(cr_http *h, const char *state, long within_days,
    cr_err *err);
/* The listing part of cr_ca_list_certs on the CA's certificate_statuses
 * array (any JSON: it is the CA's answer), at time now. */
json_t *cr_ca_list_rows(json_t *statuses, long within_days, time_t now,
    cr_err *err);

#endif
