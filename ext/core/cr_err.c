/*
 * cr_err.c - the error record (see cr_err.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "cr_err.h"
#include "cr_json.h"

void
cr_err_init(cr_err *e)
{
	memset(e, 0, sizeof(*e));
}

void
cr_err_clear(cr_err *e)
{
	if (e == NULL)
		return;
	json_decref(e->details);
	cr_err_init(e);
}

static void
err_vset(cr_err *e, const char *kind, const char *fmt, va_list ap)
{
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->set = true;
}

void
cr_err_set(cr_err *e, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL || e->set)
		return;
	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
}

char *
cr_openssl_errors(char *buf, size_t len)
{
	unsigned long code;
	size_t used = 0;
	char one[256];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, one, sizeof(one));
		if (used < len) {
			int n = snprintf(buf + used, len - used, "%s%s",
			    used ? "; " : "", one);
			if (n > 0)
				used += (size_t)n;
		}
	}
	return buf;
}

void
cr_err_openssl(cr_err *e, const char *fmt, ...)
{
	va_list ap;
	char queue[1024];
	size_t n;

	cr_openssl_errors(queue, sizeof(queue));	/* always drain */
	if (e == NULL || e->set)
		return;
	va_start(ap, fmt);
	err_vset(e, CR_KIND_OPENSSL, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (queue[0] != '\0' && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", queue);
}

void
cr_err_errno(cr_err *e, const char *kind, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (e == NULL || e->set)
		return;
	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
		    strerror(errnum));
	cr_err_detail_new(e, "errno", json_integer(errnum));
}

void
cr_err_set_step(cr_err *e, const char *step)
{
	if (e == NULL || e->step[0] != '\0')
		return;
	snprintf(e->step, sizeof(e->step), "%s", step);
}

void
cr_err_detail_new(cr_err *e, const char *key, json_t *value)
{
	if (e == NULL || value == NULL) {
		json_decref(value);
		return;
	}
	if (e->details == NULL)
		e->details = json_object();
	if (e->details == NULL)
		json_decref(value);
	else
		json_object_set_new(e->details, key, value);
}

json_t *
cr_err_to_json(const cr_err *e)
{
	json_t *out = NULL, *details = NULL;

	details = e->details ? json_deep_copy(e->details) : json_object();
	if (details == NULL)
		goto out;
	if (e->step[0] != '\0')
		json_object_set_new(details, "step", json_string(e->step));
	if ((out = json_object()) == NULL)
		goto out;
	json_object_set_new(out, "msg",
	    cr_json_str(e->msg[0] ? e->msg : "unknown error"));
	json_object_set_new(out, "kind",
	    cr_json_str(e->kind[0] ? e->kind : CR_KIND_INTERNAL));
	json_object_set(out, "details", details);
out:
	json_decref(details);
	return out;
}
