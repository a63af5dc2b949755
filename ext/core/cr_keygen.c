/*
 * cr_keygen.c - key generation and key files (see cr_keygen.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/core_names.h>

#include "cr_fs.h"
#include "cr_keygen.h"
#include "sys/cr_sys_write.h"

/* The NID of a curve OpenSSL can generate keys on, or NID_undef. */
static int
curve_nid(const char *curve)
{
	EC_builtin_curve *all = NULL;
	size_t n, i;
	int nid, found = NID_undef;

	if ((nid = EC_curve_nist2nid(curve)) == NID_undef)
		nid = OBJ_sn2nid(curve);
	if (nid == NID_undef)
		nid = OBJ_ln2nid(curve);
	if (nid == NID_undef)
		goto out;
	n = EC_get_builtin_curves(NULL, 0);
	if (n == 0 || (all = calloc(n, sizeof(*all))) == NULL)
		goto out;
	n = EC_get_builtin_curves(all, n);
	for (i = 0; i < n; i++)
		if (all[i].nid == nid)
			found = nid;
out:
	free(all);
	ERR_clear_error();	/* lookups of unknown names leave entries */
	return found;
}

/*
 * The curves both ends of Puppet's TLS use: Puppet's agent accepts any
 * curve OpenSSL has (named_curve), but puppetserver's JVM (SunEC, Java 11
 * and later) only the NIST P curves: a key on another curve gets a
 * certificate no TLS handshake can use (and OpenSSL's default security
 * level refuses anything under 112 bits before that).
 */
static int
curve_allowed(const char *curve)
{
	static const int allowed[] = {
		NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1,
	};
	size_t i;
	int nid;

	/* RFC 8422's name of prime256v1, which OpenSSL's tables lack */
	if (strcmp(curve, "secp256r1") == 0)
		return NID_X9_62_prime256v1;
	nid = curve_nid(curve);
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (nid == allowed[i])
			return nid;
	return NID_undef;
}

bool
cr_key_params_check(const char *type, int bits, const char *curve,
    cr_err *err)
{
	bool ok = false;

	if (type != NULL && strcmp(type, "rsa") == 0) {
		if (bits < CR_RSA_MIN_BITS || bits > CR_RSA_MAX_BITS)
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "RSA key length %d is outside %d..%d", bits,
			    CR_RSA_MIN_BITS, CR_RSA_MAX_BITS);
		else
			ok = true;
	} else if (type != NULL && strcmp(type, "ec") == 0) {
		if (curve_allowed(curve ? curve : CR_EC_DEFAULT_CURVE)
		    == NID_undef)
			cr_err_set(err, CR_KIND_INVALID_PARAMETER,
			    "'%s' is not an elliptic curve that both Puppet "
			    "and puppetserver's TLS accept: use %s",
			    curve ? curve : CR_EC_DEFAULT_CURVE,
			    CR_EC_CURVES_TEXT);
		else
			ok = true;
	} else {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "key type '%s' is not \"rsa\" or \"ec\"",
		    type ? type : "(null)");
	}
	return ok;
}

bool
cr_key_fits(const EVP_PKEY *key, const char *type, int bits,
    const char *curve)
{
	char group[64];
	size_t glen = 0;
	int base = EVP_PKEY_get_base_id(key), nid;
	bool fits = true;

	if (type != NULL && strcmp(type, "rsa") == 0)
		fits = base == EVP_PKEY_RSA &&
		    (bits <= 0 || EVP_PKEY_get_bits(key) == bits);
	else if (type != NULL && strcmp(type, "ec") == 0)
		fits = base == EVP_PKEY_EC;
	if (fits && base == EVP_PKEY_EC && curve != NULL &&
	    (type == NULL || strcmp(type, "ec") == 0)) {
		nid = curve_allowed(curve);
		fits = EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen)
		    == 1 && nid != NID_undef && OBJ_sn2nid(group) == nid;
	}
	ERR_clear_error();
	return fits;
}

EVP_PKEY *
cr_key_generate(const char *type, int bits, const char *curve, cr_err *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	int nid;

	if (!cr_key_params_check(type, bits, curve, err))
		goto out;
	if (strcmp(type, "rsa") == 0) {
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL))
		    == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) != 1) {
			cr_err_openssl(err, "cannot set up RSA-%d key generation",
			    bits);
			goto out;
		}
	} else {
		if (curve == NULL)
			curve = CR_EC_DEFAULT_CURVE;
		nid = curve_allowed(curve);
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL))
		    == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_group_name(ctx, OBJ_nid2sn(nid)) != 1) {
			cr_err_openssl(err, "cannot set up EC key generation "
			    "on %s", curve);
			goto out;
		}
	}
	if (EVP_PKEY_generate(ctx, &key) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
		cr_err_openssl(err, "key generation failed");
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return key;
}

bool
cr_key_write_new_owned(const char *path, EVP_PKEY *key, mode_t mode,
    uid_t uid, gid_t gid, cr_err *err)
{
	bool ok = false;
	BIO *bio = NULL;
	char *pem = NULL;
	long len = 0;

	if (path == NULL || key == NULL || (mode & ~(mode_t)0640) != 0) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_key_write_new: a path, a key and a mode within 0640 "
		    "are needed (mode %04o)", (unsigned)mode);
		goto out;
	}
	/* secure memory where available; cleansed below in any case */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0,
	    NULL, NULL) != 1 || (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		cr_err_openssl(err, "cannot encode the private key for %s",
		    path);
		goto out;
	}
	ok = cr_sys_secret_new(path, pem, (size_t)len, (unsigned)mode,
	    (long)uid, (long)gid, err);
out:
	if (pem != NULL && len > 0)
		OPENSSL_cleanse(pem, (size_t)len);
	BIO_free(bio);
	return ok;
}

bool
cr_key_write_new(const char *path, EVP_PKEY *key, mode_t mode, cr_err *err)
{
	return cr_key_write_new_owned(path, key, mode, (uid_t)-1, (gid_t)-1,
	    err);
}

bool
cr_pubkey_write(const char *path, EVP_PKEY *key, mode_t mode, uid_t uid,
    gid_t gid, cr_err *err)
{
	bool ok = false;
	BIO *bio = NULL;
	char *pem = NULL;
	long len;

	if (path == NULL || key == NULL) {
		cr_err_set(err, CR_KIND_INVALID_PARAMETER,
		    "cr_pubkey_write: a path and a key are needed");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, key) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		cr_err_openssl(err, "cannot encode the public key for %s",
		    path);
		goto out;
	}
	ok = cr_file_write_atomic(path, pem, (size_t)len, mode, uid, gid, err);
out:
	BIO_free(bio);
	return ok;
}
