/*
 * cr_keygen.h - generating private keys and writing them, the way Puppet
 * stores them in an ssldir.
 */
#ifndef CR_KEYGEN_H
#define CR_KEYGEN_H

#include <stdbool.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "cr_err.h"

#define CR_RSA_MIN_BITS 2048
#define CR_RSA_MAX_BITS 16384
#define CR_EC_DEFAULT_CURVE "prime256v1"	/* Puppet's named_curve */
/* The curve names the task accepts (tasks/regenerate.json has the same
 * Enum; the lint compares them): the ones curve_allowed() lets through. */
#define CR_EC_CURVE_PATTERN \
	"^(prime256v1|secp256r1|P-256|secp384r1|P-384|secp521r1|P-521)$"

/* The EC curves accepted: the ones both Puppet's agents and puppetserver's
 * JVM TLS (SunEC: NIST P-256, P-384, P-521 only) use, by any of their
 * names. */
#define CR_EC_CURVES_TEXT "prime256v1 (secp256r1, P-256), secp384r1 " \
	"(P-384) or secp521r1 (P-521)"

/* Whether cr_key_generate would accept these parameters (checked before
 * anything is created): CR_KIND_INVALID_PARAMETER when not. */
bool cr_key_params_check(const char *type, int bits, const char *curve,
    cr_err *err);

/* Whether key is what these parameters ask for; only what is given is
 * compared (type NULL, bits <= 0, curve NULL: anything). */
bool cr_key_fits(const EVP_PKEY *key, const char *type, int bits,
    const char *curve);

/*
 * A new key (the caller's; EVP_PKEY_free): type "rsa" with bits in
 * [CR_RSA_MIN_BITS, CR_RSA_MAX_BITS] (e 65537), or "ec" on one of the
 * curves of CR_EC_CURVES_TEXT (NULL = CR_EC_DEFAULT_CURVE).  Bad
 * parameters: CR_KIND_INVALID_PARAMETER.
 */
EVP_PKEY *cr_key_generate(const char *type, int bits, const char *curve,
    cr_err *err);

/*
 * Writes key as unencrypted PEM in Puppet's format (OpenSSL "traditional":
 * "BEGIN RSA PRIVATE KEY" / "BEGIN EC PRIVATE KEY", what Puppet's
 * key.to_pem writes) to a NEW file: open(O_WRONLY|O_CREAT|O_EXCL|
 * O_NOFOLLOW|O_CLOEXEC) with exactly `mode` (which may grant at most
 * 0640), so an existing file or a symlink at path is refused and never
 * written through.  Written fully, fsync'd, the directory fsync'd; the PEM
 * buffer is cleansed; a partial file is removed on failure.  The _owned
 * form also chowns the new file (uid/gid (uid_t)-1 / (gid_t)-1 = keep).
 */
bool cr_key_write_new(const char *path, EVP_PKEY *key, mode_t mode,
    cr_err *err);
bool cr_key_write_new_owned(const char *path, EVP_PKEY *key, mode_t mode,
    uid_t uid, gid_t gid, cr_err *err);

/*
 * Writes the public key ("BEGIN PUBLIC KEY", SubjectPublicKeyInfo, as
 * Puppet's public_keys/<certname>.pem) atomically (cr_file_write_atomic):
 * replaces an existing file.  Puppet uses mode 0644.
 */
bool cr_pubkey_write(const char *path, EVP_PKEY *key, mode_t mode,
    uid_t uid, gid_t gid, cr_err *err);

#endif
