/*
 * test_http.c - the CA API client (cr_http) without puppetserver.
 *
 * Option checks, URL building, certname and path rejection and the closed
 * port need no server.  The rest talks to a tiny HTTPS server forked per
 * test (OpenSSL on a 127.0.0.1 socket, certificates from pki.c): one canned
 * reply per connection, and the last request it received written to a
 * file, so the tests see what the client really sent.  Real puppetserver
 * behaviour is covered by tests/integration/test_http_ca.sh.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "cr_err.h"
#include "cr_http.h"
#include "cr_x509.h"
#include "pki.h"

#define T0 ((time_t)1767225600)	/* 2026-01-01: keys and certs */
#define CA "/puppet-ca/v1"

static struct fixture {
	char *tmp;
	pki_world *w;
	pki_ca *other;		/* a CA the client does not trust */
	X509 *server_cert;	/* "localhost", DNS SAN localhost only */
	EVP_PKEY *server_key;
	char *cacert;		/* intermediate + root */
	char *other_ca;		/* the other CA alone */
	char *mixed_ca;		/* intermediate + root + other (bootstrap) */
	char *client_cert, *client_key, *wrong_key, *garbage;
	char *reqfile;		/* the forked server's last request */
	char pin_root[96], pin_inter[96], pin_bundle[65], pin_other[96];
	int closed_port;	/* a port nobody listens on */
} F;

/* ------------------------------------------------------------ setup -- */

static char *
tmp_path(const char *name)
{
	char *p = pki_path(F.tmp, name);

	assert_non_null(p);
	return p;
}

static void
fp_copy(char *dst, size_t n, X509 *x)
{
	char *fp = cr_fingerprint_x509(x, EVP_sha256());

	assert_non_null(fp);
	snprintf(dst, n, "%s", fp);
	free(fp);
}

static int
closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);	/* bound, never listened: refused */
	return port;
}

static int
group_setup(void **state)
{
	static const char *const dns[] = { "localhost", NULL };
	X509 *chain[3], *client = NULL;
	EVP_PKEY *ckey = pki_rsa_cached(1), *wkey = pki_rsa_cached(2);
	struct pki_leaf_opts o;
	unsigned char d[32];
	unsigned int n = 0;
	char *pem = NULL;
	size_t len = 0;
	bool ok;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	F.tmp = pki_tmpdir_new();
	F.w = pki_world_new(T0);
	F.server_key = pki_rsa_cached(0);
	if (F.tmp == NULL || F.w == NULL || F.server_key == NULL ||
	    ckey == NULL || wkey == NULL)
		return -1;
	F.other = pki_ca_new("Some Other CA", wkey, NULL, T0, -PKI_YEAR,
	    10 * PKI_YEAR);
	pki_leaf_opts_init(&o, "localhost", F.server_key, T0);
	o.not_after = 20 * PKI_YEAR;	/* valid whenever the test runs */
	o.dns = dns;
	F.server_cert = pki_leaf_new(&o, F.w->inter);
	pki_leaf_opts_init(&o, "client.test", ckey, T0);
	o.not_after = 20 * PKI_YEAR;
	client = pki_leaf_new(&o, F.w->inter);
	if (F.other == NULL || F.server_cert == NULL || client == NULL)
		return -1;
	F.cacert = tmp_path("ca.pem");
	F.other_ca = tmp_path("other.pem");
	F.mixed_ca = tmp_path("mixed.pem");
	F.client_cert = tmp_path("client.pem");
	F.client_key = tmp_path("client.key");
	F.wrong_key = tmp_path("wrong.key");
	F.garbage = tmp_path("garbage.pem");
	F.reqfile = tmp_path("request.txt");
	chain[0] = F.w->inter->cert;
	chain[1] = F.w->root->cert;
	chain[2] = F.other->cert;
	ok = pki_write_certs(F.cacert, chain, 2) &&
	    pki_write_certs(F.other_ca, chain + 2, 1) &&
	    pki_write_certs(F.mixed_ca, chain, 3) &&
	    pki_write_certs(F.client_cert, &client, 1) &&
	    pki_write_key(F.client_key, ckey, 0600) &&
	    pki_write_key(F.wrong_key, wkey, 0600) &&
	    pki_write_file(F.garbage, "not a certificate\n", 18, 0644) &&
	    (pem = pki_certs_pem(chain, 2, &len)) != NULL &&
	    EVP_Digest(pem, len, d, &n, EVP_sha256(), NULL) == 1;
	for (unsigned int i = 0; ok && i < n; i++)
		snprintf(F.pin_bundle + 2 * i, 3, "%02x", d[i]);
	fp_copy(F.pin_root, sizeof(F.pin_root), F.w->root->cert);
	fp_copy(F.pin_inter, sizeof(F.pin_inter), F.w->inter->cert);
	fp_copy(F.pin_other, sizeof(F.pin_other), F.other->cert);
	F.closed_port = closed_port();
	free(pem);
	X509_free(client);
	EVP_PKEY_free(ckey);
	EVP_PKEY_free(wkey);
	ERR_clear_error();
	return ok && F.closed_port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	pki_world_free(F.w);
	pki_ca_free(F.other);
	X509_free(F.server_cert);
	EVP_PKEY_free(F.server_key);
	if (F.tmp != NULL)
		pki_rmtree(F.tmp);
	free(F.tmp);
	free(F.cacert);
	free(F.other_ca);
	free(F.mixed_ca);
	free(F.client_cert);
	free(F.client_key);
	free(F.wrong_key);
	free(F.garbage);
	free(F.reqfile);
	pki_cleanup();
	return 0;
}

/* ------------------------------------------------------ test server -- */

struct reply {
	const char *status;	/* "200 OK" */
	const char *headers;	/* extra header lines, each ending "\r\n" */
	const char *body;
	size_t len;		/* 0: strlen(body) */
	bool chunked;		/* no Content-Length */
	int delay_s;		/* before answering */
};

static pid_t server_pid;

static int
verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

/* Reads one request (headers + Content-Length body, bounded) and writes it
 * to F.reqfile, first line "client: <subject or ->". */
static void
serve_read(SSL *ssl)
{
	char buf[65536], line[512], *hdr_end = NULL, *cl;
	size_t have = 0, want = 0;
	X509 *peer = SSL_get1_peer_certificate(ssl);
	FILE *f;
	int n;

	while (have < sizeof(buf) - 1) {
		if ((n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have))) <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(hdr_end + 4 - buf) +
			    (cl && cl < hdr_end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (hdr_end != NULL && have >= want)
			break;
	}
	if (peer != NULL)
		X509_NAME_oneline(X509_get_subject_name(peer), line, sizeof(line));
	if ((f = fopen(F.reqfile, "w")) != NULL) {
		fprintf(f, "client: %s\n", peer ? line : "-");
		fwrite(buf, 1, have, f);
		fclose(f);
	}
	X509_free(peer);
}

static void
serve_reply(SSL *ssl, const struct reply *r)
{
	size_t len = r->len ? r->len : (r->body ? strlen(r->body) : 0);
	char head[1024];
	int n;

	if (r->delay_s > 0)
		sleep((unsigned)r->delay_s);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n%sConnection: close\r\n",
	    r->status, r->headers ? r->headers : "");
	if (r->chunked)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", len);
	else
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Length: %zu\r\n\r\n", len);
	SSL_write(ssl, head, n);
	if (len > 0)
		SSL_write(ssl, r->body, (int)len);
	if (r->chunked)
		SSL_write(ssl, len ? "\r\n0\r\n\r\n" : "\r\n", len ? 7 : 2);
	SSL_shutdown(ssl);
}

static void
serve(int lfd, const struct reply *r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int fd;

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, F.server_cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, F.server_key) != 1)
		_exit(2);
	/* ask for a client certificate, accept any: the file shows it */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_any);
	/* libcurl resumes sessions; with VERIFY_PEER that needs a context */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"t", 1);
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		SSL *ssl = SSL_new(ctx);
		if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 &&
		    SSL_accept(ssl) == 1) {
			serve_read(ssl);
			serve_reply(ssl, r);
		}
		SSL_free(ssl);
		close(fd);
	}
	_exit(0);
}

/* Forks a server answering r to every connection; returns its port. */
static int
server_start(const struct reply *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	unlink(F.reqfile);
	fflush(NULL);
	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0)
		serve(fd, r);
	close(fd);
	return ntohs(a.sin_port);
}

static void
server_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = 0;
}

/* The last request the server saw (a new string, "" if none). */
static char *
last_request(void)
{
	char *buf = calloc(1, 65536 + 600);
	FILE *f = fopen(F.reqfile, "r");

	assert_non_null(buf);
	if (f != NULL) {
		if (fread(buf, 1, 65536 + 599, f) == 0)
			buf[0] = '\0';
		fclose(f);
	}
	return buf;
}

/* ---------------------------------------------------------- helpers -- */

static void
opts_init(struct cr_http_opts *o, const char *server, int port)
{
	memset(o, 0, sizeof(*o));
	o->server = server;
	o->port = port;
	o->cacert = F.cacert;
	o->timeout_s = 10;
	o->connect_timeout_s = 5;
}

static cr_http *
client_new(const char *server, int port)
{
	struct cr_http_opts o;
	cr_http *h;
	cr_err e;

	cr_err_init(&e);
	opts_init(&o, server, port);
	h = cr_http_new(&o, &e);
	if (h == NULL)
		fail_msg("cr_http_new: %s", e.msg);
	cr_err_clear(&e);
	return h;
}

static void
assert_kind(const cr_err *e, const char *kind, const char *in_msg)
{
	assert_true(e->set);
	if (strcmp(e->kind, kind) != 0)
		fail_msg("kind %s, wanted %s (%s)", e->kind, kind, e->msg);
	if (in_msg != NULL && strstr(e->msg, in_msg) == NULL)
		fail_msg("'%s' not in '%s'", in_msg, e->msg);
}

static const char *
detail_str(const cr_err *e, const char *key)
{
	return json_string_value(json_object_get(e->details, key));
}

/* cr_http_new(o) must fail with kind. */
static void
assert_new_fails(const struct cr_http_opts *o, const char *kind,
    const char *in_msg)
{
	cr_http *h;
	cr_err e;

	cr_err_init(&e);
	h = cr_http_new(o, &e);
	assert_null(h);
	assert_kind(&e, kind, in_msg);
	cr_err_clear(&e);
	assert_int_equal(ERR_peek_error(), 0);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------ no server -- */

static void
test_new_rejects_options(void **state)
{
	static const char *const bad_hosts[] = { "", "a/b", "user@host", "-x",
	    ".x", "host name", "h\r\nX: y", "host:8140x", "h?q", NULL };
	struct cr_http_opts o;
	size_t i;

	(void)state;
	for (i = 0; bad_hosts[i] != NULL; i++) {
		opts_init(&o, bad_hosts[i], 8140);
		assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "host name");
	}
	opts_init(&o, NULL, 8140);
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "host name");
	opts_init(&o, "localhost", 70000);
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "port");
	opts_init(&o, "localhost", 8140);
	o.timeout_s = -1;
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "time-out");
	opts_init(&o, "localhost", 8140);
	o.proxy = "http://proxy :3128";
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "proxy");
	/* no CA bundle and no pin: nothing to trust */
	opts_init(&o, "localhost", 8140);
	o.cacert = NULL;
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "ca_fingerprint");
	/* files */
	opts_init(&o, "localhost", 8140);
	o.cacert = "/nonexistent/ca.pem";
	assert_new_fails(&o, CR_KIND_IO, "/nonexistent/ca.pem");
	o.cacert = F.garbage;
	assert_new_fails(&o, CR_KIND_PARSE, "no PEM certificate");
	opts_init(&o, "localhost", 8140);
	o.client_cert = F.client_cert;
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "needs its key");
	o.client_key = F.wrong_key;
	assert_new_fails(&o, CR_KIND_INVALID_PARAMETER, "does not belong");
	o.client_key = F.garbage;
	assert_new_fails(&o, CR_KIND_OPENSSL, "not an unencrypted PEM");
}

static void
test_fingerprint_forms(void **state)
{
	static const char *const bad[] = { "00:11", "zz", "SHA1:00",
	    "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:A1:B2:C3:D4:E5:F6:"
	    "07:18:29:3A:4B:5C:6D:7E:8F:90:11", NULL };
	char lower[96], bare[80], prefixed[110];
	const char *good[5];
	struct cr_http_opts o;
	cr_http *h;
	size_t i, j;
	cr_err e;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		opts_init(&o, "localhost", 8140);
		o.ca_fingerprint = bad[i];
		assert_new_fails(&o, CR_KIND_INVALID_PARAMETER,
		    "not a SHA-256 fingerprint");
	}
	for (i = j = 0; F.pin_root[i] != '\0'; i++)
		if (F.pin_root[i] != ':')
			bare[j++] = F.pin_root[i];
	bare[j] = '\0';
	for (i = 0; F.pin_inter[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)F.pin_inter[i]);
	lower[i] = '\0';
	snprintf(prefixed, sizeof(prefixed), "(SHA256) %s", F.pin_root);
	good[0] = F.pin_root;
	good[1] = bare;
	good[2] = lower;
	good[3] = prefixed;
	good[4] = F.pin_bundle;	/* Puppet's ca_fingerprint: the file text */
	for (i = 0; i < 5; i++) {
		cr_err_init(&e);
		opts_init(&o, "localhost", 8140);
		o.ca_fingerprint = good[i];
		h = cr_http_new(&o, &e);
		if (h == NULL)
			fail_msg("pin %s: %s", good[i], e.msg);
		cr_http_free(h);
		cr_err_clear(&e);
	}
	/* a pin the CA bundle does not carry */
	opts_init(&o, "localhost", 8140);
	o.ca_fingerprint = F.pin_other;
	assert_new_fails(&o, CR_KIND_CA_PIN_MISMATCH, "does not match the pinned");
	/* an unrelated CA riding along in the bundle */
	o.cacert = F.mixed_ca;
	o.ca_fingerprint = F.pin_root;
	assert_new_fails(&o, CR_KIND_CA_PIN_MISMATCH, "does not match the pinned");
}

static void
test_url(void **state)
{
	static const struct {
		const char *server, *path, *want;
		int port;
	} cases[] = {
		{ "puppet.example.com", CA "/certificate/ca",
		  "https://puppet.example.com:8140/puppet-ca/v1/certificate/ca", 0 },
		{ "::1", "/x?y=z", "https://[::1]:18140/x?y=z", 18140 },
		{ "10.0.0.1", "/", "https://10.0.0.1:443/", 443 },
	};
	struct cr_http_opts o;
	cr_http *h;
	char *url;
	cr_err e;
	size_t i;

	(void)state;
	cr_err_init(&e);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		opts_init(&o, cases[i].server, cases[i].port);
		assert_non_null(h = cr_http_new(&o, &e));
		url = cr_http_url(h, cases[i].path);
		assert_string_equal(url, cases[i].want);
		free(url);
		assert_int_equal(cr_http_last_status(h), 0);
		cr_http_free(h);
	}
	assert_false(e.set);
}

/* A certname or a path that must never reach the wire: the client points
 * at a closed port, so anything sent would be ca-unreachable instead. */
static void
test_certname_and_path_rejected(void **state)
{
	static const char *const names[] = { "", "../etc/passwd", "a/b",
	    "UPPER.example.com", "a b", "-x", ".x", "a..b", "a%2fb", "a?b",
	    "caf\xc3\xa9", NULL };
	static const char *const paths[] = { "", "no-slash", "/a b", "/a#frag",
	    "/a%zz", "/a%2", "/caf\xc3\xa9", "/a\r\nX-Injected: 1", "/a\"b",
	    "/a\\b", NULL };
	struct cr_http_response r;
	cr_http *h = client_new("127.0.0.1", F.closed_port);
	json_t *j;
	size_t i, len = 1;
	char *pem;
	cr_err e;

	(void)state;
	for (i = 0; names[i] != NULL; i++) {
		cr_err_init(&e);
		pem = cr_ca_get_cert(h, names[i], &len, &e);
		assert_null(pem);
		assert_kind(&e, CR_KIND_INVALID_PARAMETER, "not a valid certname");
		cr_err_clear(&e);
		assert_false(cr_ca_put_csr(h, names[i], "x", 1, &e));
		assert_kind(&e, CR_KIND_INVALID_PARAMETER, "certname");
		cr_err_clear(&e);
		assert_null(j = cr_ca_status_get(h, names[i], &e));
		assert_kind(&e, CR_KIND_INVALID_PARAMETER, "certname");
		cr_err_clear(&e);
		assert_false(cr_ca_status_put(h, names[i], "signed", 0, &e));
		assert_kind(&e, CR_KIND_INVALID_PARAMETER, "certname");
		cr_err_clear(&e);
		assert_false(cr_ca_status_delete(h, names[i], &e));
		assert_kind(&e, CR_KIND_INVALID_PARAMETER, "certname");
		cr_err_clear(&e);
	}
	assert_null(cr_ca_get_cert(h, NULL, &len, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "certname");
	cr_err_clear(&e);
	for (i = 0; paths[i] != NULL; i++) {
		assert_false(cr_http_request(h, "GET", paths[i], NULL, NULL, 0,
		    &r, &e));
		assert_kind(&e, CR_KIND_INVALID_PARAMETER, "escaped absolute path");
		cr_http_response_clear(&r);
		cr_err_clear(&e);
	}
	assert_false(cr_http_request(h, "PATCH", "/x", NULL, NULL, 0, &r, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "HTTP method");
	cr_err_clear(&e);
	assert_false(cr_http_request(h, "PUT", "/x", NULL, NULL, 5, &r, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "without a body");
	cr_err_clear(&e);
	assert_false(cr_http_request(h, "PUT", "/x", "a\r\nb: c", "x", 1, &r, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "content type");
	cr_err_clear(&e);
	assert_false(cr_ca_status_put(h, "ok.example.com", "deleted", 0, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "desired_state");
	cr_err_clear(&e);
	assert_null(cr_ca_statuses(h, "all", &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "state must be");
	cr_err_clear(&e);
	assert_false(cr_ca_put_csr(h, "ok.example.com", "-----BEGIN CERTIFICATE "
	    "REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n", 80, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "not one PEM certificate request");
	cr_err_clear(&e);
	assert_int_equal(ERR_peek_error(), 0);
	cr_http_free(h);
}

static void
test_unreachable_closed_port(void **state)
{
	cr_http *h = client_new("127.0.0.1", F.closed_port);
	size_t len = 0;
	double t0 = now_s();
	char *pem, want[64];
	cr_err e;

	(void)state;
	cr_err_init(&e);
	pem = cr_ca_get_ca_bundle(h, &len, &e);
	assert_null(pem);
	assert_true(now_s() - t0 < 3.0);
	assert_kind(&e, CR_KIND_CA_UNREACHABLE, "GET https://127.0.0.1:");
	snprintf(want, sizeof(want), "https://127.0.0.1:%d" CA "/certificate/ca",
	    F.closed_port);
	assert_string_equal(detail_str(&e, "url"), want);
	assert_string_equal(detail_str(&e, "method"), "GET");
	assert_int_equal(cr_http_err_status(&e), 0);
	assert_int_equal(json_integer_value(json_object_get(e.details,
	    "curl_code")), 7);	/* CURLE_COULDNT_CONNECT */
	cr_err_clear(&e);
	cr_http_free(h);
}

/* ------------------------------------------------------ with server -- */

static void
test_get_bundle_and_request_shape(void **state)
{
	struct reply r = { .status = "200 OK",
	    .headers = "Content-Type: text/plain\r\n" };
	X509 *chain[2] = { F.w->inter->cert, F.w->root->cert };
	size_t plen = 0, len = 0;
	char *body = pki_certs_pem(chain, 2, &plen), *pem, *req;
	cr_http *h;
	cr_err e;
	int port;

	(void)state;
	assert_non_null(body);
	r.body = body;
	port = server_start(&r);
	cr_err_init(&e);
	h = client_new("localhost", port);
	pem = cr_ca_get_ca_bundle(h, &len, &e);
	if (pem == NULL)
		fail_msg("%s", e.msg);
	assert_int_equal(len, plen);
	assert_memory_equal(pem, body, plen);
	assert_int_equal(cr_http_last_status(h), 200);
	req = last_request();
	assert_non_null(strstr(req, "client: -\n"));	/* no client cert */
	assert_non_null(strstr(req, "GET " CA "/certificate/ca HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "User-Agent: cert_regen"));
	assert_null(strstr(req, "Expect:"));
	free(req);
	free(pem);
	/* the same handle again (the server closed the connection) */
	pem = cr_ca_get_ca_bundle(h, &len, &e);
	assert_non_null(pem);
	free(pem);
	cr_http_free(h);
	server_stop();
	free(body);
	assert_false(e.set);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
body_limit_case(bool chunked)
{
	char *big = malloc(2000);
	struct reply r = { .status = "200 OK", .len = 2000,
	    .chunked = chunked };
	struct cr_http_opts o;
	struct cr_http_response resp;
	cr_http *h;
	cr_err e;
	int port;

	assert_non_null(big);
	memset(big, 'x', 2000);
	r.body = big;
	port = server_start(&r);
	cr_err_init(&e);
	opts_init(&o, "localhost", port);
	o.max_body = 1999;
	assert_non_null(h = cr_http_new(&o, &e));
	assert_false(cr_http_request(h, "GET", "/big", NULL, NULL, 0, &resp, &e));
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "larger than the limit of 1999");
	assert_null(resp.body);		/* never a truncated body */
	assert_non_null(detail_str(&e, "url"));
	cr_http_response_clear(&resp);
	cr_err_clear(&e);
	cr_http_free(h);
	o.max_body = 2000;		/* exactly the limit is fine */
	assert_non_null(h = cr_http_new(&o, &e));
	assert_true(cr_http_request(h, "GET", "/big", NULL, NULL, 0, &resp, &e));
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.len, 2000);
	assert_int_equal(resp.body[2000], '\0');
	cr_http_response_clear(&resp);
	cr_http_free(h);
	server_stop();
	free(big);
	assert_false(e.set);
}

static void
test_body_limit_content_length(void **state)
{
	(void)state;
	body_limit_case(false);
}

static void
test_body_limit_chunked(void **state)
{
	(void)state;
	body_limit_case(true);
}

static void
test_status_mapping(void **state)
{
	char body[2000];
	struct reply r403 = { .status = "403 Forbidden",
	    .body = "Forbidden request: " CA "/certificate_status/x (method :get)" };
	struct reply r500 = { .status = "500 Server Error", .body = body,
	    .len = sizeof(body) };
	struct reply r302 = { .status = "302 Found",
	    .headers = "Location: https://localhost:1/elsewhere\r\n" };
	struct cr_http_response resp;
	const char *snip;
	cr_http *h;
	json_t *j;
	cr_err e;
	size_t i;

	(void)state;
	cr_err_init(&e);
	h = client_new("localhost", server_start(&r403));
	assert_null(j = cr_ca_status_get(h, "x", &e));
	assert_kind(&e, CR_KIND_CA_UNAUTHORIZED, "HTTP 403: Forbidden request");
	assert_int_equal(cr_http_err_status(&e), 403);
	assert_non_null(strstr(detail_str(&e, "body"), "method :get"));
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();

	/* 2000 bytes with control characters and invalid UTF-8 */
	for (i = 0; i < sizeof(body); i++)
		body[i] = (char)("ab\n\r\t\x01\xff\x7f"[i % 8]);
	h = client_new("localhost", server_start(&r500));
	assert_false(cr_http_request(h, "DELETE", "/x", NULL, NULL, 0, &resp, &e));
	assert_kind(&e, CR_KIND_CA_ERROR, "HTTP 500");
	assert_int_equal(resp.status, 500);	/* the caller still sees it */
	assert_int_equal(resp.len, sizeof(body));
	assert_int_equal(cr_http_err_status(&e), 500);
	snip = detail_str(&e, "body");
	assert_non_null(snip);
	assert_true(strlen(snip) <= CR_HTTP_ERROR_BODY_MAX * 3);
	for (i = 0; snip[i] != '\0'; i++)
		assert_true((unsigned char)snip[i] >= 0x20 && snip[i] != 0x7f);
	for (i = 0; e.msg[i] != '\0'; i++)
		assert_true((unsigned char)e.msg[i] >= 0x20);
	cr_http_response_clear(&resp);
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();

	/* a redirect is reported, not followed */
	h = client_new("localhost", server_start(&r302));
	assert_false(cr_http_request(h, "GET", "/x", NULL, NULL, 0, &resp, &e));
	assert_kind(&e, CR_KIND_CA_ERROR, "HTTP 302");
	assert_int_equal(cr_http_last_status(h), 302);
	cr_http_response_clear(&resp);
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_tls_failures(void **state)
{
	struct reply r = { .status = "200 OK", .body = "ok" };
	struct cr_http_response resp;
	struct cr_http_opts o;
	cr_http *h;
	cr_err e;
	int port;

	(void)state;
	port = server_start(&r);
	cr_err_init(&e);
	/* the certificate names localhost, not 127.0.0.1 */
	h = client_new("127.0.0.1", port);
	assert_false(cr_http_request(h, "GET", "/", NULL, NULL, 0, &resp, &e));
	assert_kind(&e, CR_KIND_CA_TLS, NULL);
	assert_int_equal(cr_http_err_status(&e), 0);
	cr_http_response_clear(&resp);
	cr_err_clear(&e);
	cr_http_free(h);
	/* a CA bundle that did not issue the server's certificate */
	opts_init(&o, "localhost", port);
	o.cacert = F.other_ca;
	assert_non_null(h = cr_http_new(&o, &e));
	assert_false(cr_http_request(h, "GET", "/", NULL, NULL, 0, &resp, &e));
	assert_kind(&e, CR_KIND_CA_TLS, "certificate");
	cr_http_response_clear(&resp);
	cr_err_clear(&e);
	cr_http_free(h);
	/* the right one, with a client certificate the server sees */
	opts_init(&o, "localhost", port);
	o.client_cert = F.client_cert;
	o.client_key = F.client_key;
	assert_non_null(h = cr_http_new(&o, &e));
	assert_true(cr_http_request(h, "GET", "/", NULL, NULL, 0, &resp, &e));
	assert_string_equal(resp.body, "ok");
	{
		char *req = last_request();
		assert_non_null(strstr(req, "client: /CN=client.test\n"));
		free(req);
	}
	cr_http_response_clear(&resp);
	cr_http_free(h);
	server_stop();
	assert_false(e.set);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_proxy_environment_ignored(void **state)
{
	static const char *const vars[] = { "http_proxy", "https_proxy",
	    "HTTPS_PROXY", "ALL_PROXY", "all_proxy", NULL };
	struct reply r = { .status = "200 OK", .body = "direct" };
	struct cr_http_response resp;
	char proxy[64];
	cr_http *h;
	cr_err e;
	size_t i;

	(void)state;
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", F.closed_port);
	for (i = 0; vars[i] != NULL; i++)
		setenv(vars[i], proxy, 1);
	cr_err_init(&e);
	h = client_new("localhost", server_start(&r));
	assert_true(cr_http_request(h, "GET", "/", NULL, NULL, 0, &resp, &e));
	assert_string_equal(resp.body, "direct");
	for (i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
	cr_http_response_clear(&resp);
	cr_http_free(h);
	server_stop();
	assert_false(e.set);
}

static void
test_timeout(void **state)
{
	struct reply r = { .status = "200 OK", .body = "late", .delay_s = 5 };
	struct cr_http_response resp;
	struct cr_http_opts o;
	double t0;
	cr_http *h;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	opts_init(&o, "localhost", server_start(&r));
	o.timeout_s = 1;
	assert_non_null(h = cr_http_new(&o, &e));
	t0 = now_s();
	assert_false(cr_http_request(h, "GET", "/", NULL, NULL, 0, &resp, &e));
	assert_true(now_s() - t0 < 3.0);
	assert_kind(&e, CR_KIND_CA_UNREACHABLE, "imed out");
	cr_http_response_clear(&resp);
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();
}

static void
bootstrap_case(const char *body, const char *pin, const char *want_kind)
{
	struct reply r = { .status = "200 OK", .body = body };
	struct cr_http_opts o;
	cr_http *h;
	size_t len = 0;
	char *pem;
	cr_err e;

	cr_err_init(&e);
	opts_init(&o, "localhost", server_start(&r));
	o.cacert = NULL;
	o.ca_fingerprint = pin;
	assert_non_null(h = cr_http_new(&o, &e));
	pem = cr_ca_get_ca_bundle(h, &len, &e);
	if (want_kind == NULL) {
		if (pem == NULL)
			fail_msg("pin %s: %s", pin, e.msg);
		assert_string_equal(pem, body);
	} else {
		assert_null(pem);
		assert_kind(&e, want_kind, NULL);
	}
	free(pem);
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();
}

static void
test_bootstrap_pinned(void **state)
{
	X509 *chain[3] = { F.w->inter->cert, F.w->root->cert, F.other->cert };
	struct cr_http_response resp;
	struct cr_http_opts o;
	size_t len = 0, mlen = 0;
	char *good = pki_certs_pem(chain, 2, &len);
	char *mixed = pki_certs_pem(chain, 3, &mlen);
	cr_http *h;
	json_t *j;
	cr_err e;

	(void)state;
	assert_non_null(good);
	assert_non_null(mixed);
	bootstrap_case(good, F.pin_root, NULL);
	bootstrap_case(good, F.pin_inter, NULL);
	bootstrap_case(good, F.pin_bundle, NULL);
	bootstrap_case(good, F.pin_other, CR_KIND_CA_PIN_MISMATCH);
	bootstrap_case(mixed, F.pin_root, CR_KIND_CA_PIN_MISMATCH);
	bootstrap_case("no PEM here", F.pin_root, CR_KIND_CA_PROTOCOL);
	/* a bootstrap handle does nothing else */
	cr_err_init(&e);
	opts_init(&o, "localhost", F.closed_port);
	o.cacert = NULL;
	o.ca_fingerprint = F.pin_root;
	assert_non_null(h = cr_http_new(&o, &e));
	assert_false(cr_http_request(h, "GET", CA "/certificate/ca", NULL, NULL,
	    0, &resp, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "only fetch the pinned");
	cr_err_clear(&e);
	assert_null(cr_ca_get_cert(h, "agent.example.com", &len, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "only fetch the pinned");
	cr_err_clear(&e);
	assert_null(cr_ca_get_crl(h, &len, &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "only fetch the pinned");
	cr_err_clear(&e);
	assert_null(j = cr_ca_status_get(h, "agent.example.com", &e));
	assert_kind(&e, CR_KIND_INVALID_PARAMETER, "only fetch the pinned");
	cr_err_clear(&e);
	cr_http_free(h);
	free(good);
	free(mixed);
}

static void
test_pem_and_json_checked(void **state)
{
	struct reply not_pem = { .status = "200 OK", .body = "hello" };
	struct reply arr = { .status = "200 OK", .body = "[]" };
	struct reply obj = { .status = "200 OK",
	    .body = "{\"name\":\"a.test\",\"state\":\"requested\"}" };
	X509 *chain[1] = { F.w->inter->cert };
	struct reply cert_pem = { .status = "200 OK" };
	size_t len = 0;
	char *pem, *cert_text = pki_certs_pem(chain, 1, &len);
	cr_http *h;
	json_t *j;
	cr_err e;

	(void)state;
	cr_err_init(&e);
	h = client_new("localhost", server_start(&not_pem));
	assert_null(pem = cr_ca_get_cert(h, "a.test", &len, &e));
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "no PEM certificate");
	assert_int_equal(cr_http_err_status(&e), 200);
	cr_err_clear(&e);
	assert_null(j = cr_ca_status_get(h, "a.test", &e));
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "not a JSON object");
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();
	/* a certificate where a CRL is expected */
	cert_pem.body = cert_text;
	h = client_new("localhost", server_start(&cert_pem));
	assert_null(pem = cr_ca_get_crl(h, &len, &e));
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "CRL");
	cr_err_clear(&e);
	assert_non_null(pem = cr_ca_get_cert(h, "a.test", &len, &e));
	free(pem);
	cr_http_free(h);
	server_stop();
	h = client_new("localhost", server_start(&arr));
	assert_null(j = cr_ca_status_get(h, "a.test", &e));
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "JSON object");
	cr_err_clear(&e);
	assert_non_null(j = cr_ca_statuses(h, "requested", &e));
	assert_true(json_is_array(j));
	json_decref(j);
	cr_http_free(h);
	server_stop();
	h = client_new("localhost", server_start(&obj));
	assert_non_null(j = cr_ca_status_get(h, "a.test", &e));
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "requested");
	json_decref(j);
	assert_null(j = cr_ca_statuses(h, NULL, &e));
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "JSON array");
	cr_err_clear(&e);
	cr_http_free(h);
	server_stop();
	free(cert_text);
	assert_int_equal(ERR_peek_error(), 0);
}

/* What the helpers put on the wire. */
static void
test_requests_sent(void **state)
{
	struct reply r204 = { .status = "204 No Content" };
	EVP_PKEY *key = pki_rsa_cached(1);
	X509_REQ *csr = pki_csr_new("new.example.com", key);
	BIO *bio = BIO_new(BIO_s_mem());
	char *csr_pem = NULL, *req;
	long csr_len;
	cr_http *h;
	json_t *j;
	cr_err e;

	(void)state;
	assert_non_null(csr);
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509_REQ(bio, csr), 1);
	csr_len = BIO_get_mem_data(bio, &csr_pem);
	cr_err_init(&e);
	h = client_new("localhost", server_start(&r204));

	assert_true(cr_ca_put_csr(h, "new.example.com", csr_pem,
	    (size_t)csr_len, &e));
	req = last_request();
	assert_non_null(strstr(req, "PUT " CA
	    "/certificate_request/new.example.com HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "Content-Type: text/plain\r\n"));
	assert_null(strstr(req, "Expect:"));
	assert_non_null(strstr(req, "-----BEGIN CERTIFICATE REQUEST-----"));
	free(req);

	assert_true(cr_ca_status_put(h, "new.example.com", "signed", 3600, &e));
	assert_int_equal(cr_http_last_status(h), 204);
	req = last_request();
	assert_non_null(strstr(req, "PUT " CA
	    "/certificate_status/new.example.com HTTP/1.1\r\n"));
	assert_non_null(strstr(req, "Content-Type: application/json\r\n"));
	assert_non_null(j = json_loads(strstr(req, "\r\n\r\n") + 4, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(j,
	    "desired_state")), "signed");
	assert_int_equal(json_integer_value(json_object_get(j, "cert_ttl")),
	    3600);
	json_decref(j);
	free(req);

	assert_true(cr_ca_status_put(h, "new.example.com", "revoked", 0, &e));
	req = last_request();
	assert_non_null(strstr(req, "{\"desired_state\":\"revoked\"}"));
	free(req);

	assert_true(cr_ca_status_delete(h, "new.example.com", &e));
	req = last_request();
	assert_non_null(strstr(req, "DELETE " CA
	    "/certificate_status/new.example.com HTTP/1.1\r\n"));
	free(req);

	json_decref(cr_ca_statuses(h, "signed", &e));	/* 204: empty body */
	assert_kind(&e, CR_KIND_CA_PROTOCOL, "JSON array");
	cr_err_clear(&e);
	req = last_request();
	assert_non_null(strstr(req, "GET " CA
	    "/certificate_statuses/any_key?state=signed HTTP/1.1\r\n"));
	free(req);

	cr_http_free(h);
	server_stop();
	X509_REQ_free(csr);
	BIO_free(bio);
	EVP_PKEY_free(key);
	assert_false(e.set);
	assert_int_equal(ERR_peek_error(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_options),
		cmocka_unit_test(test_fingerprint_forms),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_certname_and_path_rejected),
		cmocka_unit_test(test_unreachable_closed_port),
		cmocka_unit_test(test_get_bundle_and_request_shape),
		cmocka_unit_test(test_body_limit_content_length),
		cmocka_unit_test(test_body_limit_chunked),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_tls_failures),
		cmocka_unit_test(test_proxy_environment_ignored),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_bootstrap_pinned),
		cmocka_unit_test(test_pem_and_json_checked),
		cmocka_unit_test(test_requests_sent),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
