/*
 * cr_err.c - the error record (see cr_err.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "cr_err.h"
#include "cr_json.h"

void
cr_err_init(cr_err *e)
{
	memset(e, 0, sizeof(*e));
}

void
cr_err_clear(cr_err *e)
{
	if (e == NULL)
		return;
	json_decref(e->details);
	cr_err_init(e);
}

static void
err_vset(cr_err *e, const char *kind, const char *fmt, va_list ap)
{
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->set = true;
}

void
cr_err_set(cr_err *e, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL || e->set)
		return;
	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
}

char *
cr_openssl_errors(char *buf, size_t len)
{
	unsigned long code;
	size_t used = 0;
	char one[256];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, one, sizeof(one));
		if (used < len) {
			int n = snprintf(buf + used, len - used, "%s%s",
			    used ? "; " : "", one);
			if (n > 0)
				used += (size_t)n;
		}
	}
	return buf;
}

void
cr_err_openssl(cr_err *e, const char *fmt, ...)
{
	va_list ap;
	char queue[1024];
	size_t n;

	cr_openssl_errors(queue, sizeof(queue));	/* always drain */
	if (e == NULL || e->set)
		return;
	va_start(ap, fmt);
	err_vset(e, CR_KIND_OPENSSL, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (queue[0] != '\0' && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", queue);
}

void
cr_err_errno(cr_err *e, const char *kind, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (e == NULL || e->set)
		return;
	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
		    strerror(errnum));
	cr_err_detail_new(e, "errno", json_integer(errnum));
}

void
cr_err_set_step(cr_err *e, const char *step)
{
	if (e == NULL || e->step[0] != '\0')
		return;
	snprintf(e->step, sizeof(e->step), "%s", step);
}

void
cr_err_detail_new(cr_err *e, const char *key, json_t *value)
{
	if (e == NULL || value == NULL) {
		json_decref(value);
		return;
	}
	if (e->details == NULL)
		e->details = json_object();
	if (e->details == NULL)
		json_decref(value);
	else
		json_object_set_new(e->details, key, value);
}

void
cr_err_next(cr_err *e, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (e == NULL || !e->set ||
	    json_object_get(e->details, "next_step") != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cr_err_detail_new(e, "next_step", cr_json_str(buf));
}

void
cr_err_live(cr_err *e, const char *live)
{
	if (e == NULL || !e->set || json_object_get(e->details, "live") != NULL)
		return;
	cr_err_detail_new(e, "live", json_string(live));
}

bool
cr_err_is(const cr_err *e, const char *kind)
{
	return e != NULL && e->set && strcmp(e->kind, kind) == 0;
}

/*
 * The one registry of error kinds (every CR_KIND_* of ext/core, and the
 * kinds files/launch.sh prints) with the next step an operator takes when
 * the flow that failed named none.  tests/lint/check_error_kinds.rb checks
 * that every kind defined anywhere is here and in docs/troubleshooting.md.
 */
static const struct cr_err_kind_info kind_registry[] = {
	{ "cert_regen/invalid-parameter", "correct the parameter named above "
	    "and run the task again." },
	{ "cert_regen/unsupported-platform", "run the task on a platform "
	    "cert_regen has a build for, or build one (docs/building.md: "
	    "Building for other agent Rubies and platforms)." },
	{ "cert_regen/io-error", "check the path named above (it must exist, "
	    "be a regular file or directory with the expected owner and mode, "
	    "on a file system with free space), then run the task again." },
	{ "cert_regen/parse-error", "check the file named above (put it back "
	    "from the backup under <ssldir>_bak, or regenerate it), then run "
	    "the task again." },
	{ "cert_regen/openssl-error", "check the key or certificate named "
	    "above with openssl (it may be damaged or of an unsupported type), "
	    "then run the task again." },
	{ "cert_regen/settings-error", "fix puppet.conf (check it with puppet "
	    "config print --section agent) or pass confdir and ssldir, then "
	    "run the task again." },
	{ "cert_regen/out-of-memory", "free memory on this host and run the "
	    "task again." },
	{ "cert_regen/internal-error", "run the task again; if it fails the "
	    "same way, report it with the task's JSON output (--format json)." },
	{ "cert_regen/ca-not-cleaned", "clean the name on the CA (puppetserver "
	    "ca clean --certname <certname>, or cert_regen::ca_clean), then run "
	    "cert_regen::regenerate again." },
	{ "cert_regen/parameters-changed", "run again with the parameters "
	    "of the staged request to finish that run, or remove the request "
	    "on the CA (cert_regen::ca_clean) and the staging directory named "
	    "above, then run again with the new parameters." },
	{ "cert_regen/ca-key-changed", "nothing was changed: the fetched CA "
	    "bundle holds a key this node does not trust, so it is a new CA, "
	    "not a renewal; move the node with cert_regen::rebuild_ca's agent "
	    "step, or run cert_regen::regenerate with ca_fingerprint set to "
	    "the new CA's fingerprint." },
	{ "cert_regen/ca-renew-failed", "nothing was changed: put the CA's "
	    "keys named above back (ca_key.pem, and root_key.pem for a root "
	    "and intermediate CA) from the backup under <cadir>_bak, then run "
	    "cert_regen::ca_renew again." },
	{ "cert_regen/ca-pin-mismatch", "check ca_fingerprint against the "
	    "fingerprint the new CA printed (rebuild_ca's output) and that "
	    "ca_server is that CA, then run again; nothing was changed." },
	{ "cert_regen/path-symlink", "remove the symlink named above (or "
	    "give a backup_dir without symlinks) and run the task again." },
	{ "cert_regen/csr-conflict", "find out who submitted the pending CSR, "
	    "clean it on the CA (cert_regen::ca_clean), then run "
	    "cert_regen::regenerate again." },
	{ "cert_regen/csr-refused", "fix what the CA refused (details."
	    "ca_message), then run cert_regen::regenerate again; if the CA "
	    "kept the CSR pending, sign it with cert_regen::ca_sign." },
	{ "cert_regen/verify-failed", "nothing was installed: check the CA's "
	    "record of the name (cert_regen::ca_list), clean it "
	    "(cert_regen::ca_clean) and run cert_regen::regenerate again." },
	{ "cert_regen/ca-changed", "if the CA was rebuilt on purpose, run "
	    "cert_regen::regenerate again with ca_fingerprint set to the new "
	    "CA's SHA-256 fingerprint; otherwise check that ca_server names "
	    "your CA." },
	{ "cert_regen/service-error", "check the service (on Linux systemctl "
	    "status <service> and its journal, on Windows Get-Service "
	    "<service> and the System event log), fix it, then run the task "
	    "again." },
	{ "cert_regen/staging-conflict", "run the task again with the certname "
	    "and ssldir of the staged run, or, after checking it, remove the "
	    "staging directory named in details." },
	{ "cert_regen/ca-tool-failed", "read the tool's output in details, fix "
	    "the cause, then run the task again." },
	{ "cert_regen/server-check-failed", "read details for the check that "
	    "failed and the server's log, fix it, then run "
	    "cert_regen::check_server again." },
	{ "cert_regen/operation-in-progress", "let the other run finish (or "
	    "resume it: run the same task again), then run this task." },
	{ "cert_regen/server-still-running", "stop puppetserver (systemctl stop "
	    "puppetserver), then run the task again." },
	{ "cert_regen/server-unreachable", "check that puppetserver runs and "
	    "that its port is open from this host, then run the task again." },
	{ "cert_regen/server-tls-error", "check that the server's certificate "
	    "chains to this host's CA bundle (cert_regen::status), then run "
	    "the task again." },
	{ "cert_regen/server-cert-mismatch", "the server presents another "
	    "certificate than its files hold: check server and ca_server and "
	    "restart puppetserver, then run the task again." },
	{ "cert_regen/catalog-failed", "run puppet agent -t on this host to "
	    "see the catalog error, and fix it." },
	{ "cert_regen/ca-unreachable", "check that ca_server and ca_port name "
	    "the CA and that it runs and answers from this host, then run the "
	    "task again." },
	{ "cert_regen/ca-tls-error", "check that ca_server is the CA and that "
	    "this host's CA bundle (localcacert) is the CA's; after a CA "
	    "rebuild pass ca_fingerprint; then run the task again." },
	{ "cert_regen/ca-unauthorized", "use the CA host's own certificate "
	    "(run the task on the CA) or allow this certificate for "
	    "certificate_status in puppetserver's auth.conf, then run the task "
	    "again." },
	{ "cert_regen/ca-error", "read the CA's answer in details and "
	    "puppetserver's log, fix the cause, then run the task again." },
	{ "cert_regen/ca-protocol-error", "check that ca_server and ca_port "
	    "name a puppetserver CA (not a proxy or another service), then run "
	    "the task again." },
	{ "cert_regen/ca-partial-failure", "read details.results: each failed "
	    "name has its own next step; fix those and run the task again for "
	    "them." },
	{ "cert_regen/fingerprint-mismatch", "find out who submitted that CSR; "
	    "clean it on the CA (cert_regen::ca_clean) and run "
	    "cert_regen::regenerate on the agent." },
	{ "cert_regen/no-request", "run cert_regen::regenerate on the agent "
	    "first (it submits the CSR), then sign." },
	{ "cert_regen/sign-refused", "set allow-subject-alt-names: true in the "
	    "certificate-authority section of puppetserver's ca.conf, reload "
	    "puppetserver, then sign again." },
	{ "cert_regen/locked", "wait for the puppet run that holds the lock to "
	    "finish (or raise lock_timeout), then run the task again." },
	{ "cert_regen/not-a-ca-host", "run the task on the CA host, or pass "
	    "confdir naming the CA's confdir (in the plans: set the CA "
	    "target's variable cert_regen_confdir)." },
	{ "cert_regen/backup-revoked", "regenerate instead: run "
	    "cert_regen::regenerate on the agent (or the plan "
	    "cert_regen::regenerate_agents); restore with allow_revoked=true "
	    "only if you know the CA will accept it." },
	{ NULL, NULL },
};

#define GENERIC_NEXT_STEP "read the message and details, fix the cause, " \
	"then run the task again."

const struct cr_err_kind_info *
cr_err_kinds(void)
{
	return kind_registry;
}

const char *
cr_err_kind_next_step(const char *kind)
{
	const struct cr_err_kind_info *k;

	for (k = kind_registry; kind != NULL && k->kind != NULL; k++)
		if (strcmp(k->kind, kind) == 0)
			return k->next_step;
	return GENERIC_NEXT_STEP;
}

const char *
cr_err_next_step(const cr_err *e)
{
	const char *ns = json_string_value(json_object_get(e->details,
	    "next_step"));

	if (ns != NULL && ns[0] != '\0')
		return ns;
	return cr_err_kind_next_step(e->kind[0] ? e->kind : CR_KIND_INTERNAL);
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

char *
cr_err_message_new(const cr_err *e)
{
	const char *msg = e->msg[0] ? e->msg : "unknown error";
	const char *ns = cr_err_next_step(e);
	const char *sep;
	char *out = NULL;
	size_t n;

	if (strstr(msg, "Next step: ") != NULL && ends_with(msg, ns))
		return strdup(msg);
	n = strlen(msg);
	/* a sentence ends before "Next step" */
	sep = (n > 0 && strchr(".!?", msg[n - 1]) != NULL) ? " " : ". ";
	if (asprintf(&out, "%s%sNext step: %s", msg, sep, ns) < 0)
		out = NULL;
	return out;
}

json_t *
cr_err_to_json(const cr_err *e)
{
	json_t *out = NULL, *details = NULL;
	char *msg = NULL;

	details = e->details ? json_deep_copy(e->details) : json_object();
	if (details == NULL || (msg = cr_err_message_new(e)) == NULL)
		goto out;
	if (e->step[0] != '\0')
		json_object_set_new(details, "step", json_string(e->step));
	if (!json_is_string(json_object_get(details, "next_step")) ||
	    json_string_length(json_object_get(details, "next_step")) == 0)
		json_object_set_new(details, "next_step",
		    cr_json_str(cr_err_next_step(e)));
	if ((out = json_object()) == NULL)
		goto out;
	json_object_set_new(out, "msg", cr_json_str(msg));
	json_object_set_new(out, "kind",
	    cr_json_str(e->kind[0] ? e->kind : CR_KIND_INTERNAL));
	json_object_set(out, "details", details);
out:
	free(msg);
	json_decref(details);
	return out;
}
