/*
 * cr_journal.c - staging directory and journal (see cr_journal.h).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_fs.h"
#include "cr_journal.h"
#include "cr_json.h"
#include "cr_x509.h"

#define JOURNAL_MAX ((size_t)256 << 10)

static const char *const names[] = {
	[CR_J_NONE] = "none",
	[CR_J_STAGED] = "staged",
	[CR_J_SUBMITTED] = "submitted",
	[CR_J_SIGNED] = "signed",
	[CR_J_PREPARED] = "prepared",
	[CR_J_SWAPPED] = "swapped",
};

const char *
cr_jstate_name(enum cr_jstate s)
{
	return (s >= CR_J_NONE && s <= CR_J_SWAPPED) ? names[s] : "none";
}

enum cr_jstate
cr_jstate_parse(const char *name)
{
	int i;

	for (i = CR_J_STAGED; name != NULL && i <= CR_J_SWAPPED; i++)
		if (strcmp(names[i], name) == 0)
			return (enum cr_jstate)i;
	return CR_J_NONE;
}

char *
cr_staging_path(const char *ssldir)
{
	char *copy1 = NULL, *copy2 = NULL, *out = NULL;
	const char *dir, *base;
	size_t len = strlen(ssldir);

	/* strip trailing slashes: "/x/ssl/" is "/x/ssl" */
	if ((copy1 = strdup(ssldir)) == NULL || (copy2 = strdup(ssldir)) == NULL)
		goto out;
	while (len > 1 && copy1[len - 1] == '/') {
		copy1[--len] = '\0';
		copy2[len] = '\0';
	}
	dir = dirname(copy1);
	base = basename(copy2);
	if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0)
		goto out;
	if (asprintf(&out, "%s%s.%s.cert_regen", dir,
	    strcmp(dir, "/") == 0 ? "" : "/", base) == -1)
		out = NULL;
out:
	free(copy1);
	free(copy2);
	return out;
}

char *
cr_staging_file(const char *staging, const char *name)
{
	return cr_path_join(staging, name);
}

json_t *
cr_journal_read(const char *staging, bool *found, cr_err *err)
{
	return cr_journal_read_named(staging, CR_JOURNAL_FILE, found, err);
}

json_t *
cr_journal_read_named(const char *staging, const char *name, bool *found,
    cr_err *err)
{
	json_t *j = NULL;
	json_error_t jerr;
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	cr_err e;

	cr_err_init(&e);
	*found = false;
	if ((path = cr_staging_file(staging, name)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	if (!cr_file_read(path, JOURNAL_MAX, &buf, &len, &e)) {
		bool missing = e.details != NULL &&
		    json_is_true(json_object_get(e.details, "missing"));
		if (!missing) {
			cr_err_set(err, e.kind, "%s", e.msg);
		}
		goto out;
	}
	*found = true;
	if ((j = json_loadb(buf, len, 0, &jerr)) == NULL || !json_is_object(j)) {
		cr_err_set(err, CR_KIND_PARSE,
		    "the journal %s is damaged (%s): move the staging directory "
		    "%s aside and run the task again", path,
		    j == NULL ? jerr.text : "not an object", staging);
		json_decref(j);
		j = NULL;
	}
out:
	cr_err_clear(&e);
	free(buf);
	free(path);
	return j;
}

bool
cr_journal_save(const char *staging, json_t *journal, const char *state,
    cr_err *err)
{
	return cr_journal_save_named(staging, CR_JOURNAL_FILE, journal, state,
	    err);
}

bool
cr_journal_save_named(const char *staging, const char *name,
    json_t *journal, const char *state, cr_err *err)
{
	char *path = NULL, *text = NULL, iso[21];
	bool ok = false;

	json_object_set_new(journal, "state", json_string(state));
	cr_iso8601(time(NULL), iso);
	json_object_set_new(journal, "updated_at", json_string(iso));
	if ((path = cr_staging_file(staging, name)) == NULL ||
	    (text = json_dumps(journal, JSON_INDENT(2) | JSON_SORT_KEYS))
	    == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = cr_file_write_atomic(path, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1, err);
out:
	free(text);
	free(path);
	return ok;
}

bool
cr_journal_write(const char *staging, json_t *journal, enum cr_jstate s,
    cr_err *err)
{
	return cr_journal_save(staging, journal, cr_jstate_name(s), err);
}

enum cr_jstate
cr_journal_state(json_t *journal)
{
	return cr_jstate_parse(json_string_value(json_object_get(journal,
	    "state")));
}
