/*
 * libFuzzer harness for common/buf: every getter over arbitrary bytes.
 *
 * The input is a read-only view; each step takes an opcode byte and runs
 * one getter.  Checked on every step:
 *   - a failure returns a negative code, clears the outputs and leaves the
 *     buffer exactly where it was (length and read pointer);
 *   - a success consumes exactly the bytes it decoded, and putting the
 *     decoded value back (into a plain or a secret buffer) reproduces those
 *     bytes: the getters accept only canonical encodings.
 * A broken invariant aborts, which libFuzzer and the replay driver report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define MAX_DEPTH	4

/* The value at [p, p+n) was re-encoded into w: they must be identical. */
static void
same(struct buf *w, const uint8_t *p, size_t n)
{
	CHECK(buf_len(w) == n);
	CHECK(n == 0 || memcmp(buf_ptr(w), p, n) == 0);
}

/* Split a valid name-list and put it back with buf_put_namelist. */
static void
namelist_again(struct buf *w, const char *s, const uint8_t *p, size_t n)
{
	size_t count = 0, i, len = strlen(s);
	const char **names;
	char *copy, *q;

	if (len != 0)
		for (count = 1, i = 0; i < len; i++)
			count += s[i] == ',';
	names = calloc(count == 0 ? 1 : count, sizeof(*names));
	copy = strdup(s);
	CHECK(names != NULL && copy != NULL);
	for (i = 0, q = copy; i < count; i++) {
		names[i] = q;
		q = strchr(q, ',');
		if (q != NULL)
			*q++ = '\0';
	}
	buf_reset(w);
	CHECK(buf_put_namelist(w, names, count) == 0);
	same(w, p, n);
	free(copy);
	free(names);
}

static void
drive(struct buf *b, struct buf *plain, struct buf *secret, int depth)
{
	const uint8_t *p0, *sp;
	struct buf *w, *sub;
	uint8_t op, v8, tmp[64], *cp;
	uint32_t v32;
	uint64_t v64;
	size_t l0, n, len, i;
	char *s;
	int r;

	while (buf_get_u8(b, &op) == 0) {
		w = (op & 0x80) ? secret : plain;
		buf_reset(w);
		l0 = buf_len(b);
		p0 = buf_ptr(b);
		n = 0;
		switch (op % 13) {
		case 0:
			r = buf_get_u8(b, &v8);
			if (r == 0)
				CHECK(buf_put_u8(w, v8) == 0);
			else
				CHECK(v8 == 0);
			break;
		case 1:
			r = buf_get_u32(b, &v32);
			if (r == 0)
				CHECK(buf_put_u32(w, v32) == 0);
			else
				CHECK(v32 == 0);
			break;
		case 2:
			r = buf_get_u64(b, &v64);
			if (r == 0)
				CHECK(buf_put_u64(w, v64) == 0);
			else
				CHECK(v64 == 0);
			break;
		case 3:
			n = (op >> 4) * 5 % sizeof(tmp);
			r = buf_get(b, tmp, n);
			if (r == 0)
				CHECK(buf_put(w, tmp, n) == 0);
			break;
		case 4:
			n = op >> 3;
			r = buf_consume(b, n);
			if (r == 0)
				CHECK(buf_len(b) == l0 - n);
			/* Nothing to re-encode: compare against itself. */
			if (r == 0)
				CHECK(buf_put(w, p0, n) == 0);
			break;
		case 5:
			r = buf_get_string_direct(b, &sp, &len);
			if (r == 0)
				CHECK(buf_put_string(w, sp, len) == 0);
			else
				CHECK(sp == NULL && len == 0);
			break;
		case 6:
			r = buf_get_string(b, &cp, &len);
			if (r == 0) {
				CHECK(cp[len] == '\0');
				CHECK(buf_put_string(w, cp, len) == 0);
				free(cp);
			} else
				CHECK(cp == NULL && len == 0);
			break;
		case 7:
			r = buf_get_cstring(b, &s, &len);
			if (r == 0) {
				CHECK(strlen(s) == len);
				CHECK(buf_put_cstring(w, s) == 0);
				free(s);
			} else
				CHECK(s == NULL && len == 0);
			break;
		case 8:
			r = buf_get_bignum2_direct(b, &sp, &len);
			if (r == 0) {
				CHECK(len == 0 || sp[0] != 0);
				CHECK(buf_put_bignum2_bytes(w, sp, len) == 0);
			} else
				CHECK(sp == NULL && len == 0);
			break;
		case 9:
			r = buf_get_stringb(b, &sub);
			if (r == 0) {
				CHECK(buf_put_stringb(w, sub) == 0);
				CHECK(buf_put_u8(sub, 0) ==
				    TSS_E_INVALID_ARGUMENT);
				if (depth < MAX_DEPTH)
					drive(sub, plain, secret, depth + 1);
				buf_free(sub);
				/* The recursion reused the scratch buffers. */
				buf_reset(w);
				CHECK(buf_put_string(w, p0 + 4,
				    l0 - buf_len(b) - 4) == 0);
			} else
				CHECK(sub == NULL);
			break;
		case 10:
			r = buf_get_namelist(b, &s);
			if (r == 0) {
				for (i = 0; s[i] != '\0'; i++)
					CHECK(s[i] > 0x20 && s[i] < 0x7f);
				CHECK(buf_put_string(w, s, i) == 0);
				if (l0 - buf_len(b) <= 4096)
					namelist_again(w, s, p0,
					    l0 - buf_len(b));
				buf_reset(w);
				CHECK(buf_put_string(w, s, i) == 0);
				free(s);
			} else
				CHECK(s == NULL);
			break;
		case 11:
			/* A cap below the scratch length must be refused. */
			CHECK(buf_put(w, p0, l0 < 16 ? l0 : 16) == 0);
			r = buf_set_max(w, buf_len(w) / 2);
			CHECK(r == 0 || buf_len(w) != 0);
			CHECK(buf_set_max(w, BUF_SIZE_MAX) == 0);
			buf_reset(w);
			r = 0;
			break;
		default:
			r = buf_get_u32(b, &v32);
			if (r == 0)
				CHECK(buf_put_u32(w, v32) == 0);
			break;
		}
		if (r != 0) {
			CHECK(r < 0);
			CHECK(buf_len(b) == l0 && buf_ptr(b) == p0);
		} else {
			CHECK(buf_len(b) <= l0);
			same(w, p0, l0 - buf_len(b));
		}
	}
	CHECK(buf_len(b) == 0);
}

/* The same bytes through an owned buffer: growth and compaction. */
static void
owned(const uint8_t *data, size_t size, int secret)
{
	struct buf *b = secret ? buf_new_secret() : buf_new();
	size_t half = size / 2, i;

	CHECK(b != NULL);
	for (i = 0; i < size; i += 7)
		CHECK(buf_put(b, data + i, size - i < 7 ? size - i : 7) == 0);
	CHECK(buf_len(b) == size);
	CHECK(size == 0 || memcmp(buf_ptr(b), data, size) == 0);
	CHECK(buf_consume(b, half) == 0);
	CHECK(buf_put(b, data, half) == 0);
	CHECK(buf_len(b) == size);
	CHECK(size - half == 0 ||
	    memcmp(buf_ptr(b), data + half, size - half) == 0);
	CHECK(half == 0 ||
	    memcmp(buf_ptr(b) + size - half, data, half) == 0);
	buf_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *b, *plain, *secret;

	if (size > BUF_SIZE_MAX)
		return 0;
	b = buf_from(data, size);
	plain = buf_new();
	secret = buf_new_secret();
	CHECK(b != NULL && plain != NULL && secret != NULL);
	drive(b, plain, secret, 0);
	buf_free(b);
	buf_free(plain);
	buf_free(secret);
	owned(data, size, 0);
	owned(data, size, 1);
	return 0;
}
