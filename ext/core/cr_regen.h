/*
 * cr_regen.h - regenerating an agent's certificate on the agent: staged,
 * verified, swapped atomically, resumable (cert_regen::regenerate).
 *
 * Flow (each step is timed and reported in result.steps):
 *   preflight  settings, current identity, Puppet's locks, CA reachable
 *   stage      new key + CSR in the staging directory (cr_journal.h)
 *   submit     PUT the CSR; a CA that still holds a signed cert for the
 *              name stops the run (cert_regen/ca-not-cleaned), live files
 *              untouched
 *   wait       poll for the signed cert up to wait_for_cert seconds; on
 *              time-out the result is state "pending" (run again to resume)
 *   verify     key, chain to the CA bundle (a new CA only when it matches
 *              ca_fingerprint), not revoked by a fresh CRL, CN and SANs
 *   prepare    complete new ssldir built beside the live one; backup made
 *              and verified
 *   swap       services stopped, new ssldir exchanged in, cached catalog
 *              removed, the stopped services started again
 *   puppet     optional `puppet agent -t`
 */
#ifndef CR_REGEN_H
#define CR_REGEN_H

#include <stdbool.h>

#include <jansson.h>

#include "cr_err.h"
#include "cr_flow_ops.h"
#include "cr_lock.h"

#define CR_REGEN_WAIT_DEFAULT 120	/* seconds, wait_for_cert */
#define CR_REGEN_WAIT_MAX 3600
#define CR_REGEN_POLL_SECONDS 2
#define CR_REGEN_LOCK_TIMEOUT_MS CR_LOCK_PAIR_TIMEOUT_MS
#define CR_REGEN_PUPPET_TIMEOUT_MS 1800000

struct cr_regen_opts {
	const char *confdir, *ssldir, *certname, *ca_server;
	int ca_port;			/* 0: from settings */
	json_t *dns_alt_names;		/* array, or NULL: carry over */
	json_t *extension_requests;	/* object, or NULL: carry over + csr_attributes.yaml */
	const char *key_type;		/* "rsa" | "ec"; NULL: Puppet's key_type */
	int key_size;			/* 0: Puppet's keylength */
	const char *curve;		/* NULL: Puppet's named_curve */
	const char *ca_fingerprint;	/* accept a new CA only with this pin */
	int wait_for_cert;		/* < 0: CR_REGEN_WAIT_DEFAULT */
	bool backup;
	const char *backup_dir;
	json_t *services;		/* array, or NULL: the default list */
	bool remove_cached_catalog;
	bool run_puppet;
	bool noop;
	long lock_timeout_ms;		/* < 0: CR_REGEN_LOCK_TIMEOUT_MS; 0: do not wait */
	const struct cr_flow_ops *ops;	/* CA and services; NULL: the real
					 * ones (tests pass their own) */
};

/* The result object (state regenerated | pending | unchanged), or NULL with
 * err set; err->details then carries "step", "next_step" and "steps". */
json_t *cr_regen_run(const struct cr_regen_opts *o, cr_err *err);

struct cr_restore_opts {
	const char *confdir, *ssldir;
	const char *backup;		/* a path, or "latest" */
	const char *backup_dir;
	json_t *services;
	bool noop;
	long lock_timeout_ms;
	bool allow_revoked;	/* restore a certificate the CA revoked */
	const struct cr_flow_ops *ops;	/* CA and services; NULL: the real
					 * ones (tests pass their own) */
};

/* Puts a backup back, atomically, with the same service handling.  The
 * backup's certificate is first checked against a fresh CRL from the CA:
 * a revoked one is refused (CR_KIND_BACKUP_REVOKED) unless allow_revoked;
 * a CA that cannot be asked leaves a warning (the restore goes on). */
json_t *cr_restore_run(const struct cr_restore_opts *o, cr_err *err);
/* What o asks to restore, for messages: o->backup, or "latest" (never
 * NULL). */
const char *cr_restore_backup_name(const struct cr_restore_opts *o);

#endif
