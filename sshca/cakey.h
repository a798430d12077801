/*
 * cakey: the CA's private key.  Owns generation, the key file (read:
 * openssh-key-v1 unencrypted or PEM as OpenSSL reads it, PKCS#8 included;
 * write: openssh-key-v1 or PEM PKCS#8), the public half and SSH signatures
 * (ssh-ed25519, ecdsa-sha2-nistp256 with SHA-256, rsa-sha2-512).
 *
 * Key files: cakey_load refuses a file readable or writable by group or
 * other (TSS_E_KEY_PERMS) and encrypted keys (TSS_E_UNSUPPORTED);
 * cakey_save creates the file with mode 0600 and never overwrites
 * (TSS_E_CONFLICT).  Every decoded copy of private material is wiped.
 *
 * A loaded struct cakey keeps its EVP_PKEY, so signing re-parses nothing.
 * cakey_sign may be called from several threads at once on one cakey.
 */
#ifndef TSS_CAKEY_H
#define TSS_CAKEY_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct sshkey;
struct cakey;

enum cakey_alg {
	CAKEY_ED25519 = 0,	/* default */
	CAKEY_ECDSA_P256,
	CAKEY_RSA,
};

enum cakey_format {
	CAKEY_FORMAT_OPENSSH = 0,	/* "BEGIN OPENSSH PRIVATE KEY" */
	CAKEY_FORMAT_PEM,		/* PKCS#8 "BEGIN PRIVATE KEY" */
};

#define CAKEY_RSA_MIN_BITS	3072
#define CAKEY_RSA_MAX_BITS	8192
#define CAKEY_FILE_MAX		(64 * 1024)

/* rsa_bits: 0 for 3072; ignored for other algorithms. */
int cakey_generate(enum cakey_alg alg, unsigned int rsa_bits,
    struct cakey **cap);
int cakey_load(const char *path, struct cakey **cap);
/* Parse key file contents (no permission check: that is cakey_load's). */
int cakey_parse(const void *data, size_t len, struct cakey **cap);
/* comment goes into the openssh format only; NULL for none. */
int cakey_save(const struct cakey *ca, const char *path,
    enum cakey_format fmt, const char *comment);
void cakey_free(struct cakey *ca);		/* NULL is harmless */

enum cakey_alg cakey_alg(const struct cakey *ca);
/* Public half; valid as long as ca. */
const struct sshkey *cakey_public(const struct cakey *ca);
/* Signature algorithm name: "ssh-ed25519", "ecdsa-sha2-nistp256", ... */
const char *cakey_sig_alg(const struct cakey *ca);

/* Append the SSH signature blob (string alg, string sig) over data to out. */
int cakey_sign(struct cakey *ca, const void *data, size_t len,
    struct buf *out);

#endif
