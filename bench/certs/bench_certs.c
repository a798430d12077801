/*
 * Certificate listing benchmark: GET /v1/certs's walk (certs_list) over a
 * ledger of 200,000 certificates, one every 86 s for 200 days (1% alice's,
 * every tenth revoked, the newest 1000 valid), each query timed 20 times.
 * CERTS_BENCH_N changes the size.  Prints p50 and max per query.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/certs.h"
#include "store/store.h"
#include "tmpdir.h"

#define RUNS	20

static double
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
timed(struct store *st, const char *what, const struct certs_filter *f)
{
	struct store_txn *t;
	double d[RUNS], a;
	uint64_t next;
	json_t *l;
	size_t n = 0;
	int i;

	for (i = 0; i < RUNS; i++) {
		cr_assert_eq(store_begin(st, 0, &t), 0);
		a = ms();
		cr_assert_eq(certs_list(t, f, 1000, &l, &next), 0);
		d[i] = ms() - a;
		n = json_array_size(l);
		json_decref(l);
		store_abort(t);
	}
	qsort(d, RUNS, sizeof(d[0]), cmp);
	printf("| %s | %zu | %s | %.2f | %.2f |\n", what, n,
	    next != 0 ? "set" : "null", d[RUNS / 2], d[RUNS - 1]);
}

Test(bench, certs_list_over_200000_certificates, .timeout = 600)
{
	static char *principals[] = { "app@prod/api" };
	const char *e = getenv("CERTS_BENCH_N");
	uint64_t n = e != NULL ? strtoull(e, NULL, 10) : 200000, i;
	uint64_t base = (uint64_t)1790000000 << 20;
	struct cert_record c = { .fingerprint = "SHA256:abc",
	    .target = "prod/api", .principals = principals,
	    .n_principals = 1, .valid_after = 700, .issued_at = 1000,
	    .certificate = "ssh-ed25519-cert-v01@openssh.com AAAA" };
	struct store_txn *t;
	struct store *st;
	char dir[256];
	double a;

	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	cr_assert_eq(store_open(dir, NULL, &st), 0);
	a = ms();
	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (i = 0; i < n; i++) {
		c.serial = base + ((i * 86) << 20) + i;
		c.username = i % 100 == 0 ? "alice" : "bob";
		c.valid_before = i + 1000 < n ? 900 : 5000;
		cr_assert_eq(certs_put(t, &c), 0);
		if (i % 10 == 0 && i + 1000 < n)
			cr_assert_eq(certs_revoke(t, c.serial, 800), 0);
	}
	cr_assert_eq(store_commit(t), 0);
	printf("%llu certificates written in %.1f s\n\n"
	    "| query | listed | next | p50 ms | max ms |\n|---|---|---|---|---|\n",
	    (unsigned long long)n, (ms() - a) / 1e3);
	timed(st, "every user's, first 50", &(struct certs_filter){
	    .limit = 50 });
	timed(st, "every user's, 50 before the middle", &(struct certs_filter){
	    .limit = 50, .before = base + (((n / 2) * 86) << 20) });
	timed(st, "every user's, first 1000", &(struct certs_filter){ 0 });
	timed(st, "user alice (1 in 100, by index), first 50",
	    &(struct certs_filter){ .limit = 50, .username = "alice" });
	timed(st, "state valid (the newest 1000), first 50",
	    &(struct certs_filter){ .limit = 50, .state = "valid" });
	timed(st, "state revoked (1 in 10), first 50",
	    &(struct certs_filter){ .limit = 50, .state = "revoked" });
	timed(st, "state expired, first 1000",
	    &(struct certs_filter){ .state = "expired" });
	timed(st, "a target none has: the scan budget",
	    &(struct certs_filter){ .limit = 50, .target = "x/y" });
	store_close(st);
	tmpdir_remove(dir);
}
