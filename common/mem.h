/*
 * mem: the one way Tessera allocates (scripts/checksrc refuses raw
 * malloc, calloc, realloc, strdup... elsewhere), and freeing memory that
 * may have held a secret.
 *
 * mem_malloc() .. mem_asprintf() behave as their libc namesakes, NULL (or
 * -1) with errno ENOMEM on failure; mem_reallocarray() and mem_calloc()
 * refuse a product that overflows.  Memory they return is freed with
 * free() or, when it may hold a secret, wipe_free(), which zeroes the
 * whole allocation (malloc_usable_size, so bytes past a string's NUL too)
 * first; NULL is harmless.
 *
 * mem_json_setup() makes jansson allocate through mem_malloc() and free
 * through wipe_free() (JSON bodies carry passwords); process-wide, once.
 *
 * jansson (2.14 and its master) drops a byte it cannot buffer while
 * parsing (load.c's lex_save) and an object key it cannot write while
 * dumping (dump.c), and carries on: under memory pressure a parse or a
 * dump can come back whole-looking but altered, a digit or a key short,
 * and a parse that is given memory again after losing a closing quote
 * overruns its token.  mem_json_loadb(), mem_json_loadf() and
 * mem_json_dumps() are jansson's calls made safe: once one of jansson's
 * allocations fails during the call every later one on the thread fails
 * too, and the result is NULL with errno ENOMEM (once mem_json_setup()
 * has run; before, they are jansson's calls).  mem_json_dumpf() writes
 * mem_json_dumps()'s text, all of it or nothing (-1 on failure).  Use
 * them, never jansson's, on any text (scripts/checksrc).
 *
 * For tests (tests/unit/oom), process-wide: mem_fail_after(n) lets the
 * next n allocations succeed and refuses every one after; mem_fail_nth(n)
 * refuses only the nth from now (counting from 0) and lets every other
 * succeed.  Either call replaces the other's setting; a negative n lifts
 * both.  mem_refused() counts the refusals since the last of the two
 * calls.  Unset, the cost is one relaxed atomic load.
 */
#ifndef TSS_COMMON_MEM_H
#define TSS_COMMON_MEM_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

void *mem_malloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t n);
void *mem_reallocarray(void *p, size_t n, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
/* Copies of v's n strings in a new array (free each, then the array);
 * NULL when n is 0 or out of memory. */
char **mem_strvdup(const char *const *v, size_t n);
int mem_asprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void wipe_free(void *p);
void mem_json_setup(void);
json_t *mem_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *err);
json_t *mem_json_loadf(FILE *f, size_t flags, json_error_t *err);
char *mem_json_dumps(const json_t *j, size_t flags);
int mem_json_dumpf(const json_t *j, FILE *f, size_t flags);

void mem_fail_after(long n);
void mem_fail_nth(long n);
long mem_refused(void);

#endif
