/*
 * jsonw: JSON text exactly as jansson's json_dumps() writes it with
 * JSON_COMPACT (members in iteration order) or JSON_COMPACT |
 * JSON_SORT_KEYS (members in memcmp order of their keys, shorter first on
 * a tie), byte for byte, at a fraction of its cost.  The audit chain's
 * canonical text and every API response are written with it.
 *
 * Strings are escaped as jansson does without JSON_ENSURE_ASCII or
 * JSON_ESCAPE_SLASH: \" \\ \b \f \n \r \t, other bytes below 0x20 as
 * \u00XX; invalid UTF-8 is refused.  Reals, and values nested deeper than
 * JSONW_DEPTH, are written by jansson itself.  The buffer may hold
 * secrets: it is wiped whenever it moves and when freed.
 */
#ifndef TSS_JSONW_H
#define TSS_JSONW_H

#include <stddef.h>
#include <jansson.h>

#define JSONW_DEPTH	8

struct jsonw {
	char *p;		/* not NUL-terminated */
	size_t len, cap;
};

/* Each returns 0, TSS_E_NOMEM, TSS_E_TOO_LONG or (for text that is not
 * UTF-8 or a value jansson will not dump) TSS_E_INVALID_ARGUMENT. */
int jsonw_raw(struct jsonw *w, const void *s, size_t n);
int jsonw_char(struct jsonw *w, char c);
int jsonw_str(struct jsonw *w, const char *s, size_t n);	/* quoted */
int jsonw_int(struct jsonw *w, json_int_t v);
int jsonw_value(struct jsonw *w, const json_t *v, int sorted);
void jsonw_free(struct jsonw *w);		/* wipes; w reusable */

/*
 * jansson's object iterators (json_object_iter, json_object_iter_next, and
 * json_object_foreach, which is made of them) take a json_t * although
 * they only read the object.  A const object is walked through this, the
 * one place its const is dropped, by a union rather than a cast: jansson
 * never writes through that pointer, and the caller must not either.
 */
static inline json_t *
jsonw_iterable(const json_t *o)
{
	union { const json_t *c; json_t *m; } u = { .c = o };

	return u.m;
}

/* v in decimal as "%lld" writes it; returns the length (at most 20). */
size_t jsonw_fmt_int(char out[24], json_int_t v);
/* memcmp order, the shorter first on a tie: jansson's key order. */
int jsonw_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
