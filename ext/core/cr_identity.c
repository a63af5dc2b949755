/*
 * cr_identity.c - what an identity carries over, its summary, and the
 * cached catalog it makes stale (see cr_identity.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cr_csr.h"
#include "cr_identity.h"
#include "cr_json.h"
#include "cr_x509.h"

/* Splits "IP:x" / "DNS:x" / bare names into the two lists. */
void
cr_identity_alt_name_add(json_t *dns, json_t *ip, const char *s)
{
	unsigned char buf[16];

	if (strncmp(s, "IP:", 3) == 0)
		json_array_append_new(ip, cr_json_str(s + 3));
	else if (strncmp(s, "DNS:", 4) == 0)
		json_array_append_new(dns, cr_json_str(s + 4));
	else if (inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1)
		json_array_append_new(ip, cr_json_str(s));
	else
		json_array_append_new(dns, cr_json_str(s));
}

/* pp_* (registered and private arcs) of the current cert, to carry over. */
void
cr_identity_carry_extensions(X509 *current, json_t *ext)
{
	json_t *all = cr_extensions_json(X509_get0_extensions(current)), *v;
	const char *k;
	char oid[128];
	cr_err e;

	cr_err_init(&e);
	json_object_foreach(all, k, v) {
		if (json_is_string(v) &&
		    cr_ext_oid_resolve(k, false, oid, sizeof(oid), &e))
			json_object_set(ext, k, v);
		cr_err_clear(&e);
	}
	json_decref(all);
}

static void
prefixed_add(json_t *list, const char *prefix, const char *name)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s", prefix, name) != -1)
		json_array_append_new(list, cr_json_str(s));
	free(s);
}

/* The certificate's SANs as the results' top-level dns_alt_names lists
 * them: "DNS:<name>"..., then "IP:<address>"... */
static json_t *
alt_names_of(X509 *x)
{
	json_t *dns = json_array(), *ip = json_array(), *out = json_array();
	json_t *v;
	size_t i;

	if (dns == NULL || ip == NULL || out == NULL) {
		json_decref(out);
		out = NULL;
		goto out;
	}
	cr_sans_json(X509_get0_extensions(x), dns, ip);
	json_array_foreach(dns, i, v)
		prefixed_add(out, "DNS:", json_string_value(v));
	json_array_foreach(ip, i, v)
		prefixed_add(out, "IP:", json_string_value(v));
out:
	json_decref(dns);
	json_decref(ip);
	return out;
}

json_t *
cr_identity_cert_summary(X509 *x)
{
	json_t *full = cr_cert_json(x, time(NULL)), *out;

	if (full == NULL)
		return json_null();
	out = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o?, s:O}",
	    "subject", json_object_get(full, "subject"),
	    "issuer", json_object_get(full, "issuer"),
	    "serial", json_object_get(full, "serial"),
	    "fingerprint_sha256", json_object_get(full, "fingerprint_sha256"),
	    "not_after", json_object_get(full, "not_after"),
	    "dns_alt_names", alt_names_of(x),
	    "extensions", json_object_get(full, "extensions"));
	json_decref(full);
	return out ? out : json_null();
}

void
cr_identity_catalog_remove(const cr_settings *set, const char *certname,
    json_t *result, json_t *warnings)
{
	const char *dd = cr_settings_get(set, "client_datadir");
	char *catalog = NULL;

	if (dd == NULL || certname == NULL ||
	    asprintf(&catalog, "%s/catalog/%s.json", dd, certname) == -1)
		return;
	if (unlink(catalog) == 0)
		json_object_set_new(result, "cached_catalog_removed",
		    cr_json_str(catalog));
	else if (errno != ENOENT)
		json_array_append_new(warnings, json_sprintf("the cached "
		    "catalog %s was not removed: %s (remove it by hand)",
		    catalog, strerror(errno)));
	free(catalog);
}
