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

/* Error kinds shared by every face (tasks document them in README). */
#define CR_KIND_INVALID_PARAMETER "cert_regen/invalid-parameter"
#define CR_KIND_UNSUPPORTED_PLATFORM "cert_regen/unsupported-platform"
#define CR_KIND_IO "cert_regen/io-error"
#define CR_KIND_PARSE "cert_regen/parse-error"
#define CR_KIND_OPENSSL "cert_regen/openssl-error"
#define CR_KIND_SETTINGS "cert_regen/settings-error"
#define CR_KIND_NOMEM "cert_regen/out-of-memory"
#define CR_KIND_INTERNAL "cert_regen/internal-error"

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
