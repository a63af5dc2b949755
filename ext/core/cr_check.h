/*
 * cr_check.h - does a Puppet server serve this agent?  (cert_regen::
 * check_server): mutual TLS with the agent's own identity, the server's
 * certificate checked against the agent's CA bundle and CRLs (and an
 * expected fingerprint and names), then a catalog compiled for the agent
 * through that server, as `puppet agent` asks for one.
 */
#ifndef CR_CHECK_H
#define CR_CHECK_H

#include <stdbool.h>
#include <jansson.h>

#include "cr_err.h"

struct cr_check_opts {
	const char *confdir;		/* the agent whose identity is used */
	const char *server;		/* NULL: the agent's server setting */
	int port;			/* 0: the agent's serverport */
	const char *expect_fingerprint;	/* SHA-256, any common spelling */
	json_t *expect_names;		/* array: names the cert must carry */
	bool catalog;			/* compile a catalog through it */
	const char *environment;	/* NULL: production */
};

json_t *cr_check_server(const struct cr_check_opts *o, cr_err *err);

#endif
