/* JSON text as jansson's compact dump writes it; see jsonw.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/mem.h"

#define STACK_KEYS	16	/* members gathered without malloc */

/* Grow by copying, so no copy of what may be a secret is left behind. */
static int
grow(struct jsonw *w, size_t n)
{
	size_t cap = w->cap != 0 ? w->cap : 512;
	char *p;

	if (n > BUF_SIZE_MAX - w->len)
		return TSS_E_TOO_LONG;
	while (cap < w->len + n)
		cap *= 2;
	if ((p = mem_malloc(cap)) == NULL)
		return TSS_E_NOMEM;
	if (w->p != NULL) {
		memcpy(p, w->p, w->len);
		explicit_bzero(w->p, w->cap);
		free(w->p);
	}
	w->p = p;
	w->cap = cap;
	return 0;
}

int
jsonw_raw(struct jsonw *w, const void *s, size_t n)
{
	int r;

	if (n > w->cap - w->len && (r = grow(w, n)) != 0)
		return r;
	if (n != 0)
		memcpy(w->p + w->len, s, n);
	w->len += n;
	return 0;
}

int
jsonw_char(struct jsonw *w, char c)
{
	int r;

	if (w->len == w->cap && (r = grow(w, 1)) != 0)
		return r;
	w->p[w->len++] = c;
	return 0;
}

void
jsonw_free(struct jsonw *w)
{
	if (w->p != NULL) {
		explicit_bzero(w->p, w->cap);
		free(w->p);
	}
	memset(w, 0, sizeof(*w));
}

/* Length of the valid UTF-8 sequence at p (len > 0, *p >= 0x80), or 0. */
static size_t
utf8_seq(const uint8_t *p, size_t len)
{
	uint32_t cp, min;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int
jsonw_str(struct jsonw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run = 0, n;
	char e[6];
	int r;

	if ((r = jsonw_char(w, '"')) != 0)
		return r;
	while (i < len) {
		if (p[i] >= 0x80) {
			if ((n = utf8_seq(p + i, len - i)) == 0)
				return TSS_E_INVALID_ARGUMENT;
			i += n;
			continue;
		}
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			i++;
			continue;
		}
		e[0] = '\\';
		n = 2;
		switch (p[i]) {
		case '"':  e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[p[i] >> 4];
			e[5] = hex[p[i] & 0xf];
			n = 6;
			break;
		}
		if ((r = jsonw_raw(w, p + run, i - run)) != 0 ||
		    (r = jsonw_raw(w, e, n)) != 0)
			return r;
		run = ++i;
	}
	if ((r = jsonw_raw(w, p + run, i - run)) != 0)
		return r;
	return jsonw_char(w, '"');
}

size_t
jsonw_fmt_int(char out[24], json_int_t v)
{
	unsigned long long u;
	char tmp[24];
	size_t n = 0, i = 0;

	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		out[i++] = '-';
	while (n > 0)
		out[i++] = tmp[--n];
	return i;
}

int
jsonw_int(struct jsonw *w, json_int_t v)
{
	char num[24];

	return jsonw_raw(w, num, jsonw_fmt_int(num, v));
}

int
jsonw_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

struct member {
	const char *key;
	size_t klen;
	const json_t *v;
};

static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return jsonw_key_cmp(x->key, x->klen, y->key, y->klen);
}

static int put_value(struct jsonw *w, const json_t *v, int sorted,
    int depth);

static int
put_object(struct jsonw *w, const json_t *o, int sorted, int depth)
{
	struct member stack[STACK_KEYS], *m = stack;
	size_t n = 0, i, size = json_object_size(o);
	void *it;
	int r = TSS_E_NOMEM;

	if (size > STACK_KEYS && (m = mem_calloc(size, sizeof(*m))) == NULL)
		goto out;
	for (it = json_object_iter(jsonw_iterable(o)); it != NULL && n < size;
	    it = json_object_iter_next(jsonw_iterable(o), it)) {
		m[n].key = json_object_iter_key(it);
		m[n].klen = json_object_iter_key_len(it);
		m[n].v = json_object_iter_value(it);
		n++;
	}
	r = TSS_E_INTERNAL;
	if (n != size)
		goto out;
	if (sorted)
		qsort(m, n, sizeof(*m), member_cmp);
	if ((r = jsonw_char(w, '{')) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((i > 0 && (r = jsonw_char(w, ',')) != 0) ||
		    (r = jsonw_str(w, m[i].key, m[i].klen)) != 0 ||
		    (r = jsonw_char(w, ':')) != 0 ||
		    (r = put_value(w, m[i].v, sorted, depth + 1)) != 0)
			goto out;
	}
	r = jsonw_char(w, '}');
 out:
	if (m != stack)
		free(m);
	return r;
}

/* What jansson writes itself: reals, and the deep end of a value. */
static int
put_jansson(struct jsonw *w, const json_t *v, int sorted)
{
	char *s;
	int r;

	/* NULL is a value jansson will not dump, or its allocator's
	 * refusal (errno ENOMEM, as mem_malloc and malloc set it). */
	errno = 0;
	if ((s = mem_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	    (sorted ? JSON_SORT_KEYS : 0))) == NULL)
		return errno == ENOMEM ? TSS_E_NOMEM : TSS_E_INVALID_ARGUMENT;
	r = jsonw_raw(w, s, strlen(s));
	free(s);
	return r;
}

static int
put_value(struct jsonw *w, const json_t *v, int sorted, int depth)
{
	size_t i;
	int r;

	if (depth > JSONW_DEPTH)
		return put_jansson(w, v, sorted);
	switch (json_typeof(v)) {
	case JSON_NULL:
		return jsonw_raw(w, "null", 4);
	case JSON_TRUE:
		return jsonw_raw(w, "true", 4);
	case JSON_FALSE:
		return jsonw_raw(w, "false", 5);
	case JSON_INTEGER:
		return jsonw_int(w, json_integer_value(v));
	case JSON_STRING:
		return jsonw_str(w, json_string_value(v),
		    json_string_length(v));
	case JSON_OBJECT:
		return put_object(w, v, sorted, depth);
	case JSON_ARRAY:
		if ((r = jsonw_char(w, '[')) != 0)
			return r;
		for (i = 0; i < json_array_size(v); i++)
			if ((i > 0 && (r = jsonw_char(w, ',')) != 0) ||
			    (r = put_value(w, json_array_get(v, i), sorted,
			    depth + 1)) != 0)
				return r;
		return jsonw_char(w, ']');
	default:
		return put_jansson(w, v, sorted);
	}
}

int
jsonw_value(struct jsonw *w, const json_t *v, int sorted)
{
	if (v == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return put_value(w, v, sorted, 0);
}
