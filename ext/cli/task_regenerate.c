/*
 * task_regenerate.c - cert_regen::regenerate and cert_regen::restore:
 * parameters in, cr_regen_run / cr_restore_run, result out.
 */
#include <stddef.h>
#include <string.h>

#include "cr_keygen.h"
#include "cr_regen.h"
#include "cr_service.h"
#include "tasks.h"

static const struct cr_param regenerate_params[] = {
	{ "confdir", CR_P_DIR, 0, 0, NULL },
	{ "ssldir", CR_P_PATH, 0, 0, NULL },
	{ "certname", CR_P_CERTNAME, 0, 0, NULL },
	{ "ca_server", CR_P_STRING, 0, 0, NULL },
	{ "ca_port", CR_P_INT, 1, 65535, NULL },
	{ "dns_alt_names", CR_P_STRINGS, 0, 0, NULL },
	{ "extension_requests", CR_P_HASH, 0, 0, NULL },
	{ "key_type", CR_P_STRING, 0, 0, "^(rsa|ec)$" },
	{ "key_size", CR_P_INT, 2048, 16384, NULL },
	{ "curve", CR_P_STRING, 0, 0, CR_EC_CURVE_PATTERN },
	{ "ca_fingerprint", CR_P_FINGERPRINT, 0, 0, NULL },
	{ "wait_for_cert", CR_P_INT, 0, CR_REGEN_WAIT_MAX, NULL },
	{ "backup", CR_P_BOOL, 0, 0, NULL },
	{ "backup_dir", CR_P_PATH, 0, 0, NULL },
	{ "services", CR_P_STRINGS, 0, 0, CR_SERVICE_PATTERN },
	{ "remove_cached_catalog", CR_P_BOOL, 0, 0, NULL },
	{ "run_puppet", CR_P_BOOL, 0, 0, NULL },
	{ "lock_timeout", CR_P_INT, 0, 86400, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
regenerate_run(json_t *params, cr_err *err)
{
	struct cr_regen_opts o = { 0 };

	o.confdir = cr_param_str(params, "confdir");
	o.ssldir = cr_param_str(params, "ssldir");
	o.certname = cr_param_str(params, "certname");
	o.ca_server = cr_param_str(params, "ca_server");
	o.ca_port = (int)cr_param_int(params, "ca_port", 0);
	o.dns_alt_names = cr_param_json(params, "dns_alt_names");
	o.extension_requests = cr_param_json(params, "extension_requests");
	o.key_type = cr_param_str(params, "key_type");
	o.key_size = (int)cr_param_int(params, "key_size", 0);
	o.curve = cr_param_str(params, "curve");
	o.ca_fingerprint = cr_param_str(params, "ca_fingerprint");
	o.wait_for_cert = (int)cr_param_int(params, "wait_for_cert", -1);
	o.backup = cr_param_bool(params, "backup", true);
	o.backup_dir = cr_param_str(params, "backup_dir");
	o.services = cr_param_json(params, "services");
	o.remove_cached_catalog = cr_param_bool(params, "remove_cached_catalog",
	    true);
	o.run_puppet = cr_param_bool(params, "run_puppet", false);
	o.noop = cr_task_noop(params);
	o.lock_timeout_ms = cr_param_ms(params, "lock_timeout");
#ifdef _WIN32
	/* cr_proc_run is not built for Windows yet (sys/win32/cr_proc.c):
	 * refused before anything changes, not after the regeneration */
	if (o.run_puppet) {
		cr_err_set(err, CR_KIND_UNSUPPORTED_PLATFORM, "run_puppet=true "
		    "is not supported on Windows yet: cert_regen cannot run "
		    "puppet agent there");
		cr_err_detail_new(err, "parameter", json_string("run_puppet"));
		cr_err_next(err, "run the task again without run_puppet (or "
		    "with run_puppet=false), then run `puppet agent -t` as "
		    "Administrator; nothing was changed");
		return NULL;
	}
#endif
	if (o.key_type != NULL && strcmp(o.key_type, "rsa") != 0 &&
	    strcmp(o.key_type, "ec") != 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "parameter 'key_type' must be rsa or ec");
		cr_err_detail_new(err, "parameter", json_string("key_type"));
		return NULL;
	}
	return cr_regen_run(&o, err);
}

const struct cr_task_def cr_task_regenerate = {
	"regenerate",
	"replace this node's key and certificate: staged, verified, atomic, resumable",
	regenerate_params,
	regenerate_run,
};

static const struct cr_param restore_params[] = {
	{ "confdir", CR_P_DIR, 0, 0, NULL },
	{ "ssldir", CR_P_PATH, 0, 0, NULL },
	{ "backup", CR_P_STRING, 0, 0, NULL },
	{ "backup_dir", CR_P_PATH, 0, 0, NULL },
	{ "services", CR_P_STRINGS, 0, 0, CR_SERVICE_PATTERN },
	{ "lock_timeout", CR_P_INT, 0, 86400, NULL },
	{ "allow_revoked", CR_P_BOOL, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
restore_run(json_t *params, cr_err *err)
{
	struct cr_restore_opts o = { 0 };

	o.confdir = cr_param_str(params, "confdir");
	o.ssldir = cr_param_str(params, "ssldir");
	o.backup = cr_param_str(params, "backup");
	o.backup_dir = cr_param_str(params, "backup_dir");
	o.services = cr_param_json(params, "services");
	o.noop = cr_task_noop(params);
	o.allow_revoked = cr_param_bool(params, "allow_revoked", false);
	o.lock_timeout_ms = cr_param_ms(params, "lock_timeout");
	return cr_restore_run(&o, err);
}

const struct cr_task_def cr_task_restore = {
	"restore",
	"put a backup of the ssldir back, atomically",
	restore_params,
	restore_run,
};
