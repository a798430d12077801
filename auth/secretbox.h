/*
 * secretbox: AES-256-GCM sealing of small secrets (TOTP seeds) under the
 * master key, and the master key file.
 *
 * A sealed box is nonce (12 random bytes) || ciphertext || tag (16 bytes).
 * The associated data (the username for TOTP secrets) is authenticated but
 * not stored: a box copied to another user does not open.  A fresh random
 * nonce per seal; a key seals far fewer than 2^32 boxes in its life.
 *
 * The master key file holds exactly 32 raw bytes and must be a regular
 * file readable by nobody but its owner (no group/other bits).
 */
#ifndef TSS_AUTH_SECRETBOX_H
#define TSS_AUTH_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>

#define SECRETBOX_KEY_LEN	32
#define SECRETBOX_NONCE_LEN	12
#define SECRETBOX_TAG_LEN	16
#define SECRETBOX_OVERHEAD	(SECRETBOX_NONCE_LEN + SECRETBOX_TAG_LEN)
#define SECRETBOX_MAX		4096	/* plaintext bytes */

/*
 * Read the key file into key.  TSS_E_KEY_PERMS when group or others may
 * read or write it, TSS_E_BAD_FORMAT unless it is a regular file of
 * exactly 32 bytes, TSS_E_IO when it cannot be read.  key is wiped on
 * failure.
 */
int secretbox_key_load(const char *path, uint8_t key[SECRETBOX_KEY_LEN]);

/*
 * The master key's check value, HMAC-SHA256(key, "tessera master key
 * check"): the store records it at init so that a start with another key
 * is refused before a TOTP secret fails to open.  It reveals nothing of
 * the key.
 */
#define SECRETBOX_CHECK_LEN	32
int secretbox_key_check(const uint8_t key[SECRETBOX_KEY_LEN],
    uint8_t out[SECRETBOX_CHECK_LEN]);

/* Create path (must not exist) with a new random key, mode 0600. */
int secretbox_key_create(const char *path);

/* Seal pt; *out (allocated, ptlen + SECRETBOX_OVERHEAD bytes). */
int secretbox_seal(const uint8_t key[SECRETBOX_KEY_LEN],
    const void *aad, size_t aadlen, const void *pt, size_t ptlen,
    uint8_t **out, size_t *outlen);

/*
 * Open a box; *pt (allocated, caller wipes) on success.  TSS_E_DECRYPT when
 * the box, the key or the associated data do not match; TSS_E_TRUNCATED
 * for a box shorter than the overhead.
 */
int secretbox_open(const uint8_t key[SECRETBOX_KEY_LEN],
    const void *aad, size_t aadlen, const uint8_t *box, size_t boxlen,
    uint8_t **pt, size_t *ptlen);

#endif
