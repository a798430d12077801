/*
 * Store write throughput: write transactions of 64 "jobs", each
 * store_counter_next + store_get + 3 store_put (an issuance's shape:
 * serial, certificate, index, audit event), for a few seconds.
 * Prints write transactions and jobs per second.
 *
 *   bench_store            LMDB in a temp dir
 *   bench_store --pg       PostgreSQL at $TESSERA_TEST_PG
 *                          (tests/lib/pgcluster.py run -- bench_store --pg)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "store/store.h"
#include "tmpdir.h"

#define JOBS		64
#define SECONDS		3.0

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
be64(uint8_t b[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static int
batch(struct store_txn *t, void *arg)
{
	static const char rec[200] = "certificate record";
	const void *v;
	size_t vl;
	uint8_t k[8];
	uint64_t serial;
	int i, r;

	(void)arg;
	for (i = 0; i < JOBS; i++) {
		if ((r = store_counter_next(t, STORE_CTR_SERIAL, &serial)) != 0)
			return r;
		r = store_get(t, STORE_DB_USERS, "alice", 5, &v, &vl);
		if (r != 0 && r != TSS_E_NOT_FOUND)
			return r;
		be64(k, serial);
		if ((r = store_put(t, STORE_DB_CERTS, k, 8, rec, sizeof(rec),
		    STORE_APPEND)) != 0 ||
		    (r = store_put(t, STORE_DB_CERTS_BY_USER, k, 8, "", 0,
		    0)) != 0 ||
		    (r = store_put(t, STORE_DB_AUDIT, k, 8, rec, sizeof(rec),
		    STORE_APPEND)) != 0)
			return r;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[4096];
	const char *loc = NULL;
	struct store *s = NULL;
	double t0, el;
	unsigned long n = 0;
	int pg = argc > 1 && strcmp(argv[1], "--pg") == 0, r;

	if (pg && (loc = getenv("TESSERA_TEST_PG")) == NULL) {
		fprintf(stderr, "bench_store: no TESSERA_TEST_PG\n");
		return 2;
	}
	if (!pg) {
		if (tmpdir_make(dir, sizeof(dir)) != 0)
			return 2;
		loc = dir;
	}
	if ((r = store_open(loc, NULL, &s)) != 0) {
		fprintf(stderr, "bench_store: open: %s\n", tss_strerror(r));
		return 1;
	}
	t0 = now();
	while ((el = now() - t0) < SECONDS) {
		if ((r = store_write(s, batch, NULL)) != 0) {
			fprintf(stderr, "bench_store: %s\n", tss_strerror(r));
			break;
		}
		n++;
	}
	printf("%s: %.0f write txns/s of %d jobs (%.0f jobs/s)\n",
	    pg ? "postgresql" : "lmdb", (double)n / el, JOBS,
	    (double)n * JOBS / el);
	store_close(s);
	if (!pg)
		tmpdir_remove(dir);
	return r == 0 ? 0 : 1;
}
