/*
 * cmd_settings.c - `cert_regen settings`: Puppet settings as this tool
 * resolves them, for people and for the differential tests against
 * `puppet config print` (see commands.h and cr_settings.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "cr_task.h"
#include "cr_err.h"
#include "cr_json.h"
#include "cr_settings.h"

struct args {
	struct cr_settings_opts so;
	const char **pairs;	/* owned array; names in it are owned copies */
	size_t npairs;
	const char **names;	/* owned array of borrowed argv strings */
	size_t nnames;
	bool sources;
	bool help;
};

static void
args_free(struct args *a)
{
	size_t i;

	for (i = 0; a->pairs != NULL && i < a->npairs; i += 2)
		free((char *)a->pairs[i]);
	free(a->pairs);
	free(a->names);
}

static int
print_json(json_t *j)
{
	int rc = -1;

	if (j != NULL && json_dumpf(j, stdout, JSON_INDENT(2)) == 0 &&
	    fputc('\n', stdout) != EOF && fflush(stdout) == 0)
		rc = 0;
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: cert_regen settings [--confdir D] [--section S] "
	    "[--set name=value ...]\n"
	    "           [--no-exec] [--sources] [--packaging auto|aio|debian] "
	    "[--puppet-bin PATH] [NAME ...]\n");
}

/* "--opt VALUE" or "--opt=VALUE"; NULL if argv[*i] is not --opt. */
static const char *
opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static bool
add_set(struct args *a, const char *spec, cr_err *err)
{
	const char *eq = strchr(spec, '=');
	const char **np;
	char *name;

	if (eq == NULL || eq == spec) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "--set wants name=value, got '%s'", spec);
		return false;
	}
	if ((np = realloc(a->pairs, (a->npairs + 3) * sizeof(*np))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	a->pairs = np;
	if ((name = strndup(spec, (size_t)(eq - spec))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	a->pairs[a->npairs++] = name;
	a->pairs[a->npairs++] = eq + 1;
	a->pairs[a->npairs] = NULL;
	return true;
}

static bool
set_packaging(struct args *a, const char *v, cr_err *err)
{
	if (strcmp(v, "auto") == 0)
		a->so.packaging = CR_PKG_AUTO;
	else if (strcmp(v, "aio") == 0)
		a->so.packaging = CR_PKG_AIO;
	else if (strcmp(v, "debian") == 0)
		a->so.packaging = CR_PKG_DEBIAN;
	else {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "--packaging must be auto, aio or debian, not '%s'", v);
		return false;
	}
	return true;
}

static bool
parse_args(int argc, char **argv, struct args *a, cr_err *err)
{
	bool missing = false, opts_done = false;
	const char *v;
	int i;

	memset(a, 0, sizeof(*a));
	a->so.section = "agent";
	a->so.allow_exec = true;
	if ((a->names = calloc((size_t)argc + 1, sizeof(*a->names))) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		return false;
	}
	for (i = 1; i < argc; i++) {
		if (opts_done || argv[i][0] != '-') {
			a->names[a->nnames++] = argv[i];
		} else if (strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			a->help = true;
		} else if (strcmp(argv[i], "--no-exec") == 0) {
			a->so.allow_exec = false;
		} else if (strcmp(argv[i], "--sources") == 0) {
			a->sources = true;
		} else if ((v = opt_value(argc, argv, &i, "--confdir", &missing)) != NULL) {
			a->so.confdir = v;
		} else if ((v = opt_value(argc, argv, &i, "--section", &missing)) != NULL) {
			a->so.section = v;
		} else if ((v = opt_value(argc, argv, &i, "--puppet-bin", &missing)) != NULL) {
			a->so.puppet_bin = v;
		} else if ((v = opt_value(argc, argv, &i, "--set", &missing)) != NULL) {
			if (!add_set(a, v, err))
				return false;
		} else if ((v = opt_value(argc, argv, &i, "--packaging", &missing)) != NULL) {
			if (!set_packaging(a, v, err))
				return false;
		} else {
			cr_err_set(err, CR_KIND_INVALID_PARAMETER, "%s option '%s'",
			    missing ? "no value for" : "unknown", argv[i]);
			return false;
		}
	}
	a->so.overrides = a->pairs;
	a->so.names = a->nnames > 0 ? a->names : NULL;
	return true;
}

int
cr_cmd_settings(int argc, char **argv)
{
	struct args a;
	cr_settings *s = NULL;
	json_t *out = NULL;
	cr_err err;
	int rc = 1;

	cr_err_init(&err);
	if (!parse_args(argc, argv, &a, &err) || a.help) {
		rc = cr_cmd_stop_at_args(&err, usage);
		goto out;
	}
	if ((s = cr_settings_load(&a.so, &err)) == NULL)
		goto out;
	if (a.sources) {
		out = json_pack("{s:o, s:o, s:o}", "settings", cr_settings_to_json(s),
		    "sources", cr_settings_sources_json(s),
		    "puppet_conf", cr_json_str(cr_settings_conf_path(s)));
	} else
		out = cr_settings_to_json(s);
	if (out == NULL) {
		cr_err_set(&err, CR_KIND_NOMEM, "out of memory building the output");
		goto out;
	}
	if (!cr_cmd_print(out, print_json, &err))
		goto out;
	rc = 0;
out:
	if (rc != 0 && err.set)
		cr_task_print_error(&err);
	json_decref(out);
	cr_settings_free(s);
	args_free(&a);
	cr_err_clear(&err);
	return rc;
}
