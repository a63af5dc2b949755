/*
 * tasks_unsupported.c (Windows) - the tasks the Windows build does not
 * carry yet.  Each answers cert_regen/unsupported-platform with the step
 * that works today: the agent-side check_server the manual procedure of
 * docs/windows.md (status, regenerate, restore and ca_bundle_update are
 * built: cli/task_status.c, task_regenerate.c, task_bundle.c),
 * the CA/primary ones a Linux host (puppetserver does not run on Windows).
 * The same names as on Linux, so `cert_regen task NAME` answers the same
 * way on every platform.
 */
#include <stddef.h>

#include "cr_json.h"
#include "tasks.h"

static json_t *
unsupported(const char *task, const char *why, const char *next, cr_err *err)
{
	cr_err_set(err, CR_KIND_UNSUPPORTED_PLATFORM, "cert_regen::%s does not "
	    "run on Windows: %s", task, why);
	cr_err_detail_new(err, "platform", cr_json_str("windows-x86_64"));
	cr_err_detail_new(err, "task", cr_json_str(task));
	cr_err_detail_new(err, "next_step", cr_json_str(next));
	return NULL;
}

#define AGENT_NEXT "follow the manual procedure for Windows agents in " \
	"docs/windows.md (as Administrator: delete $confdir\\ssl and " \
	"$client_datadir\\catalog\\<certname>.json, clean the certificate on " \
	"the CA, run puppet agent -t), or wait for the release that carries it"
#define SERVER_NEXT "run it on the Linux host that runs puppetserver " \
	"(the CA or the primary)"

#define AGENT_TASK(sym, tname, summ)					\
	static json_t *							\
	sym##_run(json_t *params, cr_err *err)				\
	{								\
		(void)params;						\
		return unsupported(tname, "not built for Windows yet",	\
		    AGENT_NEXT, err);					\
	}								\
	const struct cr_task_def cr_task_##sym = {			\
		tname, summ " (not on Windows yet)",			\
		cr_task_unchecked_params, sym##_run,			\
	};
#define SERVER_TASK(sym, tname, summ)					\
	static json_t *							\
	sym##_run(json_t *params, cr_err *err)				\
	{								\
		(void)params;						\
		return unsupported(tname, "puppetserver, the CA and the "	\
		    "primary run on Linux only", SERVER_NEXT, err);	\
	}								\
	const struct cr_task_def cr_task_##sym = {			\
		tname, summ " (Linux only)", cr_task_unchecked_params,	\
		sym##_run,						\
	};

AGENT_TASK(check_server, "check_server", "does this server serve this agent")
SERVER_TASK(ca_clean, "ca_clean", "revoke and delete certificates on the CA")
SERVER_TASK(ca_sign, "ca_sign", "sign pending CSRs on the CA")
SERVER_TASK(ca_list, "ca_list", "list the CA's certificates and requests")
SERVER_TASK(primary_cert, "primary_cert", "new certificate for the CA host")
SERVER_TASK(ca_rebuild, "ca_rebuild", "replace the CA")
SERVER_TASK(ca_renew, "ca_renew", "renew the CA certificates")
SERVER_TASK(primary_restore, "primary_restore",
    "put a backup of the primary's ssldir and cadir back")
