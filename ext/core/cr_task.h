/*
 * cr_task.h - the task contract: parameters in, one JSON object out.
 *
 * Bolt and pxp-agent deliver parameters as one JSON object on stdin and as
 * PT_<name> environment variables (strings raw, other types JSON-encoded),
 * plus metaparameters _task, _noop, _installdir.  A result is one JSON object
 * on stdout; a failure is {"_error": {"msg", "kind", "details"}} on stdout
 * and a non-zero exit.
 */
#ifndef CR_TASK_H
#define CR_TASK_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cr_certname.h"	/* cr_certname_valid: CR_P_CERTNAME */
#include "cr_err.h"

#define CR_MAX_TASK_INPUT ((size_t)1 << 20)

enum cr_param_type {
	CR_P_STRING,		/* any non-empty string (bounded length) */
	CR_P_PATH,		/* absolute path, no NUL, no ".." component */
	CR_P_DIR,		/* CR_P_PATH naming an existing directory */
	CR_P_CERTNAME,		/* Puppet certname rules (cr_certname_valid) */
	CR_P_INT,		/* integer within [min, max] */
	CR_P_BOOL,
	CR_P_STRINGS,		/* array of non-empty strings */
	CR_P_HASH,		/* object of non-empty string -> string */
	CR_P_FINGERPRINT,	/* SHA-256 fingerprint (cr_fingerprint_valid) */
	CR_P_CERTNAMES,		/* array of [min, max] certnames */
	CR_P_FINGERPRINTS,	/* object of certname -> fingerprint */
};

/* The longest string value (and hash key) a parameter may hold. */
#define CR_MAX_STRING_PARAM 4096

/*
 * A SHA-256 fingerprint as the operator pastes it: 32 colon-separated hex
 * pairs, optionally after "SHA256:" or "(SHA256) " (Puppet's form).  The
 * same regexp is the type of every fingerprint parameter in the tasks' JSON metadata.
 */
#define CR_FINGERPRINT_REGEXP \
	"\\A(SHA256:|\\(SHA256\\) )?([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}\\z"
#define CR_FINGERPRINT_FORM "32 colon-separated hex pairs such as " \
	"AB:CD:...:EF, with or without a SHA256: prefix"
bool cr_fingerprint_valid(const char *s);
/* Types whose PT_* variable / command-line value is a raw string. */
bool cr_param_type_is_string(enum cr_param_type t);

/*
 * One parameter of a task.  tests/lint/check_task_params.rb checks that
 * tasks/<task>.json declares the same parameters and that its types accept
 * exactly what these checks accept (on a set of probe values), so the two
 * definitions cannot drift.
 */
struct cr_param {
	const char *name;
	enum cr_param_type type;
	long long min, max;	/* CR_P_INT: range; CR_P_CERTNAMES: count */
	/* CR_P_STRING, CR_P_STRINGS (each element): a POSIX extended regexp
	 * the whole value must match (anchor it: ^...$), or NULL */
	const char *pattern;
};

/*
 * Reads the parameters: the JSON object on `in` when it holds one (bounded
 * to CR_MAX_TASK_INPUT), else the PT_* variables of `envp` named in spec
 * (and PT__noop / PT__installdir / PT__task).  Not a tty check: an empty
 * stdin simply means "look at the environment".
 */
json_t *cr_task_params_read(FILE *in, char *const *envp,
    const struct cr_param *spec, cr_err *err);
/* Rejects unknown parameters (other than _-prefixed metaparameters) and
 * values of the wrong type or range, with CR_KIND_INVALID_PARAMETER and
 * details.parameter. */
bool cr_task_params_check(json_t *params, const struct cr_param *spec,
    cr_err *err);
/* The parameter table as JSON (for the metadata lint):
 * {name: {"type": ..., "min", "max", "pattern"}}. */
json_t *cr_task_params_json(const struct cr_param *spec);

/* Borrowed string value or NULL when absent/null. */
const char *cr_param_str(json_t *params, const char *name);
long long cr_param_int(json_t *params, const char *name, long long dflt);
bool cr_param_bool(json_t *params, const char *name, bool dflt);
/* Borrowed value (array, object) or NULL when absent or null. */
json_t *cr_param_json(json_t *params, const char *name);
/* A timeout given in seconds, in milliseconds; -1 when absent (the flow's
 * default), 0 stays 0 (do not wait). */
long long cr_param_ms(json_t *params, const char *name);
bool cr_task_noop(json_t *params);

/* Print the result / the error object on stdout (one line + newline). */
int cr_task_print_result(json_t *result);
int cr_task_print_error(const cr_err *err);

#endif
