/* TOTP: RFC vectors, oathtool interop, window edges, Key URI, QR. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/rand.h>

#include "common/enc.h"
#include "common/err.h"
#include "auth/totp.h"
#include "helpers.h"

static const uint8_t rfc_seed[] = "12345678901234567890";
#define RFC_SEED_LEN 20

Test(auth_totp, rfc6238_appendix_b_sha1_vectors)
{
	static const struct { int64_t t; const char *code; } v[] = {
		{ 59, "94287082" }, { 1111111109, "07081804" },
		{ 1111111111, "14050471" }, { 1234567890, "89005924" },
		{ 2000000000, "69279037" }, { 20000000000LL, "65353130" },
	};
	char out[9];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_assert_eq(totp_generate(rfc_seed, RFC_SEED_LEN, v[i].t, 8,
		    out), 0);
		cr_assert_str_eq(out, v[i].code, "t=%lld",
		    (long long)v[i].t);
	}
}

Test(auth_totp, rfc4226_hotp_vectors_as_steps)
{
	static const char *v[] = { "755224", "287082", "359152", "969429",
	    "338314", "254676", "287922", "162583", "399871", "520489" };
	char out[7];
	int i;

	/* Step c covers times 30c .. 30c + 29. */
	for (i = 0; i < 10; i++) {
		cr_assert_eq(totp_generate(rfc_seed, RFC_SEED_LEN,
		    (int64_t)i * 30 + 29, 6, out), 0);
		cr_assert_str_eq(out, v[i], "counter %d", i);
	}
}

Test(auth_totp, rfc_seed_base32_matches_security_bar)
{
	char *b32 = NULL;

	cr_assert_eq(b32_encode(rfc_seed, RFC_SEED_LEN, &b32), 0);
	cr_assert_str_eq(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	free(b32);
}

Test(auth_totp, oathtool_codes_accepted_with_matched_step)
{
	static const int64_t times[] = { 59, 1111111109, 1700000000,
	    2000000000, 1700000029, 1700000030 };
	uint8_t secret[TOTP_SECRET_LEN];
	char *b32 = NULL, code[7];
	uint64_t step;
	size_t i;

	cr_assert_eq(totp_secret_new(secret), 0);
	cr_assert_eq(b32_encode(secret, sizeof(secret), &b32), 0);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		ah_oathtool(b32, times[i], code);
		cr_assert_eq(totp_verify(secret, sizeof(secret), code,
		    times[i], 1, &step), 0, "t=%lld", (long long)times[i]);
		cr_assert_eq(step, (uint64_t)times[i] / 30);
	}
	free(b32);
}

Test(auth_totp, window_edges_minus2_to_plus2)
{
	uint8_t secret[TOTP_SECRET_LEN];
	char *b32 = NULL, code[7];
	const int64_t now = 1700000010;	/* step 56666667 */
	uint64_t step;
	int d, r;

	cr_assert_eq(totp_secret_new(secret), 0);
	cr_assert_eq(b32_encode(secret, sizeof(secret), &b32), 0);
	for (d = -2; d <= 2; d++) {
		ah_oathtool(b32, now + d * 30, code);
		r = totp_verify(secret, sizeof(secret), code, now, 1, &step);
		if (d == -2 || d == 2) {
			cr_assert_eq(r, TSS_E_INVALID_CREDENTIALS, "d=%d", d);
			cr_assert_eq(step, 0);
		} else {
			cr_assert_eq(r, 0, "d=%d", d);
			cr_assert_eq(step, totp_step(now) + (uint64_t)d);
		}
	}
	/* Window 0: only the current step. */
	ah_oathtool(b32, now - 30, code);
	cr_assert_eq(totp_verify(secret, sizeof(secret), code, now, 0, &step),
	    TSS_E_INVALID_CREDENTIALS);
	free(b32);
}

Test(auth_totp, code_syntax_refused)
{
	uint8_t secret[TOTP_SECRET_LEN] = { 1 };
	static const char *bad[] = { "", "12345", "1234567", "12345a",
	    " 123456", "123456 ", "12 456", "-12345" };
	uint64_t step = 99;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(totp_verify(secret, sizeof(secret), bad[i],
		    1700000000, 1, &step), TSS_E_INVALID_CREDENTIALS, "%s",
		    bad[i]);
		cr_assert_eq(step, 0);
	}
	cr_assert_eq(totp_verify(secret, sizeof(secret), NULL, 1700000000, 1,
	    &step), TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(totp_verify(secret, sizeof(secret), "123456", 1700000000,
	    TOTP_WINDOW_MAX + 1, &step), TSS_E_INVALID_ARGUMENT);
}

Test(auth_totp, secrets_are_160_bits_and_differ)
{
	uint8_t a[TOTP_SECRET_LEN], b[TOTP_SECRET_LEN];

	cr_assert_eq(totp_secret_new(a), 0);
	cr_assert_eq(totp_secret_new(b), 0);
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
}

Test(auth_totp, key_uri_format_and_escaping)
{
	char *u = NULL;

	cr_assert_eq(totp_key_uri("Tessera", "alice", "GEZDGNBV", &u), 0);
	cr_assert_str_eq(u, "otpauth://totp/Tessera:alice?secret=GEZDGNBV"
	    "&issuer=Tessera&algorithm=SHA1&digits=6&period=30");
	free(u);
	cr_assert_eq(totp_key_uri("Acme Co:&=?", "a.b_c-d", "GEZDGNBV", &u),
	    0);
	cr_assert_str_eq(u, "otpauth://totp/Acme%20Co%3A%26%3D%3F:a.b_c-d"
	    "?secret=GEZDGNBV&issuer=Acme%20Co%3A%26%3D%3F&algorithm=SHA1"
	    "&digits=6&period=30");
	free(u);
	cr_assert_eq(totp_key_uri("", "alice", "GE", &u),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_null(u);
}

Test(auth_totp, qr_svg_is_a_document)
{
	char *svg = NULL;
	size_t n;

	cr_assert_eq(totp_qr_svg("otpauth://totp/Tessera:alice?secret="
	    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tessera", &svg), 0);
	n = strlen(svg);
	cr_assert_eq(strncmp(svg, "<svg ", 5), 0);
	cr_assert_str_eq(svg + n - 6, "</svg>");
	cr_assert_not_null(strstr(svg, "<path"));
	free(svg);
	cr_assert_eq(totp_qr_svg("", &svg), TSS_E_INVALID_ARGUMENT);
	cr_assert_null(svg);
}
