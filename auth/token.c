/*
 * Random tokens and their SHA-256 storage form.  See token.h.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "auth/token.h"

int
token_new(char text[TOKEN_TEXT_LEN + 1], uint8_t hash[TOKEN_HASH_LEN])
{
	uint8_t raw[TOKEN_BYTES];
	int r = TSS_E_CRYPTO;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	if (sha256(raw, sizeof(raw), hash) != 0)
		goto out;
	hex_encode(raw, sizeof(raw), text);
	r = 0;
 out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

int
token_decode(const char *text, uint8_t raw[TOKEN_BYTES])
{
	if (text == NULL || strnlen(text, TOKEN_TEXT_LEN + 1) != TOKEN_TEXT_LEN)
		return TSS_E_BAD_FORMAT;
	if (hex_decode(text, raw, TOKEN_BYTES) != 0) {
		OPENSSL_cleanse(raw, TOKEN_BYTES);
		return TSS_E_BAD_FORMAT;
	}
	return 0;
}

int
token_hash(const char *text, uint8_t hash[TOKEN_HASH_LEN])
{
	uint8_t raw[TOKEN_BYTES];
	int r;

	if ((r = token_decode(text, raw)) != 0)
		return r;
	r = sha256(raw, sizeof(raw), hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}
