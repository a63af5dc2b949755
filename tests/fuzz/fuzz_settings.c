/*
 * fuzz_settings - puppet.conf through the whole resolver: the input is
 * written as <tmpdir>/puppet.conf and cr_settings_load resolves every
 * setting from it ([agent] over [main], $var / ${var} interpolation and
 * loops, File.expand_path, integers and ports, enums), then prints them
 * as the settings command does.  The [server] chain is resolved too when
 * the input names a server or master section.  Never runs `puppet`.
 */
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "cr_settings.h"
#include "fuzz_common.h"

static char dir[PATH_MAX];
static char conf[PATH_MAX + 16];

static void
cleanup(void)
{
	unlink(conf);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/cert_regen_fuzz_settings.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		fz_fail("mkdtemp %s failed", dir);
	snprintf(conf, sizeof(conf), "%s/puppet.conf", dir);
	setenv("HOME", "/root", 1);	/* "~" must expand the same way */
	atexit(cleanup);
	return 0;
}

static void
write_conf(const uint8_t *data, size_t size)
{
	int fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		fz_fail("cannot write %s", conf);
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0)
			fz_fail("cannot write %s", conf);
		off += (size_t)n;
	}
	close(fd);
}

static void
load(const char *section)
{
	struct cr_settings_opts o = {
		.confdir = dir,
		.section = section,
		.packaging = CR_PKG_AIO,
		.allow_exec = false,
		.privilege = CR_PRIV_ROOT,
	};
	cr_settings *s;
	cr_err err;

	cr_err_init(&err);
	s = cr_settings_load(&o, &err);
	fz_check_err("cr_settings_load", s != NULL, &err);
	if (s != NULL) {
		fz_json_consume("cr_settings_to_json", cr_settings_to_json(s));
		fz_json_consume("cr_settings_sources_json",
		    cr_settings_sources_json(s));
		if (cr_settings_get(s, "hostcert") == NULL ||
		    cr_settings_conf_path(s) == NULL)
			fz_fail("cr_settings_load: hostcert or path missing");
	}
	cr_settings_free(s);
	cr_err_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	write_conf(data, size);
	load("agent");
	if (memmem(data, size, "[server", 7) != NULL ||
	    memmem(data, size, "[master", 7) != NULL)
		load("server");
	return 0;
}
