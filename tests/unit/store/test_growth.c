/* Map growth: a full map grows within map_max; at the bound the caller
 * gets TSS_E_STORE_FULL and the store stays usable and unchanged; a map
 * grown by another process is adopted. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"

TestSuite(store_growth, .init = th_setup, .fini = th_teardown);

#define SMALL_MAP	((size_t)256 << 10)
#define PER_TXN		32
#define VAL_LEN		1024

struct fill {
	uint64_t next;		/* next key */
};

/* PER_TXN records of VAL_LEN bytes, keys next, next + 1, ... */
static int
fill_fn(struct store_txn *t, void *arg)
{
	struct fill *f = arg;
	uint8_t k[8], v[VAL_LEN];
	uint64_t i;
	int r;

	for (i = 0; i < PER_TXN; i++) {
		th_be64(k, f->next + i);
		memset(v, (int)((f->next + i) & 0xff), sizeof(v));
		if ((r = store_put(t, STORE_DB_AUDIT, k, sizeof(k), v,
		    sizeof(v), 0)) != 0)
			return r;
	}
	return 0;
}

Test(store_growth, full_map_grows_within_the_bound)
{
	struct store_opts o = { .map_size = SMALL_MAP,
	    .map_max = (size_t)16 << 20 };
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct fill f = { .next = 1 };
	uint64_t used, size;
	const void *v;
	size_t vl;
	uint8_t k[8];
	int i;

	cr_assert_eq(store_open(th_dir, &o, &s), 0);
	for (i = 0; i < 64; i++) {		/* 2 MiB of values */
		cr_assert_eq(store_write(s, fill_fn, &f), 0, "txn %d", i);
		f.next += PER_TXN;
	}
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), 64 * PER_TXN);
	cr_assert_eq(store_usage(s, &used, &size), 0);
	cr_assert(size > SMALL_MAP && size <= o.map_max, "map %lu",
	    (unsigned long)size);
	cr_assert(used <= size);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	th_be64(k, 64 * PER_TXN);
	cr_assert_eq(store_get(t, STORE_DB_AUDIT, k, 8, &v, &vl), 0);
	cr_assert_eq(vl, VAL_LEN);
	cr_assert_eq(((const uint8_t *)v)[0], (64 * PER_TXN) & 0xff);
	store_abort(t);
	store_close(s);
	/* The grown size is kept in the file: a reopen with the small
	 * initial size still sees everything. */
	cr_assert_eq(store_open(th_dir, &o, &s), 0);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), 64 * PER_TXN);
	store_close(s);
}

Test(store_growth, full_at_the_bound_is_store_full_and_changes_nothing)
{
	struct store_opts o = { .map_size = SMALL_MAP, .map_max = SMALL_MAP };
	struct store *s = NULL;
	struct fill f = { .next = 1 };
	uint64_t n0, id0, id1, used, size;
	int i, r = 0;

	cr_assert_eq(store_open(th_dir, &o, &s), 0);
	for (i = 0; i < 100; i++) {
		n0 = th_count(s, STORE_DB_AUDIT);
		cr_assert_eq(store_last_txnid(s, &id0), 0);
		if ((r = store_write(s, fill_fn, &f)) != 0)
			break;
		f.next += PER_TXN;
	}
	cr_assert_eq(r, TSS_E_STORE_FULL);
	cr_assert(i > 0);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), n0);
	cr_assert_eq(store_last_txnid(s, &id1), 0);
	cr_assert_eq(id1, id0);
	cr_assert_eq(store_usage(s, &used, &size), 0);
	cr_assert_eq(size, SMALL_MAP);
	/* Still usable: a small write fits, reads work, and a second big
	 * one is refused the same way. */
	th_put1(s, STORE_DB_USERS, "small", "fits");
	cr_assert_eq(th_count(s, STORE_DB_USERS), 1);
	cr_assert_eq(store_write(s, fill_fn, &f), TSS_E_STORE_FULL);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), n0);
	store_close(s);
}

Test(store_growth, put_and_commit_report_a_full_map)
{
	struct store_opts o = { .map_size = SMALL_MAP, .map_max = SMALL_MAP };
	struct store *s = NULL;
	struct store_txn *t = NULL;
	uint8_t k[8], v[VAL_LEN] = { 0 };
	uint64_t i;
	int r = 0;

	cr_assert_eq(store_open(th_dir, &o, &s), 0);
	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 1; i < 10000; i++) {
		th_be64(k, i);
		if ((r = store_put(t, STORE_DB_CERTS, k, 8, v, sizeof(v),
		    0)) != 0)
			break;
	}
	cr_assert_eq(r, TSS_E_STORE_FULL);
	cr_assert_eq(store_commit(t), TSS_E_STORE_FULL);
	cr_assert_eq(th_count(s, STORE_DB_CERTS), 0);
	store_close(s);
}

Test(store_growth, map_grown_by_another_process_is_adopted)
{
	struct store_opts small = { .map_size = SMALL_MAP,
	    .map_max = SMALL_MAP };
	struct store_opts big = { .map_size = (size_t)4 << 20 };
	struct store *s = NULL, *c = NULL;
	struct fill f = { .next = 1 };
	uint64_t used, size;
	pid_t pid;
	int st, i;

	cr_assert_eq(store_open(th_dir, &small, &s), 0);
	th_put1(s, STORE_DB_USERS, "before", "x");
	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		/* Never touch the parent's environment here. */
		if (store_open(th_dir, &big, &c) != 0)
			_exit(2);
		for (i = 0; i < 32; i++, f.next += PER_TXN)
			if (store_write(c, fill_fn, &f) != 0)
				_exit(3);
		store_close(c);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d", st);
	/* Our map is too small for the file now: begin adopts its size. */
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), 32 * PER_TXN);
	cr_assert_eq(store_usage(s, &used, &size), 0);
	cr_assert(size >= ((size_t)4 << 20), "map %lu", (unsigned long)size);
	th_put1(s, STORE_DB_USERS, "after", "y");
	cr_assert_eq(th_count(s, STORE_DB_USERS), 2);
	store_close(s);
}

Test(store_growth, live_reader_postpones_growth_without_deadlock)
{
	struct store_opts o = { .map_size = SMALL_MAP,
	    .map_max = (size_t)16 << 20 };
	struct store *s = NULL;
	struct store_txn *r = NULL;
	struct fill f = { .next = 1 };
	uint64_t n0 = 0, used, size;
	const void *v;
	size_t vl;
	int i, rc = 0;

	cr_assert_eq(store_open(th_dir, &o, &s), 0);
	th_put1(s, STORE_DB_USERS, "pinned", "snapshot");
	/* This thread's own reader blocks the remap: the grower gives up
	 * after its bounded wait and the write reports a full map. */
	cr_assert_eq(store_begin(s, 0, &r), 0);
	for (i = 0; i < 100; i++) {
		n0 = th_count(s, STORE_DB_AUDIT);
		if ((rc = store_write(s, fill_fn, &f)) != 0)
			break;
		f.next += PER_TXN;
	}
	cr_assert_eq(rc, TSS_E_STORE_FULL);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), n0);
	cr_assert_eq(store_usage(s, &used, &size), 0);
	cr_assert_eq(size, SMALL_MAP);
	cr_assert_eq(store_get(r, STORE_DB_USERS, "pinned", 6, &v, &vl), 0);
	cr_assert_eq(memcmp(v, "snapshot", 8), 0);
	store_abort(r);
	/* Reader gone: the next write grows the map and succeeds. */
	cr_assert_eq(store_write(s, fill_fn, &f), 0);
	cr_assert_eq(store_usage(s, &used, &size), 0);
	cr_assert(size > SMALL_MAP);
	store_close(s);
}

/*
 * Resident shared pages of this process, in KiB: RssFile, plus RssShmem
 * for a temp dir on tmpfs.
 */
static long
rss_file_kib(void)
{
	char line[256];
	long file = -1, shmem = -1;
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "RssFile:", 8) == 0)
			file = strtol(line + 8, NULL, 10);
		else if (strncmp(line, "RssShmem:", 9) == 0)
			shmem = strtol(line + 9, NULL, 10);
	}
	fclose(f);
	cr_assert(file >= 0 && shmem >= 0, "no RssFile/RssShmem lines");
	return file + shmem;
}

#define TRIM_TXNS	16

#define MANY		32		/* fill_fn batches per transaction */

/* MANY * PER_TXN records from f->next; the caller advances f->next. */
static int
fill_many_fn(struct store_txn *t, void *arg)
{
	struct fill g = *(struct fill *)arg;
	int i, r;

	for (i = 0; i < MANY; i++, g.next += PER_TXN)
		if ((r = fill_fn(t, &g)) != 0)
			return r;
	return 0;
}

/* Read every value and check its bytes: this maps every page. */
static void
read_all(struct store *s, uint64_t n)
{
	struct store_txn *t = NULL;
	const uint8_t *v;
	size_t vl;
	uint8_t k[8];
	uint64_t i;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	for (i = 1; i <= n; i++) {
		th_be64(k, i);
		cr_assert_eq(store_get(t, STORE_DB_AUDIT, k, 8,
		    (const void **)&v, &vl), 0, "key %lu", (unsigned long)i);
		cr_assert_eq(vl, VAL_LEN);
		cr_assert(v[0] == (i & 0xff) && v[VAL_LEN - 1] == (i & 0xff),
		    "key %lu reads back wrong", (unsigned long)i);
	}
	store_abort(t);
}

Test(store_growth, trim_map_drops_resident_pages_and_data_reads_back)
{
	struct store *s = th_open(NULL);
	struct fill f = { .next = 1 };
	long before, mapped, trimmed;
	uint64_t n;
	int i;

	for (i = 0; i < TRIM_TXNS; i++) {	/* 16 MiB of values */
		cr_assert_eq(store_write(s, fill_many_fn, &f), 0);
		f.next += MANY * PER_TXN;
	}
	n = f.next - 1;
	before = rss_file_kib();
	read_all(s, n);
	mapped = rss_file_kib();
	cr_assert(mapped - before >= 12 * 1024,
	    "reading 16 MiB mapped only %ld KiB", mapped - before);
	cr_assert_eq(store_trim_map(s), 0);
	trimmed = rss_file_kib();
	cr_assert(mapped - trimmed >= 12 * 1024,
	    "trim released only %ld KiB", mapped - trimmed);
	read_all(s, n);				/* same bytes from the cache */
	cr_assert_eq(store_trim_map(s), 0);	/* idempotent */
	th_put1(s, STORE_DB_META, "after.trim", "writes still work");
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), n);
	cr_assert_eq(store_trim_map(NULL), TSS_E_INVALID_ARGUMENT);
	store_close(s);
}
