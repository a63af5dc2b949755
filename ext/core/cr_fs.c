/*
 * cr_fs.c - bounded file reads and path helpers (see cr_fs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cr_fs.h"

bool
cr_file_read(const char *path, size_t max, char **buf, size_t *len,
    cr_err *err)
{
	bool ok = false;
	int fd = -1;
	struct stat st;
	char *data = NULL;
	size_t size = 0, got = 0;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		int saved = errno;
		cr_err_errno(err, CR_KIND_IO, saved, "cannot open %s", path);
		if (saved == ENOENT || saved == ENOTDIR)
			cr_err_detail_new(err, "missing", json_true());
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cr_err_set(err, CR_KIND_IO, "%s is not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		cr_err_set(err, CR_KIND_IO,
		    "%s is %lld bytes, more than the %zu allowed", path,
		    (long long)st.st_size, max);
		goto out;
	}
	size = (size_t)st.st_size;
	if ((data = malloc(size + 1)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to read %s", path);
		goto out;
	}
	/* read until EOF, never beyond the size we allocated for */
	while (got < size) {
		n = read(fd, data + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cr_err_errno(err, CR_KIND_IO, errno, "cannot read %s",
			    path);
			goto out;
		}
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
	cr_secret_free(data, size);
	if (fd != -1)
		close(fd);
	return ok;
}

void
cr_secret_free(void *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

int
cr_path_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	return (errno == ENOENT || errno == ENOTDIR) ? 0 : -1;
}

char *
cr_path_join(const char *a, const char *b)
{
	char *out = NULL;
	size_t la = strlen(a);

	if (asprintf(&out, "%s%s%s", a,
	    (la > 0 && a[la - 1] == '/') ? "" : "/", b) == -1)
		out = NULL;
	return out;
}
