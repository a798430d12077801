/*
 * Recovery codes: ten per enrollment, 80 random bits each as 16 base32
 * characters, stored only as a hash bound to the username.  See
 * recovery.h.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/recovery.h"
#include "common/digest.h"
#include "common/err.h"

static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char recovery_label[] = "tessera recovery v1";

/* One recovery code: text with dashes, and its storage hash. */
int
recovery_new(const char *username, char text[RECOVERY_CODE_TEXT + 1],
    uint8_t hash[USER_HASH_LEN])
{
	uint8_t rnd[RECOVERY_CODE_CHARS];
	size_t i, o = 0;
	int r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return TSS_E_CRYPTO;
	for (i = 0; i < RECOVERY_CODE_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			text[o++] = '-';
		text[o++] = b32_lower[rnd[i] & 31];
	}
	text[o] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if ((r = recovery_hash(username, text, hash)) != 0)
		OPENSSL_cleanse(text, RECOVERY_CODE_TEXT + 1);
	return r;
}

int
recovery_hash(const char *username, const char *code,
    uint8_t out[USER_HASH_LEN])
{
	EVP_MD_CTX *md = NULL;
	char norm[RECOVERY_CODE_CHARS];
	size_t n = 0, i;
	unsigned int ol = 0;
	char ch;
	int r = TSS_E_BAD_FORMAT;

	if (username == NULL || code == NULL)
		return TSS_E_INVALID_ARGUMENT;
	for (i = 0; code[i] != '\0' && i < 64; i++) {
		ch = code[i];
		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7')) ||
		    n >= RECOVERY_CODE_CHARS)
			goto out;
		norm[n++] = ch;
	}
	if (code[i] != '\0' || n != RECOVERY_CODE_CHARS)
		goto out;
	r = TSS_E_CRYPTO;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(md, recovery_label, sizeof(recovery_label)) != 1 ||
	    EVP_DigestUpdate(md, username, strlen(username) + 1) != 1 ||
	    EVP_DigestUpdate(md, norm, sizeof(norm)) != 1 ||
	    EVP_DigestFinal_ex(md, out, &ol) != 1 || ol != USER_HASH_LEN)
		goto out;
	r = 0;
 out:
	OPENSSL_cleanse(norm, sizeof(norm));
	EVP_MD_CTX_free(md);
	return r;
}

/* Index of the recovery code matching hash, or -1; looks at every slot. */
int
recovery_find(const struct user *u, const uint8_t hash[USER_HASH_LEN])
{
	size_t i;
	int found = -1;

	for (i = 0; i < u->nrecovery; i++)
		if (CRYPTO_memcmp(u->recovery[i], hash, USER_HASH_LEN) == 0)
			found = (int)i;
	return found;
}

int
recovery_fill(struct user *u,
    char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1])
{
	uint8_t h[USER_RECOVERY_CODES][USER_HASH_LEN];
	size_t i;
	int r = 0;

	for (i = 0; i < USER_RECOVERY_CODES && r == 0; i++)
		r = recovery_new(u->name, codes[i], h[i]);
	if (r == 0) {
		memcpy(u->recovery, h, sizeof(h));
		u->nrecovery = USER_RECOVERY_CODES;
	} else
		OPENSSL_cleanse(codes, USER_RECOVERY_CODES *
		    (RECOVERY_CODE_TEXT + 1));
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}
