/*
 * flow_env_server.c - the CA host of the cmocka flow tests (flow_env.h):
 * the node of flow_env.c with a cadir laid out as puppetserver's, the
 * server behind the flows' seam (it answers /status/v1/simple while the
 * service "puppetserver" runs, presenting the live hostcert, as
 * puppetserver does after a start), and the checks of a live ssldir and
 * cadir pair.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cr_journal.h"
#include "flow_env.h"

#ifdef CR_TEST_HOOKS

#define CLI_AUTH_OID "1.3.6.1.4.1.34380.1.3.39"
#define STATUS_URL "https://ca.test:8140/status/v1/simple"

/* --------------------------------------------------- the server -- */

static char *
srv_status(void *ctx, void *conn, char **peer_pem, char **url, cr_err *err)
{
	struct tca *ca = ctx;
	size_t len;
	char *out;

	*peer_pem = *url = NULL;
	if (!json_is_true(json_object_get(ca->svc, "puppetserver"))) {
		tca_refused(err);
		return NULL;
	}
	if (ca->wrong_peer)
		*peer_pem = pki_certs_pem(&ca->rogue->cert, 1, &len);
	else
		*peer_pem = flow_read(ca->served);
	assert_non_null(*url = strdup(STATUS_URL));
	assert_non_null(out = strdup("running"));
	return out;
}

/* ------------------------------------------------- the CA tool -- */

/* The value of "name = value" in the tool's puppet.conf (new string). */
static char *
conf_value(const char *text, const char *name)
{
	char *key = flow_fmt("\n%s = ", name), *at = strstr(text, key), *out;

	assert_non_null(at);
	at += strlen(key);
	assert_non_null(out = strndup(at, strcspn(at, "\n")));
	free(key);
	return out;
}

static const char *
arg_after(const char *const *argv, const char *flag)
{
	size_t i;

	for (i = 0; argv[i] != NULL; i++)
		if (strcmp(argv[i], flag) == 0 && argv[i + 1] != NULL)
			return argv[i + 1];
	fail_msg("the CA tool was not given %s", flag);
	return NULL;
}

static void *
read_pem(const char *path, bool key)
{
	FILE *f = fopen(path, "r");
	void *out;

	assert_non_null(f);
	out = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(f, NULL, NULL, NULL);
	assert_non_null(out);
	fclose(f);
	return out;
}

/*
 * `puppetserver ca generate --config C --certname N --subject-alt-names
 * DNS:a,... --ca-client --force`, offline, as puppetserver does it: a new
 * key, a certificate for it with the names and pp_cli_auth signed by the
 * CA of C's cadir with the serial of its serial file (then counted on),
 * written to the ssldir's certs/ and private_keys/ and the cadir's
 * signed/.  With tool_fails: exit 1 and a message, nothing written.
 */
static bool
ca_generate(void *ctx, const struct cr_proc_opts *po,
    struct cr_proc_result *res, cr_err *err)
{
	static const struct pki_ext cli_auth[] = {
		{ .oid = CLI_AUTH_OID, .utf8 = "true" }, { .oid = NULL },
	};
	struct tca *ca = ctx;
	const char *const *argv = po->argv;
	const char *certname, *dns[8] = { NULL };
	char *text, *ssl, *cadir, *p, *names, *tok, *save = NULL;
	struct pki_leaf_opts lo;
	pki_ca issuer;
	X509 *leaf;
	EVP_PKEY *key;
	size_t n = 0;

	memset(res, 0, sizeof(*res));
	ca->tool_runs++;
	assert_string_equal(argv[1], "ca");
	assert_string_equal(argv[2], "generate");
	res->exited = true;
	if (ca->tool_fails) {
		res->exit_code = 1;
		assert_non_null(res->out = strdup("Error: the CA tool failed"));
		res->out_len = strlen(res->out);
		return true;
	}
	certname = arg_after(argv, "--certname");
	text = flow_read(arg_after(argv, "--config"));
	ssl = conf_value(text, "ssldir");
	cadir = conf_value(text, "cadir");
	assert_non_null(names = strdup(arg_after(argv,
	    "--subject-alt-names")));
	for (tok = strtok_r(names, ",", &save); tok != NULL && n < 7;
	    tok = strtok_r(NULL, ",", &save))
		if (strncmp(tok, "DNS:", 4) == 0)
			dns[n++] = tok + 4;
	p = flow_fmt("%s/ca_crt.pem", cadir);
	issuer.cert = read_pem(p, false);
	free(p);
	p = flow_fmt("%s/ca_key.pem", cadir);
	issuer.key = read_pem(p, true);
	free(p);
	assert_non_null(key = pki_rsa_cached(3));
	pki_leaf_opts_init(&lo, certname, key, time(NULL));
	lo.dns = dns;
	lo.exts = cli_auth;
	p = flow_fmt("%s/serial", cadir);
	free(text);
	text = flow_read(p);
	lo.serial = strtoull(text, NULL, 16);
	free(text);
	text = flow_fmt("%04" PRIX64 "\n", lo.serial + 1);
	assert_true(pki_write_file(p, text, strlen(text), 0644));
	free(p);
	assert_non_null(leaf = pki_leaf_new(&lo, &issuer));
	p = flow_fmt("%s/private_keys/%s.pem", ssl, certname);
	assert_true(pki_write_key(p, key, 0640));
	free(p);
	p = flow_fmt("%s/certs/%s.pem", ssl, certname);
	assert_true(pki_write_certs(p, &leaf, 1));
	free(p);
	p = flow_fmt("%s/signed/%s.pem", cadir, certname);
	assert_true(pki_write_certs(p, &leaf, 1));
	free(p);
	X509_free(leaf);
	EVP_PKEY_free(key);
	X509_free(issuer.cert);
	EVP_PKEY_free(issuer.key);
	free(names);
	free(text);
	free(ssl);
	free(cadir);
	return true;
}

/* ------------------------------------------------------ the host -- */

char *
flow_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *out;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) >= 0);
	rewind(f);
	assert_non_null(out = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return out;
}

static void
write_text(const char *dir, const char *name, const char *text)
{
	char *path = flow_fmt("%s/%s", dir, name);

	assert_true(pki_write_file(path, text, strlen(text), 0644));
	free(path);
}

/* cp <ssldir>/from <cadir>/to */
static void
copy_in(struct env *e, const char *from, const char *to)
{
	char *src = flow_fmt("%s/%s", e->ssl, from), *text = flow_read(src);

	write_text(e->cadir, to, text);
	free(text);
	free(src);
}

struct env *
env_server_new(void)
{
	static const struct pki_ext cli_auth[] = {
		{ .oid = CLI_AUTH_OID, .utf8 = "true" }, { .oid = NULL },
	};
	static const char *const dns[] = { CERTNAME, "puppet.test", NULL };
	struct env *e = env_base_new(dns, cli_auth);
	char *conf = flow_fmt("%s/puppet.conf", e->conf), *text, *more, *p;

	e->cadir = flow_fmt("%s/ca", e->dir);
	/* [main] is puppet.conf's only section: the line goes into it */
	text = flow_read(conf);
	more = flow_fmt("%scadir = %s\n", text, e->cadir);
	assert_true(pki_write_file(conf, more, strlen(more), 0644));
	free(text);
	free(more);
	free(conf);
	flow_mkdir(e->dir, "ca", 0750);
	flow_mkdir(e->cadir, "signed", 0755);
	flow_mkdir(e->cadir, "requests", 0755);
	copy_in(e, "certs/ca.pem", "ca_crt.pem");
	copy_in(e, "crl.pem", "ca_crl.pem");
	copy_in(e, "certs/" CERTNAME ".pem", "signed/" CERTNAME ".pem");
	p = flow_fmt("%s/ca_key.pem", e->cadir);
	assert_true(pki_write_key(p, e->ca.w->inter->key, 0640));
	free(p);
	p = flow_fmt("%s/root_key.pem", e->cadir);
	assert_true(pki_write_key(p, e->ca.w->root->key, 0640));
	free(p);
	p = flow_fmt("%04" PRIX64 "\n", e->old_serial + 1);
	write_text(e->cadir, "serial", p);
	free(p);
	write_text(e->cadir, "inventory.txt", "");
	p = flow_fmt("%s/ca_crt.pem", e->cadir);
	e->old_bundle = flow_read(p);
	free(p);

	e->ca.served = flow_fmt("%s/certs/" CERTNAME ".pem", e->ssl);
	json_object_set_new(e->ca.svc, "puppetserver", json_true());
	e->ops.server_status = srv_status;
	e->ops.ca_tool = ca_generate;

	e->so.op = CR_SRV_CA_RENEW;
	e->so.confdir = e->conf;
	assert_non_null(e->so.services = json_pack("[s, s]", "puppet",
	    "puppetserver"));
	e->so.backup_dir = e->backups;
	e->so.revoke_old = true;
	e->so.puppetserver = "/nonexistent/puppetserver";
	e->so.start_timeout_s = 1;
	e->so.lock_timeout_ms = 0;
	e->so.ops = &e->ops;
	return e;
}

/* ------------------------------------------------------ the pair -- */

static STACK_OF(X509) *
certs_of(const char *text)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(text, -1);
	X509 *x;

	assert_non_null(out);
	assert_non_null(bio);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		assert_true(sk_X509_push(out, x) > 0);
	ERR_clear_error();
	BIO_free(bio);
	assert_true(sk_X509_num(out) > 0);
	return out;
}

/* The live cadir's bundle is this CA's (subjects and keys of the old one,
 * whatever the validity) and its first certificate is ca_key.pem's. */
static void
assert_cadir(struct env *e)
{
	char *p = flow_fmt("%s/ca_crt.pem", e->cadir), *text = flow_read(p);
	char *kp = flow_fmt("%s/ca_key.pem", e->cadir);
	STACK_OF(X509) *old = certs_of(e->old_bundle), *live = certs_of(text);
	EVP_PKEY *key;
	FILE *f;
	int i;

	assert_int_equal(sk_X509_num(live), sk_X509_num(old));
	for (i = 0; i < sk_X509_num(old); i++) {
		X509 *a = sk_X509_value(old, i), *b = sk_X509_value(live, i);

		assert_int_equal(X509_NAME_cmp(X509_get_subject_name(a),
		    X509_get_subject_name(b)), 0);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(a),
		    X509_get0_pubkey(b)), 1);
	}
	assert_non_null(f = fopen(kp, "r"));
	assert_non_null(key = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	assert_int_equal(X509_check_private_key(sk_X509_value(live, 0), key), 1);
	EVP_PKEY_free(key);
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(live, X509_free);
	free(text);
	free(p);
	free(kp);
}

static bool
same_file(const char *a, const char *b)
{
	char *x = flow_read(a), *y = flow_read(b);
	bool same = strcmp(x, y) == 0;

	free(x);
	free(y);
	return same;
}

bool
server_pair_consistent(struct env *e)
{
	char *a = flow_fmt("%s/certs/ca.pem", e->ssl);
	char *b = flow_fmt("%s/ca_crt.pem", e->cadir);
	char *c = flow_fmt("%s/certs/" CERTNAME ".pem", e->ssl);
	char *d = flow_fmt("%s/signed/" CERTNAME ".pem", e->cadir);
	bool ok = same_file(a, b) && same_file(c, d);

	free(a);
	free(b);
	free(c);
	free(d);
	return ok;
}

void
check_server_live(struct env *e)
{
	char fp[FP_LEN], signed_fp[FP_LEN];
	char *journal = flow_fmt("%s.server/" CR_JOURNAL_FILE, e->staging);
	char *sp = flow_fmt("%s/signed/" CERTNAME ".pem", e->cadir);
	STACK_OF(X509) *sc;
	char *text;

	assert_identity(e->ssl, fp);
	assert_cadir(e);
	if (strcmp(fp, e->old_fp) != 0) {
		text = flow_read(sp);
		sc = certs_of(text);
		hex_fp(sk_X509_value(sc, 0), signed_fp);
		assert_string_equal(fp, signed_fp);
		sk_X509_pop_free(sc, X509_free);
		free(text);
	}
	if (!server_pair_consistent(e)) {
		assert_false(json_is_true(json_object_get(e->ca.svc,
		    "puppetserver")));
		assert_true(flow_exists(journal));
	}
	free(journal);
	free(sp);
}

#endif
