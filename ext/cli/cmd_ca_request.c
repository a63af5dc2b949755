/*
 * cmd_ca_request.c - `cert_regen ca-request`: one call of the CA API through
 * cr_http, for the integration tests and for people debugging a CA
 * (see commands.h).  Paths of the CA endpoints go through the typed helpers
 * (cr_ca_*), so the tests exercise what the tasks use; --raw, or any other
 * path, goes through cr_http_request as it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "cr_task.h"
#include "cr_err.h"
#include "cr_fs.h"
#include "cr_http.h"
#include "cr_json.h"
#include "cr_settings.h"
#include "cr_x509.h"

#define CA "/puppet-ca/v1/"
#define MAX_BODY_FILE ((size_t)1 << 20)
#define MAX_REPEAT 1000

struct args {
	const char *method, *path;
	const char *body_file, *content_type, *confdir;
	const char *port;
	struct cr_http_opts o;
	bool raw, bootstrap, help;
	long repeat;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: cert_regen ca-request METHOD PATH [--body-file F] "
	    "[--content-type T]\n"
	    "           [--cacert F | --bootstrap] [--ca-fingerprint FP] "
	    "[--cert F --key F]\n"
	    "           [--server S] [--port N] [--confdir D] [--proxy URL] "
	    "[--max-body N]\n"
	    "           [--timeout S] [--connect-timeout S] [--raw] "
	    "[--repeat N]\n"
	    "Server, port and CA bundle default to Puppet's ca_server, ca_port "
	    "and localcacert\n(agent section of the confdir's puppet.conf).\n");
}

static bool
parse_long(const char *opt, const char *v, long min, long max, long *out,
    cr_err *err)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "%s wants a number in %ld..%ld, not '%s'", opt, min, max, v);
		return false;
	}
	*out = n;
	return true;
}

/* The option at argv[*i] that takes a value, or NULL (err set). */
static const char *
value(int argc, char **argv, int *i, cr_err *err)
{
	if (*i + 1 >= argc) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "option '%s' needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static bool
parse_args(int argc, char **argv, struct args *a, cr_err *err)
{
	static const char *const names[] = { "--body-file", "--content-type",
	    "--cacert", "--ca-fingerprint", "--cert", "--key", "--server",
	    "--port", "--confdir", "--proxy", "--max-body", "--timeout",
	    "--connect-timeout", "--repeat", NULL };
	const char *v, **pos[4] = { &a->method, &a->path, NULL, NULL };
	int i, npos = 0;
	long n;
	size_t k;

	memset(a, 0, sizeof(*a));
	a->repeat = 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			a->help = true;
		else if (strcmp(argv[i], "--raw") == 0)
			a->raw = true;
		else if (strcmp(argv[i], "--bootstrap") == 0)
			a->bootstrap = true;
		else if (argv[i][0] != '-') {
			if (npos >= 2) {
				cr_err_set(err, CR_KIND_INVALID_PARAMETER,
				    "unexpected argument '%s'", argv[i]);
				return false;
			}
			*pos[npos++] = argv[i];
		} else {
			for (k = 0; names[k] && strcmp(names[k], argv[i]); k++)
				;
			if (names[k] == NULL) {
				cr_err_set(err, CR_KIND_INVALID_PARAMETER,
				    "unknown option '%s'", argv[i]);
				return false;
			}
			if ((v = value(argc, argv, &i, err)) == NULL)
				return false;
			switch (k) {
			case 0: a->body_file = v; break;
			case 1: a->content_type = v; break;
			case 2: a->o.cacert = v; break;
			case 3: a->o.ca_fingerprint = v; break;
			case 4: a->o.client_cert = v; break;
			case 5: a->o.client_key = v; break;
			case 6: a->o.server = v; break;
			case 7: a->port = v; break;
			case 8: a->confdir = v; break;
			case 9: a->o.proxy = v; break;
			case 10:
				if (!parse_long(argv[i - 1], v, 1, 1L << 30, &n, err))
					return false;
				a->o.max_body = (size_t)n;
				break;
			case 11:
				if (!parse_long(argv[i - 1], v, 1, 3600, &a->o.timeout_s, err))
					return false;
				break;
			case 12:
				if (!parse_long(argv[i - 1], v, 1, 3600,
				    &a->o.connect_timeout_s, err))
					return false;
				break;
			default:
				if (!parse_long(argv[i - 1], v, 1, MAX_REPEAT, &a->repeat, err))
					return false;
			}
		}
	}
	if (!a->help && npos != 2) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "ca-request wants METHOD and PATH");
		return false;
	}
	if (a->bootstrap && a->o.cacert != NULL) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "--bootstrap and --cacert exclude each other");
		return false;
	}
	return true;
}

/* Server, port and CA bundle from Puppet's settings where not given.
 * *s keeps the borrowed strings alive. */
static bool
fill_from_settings(struct args *a, cr_settings **s, cr_err *err)
{
	static const char *const names[] = { "ca_server", "ca_port",
	    "localcacert", NULL };
	struct cr_settings_opts so = { .confdir = a->confdir,
	    .section = "agent", .names = names };
	long port = 0;

	if (a->o.server == NULL || a->port == NULL ||
	    (a->o.cacert == NULL && !a->bootstrap)) {
		if ((*s = cr_settings_load(&so, err)) == NULL)
			return false;
		if (a->o.server == NULL)
			a->o.server = cr_settings_get(*s, "ca_server");
		if (a->port == NULL)
			a->port = cr_settings_get(*s, "ca_port");
		if (a->o.cacert == NULL && !a->bootstrap)
			a->o.cacert = cr_settings_get(*s, "localcacert");
	}
	if (a->port != NULL && !parse_long("--port", a->port, 1, 65535, &port, err))
		return false;
	a->o.port = (int)port;
	return true;
}

/* "certname" if path is CA "<endpoint>/<certname>" (no query), else NULL. */
static const char *
name_after(const char *path, const char *endpoint)
{
	size_t n = strlen(CA), m = strlen(endpoint);

	if (strncmp(path, CA, n) != 0 || strncmp(path + n, endpoint, m) != 0 ||
	    path[n + m] != '/' || strpbrk(path + n + m + 1, "/?") != NULL)
		return NULL;
	return path + n + m + 1;
}

/* PUT certificate_status: the body file holds {"desired_state", "cert_ttl"}. */
static bool
status_put(cr_http *h, const char *name, const char *body, size_t len,
    cr_err *err)
{
	json_t *j = json_loadb(body ? body : "", len, 0, NULL);
	json_t *ttl = json_object_get(j, "cert_ttl");
	const char *state = json_string_value(json_object_get(j, "desired_state"));
	bool ok = false;

	if (state == NULL || (ttl != NULL && !json_is_integer(ttl)))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "the body file must "
		    "hold {\"desired_state\": S, \"cert_ttl\": N}");
	else
		ok = cr_ca_status_put(h, name, state, ttl ?
		    json_integer_value(ttl) : 0, err);
	json_decref(j);
	return ok;
}

/* What one call returned: PEM text, a JSON value, or just success. */
struct outcome {
	const char *helper;
	char *pem;		/* owned */
	size_t plen;
	bool crl;
	json_t *json;		/* owned */
	struct cr_http_response raw;
};

static void
outcome_clear(struct outcome *o)
{
	free(o->pem);
	json_decref(o->json);
	cr_http_response_clear(&o->raw);
	memset(o, 0, sizeof(*o));
}

/* certificate_status/NAME by method. */
static bool
call_status(cr_http *h, const char *m, const char *name, const char *body,
    size_t len, struct outcome *o, cr_err *err)
{
	if (strcmp(m, "GET") == 0) {
		o->helper = "cr_ca_status_get";
		return (o->json = cr_ca_status_get(h, name, err)) != NULL;
	}
	if (strcmp(m, "PUT") == 0) {
		o->helper = "cr_ca_status_put";
		return status_put(h, name, body, len, err);
	}
	o->helper = "cr_ca_status_delete";
	return cr_ca_status_delete(h, name, err);
}

/* The request through the typed helper its path belongs to (unless --raw),
 * else through cr_http_request. */
static bool
call(cr_http *h, const struct args *a, const char *body, size_t len,
    struct outcome *o, cr_err *err)
{
	const char *m = a->method, *p = a->path, *name, *q;
	bool get = strcmp(m, "GET") == 0;
	size_t n = strlen(CA "certificate_statuses/any_key");

	o->helper = "cr_http_request";
	if (a->raw) {
		/* below */
	} else if (get && strcmp(p, CA "certificate/ca") == 0) {
		o->helper = "cr_ca_get_ca_bundle";
		return (o->pem = cr_ca_get_ca_bundle(h, &o->plen, err)) != NULL;
	} else if (get && (name = name_after(p, "certificate")) != NULL) {
		o->helper = "cr_ca_get_cert";
		return (o->pem = cr_ca_get_cert(h, name, &o->plen, err)) != NULL;
	} else if (get && strcmp(p, CA "certificate_revocation_list/ca") == 0) {
		o->helper = "cr_ca_get_crl";
		o->crl = true;
		return (o->pem = cr_ca_get_crl(h, &o->plen, err)) != NULL;
	} else if (strcmp(m, "PUT") == 0 &&
	    (name = name_after(p, "certificate_request")) != NULL) {
		o->helper = "cr_ca_put_csr";
		return cr_ca_put_csr(h, name, body, len, err);
	} else if (strcmp(m, "POST") != 0 &&
	    (name = name_after(p, "certificate_status")) != NULL) {
		return call_status(h, m, name, body, len, o, err);
	} else if (get && strncmp(p, CA "certificate_statuses/any_key", n) == 0 &&
	    (p[n] == '\0' || strncmp(p + n, "?state=", 7) == 0)) {
		q = p[n] ? p + n + 7 : NULL;
		o->helper = "cr_ca_statuses";
		return (o->json = cr_ca_statuses(h, q, err)) != NULL;
	}
	if (!cr_http_request(h, m, p, a->content_type, body, len, &o->raw, err))
		return false;
	o->json = cr_json_strn(o->raw.body, o->raw.len);
	return true;
}

/* {"helper", "status", "content_type"?, "certs"|"crls"?, "body"}. */
static json_t *
result_new(cr_http *h, struct outcome *o, cr_err *err)
{
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	json_t *out;
	cr_err perr;

	cr_err_init(&perr);
	if ((out = json_pack("{s:s, s:I}", "helper", o->helper, "status",
	    (json_int_t)cr_http_last_status(h))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (o->raw.content_type != NULL)
		cr_json_set(out, "content_type", cr_json_str(o->raw.content_type));
	if (o->pem != NULL && o->crl) {
		crls = cr_crls_parse(o->pem, o->plen, "body", &perr);
		cr_json_set(out, "crls", json_integer(sk_X509_CRL_num(crls)));
	} else if (o->pem != NULL) {
		certs = cr_certs_parse(o->pem, o->plen, "body", &perr);
		cr_json_set(out, "certs", json_integer(sk_X509_num(certs)));
	}
	cr_json_set(out, "body", o->pem ? cr_json_strn(o->pem, o->plen) :
	    json_incref(o->json));
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	cr_err_clear(&perr);
	return out;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
cr_cmd_ca_request(int argc, char **argv)
{
	struct outcome o = { 0 };
	struct args a;
	cr_settings *s = NULL;
	cr_http *h = NULL;
	json_t *result = NULL, *times = NULL;
	char *body = NULL;
	size_t len = 0;
	double t0;
	long i;
	cr_err err;
	int rc = 1;

	cr_err_init(&err);
	if (!parse_args(argc, argv, &a, &err) || a.help) {
		rc = cr_cmd_stop_at_args(&err, usage);
		goto out;
	}
	if (!fill_from_settings(&a, &s, &err))
		goto out;
	if (a.body_file != NULL &&
	    !cr_file_read(a.body_file, MAX_BODY_FILE, &body, &len, &err))
		goto out;
	if ((h = cr_http_new(&a.o, &err)) == NULL ||
	    (a.repeat > 1 && (times = json_array()) == NULL))
		goto out;
	for (i = 0; i < a.repeat; i++) {
		outcome_clear(&o);
		t0 = now_ms();
		if (!call(h, &a, body, len, &o, &err))
			goto out;
		if (times != NULL)
			json_array_append_new(times, json_real(now_ms() - t0));
	}
	if ((result = result_new(h, &o, &err)) == NULL)
		goto out;
	if (times != NULL) {
		cr_json_set(result, "times_ms", times);
		times = NULL;
	}
	if (!cr_cmd_print(result, cr_task_print_result, &err))
		goto out;
	rc = 0;
out:
	if (rc != 0 && err.set)
		cr_task_print_error(&err);
	outcome_clear(&o);
	json_decref(result);
	json_decref(times);
	cr_http_free(h);
	cr_settings_free(s);
	free(body);
	cr_err_clear(&err);
	return rc;
}
