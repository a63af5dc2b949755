/*
 * cr_server.h - the CA host's side: its own certificate, a whole new CA,
 * and putting a pair of backups back (cert_regen::primary_cert,
 * cert_regen::ca_rebuild, cert_regen::primary_restore, cert_regen::ca_renew).
 *
 * The three change two directories together, the primary's ssldir and the
 * CA directory, always the same way (see cr_server.c and docs/tasks.md "The
 * primary and the CA"): services stopped, verified backups of both
 * directories, complete new directories built and verified beside the live
 * ones, exchanged one after the other (journaled, so a rerun finishes a
 * run that was killed), services started, and the server must then answer
 * over TLS with the new certificate.
 */
#ifndef CR_SERVER_H
#define CR_SERVER_H

#include <stdbool.h>
#include <jansson.h>

#include "cr_err.h"

struct cr_flow_ops;

#define CR_SERVER_START_TIMEOUT_DEFAULT 300	/* seconds */

enum cr_server_op {
	CR_SRV_PRIMARY_CERT = 1,	/* new cert for the CA host, same CA */
	CR_SRV_CA_REBUILD,		/* new CA, new cert for the CA host */
	CR_SRV_RESTORE,			/* put a backup pair back */
	CR_SRV_CA_RENEW,		/* same CA keys, new CA validity */
};

struct cr_server_opts {
	enum cr_server_op op;
	const char *confdir;	/* NULL: packaging default */
	json_t *dns_alt_names;	/* array or NULL: carried over */
	json_t *services;	/* array or NULL: default server list */
	const char *backup_dir;	/* NULL: <ssldir>_bak and <cadir>_bak */
	bool revoke_old;	/* primary cert: revoke the old one (default) */
	const char *ca_name;	/* rebuild: NULL -> the ca_name setting */
	const char *backup;	/* restore: ssldir backup, path or "latest" */
	const char *ca_backup;	/* restore: cadir backup, path or "latest" */
	const char *puppetserver;	/* NULL: the packaging's puppetserver */
	long start_timeout_s;	/* 0: CR_SERVER_START_TIMEOUT_DEFAULT */
	long lock_timeout_ms;	/* < 0: default */
	long days;		/* renew: new validity, 0: default */
	bool allow_shorter;	/* renew: days may end before the CA does */
	bool noop;
	/* the services, the server and the CA tool (cr_flow_ops.h); NULL:
	 * the real ones */
	const struct cr_flow_ops *ops;
};

/* The result object (new reference), or NULL with err set; every error
 * carries details.next_step and details.live ("old", "new" or "unknown"). */
json_t *cr_server_run(const struct cr_server_opts *o, cr_err *err);

#endif
