/*
 * Durations as written in config and on the command line: a positive
 * integer and one unit, s m h or d ("90s", "15m", "8h", "1d").  A bare
 * integer means seconds.  Results are seconds, at most DURATION_MAX.
 */
#ifndef TSS_DURATION_H
#define TSS_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DURATION_MAX	(100LL * 365 * 86400)	/* 100 years */

/* TSS_E_DURATION for garbage, a sign, a missing number, trailing bytes;
 * TSS_E_OVERFLOW above DURATION_MAX.  *out untouched on failure. */
int duration_parse(const char *s, int64_t *out);
/* Shortest exact form ("90s", "15m", "1d"); buf of at least 24 bytes. */
void duration_format(int64_t secs, char *buf, size_t len);

#endif
