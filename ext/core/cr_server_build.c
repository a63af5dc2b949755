/*
 * cr_server_build.c - the new ssldir and cadir of a server operation,
 * built beside the live ones while the server is stopped, then verified
 * (see cr_server.c for the flow around it).
 *
 *   primary_cert     copies of both directories; in the copy, the old
 *                    certificate is revoked in the CA's CRL (cr_crl_edit)
 *                    and removed, and `puppetserver ca generate --ca-client`
 *                    (puppetserver's own offline signer: the certificate
 *                    carries pp_cli_auth, like the one `ca setup` makes)
 *                    makes the new one with the same names and pp_*
 *                    extensions; its inventory line is added
 *   ca_rebuild       empty directories; `puppetserver ca setup` makes a
 *                    new root + intermediate CA and the primary's cert
 *   primary_restore  verified copies of a backup pair
 *   ca_renew         copies of both directories; in the copy, the CA
 *                    certificates are signed again with the same keys and
 *                    a new validity (cr_ca_renew) and written to cacert and
 *                    localcacert; the CRLs are kept (same keys) and must
 *                    verify against the new certificates
 *
 * The CA tool runs as an argv array, on a puppet.conf of its own that
 * points it at the staged directories.  Owners and modes of the live
 * directories are carried over to the new files, so a puppetserver that
 * runs as the puppet user can still read them.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cr_ca_renew.h"
#include "cr_crl_edit.h"
#include "cr_csr.h"
#include "cr_fs.h"
#include "cr_json.h"
#include "cr_lock.h"
#include "cr_proc.h"
#include "cr_identity.h"
#include "cr_settings.h"
#include "cr_server_int.h"
#include "cr_swap.h"
#include "cr_x509.h"

#define TOOL_TIMEOUT_MS (10 * 60 * 1000)
#define TOOL_OUT_MAX ((size_t)64 << 10)
#define TOOL_DETAIL_MAX 4000
#define CLI_AUTH_OID "1.3.6.1.4.1.34380.1.3.39"
#define FILE_MAX ((size_t)64 << 20)

/* ------------------------------------------------------------- names -- */

static bool
names_add(json_t *list, const char *prefix, const char *name)
{
	char *s = NULL;
	json_t *v;
	size_t i;

	if (asprintf(&s, "%s%s", prefix, name) == -1)
		return false;
	json_array_foreach(list, i, v)
		if (strcasecmp(json_string_value(v), s) == 0) {
			free(s);
			return true;
		}
	json_array_append_new(list, cr_json_str(s));
	free(s);
	return true;
}

/* restore: the backups to put back, resolved once and journaled */
static bool
restore_sources(struct srv *s, cr_err *err)
{
	json_t *src = json_object_get(s->journal, "sources");
	char *root_s = NULL, *root_c = NULL;
	bool ok = false;

	if (src != NULL) {
		const char *a = json_string_value(json_object_get(src, "ssldir"));
		const char *b = json_string_value(json_object_get(src, "cadir"));

		if (a == NULL || b == NULL) {
			cr_err_set(err, CR_KIND_PARSE, "the journal names no "
			    "backups to restore");
			goto out;
		}
		s->src_ssl = strdup(a);
		s->src_ca = strdup(b);
		ok = s->src_ssl != NULL && s->src_ca != NULL;
		goto out;
	}
	if (s->o->backup_dir != NULL &&
	    ((root_s = cr_path_join(s->o->backup_dir, "ssl")) == NULL ||
	    (root_c = cr_path_join(s->o->backup_dir, "ca")) == NULL)) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (s->o->backup == NULL || strcmp(s->o->backup, "latest") == 0)
		s->src_ssl = cr_backup_latest(s->ssldir, root_s, err);
	else if ((s->src_ssl = realpath(s->o->backup, NULL)) == NULL)
		cr_err_errno(err, CR_KIND_INVALID_PARAMETER, errno,
		    "the backup %s", s->o->backup);
	if (s->src_ssl == NULL)
		goto out;
	if (s->o->ca_backup == NULL || strcmp(s->o->ca_backup, "latest") == 0)
		s->src_ca = cr_backup_latest(s->cadir, root_c, err);
	else if ((s->src_ca = realpath(s->o->ca_backup, NULL)) == NULL)
		cr_err_errno(err, CR_KIND_INVALID_PARAMETER, errno,
		    "the CA backup %s", s->o->ca_backup);
	if (s->src_ca == NULL)
		goto out;
	if (s->journal != NULL)
		json_object_set_new(s->journal, "sources", json_pack(
		    "{s:s, s:s}", "ssldir", s->src_ssl, "cadir", s->src_ca));
	ok = true;
out:
	if (ok)
		json_object_set_new(s->result, "restored_from", json_pack(
		    "{s:s, s:s}", "ssldir", s->src_ssl, "cadir", s->src_ca));
	free(root_s);
	free(root_c);
	return ok;
}

bool
srv_alt_names(struct srv *s, cr_err *err)
{
	json_t *dns = NULL, *ip = NULL, *v;
	const char *setting;
	size_t i;
	bool ok = false;

	if (s->o->op == CR_SRV_RESTORE)
		return s->src_ssl != NULL || restore_sources(s, err);
	if (s->alt_names != NULL)
		return true;
	if ((dns = json_array()) == NULL || (ip = json_array()) == NULL || ip == NULL || (s->alt_names = json_array()) == NULL)
		goto nomem;
	if (s->o->dns_alt_names != NULL) {
		json_array_foreach(s->o->dns_alt_names, i, v)
			cr_identity_alt_name_add(dns, ip, json_string_value(v));
	} else if (s->old_cert != NULL) {
		cr_sans_json(X509_get0_extensions(s->old_cert), dns, ip);
	} else if ((setting = cr_settings_get(s->set, "dns_alt_names")) != NULL) {
		char *copy = strdup(setting), *tok, *save = NULL;

		for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			if (*tok != '\0')
				cr_identity_alt_name_add(dns, ip, tok);
		}
		free(copy);
	}
	if (!names_add(s->alt_names, "DNS:", s->certname))
		goto nomem;
	json_array_foreach(dns, i, v) {
		const char *n = json_string_value(v);
		if (strpbrk(n, ", \t\n") != NULL || !cr_dns_name_valid(n)) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER, "'%s' is not "
			    "a DNS name", n);
			goto out;
		}
		if (!names_add(s->alt_names, "DNS:", n))
			goto nomem;
	}
	json_array_foreach(ip, i, v) {
		const char *n = json_string_value(v);
		if (strpbrk(n, ", \t\n") != NULL) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER, "'%s' is not "
			    "an IP address", n);
			goto out;
		}
		if (!names_add(s->alt_names, "IP:", n))
			goto nomem;
	}
	json_object_set(s->result, "dns_alt_names", s->alt_names);
	ok = true;
	goto out;
nomem:
	cr_err_set(err, CR_KIND_NOMEM, "out of memory");
out:
	json_decref(dns);
	json_decref(ip);
	if (!ok) {
		json_decref(s->alt_names);
		s->alt_names = NULL;
	}
	return ok;
}

/* "DNS:a,DNS:b,IP:c" (new string). */
static char *
names_joined(const struct srv *s)
{
	size_t i, n = 1;
	json_t *v;
	char *out;

	json_array_foreach(s->alt_names, i, v)
		n += strlen(json_string_value(v)) + 1;
	if ((out = calloc(1, n)) == NULL)
		return NULL;
	json_array_foreach(s->alt_names, i, v) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, json_string_value(v));
	}
	return out;
}

/* ------------------------------------------------------------ the tool -- */

static const char *
tool_path(const struct srv *s)
{
	static const char *const known[] = {
		"/opt/puppetlabs/bin/puppetserver", "/usr/bin/puppetserver",
		NULL
	};
	size_t i;

	if (s->o->puppetserver != NULL)
		return s->o->puppetserver;
	for (i = 0; known[i] != NULL; i++)
		if (access(known[i], X_OK) == 0)
			return known[i];
	return NULL;
}

/* `puppetserver ca ARGS...`; its output goes into details on failure. */
static bool
run_tool(const struct srv *s, const char *const *args, cr_err *err)
{
	const char *argv[24] = { NULL }, *envp[4] = { NULL };
	char home[600], out[TOOL_DETAIL_MAX];
	struct cr_proc_opts po = { 0 };
	struct cr_proc_result res = { 0 };
	const char *bin = tool_path(s), *h = getenv("HOME");
	json_t *cmd = json_array();
	size_t i, n = 0;
	bool ok = false;

	if (bin == NULL) {
		cr_err_set(err, CR_KIND_CA_TOOL, "puppetserver is not installed "
		    "here (no /opt/puppetlabs/bin/puppetserver, no "
		    "/usr/bin/puppetserver): run this task on the CA host, or "
		    "name the program with the parameter 'puppetserver'");
		goto out;
	}
	argv[n++] = bin;
	argv[n++] = "ca";
	for (i = 0; args[i] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1;
	    i++)
		argv[n++] = args[i];
	for (i = 0; i < n; i++)
		json_array_append_new(cmd, cr_json_str(argv[i]));
	snprintf(home, sizeof(home), "HOME=%s", h && strlen(h) < 500 ? h :
	    "/root");
	envp[0] = "PATH=/opt/puppetlabs/bin:/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin";
	envp[1] = "LANG=C.UTF-8";
	envp[2] = home;
	po.argv = argv;
	po.envp = envp;
	po.max_out = TOOL_OUT_MAX;
	po.max_err = TOOL_OUT_MAX;
	po.timeout_ms = TOOL_TIMEOUT_MS;
	if (!s->ops->ca_tool(s->ops->ctx, &po, &res, err))
		goto out;
	if (!cr_proc_succeeded(&res)) {
		snprintf(out, sizeof(out), "%s%s%s", res.out ? res.out : "",
		    res.out_len && res.err_len ? "\n" : "",
		    res.err ? res.err : "");
		cr_err_set(err, CR_KIND_CA_TOOL, "puppetserver ca %s failed "
		    "(exit %d): %.300s", args[0], res.exited ? res.exit_code :
		    -1, out);
		cr_err_detail_new(err, "command", json_incref(cmd));
		cr_err_detail_new(err, "output", cr_json_str(out));
		goto out;
	}
	ok = true;
out:
	cr_proc_result_free(&res);
	json_decref(cmd);
	return ok;
}

/* A value the CA tool's puppet.conf reader keeps whole. */
static bool
conf_value_ok(const char *name, const char *v, cr_err *err)
{
	if (v == NULL || *v == '\0' || strpbrk(v, " \t\r\n{#") != NULL) {
		cr_err_set(err, CR_KIND_SETTINGS, "%s '%s' is empty or holds a "
		    "space, '{' or '#', which `puppetserver ca` cannot read",
		    name, v ? v : "");
		return false;
	}
	return true;
}

/* <staging>/puppet.conf pointing the CA tool at the staged dirs. */
static char *
tool_conf(const struct srv *s, const char *attributes, cr_err *err)
{
	const char *names[] = { "certname", "server", "ca_server", "ca_port",
		"keylength", NULL };
	const char *vals[6];
	char *path = cr_path_join(s->staging, "puppet.conf"), *text = NULL;
	size_t i;

	vals[0] = s->certname;
	vals[1] = cr_settings_get(s->set, "ca_server");
	vals[2] = cr_settings_get(s->set, "ca_server");
	vals[3] = cr_settings_get(s->set, "ca_port");
	vals[4] = cr_settings_get(s->set, "keylength");
	for (i = 0; names[i] != NULL; i++)
		if (!conf_value_ok(names[i], vals[i], err))
			goto fail;
	if (!conf_value_ok("ssldir", s->new_ssl, err) ||
	    !conf_value_ok("cadir", s->new_ca, err) ||
	    !conf_value_ok("csr_attributes", attributes, err))
		goto fail;
	if (path == NULL || asprintf(&text, "# written by cert_regen for "
	    "`puppetserver ca`; removed after the run\n[main]\n"
	    "certname = %s\nserver = %s\nserverport = %s\nca_server = %s\n"
	    "ca_port = %s\nkeylength = %s\nssldir = %s\ncadir = %s\n"
	    "csr_attributes = %s\n", vals[0], vals[1], vals[3], vals[2],
	    vals[3], vals[4], s->new_ssl, s->new_ca, attributes) == -1) {
		text = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto fail;
	}
	if (!cr_file_write_atomic(path, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1, err))
		goto fail;
	free(text);
	return path;
fail:
	free(text);
	free(path);
	return NULL;
}

/* <staging>/csr_attributes.yaml with the old cert's pp_* extensions (JSON
 * is YAML); always written, empty when there is nothing to carry. */
static char *
attributes_file(const struct srv *s, cr_err *err)
{
	json_t *ext = json_object(), *doc;
	char *path = cr_path_join(s->staging, "csr_attributes.yaml");
	char *text = NULL;
	bool ok = false;

	if (s->old_cert != NULL)
		cr_identity_carry_extensions(s->old_cert, ext);
	doc = json_pack("{s:O}", "extension_requests", ext);
	if (path == NULL || doc == NULL || (text = json_dumps(doc,
	    JSON_SORT_KEYS)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = cr_file_write_atomic(path, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1, err);
out:
	json_decref(ext);
	json_decref(doc);
	free(text);
	if (!ok) {
		free(path);
		path = NULL;
	}
	return path;
}

/* ---------------------------------------------------- owners and modes -- */

static const char *adopt_live, *adopt_root;
static size_t adopt_root_len;
static int adopt_errno;

static int
adopt_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	char *live = NULL;
	struct stat ls, ps;
	const char *rel = path + adopt_root_len;
	char *parent = NULL, *slash;

	(void)flag;
	(void)f;
	if (S_ISLNK(st->st_mode))
		return 0;
	if (asprintf(&live, "%s%s", adopt_live, rel) == -1)
		return adopt_errno = ENOMEM;
	if (lstat(live, &ls) == 0 && (ls.st_mode & S_IFMT) ==
	    (st->st_mode & S_IFMT)) {
		if (lchown(path, ls.st_uid, ls.st_gid) == -1 ||
		    chmod(path, ls.st_mode & 07777) == -1)
			adopt_errno = errno;
	} else if ((parent = strdup(path)) != NULL &&
	    (slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (lstat(parent, &ps) == 0 &&
		    lchown(path, ps.st_uid, ps.st_gid) == -1)
			adopt_errno = errno;
	}
	free(parent);
	free(live);
	return adopt_errno;
}

/* Gives every file of built the owner and mode of its live counterpart,
 * or the owner of its directory when it is new. */
static bool
adopt_owners(const char *live, const char *built, cr_err *err)
{
	adopt_live = live;
	adopt_root = built;
	adopt_root_len = strlen(built);
	adopt_errno = 0;
	if (nftw(built, adopt_one, 16, FTW_PHYS) != 0 || adopt_errno != 0) {
		cr_err_errno(err, CR_KIND_IO, adopt_errno ? adopt_errno : errno,
		    "cannot set owners and modes in %s", built);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------- the files -- */

/* built/<rel of setting in live> (new string). */
static char *
staged(const struct srv *s, bool ca, const char *setting, cr_err *err)
{
	const char *rel = srv_rel(ca ? cr_settings_get(s->set, "cadir") :
	    cr_settings_get(s->set, "ssldir"), cr_settings_get(s->set,
	    setting), setting, err);
	char *out = rel ? cr_path_join(ca ? s->new_ca : s->new_ssl, rel) : NULL;

	if (rel != NULL && out == NULL)
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
	return out;
}

static bool
unlink_staged(const struct srv *s, bool ca, const char *setting,
    const char *suffix, cr_err *err)
{
	char *p = staged(s, ca, setting, err), *full = NULL;
	bool ok = false;

	if (p == NULL)
		return false;
	if (asprintf(&full, "%s%s", p, suffix ? suffix : "") == -1) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (unlink(full) == -1 && errno != ENOENT) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot remove %s", full);
		goto out;
	}
	ok = true;
out:
	free(p);
	free(full);
	return ok;
}

/* Writes text over an existing file, keeping its owner and mode. */
static bool
rewrite(const char *path, const char *text, size_t len, cr_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		st.st_uid = (uid_t)-1;
		st.st_gid = (gid_t)-1;
		st.st_mode = 0644;
	}
	return cr_file_write_atomic(path, text, len, st.st_mode & 0777,
	    st.st_uid, st.st_gid, err);
}

/* Revokes the old certificate in the staged CA's CRL; the staged
 * hostcrl gets the same chain. */
static bool
revoke_old(struct srv *s, cr_err *err)
{
	char *cacert = staged(s, true, "cacert", err);
	char *cakey = cacert ? staged(s, true, "cakey", err) : NULL;
	char *cacrl = cakey ? staged(s, true, "cacrl", err) : NULL;
	char *hostcrl = cacrl ? staged(s, false, "hostcrl", err) : NULL;
	STACK_OF(X509) *ca = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	size_t len = 0;
	bool ok = false, changed = false;

	if (hostcrl == NULL || (ca = cr_certs_read(cacert, err)) == NULL ||
	    (key = cr_key_read(cakey, err)) == NULL ||
	    (crls = cr_crls_read(cacrl, err)) == NULL ||
	    !cr_crl_revoke(crls, sk_X509_value(ca, 0), key,
	    X509_get0_serialNumber(s->old_cert), time(NULL), &changed, err) ||
	    (pem = cr_crls_pem(crls, &len, err)) == NULL ||
	    !rewrite(cacrl, pem, len, err) || !rewrite(hostcrl, pem, len, err))
		goto out;
	json_object_set_new(s->result, "old_revoked", json_boolean(true));
	ok = true;
out:
	sk_X509_pop_free(ca, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	EVP_PKEY_free(key);
	free(pem);
	free(cacert);
	free(cakey);
	free(cacrl);
	free(hostcrl);
	return ok;
}

/* The inventory line `ca generate --ca-client` does not write. */
static bool
add_inventory(struct srv *s, X509 *x, cr_err *err)
{
	char *path = staged(s, true, "cert_inventory", err), *buf = NULL;
	char *hex = NULL, *line = NULL, *text = NULL, nb[32], na[32];
	BIGNUM *bn = NULL;
	time_t t1 = 0, t2 = 0;
	struct tm tm;
	size_t len = 0, i;
	bool ok = false;
	cr_err e;

	cr_err_init(&e);
	if (path == NULL)
		goto out;
	if (!cr_file_read(path, FILE_MAX, &buf, &len, &e)) {
		buf = NULL;
		len = 0;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL ||
	    !cr_asn1_time_epoch(X509_get0_notBefore(x), &t1) ||
	    !cr_asn1_time_epoch(X509_get0_notAfter(x), &t2)) {
		cr_err_openssl(err, "cannot read the new certificate");
		goto out;
	}
	for (i = 0; hex[i] != '\0'; i++)
		hex[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 :
		    hex[i]);
	strftime(nb, sizeof(nb), "%Y-%m-%dT%H:%M:%SUTC", gmtime_r(&t1, &tm));
	strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SUTC", gmtime_r(&t2, &tm));
	if (asprintf(&line, "0x%s%s %s %s /CN=%s\n", strlen(hex) < 4 ?
	    &"000"[strlen(hex) - 1] : "", hex, nb, na, s->certname) == -1 ||
	    asprintf(&text, "%.*s%s%s", (int)len, buf ? buf : "",
	    len > 0 && buf[len - 1] != '\n' ? "\n" : "", line) == -1) {
		line = text = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = rewrite(path, text, strlen(text), err);
out:
	cr_err_clear(&e);
	BN_free(bn);
	OPENSSL_free(hex);
	free(path);
	free(buf);
	free(line);
	free(text);
	return ok;
}

/* ------------------------------------------------------------ verify -- */

static bool
has_name(X509 *x, const char *want)
{
	json_t *dns = json_array(), *ip = json_array(), *v;
	bool found = false;
	size_t i;

	cr_sans_json(X509_get0_extensions(x), dns, ip);
	json_array_foreach(strncmp(want, "IP:", 3) == 0 ? ip : dns, i, v)
		if (strcasecmp(json_string_value(v), strchr(want, ':') + 1) == 0)
			found = true;
	json_decref(dns);
	json_decref(ip);
	return found;
}

static bool
has_cli_auth(X509 *x)
{
	ASN1_OBJECT *o = OBJ_txt2obj(CLI_AUTH_OID, 1);
	int i = o ? X509_get_ext_by_OBJ(x, o, -1) : -1;

	ASN1_OBJECT_free(o);
	return i >= 0;
}

/*
 * The staged identity: one cert for the certname, the staged key's, that
 * chains to the staged bundle with the staged CRLs, carries pp_cli_auth
 * (what lets the CA host use the CA API) and the names asked for, is in
 * the staged CA's signed/ and (when a CA key is there) was signed by it.
 */
static bool
verify_staged(struct srv *s, X509 **cert_out, cr_err *err)
{
	char *p_cert = staged(s, false, "hostcert", err);
	char *p_key = p_cert ? staged(s, false, "hostprivkey", err) : NULL;
	char *p_ca = p_key ? staged(s, false, "localcacert", err) : NULL;
	char *p_crl = p_ca ? staged(s, false, "hostcrl", err) : NULL;
	char *p_cacert = p_crl ? staged(s, true, "cacert", err) : NULL;
	char *p_cakey = p_cacert ? staged(s, true, "cakey", err) : NULL;
	char *p_signed = p_cakey ? staged(s, true, "signeddir", err) : NULL;
	char *signed_file = NULL, *a = NULL, *b = NULL;
	STACK_OF(X509) *cert = NULL, *bundle = NULL, *cabundle = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	EVP_PKEY *key = NULL, *cakey = NULL;
	const char *why = NULL;
	size_t al = 0, bl = 0, i;
	json_t *v;
	bool ok = false;

	if (p_signed == NULL)
		goto out;
	if (asprintf(&signed_file, "%s/%s.pem", p_signed, s->certname) == -1) {
		signed_file = NULL;
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((cert = cr_certs_read(p_cert, err)) == NULL ||
	    (key = cr_key_read(p_key, err)) == NULL ||
	    (bundle = cr_certs_read(p_ca, err)) == NULL ||
	    (cabundle = cr_certs_read(p_cacert, err)) == NULL ||
	    (crls = cr_crls_read(p_crl, err)) == NULL ||
	    (cakey = cr_key_read(p_cakey, err)) == NULL)
		goto out;
	if (sk_X509_num(cert) != 1 || cr_key_matches(sk_X509_value(cert, 0),
	    key) != 1) {
		cr_err_set(err, CR_KIND_CA_TOOL, "the new certificate is not "
		    "one certificate for the new key");
		goto out;
	}
	if (cr_verify_chain(sk_X509_value(cert, 0), bundle, crls, CR_CRL_CHAIN,
	    time(NULL), &why, err) != 1) {
		if (!err->set)
			cr_err_set(err, CR_KIND_CA_TOOL, "the new certificate "
			    "does not verify against the new CA bundle and "
			    "CRLs: %s", why ? why : "?");
		goto out;
	}
	if (X509_check_private_key(sk_X509_value(cabundle, 0), cakey) != 1 ||
	    X509_verify(sk_X509_value(cert, 0), cakey) != 1) {
		ERR_clear_error();
		cr_err_set(err, CR_KIND_CA_TOOL, "the new certificate was not "
		    "signed with the CA key in %s", p_cakey);
		goto out;
	}
	if (!cr_file_read(p_ca, FILE_MAX, &a, &al, err) ||
	    !cr_file_read(p_cacert, FILE_MAX, &b, &bl, err))
		goto out;
	if (al != bl || memcmp(a, b, al) != 0) {
		cr_err_set(err, CR_KIND_CA_TOOL, "the new ssldir's CA bundle "
		    "is not the CA's own %s", p_cacert);
		goto out;
	}
	free(a);
	free(b);
	a = b = NULL;
	if (!cr_file_read(p_cert, FILE_MAX, &a, &al, err) ||
	    !cr_file_read(signed_file, FILE_MAX, &b, &bl, err))
		goto out;
	if (al != bl || memcmp(a, b, al) != 0) {
		cr_err_set(err, CR_KIND_CA_TOOL, "the CA's copy %s is not the "
		    "new certificate", signed_file);
		goto out;
	}
	if (!has_cli_auth(sk_X509_value(cert, 0))) {
		cr_err_set(err, CR_KIND_CA_TOOL, "the new certificate lacks "
		    "pp_cli_auth: the CA API would refuse this host");
		goto out;
	}
	json_array_foreach(s->alt_names, i, v)
		if (!has_name(sk_X509_value(cert, 0), json_string_value(v))) {
			cr_err_set(err, CR_KIND_CA_TOOL, "the new certificate "
			    "lacks the name %s", json_string_value(v));
			goto out;
		}
	*cert_out = sk_X509_shift(cert);
	ok = true;
out:
	if (!ok)
		ERR_clear_error();
	sk_X509_pop_free(cert, X509_free);
	sk_X509_pop_free(bundle, X509_free);
	sk_X509_pop_free(cabundle, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	free(p_cert);
	free(p_key);
	free(p_ca);
	free(p_crl);
	free(p_cacert);
	free(p_cakey);
	free(p_signed);
	free(signed_file);
	free(a);
	free(b);
	return ok;
}

/* ---------------------------------------------------------- the builds -- */

static bool
build_primary(struct srv *s, cr_err *err)
{
	char *attrs = NULL, *conf = NULL, *names = NULL;
	const char *args[12];
	bool ok = false;

	if (!cr_tree_copy(s->cadir, s->new_ca, err) ||
	    !cr_tree_copy(s->ssldir, s->new_ssl, err) ||
	    !cr_lock_drop_copy(s->set, s->new_ssl, err) ||
	    !unlink_staged(s, false, "hostcert", NULL, err) ||
	    !unlink_staged(s, false, "hostprivkey", NULL, err) ||
	    !unlink_staged(s, false, "hostpubkey", NULL, err) ||
	    !unlink_staged(s, false, "hostcsr", NULL, err))
		goto out;
	{
		char *suffix = NULL;
		if (asprintf(&suffix, "/%s.pem", s->certname) == -1) {
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
			goto out;
		}
		ok = unlink_staged(s, true, "signeddir", suffix, err);
		free(suffix);
		if (!ok)
			goto out;
		ok = false;
	}
	if (s->o->revoke_old && !revoke_old(s, err))
		goto out;
	if ((attrs = attributes_file(s, err)) == NULL ||
	    (conf = tool_conf(s, attrs, err)) == NULL ||
	    (names = names_joined(s)) == NULL) {
		if (!err->set)
			cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	args[0] = "generate";
	args[1] = "--config";
	args[2] = conf;
	args[3] = "--certname";
	args[4] = s->certname;
	args[5] = "--subject-alt-names";
	args[6] = names;
	args[7] = "--ca-client";
	args[8] = "--force";	/* we stopped the server: see server_down() */
	args[9] = NULL;
	ok = run_tool(s, args, err);
out:
	free(attrs);
	free(conf);
	free(names);
	return ok;
}

static bool
build_rebuild(struct srv *s, cr_err *err)
{
	char *attrs = NULL, *conf = NULL, *names = NULL;
	const char *args[12];
	size_t n = 0;
	bool ok = false;

	if (!cr_mkdir_p(s->new_ssl, 0771, err) ||
	    !cr_mkdir_p(s->new_ca, 0750, err) ||
	    (attrs = attributes_file(s, err)) == NULL ||
	    (conf = tool_conf(s, attrs, err)) == NULL)
		goto out;
	if ((names = names_joined(s)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	args[n++] = "setup";
	args[n++] = "--config";
	args[n++] = conf;
	args[n++] = "--certname";
	args[n++] = s->certname;
	args[n++] = "--subject-alt-names";
	args[n++] = names;
	if (s->o->ca_name != NULL) {
		args[n++] = "--ca-name";
		args[n++] = s->o->ca_name;
	}
	args[n] = NULL;
	ok = run_tool(s, args, err);
out:
	free(attrs);
	free(conf);
	free(names);
	return ok;
}

static bool
build_restore(struct srv *s, cr_err *err)
{
	struct stat st;
	char *certs = cr_path_join(s->src_ssl, "certs");
	bool ok = false;

	if (certs == NULL || lstat(certs, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "%s is not an ssldir "
		    "backup (no certs/ directory)", s->src_ssl);
		goto out;
	}
	ok = cr_tree_copy(s->src_ssl, s->new_ssl, err) &&
	    cr_tree_compare(s->src_ssl, s->new_ssl, err) &&
	    cr_tree_copy(s->src_ca, s->new_ca, err) &&
	    cr_tree_compare(s->src_ca, s->new_ca, err) &&
	    cr_lock_drop_copy(s->set, s->new_ssl, err);
out:
	free(certs);
	return ok;
}


/* ---------------------------------------------------------- ca_renew -- */

#define ROOT_KEY "root_key.pem"

/* The CA bundle under ca_base (live cadir or the staged copy) and its
 * renewal; the CA key and, when there, root_key.pem sign. */
static bool
renew_read(struct srv *s, const char *ca_base, STACK_OF(X509) **old_out,
    STACK_OF(X509) **new_out, cr_err *err)
{
	const char *rc = srv_rel(cr_settings_get(s->set, "cadir"),
	    cr_settings_get(s->set, "cacert"), "cacert", err);
	const char *rk = rc ? srv_rel(cr_settings_get(s->set, "cadir"),
	    cr_settings_get(s->set, "cakey"), "cakey", err) : NULL;
	char *p_cert = rk ? cr_path_join(ca_base, rc) : NULL;
	char *p_key = rk ? cr_path_join(ca_base, rk) : NULL;
	char *p_root = rk ? cr_path_join(ca_base, ROOT_KEY) : NULL;
	EVP_PKEY *keys[2] = { NULL, NULL };
	struct stat st;
	long days;
	bool ok = false;

	*old_out = *new_out = NULL;
	if (rk == NULL)
		goto out;
	if (p_cert == NULL || p_key == NULL || p_root == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if ((*old_out = cr_certs_read(p_cert, err)) == NULL ||
	    (keys[0] = cr_key_read(p_key, err)) == NULL)
		goto out;
	if (lstat(p_root, &st) == 0 && (keys[1] = cr_key_read(p_root, err)) ==
	    NULL)
		goto out;
	if (cr_key_matches(sk_X509_value(*old_out, 0), keys[0]) != 1) {
		cr_err_set(err, CR_KIND_CA_RENEW, "the CA key %s is not the key "
		    "of the first certificate of %s", p_key, p_cert);
		goto out;
	}
	days = s->o->days > 0 ? s->o->days : CR_CA_RENEW_DAYS_DEFAULT;
	if (!s->o->allow_shorter && !cr_ca_renew_not_shorter(*old_out,
	    time(NULL), days, err))
		goto out;
	*new_out = cr_ca_renew(*old_out, keys, 2, time(NULL), days, err);
	ok = *new_out != NULL;
out:
	if (!ok) {
		sk_X509_pop_free(*old_out, X509_free);
		*old_out = NULL;
	}
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
	free(p_cert);
	free(p_key);
	free(p_root);
	return ok;
}

static char *
not_after_of(X509 *x)
{
	time_t t = 0;
	char buf[21];

	if (!cr_asn1_time_epoch(X509_get0_notAfter(x), &t))
		return NULL;
	cr_iso8601(t, buf);
	return strdup(buf);
}

/* [{subject, old_fingerprint_sha256, old_not_after, new_not_after,
 * new_fingerprint_sha256 (with_new_fp)}...] */
static json_t *
renewal_json(STACK_OF(X509) *old, STACK_OF(X509) *fresh, bool with_new_fp)
{
	json_t *out = json_array();
	int i;

	for (i = 0; out != NULL && i < sk_X509_num(old); i++) {
		X509 *a = sk_X509_value(old, i), *b = sk_X509_value(fresh, i);
		char *subj = cr_name_string(X509_get_subject_name(a));
		char *fa = cr_fingerprint_x509(a, EVP_sha256());
		char *fb = with_new_fp ? cr_fingerprint_x509(b, EVP_sha256()) :
		    NULL;
		char *na = not_after_of(a), *nb = not_after_of(b);

		json_array_append_new(out, json_pack("{s:s?, s:b, s:s?, s:s?, "
		    "s:s?, s:s?}", "subject", subj, "root",
		    X509_check_issued(a, a) == X509_V_OK,
		    "old_fingerprint_sha256", fa, "old_not_after", na,
		    "new_fingerprint_sha256", fb, "new_not_after", nb));
		free(subj);
		free(fa);
		free(fb);
		free(na);
		free(nb);
	}
	return out;
}

bool
srv_renew_preview(struct srv *s, cr_err *err)
{
	STACK_OF(X509) *old = NULL, *fresh = NULL;

	if (!renew_read(s, s->cadir, &old, &fresh, err))
		return false;
	json_object_set_new(s->result, "renewal", renewal_json(old, fresh,
	    false));
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(fresh, X509_free);
	return true;
}

/* The CRLs in file still verify: each is signed by a certificate of the
 * new bundle that bears its issuer's name. */
static bool
crls_still_signed(const char *file, STACK_OF(X509) *bundle, cr_err *err)
{
	STACK_OF(X509_CRL) *crls = cr_crls_read(file, err);
	int bad;

	if (crls == NULL)
		return false;
	bad = cr_crls_unsigned(crls, bundle);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	if (bad >= 0)
		cr_err_set(err, CR_KIND_CA_RENEW, "CRL number %d of %s does not "
		    "verify against the renewed CA certificates", bad + 1, file);
	return bad < 0;
}

static json_t *
sha256_text(const char *text, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *hex;
	json_t *out;

	if (EVP_Digest(text, len, md, &n, EVP_sha256(), NULL) != 1)
		return json_null();
	hex = cr_hex_colon(md, n);
	out = hex ? cr_json_str(hex) : json_null();
	free(hex);
	return out;
}

static bool
build_renew(struct srv *s, cr_err *err)
{
	STACK_OF(X509) *old = NULL, *fresh = NULL;
	char *cacert = NULL, *local = NULL, *cacrl = NULL, *hostcrl = NULL;
	char *pem = NULL;
	size_t len = 0;
	bool ok = false;

	if (!cr_tree_copy(s->cadir, s->new_ca, err) ||
	    !cr_tree_copy(s->ssldir, s->new_ssl, err) ||
	    !cr_lock_drop_copy(s->set, s->new_ssl, err) ||
	    !renew_read(s, s->new_ca, &old, &fresh, err) ||
	    (cacert = staged(s, true, "cacert", err)) == NULL ||
	    (local = staged(s, false, "localcacert", err)) == NULL ||
	    (cacrl = staged(s, true, "cacrl", err)) == NULL ||
	    (hostcrl = staged(s, false, "hostcrl", err)) == NULL ||
	    (pem = cr_certs_pem(fresh, &len, err)) == NULL ||
	    !rewrite(cacert, pem, len, err) || !rewrite(local, pem, len, err) ||
	    !crls_still_signed(cacrl, fresh, err) ||
	    !crls_still_signed(hostcrl, fresh, err))
		goto out;
	json_object_set_new(s->result, "renewal", renewal_json(old, fresh,
	    true));
	json_object_set_new(s->result, "bundle_sha256", sha256_text(pem, len));
	ok = true;
out:
	sk_X509_pop_free(old, X509_free);
	sk_X509_pop_free(fresh, X509_free);
	free(cacert);
	free(local);
	free(cacrl);
	free(hostcrl);
	free(pem);
	return ok;
}

static json_t *
bundle_summary(const struct srv *s, cr_err *err)
{
	char *p = staged(s, true, "cacert", err);
	STACK_OF(X509) *certs = p ? cr_certs_read(p, err) : NULL;
	json_t *out = NULL, *list;
	int i;

	if (certs == NULL)
		goto out;
	list = json_array();
	for (i = 0; i < sk_X509_num(certs); i++)
		json_array_append_new(list, cr_ca_json(sk_X509_value(certs, i),
		    time(NULL)));
	{
		/* the root: the bundle's self-signed certificate */
		char *fp = NULL;
		for (i = 0; i < sk_X509_num(certs) && fp == NULL; i++) {
			X509 *x = sk_X509_value(certs, i);
			if (X509_check_issued(x, x) == X509_V_OK)
				fp = cr_fingerprint_x509(x, EVP_sha256());
		}
		out = json_pack("{s:o, s:s?}", "certificates", list,
		    "root_fingerprint_sha256", fp);
		free(fp);
	}
out:
	sk_X509_pop_free(certs, X509_free);
	free(p);
	return out;
}

bool
srv_build(struct srv *s, cr_err *err)
{
	X509 *x = NULL;
	bool ok = false;

	if (!cr_tree_remove(s->new_ssl, err) || !cr_tree_remove(s->new_ca, err) ||
	    !cr_mkdir_p(s->ca_staging, 0700, err))
		goto out;
	switch (s->o->op) {
	case CR_SRV_PRIMARY_CERT:
		ok = build_primary(s, err);
		break;
	case CR_SRV_CA_REBUILD:
		ok = build_rebuild(s, err);
		break;
	case CR_SRV_RESTORE:
		ok = build_restore(s, err);
		break;
	case CR_SRV_CA_RENEW:
		ok = build_renew(s, err);
		break;
	}
	if (!ok)
		goto out;
	ok = false;
	if (!verify_staged(s, &x, err))
		goto out;
	if (s->o->op == CR_SRV_PRIMARY_CERT && !add_inventory(s, x, err))
		goto out;
	if (s->o->op == CR_SRV_PRIMARY_CERT && s->old_cert != NULL &&
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(x),
	    X509_get0_serialNumber(s->old_cert)) == 0) {
		cr_err_set(err, CR_KIND_CA_TOOL, "the new certificate has the "
		    "old one's serial: the CA's serial file is behind");
		goto out;
	}
	if (s->o->op != CR_SRV_RESTORE &&
	    (!adopt_owners(s->ssldir, s->new_ssl, err) ||
	    !adopt_owners(s->cadir, s->new_ca, err)))
		goto out;
	json_object_set_new(s->result, "new", cr_identity_cert_summary(x));
	if (s->o->op != CR_SRV_PRIMARY_CERT) {
		json_t *ca = bundle_summary(s, err);
		if (ca == NULL)
			goto out;
		json_object_set_new(s->result, "new_ca", ca);
	}
	ok = true;
out:
	if (!ok)
		cr_err_set_step(err, "build");
	X509_free(x);
	return ok;
}
