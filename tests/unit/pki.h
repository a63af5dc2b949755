/*
 * pki.h - a throwaway Puppet-style PKI for the unit tests, built in memory
 * with OpenSSL EVP (no `openssl` commands): a self-signed root CA, an
 * intermediate CA that signs the leaves (as puppetserver does), leaf
 * certificates with SANs and pp_* extensions, CRLs, and an ssldir on disk.
 *
 * Every function returns a new object (or a new reference) that the caller
 * frees; NULL means failure and the OpenSSL error queue is left for the
 * caller to look at.  Times are offsets in seconds from a given `now`.
 */
#ifndef PKI_H
#define PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define PKI_DAY 86400LL
#define PKI_YEAR (365 * PKI_DAY)

/* Puppet's registered extension arc (pp_role = PKI_PP ".13"). */
#define PKI_PP "1.3.6.1.4.1.34380.1.1"
#define PKI_OID_PP_ROLE PKI_PP ".13"
#define PKI_OID_PP_ENVIRONMENT PKI_PP ".12"
#define PKI_OID_PP_UUID PKI_PP ".1"

enum pki_key_kind {
	PKI_RSA2048,
	PKI_RSA4096,
	PKI_EC_P256,
	PKI_RSA1024,		/* weak: below OpenSSL's default security level */
	PKI_EC_SECP112R1,	/* weak: 56 security bits */
};

/* A fresh key. */
EVP_PKEY *pki_key_new(enum pki_key_kind kind);
/* A new reference to RSA-2048 key number `slot` (0..PKI_CACHED_KEYS-1),
 * generated once per process; pki_cleanup() drops the cache. */
#define PKI_CACHED_KEYS 4
EVP_PKEY *pki_rsa_cached(int slot);
/* A new reference to one EC P-256 key generated once per process. */
EVP_PKEY *pki_ec_cached(void);
void pki_cleanup(void);

typedef struct pki_ca {
	X509 *cert;
	EVP_PKEY *key;
} pki_ca;

/*
 * A CA named "CN=<cn>" with the key (a reference is taken), valid from
 * now+not_before to now+not_after, signed by parent (NULL: self-signed root).
 */
pki_ca *pki_ca_new(const char *cn, EVP_PKEY *key, const pki_ca *parent,
    time_t now, long long not_before, long long not_after);
void pki_ca_free(pki_ca *ca);

/* One extension: an OID and either a UTF-8 value (DER UTF8String inside
 * the extension, as Puppet writes pp_*) or raw bytes used as they are. */
struct pki_ext {
	const char *oid;
	const char *utf8;
	const unsigned char *raw;
	size_t raw_len;
};

struct pki_leaf_opts {
	const char *cn;
	EVP_PKEY *key;			/* borrowed: the leaf's public key */
	time_t now;
	long long not_before;		/* offset from now (seconds) */
	long long not_after;
	uint64_t serial;		/* 0: the next of a process-wide counter */
	const char *const *dns;		/* NULL-terminated, or NULL */
	const char *const *ip;		/* NULL-terminated text addresses, or NULL */
	const struct pki_ext *exts;	/* terminated by .oid == NULL, or NULL */
	const EVP_MD *md;		/* the issuer's signature digest; NULL: SHA-256 */
};

/* Defaults: valid from now-1 day for 5 years, no SANs, no extensions. */
void pki_leaf_opts_init(struct pki_leaf_opts *o, const char *cn,
    EVP_PKEY *key, time_t now);
X509 *pki_leaf_new(const struct pki_leaf_opts *o, const pki_ca *issuer);

/* A CSR for "CN=<cn>" signed by key. */
X509_REQ *pki_csr_new(const char *cn, EVP_PKEY *key);

/* A CRL by ca revoking the given serials, lastUpdate now+last_update,
 * nextUpdate now+next_update, with a CRL number and AKID. */
X509_CRL *pki_crl_new(const pki_ca *ca, time_t now, long long last_update,
    long long next_update, const uint64_t *revoked, size_t n_revoked);
/* The same with n serials first, first+1, ... (entries share one date,
 * built in order so no sort is needed): the 100,000-entry case. */
X509_CRL *pki_crl_bulk_new(const pki_ca *ca, time_t now, uint64_t first,
    size_t n);

/* A standard test PKI: root "Puppet Root CA: test", intermediate
 * "Puppet CA: test" signing leaves, both valid 15 years from now-1 year
 * (keys from the cache), and an empty CRL for each. */
typedef struct pki_world {
	time_t now;
	pki_ca *root;
	pki_ca *inter;
	X509_CRL *root_crl;
	X509_CRL *inter_crl;
} pki_world;
pki_world *pki_world_new(time_t now);
void pki_world_free(pki_world *w);

/* PEM text of objects (new NUL-terminated strings; *len without the NUL). */
char *pki_certs_pem(X509 *const *certs, size_t n, size_t *len);
char *pki_crls_pem(X509_CRL *const *crls, size_t n, size_t *len);

/* Writes data to path with mode (created or truncated). */
bool pki_write_file(const char *path, const void *data, size_t len,
    mode_t mode);
bool pki_write_certs(const char *path, X509 *const *certs, size_t n);
bool pki_write_crls(const char *path, X509_CRL *const *crls, size_t n);
bool pki_write_key(const char *path, EVP_PKEY *key, mode_t mode);

/*
 * Writes a Puppet agent's ssldir under dir: certs/<certname>.pem (leaf, if
 * set), certs/ca.pem (cas, e.g. intermediate + root), crl.pem (crls),
 * private_keys/<certname>.pem (key, 0640), certificate_requests/ (and
 * <certname>.pem in it when csr).  Directories are created; NULL or empty
 * members are skipped.
 */
struct pki_ssldir {
	const char *certname;
	X509 *leaf;
	EVP_PKEY *key;
	X509 *const *cas;
	size_t n_cas;
	X509_CRL *const *crls;
	size_t n_crls;
	bool csr;
};
bool pki_ssldir_write(const char *dir, const struct pki_ssldir *s);
/* The usual ssldir of a world: leaf + key, ca.pem = intermediate + root,
 * crl.pem = intermediate CRL + root CRL. */
bool pki_ssldir_write_world(const char *dir, const pki_world *w,
    const char *certname, X509 *leaf, EVP_PKEY *key);

/* A new temporary directory (a new path string), and its removal. */
char *pki_tmpdir_new(void);
void pki_rmtree(const char *dir);
/* cmocka group setup/teardown: pki_dir is a fresh temp directory for the
 * group, removed (with pki_cleanup()) at the end. */
extern char *pki_dir;
int pki_group_setup(void **state);
int pki_group_teardown(void **state);
/* New "dir/rel" path. */
char *pki_path(const char *dir, const char *rel);

#endif
