/*
 * task_server.c - the tasks that run on the primary (the CA host):
 * cert_regen::primary_cert, cert_regen::ca_rebuild,
 * cert_regen::primary_restore and cert_regen::ca_renew.  Parameters in, cr_server_run, result out.
 */
#include <stddef.h>
#include <string.h>

#include "cr_ca_renew.h"
#include "cr_check.h"
#include "cr_server.h"
#include "cr_service.h"
#include "tasks.h"

#define COMMON_PARAMS \
	{ "confdir", CR_P_DIR, 0, 0, NULL }, \
	{ "services", CR_P_STRINGS, 0, 0, CR_SERVICE_PATTERN }, \
	{ "backup_dir", CR_P_PATH, 0, 0, NULL }, \
	{ "puppetserver", CR_P_PATH, 0, 0, NULL }, \
	{ "start_timeout", CR_P_INT, 1, 3600, NULL }, \
	{ "lock_timeout", CR_P_INT, 0, 86400, NULL }

static const struct cr_param primary_cert_params[] = {
	COMMON_PARAMS,
	{ "dns_alt_names", CR_P_STRINGS, 0, 0, NULL },
	{ "revoke_old", CR_P_BOOL, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct cr_param ca_rebuild_params[] = {
	COMMON_PARAMS,
	{ "dns_alt_names", CR_P_STRINGS, 0, 0, NULL },
	{ "ca_name", CR_P_STRING, 0, 0, NULL },
	{ "confirm", CR_P_BOOL, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct cr_param primary_restore_params[] = {
	COMMON_PARAMS,
	{ "backup", CR_P_STRING, 0, 0, NULL },
	{ "ca_backup", CR_P_STRING, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static const struct cr_param ca_renew_params[] = {
	COMMON_PARAMS,
	{ "days", CR_P_INT, CR_CA_RENEW_DAYS_MIN, 36500, NULL },
	{ "allow_shorter", CR_P_BOOL, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
server_run(enum cr_server_op op, json_t *params, cr_err *err)
{
	struct cr_server_opts o = { 0 };

	o.op = op;
	o.confdir = cr_param_str(params, "confdir");
	o.services = cr_param_json(params, "services");
	o.backup_dir = cr_param_str(params, "backup_dir");
	o.puppetserver = cr_param_str(params, "puppetserver");
	o.start_timeout_s = cr_param_int(params, "start_timeout", 0);
	o.lock_timeout_ms = cr_param_ms(params, "lock_timeout");
	o.dns_alt_names = cr_param_json(params, "dns_alt_names");
	o.revoke_old = cr_param_bool(params, "revoke_old", true);
	o.ca_name = cr_param_str(params, "ca_name");
	o.backup = cr_param_str(params, "backup");
	o.ca_backup = cr_param_str(params, "ca_backup");
	o.days = cr_param_int(params, "days", 0);
	o.allow_shorter = cr_param_bool(params, "allow_shorter", false);
	o.noop = cr_task_noop(params);
	if (op == CR_SRV_CA_REBUILD && !o.noop &&
	    !cr_param_bool(params, "confirm", false)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "a CA rebuild "
		    "replaces the CA: every agent needs a new certificate "
		    "afterwards. Run with confirm=true (try _noop=true first)");
		cr_err_detail_new(err, "parameter", json_string("confirm"));
		return NULL;
	}
	if (o.ca_name != NULL && strpbrk(o.ca_name, "\r\n/") != NULL) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER, "parameter "
		    "'ca_name' must be one line without '/'");
		cr_err_detail_new(err, "parameter", json_string("ca_name"));
		return NULL;
	}
	return cr_server_run(&o, err);
}

static json_t *
primary_cert_run(json_t *params, cr_err *err)
{
	return server_run(CR_SRV_PRIMARY_CERT, params, err);
}

static json_t *
ca_rebuild_run(json_t *params, cr_err *err)
{
	return server_run(CR_SRV_CA_REBUILD, params, err);
}

static json_t *
primary_restore_run(json_t *params, cr_err *err)
{
	return server_run(CR_SRV_RESTORE, params, err);
}

const struct cr_task_def cr_task_primary_cert = {
	"primary_cert",
	"new certificate for the CA host itself, signed by the same CA",
	primary_cert_params,
	primary_cert_run,
};

const struct cr_task_def cr_task_ca_rebuild = {
	"ca_rebuild",
	"replace the CA and the CA host's certificate (backups kept)",
	ca_rebuild_params,
	ca_rebuild_run,
};

static json_t *
ca_renew_run(json_t *params, cr_err *err)
{
	return server_run(CR_SRV_CA_RENEW, params, err);
}

const struct cr_task_def cr_task_ca_renew = {
	"ca_renew",
	"sign the CA certificates again with the same keys and a new validity",
	ca_renew_params,
	ca_renew_run,
};

const struct cr_task_def cr_task_primary_restore = {
	"primary_restore",
	"put a backup pair of the primary's ssldir and cadir back",
	primary_restore_params,
	primary_restore_run,
};

static const struct cr_param check_server_params[] = {
	{ "confdir", CR_P_DIR, 0, 0, NULL },
	{ "server", CR_P_STRING, 0, 0, NULL },
	{ "port", CR_P_INT, 1, 65535, NULL },
	{ "expect_fingerprint", CR_P_FINGERPRINT, 0, 0, NULL },
	{ "expect_names", CR_P_STRINGS, 0, 0, NULL },
	{ "catalog", CR_P_BOOL, 0, 0, NULL },
	{ "environment", CR_P_STRING, 0, 0, "^[a-z0-9_]+$" },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *
check_server_run(json_t *params, cr_err *err)
{
	struct cr_check_opts o = { 0 };

	o.confdir = cr_param_str(params, "confdir");
	o.server = cr_param_str(params, "server");
	o.port = (int)cr_param_int(params, "port", 0);
	o.expect_fingerprint = cr_param_str(params, "expect_fingerprint");
	o.expect_names = cr_param_json(params, "expect_names");
	o.catalog = cr_param_bool(params, "catalog", true);
	o.environment = cr_param_str(params, "environment");
	return cr_check_server(&o, err);
}

const struct cr_task_def cr_task_check_server = {
	"check_server",
	"does this server serve this agent: TLS identity, CRLs, a catalog",
	check_server_params,
	check_server_run,
};
