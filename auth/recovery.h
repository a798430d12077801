/*
 * recovery: the one-time recovery codes an enrollment hands out, in place
 * of a TOTP code at login.  A code is 16 base32 characters shown in four
 * dash-separated groups of four; the store keeps SHA-256 over a label,
 * the username and the normalised code, never the code.
 */
#ifndef TSS_AUTH_RECOVERY_H
#define TSS_AUTH_RECOVERY_H

#include <stdint.h>

#include "auth/user.h"

#define RECOVERY_CODE_CHARS	16
#define RECOVERY_CODE_TEXT	19	/* with dashes, without the NUL */

/* A new random code for username: its text and its storage hash. */
int recovery_new(const char *username, char text[RECOVERY_CODE_TEXT + 1],
    uint8_t hash[USER_HASH_LEN]);
/*
 * A fresh set of USER_RECOVERY_CODES codes for u: their texts in codes,
 * their hashes replacing every code u had.  On error u's codes are as
 * they were and codes is wiped.
 */
int recovery_fill(struct user *u,
    char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1]);
/*
 * Storage hash of a code for username.  TSS_E_BAD_FORMAT when code is not
 * 16 base32 characters (dashes and spaces ignored, either case).
 */
int recovery_hash(const char *username, const char *code,
    uint8_t out[USER_HASH_LEN]);
/* Index of u's unused code with this hash, or -1; looks at every slot
 * (constant time in which one matches). */
int recovery_find(const struct user *u, const uint8_t hash[USER_HASH_LEN]);

#endif
