/*
 * common/buf: boundaries, round trips, and the promise that a failed
 * getter leaves the buffer exactly as it was.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

/* Remember where a buffer stands, then check it has not moved. */
#define SNAP(b)	size_t snap_len = buf_len(b); \
		const uint8_t *snap_ptr = buf_ptr(b)
#define UNCHANGED(b) do { \
	cr_assert_eq(buf_len(b), snap_len, "length changed: %zu -> %zu", \
	    snap_len, buf_len(b)); \
	cr_assert_eq(buf_ptr(b), snap_ptr, "read position moved"); \
} while (0)

/* A fresh owned buffer holding n bytes from p. */
static struct buf *
mk(const void *p, size_t n)
{
	struct buf *b = buf_new();

	cr_assert_not_null(b);
	cr_assert_eq(buf_put(b, p, n), 0);
	return b;
}

/* --- basics --- */

Test(buf, new_buffer_is_empty_with_usable_pointer)
{
	struct buf *b = buf_new();

	cr_assert_not_null(b);
	cr_assert_eq(buf_len(b), 0);
	cr_assert_not_null(buf_ptr(b));
	buf_free(b);
}

Test(buf, free_null_is_harmless)
{
	buf_free(NULL);
}

Test(buf, integers_are_big_endian)
{
	static const uint8_t want[] = {
		0xab,
		0x01, 0x02, 0x03, 0x04,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	struct buf *b = buf_new();

	cr_assert_eq(buf_put_u8(b, 0xab), 0);
	cr_assert_eq(buf_put_u32(b, 0x01020304), 0);
	cr_assert_eq(buf_put_u64(b, 0x0102030405060708ULL), 0);
	cr_assert_eq(buf_len(b), sizeof(want));
	cr_assert_arr_eq(buf_ptr(b), want, sizeof(want));
	buf_free(b);
}

Test(buf, integer_round_trip_extremes)
{
	struct buf *b = buf_new();
	uint8_t v8;
	uint32_t v32;
	uint64_t v64;

	cr_assert_eq(buf_put_u8(b, 0), 0);
	cr_assert_eq(buf_put_u8(b, UINT8_MAX), 0);
	cr_assert_eq(buf_put_u32(b, 0), 0);
	cr_assert_eq(buf_put_u32(b, UINT32_MAX), 0);
	cr_assert_eq(buf_put_u64(b, 0), 0);
	cr_assert_eq(buf_put_u64(b, UINT64_MAX), 0);
	cr_assert_eq(buf_get_u8(b, &v8), 0);
	cr_assert_eq(v8, 0);
	cr_assert_eq(buf_get_u8(b, &v8), 0);
	cr_assert_eq(v8, UINT8_MAX);
	cr_assert_eq(buf_get_u32(b, &v32), 0);
	cr_assert_eq(v32, 0);
	cr_assert_eq(buf_get_u32(b, &v32), 0);
	cr_assert_eq(v32, UINT32_MAX);
	cr_assert_eq(buf_get_u64(b, &v64), 0);
	cr_assert_eq(v64, 0);
	cr_assert_eq(buf_get_u64(b, &v64), 0);
	cr_assert_eq(v64, UINT64_MAX);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, get_u8_on_empty_is_truncated)
{
	struct buf *b = buf_new();
	uint8_t v = 7;
	SNAP(b);

	cr_assert_eq(buf_get_u8(b, &v), TSS_E_TRUNCATED);
	cr_assert_eq(v, 0);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, get_u32_exact_length_consumes_all)
{
	static const uint8_t d[] = { 0, 0, 1, 0 };
	struct buf *b = mk(d, sizeof(d));
	uint32_t v;

	cr_assert_eq(buf_get_u32(b, &v), 0);
	cr_assert_eq(v, 256);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, get_u32_one_short_is_truncated_and_unchanged)
{
	static const uint8_t d[] = { 1, 2, 3 };
	struct buf *b = mk(d, sizeof(d));
	uint32_t v = 9;
	SNAP(b);

	cr_assert_eq(buf_get_u32(b, &v), TSS_E_TRUNCATED);
	cr_assert_eq(v, 0);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, get_u64_one_short_is_truncated_and_unchanged)
{
	static const uint8_t d[7] = { 0 };
	struct buf *b = mk(d, sizeof(d));
	uint64_t v = 9;
	SNAP(b);

	cr_assert_eq(buf_get_u64(b, &v), TSS_E_TRUNCATED);
	cr_assert_eq(v, 0);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, get_bytes_exact_and_one_short)
{
	static const uint8_t d[] = { 1, 2, 3, 4, 5 };
	struct buf *b = mk(d, sizeof(d));
	uint8_t out[6];
	SNAP(b);

	cr_assert_eq(buf_get(b, out, 6), TSS_E_TRUNCATED);
	UNCHANGED(b);
	cr_assert_eq(buf_get(b, out, 5), 0);
	cr_assert_arr_eq(out, d, 5);
	cr_assert_eq(buf_len(b), 0);
	cr_assert_eq(buf_get(b, out, 0), 0);
	buf_free(b);
}

Test(buf, get_and_consume_size_max_are_truncated)
{
	static const uint8_t d[] = { 1, 2, 3, 4 };
	struct buf *b = mk(d, sizeof(d));
	uint8_t out[4];
	SNAP(b);

	cr_assert_eq(buf_get(b, out, SIZE_MAX), TSS_E_TRUNCATED);
	cr_assert_eq(buf_consume(b, SIZE_MAX), TSS_E_TRUNCATED);
	cr_assert_eq(buf_consume(b, 5), TSS_E_TRUNCATED);
	UNCHANGED(b);
	cr_assert_eq(buf_consume(b, 4), 0);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, consume_advances_pointer)
{
	static const uint8_t d[] = { 1, 2, 3, 4 };
	struct buf *b = mk(d, sizeof(d));

	cr_assert_eq(buf_consume(b, 1), 0);
	cr_assert_eq(buf_len(b), 3);
	cr_assert_eq(buf_ptr(b)[0], 2);
	buf_free(b);
}

/* --- strings --- */

Test(buf, string_round_trip_direct_and_copy)
{
	struct buf *b = buf_new();
	const uint8_t *p;
	uint8_t *c;
	size_t len;

	cr_assert_eq(buf_put_string(b, "abc", 3), 0);
	cr_assert_eq(buf_put_string(b, "\0\1\2", 3), 0);
	cr_assert_eq(buf_len(b), 14);
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(p, "abc", 3);
	cr_assert_eq(buf_get_string(b, &c, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(c, "\0\1\2", 3);
	cr_assert_eq(c[3], 0, "copy is NUL-terminated");
	free(c);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, empty_string_round_trip)
{
	struct buf *b = buf_new();
	uint8_t *c;
	size_t len = 9;

	cr_assert_eq(buf_put_string(b, NULL, 0), 0);
	cr_assert_eq(buf_len(b), 4);
	cr_assert_eq(buf_get_string(b, &c, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_not_null(c);
	cr_assert_eq(c[0], 0);
	free(c);
	buf_free(b);
}

Test(buf, string_length_one_past_end_is_truncated)
{
	static const uint8_t d[] = { 0, 0, 0, 4, 'a', 'b', 'c' };
	struct buf *b = mk(d, sizeof(d));
	const uint8_t *p = (const uint8_t *)"x";
	uint8_t *c = (uint8_t *)"x";
	char *s = (char *)"x";
	size_t len = 9;
	SNAP(b);

	cr_assert_eq(buf_get_string_direct(b, &p, &len), TSS_E_TRUNCATED);
	cr_assert_null(p);
	cr_assert_eq(len, 0);
	cr_assert_eq(buf_get_string(b, &c, &len), TSS_E_TRUNCATED);
	cr_assert_null(c);
	cr_assert_eq(buf_get_cstring(b, &s, &len), TSS_E_TRUNCATED);
	cr_assert_null(s);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, string_exact_length_is_accepted)
{
	static const uint8_t d[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
	struct buf *b = mk(d, sizeof(d));
	const uint8_t *p;
	size_t len;

	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, string_header_short_is_truncated)
{
	static const uint8_t d[] = { 0, 0, 0 };
	struct buf *b = mk(d, sizeof(d));
	const uint8_t *p;
	size_t len;
	SNAP(b);

	cr_assert_eq(buf_get_string_direct(b, &p, &len), TSS_E_TRUNCATED);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, string_length_uint32_max_is_too_long)
{
	static const uint8_t d[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
	struct buf *b = mk(d, sizeof(d));
	const uint8_t *p;
	size_t len;
	SNAP(b);

	cr_assert_eq(buf_get_string_direct(b, &p, &len), TSS_E_TOO_LONG);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, string_length_near_uint32_max_is_too_long)
{
	static const uint8_t d1[] = { 0xff, 0xff, 0xff, 0xfc, 'a' };
	static const uint8_t d2[] = { 0x80, 0x00, 0x00, 0x00 };
	struct buf *b1 = mk(d1, sizeof(d1)), *b2 = mk(d2, sizeof(d2));
	uint8_t *c;
	size_t len;

	cr_assert_eq(buf_get_string(b1, &c, &len), TSS_E_TOO_LONG);
	cr_assert_eq(buf_get_string(b2, &c, &len), TSS_E_TOO_LONG);
	cr_assert_eq(buf_len(b1), sizeof(d1));
	cr_assert_eq(buf_len(b2), sizeof(d2));
	buf_free(b1);
	buf_free(b2);
}

Test(buf, string_length_over_cap_is_too_long_under_cap_truncated)
{
	/* BUF_SIZE_MAX - 3 cannot fit with its header; BUF_SIZE_MAX - 4 can. */
	uint8_t d1[4], d2[4];
	uint32_t over = BUF_SIZE_MAX - 3, fits = BUF_SIZE_MAX - 4;
	struct buf *b1, *b2;
	const uint8_t *p;
	size_t len;

	d1[0] = (uint8_t)(over >> 24); d1[1] = (uint8_t)(over >> 16);
	d1[2] = (uint8_t)(over >> 8); d1[3] = (uint8_t)over;
	d2[0] = (uint8_t)(fits >> 24); d2[1] = (uint8_t)(fits >> 16);
	d2[2] = (uint8_t)(fits >> 8); d2[3] = (uint8_t)fits;
	b1 = mk(d1, 4);
	b2 = mk(d2, 4);
	cr_assert_eq(buf_get_string_direct(b1, &p, &len), TSS_E_TOO_LONG);
	cr_assert_eq(buf_get_string_direct(b2, &p, &len), TSS_E_TRUNCATED);
	cr_assert_eq(buf_len(b1), 4);
	cr_assert_eq(buf_len(b2), 4);
	buf_free(b1);
	buf_free(b2);
}

Test(buf, string_outputs_may_be_null_and_still_consume)
{
	struct buf *b = buf_new();

	cr_assert_eq(buf_put_string(b, "abc", 3), 0);
	cr_assert_eq(buf_get_string_direct(b, NULL, NULL), 0);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, put_string_size_max_is_too_long)
{
	struct buf *b = buf_new();
	SNAP(b);

	cr_assert_eq(buf_put_string(b, "x", SIZE_MAX), TSS_E_TOO_LONG);
	cr_assert_eq(buf_put_string(b, "x", (size_t)UINT32_MAX + 1),
	    TSS_E_TOO_LONG);
	cr_assert_eq(buf_put(b, "x", SIZE_MAX), TSS_E_TOO_LONG);
	cr_assert_eq(buf_put_bignum2_bytes(b, "x", SIZE_MAX), TSS_E_TOO_LONG);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, put_string_from_itself)
{
	struct buf *b = buf_new();
	const uint8_t *p;
	size_t len;
	int i;

	cr_assert_eq(buf_put(b, "hello", 5), 0);
	/* Enough rounds to force growth while the source is inside b. */
	for (i = 0; i < 12; i++)
		cr_assert_eq(buf_put_string(b, buf_ptr(b), buf_len(b)), 0);
	cr_assert_eq(buf_get(b, NULL, 5), 0);
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 5);
	cr_assert_arr_eq(p, "hello", 5);
	buf_free(b);
}

Test(buf, put_string_from_consumed_region)
{
	struct buf *b = buf_new();
	const uint8_t *p;
	size_t len;
	uint8_t big[300];

	memset(big, 'z', sizeof(big));
	cr_assert_eq(buf_put_string(b, big, sizeof(big)), 0);
	/* p points at consumed bytes that compaction would overwrite. */
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(buf_put_string(b, p, len), 0);
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, sizeof(big));
	cr_assert_arr_eq(p, big, sizeof(big));
	buf_free(b);
}

/* --- cstring --- */

Test(buf, cstring_round_trip)
{
	struct buf *b = buf_new();
	char *s;
	size_t len;

	cr_assert_eq(buf_put_cstring(b, "ssh-ed25519"), 0);
	cr_assert_eq(buf_get_cstring(b, &s, &len), 0);
	cr_assert_str_eq(s, "ssh-ed25519");
	cr_assert_eq(len, 11);
	free(s);
	buf_free(b);
}

Test(buf, cstring_null_puts_empty)
{
	struct buf *b = buf_new();
	char *s;

	cr_assert_eq(buf_put_cstring(b, NULL), 0);
	cr_assert_eq(buf_len(b), 4);
	cr_assert_eq(buf_get_cstring(b, &s, NULL), 0);
	cr_assert_str_eq(s, "");
	free(s);
	buf_free(b);
}

Test(buf, cstring_embedded_nul_is_refused_and_unchanged)
{
	static const uint8_t d[] = { 0, 0, 0, 6, 'a', ',', 0, 'r', 'o', 'o' };
	struct buf *b = mk(d, sizeof(d) - 1);
	char *s = (char *)"x";
	size_t len = 3;
	SNAP(b);

	cr_assert_eq(buf_get_cstring(b, &s, &len), TSS_E_TRUNCATED);
	cr_assert_eq(buf_put_u8(b, 'o'), 0);
	snap_len = buf_len(b);
	snap_ptr = buf_ptr(b);
	cr_assert_eq(buf_get_cstring(b, &s, &len), TSS_E_EMBEDDED_NUL);
	cr_assert_null(s);
	cr_assert_eq(len, 0);
	UNCHANGED(b);
	/* The same bytes are fine as a plain string. */
	cr_assert_eq(buf_get_string_direct(b, NULL, &len), 0);
	cr_assert_eq(len, 6);
	buf_free(b);
}

Test(buf, cstring_trailing_nul_is_refused)
{
	static const uint8_t d[] = { 0, 0, 0, 2, 'a', 0 };
	struct buf *b = mk(d, sizeof(d));
	char *s;
	SNAP(b);

	cr_assert_eq(buf_get_cstring(b, &s, NULL), TSS_E_EMBEDDED_NUL);
	UNCHANGED(b);
	buf_free(b);
}

/* --- mpint --- */

Test(buf, mpint_zero_is_empty_string)
{
	struct buf *b = buf_new();
	static const uint8_t zeros[] = { 0, 0, 0 };
	static const uint8_t want[] = { 0, 0, 0, 0 };
	const uint8_t *p;
	size_t len = 9;

	cr_assert_eq(buf_put_bignum2_bytes(b, zeros, sizeof(zeros)), 0);
	cr_assert_eq(buf_put_bignum2_bytes(b, NULL, 0), 0);
	cr_assert_eq(buf_len(b), 8);
	cr_assert_arr_eq(buf_ptr(b), want, 4);
	cr_assert_eq(buf_get_bignum2_direct(b, &p, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(buf_get_bignum2_direct(b, &p, &len), 0);
	cr_assert_eq(len, 0);
	buf_free(b);
}

Test(buf, mpint_high_bit_gets_leading_zero)
{
	static const uint8_t v[] = { 0x80, 0x01 };
	static const uint8_t want[] = { 0, 0, 0, 3, 0x00, 0x80, 0x01 };
	struct buf *b = buf_new();
	const uint8_t *p;
	size_t len;

	cr_assert_eq(buf_put_bignum2_bytes(b, v, sizeof(v)), 0);
	cr_assert_eq(buf_len(b), sizeof(want));
	cr_assert_arr_eq(buf_ptr(b), want, sizeof(want));
	cr_assert_eq(buf_get_bignum2_direct(b, &p, &len), 0);
	cr_assert_eq(len, 2, "leading zero stripped");
	cr_assert_arr_eq(p, v, 2);
	buf_free(b);
}

Test(buf, mpint_leading_zeros_of_input_are_skipped)
{
	static const uint8_t v[] = { 0, 0, 0x7f, 0xff };
	static const uint8_t want[] = { 0, 0, 0, 2, 0x7f, 0xff };
	struct buf *b = buf_new();

	cr_assert_eq(buf_put_bignum2_bytes(b, v, sizeof(v)), 0);
	cr_assert_eq(buf_len(b), sizeof(want));
	cr_assert_arr_eq(buf_ptr(b), want, sizeof(want));
	buf_free(b);
}

Test(buf, mpint_negative_is_refused)
{
	static const uint8_t d1[] = { 0, 0, 0, 1, 0x80 };
	static const uint8_t d2[] = { 0, 0, 0, 2, 0xff, 0x01 };
	struct buf *b1 = mk(d1, sizeof(d1)), *b2 = mk(d2, sizeof(d2));
	const uint8_t *p = (const uint8_t *)"x";
	size_t len = 5;

	cr_assert_eq(buf_get_bignum2_direct(b1, &p, &len), TSS_E_BAD_FORMAT);
	cr_assert_null(p);
	cr_assert_eq(len, 0);
	cr_assert_eq(buf_get_bignum2_direct(b2, &p, &len), TSS_E_BAD_FORMAT);
	cr_assert_eq(buf_len(b1), sizeof(d1));
	cr_assert_eq(buf_len(b2), sizeof(d2));
	buf_free(b1);
	buf_free(b2);
}

Test(buf, mpint_non_minimal_is_refused)
{
	static const uint8_t d1[] = { 0, 0, 0, 2, 0x00, 0x7f };
	static const uint8_t d2[] = { 0, 0, 0, 1, 0x00 };
	static const uint8_t d3[] = { 0, 0, 0, 3, 0x00, 0x00, 0x80 };
	struct buf *b1 = mk(d1, sizeof(d1)), *b2 = mk(d2, sizeof(d2));
	struct buf *b3 = mk(d3, sizeof(d3));
	const uint8_t *p;
	size_t len;

	cr_assert_eq(buf_get_bignum2_direct(b1, &p, &len), TSS_E_BAD_FORMAT);
	cr_assert_eq(buf_get_bignum2_direct(b2, &p, &len), TSS_E_BAD_FORMAT);
	cr_assert_eq(buf_get_bignum2_direct(b3, &p, &len), TSS_E_BAD_FORMAT);
	cr_assert_eq(buf_len(b1), sizeof(d1));
	cr_assert_eq(buf_len(b2), sizeof(d2));
	cr_assert_eq(buf_len(b3), sizeof(d3));
	buf_free(b1);
	buf_free(b2);
	buf_free(b3);
}

Test(buf, mpint_truncated_is_refused)
{
	static const uint8_t d[] = { 0, 0, 0, 3, 0x01, 0x02 };
	struct buf *b = mk(d, sizeof(d));
	const uint8_t *p;
	size_t len;
	SNAP(b);

	cr_assert_eq(buf_get_bignum2_direct(b, &p, &len), TSS_E_TRUNCATED);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, mpint_minimal_positive_accepted)
{
	static const uint8_t d[] = { 0, 0, 0, 2, 0x01, 0x00 };
	struct buf *b = mk(d, sizeof(d));
	const uint8_t *p;
	size_t len;

	cr_assert_eq(buf_get_bignum2_direct(b, &p, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_eq(p[0], 0x01);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

/* --- sub-buffers and views --- */

Test(buf, stringb_round_trip_gives_read_only_view)
{
	struct buf *b = buf_new(), *inner = buf_new(), *sub;
	uint32_t v;

	cr_assert_eq(buf_put_u32(inner, 42), 0);
	cr_assert_eq(buf_put_cstring(inner, "x"), 0);
	cr_assert_eq(buf_put_stringb(b, inner), 0);
	cr_assert_eq(buf_put_u8(b, 1), 0);
	cr_assert_eq(buf_get_stringb(b, &sub), 0);
	cr_assert_eq(buf_len(sub), buf_len(inner));
	cr_assert_eq(buf_len(b), 1);
	cr_assert_eq(buf_get_u32(sub, &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(buf_put_u8(sub, 1), TSS_E_INVALID_ARGUMENT);
	buf_free(sub);
	buf_free(inner);
	buf_free(b);
}

Test(buf, stringb_truncated_leaves_sub_null)
{
	static const uint8_t d[] = { 0, 0, 0, 9, 1 };
	struct buf *b = mk(d, sizeof(d)), *sub = (struct buf *)1;
	SNAP(b);

	cr_assert_eq(buf_get_stringb(b, &sub), TSS_E_TRUNCATED);
	cr_assert_null(sub);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, put_stringb_of_itself)
{
	struct buf *b = buf_new();
	const uint8_t *p;
	size_t len;

	cr_assert_eq(buf_put(b, "ab", 2), 0);
	cr_assert_eq(buf_put_stringb(b, b), 0);
	cr_assert_eq(buf_len(b), 8);
	cr_assert_eq(buf_get(b, NULL, 2), 0);
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_arr_eq(p, "ab", 2);
	buf_free(b);
}

Test(buf, view_reads_caller_memory_and_refuses_writes)
{
	static const uint8_t d[] = { 0, 0, 0, 7 };
	struct buf *b = buf_from(d, sizeof(d));
	uint8_t *dst = (uint8_t *)1;
	uint32_t v;

	cr_assert_not_null(b);
	cr_assert_eq(buf_ptr(b), d);
	cr_assert_eq(buf_put(b, "x", 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_u32(b, 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_cstring(b, "x"), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_reserve(b, 1, &dst), TSS_E_INVALID_ARGUMENT);
	cr_assert_null(dst);
	cr_assert_eq(buf_len(b), 4);
	cr_assert_eq(buf_get_u32(b, &v), 0);
	cr_assert_eq(v, 7);
	buf_free(b);
	cr_assert_eq(d[3], 7);
}

Test(buf, view_reset_empties_it)
{
	static const uint8_t d[] = { 1, 2, 3 };
	struct buf *b = buf_from(d, sizeof(d));

	buf_reset(b);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, view_of_bad_arguments_is_null)
{
	static const uint8_t d[1];
	struct buf *b;

	cr_assert_null(buf_from(NULL, 1));
	cr_assert_null(buf_from(d, (size_t)BUF_SIZE_MAX + 1));
	cr_assert_null(buf_from(d, SIZE_MAX));
	b = buf_from(NULL, 0);
	cr_assert_not_null(b);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

/* --- caps --- */

Test(buf, cap_at_buf_size_max)
{
	struct buf *b = buf_new();
	uint8_t *dst;
	SNAP(b);

	cr_assert_eq(buf_reserve(b, (size_t)BUF_SIZE_MAX + 1, &dst),
	    TSS_E_TOO_LONG);
	cr_assert_null(dst);
	cr_assert_eq(buf_reserve(b, SIZE_MAX, &dst), TSS_E_TOO_LONG);
	UNCHANGED(b);
	cr_assert_eq(buf_reserve(b, BUF_SIZE_MAX - 1, &dst), 0);
	cr_assert_eq(buf_put_u8(b, 1), 0);
	cr_assert_eq(buf_len(b), BUF_SIZE_MAX);
	snap_len = buf_len(b);
	snap_ptr = buf_ptr(b);
	cr_assert_eq(buf_put_u8(b, 1), TSS_E_TOO_LONG);
	cr_assert_eq(buf_put_string(b, NULL, 0), TSS_E_TOO_LONG);
	UNCHANGED(b);
	/* Consumed bytes make room again. */
	cr_assert_eq(buf_consume(b, 4), 0);
	cr_assert_eq(buf_put_u32(b, 5), 0);
	cr_assert_eq(buf_len(b), BUF_SIZE_MAX);
	buf_free(b);
}

Test(buf, set_max_lowers_the_cap)
{
	struct buf *b = buf_new();
	SNAP(b);

	cr_assert_eq(buf_set_max(b, 8), 0);
	cr_assert_eq(buf_put_u64(b, 1), 0);
	snap_len = buf_len(b);
	snap_ptr = buf_ptr(b);
	cr_assert_eq(buf_put_u8(b, 1), TSS_E_TOO_LONG);
	UNCHANGED(b);
	cr_assert_eq(buf_set_max(b, 7), TSS_E_TOO_LONG, "below current length");
	cr_assert_eq(buf_set_max(b, (size_t)BUF_SIZE_MAX + 1),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_set_max(b, SIZE_MAX), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_set_max(b, 16), 0);
	cr_assert_eq(buf_put_u64(b, 2), 0);
	cr_assert_eq(buf_len(b), 16);
	buf_free(b);
}

Test(buf, reserve_returns_zeroed_writable_space)
{
	struct buf *b = buf_new();
	uint8_t *dst;
	uint32_t v;
	size_t i;

	cr_assert_eq(buf_put_u8(b, 9), 0);
	cr_assert_eq(buf_reserve(b, 64, &dst), 0);
	cr_assert_not_null(dst);
	for (i = 0; i < 64; i++)
		cr_assert_eq(dst[i], 0);
	dst[3] = 5;
	cr_assert_eq(buf_len(b), 65);
	cr_assert_eq(buf_consume(b, 1), 0);
	cr_assert_eq(buf_get_u32(b, &v), 0);
	cr_assert_eq(v, 5);
	buf_free(b);
}

Test(buf, growth_keeps_contents)
{
	struct buf *b = buf_new();
	uint32_t i, v;

	for (i = 0; i < 100000; i++)
		cr_assert_eq(buf_put_u32(b, i), 0);
	for (i = 0; i < 100000; i++) {
		cr_assert_eq(buf_get_u32(b, &v), 0);
		cr_assert_eq(v, i);
	}
	buf_free(b);
}

Test(buf, interleaved_put_get_reuses_space)
{
	struct buf *b = buf_new();
	uint64_t v;
	uint32_t i;

	for (i = 0; i < 50000; i++) {
		cr_assert_eq(buf_put_u64(b, i), 0);
		cr_assert_eq(buf_put_u64(b, i + 1), 0);
		cr_assert_eq(buf_get_u64(b, &v), 0);
		/* puts run 0,1,1,2,2,3,...: the i-th is i/2 + i%2 */
		cr_assert_eq(v, i / 2 + i % 2);
	}
	cr_assert_eq(buf_len(b), 50000 * 8);
	buf_free(b);
}

/* --- secrets --- */

Test(buf, secret_reset_wipes_contents)
{
	struct buf *b = buf_new_secret();
	const uint8_t *p;
	size_t i;

	cr_assert_not_null(b);
	cr_assert_eq(buf_put(b, "hunter2hunter2", 14), 0);
	p = buf_ptr(b);
	buf_reset(b);
	cr_assert_eq(buf_len(b), 0);
	/* The allocation is kept on reset, so its old bytes are readable. */
	for (i = 0; i < 14; i++)
		cr_assert_eq(p[i], 0, "byte %zu not wiped", i);
	cr_assert_eq(buf_put(b, "ok", 2), 0);
	cr_assert_arr_eq(buf_ptr(b), "ok", 2);
	buf_free(b);
}

Test(buf, secret_round_trip_across_growth_and_compaction)
{
	struct buf *b = buf_new_secret();
	uint8_t chunk[100], out[100];
	int i;

	for (i = 0; i < 200; i++) {
		memset(chunk, i, sizeof(chunk));
		cr_assert_eq(buf_put(b, chunk, sizeof(chunk)), 0);
		if (i % 2 == 1) {
			cr_assert_eq(buf_get(b, out, sizeof(out)), 0);
			cr_assert_eq(out[0], (uint8_t)(i / 2));
		}
	}
	cr_assert_eq(buf_len(b), 100 * 100);
	buf_free(b);
}

Test(buf, reset_empties_plain_buffer)
{
	struct buf *b = buf_new();

	cr_assert_eq(buf_put_u32(b, 1), 0);
	buf_reset(b);
	cr_assert_eq(buf_len(b), 0);
	cr_assert_eq(buf_put_u8(b, 2), 0);
	cr_assert_eq(buf_ptr(b)[0], 2);
	buf_free(b);
}

/* --- name-lists --- */

Test(buf, namelist_round_trip)
{
	static const char *const names[] = {
		"curve25519-sha256", "ext-info-c", "kex-strict@openssh.com",
	};
	struct buf *b = buf_new();
	char *s;

	cr_assert_eq(buf_put_namelist(b, names, 3), 0);
	cr_assert_eq(buf_get_namelist(b, &s), 0);
	cr_assert_str_eq(s,
	    "curve25519-sha256,ext-info-c,kex-strict@openssh.com");
	free(s);
	cr_assert_eq(buf_len(b), 0);
	buf_free(b);
}

Test(buf, namelist_empty_is_valid)
{
	struct buf *b = buf_new();
	char *s;

	cr_assert_eq(buf_put_namelist(b, NULL, 0), 0);
	cr_assert_eq(buf_len(b), 4);
	cr_assert_eq(buf_get_namelist(b, &s), 0);
	cr_assert_str_eq(s, "");
	free(s);
	buf_free(b);
}

/* Each bad name-list must be refused with code and leave b unchanged. */
static void
check_bad_namelist(const char *text, size_t n, int code)
{
	struct buf *b = buf_new();
	char *s = (char *)"x";
	SNAP(b);

	cr_assert_eq(buf_put_string(b, text, n), 0);
	snap_len = buf_len(b);
	snap_ptr = buf_ptr(b);
	cr_assert_eq(buf_get_namelist(b, &s), code, "for \"%s\"", text);
	cr_assert_null(s);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, namelist_bad_lists_are_refused)
{
	check_bad_namelist(",", 1, TSS_E_BAD_FORMAT);
	check_bad_namelist(",a", 2, TSS_E_BAD_FORMAT);
	check_bad_namelist("a,", 2, TSS_E_BAD_FORMAT);
	check_bad_namelist("a,,b", 4, TSS_E_BAD_FORMAT);
	check_bad_namelist("a b", 3, TSS_E_BAD_FORMAT);
	check_bad_namelist("a\tb", 3, TSS_E_BAD_FORMAT);
	check_bad_namelist("a\nb", 3, TSS_E_BAD_FORMAT);
	check_bad_namelist("a\x7f", 2, TSS_E_BAD_FORMAT);
	check_bad_namelist("caf\xc3\xa9", 5, TSS_E_BAD_FORMAT);
	check_bad_namelist("a\0b", 3, TSS_E_EMBEDDED_NUL);
}

Test(buf, namelist_put_refuses_bad_names)
{
	static const char *const empty[] = { "a", "" };
	static const char *const comma[] = { "a,b" };
	static const char *const space[] = { "a b" };
	static const char *const nul[] = { "a", NULL };
	struct buf *b = buf_new();
	SNAP(b);

	cr_assert_eq(buf_put_namelist(b, empty, 2), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_namelist(b, comma, 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_namelist(b, space, 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_namelist(b, nul, 2), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_namelist(b, NULL, 1), TSS_E_INVALID_ARGUMENT);
	UNCHANGED(b);
	buf_free(b);
}

Test(buf, namelist_truncated_is_refused)
{
	static const uint8_t d[] = { 0, 0, 0, 5, 'a', ',', 'b' };
	struct buf *b = mk(d, sizeof(d));
	char *s;
	SNAP(b);

	cr_assert_eq(buf_get_namelist(b, &s), TSS_E_TRUNCATED);
	UNCHANGED(b);
	buf_free(b);
}

/* --- every type in one message --- */

Test(buf, every_type_round_trips_in_sequence)
{
	static const char *const names[] = { "a", "b" };
	static const uint8_t bn[] = { 0xc0, 0xff, 0xee };
	struct buf *b = buf_new(), *inner = buf_new(), *sub;
	const uint8_t *p;
	uint8_t raw[3], *copy, v8;
	uint32_t v32;
	uint64_t v64;
	char *s, *nl;
	size_t len;

	cr_assert_eq(buf_put_cstring(inner, "in"), 0);
	cr_assert_eq(buf_put(b, "raw", 3), 0);
	cr_assert_eq(buf_put_u8(b, 200), 0);
	cr_assert_eq(buf_put_u32(b, 0xdeadbeef), 0);
	cr_assert_eq(buf_put_u64(b, 0x1122334455667788ULL), 0);
	cr_assert_eq(buf_put_string(b, "str", 3), 0);
	cr_assert_eq(buf_put_cstring(b, "cstr"), 0);
	cr_assert_eq(buf_put_bignum2_bytes(b, bn, sizeof(bn)), 0);
	cr_assert_eq(buf_put_stringb(b, inner), 0);
	cr_assert_eq(buf_put_namelist(b, names, 2), 0);
	cr_assert_eq(buf_put_string(b, "copy", 4), 0);

	cr_assert_eq(buf_get(b, raw, 3), 0);
	cr_assert_arr_eq(raw, "raw", 3);
	cr_assert_eq(buf_get_u8(b, &v8), 0);
	cr_assert_eq(v8, 200);
	cr_assert_eq(buf_get_u32(b, &v32), 0);
	cr_assert_eq(v32, 0xdeadbeef);
	cr_assert_eq(buf_get_u64(b, &v64), 0);
	cr_assert_eq(v64, 0x1122334455667788ULL);
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(p, "str", 3);
	cr_assert_eq(buf_get_cstring(b, &s, &len), 0);
	cr_assert_str_eq(s, "cstr");
	cr_assert_eq(buf_get_bignum2_direct(b, &p, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(p, bn, 3);
	cr_assert_eq(buf_get_stringb(b, &sub), 0);
	cr_assert_eq(buf_len(sub), buf_len(inner));
	cr_assert_arr_eq(buf_ptr(sub), buf_ptr(inner), buf_len(inner));
	cr_assert_eq(buf_get_namelist(b, &nl), 0);
	cr_assert_str_eq(nl, "a,b");
	cr_assert_eq(buf_get_string(b, &copy, &len), 0);
	cr_assert_eq(len, 4);
	cr_assert_arr_eq(copy, "copy", 4);
	cr_assert_eq(buf_len(b), 0);
	free(s);
	free(nl);
	free(copy);
	buf_free(sub);
	buf_free(inner);
	buf_free(b);
}

Test(buf, null_buffer_arguments_are_refused)
{
	struct buf *b = buf_new();
	uint32_t v;

	cr_assert_eq(buf_len(NULL), 0);
	cr_assert_null(buf_ptr(NULL));
	cr_assert_eq(buf_get_u32(NULL, &v), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_u32(NULL, 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_consume(NULL, 0), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_set_max(NULL, 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_put_stringb(b, NULL), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_len(b), 0);
	buf_reset(NULL);
	buf_free(b);
}
