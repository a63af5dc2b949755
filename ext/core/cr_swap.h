/*
 * cr_swap.h - replacing an ssldir's identity without ever exposing a mix.
 *
 * The new identity is assembled in a complete copy of the live ssldir
 * (cr_swap_build_tree), then exchanged with the live directory in one
 * renameat2(RENAME_EXCHANGE): at every instant the live path holds either
 * the whole old identity or the whole new one, and the old one is left in
 * the copy's place.  Where the filesystem cannot exchange (EINVAL, EXDEV,
 * ENOSYS), each file is installed atomically instead and a failure puts
 * the backup back.
 */
#ifndef CR_SWAP_H
#define CR_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "cr_err.h"
#include "cr_settings.h"

struct cr_identity {
	/* paths relative to the ssldir (from hostprivkey, hostpubkey,
	 * hostcert, localcacert, hostcrl, hostcsr) */
	const char *rel_key, *rel_pubkey, *rel_cert, *rel_ca, *rel_crl,
	    *rel_csr;
	EVP_PKEY *key;			/* borrowed */
	const char *cert_pem, *ca_pem, *crl_pem;	/* NUL-terminated */
};

/* A path under ssldir as a relative one ("certs/x.pem"), borrowed from
 * path; NULL (err set) if path is not inside ssldir. */
const char *cr_swap_relative(const char *ssldir, const char *path,
    const char *setting, cr_err *err);

/* Copies live to tree (which must not exist) and puts the identity in it:
 * key (0640, owner of the old key, created O_EXCL), public key and cert
 * (0644), CA bundle, CRL; removes the old CSR. */
bool cr_swap_build_tree(const char *live, const char *tree,
    const struct cr_identity *id, cr_err *err);

/* New "<backup_dir or <ssldir>_bak>/<YYYYmmddTHHMMSSZ>". */
char *cr_backup_path(const char *ssldir, const char *backup_dir, time_t now);
/* Copies ssldir to dest (parents created 0700) and verifies the copy. */
bool cr_backup_make(const char *ssldir, const char *dest, cr_err *err);
/* The newest backup under the backup dir, or NULL (err set). */
char *cr_backup_latest(const char *ssldir, const char *backup_dir,
    cr_err *err);

/* Exchanges live and tree atomically; *exchanged false means the
 * filesystem cannot (the caller then installs file by file). */
bool cr_swap_exchange(const char *live, const char *tree, bool *exchanged,
    cr_err *err);
/*
 * Finishes an exchange of the ssldir of set with <staging>/<name> that a
 * kill interrupted (Windows' three renames leave <staging>/<name>.xchg,
 * and after the first one no ssldir): called before the ssldir is
 * resolved, it holds Puppet's run lock (agent_catalog_run_lockfile;
 * lock_timeout_ms < 0: CR_LOCK_PAIR_TIMEOUT_MS) meanwhile, not the SSL
 * lock, which lives in the ssldir ($ssldir/ssl.lock) and would make a
 * missing one exist.  Nothing to do (true) when there is no leftover, as
 * always on POSIX, whose exchange is one step.
 */
bool cr_swap_exchange_finish(const cr_settings *set, const char *name,
    long lock_timeout_ms, cr_err *err);
/* The fallback: installs the identity's files of tree into live one by
 * one (atomic each); on failure reinstalls them from backup. */
bool cr_swap_install_files(const char *live, const char *tree,
    const char *backup, const struct cr_identity *id, cr_err *err);

#endif
