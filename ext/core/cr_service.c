/*
 * cr_service.c - system services through systemd or SysV init (see
 * cr_service.h).  Every command is an argv array run by cr_proc with a
 * timeout and a fixed environment (PATH, LANG): task parameters arrive as
 * PT_* variables and must never reach a daemon's environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_json.h"
#include "cr_proc.h"
#include "cr_service.h"
#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"
#include "sys/cr_sys_proc.h"

#define SVC_NAME_MAX 255
#define SVC_OUT_MAX ((size_t)64 << 10)
#define SVC_DETAIL_MAX 2048
#define SVC_POLL_MS 250
#define SYSTEMD_TOOL "/bin/systemctl"
#define SYSV_TOOL "/usr/sbin/service"
#define INITD_DIR "/etc/init.d"
#define SVC_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static enum cr_svc_backend forced;
static const char *forced_tool;
static const char *forced_initd;

bool
cr_service_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == '-' || name[0] == '.')
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= SVC_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '@' || c == '.' || c == '_' ||
		    c == '-'))
			return false;
	}
	return true;
}

const char *
cr_service_state_name(enum cr_svc_state s)
{
	switch (s) {
	case CR_SVC_ABSENT:
		return "absent";
	case CR_SVC_STOPPED:
		return "stopped";
	case CR_SVC_RUNNING:
		return "running";
	case CR_SVC_UNKNOWN:
		break;
	}
	return "unknown";
}

enum cr_svc_backend
cr_service_backend(void)
{
	struct cr_sys_stat st;

	if (forced != CR_SVC_AUTO)
		return forced;
	if (cr_sys_windows())
		return CR_SVC_SCM;
	return cr_sys_stat("/run/systemd/system", CR_SYS_NOFOLLOW, &st,
	    NULL) == 1 && st.type == CR_SYS_DIR ? CR_SVC_SYSTEMD : CR_SVC_SYSV;
}

const char *
cr_service_backend_name(enum cr_svc_backend b)
{
	return b == CR_SVC_SYSTEMD ? "systemd" : b == CR_SVC_SYSV ? "sysv" :
	    b == CR_SVC_SCM ? "scm" : "auto";
}

void
cr_service_backend_set(enum cr_svc_backend b, const char *tool,
    const char *initd_dir)
{
	forced = b;
	forced_tool = b == CR_SVC_AUTO ? NULL : tool;
	forced_initd = b == CR_SVC_AUTO ? NULL : initd_dir;
}

/* /etc/init.d/NAME into buf; false if it does not fit. */
static bool
initd_script(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s",
	    forced_initd != NULL ? forced_initd : INITD_DIR, name);

	return n > 0 && (size_t)n < len;
}

static bool
initd_exists(const char *name)
{
	char path[512];
	struct stat st;

	return initd_script(name, path, sizeof(path)) && stat(path, &st) == 0 &&
	    S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Runs the backend's tool for action on name. */
static bool
run_tool(enum cr_svc_backend b, const char *name, const char *action,
    struct cr_proc_result *res, cr_err *err)
{
	char script[512], lang[128];
	const char *argv[5] = { NULL }, *envp[3] = { SVC_PATH, NULL, NULL };
	const char *tool, *l = getenv("LANG");
	struct cr_proc_opts o = { 0 };

	if (l != NULL && strlen(l) < sizeof(lang) - 5) {
		snprintf(lang, sizeof(lang), "LANG=%s", l);
		envp[1] = lang;
	}
	if (b == CR_SVC_SYSTEMD) {
		tool = forced_tool != NULL ? forced_tool : SYSTEMD_TOOL;
		if (forced_tool == NULL && access(tool, X_OK) != 0)
			tool = "/usr/bin/systemctl";
		argv[0] = tool;
		if (strcmp(action, "status") == 0) {
			argv[1] = "show";
			argv[2] = "--property=LoadState,ActiveState";
			argv[3] = name;
		} else {
			argv[1] = action;
			argv[2] = name;
		}
	} else {
		tool = forced_tool != NULL ? forced_tool : SYSV_TOOL;
		if (access(tool, X_OK) == 0) {
			argv[0] = tool;
			argv[1] = name;
			argv[2] = action;
		} else {
			if (!initd_script(name, script, sizeof(script))) {
				cr_err_set(err, CR_KIND_INVALID_PARAMETER,
				    "service name too long: %s", name);
				return false;
			}
			argv[0] = script;
			argv[1] = action;
		}
	}
	o.argv = argv;
	o.envp = envp;
	o.max_out = SVC_OUT_MAX;
	o.max_err = SVC_OUT_MAX;
	o.timeout_ms = CR_SVC_TIMEOUT_MS;
	return cr_proc_run(&o, res, err);
}

/* details {service, backend, action, exit_code, output} for a failed call. */
static void
tool_error(cr_err *err, enum cr_svc_backend b, const char *name,
    const char *action, const struct cr_proc_result *res, const char *why)
{
	char out[SVC_DETAIL_MAX];

	if (err == NULL || err->set)
		return;
	snprintf(out, sizeof(out), "%s%s%s", res->out ? res->out : "",
	    res->out_len && res->err_len ? "\n" : "", res->err ? res->err : "");
	if (res->timed_out)
		cr_err_set(err, CR_KIND_SERVICE, "%s %s (%s) did not finish within "
		    "%d s", action, name, cr_service_backend_name(b),
		    CR_SVC_TIMEOUT_MS / 1000);
	else
		cr_err_set(err, CR_KIND_SERVICE, "%s %s (%s): %s", action, name,
		    cr_service_backend_name(b), why);
	cr_err_detail_new(err, "service", cr_json_str(name));
	cr_err_detail_new(err, "backend", cr_json_str(cr_service_backend_name(b)));
	cr_err_detail_new(err, "action", cr_json_str(action));
	cr_err_detail_new(err, "exit_code", res->exited ?
	    json_integer(res->exit_code) : json_null());
	cr_err_detail_new(err, "output", cr_json_str(out));
}

/* The value of "Key=" in systemctl show output, into buf. */
static void
show_value(const char *out, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key), n;
	const char *p = out, *e;

	buf[0] = '\0';
	while (p != NULL && *p != '\0') {
		e = strchr(p, '\n');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			n -= klen + 1;
			if (n >= len)
				n = len - 1;
			memcpy(buf, p + klen + 1, n);
			buf[n] = '\0';
			return;
		}
		p = e != NULL ? e + 1 : NULL;
	}
}

static enum cr_svc_state
state_of(enum cr_svc_backend b, const char *name, cr_err *err)
{
	struct cr_proc_result res = { 0 };
	enum cr_svc_state st = CR_SVC_UNKNOWN;
	char load[64], active[64];
	enum cr_sys_svc scm = CR_SYS_SVC_ABSENT;

	if (b == CR_SVC_SCM) {
		if (cr_sys_service_query(name, &scm, err))
			st = scm == CR_SYS_SVC_ABSENT ? CR_SVC_ABSENT :
			    scm == CR_SYS_SVC_RUNNING ? CR_SVC_RUNNING :
			    scm == CR_SYS_SVC_STOPPED ? CR_SVC_STOPPED :
			    CR_SVC_UNKNOWN;
		if (st == CR_SVC_UNKNOWN && err != NULL && !err->set)
			cr_err_set(err, CR_KIND_SERVICE, "service %s is %s: "
			    "wait for it to settle, then rerun", name,
			    cr_sys_svc_name(scm));
		return st;
	}
	if (b == CR_SVC_SYSV && !initd_exists(name)) {
		st = CR_SVC_ABSENT;
		goto out;
	}
	if (!run_tool(b, name, "status", &res, err))
		goto out;
	if (res.timed_out || !res.exited) {
		tool_error(err, b, name, "status", &res, "killed by a signal");
		goto out;
	}
	if (b == CR_SVC_SYSV) {
		if (res.exit_code == 0)
			st = CR_SVC_RUNNING;
		else if (res.exit_code >= 1 && res.exit_code <= 3)
			st = CR_SVC_STOPPED;
		goto out;
	}
	if (res.exit_code != 0) {
		tool_error(err, b, name, "status", &res, "systemctl show failed");
		goto out;
	}
	show_value(res.out, "LoadState", load, sizeof(load));
	show_value(res.out, "ActiveState", active, sizeof(active));
	if (strcmp(active, "active") == 0 || strcmp(active, "reloading") == 0 ||
	    strcmp(active, "activating") == 0)
		st = CR_SVC_RUNNING;
	else if (strcmp(load, "not-found") == 0)
		st = CR_SVC_ABSENT;
	else if (strcmp(active, "inactive") == 0 || strcmp(active, "failed") == 0 ||
	    strcmp(active, "deactivating") == 0)
		st = CR_SVC_STOPPED;
out:
	cr_proc_result_free(&res);
	return st;
}

enum cr_svc_state
cr_service_state(const char *name, cr_err *err)
{
	if (!cr_service_name_valid(name)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "invalid service name '%s'", name ? name : "");
		return CR_SVC_UNKNOWN;
	}
	return state_of(cr_service_backend(), name, err);
}

/* Runs action, then checks the state it should leave behind. */
static bool
act(const char *name, const char *action, enum cr_svc_state want, cr_err *err)
{
	struct cr_proc_result res = { 0 }, none = { 0 };
	enum cr_svc_backend b = cr_service_backend();
	enum cr_svc_state st;
	long until;
	bool ok = false;

	if (!cr_service_name_valid(name)) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "invalid service name '%s'", name ? name : "");
		goto out;
	}
	if ((st = state_of(b, name, err)) == CR_SVC_ABSENT) {
		tool_error(err, b, name, action, &none, "no such service");
		goto out;
	}
	if (err != NULL && err->set)
		goto out;
	if (b == CR_SVC_SCM) {
		/* restart: stop, then start; each waits for its state */
		if ((strcmp(action, "start") != 0 && st != CR_SVC_STOPPED &&
		    !cr_sys_service_stop(name, CR_SVC_SETTLE_MS, err)) ||
		    (strcmp(action, "stop") != 0 && !(strcmp(action, "start") ==
		    0 && st == CR_SVC_RUNNING) &&
		    !cr_sys_service_start(name, CR_SVC_SETTLE_MS, err)))
			goto out;
	} else if (!run_tool(b, name, action, &res, err)) {
		goto out;
	} else if (!cr_proc_succeeded(&res)) {
		tool_error(err, b, name, action, &res, "the command failed");
		goto out;
	}
	until = cr_sys_now_ms() + CR_SVC_SETTLE_MS;
	for (;;) {
		st = state_of(b, name, err);
		if (err != NULL && err->set)
			goto out;
		if (want == CR_SVC_RUNNING ? st == CR_SVC_RUNNING : st != CR_SVC_RUNNING)
			break;
		if (cr_sys_now_ms() >= until) {
			tool_error(err, b, name, action, &res, want == CR_SVC_RUNNING ?
			    "the command succeeded but the service is not running" :
			    "the command succeeded but the service is still running");
			cr_err_detail_new(err, "state", cr_json_str(cr_service_state_name(st)));
			goto out;
		}
		cr_sys_sleep_ms(SVC_POLL_MS);
	}
	ok = true;
out:
	cr_proc_result_free(&res);
	return ok;
}

bool
cr_service_stop(const char *name, cr_err *err)
{
	return act(name, "stop", CR_SVC_STOPPED, err);
}

bool
cr_service_start(const char *name, cr_err *err)
{
	return act(name, "start", CR_SVC_RUNNING, err);
}

bool
cr_service_restart(const char *name, cr_err *err)
{
	return act(name, "restart", CR_SVC_RUNNING, err);
}

bool
cr_service_restart_logged(const char *name, unsigned delay_s)
{
	char text[CR_ERR_MSG_MAX + 256];
	cr_err err;
	bool ok;

	cr_err_init(&err);
	cr_sys_sleep_ms((long)delay_s * 1000);
	ok = cr_service_restart(name, &err);
	if (ok)
		snprintf(text, sizeof(text), "restarted service %s", name);
	else
		snprintf(text, sizeof(text), "restart of service %s failed: %s",
		    name, err.msg);
	cr_sys_log(!ok, text);
	cr_err_clear(&err);
	return ok;
}

static const char *const default_services[] = {
	"puppet", "mcollective", "pxp-agent", NULL,
};

json_t *
cr_services_list_from(json_t *param, const char *const *defaults)
{
	json_t *out;
	size_t i;

	if (param != NULL)
		out = json_incref(param);
	else {
		out = json_array();
		for (i = 0; out != NULL && defaults[i] != NULL; i++)
			json_array_append_new(out, json_string(defaults[i]));
	}
	return out;
}

/* The services to handle: the parameter or the agent's default list. */
json_t *
cr_services_list(json_t *param)
{
	return cr_services_list_from(param, default_services);
}

/* The running ones among names (not pxp-agent under pxp-agent): a new
 * reference, or NULL with err set when a state cannot be read. */
json_t *
cr_services_running(json_t *names, bool under_pxp, cr_err *err)
{
	json_t *running = json_array(), *v;
	const char *name;
	enum cr_svc_state st;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		if (under_pxp && strcmp(name, "pxp-agent") == 0)
			continue;
		if ((st = cr_service_state(name, &e)) == CR_SVC_UNKNOWN) {
			cr_err_set(err, CR_KIND_SERVICE, "%s", e.msg);
			json_decref(running);
			running = NULL;
			break;
		}
		if (st == CR_SVC_RUNNING)
			json_array_append_new(running, json_string(name));
	}
	cr_err_clear(&e);
	return running;
}

/* Stops the running ones (not pxp-agent when it runs this task); returns
 * the names stopped (new reference) or NULL with err set.  On failure the
 * ones already stopped are started again. */
json_t *
cr_services_stop(json_t *names, bool under_pxp, cr_err *err)
{
	json_t *running = cr_services_running(names, under_pxp, err);
	json_t *stopped = running ? json_array() : NULL, *v;
	bool ok = stopped != NULL;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(running, i, v) {
		if (!ok || !cr_service_stop(json_string_value(v), &e)) {
			ok = false;
			break;
		}
		json_array_append(stopped, v);
	}
	if (!ok && running != NULL) {
		cr_err_set(err, e.set ? CR_KIND_SERVICE : CR_KIND_NOMEM, "%s",
		    e.set ? e.msg : "out of memory");
		cr_err_clear(&e);
		json_array_foreach(stopped, i, v)
			cr_service_start(json_string_value(v), &e);
		json_decref(stopped);
		stopped = NULL;
	}
	cr_err_clear(&e);
	json_decref(running);
	return stopped;
}

/* Starts what was stopped; failures are reported as warnings. */
json_t *
cr_services_start(json_t *stopped, json_t *warnings)
{
	json_t *started = json_array(), *v;
	size_t i;
	cr_err e;

	cr_err_init(&e);
	json_array_foreach(stopped, i, v) {
		if (cr_service_start(json_string_value(v), &e))
			json_array_append_new(started, json_incref(v));
		else
			json_array_append_new(warnings, cr_json_str(e.msg));
		cr_err_clear(&e);
	}
	return started;
}

void
cr_services_merge(json_t *stopped, json_t *earlier)
{
	json_t *v, *w;
	size_t i, j;
	bool seen;

	json_array_foreach(earlier, i, v) {
		seen = false;
		json_array_foreach(stopped, j, w)
			if (json_equal(v, w))
				seen = true;
		if (!seen && json_is_string(v))
			json_array_append(stopped, v);
	}
}
