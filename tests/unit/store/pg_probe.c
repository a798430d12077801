/*
 * A store driven over stdin, for tests/unit/store/test_pg_failover.py:
 * "w" allocates a serial in a write transaction, "h" asks store_health;
 * each answers one line: "ok" or the error's name (tss_errname) and, for
 * "w", the serial.  Usage: pg_probe LOCATION TIMEOUT_MS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/store.h"

static int
serial(struct store *s, uint64_t *v)
{
	struct store_txn *t = NULL;
	int r;

	*v = 0;
	if ((r = store_begin(s, 1, &t)) != 0)
		return r;
	if ((r = store_counter_next(t, STORE_CTR_SERIAL, v)) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

int
main(int argc, char **argv)
{
	struct store_opts o;
	struct store *s = NULL;
	char line[16];
	uint64_t v;
	int r;

	if (argc != 3)
		return 2;
	memset(&o, 0, sizeof(o));
	o.timeout_ms = (int)strtol(argv[2], NULL, 10);
	if ((r = store_open(argv[1], &o, &s)) != 0) {
		printf("open %s\n", tss_errname(r));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (line[0] == 'w') {
			r = serial(s, &v);
			printf("%s %llu\n", r == 0 ? "ok" : tss_errname(r),
			    (unsigned long long)v);
		} else if (line[0] == 'h') {
			r = store_health(s);
			printf("%s\n", r == 0 ? "ok" : tss_errname(r));
		}
		fflush(stdout);
	}
	store_close(s);
	return 0;
}
