/*
 * main.c - the cert_regen executable: every task of the module, and the
 * same tasks as command-line calls.
 *
 *   cert_regen task NAME            parameters from stdin JSON or PT_* (Bolt,
 *                                   pxp-agent); result JSON on stdout
 *   cert_regen NAME [--param v ...] the same task from the command line
 *   cert_regen settings ...         resolved Puppet settings (see cmd_settings.c)
 *   cert_regen --version
 *
 * Exit codes: 0 success, 1 the task failed (an _error object was printed),
 * 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "commands.h"
#include "cr_json.h"
#include "tasks.h"

#ifndef CERT_REGEN_VERSION
#error "CERT_REGEN_VERSION comes from metadata.json (ext/Makefile)"
#endif

extern char **environ;

static const struct cr_task_def *const all_tasks[] = {
	&cr_task_status,
	&cr_task_regenerate,
	&cr_task_restore,
	&cr_task_ca_clean,
	&cr_task_ca_sign,
	&cr_task_ca_list,
	&cr_task_primary_cert,
	&cr_task_ca_rebuild,
	&cr_task_primary_restore,
	&cr_task_ca_renew,
	&cr_task_ca_bundle_update,
	&cr_task_check_server,
	NULL,
};

const struct cr_param cr_task_unchecked_params[] = {
	{ NULL, 0, 0, 0, NULL },
};

static const struct cr_task_def *
find_task(const char *name)
{
	size_t i;

	for (i = 0; all_tasks[i] != NULL; i++)
		if (strcmp(all_tasks[i]->name, name) == 0)
			return all_tasks[i];
	return NULL;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cert_regen task NAME   (parameters as JSON on stdin or PT_* variables)\n"
	    "       cert_regen NAME [--param value ...] [--noop]\n"
	    "       cert_regen settings [--confdir D] [--section S] [NAME ...]\n"
	    "       cert_regen ca-request METHOD PATH [options]   (CA API call, for debugging)\n"
	    "       cert_regen service NAME state|stop|start|restart|restart-detached\n"
	    "       cert_regen lock PATH SECONDS   (hold a Puppet-style pidlock, for tests)\n"
	    "       cert_regen --version\n\ntasks:\n");
	for (i = 0; all_tasks[i] != NULL; i++)
		fprintf(f, "  %-12s %s\n", all_tasks[i]->name,
		    all_tasks[i]->summary);
}

/* Runs a task on parsed parameters and prints its result or _error. */
static int
run_task(const struct cr_task_def *t, json_t *params, cr_err *err)
{
	json_t *result = NULL;
	int rc = 1;

	if (params == NULL || (t->params != cr_task_unchecked_params &&
	    !cr_task_params_check(params, t->params, err)))
		goto out;
	if ((result = t->run(params, err)) == NULL)
		goto out;
	rc = cr_task_print_result(result) == 0 ? 0 : 1;
out:
	if (rc != 0 && err->set)
		cr_task_print_error(err);
	json_decref(result);
	return rc;
}

/*
 * For the metadata lint (tests/lint/check_task_params.rb), not for users:
 *   cert_regen params               every task's parameter table as JSON
 *   cert_regen check-params TASK    stdin: a JSON array of parameter
 *                                   objects; stdout: an array, true or the
 *                                   message, one per object (the task's
 *                                   parameter check only; nothing runs)
 */
static int
cmd_params(int argc, char **argv)
{
	json_t *out = json_object(), *cases = NULL, *v;
	const struct cr_task_def *t;
	json_error_t jerr;
	size_t i;
	int rc = 2;

	if (out == NULL)
		goto done;
	if (argc == 1) {
		for (i = 0; all_tasks[i] != NULL; i++)
			json_object_set_new(out, all_tasks[i]->name,
			    cr_task_params_json(all_tasks[i]->params));
		rc = cr_task_print_result(out) == 0 ? 0 : 1;
		goto done;
	}
	if (argc != 2 || (t = find_task(argv[1])) == NULL ||
	    (cases = json_loadf(stdin, 0, &jerr)) == NULL ||
	    !json_is_array(cases)) {
		fprintf(stderr, "usage: cert_regen check-params TASK < [{...}, ...]\n");
		goto done;
	}
	json_decref(out);
	out = json_array();
	json_array_foreach(cases, i, v) {
		cr_err e;

		cr_err_init(&e);
		json_array_append_new(out, cr_task_params_check(v, t->params,
		    &e) ? json_true() : cr_json_str(e.msg));
		cr_err_clear(&e);
	}
	rc = cr_task_print_result(out) == 0 ? 0 : 1;
done:
	json_decref(cases);
	json_decref(out);
	return rc;
}

/* --some-name VALUE -> params["some_name"], typed by the task's spec. */
static json_t *
params_from_argv(const struct cr_task_def *t, int argc, char **argv,
    cr_err *err)
{
	json_t *params = json_object(), *out = NULL, *v;
	const struct cr_param *p;
	char name[128];
	int i;
	size_t j;

	if (params == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--noop") == 0) {
			json_object_set_new(params, "_noop", json_true());
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0 || strlen(argv[i]) >= sizeof(name) + 2) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "unexpected argument '%s'", argv[i]);
			goto out;
		}
		snprintf(name, sizeof(name), "%s", argv[i] + 2);
		for (j = 0; name[j] != '\0'; j++)
			if (name[j] == '-')
				name[j] = '_';
		for (p = t->params; p->name != NULL; p++)
			if (strcmp(p->name, name) == 0)
				break;
		if (p->name == NULL || i + 1 >= argc) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER, p->name == NULL ?
			    "unknown option '%s'" : "option '%s' needs a value",
			    argv[i]);
			goto out;
		}
		i++;
		if (cr_param_type_is_string(p->type))
			v = cr_json_str(argv[i]);
		else
			v = json_loads(argv[i], JSON_DECODE_ANY, NULL);
		if (v == NULL) {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "option '--%s' needs a JSON value, got '%s'",
			    argv[i - 1] + 2, argv[i]);
			goto out;
		}
		json_object_set_new(params, name, v);
	}
	out = params;
	params = NULL;
out:
	json_decref(params);
	return out;
}

int
main(int argc, char **argv)
{
	const struct cr_task_def *t;
	json_t *params = NULL;
	cr_err err;
	int rc = 2;

	cr_err_init(&err);
	if (argc < 2) {
		usage(stderr);
		goto out;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cert_regen %s (%s)\n", CERT_REGEN_VERSION,
		    OpenSSL_version(OPENSSL_VERSION));
		rc = 0;
	} else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		rc = 0;
	} else if (strcmp(argv[1], "settings") == 0) {
		rc = cr_cmd_settings(argc - 1, argv + 1);
	} else if (strcmp(argv[1], "ca-request") == 0) {
		rc = cr_cmd_ca_request(argc - 1, argv + 1);
	} else if (strcmp(argv[1], "service") == 0) {
		rc = cr_cmd_service(argc - 1, argv + 1);
	} else if (strcmp(argv[1], "params") == 0 ||
	    strcmp(argv[1], "check-params") == 0) {
		rc = cmd_params(argc - 1, argv + 1);
		if (strcmp(argv[1], "params") == 0 && argc != 2)
			rc = 2;
	} else if (strcmp(argv[1], "lock") == 0) {
		rc = cr_cmd_lock(argc - 1, argv + 1);
	} else if (strcmp(argv[1], "task") == 0) {
		if (argc != 3 || (t = find_task(argv[2])) == NULL) {
			cr_err_set(&err, CR_KIND_INVALID_PARAMETER,
			    "unknown task '%s'", argc > 2 ? argv[2] : "");
			cr_task_print_error(&err);
			rc = 1;
			goto out;
		}
		params = cr_task_params_read(stdin, environ, t->params, &err);
		rc = run_task(t, params, &err);
	} else if ((t = find_task(argv[1])) != NULL) {
		params = params_from_argv(t, argc - 2, argv + 2, &err);
		rc = run_task(t, params, &err);
		if (params == NULL)
			rc = 2;
	} else {
		usage(stderr);
	}
out:
	json_decref(params);
	cr_err_clear(&err);
	return rc;
}
