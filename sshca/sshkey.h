/*
 * sshkey: OpenSSH public keys as users submit them (authorized_keys lines)
 * and as the CA publishes its own.  Owns the type table, the wire blob
 * (RFC 4253 §6.6, PROTOCOL.certkeys, PROTOCOL.u2f) and its checks, the
 * SHA256 fingerprint and the authorized_keys encoding.
 *
 * Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521 (uncompressed point on
 * the named curve), ssh-rsa (2048..16384-bit odd modulus, odd exponent of
 * 3..64 bits), sk-ssh-ed25519@openssh.com and
 * sk-ecdsa-sha2-nistp256@openssh.com (with their application string).
 * Errors seen by callers are only TSS_E_INVALID_PUBLIC_KEY (malformed,
 * unknown type, oversized) and TSS_E_WEAK_KEY (ssh-dss, RSA under 2048
 * bits or with exponent 1, any certificate offered as a key), plus
 * TSS_E_NOMEM; the detailed reason goes to the debug log.
 *
 * A struct sshkey is immutable after parsing and may be shared by threads.
 */
#ifndef TSS_SSHKEY_H
#define TSS_SSHKEY_H

#include <stddef.h>
#include <stdint.h>

#define SSHKEY_LINE_MAX		16384	/* bytes of an authorized_keys line */
#define SSHKEY_RSA_MIN_BITS	2048
#define SSHKEY_RSA_MAX_BITS	16384
#define SSHKEY_FP_MAX		64	/* "SHA256:" + 43 chars + NUL fits */

enum sshkey_type {
	SSHKEY_ED25519,
	SSHKEY_ECDSA_P256,
	SSHKEY_ECDSA_P384,
	SSHKEY_ECDSA_P521,
	SSHKEY_RSA,
	SSHKEY_SK_ED25519,
	SSHKEY_SK_ECDSA_P256,
};

struct sshkey;

/*
 * Parse "type base64 [comment]" (len bytes, need not be NUL-terminated; one
 * trailing "\n" or "\r\n" is allowed, no key options).  *commentp, when
 * commentp is not NULL, receives the comment (possibly "") to free.
 */
int sshkey_parse_line(const char *line, size_t len, struct sshkey **keyp,
    char **commentp);
/* Parse a wire blob; the whole of it must be one key. */
int sshkey_from_blob(const uint8_t *blob, size_t len, struct sshkey **keyp);
/*
 * The key a certificate blob certifies ("*-cert-v01@openssh.com" of a type
 * above); *offp receives the offset of the field after the key (the
 * serial).  Parses, verifies nothing: see certinfo.h.
 */
int sshkey_from_cert(const uint8_t *blob, size_t len, struct sshkey **keyp,
    size_t *offp);
void sshkey_free(struct sshkey *k);		/* NULL is harmless */

enum sshkey_type sshkey_type(const struct sshkey *k);
const char *sshkey_type_name(const struct sshkey *k);	   /* "ssh-ed25519" */
const char *sshkey_cert_type_name(const struct sshkey *k); /* "...-cert-v01@openssh.com" */
unsigned int sshkey_bits(const struct sshkey *k);
/* The wire blob; valid as long as k. */
const uint8_t *sshkey_blob(const struct sshkey *k, size_t *lenp);
/* The bytes after the type name: the key fields a certificate embeds. */
const uint8_t *sshkey_cert_body(const struct sshkey *k, size_t *lenp);
/* sk keys: the application string; NULL for other types. */
const char *sshkey_sk_application(const struct sshkey *k);
int sshkey_equal(const struct sshkey *a, const struct sshkey *b);

/* "SHA256:<unpadded base64>", as `ssh-keygen -l -E sha256` prints it. */
int sshkey_fingerprint(const struct sshkey *k, char fp[SSHKEY_FP_MAX]);
/* "type base64[ comment]" (no newline); comment NULL or "" for none, no
 * control characters (TSS_E_INVALID_ARGUMENT).  sshkey_line writes any
 * blob (certificates too) under the type given. */
int sshkey_to_line(const struct sshkey *k, const char *comment, char **linep);
int sshkey_line(const char *type, const uint8_t *blob, size_t len,
    const char *comment, char **linep);

#endif
