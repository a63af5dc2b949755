/*
 * cr_certname.h - a node's default certname, and where puppet is.
 *
 * Puppet's default certname is Facter's hostname + "." + domain, lower-
 * cased, without a trailing dot (Settings.default_certname).  The only
 * exact answer is Puppet's own, so `puppet config print certname` comes
 * first; the native guess is the fallback.
 */
#ifndef CR_CERTNAME_H
#define CR_CERTNAME_H

#include "cr_err.h"
#include "cr_settings.h"

#define CR_CERTNAME_MAX 255
#define CR_CERTNAME_EXEC_TIMEOUT_MS 30000

/* Puppet's certname rules, made strict: 1..CR_CERTNAME_MAX bytes of
 * [a-z0-9._-], not starting with '.' or '-', no "..": safe to use as a
 * file name. */
bool cr_certname_valid(const char *name);

/*
 * The puppet executable: explicit if given, else the first executable of
 * the usual places (the packaging's own first), else "puppet" (PATH).
 * Borrowed string.
 */
const char *cr_puppet_find(enum cr_packaging pkg, const char *explicit_bin);

/*
 * `puppet config print certname --section S --confdir D` (argv, no shell,
 * 30 s timeout, 4 KiB of output), trimmed; NULL if it failed, timed out or
 * printed something that is not one word.  A new string.
 */
char *cr_certname_from_puppet(const char *puppet, const char *section,
    const char *confdir);

/*
 * The native guess: gethostname; the domain is what follows its first dot,
 * else what follows the first dot of getaddrinfo's canonical name, else
 * resolv.conf's domain or first search entry.  A new string, or NULL (err).
 */
char *cr_certname_from_hostname(cr_err *err);

#endif
