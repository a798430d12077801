/*
 * Text encodings (see enc.h).
 *
 * The codecs underneath are lenient: EVP_DecodeBlock skips surrounding
 * whitespace and returns padding as zero bytes; oath_base32_decode drops
 * spaces, folds case and ignores stray trailing bits.  So every input is
 * first checked here against the canonical form (alphabet, padding,
 * length, unused bits zero) and only then handed over, and the true output
 * length is computed here rather than trusted.
 *
 * Decoded output may be a secret (a TOTP seed): intermediate copies are
 * wiped, and the caller wipes *out when it matters.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/mem.h"
#include "enc.h"
#include "err.h"

/* EVP_*Block take int lengths: work in slices well below INT_MAX. */
#define B64_RAW_CHUNK	(3u * 1024 * 1024)	/* multiple of 3 */
#define B64_TXT_CHUNK	(4u * 1024 * 1024)	/* multiple of 4 */

/* ---- base64 ---- */

int
b64_encode(const void *p, size_t len, char **out)
{
	const unsigned char *s = p;
	size_t groups, olen, done = 0, o = 0, n;
	char *d = NULL;
	int k, r = TSS_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (p == NULL && len != 0))
		return TSS_E_INVALID_ARGUMENT;
	groups = len / 3 + (len % 3 != 0);
	if (groups > (SIZE_MAX - 1) / 4)
		return TSS_E_TOO_LONG;
	olen = groups * 4;
	if ((d = mem_malloc(olen + 1)) == NULL)
		return TSS_E_NOMEM;
	while (done < len) {
		n = len - done < B64_RAW_CHUNK ? len - done : B64_RAW_CHUNK;
		k = EVP_EncodeBlock((unsigned char *)d + o, s + done, (int)n);
		if (k < 0 || (size_t)k != (n / 3 + (n % 3 != 0)) * 4) {
			r = TSS_E_CRYPTO;
			goto out;
		}
		o += (size_t)k;
		done += n;
	}
	d[olen] = '\0';
	*out = d;
	d = NULL;
	r = 0;
 out:
	free(d);
	return r;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Canonical padded base64: length a multiple of 4, only alphabet
 * characters except one or two '=' closing the last group, and the bits
 * the padding leaves unused all zero.  Sets *pad to the count of '='.
 */
static int
b64_check(const unsigned char *s, size_t slen, size_t *pad)
{
	size_t i, data;

	*pad = 0;
	if (slen % 4 != 0)
		return TSS_E_BASE64;
	if (slen == 0)
		return 0;
	if (s[slen - 1] == '=')
		*pad = s[slen - 2] == '=' ? 2 : 1;
	data = slen - *pad;
	for (i = 0; i < data; i++)
		if (b64_value(s[i]) < 0)
			return TSS_E_BASE64;
	/* A '=' before the padding was caught above (not in the alphabet). */
	if (*pad == 2 && (b64_value(s[data - 1]) & 0x0f) != 0)
		return TSS_E_BASE64;
	if (*pad == 1 && (b64_value(s[data - 1]) & 0x03) != 0)
		return TSS_E_BASE64;
	return 0;
}

int
b64_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	const unsigned char *in = (const unsigned char *)s;
	size_t pad, olen, done = 0, o = 0, n;
	uint8_t *d = NULL;
	int k, r = TSS_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (out == NULL || outlen == NULL || (s == NULL && slen != 0))
		return TSS_E_INVALID_ARGUMENT;
	if ((r = b64_check(in, slen, &pad)) != 0)
		return r;
	/* EVP_DecodeBlock writes whole groups, padding bytes included. */
	olen = slen / 4 * 3;
	if ((d = mem_malloc(olen + 1)) == NULL)
		return TSS_E_NOMEM;
	while (done < slen) {
		n = slen - done < B64_TXT_CHUNK ? slen - done : B64_TXT_CHUNK;
		k = EVP_DecodeBlock(d + o, in + done, (int)n);
		if (k < 0 || (size_t)k != n / 4 * 3) {
			r = TSS_E_BASE64;
			goto out;
		}
		o += (size_t)k;
		done += n;
	}
	olen -= pad;
	d[olen] = 0;
	*out = d;
	*outlen = olen;
	d = NULL;
	r = 0;
 out:
	if (d != NULL) {
		OPENSSL_cleanse(d, slen / 4 * 3 + 1);
		free(d);
	}
	return r;
}

/* ---- base32 ---- */

int
b32_encode(const void *p, size_t len, char **out)
{
	char *e = NULL, *d = NULL;
	size_t elen = 0, n;
	int r = TSS_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (p == NULL && len != 0))
		return TSS_E_INVALID_ARGUMENT;
	/* Keep the 8/5 growth far from wrapping. */
	if (len > SIZE_MAX / 16)
		return TSS_E_TOO_LONG;
	if (oath_base32_encode(p == NULL ? "" : p, len, &e, &elen) != OATH_OK ||
	    e == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (n = elen; n > 0 && e[n - 1] == '='; n--)
		;
	/* Own copy: liboath's termination is not part of its contract. */
	if ((d = mem_malloc(n + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	memcpy(d, e, n);
	d[n] = '\0';
	*out = d;
	r = 0;
 out:
	if (e != NULL) {
		/* The text may be a TOTP seed. */
		OPENSSL_cleanse(e, elen);
		free(e);
	}
	return r;
}

static int
b32_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * Canonical base32, upper case, padded or not.  Data characters per final
 * group are 0, 2, 4, 5 or 7 (1, 3 and 6 cannot end on a byte); with
 * padding the total is a multiple of 8.  The bits past the last whole byte
 * must be zero.  Sets *data to the count of data characters.
 */
static int
b32_check(const unsigned char *s, size_t slen, size_t *data)
{
	static const unsigned char unused_mask[8] = {
		/* by data characters in the last group: bits left over */
		0x00, 0xff, 0x03, 0xff, 0x0f, 0x01, 0xff, 0x07,
	};
	size_t i, n = slen, rem;

	*data = 0;
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n < slen && slen % 8 != 0)
		return TSS_E_BASE32;	/* padded but not to a whole group */
	if (slen - n >= 8)
		return TSS_E_BASE32;	/* a group of padding alone */
	for (i = 0; i < n; i++)
		if (b32_value(s[i]) < 0)
			return TSS_E_BASE32;
	rem = n % 8;
	if (unused_mask[rem] == 0xff)
		return TSS_E_BASE32;
	if (rem != 0 && (b32_value(s[n - 1]) & unused_mask[rem]) != 0)
		return TSS_E_BASE32;
	*data = n;
	return 0;
}

int
b32_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	char *d = NULL;
	size_t n, dlen = 0, want;
	int r = TSS_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (out == NULL || outlen == NULL || (s == NULL && slen != 0))
		return TSS_E_INVALID_ARGUMENT;
	if ((r = b32_check((const unsigned char *)s, slen, &n)) != 0)
		return r;
	want = n / 8 * 5 + (n % 8) * 5 / 8;
	if (n == 0) {
		/* liboath hands back a buffer for "" too, but be explicit. */
		if ((d = mem_calloc(1, 1)) == NULL)
			return TSS_E_NOMEM;
	} else if (oath_base32_decode(s, n, &d, &dlen) != OATH_OK ||
	    d == NULL) {
		r = TSS_E_BASE32;
		goto out;
	} else if (dlen != want) {
		r = TSS_E_BASE32;
		goto out;
	}
	*out = (uint8_t *)d;
	*outlen = want;
	d = NULL;
	r = 0;
 out:
	if (d != NULL) {
		OPENSSL_cleanse(d, dlen);
		free(d);
	}
	return r;
}

/* ---- hex ---- */

void
hex_encode(const void *p, size_t len, char *dst)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *s = p;
	size_t i;

	if (dst == NULL)
		return;
	for (i = 0; i < len; i++) {
		dst[2 * i] = digits[s[i] >> 4];
		dst[2 * i + 1] = digits[s[i] & 0x0f];
	}
	dst[2 * len] = '\0';
}

int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Tokens and hashes are written in lowercase only: one spelling each. */
static int
hex_digit(char c)
{
	return c >= 'A' && c <= 'F' ? -1 : hex_value(c);
}

int
hex_decode(const char *s, uint8_t *out, size_t len)
{
	size_t i;
	int hi, lo;

	if (s == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	/* A NUL is no digit, so a short string stops here. */
	for (i = 0; i < len; i++) {
		if ((hi = hex_digit(s[2 * i])) < 0 ||
		    (lo = hex_digit(s[2 * i + 1])) < 0)
			return TSS_E_BAD_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
