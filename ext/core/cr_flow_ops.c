/*
 * cr_flow_ops.c - the production side of the flows' seam (cr_flow_ops.h):
 * each member calls the real function.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cr_flow_ops.h"

static void *
real_ca_open(void *ctx, const struct cr_http_opts *ho, cr_err *err)
{
	return cr_http_new(ho, err);
}

static void
real_ca_close(void *ctx, void *conn)
{
	cr_http_free(conn);
}

static char *
real_ca_bundle(void *ctx, void *conn, size_t *len, cr_err *err)
{
	return cr_ca_get_ca_bundle(conn, len, err);
}

static char *
real_ca_cert(void *ctx, void *conn, const char *certname, size_t *len,
    cr_err *err)
{
	return cr_ca_get_cert(conn, certname, len, err);
}

/* GET certificate_request/<certname>: the body as it came (the caller
 * parses it). */
static char *
real_ca_request(void *ctx, void *conn, const char *certname, size_t *len,
    cr_err *err)
{
	struct cr_http_response resp = { 0 };
	char path[512], *out = NULL;

	snprintf(path, sizeof(path), "/puppet-ca/v1/certificate_request/%s",
	    certname);
	if (cr_http_request(conn, "GET", path, NULL, NULL, 0, &resp, err)) {
		out = resp.body;	/* NUL-terminated, ours now */
		*len = resp.len;
		resp.body = NULL;
	}
	cr_http_response_clear(&resp);
	return out;
}

static char *
real_ca_crl(void *ctx, void *conn, size_t *len, cr_err *err)
{
	return cr_ca_get_crl(conn, len, err);
}

static bool
real_ca_submit(void *ctx, void *conn, const char *certname, const char *pem,
    size_t len, cr_err *err)
{
	return cr_ca_put_csr(conn, certname, pem, len, err);
}

static json_t *
real_services_running(void *ctx, json_t *names, bool under_pxp, cr_err *err)
{
	return cr_services_running(names, under_pxp, err);
}

static json_t *
real_services_stop(void *ctx, json_t *names, bool under_pxp, cr_err *err)
{
	return cr_services_stop(names, under_pxp, err);
}

static json_t *
real_services_start(void *ctx, json_t *stopped, json_t *warnings)
{
	return cr_services_start(stopped, warnings);
}

static enum cr_svc_state
real_service_state(void *ctx, const char *name, cr_err *err)
{
	return cr_service_state(name, err);
}

#define STATUS_PATH "/status/v1/simple"

/* The presented certificate is the handshake's of this request: curl
 * keeps the last handshake's only. */
static char *
real_server_status(void *ctx, void *conn, char **peer_pem, char **url,
    cr_err *err)
{
	struct cr_http_response resp = { 0 };
	char *out = NULL;

	*peer_pem = *url = NULL;
	if (cr_http_request(conn, "GET", STATUS_PATH, NULL, NULL, 0, &resp,
	    err)) {
		out = resp.body;	/* NUL-terminated, ours now */
		resp.body = NULL;
		*peer_pem = cr_http_peer_cert(conn);
		*url = cr_http_url(conn, STATUS_PATH);
	}
	cr_http_response_clear(&resp);
	return out;
}

static bool
real_ca_tool(void *ctx, const struct cr_proc_opts *po,
    struct cr_proc_result *res, cr_err *err)
{
	return cr_proc_run(po, res, err);
}

const struct cr_flow_ops cr_flow_ops_real = {
	.ctx = NULL,
	.ca_open = real_ca_open,
	.ca_close = real_ca_close,
	.ca_bundle = real_ca_bundle,
	.ca_cert = real_ca_cert,
	.ca_request = real_ca_request,
	.ca_crl = real_ca_crl,
	.ca_submit = real_ca_submit,
	.services_running = real_services_running,
	.services_stop = real_services_stop,
	.services_start = real_services_start,
	.service_state = real_service_state,
	.server_status = real_server_status,
	.ca_tool = real_ca_tool,
};

const struct cr_flow_ops *
cr_flow_ops_or_real(const struct cr_flow_ops *ops)
{
	return ops != NULL ? ops : &cr_flow_ops_real;
}
