/*
 * cr_server_int.h - state shared by cr_server.c (flow, journal, services,
 * exchange, server check) and cr_server_build.c (building the new ssldir
 * and cadir for each operation).  Not part of the core's API.
 */
#ifndef CR_SERVER_INT_H
#define CR_SERVER_INT_H

#include <openssl/x509.h>

#include "cr_flow_ops.h"
#include "cr_server.h"
#include "cr_settings.h"

struct srv {
	const struct cr_server_opts *o;
	cr_settings *set;
	const char *certname;	/* borrowed from set */
	char *ssldir, *cadir;	/* real paths of the live directories */
	char *staging;		/* <ssldir parent>/.<ssldir>.cert_regen.server */
	char *ca_staging;	/* <cadir parent>/.<cadir>.cert_regen.server */
	char *new_ssl, *new_ca;	/* <staging>/ssl, <ca_staging>/ca */
	char *backup_ssl, *backup_ca;	/* verified copies of the live dirs */
	char *src_ssl, *src_ca;	/* restore: the backups being restored */
	json_t *result;		/* the answer being built */
	json_t *warnings;	/* borrowed from result */
	json_t *journal;
	X509 *old_cert;		/* the live hostcert when the run began */
	json_t *alt_names;	/* ["DNS:x", "IP:y"] for the new cert */
	/* the services, the server and the CA tool: o->ops, or the real
	 * ones (cr_flow_ops_real) */
	const struct cr_flow_ops *ops;
};

/* Builds s->new_ssl and s->new_ca for s->o->op, complete and verified.
 * Puts "new" (and for a rebuild "new_ca") into s->result. */
bool srv_build(struct srv *s, cr_err *err);
/* ca_renew's noop: per CA certificate the old fingerprint and not_after
 * and the new not_after, into s->result "renewal" (nothing is written). */
bool srv_renew_preview(struct srv *s, cr_err *err);
/* Names for the new cert: the parameter, else the old cert's, else the
 * dns_alt_names setting; "DNS:"/"IP:" prefixed, the certname first. */
bool srv_alt_names(struct srv *s, cr_err *err);
/* A path of one of the live directories relative to it (borrowed), or
 * NULL with err set when the setting moved it elsewhere. */
const char *srv_rel(const char *dir, const char *path, const char *setting,
    cr_err *err);
#endif
