/*
 * cr_status.h - the node's certificate state: the object behind the
 * `cert_regen` fact and the `cert_regen::status` task.
 */
#ifndef CR_STATUS_H
#define CR_STATUS_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "cr_err.h"

/* Days before expiry at which health turns "expiring". */
#define CR_WARN_DAYS_DEFAULT 30
#define CR_WARN_DAYS_MAX 3650

struct cr_status_opts {
	const char *confdir;	/* NULL: the packaging default */
	const char *ssldir;	/* NULL: from settings */
	const char *certname;	/* NULL: from settings */
	/* Used only when neither the caller nor puppet.conf sets certname
	 * (the fact passes Facter's fqdn, as Puppet itself does). */
	const char *default_certname;
	const char **overrides;	/* more "setting", "value" pairs, NULL-terminated */
	int warn_days;		/* < 0: CR_WARN_DAYS_DEFAULT */
	time_t now;		/* 0: time(NULL) */
	bool allow_exec;	/* may run `puppet config print` */
	/* Judge revocation with the CA's CRL, fetched over HTTPS from
	 * ca_server:ca_port and checked against localcacert, instead of the
	 * local crl.pem ("crl_source": "ca"; "local" when not asked or when
	 * the CA cannot be reached, then with an "errors" entry). */
	bool fresh_crl;
	/* How fresh_crl fetches the CA's CRL (PEM, malloc'd, *len set; NULL
	 * with err set on failure): cr_status_fetch_crl in the executable.
	 * NULL in the Ruby extension, which links no HTTP client, so a Facter
	 * process loads neither libcurl nor libyaml; fresh_crl then reports
	 * an error entry and keeps the local CRL. */
	char *(*fetch_crl)(const char *server, int port, const char *cacert,
	    size_t *len, cr_err *err);
};

/* The executable's fetch_crl: GET the CA's CRL over HTTPS (libcurl),
 * verifying the server with cacert.  Lives in cr_status_fetch.c. */
char *cr_status_fetch_crl(const char *server, int port, const char *cacert,
    size_t *len, cr_err *err);

/*
 * Collects the state.  Never fails because of the files it reads: a missing
 * or broken file becomes part of the answer (and an entry of "errors").
 * Returns NULL (err set) only when settings cannot be resolved or memory
 * runs out.
 */
json_t *cr_status_collect(const struct cr_status_opts *opts, cr_err *err);

#endif
