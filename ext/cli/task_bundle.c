/*
 * task_bundle.c - cert_regen::ca_bundle_update, on an agent or a compiler
 * (Linux and Windows): parameters in, cr_ca_bundle_update, result out.
 */
#include <stddef.h>

#include "cr_ca_renew.h"
#include "tasks.h"

static const struct cr_param ca_bundle_update_params[] = {
	{ "confdir", CR_P_DIR, 0, 0, NULL },
	{ "ca_server", CR_P_STRING, 0, 0, NULL },
	{ "ca_port", CR_P_INT, 1, 65535, NULL },
	{ "ca_fingerprint", CR_P_FINGERPRINT, 0, 0, NULL },
	{ "backup_dir", CR_P_PATH, 0, 0, NULL },
	{ "lock_timeout", CR_P_INT, 0, 86400, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
ca_bundle_update_run(json_t *params, cr_err *err)
{
	struct cr_bundle_opts o = { 0 };

	o.confdir = cr_param_str(params, "confdir");
	o.ca_server = cr_param_str(params, "ca_server");
	o.ca_port = (int)cr_param_int(params, "ca_port", 0);
	o.ca_fingerprint = cr_param_str(params, "ca_fingerprint");
	o.backup_dir = cr_param_str(params, "backup_dir");
	o.lock_timeout_ms = cr_param_ms(params, "lock_timeout");
	o.noop = cr_task_noop(params);
	return cr_ca_bundle_update(&o, err);
}

const struct cr_task_def cr_task_ca_bundle_update = {
	"ca_bundle_update",
	"install the CA's renewed bundle when it holds the same CA keys",
	ca_bundle_update_params,
	ca_bundle_update_run,
};
