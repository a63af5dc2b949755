/*
 * task_status.c - cert_regen::status: the `cert_regen` fact's object as a
 * task result, read-only.
 */
#include <stddef.h>

#include "cr_status.h"
#include "tasks.h"

static const struct cr_param status_params[] = {
	{ "confdir", CR_P_DIR, 0, 0, NULL },
	{ "ssldir", CR_P_PATH, 0, 0, NULL },
	{ "certname", CR_P_CERTNAME, 0, 0, NULL },
	{ "warn_days", CR_P_INT, 0, CR_WARN_DAYS_MAX, NULL },
	{ "fresh_crl", CR_P_BOOL, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
status_run(json_t *params, cr_err *err)
{
	struct cr_status_opts o = { 0 };

	o.confdir = cr_param_str(params, "confdir");
	o.ssldir = cr_param_str(params, "ssldir");
	o.certname = cr_param_str(params, "certname");
	o.warn_days = (int)cr_param_int(params, "warn_days", -1);
	o.allow_exec = true;
	o.fresh_crl = cr_param_bool(params, "fresh_crl", false);
	o.fetch_crl = cr_status_fetch_crl;
	return cr_status_collect(&o, err);
}

const struct cr_task_def cr_task_status = {
	"status",
	"report the node's Puppet certificate state (read-only)",
	status_params,
	status_run,
};
