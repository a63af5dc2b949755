/*
 * cr_regen_int.h - state shared by cr_regen.c (flow, local steps) and
 * cr_regen_ca.c (talking to the CA).  Not part of the core's API.
 */
#ifndef CR_REGEN_INT_H
#define CR_REGEN_INT_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cr_flow_ops.h"
#include "cr_http.h"
#include "cr_journal.h"
#include "cr_killpoint.h"
#include "cr_lock.h"
#include "cr_regen.h"
#include "cr_settings.h"

struct regen {
	const struct cr_regen_opts *o;
	const struct cr_flow_ops *ops;	/* o->ops, or the real ones */
	cr_settings *set;
	char *ssldir;		/* real path of the live ssldir */
	char *staging;
	const char *certname;	/* borrowed from set */
	json_t *result;		/* the answer being built */
	json_t *steps;		/* borrowed from result */
	json_t *journal;
	enum cr_jstate state;
	json_t *request;	/* {dns_alt_names, ip_alt_names, attributes} */
	EVP_PKEY *key;		/* staged key */
	X509_REQ *csr;
	char *csr_fp;
	void *http;		/* the CA connection (ops->ca_open) */
	char *cert_pem, *ca_pem, *crl_pem;
	size_t cert_len, ca_len, crl_len;
	const char *step;	/* the step under way, for errors */
	const char *current;	/* why the live identity needs nothing
				 * more (state "current"), or NULL */
	char *live_fp;		/* live hostcert's SHA-256 before the locks */
	struct timespec t0;
};

/* step bookkeeping (cr_regen.c) */
void regen_step_begin(struct regen *r, const char *name);
json_t *regen_step_end(struct regen *r);	/* the step's entry (borrowed) */

/* CA side (cr_regen_ca.c) */
bool regen_ca_connect(struct regen *r, cr_err *err);
bool regen_ca_check_clean(struct regen *r, json_t *into, cr_err *err);
/* Fingerprint of the request the CA holds pending for the certname: NULL
 * with *none true when there is none, NULL with err set on error. */
char *regen_ca_pending_fp(struct regen *r, bool *none, cr_err *err);
/* 1 when the CA's certificate for the certname carries the staged key,
 * 0 when there is none or another, -1 on error (err set). */
int regen_ca_signed_for_staged(struct regen *r, cr_err *err);
bool regen_ca_submit(struct regen *r, cr_err *err);
/* true with *signed_ false on time-out (pending) */
bool regen_ca_wait(struct regen *r, bool *signed_, cr_err *err);
bool regen_ca_fetch_verify(struct regen *r, cr_err *err);
/* On resume with a downloaded certificate: 1 when a fresh CRL revokes it,
 * 0 when not, -1 when that cannot be checked (err set). */
int regen_ca_recheck(struct regen *r, cr_err *err);

#endif
