/* See mem.h. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/mem.h"

/*
 * The test hooks' state in one word, so that the unset case costs one
 * relaxed load: -1 no limit; n >= 0 (mem_fail_after) n allocations still
 * allowed, then every one refused; n <= -2 (mem_fail_nth) -2 - n
 * allocations still allowed, then one refused and the limit gone.
 * refused counts the refusals.
 */
#define UNSET		-1L
static atomic_long budget = UNSET;
static atomic_long refused;

static int
refuse(void)
{
	atomic_fetch_add(&refused, 1);
	errno = ENOMEM;
	return 0;
}

/* 1 if this allocation may go ahead. */
static int
granted(void)
{
	long b = atomic_load_explicit(&budget, memory_order_relaxed), next;

	while (b != UNSET) {
		if (b == 0)
			return refuse();
		/* Down towards 0, or up to -2: the one refusal, then none. */
		next = b > 0 ? b - 1 : b == -2 ? UNSET : b + 1;
		if (atomic_compare_exchange_weak(&budget, &b, next))
			return b == -2 ? refuse() : 1;
	}
	return 1;
}

void *
mem_malloc(size_t n)
{
	return granted() ? malloc(n) : NULL;
}

/* 1 if n * size overflows (ENOMEM set): refused before libc, whose
 * sanitizer interceptors would abort rather than return NULL. */
static int
overflows(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *
mem_calloc(size_t n, size_t size)
{
	return !overflows(n, size) && granted() ? calloc(n, size) : NULL;
}

void *
mem_realloc(void *p, size_t n)
{
	return granted() ? realloc(p, n) : NULL;
}

void *
mem_reallocarray(void *p, size_t n, size_t size)
{
	return !overflows(n, size) && granted() ?
	    reallocarray(p, n, size) : NULL;
}

char *
mem_strdup(const char *s)
{
	return granted() ? strdup(s) : NULL;
}

char **
mem_strvdup(const char *const *v, size_t n)
{
	char **d;
	size_t i;

	if (n == 0 || (d = mem_calloc(n, sizeof(*d))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((d[i] = mem_strdup(v[i])) == NULL) {
			while (i > 0)
				free(d[--i]);
			free(d);
			return NULL;
		}
	return d;
}

char *
mem_strndup(const char *s, size_t n)
{
	return granted() ? strndup(s, n) : NULL;
}

int
mem_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	*out = NULL;
	if (!granted())
		return -1;
	va_start(ap, fmt);
	r = vasprintf(out, fmt, ap);
	va_end(ap);
	if (r < 0)
		*out = NULL;
	return r;
}

void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static pthread_once_t json_once = PTHREAD_ONCE_INIT;

/*
 * jansson's allocations on this thread, inside one of the mem_json_*
 * calls: once one has failed, every later one fails too until the call
 * returns.  Given memory again after a byte it could not save, jansson's
 * lexer reads and writes past the end of its token (load.c's
 * lex_scan_string, when the closing quote was the byte lost); failing
 * from then on leaves it its own error paths.
 */
static _Thread_local int json_inside, json_failed;

static void *
json_alloc(size_t n)
{
	void *p;

	if (json_inside && json_failed) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = mem_malloc(n)) == NULL && json_inside)
		json_failed = 1;
	return p;
}

static void
json_begin(void)
{
	json_inside = 1;
	json_failed = 0;
}

/* 1 (errno ENOMEM) if an allocation failed since json_begin(). */
static int
json_end(void)
{
	int failed = json_failed;

	json_inside = json_failed = 0;
	if (failed)
		errno = ENOMEM;
	return failed;
}

static void
json_setup(void)
{
	json_set_alloc_funcs(json_alloc, wipe_free);
}

void
mem_json_setup(void)
{
	pthread_once(&json_once, json_setup);
}

json_t *
mem_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t *j;

	json_begin();
	j = json_loadb(buf, len, flags, err);
	if (json_end()) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *
mem_json_loadf(FILE *f, size_t flags, json_error_t *err)
{
	json_t *j;

	json_begin();
	j = json_loadf(f, flags, err);
	if (json_end()) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

char *
mem_json_dumps(const json_t *j, size_t flags)
{
	char *s;

	json_begin();
	s = json_dumps(j, flags);
	if (json_end()) {
		wipe_free(s);
		s = NULL;
	}
	return s;
}

int
mem_json_dumpf(const json_t *j, FILE *f, size_t flags)
{
	char *s;
	int r;

	if ((s = mem_json_dumps(j, flags)) == NULL)
		return -1;
	r = fputs(s, f) == EOF ? -1 : 0;
	wipe_free(s);
	return r;
}

void
mem_fail_after(long n)
{
	atomic_store(&refused, 0);
	atomic_store(&budget, n < 0 ? UNSET : n);
}

void
mem_fail_nth(long n)
{
	atomic_store(&refused, 0);
	/* -2 - n fits for every n < LONG_MAX; a later n is never reached. */
	atomic_store(&budget, n < 0 || n == LONG_MAX ? UNSET : -2 - n);
}

long
mem_refused(void)
{
	return atomic_load(&refused);
}
