/*
 * cr_err.h - one error record, filled by whichever core function failed.
 *
 * Every core function that can fail takes a `cr_err *` as its last argument
 * and fills it on failure (the first failure wins: later calls do not
 * overwrite a set error).  A task prints it as Bolt's `_error` object; the
 * Ruby extension turns it into a value and a Facter warning.
 */
#ifndef CR_ERR_H
#define CR_ERR_H

#include <stdbool.h>
#include <jansson.h>

#define CR_ERR_KIND_MAX 64
#define CR_ERR_MSG_MAX 2048
#define CR_ERR_STEP_MAX 64

typedef struct cr_err {
	bool set;
	char kind[CR_ERR_KIND_MAX];	/* "cert_regen/<what>" */
	char msg[CR_ERR_MSG_MAX];	/* one line a human can act on */
	char step[CR_ERR_STEP_MAX];	/* step of a task that failed, or "" */
	json_t *details;		/* owned object, or NULL */
} cr_err;

/* Error kinds shared by every face (docs/troubleshooting.md documents
 * them). */
#define CR_KIND_INVALID_PARAMETER "cert_regen/invalid-parameter"
#define CR_KIND_UNSUPPORTED_PLATFORM "cert_regen/unsupported-platform"
#define CR_KIND_IO "cert_regen/io-error"
#define CR_KIND_PARSE "cert_regen/parse-error"
#define CR_KIND_OPENSSL "cert_regen/openssl-error"
#define CR_KIND_SETTINGS "cert_regen/settings-error"
#define CR_KIND_NOMEM "cert_regen/out-of-memory"
#define CR_KIND_INTERNAL "cert_regen/internal-error"

/* Every other kind, by the module that returns it: the one list (the
 * registry in cr_err.c gives each its default next step; lint checks
 * both against the table of docs/troubleshooting.md). */
/* sys/cr_sys_fs: a path that must not be followed is a symlink or
 * reparse point */
#define CR_KIND_PATH_SYMLINK "cert_regen/path-symlink"
/* cr_ca_admin */
#define CR_KIND_CA_PARTIAL "cert_regen/ca-partial-failure"
#define CR_KIND_FP_MISMATCH "cert_regen/fingerprint-mismatch"
#define CR_KIND_NO_REQUEST "cert_regen/no-request"
#define CR_KIND_SIGN_REFUSED "cert_regen/sign-refused"
/* no CA identity (host certificate, key, CA bundle) under the confdir */
#define CR_KIND_NOT_CA_HOST "cert_regen/not-a-ca-host"
/* cr_ca_renew */
/* a fetched CA bundle holds a key (or subject) the node does not trust */
#define CR_KIND_CA_KEY_CHANGED "cert_regen/ca-key-changed"
/* the CA cannot be renewed: a CA key is missing or does not match */
#define CR_KIND_CA_RENEW "cert_regen/ca-renew-failed"
/* cr_check */
#define CR_KIND_SERVER_UNREACHABLE "cert_regen/server-unreachable"
#define CR_KIND_SERVER_TLS "cert_regen/server-tls-error"
#define CR_KIND_SERVER_MISMATCH "cert_regen/server-cert-mismatch"
#define CR_KIND_CATALOG "cert_regen/catalog-failed"
/* cr_http */
/* connection refused, time-out, name resolution */
#define CR_KIND_CA_UNREACHABLE "cert_regen/ca-unreachable"
/* peer not verified, wrong CA, fingerprint mismatch, bad client cert */
#define CR_KIND_CA_TLS "cert_regen/ca-tls-error"
/* the CA bundle does not match the pinned fingerprint (ca_fingerprint) */
#define CR_KIND_CA_PIN_MISMATCH "cert_regen/ca-pin-mismatch"
/* HTTP 401 or 403 (auth.conf said no) */
#define CR_KIND_CA_UNAUTHORIZED "cert_regen/ca-unauthorized"
/* any other non-2xx status; details.body = its first 500 bytes, sanitized */
#define CR_KIND_CA_ERROR "cert_regen/ca-error"
/* body too large, or not the PEM / JSON the endpoint promises */
#define CR_KIND_CA_PROTOCOL "cert_regen/ca-protocol-error"
/* cr_lock */
#define CR_KIND_LOCKED "cert_regen/locked"
/* cr_regen */
#define CR_KIND_CA_NOT_CLEANED "cert_regen/ca-not-cleaned"
#define CR_KIND_CSR_CONFLICT "cert_regen/csr-conflict"
/* the CA refused the CSR for its content (alt names, extensions) */
#define CR_KIND_CSR_REFUSED "cert_regen/csr-refused"
#define CR_KIND_VERIFY "cert_regen/verify-failed"
#define CR_KIND_CA_CHANGED "cert_regen/ca-changed"
#define CR_KIND_SERVICE "cert_regen/service-error"
#define CR_KIND_STAGING "cert_regen/staging-conflict"
/* a rerun asks for other parameters than the key and CSR already sent */
#define CR_KIND_PARAMETERS_CHANGED "cert_regen/parameters-changed"
/* The backup's certificate was revoked by the CA (fresh CRL). */
#define CR_KIND_BACKUP_REVOKED "cert_regen/backup-revoked"
/* cr_server */
/* `puppetserver ca generate|setup` failed or wrote something unexpected */
#define CR_KIND_CA_TOOL "cert_regen/ca-tool-failed"
/* after the start, the server did not answer with the new certificate */
#define CR_KIND_SERVER_CHECK "cert_regen/server-check-failed"
/* another server operation's journal is there: finish or undo it first */
#define CR_KIND_BUSY "cert_regen/operation-in-progress"
/* the server still answers after its services were stopped */
#define CR_KIND_SERVER_RUNNING "cert_regen/server-still-running"

void cr_err_init(cr_err *e);
/* Release details; leaves the record unset. */
void cr_err_clear(cr_err *e);
/* printf-style; does nothing if e is NULL or already set. */
void cr_err_set(cr_err *e, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like cr_err_set, then appends the WHOLE OpenSSL error queue (drained). */
void cr_err_openssl(cr_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets errno text after the message: "<msg>: <strerror(errnum)>". */
void cr_err_errno(cr_err *e, const char *kind, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cr_err_set_step(cr_err *e, const char *step);
/* Adds details[key] = value (value reference is stolen). */
void cr_err_detail_new(cr_err *e, const char *key, json_t *value);
/*
 * The one way a flow names the operator's next step for a set error:
 * printf-style into details.next_step.  The first one wins (the step that
 * failed knows best); does nothing when e is NULL or not set.
 */
void cr_err_next(cr_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * What is live after a flow failed, the one schema of every flow
 * (details.live): "old" (the identity from before the run, nothing
 * changed), "new" (the new identity), "restored" (the backup put back),
 * "unknown" (look before acting).  The first one wins; does nothing when
 * e is NULL or not set.
 */
#define CR_LIVE_OLD "old"
#define CR_LIVE_NEW "new"
#define CR_LIVE_RESTORED "restored"
#define CR_LIVE_UNKNOWN "unknown"
void cr_err_live(cr_err *e, const char *live);
/* e is set and of that kind (a CR_KIND_* of the registry). */
bool cr_err_is(const cr_err *e, const char *kind);
/*
 * New reference: {"msg":..., "kind":..., "details":{..., "step":...,
 * "next_step":...}}.  The printed msg is cr_err_message_new's: the record's
 * msg followed by " Next step: <next step>".
 */
json_t *cr_err_to_json(const cr_err *e);

/*
 * The operator's next step for e: details.next_step when a flow set one,
 * else the default of e's kind (cr_err_kind_next_step).  Borrowed; never
 * NULL.
 */
const char *cr_err_next_step(const cr_err *e);
/*
 * The message every face prints (Bolt's _error.msg, the Ruby exception):
 * "<msg> Next step: <cr_err_next_step>", or msg alone when it already ends
 * with that sentence.  Caller frees; NULL only when out of memory.
 */
char *cr_err_message_new(const cr_err *e);

/* The one registry of error kinds: each kind and its default next step. */
struct cr_err_kind_info {
	const char *kind;
	const char *next_step;
};
/* Default next step of kind (a generic one for a kind not registered). */
const char *cr_err_kind_next_step(const char *kind);
/* The registry, terminated by {NULL, NULL}; for tests and docs. */
const struct cr_err_kind_info *cr_err_kinds(void);

/* Drains the OpenSSL error queue into buf ("; "-separated); returns buf. */
char *cr_openssl_errors(char *buf, size_t len);

#endif
