/*
 * cr_http.c - the CA API client (see cr_http.h): transport over libcurl,
 * error mapping, fingerprint pinning, then the thin typed CA helpers.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cr_fs_read.h"
#include "cr_http.h"
#include "cr_http_parse.h"
#include "cr_json.h"
#include "cr_task.h"
#include "cr_x509.h"

#define CA_PREFIX "/puppet-ca/v1"
#define CA_BUNDLE_PATH CA_PREFIX "/certificate/ca"
#define MAX_PATH_LEN 4096
#define MAX_HOST_LEN 253
#define MAX_CSR_LEN ((size_t)64 << 10)
#define USER_AGENT "cert_regen"

struct cr_http {
	CURL *curl;
	char *base;		/* "https://host:port" */
	char *cacert, *client_cert, *client_key, *proxy;	/* owned copies */
	bool bootstrap;		/* no cacert: only the pinned CA bundle GET */
	bool pinned;
	unsigned char pin[CR_HTTP_PIN_LEN];
	long timeout_s, connect_timeout_s;
	size_t max_body;
	long last_status;
	/* per request */
	struct cr_http_body sink;
	char errbuf[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------ errors -- */

/*
 * Sets err (unless already set) with kind and message, and the details
 * every error of this module carries: url, method, status.
 */
static void __attribute__((format(printf, 7, 8)))
fail(const cr_http *h, cr_err *err, const char *kind, const char *method,
    const char *path, long status, const char *fmt, ...)
{
	char msg[CR_ERR_MSG_MAX];
	char *url;
	va_list ap;

	if (err == NULL || err->set)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	url = cr_http_url(h, path);
	cr_err_set(err, kind, "%s%s%s: %s", method, method[0] ? " " : "",
	    url ? url : path, msg);
	cr_err_detail_new(err, "url", cr_json_str(url ? url : path));
	if (method[0] != '\0')
		cr_err_detail_new(err, "method", cr_json_str(method));
	cr_err_detail_new(err, "status", json_integer(status));
	free(url);
}

/* "AB:CD:..." of n bytes into out (3 * n bytes). */
static void
hex_colon(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		sprintf(out + 3 * i, "%02X%s", b[i], i + 1 < n ? ":" : "");
}

/* A bundle that does not match the pin: both sides in the message and in
 * details (pinned; the bundle's text and each certificate's SHA-256). */
static void
fail_pin(const cr_http *h, cr_err *err, const char *method, const char *path,
    long status, const char *pem, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char pinned[3 * CR_HTTP_PIN_LEN], text[3 * EVP_MAX_MD_SIZE];
	char *first = NULL;
	STACK_OF(X509) *certs = NULL;
	json_t *fps = json_array();
	cr_err e;
	int i;

	cr_err_init(&e);
	hex_colon(h->pin, CR_HTTP_PIN_LEN, pinned);
	text[0] = '\0';
	if (EVP_Digest(pem, len, md, &mdlen, EVP_sha256(), NULL) == 1)
		hex_colon(md, mdlen, text);
	if ((certs = cr_certs_parse(pem, len, "the CA bundle", &e)) != NULL)
		for (i = 0; i < sk_X509_num(certs); i++) {
			char *fp = cr_fingerprint_x509(sk_X509_value(certs, i),
			    EVP_sha256());
			if (fp != NULL && first == NULL)
				first = strdup(fp);
			json_array_append_new(fps, cr_json_str(fp));
			free(fp);
		}
	fail(h, err, CR_KIND_CA_PIN_MISMATCH, method, path, status,
	    "the CA bundle does not match the pinned ca_fingerprint %s: its "
	    "CA certificate's SHA-256 fingerprint is %s (the bundle text's "
	    "is %s)", pinned, first ? first : "?", text);
	cr_err_detail_new(err, "pinned_fingerprint", cr_json_str(pinned));
	cr_err_detail_new(err, "bundle_fingerprints", fps);
	cr_err_detail_new(err, "bundle_text_fingerprint", cr_json_str(text));
	sk_X509_pop_free(certs, X509_free);
	cr_err_clear(&e);
	ERR_clear_error();
	free(first);
}

long
cr_http_err_status(const cr_err *err)
{
	json_t *s;

	if (err == NULL || err->details == NULL)
		return 0;
	s = json_object_get(err->details, "status");
	return json_is_integer(s) ? (long)json_integer_value(s) : 0;
}

/* An HTTP status that is not 2xx. */
static void
fail_status(const cr_http *h, cr_err *err, const char *method,
    const char *path, const struct cr_http_response *r)
{
	char snippet[CR_HTTP_ERROR_BODY_MAX + 1];
	const char *kind = cr_http_status_kind(r->status);
	bool denied = kind != NULL &&
	    strcmp(kind, CR_KIND_CA_UNAUTHORIZED) == 0;

	cr_http_body_snippet(r->body ? r->body : "", r->len, snippet,
	    sizeof(snippet));
	fail(h, err, kind ? kind : CR_KIND_CA_ERROR, method, path,
	    r->status, "HTTP %ld%s%.200s%s", r->status,
	    snippet[0] ? ": " : "", snippet,
	    denied ? " (the CA's auth.conf refused this client; "
	    "certificate_status needs a client certificate with pp_cli_auth "
	    "or one allowed by name)" : "");
	cr_err_detail_new(err, "body", cr_json_str(snippet));
}

static const char *
curl_kind(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return CR_KIND_CA_TLS;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return CR_KIND_CA_PROTOCOL;
	case CURLE_OUT_OF_MEMORY:
		return CR_KIND_NOMEM;
	case CURLE_URL_MALFORMAT:
		return CR_KIND_INVALID_PARAMETER;
	default:
		/* refused, resolve, time-out, reset, closed mid-response */
		return CR_KIND_CA_UNREACHABLE;
	}
}

/* curl_easy_perform failed: say why, with curl's words and the whole
 * OpenSSL error queue (drained). */
static void
fail_transport(cr_http *h, cr_err *err, const char *method, const char *path,
    CURLcode rc, long status)
{
	char queue[1024];
	const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);

	cr_openssl_errors(queue, sizeof(queue));
	if (h->sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
		fail(h, err, CR_KIND_CA_PROTOCOL, method, path, status,
		    "the response body is larger than the limit of %zu bytes",
		    h->max_body);
	else if (h->sink.nomem)
		fail(h, err, CR_KIND_NOMEM, method, path, status,
		    "out of memory storing the response body");
	else
		fail(h, err, curl_kind(rc), method, path, status, "%s", why);
	cr_err_detail_new(err, "curl_code", json_integer(rc));
	cr_err_detail_new(err, "curl_error", cr_json_str(why));
	if (queue[0] != '\0')
		cr_err_detail_new(err, "openssl_errors", cr_json_str(queue));
}

/* -------------------------------------------------------- validation -- */

static bool
host_valid(const char *s)
{
	size_t i, len = s ? strlen(s) : 0;
	bool v6 = s && strchr(s, ':') != NULL;

	if (len == 0 || len > MAX_HOST_LEN || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (v6 ? !(isxdigit(c) || c == ':' || c == '.') :
		    !(isalnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* An already-escaped absolute path (+ query): RFC 3986 pchar, '/', '?'
 * and %XX only; no fragment, no space, nothing outside ASCII. */
static bool
path_valid(const char *p)
{
	static const char ok[] = "-._~!$&'()*+,;=:@/?";
	size_t i, len = p ? strlen(p) : 0;

	if (len == 0 || len > MAX_PATH_LEN || p[0] != '/')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			if (!isxdigit((unsigned char)p[i + 1]) ||
			    !isxdigit((unsigned char)p[i + 2]))
				return false;
			i += 2;
		} else if (!(c < 0x80 && (isalnum(c) || strchr(ok, c))))
			return false;
	}
	return true;
}

/* Client cert and key: readable, parseable, and one pair. */
static bool
client_pair_ok(const char *cert, const char *key, cr_err *err)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *pkey = NULL;
	bool ok = false;

	if ((cert == NULL) != (key == NULL)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "a client certificate needs its key and a key its "
		    "certificate");
		goto out;
	}
	if (cert == NULL) {
		ok = true;
		goto out;
	}
	if ((certs = cr_certs_read(cert, err)) == NULL ||
	    (pkey = cr_key_read(key, err)) == NULL)
		goto out;
	if (!cr_key_matches(sk_X509_value(certs, 0), pkey)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "the client key %s does not belong to the certificate %s",
		    key, cert);
		goto out;
	}
	ok = true;
out:
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(pkey);
	return ok;
}

static bool
opts_ok(const struct cr_http_opts *o, cr_err *err)
{
	unsigned char pin[CR_HTTP_PIN_LEN];
	bool ok = false;

	if (!host_valid(o->server))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "'%s' is not a host name or IP address",
		    o->server ? o->server : "");
	else if (o->port < 0 || o->port > 65535)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "port %d is out of range", o->port);
	else if (o->timeout_s < 0 || o->connect_timeout_s < 0)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "time-outs cannot be negative");
	else if (o->ca_fingerprint &&
	    !cr_http_pin_parse(o->ca_fingerprint, pin))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "ca_fingerprint '%.120s' is not a SHA-256 fingerprint "
		    "(64 hex digits, colons optional)", o->ca_fingerprint);
	else if (o->cacert == NULL && o->ca_fingerprint == NULL &&
	    !o->content_checked)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "without a CA bundle (cacert) the server cannot be "
		    "verified: give ca_fingerprint to pin the bundle");
	else if (o->proxy && (o->proxy[0] == '\0' ||
	    strpbrk(o->proxy, " \t\r\n") != NULL))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "the proxy must be a URL such as http://proxy:3128");
	else if (client_pair_ok(o->client_cert, o->client_key, err))
		ok = true;
	return ok;
}

/* The CA bundle parses and, when pinned, matches the pin: every chain
 * verified against it then ends at the pinned CA. */
static bool
cacert_ok(const cr_http *h, cr_err *err)
{
	STACK_OF(X509) *certs = NULL;
	char *pem = NULL;
	size_t len = 0;
	bool ok = false;

	if (!cr_file_read(h->cacert, CR_MAX_PEM_FILE, &pem, &len, err) ||
	    (certs = cr_certs_parse(pem, len, h->cacert, err)) == NULL)
		goto out;
	if (h->pinned && !cr_http_bundle_pin_ok(h->pin, pem, len, certs)) {
		fail_pin(h, err, "", h->cacert, 0, pem, len);
		goto out;
	}
	ok = true;
out:
	sk_X509_pop_free(certs, X509_free);
	free(pem);
	return ok;
}

/* ------------------------------------------------------------ handle -- */

static bool
global_init(cr_err *err)
{
	static bool done;
	CURLcode rc;

	if (done)
		return true;
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		cr_err_set(err, CR_KIND_INTERNAL, "curl_global_init: %s",
		    curl_easy_strerror(rc));
		return false;
	}
	done = true;
	return true;
}

static char *
dup_or_null(const char *s, bool *nomem)
{
	char *d = NULL;

	if (s != NULL && (d = strdup(s)) == NULL)
		*nomem = true;
	return d;
}

cr_http *
cr_http_new(const struct cr_http_opts *o, cr_err *err)
{
	cr_http *h = NULL, *out = NULL;
	bool nomem = false;
	int port = o->port ? o->port : CR_HTTP_DEFAULT_PORT;
	size_t n;

	if (!opts_ok(o, err) || !global_init(err))
		goto out;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	h->cacert = dup_or_null(o->cacert, &nomem);
	h->client_cert = dup_or_null(o->client_cert, &nomem);
	h->client_key = dup_or_null(o->client_key, &nomem);
	h->proxy = dup_or_null(o->proxy, &nomem);
	n = strlen(o->server) + 32;
	if (nomem || (h->base = malloc(n)) == NULL ||
	    (h->curl = curl_easy_init()) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	snprintf(h->base, n, strchr(o->server, ':') ? "https://[%s]:%d" :
	    "https://%s:%d", o->server, port);
	h->bootstrap = o->cacert == NULL;
	h->pinned = o->ca_fingerprint != NULL &&
	    cr_http_pin_parse(o->ca_fingerprint, h->pin);
	h->timeout_s = o->timeout_s ? o->timeout_s : CR_HTTP_DEFAULT_TIMEOUT;
	h->connect_timeout_s = o->connect_timeout_s ? o->connect_timeout_s :
	    CR_HTTP_DEFAULT_CONNECT_TIMEOUT;
	h->max_body = o->max_body ? o->max_body : CR_HTTP_DEFAULT_MAX_BODY;
	if (!h->bootstrap && !cacert_ok(h, err))
		goto out;
	out = h;
	h = NULL;
out:
	cr_http_free(h);
	return out;
}

void
cr_http_free(cr_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->base);
	free(h->cacert);
	free(h->client_cert);
	free(h->client_key);
	free(h->proxy);
	free(h->sink.buf);
	free(h);
}

char *
cr_http_url(const cr_http *h, const char *path)
{
	size_t n = strlen(h->base) + strlen(path) + 1;
	char *url = malloc(n);

	if (url != NULL)
		snprintf(url, n, "%s%s", h->base, path);
	return url;
}

char *
cr_http_peer_cert(cr_http *h)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *l;
	char *out = NULL;

	if (curl_easy_getinfo(h->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return NULL;
	for (l = ci->certinfo[0]; l != NULL && out == NULL; l = l->next)
		if (strncmp(l->data, "Cert:", 5) == 0)
			out = strdup(l->data + 5);
	return out;
}

long
cr_http_last_status(const cr_http *h)
{
	return h->last_status;
}

void
cr_http_response_clear(struct cr_http_response *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
}

/* --------------------------------------------------------- transport -- */

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
	cr_http *h = arg;
	size_t add = size * nmemb;

	if (nmemb != 0 && add / nmemb != size) {
		h->sink.too_large = true;
		return 0;
	}
	return cr_http_body_append(&h->sink, p, add, h->max_body) ? add : 0;
}

/* https only, for the request and any redirect (which is not followed). */
static CURLcode
https_only(CURL *c)
{
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: string form, old one deprecated */
	CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	return rc ? rc : curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
	    "https");
#else
	CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTPS);
	return rc ? rc : curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
	    CURLPROTO_HTTPS);
#endif
}

#define SET(opt, val) do {						\
	if ((rc = curl_easy_setopt(c, (opt), (val))) != CURLE_OK)	\
		goto out;						\
} while (0)

/* Every option of a request but the method; the handle was reset. */
static CURLcode
setup_common(cr_http *h, const char *url, struct curl_slist *hdrs)
{
	CURL *c = h->curl;
	CURLcode rc;

	if ((rc = https_only(c)) != CURLE_OK)
		goto out;
	SET(CURLOPT_URL, url);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* NOSIGNAL stays off: libcurl then ignores SIGPIPE during the
	 * request (a CA closing early must not kill a task); the threaded
	 * resolver needs no SIGALRM for its time-out. */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_USERAGENT, USER_AGENT);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_TIMEOUT, h->timeout_s);
	SET(CURLOPT_CONNECTTIMEOUT, h->connect_timeout_s);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(h->max_body >
	    (size_t)INT64_MAX ? INT64_MAX : (int64_t)h->max_body));
	SET(CURLOPT_WRITEFUNCTION, sink_write);
	SET(CURLOPT_WRITEDATA, h);
	/* "" disables the proxy even when http_proxy etc. are set */
	SET(CURLOPT_PROXY, h->proxy ? h->proxy : "");
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, h->bootstrap ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, h->bootstrap ? 0L : 2L);
	SET(CURLOPT_CERTINFO, 1L);	/* cr_http_peer_cert() */
	SET(CURLOPT_CAINFO, h->cacert);
	SET(CURLOPT_CAPATH, (char *)NULL);	/* not /etc/ssl/certs */
	if (h->client_cert != NULL) {
		SET(CURLOPT_SSLCERTTYPE, "PEM");
		SET(CURLOPT_SSLCERT, h->client_cert);
		SET(CURLOPT_SSLKEYTYPE, "PEM");
		SET(CURLOPT_SSLKEY, h->client_key);
	}
out:
	return rc;
}

static CURLcode
setup_method(cr_http *h, const char *method, const void *body, size_t len)
{
	CURL *c = h->curl;
	CURLcode rc;

	if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "DELETE") == 0) {
		SET(CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		SET(CURLOPT_POSTFIELDS, body ? body : "");
		if (strcmp(method, "PUT") == 0)
			SET(CURLOPT_CUSTOMREQUEST, "PUT");
	}
out:
	return rc;
}

#undef SET

static struct curl_slist *
headers_new(const char *content_type)
{
	struct curl_slist *l = NULL, *n;
	char ct[256];

	/* no "Expect: 100-continue" round trip before a body */
	if ((l = curl_slist_append(NULL, "Expect:")) == NULL)
		return NULL;
	if (content_type != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		if ((n = curl_slist_append(l, ct)) == NULL) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

static bool
request_args_ok(const char *method, const char *path,
    const char *content_type, const void *body, size_t len, cr_err *err)
{
	static const char *const methods[] = { "GET", "PUT", "POST", "DELETE" };
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (method != NULL && strcmp(method, methods[i]) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0]))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "HTTP method '%s' is not one of GET, PUT, POST, DELETE",
		    method ? method : "");
	else if (!path_valid(path))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "'%.200s' is not an escaped absolute path",
		    path ? path : "");
	else if (body == NULL && len > 0)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "a body length without a body");
	else if (content_type && (strlen(content_type) > 200 ||
	    strpbrk(content_type, "\r\n") != NULL))
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "a content type must be one short line");
	else
		return true;
	return false;
}

/* cr_http_request without the bootstrap restriction. */
static bool
perform(cr_http *h, const char *method, const char *path,
    const char *content_type, const void *body, size_t len,
    struct cr_http_response *out, cr_err *err)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *ct = NULL;
	CURLcode rc;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	h->last_status = 0;
	h->errbuf[0] = '\0';
	free(h->sink.buf);
	memset(&h->sink, 0, sizeof(h->sink));
	if (!request_args_ok(method, path, content_type, body, len, err))
		goto out;
	curl_easy_reset(h->curl);	/* keeps the open connection */
	if ((url = cr_http_url(h, path)) == NULL ||
	    (hdrs = headers_new(content_type)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = setup_common(h, url, hdrs)) != CURLE_OK ||
	    (rc = setup_method(h, method, body, len)) != CURLE_OK) {
		fail(h, err, CR_KIND_INTERNAL, method, path, 0,
		    "libcurl refused an option: %s", curl_easy_strerror(rc));
		goto out;
	}
	rc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &out->status);
	h->last_status = out->status;
	if (rc != CURLE_OK) {
		fail_transport(h, err, method, path, rc, out->status);
		goto out;
	}
	ERR_clear_error();
	if (curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct) ==
	    CURLE_OK && ct != NULL && (out->content_type = strdup(ct)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (h->sink.buf == NULL && (h->sink.buf = strdup("")) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	out->body = h->sink.buf;
	out->len = h->sink.len;
	memset(&h->sink, 0, sizeof(h->sink));
	if (cr_http_status_kind(out->status) != NULL) {
		fail_status(h, err, method, path, out);
		goto out;
	}
	ok = true;
out:
	curl_slist_free_all(hdrs);
	free(url);
	return ok;
}

/* A handle without a CA bundle may only fetch the pinned bundle. */
static bool
bootstrap_refused(const cr_http *h, cr_err *err)
{
	if (h->bootstrap)
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "a client without a CA bundle (cacert) can only fetch the "
		    "pinned CA bundle");
	return h->bootstrap;
}

bool
cr_http_request(cr_http *h, const char *method, const char *path,
    const char *content_type, const void *body, size_t len,
    struct cr_http_response *out, cr_err *err)
{
	if (bootstrap_refused(h, err)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	return perform(h, method, path, content_type, body, len, out, err);
}

/* ------------------------------------------------------- CA helpers -- */

/* New CA_PREFIX "/<endpoint>/<escaped certname>". */
static char *
ca_path(cr_http *h, const char *endpoint, const char *certname, cr_err *err)
{
	char *esc = NULL, *out = NULL;
	size_t n;

	if (!cr_certname_valid(certname)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "'%.255s' is not a valid certname (a-z, 0-9, '.', '-', "
		    "'_'; not starting with '.' or '-'; no '..')",
		    certname ? certname : "");
		goto out;
	}
	if ((esc = curl_easy_escape(h->curl, certname, 0)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	n = strlen(CA_PREFIX) + strlen(endpoint) + strlen(esc) + 3;
	if ((out = malloc(n)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	snprintf(out, n, "%s/%s/%s", CA_PREFIX, endpoint, esc);
out:
	curl_free(esc);
	return out;
}

/* GET a PEM body that must hold certificates (or CRLs). */
static char *
get_pem(cr_http *h, const char *path, bool crl, const char *what,
    size_t *len, cr_err *err)
{
	struct cr_http_response r = { 0 };
	char *out = NULL;
	cr_err perr;

	cr_err_init(&perr);
	if (!perform(h, "GET", path, NULL, NULL, 0, &r, err))
		goto out;
	switch (cr_http_pem_answer(r.body, r.len, crl, what,
	    h->bootstrap && h->pinned ? h->pin : NULL, &perr)) {
	case CR_HTTP_ANSWER_OK:
		break;
	case CR_HTTP_ANSWER_PIN_MISMATCH:
		fail_pin(h, err, "GET", path, r.status, r.body, r.len);
		goto out;
	default:
		fail(h, err, CR_KIND_CA_PROTOCOL, "GET", path, r.status,
		    "%s", perr.msg);
		goto out;
	}
	out = r.body;
	*len = r.len;
	r.body = NULL;
out:
	cr_err_clear(&perr);
	cr_http_response_clear(&r);
	return out;
}

char *
cr_ca_get_ca_bundle(cr_http *h, size_t *len, cr_err *err)
{
	return get_pem(h, CA_BUNDLE_PATH, false, "the CA bundle", len, err);
}

char *
cr_ca_get_cert(cr_http *h, const char *certname, size_t *len, cr_err *err)
{
	char *path = NULL, *out = NULL;

	if (!bootstrap_refused(h, err) &&
	    (path = ca_path(h, "certificate", certname, err)) != NULL)
		out = get_pem(h, path, false, "the certificate", len, err);
	free(path);
	return out;
}

char *
cr_ca_get_crl(cr_http *h, size_t *len, cr_err *err)
{
	if (bootstrap_refused(h, err))
		return NULL;
	return get_pem(h, CA_PREFIX "/certificate_revocation_list/ca", true,
	    "the CRL", len, err);
}

bool
cr_ca_put_csr(cr_http *h, const char *certname, const char *pem, size_t len,
    cr_err *err)
{
	struct cr_http_response r = { 0 };
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	char *path = NULL, q[512];
	bool ok = false;

	if ((path = ca_path(h, "certificate_request", certname, err)) == NULL)
		goto out;
	if (pem == NULL || len == 0 || len > MAX_CSR_LEN ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "the CSR for %s is not one PEM certificate request (%s)",
		    certname, cr_openssl_errors(q, sizeof(q)));
		goto out;
	}
	ok = cr_http_request(h, "PUT", path, "text/plain", pem, len, &r, err);
out:
	X509_REQ_free(req);
	BIO_free(bio);
	cr_http_response_clear(&r);
	free(path);
	return ok;
}

/* A JSON body of the expected type (object or array). */
static json_t *
request_json(cr_http *h, const char *path, bool array, cr_err *err)
{
	struct cr_http_response r = { 0 };
	json_t *out = NULL;
	cr_err why;

	cr_err_init(&why);
	if (!cr_http_request(h, "GET", path, NULL, NULL, 0, &r, err))
		goto out;
	if ((out = cr_http_json_answer(r.body, r.len, array, &why)) == NULL)
		fail(h, err, CR_KIND_CA_PROTOCOL, "GET", path, r.status,
		    "%s", why.msg);
out:
	cr_err_clear(&why);
	cr_http_response_clear(&r);
	return out;
}

json_t *
cr_ca_status_get(cr_http *h, const char *certname, cr_err *err)
{
	char *path = ca_path(h, "certificate_status", certname, err);
	json_t *out = path ? request_json(h, path, false, err) : NULL;

	free(path);
	return out;
}

bool
cr_ca_status_put(cr_http *h, const char *certname, const char *desired_state,
    long long cert_ttl, cr_err *err)
{
	struct cr_http_response r = { 0 };
	char *path = NULL, *body = NULL;
	json_t *j = NULL;
	bool ok = false;

	if (desired_state == NULL || (strcmp(desired_state, "signed") != 0 &&
	    strcmp(desired_state, "revoked") != 0) || cert_ttl < 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "desired_state must be signed or revoked and cert_ttl "
		    "not negative");
		goto out;
	}
	if ((path = ca_path(h, "certificate_status", certname, err)) == NULL)
		goto out;
	if ((j = json_pack("{s:s}", "desired_state", desired_state)) == NULL ||
	    (cert_ttl > 0 && json_object_set_new(j, "cert_ttl",
	    json_integer(cert_ttl)) != 0) ||
	    (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = cr_http_request(h, "PUT", path, "application/json", body,
	    strlen(body), &r, err);
out:
	cr_http_response_clear(&r);
	json_decref(j);
	free(body);
	free(path);
	return ok;
}

bool
cr_ca_status_delete(cr_http *h, const char *certname, cr_err *err)
{
	struct cr_http_response r = { 0 };
	char *path = ca_path(h, "certificate_status", certname, err);
	bool ok = path && cr_http_request(h, "DELETE", path, NULL, NULL, 0,
	    &r, err);

	cr_http_response_clear(&r);
	free(path);
	return ok;
}

json_t *
cr_ca_statuses(cr_http *h, const char *state, cr_err *err)
{
	char path[128];

	if (state != NULL && strcmp(state, "requested") != 0 &&
	    strcmp(state, "signed") != 0 && strcmp(state, "revoked") != 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "state must be requested, signed or revoked, not '%.40s'",
		    state);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/certificate_statuses/any_key%s%s",
	    CA_PREFIX, state ? "?state=" : "", state ? state : "");
	return request_json(h, path, true, err);
}
