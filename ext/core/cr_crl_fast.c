/*
 * cr_crl_fast.c - CRLs without decoding every entry (see cr_crl_fast.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "cr_crl_fast.h"
#include "cr_fs_read.h"
#include "cr_x509.h"

#define TAG_INTEGER 0x02
#define TAG_BIT_STRING 0x03
#define TAG_OCTET_STRING 0x04
#define TAG_OID 0x06
#define TAG_UTCTIME 0x17
#define TAG_GENTIME 0x18
#define TAG_SEQUENCE 0x30
#define TAG_EXPLICIT0 0xA0

/* One DER TLV: tag, the whole encoding [start, end) and its content. */
struct tlv {
	int tag;
	const unsigned char *start, *c, *end;
	size_t clen;
};

/* Reads the TLV at *p (before end) in DER: low tag numbers, definite and
 * minimal lengths.  Advances *p past it. */
static bool
tlv_next(const unsigned char **p, const unsigned char *end, struct tlv *t)
{
	const unsigned char *q = *p;
	size_t n, k;

	if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
		return false;
	t->start = q;
	t->tag = q[0];
	n = q[1];
	q += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - q) < k || q[0] == 0)
			return false;
		for (n = 0; k > 0; k--)
			n = (n << 8) | *q++;
		if (n < 0x80)
			return false;
	}
	if (n > (size_t)(end - q))
		return false;
	t->c = q;
	t->clen = n;
	t->end = q + n;
	*p = t->end;
	return true;
}

static bool
tlv_expect(const unsigned char **p, const unsigned char *end, int tag,
    struct tlv *t)
{
	return tlv_next(p, end, t) && t->tag == tag;
}

static bool
is_time(int tag)
{
	return tag == TAG_UTCTIME || tag == TAG_GENTIME;
}

/* A DER INTEGER's content is minimal. */
static bool
int_ok(const struct tlv *t)
{
	if (t->clen == 0)
		return false;
	return t->clen == 1 || !((t->c[0] == 0x00 && !(t->c[1] & 0x80)) ||
	    (t->c[0] == 0xFF && (t->c[1] & 0x80)));
}

/* A time in its canonical DER form: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ. */
static bool
time_plain(const struct tlv *t)
{
	size_t want = t->tag == TAG_UTCTIME ? 13 : 15, i;

	if (!is_time(t->tag) || t->clen != want || t->c[want - 1] != 'Z')
		return false;
	for (i = 0; i + 1 < want; i++)
		if (t->c[i] < '0' || t->c[i] > '9')
			return false;
	return true;
}

/* crlEntryExtensions that are exactly one non-critical reasonCode
 * (ENUMERATED of one byte): nothing OpenSSL would act on or refuse. */
static bool
exts_plain(const struct tlv *exts)
{
	static const unsigned char reason_oid[] = { 0x06, 0x03, 0x55, 0x1D,
	    0x15 };
	const unsigned char *p = exts->c, *q;
	struct tlv ext, f;

	if (!tlv_expect(&p, exts->end, TAG_SEQUENCE, &ext) || p != exts->end)
		return false;
	q = ext.c;
	if (!tlv_expect(&q, ext.end, TAG_OID, &f) ||
	    (size_t)(f.end - f.start) != sizeof(reason_oid) ||
	    memcmp(f.start, reason_oid, sizeof(reason_oid)) != 0 ||
	    !tlv_expect(&q, ext.end, TAG_OCTET_STRING, &f) || q != ext.end)
		return false;
	return f.clen == 3 && f.c[0] == 0x0A && f.c[1] == 0x01;
}

/* The serials to keep: DER contents of INTEGERs. */
struct serials {
	unsigned char **v;
	size_t *len;
	size_t n;
};

static void
serials_free(struct serials *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		OPENSSL_free(s->v[i]);
	free(s->v);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

static bool
serials_of(STACK_OF(X509) *const *stacks, size_t nstacks, struct serials *s)
{
	size_t i, total = 0;
	int j, n;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nstacks; i++)
		total += stacks[i] ? (size_t)sk_X509_num(stacks[i]) : 0;
	if ((s->v = calloc(total + 1, sizeof(*s->v))) == NULL ||
	    (s->len = calloc(total + 1, sizeof(*s->len))) == NULL)
		return false;
	for (i = 0; i < nstacks; i++) {
		for (j = 0; stacks[i] && j < sk_X509_num(stacks[i]); j++) {
			unsigned char *der = NULL;
			const unsigned char *p;
			struct tlv t;

			n = i2d_ASN1_INTEGER(X509_get0_serialNumber(
			    sk_X509_value(stacks[i], j)), &der);
			if (n <= 0)
				return false;
			p = der;
			s->v[s->n++] = der;
			if (!tlv_next(&p, der + n, &t))
				return false;
			s->len[s->n - 1] = t.clen;
			memmove(der, t.c, t.clen);
		}
	}
	return true;
}

static bool
serial_wanted(const struct serials *s, const struct tlv *t)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->len[i] == t->clen && memcmp(s->v[i], t->c, t->clen) == 0)
			return true;
	return false;
}

/* The parts of one CertificateList. */
struct crl_der {
	struct tlv tbs, alg, sig, inner_alg, revoked;
	bool has_revoked;
	long count;
	/* kept entries: [start, end) pairs into the input */
	const unsigned char **keep;
	size_t nkeep, cap;
};

static bool
keep_entry(struct crl_der *d, const struct tlv *e)
{
	if (d->nkeep + 2 > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		const unsigned char **k = realloc(d->keep, cap * sizeof(*k));

		if (k == NULL)
			return false;
		d->keep = k;
		d->cap = cap;
	}
	d->keep[d->nkeep++] = e->start;
	d->keep[d->nkeep++] = e->end;
	return true;
}

/*
 * revokedCertificates: counts the entries and keeps every one that is
 * asked for or that is not in the plainest form (minimal serial, canonical
 * time, at most a plain reasonCode): those go to OpenSSL as they are, so
 * whatever it would refuse or act on in the full CRL it sees in the
 * reduced one.  Only the bounds of each entry must hold here.
 */
static bool
entries_scan(struct crl_der *d, const struct serials *want)
{
	const unsigned char *p = d->revoked.c;
	struct tlv e, f;
	bool keep;

	while (p < d->revoked.end) {
		const unsigned char *q;

		if (!tlv_expect(&p, d->revoked.end, TAG_SEQUENCE, &e))
			return false;
		q = e.c;
		keep = !tlv_expect(&q, e.end, TAG_INTEGER, &f) ||
		    !int_ok(&f) || serial_wanted(want, &f) ||
		    !tlv_next(&q, e.end, &f) || !time_plain(&f);
		if (!keep && q < e.end)
			keep = !tlv_expect(&q, e.end, TAG_SEQUENCE, &f) ||
			    !exts_plain(&f);
		if (!keep && q != e.end)
			keep = true;
		d->count++;
		if (keep && !keep_entry(d, &e))
			return false;
	}
	return true;
}

/* Walks a CertificateList in DER. */
static bool
crl_walk(const unsigned char *der, size_t len, const struct serials *want,
    struct crl_der *d)
{
	const unsigned char *p = der, *end = der + len, *q;
	struct tlv outer, f;

	if (!tlv_expect(&p, end, TAG_SEQUENCE, &outer))
		return false;
	q = outer.c;
	if (!tlv_expect(&q, outer.end, TAG_SEQUENCE, &d->tbs) ||
	    !tlv_expect(&q, outer.end, TAG_SEQUENCE, &d->alg) ||
	    !tlv_expect(&q, outer.end, TAG_BIT_STRING, &d->sig) ||
	    q != outer.end || d->sig.clen < 2 || d->sig.c[0] != 0)
		return false;
	q = d->tbs.c;
	if (!tlv_next(&q, d->tbs.end, &f))
		return false;
	if (f.tag == TAG_INTEGER && !tlv_next(&q, d->tbs.end, &f))
		return false;
	d->inner_alg = f;
	if (f.tag != TAG_SEQUENCE ||
	    !tlv_expect(&q, d->tbs.end, TAG_SEQUENCE, &f) ||	/* issuer */
	    !tlv_next(&q, d->tbs.end, &f) || !is_time(f.tag))
		return false;
	while (q < d->tbs.end) {
		if (!tlv_next(&q, d->tbs.end, &f))
			return false;
		if (is_time(f.tag) && !d->has_revoked)
			continue;	/* nextUpdate */
		if (f.tag == TAG_SEQUENCE && !d->has_revoked) {
			d->revoked = f;
			d->has_revoked = true;
			continue;
		}
		if (f.tag != TAG_EXPLICIT0 || q != d->tbs.end)
			return false;
	}
	return d->alg.end - d->alg.start == d->inner_alg.end -
	    d->inner_alg.start && memcmp(d->alg.start, d->inner_alg.start,
	    (size_t)(d->alg.end - d->alg.start)) == 0 &&
	    (!d->has_revoked || entries_scan(d, want));
}

/* Appends a DER length; returns the bytes written (out may be NULL). */
static size_t
der_len(unsigned char *out, size_t n)
{
	unsigned char b[8];
	size_t k = 0, i;

	if (n < 0x80) {
		if (out)
			out[0] = (unsigned char)n;
		return 1;
	}
	while (n > 0) {
		b[k++] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	if (out) {
		out[0] = (unsigned char)(0x80 | k);
		for (i = 0; i < k; i++)
			out[1 + i] = b[k - 1 - i];
	}
	return 1 + k;
}

/* The CertificateList with only the kept entries (new buffer). */
static unsigned char *
crl_reduced(const struct crl_der *d, size_t *out_len)
{
	size_t head = (size_t)(d->revoked.start - d->tbs.c);
	size_t tail = (size_t)(d->tbs.end - d->revoked.end);
	size_t kept = 0, list, tbs, all, i, n = 0;
	unsigned char *buf;

	for (i = 0; i < d->nkeep; i += 2)
		kept += (size_t)(d->keep[i + 1] - d->keep[i]);
	list = kept ? 1 + der_len(NULL, kept) + kept : 0;
	tbs = head + list + tail;
	all = (1 + der_len(NULL, tbs) + tbs) +
	    (size_t)(d->alg.end - d->alg.start) +
	    (size_t)(d->sig.end - d->sig.start);
	if ((buf = malloc(1 + der_len(NULL, all) + all)) == NULL)
		return NULL;
	buf[n++] = TAG_SEQUENCE;
	n += der_len(buf + n, all);
	buf[n++] = TAG_SEQUENCE;
	n += der_len(buf + n, tbs);
	memcpy(buf + n, d->tbs.c, head);
	n += head;
	if (kept) {
		buf[n++] = TAG_SEQUENCE;
		n += der_len(buf + n, kept);
		for (i = 0; i < d->nkeep; i += 2) {
			memcpy(buf + n, d->keep[i],
			    (size_t)(d->keep[i + 1] - d->keep[i]));
			n += (size_t)(d->keep[i + 1] - d->keep[i]);
		}
	}
	memcpy(buf + n, d->revoked.end, tail);
	n += tail;
	memcpy(buf + n, d->alg.start, (size_t)(d->alg.end - d->alg.start));
	n += (size_t)(d->alg.end - d->alg.start);
	memcpy(buf + n, d->sig.start, (size_t)(d->sig.end - d->sig.start));
	n += (size_t)(d->sig.end - d->sig.start);
	*out_len = n;
	return buf;
}

/* 1 the original TBS verifies with key, 0 it does not, -1 the algorithm
 * is not one taken here (the caller decodes the CRL in full). */
static int
tbs_verify(const struct crl_der *d, const X509_CRL *crl, EVP_PKEY *key)
{
	const X509_ALGOR *alg = NULL;
	const EVP_MD *md = NULL;
	EVP_MD_CTX *ctx = NULL;
	int mdnid, pknid, rc = -1;

	X509_CRL_get0_signature(crl, NULL, &alg);
	if (alg == NULL || !OBJ_find_sigid_algs(OBJ_obj2nid(alg->algorithm),
	    &mdnid, &pknid) || pknid == NID_rsassaPss)
		goto out;
	if (mdnid != NID_undef && (md = EVP_get_digestbynid(mdnid)) == NULL)
		goto out;
	if (mdnid == NID_undef && pknid != NID_ED25519 && pknid != NID_ED448)
		goto out;
	rc = 0;
	/* a CA whose public key does not decode (X509_get0_pubkey NULL)
	 * signed nothing */
	if (key == NULL || EVP_PKEY_type(pknid) != EVP_PKEY_get_base_id(key))
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = -1;
		goto out;
	}
	rc = EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, d->sig.c + 1, d->sig.clen - 1,
	    d->tbs.start, (size_t)(d->tbs.end - d->tbs.start)) == 1;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* Fills info for one CRL DER: reduced (with its signer) when entries can
 * be left out, else decoded in full.  NULL when the walker does not take
 * it; *fatal on out of memory. */
static X509_CRL *
crl_load(const unsigned char *der, size_t len, const struct serials *want,
    STACK_OF(X509) *bundle, struct cr_crl_info *info)
{
	struct crl_der d;
	unsigned char *red = NULL;
	const unsigned char *p;
	size_t rlen = 0;
	X509_CRL *crl = NULL;
	int i, rc;

	memset(&d, 0, sizeof(d));
	memset(info, 0, sizeof(*info));
	if (!crl_walk(der, len, want, &d))
		goto out;
	info->revoked_count = d.count;
	if (!d.has_revoked || (long)(d.nkeep / 2) == d.count) {
		p = der;	/* nothing to leave out: as it is */
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		goto out;
	}
	if ((red = crl_reduced(&d, &rlen)) == NULL)
		goto out;
	p = red;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)rlen)) == NULL)
		goto out;
	info->reduced = true;
	for (i = 0; bundle != NULL && i < sk_X509_num(bundle); i++) {
		X509 *ca = sk_X509_value(bundle, i);

		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_subject_name(ca)) != 0)
			continue;
		if ((rc = tbs_verify(&d, crl, X509_get0_pubkey(ca))) < 0) {
			X509_CRL_free(crl);	/* not ours to judge */
			crl = NULL;
			goto out;
		}
		if (rc == 1 && EVP_PKEY_up_ref(X509_get0_pubkey(ca)) == 1) {
			info->signer = X509_get0_pubkey(ca);
			break;
		}
	}
out:
	if (crl == NULL)
		memset(info, 0, sizeof(*info));
	info->crl = crl;
	free(red);
	free(d.keep);
	ERR_clear_error();
	return crl;
}

void
cr_crl_set_clear(struct cr_crl_set *s)
{
	int i;

	for (i = 0; s->info != NULL && s->crls != NULL &&
	    i < sk_X509_CRL_num(s->crls); i++)
		EVP_PKEY_free(s->info[i].signer);
	free(s->info);
	sk_X509_CRL_pop_free(s->crls, X509_CRL_free);
	s->info = NULL;
	s->crls = NULL;
}

bool
cr_crl_set_wrap(STACK_OF(X509_CRL) *crls, struct cr_crl_set *out)
{
	int i, n = crls ? sk_X509_CRL_num(crls) : 0;

	memset(out, 0, sizeof(*out));
	if ((out->info = calloc((size_t)n + 1, sizeof(*out->info))) == NULL)
		return false;
	out->crls = crls;
	for (i = 0; i < n; i++) {
		X509_CRL *c = sk_X509_CRL_value(crls, i);
		STACK_OF(X509_REVOKED) *r = X509_CRL_get_REVOKED(c);

		out->info[i].crl = c;
		out->info[i].revoked_count = r ? sk_X509_REVOKED_num(r) : 0;
	}
	return true;
}

#define PEM_BEGIN "-----BEGIN "
#define PEM_CRL_BEGIN "-----BEGIN X509 CRL-----"
#define PEM_CRL_END "-----END X509 CRL-----"
#define PEM_LINE_MAX 76

/* 1: a base64 digit, 2: '=', 0: anything else. */
static unsigned char b64_class[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_class_init(void)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < sizeof(digits) - 1; i++)
		b64_class[(unsigned char)digits[i]] = 1;
	b64_class['='] = 2;
}

/* A body line: base64 digits, then at most the '=' padding. *pad: the
 * number of '='. */
static bool
b64_line(const char *q, size_t l, size_t *pad)
{
	const unsigned char *u = (const unsigned char *)q;
	size_t i = 0;

	while (i < l && b64_class[u[i]] == 1)
		i++;
	*pad = l - i;
	while (i < l && b64_class[u[i]] == 2)
		i++;
	return i == l;
}

/* The end of the line at p (after its \n or \r\n), or NULL when the line
 * does not end so before end. *len: the line without its end. */
static const char *
line_end(const char *p, const char *end, size_t *len)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL)
		return NULL;
	*len = (size_t)(nl - p);
	if (*len > 0 && p[*len - 1] == '\r')
		(*len)--;
	return nl + 1;
}

/*
 * The next PEM block from *p in its plain form only: a line
 * "-----BEGIN X509 CRL-----", lines of at most 76 base64 characters in
 * whole groups of four (as every PEM writer makes them), a line
 * "-----END X509 CRL-----", every line ended by \n or \r\n; anything
 * before the BEGIN line is skipped, as PEM_read_bio does.  1: *der set
 * (new), 0: no more blocks, -1: something else (another PEM type, headers,
 * odd lines): the caller lets PEM_read_bio judge the whole text.
 */
static int
pem_next(const char **p, const char *end, unsigned char **der, size_t *dlen)
{
	const char *q = *p, *b, *next;
	unsigned char *bin = NULL;
	size_t n = 0, l, pad = 0;
	int rc = -1, got;

	for (b = q; b != NULL; b++) {
		b = memmem(b, (size_t)(end - b), PEM_BEGIN,
		    sizeof(PEM_BEGIN) - 1);
		if (b == NULL || b == q || b[-1] == '\n')
			break;
	}
	if (b == NULL)
		return 0;
	if ((next = line_end(b, end, &l)) == NULL ||
	    l != sizeof(PEM_CRL_BEGIN) - 1 ||
	    memcmp(b, PEM_CRL_BEGIN, l) != 0 ||
	    (bin = malloc((size_t)(end - next) / 4 * 3 + 3)) == NULL)
		goto out;
	/* each line decodes on its own: whole groups of 4 only */
	for (q = next; ; q = next) {
		if ((next = line_end(q, end, &l)) == NULL)
			goto out;
		if (l == sizeof(PEM_CRL_END) - 1 &&
		    memcmp(q, PEM_CRL_END, l) == 0)
			break;
		/* after a padded line, only the END line may come */
		if (l == 0 || l > PEM_LINE_MAX || l % 4 != 0 || pad > 0 ||
		    !b64_line(q, l, &pad) || pad > 2 ||
		    (got = EVP_DecodeBlock(bin + n, (const unsigned char *)q,
		    (int)l)) < 0 || (size_t)got < pad)
			goto out;
		n += (size_t)got - pad;
	}
	if (n == 0)
		goto out;
	*der = bin;
	*dlen = n;
	bin = NULL;
	*p = next;
	rc = 1;
out:
	free(bin);
	return rc;
}

/* Every CRL of the PEM text through the walker; false (nothing kept) at
 * the first one it does not take or any PEM problem. */
static bool
fast_parse(const char *pem, size_t len, const struct serials *want,
    STACK_OF(X509) *bundle, struct cr_crl_set *out)
{
	const char *p = pem, *end = pem + len;
	unsigned char *der = NULL;
	size_t dlen = 0;
	int n = 0, cap = 0, rc;
	bool ok = false;
	X509_CRL *crl;

	memset(out, 0, sizeof(*out));
	pthread_once(&b64_once, b64_class_init);
	if ((out->crls = sk_X509_CRL_new_null()) == NULL)
		goto out;
	while ((rc = pem_next(&p, end, &der, &dlen)) == 1) {
		if (n + 1 >= cap) {
			struct cr_crl_info *g;

			cap = cap ? cap * 2 : 4;
			if ((g = realloc(out->info, (size_t)cap *
			    sizeof(*g))) == NULL)
				goto out;
			out->info = g;
		}
		crl = crl_load(der, dlen, want, bundle, &out->info[n]);
		free(der);
		der = NULL;
		if (crl == NULL || !sk_X509_CRL_push(out->crls, crl)) {
			X509_CRL_free(crl);
			goto out;
		}
		n++;
	}
	ok = rc == 0 && n > 0;
out:
	free(der);
	ERR_clear_error();
	if (!ok)
		cr_crl_set_clear(out);
	return ok;
}

bool
cr_crl_set_parse(const char *pem, size_t len, const char *what,
    STACK_OF(X509) *keep, STACK_OF(X509) *bundle, struct cr_crl_set *out,
    cr_err *err)
{
	STACK_OF(X509) *stacks[2] = { keep, bundle };
	STACK_OF(X509_CRL) *full;
	struct serials want;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (serials_of(stacks, 2, &want) &&
	    fast_parse(pem, len, &want, bundle, out)) {
		ok = true;
		goto out;
	}
	/* the full decode: OpenSSL's answer and errors */
	if ((full = cr_crls_parse(pem, len, what, err)) == NULL)
		goto out;
	if (!cr_crl_set_wrap(full, out)) {
		sk_X509_CRL_pop_free(full, X509_CRL_free);
		cr_err_set(err, CR_KIND_NOMEM, "out of memory");
		goto out;
	}
	ok = true;
out:
	serials_free(&want);
	return ok;
}

bool
cr_crl_set_read(const char *path, STACK_OF(X509) *keep,
    STACK_OF(X509) *bundle, struct cr_crl_set *out, cr_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (cr_file_read(path, CR_MAX_CRL_FILE, &buf, &len, err))
		ok = cr_crl_set_parse(buf, len, path, keep, bundle, out, err);
	free(buf);
	return ok;
}

bool
cr_crl_set_signed(const struct cr_crl_set *s, const X509_CRL *crl,
    X509 *issuer)
{
	int i;
	bool ok = false;

	for (i = 0; s != NULL && s->crls != NULL && issuer != NULL &&
	    i < sk_X509_CRL_num(s->crls); i++)
		if (s->info[i].crl == crl && s->info[i].reduced &&
		    s->info[i].signer != NULL)
			ok = EVP_PKEY_eq(s->info[i].signer,
			    X509_get0_pubkey(issuer)) == 1;
	ERR_clear_error();
	return ok;
}
