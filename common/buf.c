/*
 * Bounds-checked byte buffer (see buf.h).
 *
 * Layout: bytes [0, off) are consumed, [off, size) unread, [size, alloc)
 * spare.  The cap (max, at most BUF_SIZE_MAX) limits the unread length;
 * consumed bytes are reclaimed by moving the unread ones to the front when
 * room is needed.  A secret buffer never leaves a copy behind: growth
 * allocates afresh and wipes the old block, compaction wipes the vacated
 * tail, reset and free wipe the whole allocation.
 *
 * Every length check compares against what is left (n > len - used), never
 * a sum, so no check can wrap.
 */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "buf.h"
#include "err.h"

#define BUF_MIN_ALLOC	256

struct buf {
	uint8_t *d;		/* owned storage; NULL for views */
	const uint8_t *cd;	/* read-only view storage */
	size_t off;		/* first unread byte */
	size_t size;		/* end of data */
	size_t alloc;		/* bytes at d */
	size_t max;		/* cap on unread length */
	int readonly;
	int secret;
};

/* Stand-in for an empty buffer's storage, so buf_ptr() is never NULL. */
static const uint8_t buf_empty[1];

static const uint8_t *
base(const struct buf *b)
{
	const uint8_t *p = b->readonly ? b->cd : b->d;

	return p == NULL ? buf_empty : p;
}

static struct buf *
buf_alloc(int secret)
{
	struct buf *b;

	if ((b = mem_calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = BUF_SIZE_MAX;
	b->secret = secret;
	return b;
}

struct buf *
buf_new(void)
{
	return buf_alloc(0);
}

struct buf *
buf_new_secret(void)
{
	return buf_alloc(1);
}

struct buf *
buf_from(const void *p, size_t len)
{
	struct buf *b;

	if ((p == NULL && len != 0) || len > BUF_SIZE_MAX)
		return NULL;
	if ((b = buf_alloc(0)) == NULL)
		return NULL;
	b->readonly = 1;
	b->cd = p;
	b->size = len;
	b->max = len;
	return b;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->d != NULL) {
		if (b->secret)
			explicit_bzero(b->d, b->alloc);
		free(b->d);
	}
	explicit_bzero(b, sizeof(*b));
	free(b);
}

size_t
buf_len(const struct buf *b)
{
	if (b == NULL)
		return 0;
	return b->size - b->off;
}

const uint8_t *
buf_ptr(const struct buf *b)
{
	if (b == NULL)
		return NULL;
	return base(b) + b->off;
}

void
buf_reset(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->readonly) {
		b->off = b->size;
		return;
	}
	if (b->secret && b->d != NULL)
		explicit_bzero(b->d, b->alloc);
	b->off = b->size = 0;
}

int
buf_set_max(struct buf *b, size_t max)
{
	if (b == NULL || max > BUF_SIZE_MAX)
		return TSS_E_INVALID_ARGUMENT;
	if (max < buf_len(b))
		return TSS_E_TOO_LONG;
	b->max = max;
	return 0;
}

int
buf_consume(struct buf *b, size_t n)
{
	if (b == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (n > buf_len(b))
		return TSS_E_TRUNCATED;
	b->off += n;
	return 0;
}

/* ---- readers ---- */

/* Check that n bytes are there; return a pointer to them without consuming. */
static int
peek(const struct buf *b, size_t n, const uint8_t **p)
{
	if (b == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (n > buf_len(b))
		return TSS_E_TRUNCATED;
	*p = base(b) + b->off;
	return 0;
}

static uint32_t
load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
buf_get(struct buf *b, void *dst, size_t n)
{
	const uint8_t *p;
	int r;

	if ((r = peek(b, n, &p)) != 0)
		return r;
	if (dst != NULL && n != 0)
		memcpy(dst, p, n);
	b->off += n;
	return 0;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	const uint8_t *p;
	int r;

	if (v != NULL)
		*v = 0;
	if ((r = peek(b, 1, &p)) != 0)
		return r;
	if (v != NULL)
		*v = p[0];
	b->off += 1;
	return 0;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	const uint8_t *p;
	int r;

	if (v != NULL)
		*v = 0;
	if ((r = peek(b, 4, &p)) != 0)
		return r;
	if (v != NULL)
		*v = load_u32(p);
	b->off += 4;
	return 0;
}

int
buf_get_u64(struct buf *b, uint64_t *v)
{
	const uint8_t *p;
	int r;

	if (v != NULL)
		*v = 0;
	if ((r = peek(b, 8, &p)) != 0)
		return r;
	if (v != NULL)
		*v = buf_peek_u64(p);
	b->off += 8;
	return 0;
}

uint64_t
buf_peek_u64(const uint8_t p[8])
{
	return (uint64_t)load_u32(p) << 32 | load_u32(p + 4);
}


/*
 * Locate the string at the front without consuming it: *p, *len are its
 * contents, *total the bytes it occupies including the length field.
 */
static int
peek_string(const struct buf *b, const uint8_t **p, size_t *len,
    size_t *total)
{
	const uint8_t *h;
	uint32_t n;
	int r;

	if ((r = peek(b, 4, &h)) != 0)
		return r;
	n = load_u32(h);
	if (n > BUF_SIZE_MAX - 4)
		return TSS_E_TOO_LONG;
	if (n > buf_len(b) - 4)
		return TSS_E_TRUNCATED;
	*p = h + 4;
	*len = n;
	*total = (size_t)n + 4;
	return 0;
}

int
buf_get_string_direct(struct buf *b, const uint8_t **p, size_t *len)
{
	const uint8_t *s;
	size_t n, total;
	int r;

	if (p != NULL)
		*p = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = peek_string(b, &s, &n, &total)) != 0)
		return r;
	b->off += total;
	if (p != NULL)
		*p = s;
	if (len != NULL)
		*len = n;
	return 0;
}

/* Copy n bytes at s to a fresh NUL-terminated allocation. */
static int
dup_bytes(const uint8_t *s, size_t n, uint8_t **out)
{
	uint8_t *d;

	/* n <= BUF_SIZE_MAX, so n + 1 cannot wrap. */
	if ((d = mem_malloc(n + 1)) == NULL)
		return TSS_E_NOMEM;
	if (n != 0)
		memcpy(d, s, n);
	d[n] = '\0';
	*out = d;
	return 0;
}

int
buf_get_string(struct buf *b, uint8_t **p, size_t *len)
{
	const uint8_t *s;
	uint8_t *d = NULL;
	size_t n, total;
	int r;

	if (p != NULL)
		*p = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = peek_string(b, &s, &n, &total)) != 0)
		return r;
	if (p != NULL && (r = dup_bytes(s, n, &d)) != 0)
		return r;
	b->off += total;
	if (p != NULL)
		*p = d;
	if (len != NULL)
		*len = n;
	return 0;
}

int
buf_get_cstring(struct buf *b, char **s, size_t *len)
{
	const uint8_t *p;
	uint8_t *d = NULL;
	size_t n, total;
	int r;

	if (s != NULL)
		*s = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = peek_string(b, &p, &n, &total)) != 0)
		return r;
	if (n != 0 && memchr(p, '\0', n) != NULL)
		return TSS_E_EMBEDDED_NUL;
	if (s != NULL && (r = dup_bytes(p, n, &d)) != 0)
		return r;
	b->off += total;
	if (s != NULL)
		*s = (char *)d;
	if (len != NULL)
		*len = n;
	return 0;
}

/*
 * RFC 4251 mpint, positive or zero: zero is the empty string; a leading
 * 0x00 is present exactly when the next byte has its top bit set.  Anything
 * else (negative, or a redundant leading zero) is refused as BAD_FORMAT.
 */
int
buf_get_bignum2_direct(struct buf *b, const uint8_t **p, size_t *len)
{
	const uint8_t *s;
	size_t n, total;
	int r;

	if (p != NULL)
		*p = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = peek_string(b, &s, &n, &total)) != 0)
		return r;
	if (n > 0 && (s[0] & 0x80) != 0)
		return TSS_E_BAD_FORMAT;		/* negative */
	if (n > 0 && s[0] == 0x00) {
		if (n == 1 || (s[1] & 0x80) == 0)
			return TSS_E_BAD_FORMAT;	/* not minimal */
		s++;
		n--;
	}
	b->off += total;
	if (p != NULL)
		*p = s;
	if (len != NULL)
		*len = n;
	return 0;
}

int
buf_get_stringb(struct buf *b, struct buf **sub)
{
	const uint8_t *s;
	struct buf *v;
	size_t n, total;
	int r;

	if (sub != NULL)
		*sub = NULL;
	if (sub == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = peek_string(b, &s, &n, &total)) != 0)
		return r;
	if ((v = buf_from(s, n)) == NULL)
		return TSS_E_NOMEM;
	b->off += total;
	*sub = v;
	return 0;
}

/*
 * Name-list contents: "" (no names) or names of 0x21..0x7e other than
 * comma, separated by single commas.
 */
static int
namelist_valid(const uint8_t *s, size_t n)
{
	size_t i, start = 0;

	if (n == 0)
		return 1;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (i == start)
				return 0;	/* empty name */
			start = i + 1;
			continue;
		}
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	}
	return 1;
}

int
buf_get_namelist(struct buf *b, char **s)
{
	const uint8_t *p;
	uint8_t *d = NULL;
	size_t n, total;
	int r;

	if (s != NULL)
		*s = NULL;
	if ((r = peek_string(b, &p, &n, &total)) != 0)
		return r;
	if (n != 0 && memchr(p, '\0', n) != NULL)
		return TSS_E_EMBEDDED_NUL;
	if (!namelist_valid(p, n))
		return TSS_E_BAD_FORMAT;
	if (s != NULL && (r = dup_bytes(p, n, &d)) != 0)
		return r;
	b->off += total;
	if (s != NULL)
		*s = (char *)d;
	return 0;
}

/* ---- writers ---- */

/*
 * Make room for n more bytes at the end (within the cap) and return where
 * they go.  May move the data, so pointers into b are stale afterwards.
 */
static int
grow(struct buf *b, size_t n, uint8_t **dst)
{
	size_t len, need, nalloc;
	uint8_t *nd;

	*dst = NULL;
	if (b == NULL || b->readonly)
		return TSS_E_INVALID_ARGUMENT;
	len = b->size - b->off;
	if (n > b->max - len)
		return TSS_E_TOO_LONG;
	need = len + n;		/* <= BUF_SIZE_MAX */
	if (n <= b->alloc - b->size) {
		*dst = b->d == NULL ? NULL : b->d + b->size;
		return 0;
	}
	if (need <= b->alloc) {
		/* Reclaim consumed space. */
		memmove(b->d, b->d + b->off, len);
		if (b->secret)
			explicit_bzero(b->d + len, b->alloc - len);
		b->off = 0;
		b->size = len;
		*dst = b->d + b->size;
		return 0;
	}
	nalloc = b->alloc < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->alloc;
	while (nalloc < need && nalloc <= BUF_SIZE_MAX / 2)
		nalloc *= 2;
	if (nalloc < need)
		nalloc = need;
	if (!b->secret) {
		if (b->off != 0 && len != 0)
			memmove(b->d, b->d + b->off, len);
		if ((nd = mem_realloc(b->d, nalloc)) == NULL) {
			/* Data already compacted; the buffer is still valid. */
			b->off = 0;
			b->size = len;
			return TSS_E_NOMEM;
		}
	} else {
		/* realloc could leave a copy behind: move by hand. */
		if ((nd = mem_malloc(nalloc)) == NULL)
			return TSS_E_NOMEM;
		if (len != 0)
			memcpy(nd, b->d + b->off, len);
		if (b->d != NULL) {
			explicit_bzero(b->d, b->alloc);
			free(b->d);
		}
	}
	b->d = nd;
	b->alloc = nalloc;
	b->off = 0;
	b->size = len;
	*dst = b->d + b->size;
	return 0;
}

int
buf_reserve(struct buf *b, size_t n, uint8_t **dst)
{
	uint8_t *p;
	int r;

	if (dst != NULL)
		*dst = NULL;
	if ((r = grow(b, n, &p)) != 0)
		return r;
	if (n != 0)
		memset(p, 0, n);
	b->size += n;
	if (dst != NULL)
		*dst = p;
	return 0;
}

/* Does p point into b's own storage (consumed, unread or spare)? */
static int
aliases(const struct buf *b, const void *p)
{
	const uint8_t *q = p;

	return b->d != NULL && q != NULL && q >= b->d && q < b->d + b->alloc;
}

/*
 * Copy src aside when it lies in b's storage, which growing or compacting
 * may move or overwrite (buf_put_stringb(b, b), or a pointer returned by a
 * direct getter on b).  *tmp is set only when a copy was made.
 */
static int
unalias(const struct buf *b, const void **src, size_t n, uint8_t **tmp)
{
	*tmp = NULL;
	if (n == 0 || !aliases(b, *src))
		return 0;
	if ((*tmp = mem_malloc(n)) == NULL)
		return TSS_E_NOMEM;
	memcpy(*tmp, *src, n);
	*src = *tmp;
	return 0;
}

static void
unalias_done(const struct buf *b, uint8_t *tmp, size_t n)
{
	if (tmp == NULL)
		return;
	if (b->secret)
		explicit_bzero(tmp, n);
	free(tmp);
}

static void
store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
void
buf_poke_u64(uint8_t p[8], uint64_t v)
{
	store_u32(p, (uint32_t)(v >> 32));
	store_u32(p + 4, (uint32_t)v);
}


/* Append a length field (if hdr), pad zero bytes and n bytes from src. */
static int
append(struct buf *b, int hdr, size_t pad, const void *src, size_t n)
{
	uint8_t *p, *tmp = NULL;
	size_t total;
	int r = TSS_E_INTERNAL;

	if (b == NULL || (src == NULL && n != 0))
		return TSS_E_INVALID_ARGUMENT;
	if (b->readonly)
		return TSS_E_INVALID_ARGUMENT;
	/* hdr + pad <= 5, so neither the limit nor the total can wrap. */
	if (n > BUF_SIZE_MAX - (hdr ? 4 : 0) - pad)
		return TSS_E_TOO_LONG;
	total = n + pad + (hdr ? 4 : 0);
	if ((r = unalias(b, &src, n, &tmp)) != 0)
		return r;
	if ((r = grow(b, total, &p)) != 0)
		goto out;
	if (hdr) {
		store_u32(p, (uint32_t)(n + pad));
		p += 4;
	}
	if (pad != 0) {
		memset(p, 0, pad);
		p += pad;
	}
	if (n != 0)
		memcpy(p, src, n);
	b->size += total;
	r = 0;
 out:
	unalias_done(b, tmp, n);
	return r;
}

int
buf_put(struct buf *b, const void *src, size_t n)
{
	return append(b, 0, 0, src, n);
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return append(b, 0, 0, &v, 1);
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4];

	store_u32(p, v);
	return append(b, 0, 0, p, sizeof(p));
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t p[8];

	buf_poke_u64(p, v);
	return append(b, 0, 0, p, sizeof(p));
}

int
buf_put_string(struct buf *b, const void *p, size_t len)
{
	return append(b, 1, 0, p, len);
}

int
buf_put_cstring(struct buf *b, const char *s)
{
	return append(b, 1, 0, s == NULL ? "" : s, s == NULL ? 0 : strlen(s));
}

int
buf_put_stringb(struct buf *b, const struct buf *v)
{
	if (v == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return append(b, 1, 0, buf_ptr(v), buf_len(v));
}

int
buf_put_bignum2_bytes(struct buf *b, const void *p, size_t len)
{
	const uint8_t *s = p;

	if (b == NULL || (p == NULL && len != 0))
		return TSS_E_INVALID_ARGUMENT;
	while (len > 0 && *s == 0x00) {
		s++;
		len--;
	}
	return append(b, 1, (len > 0 && (s[0] & 0x80) != 0) ? 1 : 0, s, len);
}

int
buf_put_namelist(struct buf *b, const char *const *names, size_t n)
{
	size_t i, l, total = 0;
	uint8_t *d;
	int r;

	if (b == NULL || (names == NULL && n != 0))
		return TSS_E_INVALID_ARGUMENT;
	for (i = 0; i < n; i++) {
		if (names[i] == NULL)
			return TSS_E_INVALID_ARGUMENT;
		l = strnlen(names[i], BUF_SIZE_MAX);
		if (l >= BUF_SIZE_MAX)
			return TSS_E_TOO_LONG;
		if (l == 0 || !namelist_valid((const uint8_t *)names[i], l) ||
		    memchr(names[i], ',', l) != NULL)
			return TSS_E_INVALID_ARGUMENT;
		if (l + (i > 0) > BUF_SIZE_MAX - 4 - total)
			return TSS_E_TOO_LONG;
		total += l + (i > 0);
	}
	if ((r = grow(b, 4 + total, &d)) != 0)
		return r;
	store_u32(d, (uint32_t)total);
	d += 4;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*d++ = ',';
		l = strlen(names[i]);
		memcpy(d, names[i], l);
		d += l;
	}
	b->size += 4 + total;
	return 0;
}
