/*
 * cr_flow_ops.h - the seam between the flows (the agent's regenerate and
 * restore, the CA host's cr_server) and what they talk to outside the
 * host's files: the CA and the server (over cr_http), the system's
 * services (cr_service) and the CA tool (`puppetserver ca`, cr_proc).
 *
 * Production code uses cr_flow_ops_real (every member calls the real
 * function of cr_http.h / cr_service.h / cr_proc.h); a face passes nothing
 * and gets it.  The cmocka flow tests (tests/unit/test_flow_regen.c,
 * test_flow_restore.c, test_flow_server.c) pass their own table: a CA that
 * really signs with a test CA, a server that presents the live
 * certificate while its service runs, a CA tool that signs as
 * `puppetserver ca generate` does, and services kept in memory, so a flow
 * can be killed at each of its kill points (cr_killpoint.h) and resumed in
 * milliseconds.
 *
 * Errors follow cr_http.h: a CA error carries details.status (404 for
 * "none", cr_http_err_status()) and, for a 4xx, details.body; a CA that
 * cannot be reached is CR_KIND_CA_UNREACHABLE with status 0.
 */
#ifndef CR_FLOW_OPS_H
#define CR_FLOW_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cr_err.h"
#include "cr_http.h"
#include "cr_proc.h"
#include "cr_service.h"

struct cr_flow_ops {
	void *ctx;		/* passed to every member */
	/* CA: a connection made with cr_http_new()'s options (nothing sent
	 * yet), and its release (NULL is fine) */
	void *(*ca_open)(void *ctx, const struct cr_http_opts *ho, cr_err *err);
	void (*ca_close)(void *ctx, void *conn);
	/* PEM answers (new NUL-terminated strings, *len without the NUL):
	 * the CA bundle, the certificate for certname, the CSR the CA holds
	 * pending for certname, the CRL chain */
	char *(*ca_bundle)(void *ctx, void *conn, size_t *len, cr_err *err);
	char *(*ca_cert)(void *ctx, void *conn, const char *certname,
	    size_t *len, cr_err *err);
	char *(*ca_request)(void *ctx, void *conn, const char *certname,
	    size_t *len, cr_err *err);
	char *(*ca_crl)(void *ctx, void *conn, size_t *len, cr_err *err);
	/* PUT certificate_request (an autosigning CA signs it inline) */
	bool (*ca_submit)(void *ctx, void *conn, const char *certname,
	    const char *pem, size_t len, cr_err *err);
	/* services: as cr_services_running / _stop / _start (cr_service.h) */
	json_t *(*services_running)(void *ctx, json_t *names, bool under_pxp,
	    cr_err *err);
	json_t *(*services_stop)(void *ctx, json_t *names, bool under_pxp,
	    cr_err *err);
	json_t *(*services_start)(void *ctx, json_t *stopped, json_t *warnings);
	/* one service's state, as cr_service_state */
	enum cr_svc_state (*service_state)(void *ctx, const char *name,
	    cr_err *err);
	/* the server (cr_server): GET /status/v1/simple on a connection of
	 * ca_open; the body (new string), the certificate the server
	 * presented in the handshake (*peer_pem: new PEM string, or NULL) and
	 * the URL asked (*url: new string); NULL with err set otherwise
	 * (CR_KIND_CA_UNREACHABLE when nothing answers) */
	char *(*server_status)(void *ctx, void *conn, char **peer_pem,
	    char **url, cr_err *err);
	/* the CA tool (cr_server_build): runs po->argv as cr_proc_run */
	bool (*ca_tool)(void *ctx, const struct cr_proc_opts *po,
	    struct cr_proc_result *res, cr_err *err);
};

/* The real CA (cr_http) and the real services (cr_service). */
extern const struct cr_flow_ops cr_flow_ops_real;

/* ops, or cr_flow_ops_real when ops is NULL. */
const struct cr_flow_ops *cr_flow_ops_or_real(const struct cr_flow_ops *ops);

#endif
