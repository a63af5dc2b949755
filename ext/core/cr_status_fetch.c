/*
 * cr_status_fetch.c - the CA's CRL for cert_regen::status fresh_crl, over
 * HTTPS.  Kept apart from cr_status.c so that the fact's extension, which
 * never fetches, links no HTTP client (see cr_status_opts.fetch_crl).
 */
#include <string.h>

#include "cr_http.h"
#include "cr_status.h"

char *
cr_status_fetch_crl(const char *server, int port, const char *cacert,
    size_t *len, cr_err *err)
{
	struct cr_http_opts ho;
	cr_http *h = NULL;
	char *pem = NULL;

	memset(&ho, 0, sizeof(ho));
	ho.server = server;
	ho.port = port;
	ho.cacert = cacert;
	if ((h = cr_http_new(&ho, err)) == NULL)
		goto out;
	pem = cr_ca_get_crl(h, len, err);
out:
	cr_http_free(h);
	return pem;
}
