/*
 * common/enc: RFC 4648 §10 vectors both ways, and every way a decoder
 * must refuse non-canonical text.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/enc.h"
#include "common/err.h"

struct vec {
	const char *raw;
	const char *enc;
};

static const struct vec b64v[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* RFC 4648 with the padding taken off, as b32_encode writes it. */
static const struct vec b32v[] = {
	{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
	{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" },
	{ "foobar", "MZXW6YTBOI" },
};

/* The same with RFC 4648's padding. */
static const char *const b32_padded[] = {
	"", "MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB",
	"MZXW6YTBOI======",
};

#define NVEC (sizeof(b64v) / sizeof(b64v[0]))

/* Decoding text must fail with code and leave the outputs cleared. */
static void
b64_bad(const char *text, size_t n)
{
	uint8_t *out = (uint8_t *)1;
	size_t olen = 7;

	cr_assert_eq(b64_decode(text, n, &out, &olen), TSS_E_BASE64,
	    "accepted \"%s\"", text);
	cr_assert_null(out);
	cr_assert_eq(olen, 0);
}

static void
b32_bad(const char *text, size_t n)
{
	uint8_t *out = (uint8_t *)1;
	size_t olen = 7;

	cr_assert_eq(b32_decode(text, n, &out, &olen), TSS_E_BASE32,
	    "accepted \"%s\"", text);
	cr_assert_null(out);
	cr_assert_eq(olen, 0);
}

/* A deterministic byte pattern covering all values. */
static void
pattern(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 151u + seed * 31u + (i >> 3));
}

/* --- base64 --- */

Test(enc, b64_encode_rfc4648_vectors)
{
	size_t i;
	char *s;

	for (i = 0; i < NVEC; i++) {
		cr_assert_eq(b64_encode(b64v[i].raw, strlen(b64v[i].raw), &s),
		    0);
		cr_assert_str_eq(s, b64v[i].enc);
		free(s);
	}
}

Test(enc, b64_decode_rfc4648_vectors_with_exact_length)
{
	uint8_t *out;
	size_t i, olen;

	for (i = 0; i < NVEC; i++) {
		cr_assert_eq(b64_decode(b64v[i].enc, strlen(b64v[i].enc), &out,
		    &olen), 0, "vector %zu", i);
		cr_assert_eq(olen, strlen(b64v[i].raw), "vector %zu", i);
		cr_assert_arr_eq(out, b64v[i].raw, olen);
		cr_assert_not_null(out);
		free(out);
	}
}

Test(enc, b64_round_trip_all_lengths)
{
	uint8_t raw[70], *out;
	size_t n, olen;
	char *s;

	for (n = 0; n <= sizeof(raw); n++) {
		pattern(raw, n, (unsigned)n);
		cr_assert_eq(b64_encode(raw, n, &s), 0);
		cr_assert_eq(strlen(s), (n + 2) / 3 * 4);
		cr_assert_eq(b64_decode(s, strlen(s), &out, &olen), 0);
		cr_assert_eq(olen, n);
		cr_assert_arr_eq(out, raw, n);
		free(out);
		free(s);
	}
}

Test(enc, b64_high_bytes_use_plus_and_slash)
{
	static const uint8_t raw[] = { 0xfb, 0xff, 0xbf };
	uint8_t *out;
	size_t olen;
	char *s;

	cr_assert_eq(b64_encode(raw, sizeof(raw), &s), 0);
	cr_assert_str_eq(s, "+/+/");
	cr_assert_eq(b64_decode(s, 4, &out, &olen), 0);
	cr_assert_eq(olen, 3);
	cr_assert_arr_eq(out, raw, 3);
	free(out);
	free(s);
}

Test(enc, b64_refuses_bad_characters)
{
	b64_bad("Zm9v!A==", 8);
	b64_bad("Zm9-", 4);
	b64_bad("Zm9_", 4);
	b64_bad("Zm9v\x80\x80\x80\x80", 8);
	b64_bad("Zm\0v", 4);
}

Test(enc, b64_refuses_whitespace)
{
	b64_bad(" Zm9v", 5);
	b64_bad("Zm9v ", 5);
	b64_bad("Zm9v\n", 5);
	b64_bad("Zm9v\r\n", 6);
	b64_bad("Zm 9v", 5);
	b64_bad("Zm9vYmFy\nZm9v", 13);
	b64_bad("    ", 4);
	b64_bad("Zm9\t", 4);
}

Test(enc, b64_refuses_wrong_length)
{
	b64_bad("Z", 1);
	b64_bad("Zm", 2);
	b64_bad("Zm9", 3);
	b64_bad("Zm9vY", 5);
	b64_bad("Zm9vYg", 6);
	b64_bad("Zm9vYg=", 7);
}

Test(enc, b64_refuses_bad_padding)
{
	b64_bad("=", 1);
	b64_bad("====", 4);
	b64_bad("Z===", 4);
	b64_bad("Zg=a", 4);
	b64_bad("Z=g=", 4);
	b64_bad("Zg==Zg==", 8);
	b64_bad("Zm8=Zm9v", 8);
	b64_bad("Zg===", 5);
}

Test(enc, b64_refuses_non_canonical_trailing_bits)
{
	b64_bad("Zh==", 4);	/* "f" is Zg== */
	b64_bad("Zm9=", 4);	/* "fo" is Zm8= */
	b64_bad("Zm9vYh==", 8);
}

Test(enc, b64_uses_only_slen_bytes)
{
	uint8_t *out;
	size_t olen;

	cr_assert_eq(b64_decode("Zm9vGARBAGE", 4, &out, &olen), 0);
	cr_assert_eq(olen, 3);
	cr_assert_arr_eq(out, "foo", 3);
	free(out);
}

Test(enc, b64_refuses_bad_arguments)
{
	uint8_t *out;
	size_t olen;
	char *s;

	cr_assert_eq(b64_encode(NULL, 1, &s), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b64_encode("x", 1, NULL), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b64_decode(NULL, 4, &out, &olen), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b64_decode("Zm9v", 4, NULL, &olen),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b64_decode("Zm9v", 4, &out, NULL),
	    TSS_E_INVALID_ARGUMENT);
}

/* --- base32 --- */

Test(enc, b32_encode_rfc4648_vectors_unpadded)
{
	size_t i;
	char *s;

	for (i = 0; i < NVEC; i++) {
		cr_assert_eq(b32_encode(b32v[i].raw, strlen(b32v[i].raw), &s),
		    0);
		cr_assert_str_eq(s, b32v[i].enc);
		free(s);
	}
}

Test(enc, b32_decode_rfc4648_vectors_unpadded_and_padded)
{
	uint8_t *out;
	size_t i, olen;

	for (i = 0; i < NVEC; i++) {
		cr_assert_eq(b32_decode(b32v[i].enc, strlen(b32v[i].enc), &out,
		    &olen), 0, "vector %zu", i);
		cr_assert_eq(olen, strlen(b32v[i].raw));
		cr_assert_not_null(out);
		cr_assert_arr_eq(out, b32v[i].raw, olen);
		free(out);
		cr_assert_eq(b32_decode(b32_padded[i], strlen(b32_padded[i]),
		    &out, &olen), 0, "padded vector %zu", i);
		cr_assert_eq(olen, strlen(b32v[i].raw));
		cr_assert_arr_eq(out, b32v[i].raw, olen);
		free(out);
	}
}

Test(enc, b32_rfc6238_seed)
{
	static const char seed[] = "12345678901234567890";
	static const char text[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
	uint8_t *out;
	size_t olen;
	char *s;

	cr_assert_eq(b32_encode(seed, 20, &s), 0);
	cr_assert_str_eq(s, text);
	free(s);
	cr_assert_eq(b32_decode(text, 32, &out, &olen), 0);
	cr_assert_eq(olen, 20);
	cr_assert_arr_eq(out, seed, 20);
	free(out);
}

Test(enc, b32_round_trip_all_lengths)
{
	uint8_t raw[45], *out;
	size_t n, olen;
	char *s;

	for (n = 0; n <= sizeof(raw); n++) {
		pattern(raw, n, (unsigned)n + 7);
		cr_assert_eq(b32_encode(raw, n, &s), 0);
		cr_assert_eq(strlen(s), (n * 8 + 4) / 5);
		cr_assert_null(strchr(s, '='));
		cr_assert_eq(b32_decode(s, strlen(s), &out, &olen), 0);
		cr_assert_eq(olen, n);
		cr_assert_arr_eq(out, raw, n);
		free(out);
		free(s);
	}
}

Test(enc, b32_refuses_bad_characters)
{
	b32_bad("MZXW1", 5);
	b32_bad("MZXW0", 5);
	b32_bad("MZXW8", 5);
	b32_bad("MZXW9", 5);
	b32_bad("mzxw6", 5);	/* canonical form is upper case */
	b32_bad("MZxW6", 5);
	b32_bad("MZ-W6", 5);
	b32_bad("MZ\0W6", 5);
	b32_bad("MZXW6\xff", 6);
}

Test(enc, b32_refuses_whitespace)
{
	b32_bad(" MZXW6", 6);
	b32_bad("MZXW6 ", 6);
	b32_bad("MZXW6\n", 6);
	b32_bad("MZ XW6", 6);
	b32_bad("GEZD GNBV", 9);
	b32_bad("        ", 8);
}

Test(enc, b32_refuses_impossible_lengths)
{
	b32_bad("M", 1);
	b32_bad("MZX", 3);
	b32_bad("MZXW6Y", 6);
	b32_bad("MZXW6YTBO", 9);
}

Test(enc, b32_refuses_bad_padding)
{
	b32_bad("=", 1);
	b32_bad("MY=", 3);
	b32_bad("MY=====", 7);
	b32_bad("MY=======", 9);
	b32_bad("========", 8);
	b32_bad("M=======", 8);
	b32_bad("MZX=====", 8);
	b32_bad("MZXW6Y==", 8);
	b32_bad("MY======MY", 10);
	b32_bad("MY=A====", 8);
	b32_bad("MZXW6YTB========", 16);
}

Test(enc, b32_refuses_non_canonical_trailing_bits)
{
	b32_bad("MZ", 2);	/* "f" is MY */
	b32_bad("MZ======", 8);
	b32_bad("MZXR", 4);	/* "fo" is MZXQ */
	b32_bad("MZXW7", 5);	/* "foo" is MZXW6 */
	b32_bad("MZXW6YR", 7);	/* "foob" is MZXW6YQ */
	b32_bad("MZXW6YTBOJ", 10);	/* "foobar" is MZXW6YTBOI */
}

Test(enc, b32_refuses_bad_arguments)
{
	uint8_t *out;
	size_t olen;
	char *s;

	cr_assert_eq(b32_encode(NULL, 1, &s), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b32_encode("x", 1, NULL), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b32_decode(NULL, 2, &out, &olen), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b32_decode("MY", 2, NULL, &olen), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(b32_decode("MY", 2, &out, NULL), TSS_E_INVALID_ARGUMENT);
}

/* --- hex --- */

Test(enc, hex_encode_lowercase)
{
	static const uint8_t raw[] = { 0x00, 0xff, 0x10, 0xab, 0x09, 0xc7 };
	char dst[2 * sizeof(raw) + 1];

	memset(dst, 'x', sizeof(dst));
	hex_encode(raw, sizeof(raw), dst);
	cr_assert_str_eq(dst, "00ff10ab09c7");
}

Test(enc, hex_decode_lowercase_only_exact_length)
{
	uint8_t out[3];

	cr_assert_eq(hex_decode("00ffab", out, 3), 0);
	cr_assert(out[0] == 0x00 && out[1] == 0xff && out[2] == 0xab);
	cr_expect_eq(hex_decode("00FFab", out, 3), TSS_E_BAD_FORMAT);
	cr_expect_eq(hex_decode("00ff", out, 3), TSS_E_BAD_FORMAT);
	cr_expect_eq(hex_decode("00ffa", out, 3), TSS_E_BAD_FORMAT);
	cr_expect_eq(hex_decode("00 fab", out, 3), TSS_E_BAD_FORMAT);
}

Test(enc, hex_encode_empty)
{
	char dst[1] = { 'x' };

	hex_encode(NULL, 0, dst);
	cr_assert_eq(dst[0], '\0');
}

Test(enc, hex_encode_every_byte)
{
	uint8_t raw[256];
	char dst[513], want[3];
	size_t i;

	for (i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	hex_encode(raw, sizeof(raw), dst);
	cr_assert_eq(strlen(dst), 512);
	for (i = 0; i < 256; i++) {
		cr_assert_eq(snprintf(want, sizeof(want), "%02x", (unsigned)i),
		    2);
		cr_assert_arr_eq(dst + 2 * i, want, 2);
	}
}
