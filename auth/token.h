/*
 * token: random bearer tokens (enrollment, session) and their storage form.
 *
 * A token is 32 bytes from the OpenSSL CSPRNG, shown as 64 lowercase hex
 * characters.  Only SHA-256 of the raw 32 bytes is ever stored, so a leaked
 * database does not yield usable tokens.  token_hash() refuses anything
 * but exactly 64 lowercase hex characters.
 */
#ifndef TSS_AUTH_TOKEN_H
#define TSS_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_BYTES	32
#define TOKEN_TEXT_LEN	(2 * TOKEN_BYTES)	/* without the NUL */
#define TOKEN_HASH_LEN	32

/* New token: text form in text (TOKEN_TEXT_LEN + 1 bytes), hash in hash. */
int token_new(char text[TOKEN_TEXT_LEN + 1], uint8_t hash[TOKEN_HASH_LEN]);

/* Storage hash of a presented token; TSS_E_BAD_FORMAT for a malformed one. */
int token_hash(const char *text, uint8_t hash[TOKEN_HASH_LEN]);

/* Raw bytes of a presented token (wipe after use). */
int token_decode(const char *text, uint8_t raw[TOKEN_BYTES]);

#endif
