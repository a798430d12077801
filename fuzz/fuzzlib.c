/* Shared by the record-decoder harnesses; see fuzzlib.h. */
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "fuzzlib.h"

int
fuzz_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

uint8_t *
fuzz_copy(const struct buf *b, size_t n)
{
	uint8_t *p;

	CHECK(n <= buf_len(b));
	CHECK((p = malloc(n == 0 ? 1 : n)) != NULL);
	if (n != 0)
		memcpy(p, buf_ptr(b), n);
	return p;
}

uint8_t *
fuzz_mutate(const struct buf *b, const uint8_t *d, size_t n, size_t *lenp)
{
	static const uint8_t special[16] = {
		0x00, 0x01, 0x20, 0x7f, 0x80, 0xff, '/', '*',
		'.', '-', '_', '@', ':', 'A', 'a', '0',
	};
	size_t len = buf_len(b), i, pos, cut;
	uint8_t *p, *q, v;

	CHECK((p = malloc(len + FUZZ_EDITS_MAX + 1)) != NULL);
	memcpy(p, buf_ptr(b), len);
	for (i = 0; i + 3 <= n && i < 3 * FUZZ_EDITS_MAX; i += 3) {
		pos = (size_t)(d[i] & 0x3f) << 8 | d[i + 1];
		v = (d[i] & 0x40) ? special[d[i + 2] % 16] : d[i + 2];
		if (d[i] & 0x80) {
			pos %= len + 1;
			memmove(p + pos + 1, p + pos, len - pos);
			p[pos] = v;
			len++;
		} else if (len != 0)
			p[pos % len] = v;
	}
	cut = n % 3 != 0 ? d[n - 1] % 16 : 0;
	len -= cut < len ? cut : len;
	CHECK((q = malloc(len == 0 ? 1 : len)) != NULL);
	if (len != 0)
		memcpy(q, p, len);
	free(p);
	*lenp = len;
	return q;
}

void
fuzz_seed_checks(const struct buf *b,
    int (*check)(void *arg, const uint8_t *p, size_t len), void *arg)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	size_t len = buf_len(b), i, j;
	uint8_t *p;

	p = fuzz_copy(b, len);
	CHECK(check(arg, p, len) == 0);
	free(p);
	/* Every field is needed: a cut record is refused. */
	for (i = 0; i < len; i++) {
		p = fuzz_copy(b, i);
		CHECK(check(arg, p, i) != 0);
		free(p);
	}
	CHECK((p = malloc(len + 1)) != NULL);
	memcpy(p, buf_ptr(b), len);
	p[len] = 0;
	CHECK(check(arg, p, len + 1) == TSS_E_TRAILING_DATA);
	free(p);
	p = fuzz_copy(b, len);
	for (i = 0; i < len; i++) {
		for (j = 0; j < sizeof(flips); j++) {
			p[i] ^= flips[j];
			(void)check(arg, p, len);
			p[i] ^= flips[j];
		}
	}
	free(p);
}
