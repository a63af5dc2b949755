/*
 * cr_sys_common.c - the parts of the platform seam that are the same on
 * every platform (see cr_sys_fs.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sys/cr_sys_fs.h"
#include "sys/cr_sys_host.h"
#include "sys/cr_sys_int.h"
#include "sys/cr_sys_proc.h"

const char *
cr_sys_ftype_name(enum cr_sys_ftype t)
{
	switch (t) {
	case CR_SYS_MISSING: return "missing path";
	case CR_SYS_FILE: return "regular file";
	case CR_SYS_DIR: return "directory";
	case CR_SYS_LINK: return "symlink";
	case CR_SYS_FIFO: return "FIFO";
	case CR_SYS_SOCKET: return "socket";
	case CR_SYS_DEVICE: return "device";
	case CR_SYS_OTHER: break;
	}
	return "special file";
}

char *
cr_sys_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *out;

	if ((out = malloc(la + lb + 2)) == NULL)
		return NULL;
	memcpy(out, a, la);
	if (la == 0 || (a[la - 1] != '/' &&
	    !(a[la - 1] == '\\' && cr_sys_windows())))
		out[la++] = '/';
	memcpy(out + la, b, lb + 1);
	return out;
}

void
cr_sys_names_free(char **names, size_t count)
{
	size_t i;

	for (i = 0; names != NULL && i < count; i++)
		free(names[i]);
	free(names);
}

bool
cr_sys_names_add(struct cr_sys_names *ns, char *name, const char *dir,
    size_t max, cr_err *err)
{
	char **nv;

	if (name == NULL)
		goto nomem;
	if (ns->n == max) {
		free(name);
		cr_err_set(err, CR_KIND_IO, "%s has more than %zu entries: "
		    "remove what does not belong there", dir, max);
		return false;
	}
	if (ns->n == ns->cap) {
		if ((nv = realloc(ns->v, (ns->cap ? ns->cap * 2 : 16) *
		    sizeof(*nv))) == NULL) {
			free(name);
			goto nomem;
		}
		ns->v = nv;
		ns->cap = ns->cap ? ns->cap * 2 : 16;
	}
	ns->v[ns->n++] = name;
	return true;
nomem:
	cr_err_set(err, CR_KIND_NOMEM, "no memory to list %s", dir);
	return false;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
cr_sys_names_finish(struct cr_sys_names *ns, char ***names, size_t *count)
{
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), name_cmp);
	*names = ns->v;
	*count = ns->n;
	memset(ns, 0, sizeof(*ns));
}

bool
cr_sys_read_bounded(void *h, cr_sys_read_chunk_fn rd, const char *path,
    unsigned long long fsize, size_t max, char **buf, size_t *len,
    cr_err *err)
{
	bool ok = false;
	char *data = NULL;
	size_t size = 0, got = 0;
	long long n;

	*buf = NULL;
	*len = 0;
	if (fsize > max) {
		cr_err_set(err, CR_KIND_IO,
		    "%s is %llu bytes, more than the %zu allowed: check what "
		    "wrote it and replace it with the file it should be", path,
		    fsize, max);
		goto out;
	}
	size = (size_t)fsize;
	if ((data = malloc(size + 1)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to read %s", path);
		goto out;
	}
	/* read until EOF, never beyond the size we allocated for */
	while (got < size) {
		if ((n = rd(h, data + got, size - got, path, err)) < 0)
			goto out;
		if (n == 0)
			break;	/* file shrank while we read: take what is there */
		got += (size_t)n;
	}
	data[got] = '\0';
	*buf = data;
	*len = got;
	data = NULL;
	ok = true;
out:
	if (data != NULL) {
		OPENSSL_cleanse(data, size);
		free(data);
	}
	return ok;
}

const char *
cr_sys_svc_name(enum cr_sys_svc s)
{
	switch (s) {
	case CR_SYS_SVC_ABSENT: return "absent";
	case CR_SYS_SVC_STOPPED: return "stopped";
	case CR_SYS_SVC_RUNNING: return "running";
	case CR_SYS_SVC_PENDING: break;
	}
	return "pending";
}
