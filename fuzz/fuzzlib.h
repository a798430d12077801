/*
 * What the record-decoder harnesses share: a hard check, private heap
 * copies (so ASan sees overreads), input-driven edits of a valid
 * encoding, and the checks every seed gets.
 */
#ifndef TSS_FUZZLIB_H
#define TSS_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct buf;

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define FUZZ_EDITS_MAX	8

/* Equal strings, or both NULL. */
int fuzz_streq(const char *a, const char *b);

/* The first n bytes of b, in a block of exactly n bytes. */
uint8_t *fuzz_copy(const struct buf *b, size_t n);

/*
 * A copy of b changed by up to FUZZ_EDITS_MAX triples of d (op, pos,
 * value): pos is (op & 0x3f) << 8 | pos; op & 0x80 inserts the byte
 * instead of overwriting one; op & 0x40 takes the value from a table of
 * bytes the formats care about.  A leftover byte cuts up to 15 bytes off
 * the end.  The copy has exactly *lenp bytes.
 */
uint8_t *fuzz_mutate(const struct buf *b, const uint8_t *d, size_t n,
    size_t *lenp);

/*
 * A valid encoding b: check() accepts it (returns 0), refuses every
 * truncation and a trailing byte (TSS_E_TRAILING_DATA), and survives
 * every single-byte flip, whatever it answers.
 */
void fuzz_seed_checks(const struct buf *b,
    int (*check)(void *arg, const uint8_t *p, size_t len), void *arg);

#endif
