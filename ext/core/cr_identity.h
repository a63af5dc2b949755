/*
 * cr_identity.h - what a node's identity carries from one certificate to
 * the next, shared by the agent flow (cr_regen) and the server flows
 * (cr_server): alt names, the pp_* extensions, the summary of a
 * certificate the results print, and the cached catalog that a new
 * identity makes stale.
 */
#ifndef CR_IDENTITY_H
#define CR_IDENTITY_H

#include <jansson.h>
#include <openssl/x509.h>

#include "cr_settings.h"

/* "IP:x" / "DNS:x" / a bare name (an address goes to ip) into the ip or
 * the dns list, without its prefix. */
void cr_identity_alt_name_add(json_t *dns, json_t *ip, const char *s);
/* The pp_* extensions (registered and private arcs, not the authorization
 * arc) of a certificate into ext {short name or OID: value}. */
void cr_identity_carry_extensions(X509 *current, json_t *ext);
/* {subject, serial, fingerprint_sha256, not_after, dns_alt_names, issuer,
 * extensions} of a certificate (new reference, JSON null when it cannot
 * be read); dns_alt_names in the form of the results' top-level list:
 * "DNS:<name>"..., "IP:<address>"... */
json_t *cr_identity_cert_summary(X509 *x);
/* Removes $client_datadir/catalog/<certname>.json (settings of the agent
 * section): result.cached_catalog_removed names it; a failure other than
 * "not there" is a warning. */
void cr_identity_catalog_remove(const cr_settings *set, const char *certname,
    json_t *result, json_t *warnings);

#endif
