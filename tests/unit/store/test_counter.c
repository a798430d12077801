/* Counters in META: first value 1, persistent, raise, and distinct values
 * under writers from two processes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"

TestSuite(store_counter, .init = th_setup, .fini = th_teardown);

static uint64_t
next1(struct store *s, enum store_counter c)
{
	struct store_txn *t = NULL;
	uint64_t v = 0;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_counter_next(t, c, &v), 0);
	cr_assert_eq(store_commit(t), 0);
	return v;
}

static uint64_t
get1(struct store *s, enum store_counter c)
{
	struct store_txn *t = NULL;
	uint64_t v = 99;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, c, &v), 0);
	store_abort(t);
	return v;
}

Test(store_counter, starts_at_one_and_survives_reopen)
{
	struct store *s = th_open(NULL);

	cr_assert_eq(get1(s, STORE_CTR_SERIAL), 0);
	cr_assert_eq(next1(s, STORE_CTR_SERIAL), 1);
	cr_assert_eq(next1(s, STORE_CTR_SERIAL), 2);
	cr_assert_eq(next1(s, STORE_CTR_AUDIT_SEQ), 1);
	store_close(s);
	s = th_open(NULL);
	cr_assert_eq(get1(s, STORE_CTR_SERIAL), 2);
	cr_assert_eq(next1(s, STORE_CTR_SERIAL), 3);
	cr_assert_eq(get1(s, STORE_CTR_POLICY_GEN), 0);
	store_close(s);
}

Test(store_counter, stored_big_endian)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	next1(s, STORE_CTR_BINDING_ID);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_META, "ctr.binding_id", 14, &v,
	    &vl), 0);
	cr_assert_eq(vl, 8);
	cr_assert_eq(memcmp(v, "\0\0\0\0\0\0\0\1", 8), 0);
	store_abort(t);
	store_close(s);
}

Test(store_counter, aborted_allocation_is_not_kept)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	uint64_t v;

	next1(s, STORE_CTR_SERIAL);
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_counter_next(t, STORE_CTR_SERIAL, &v), 0);
	cr_assert_eq(v, 2);
	store_abort(t);
	cr_assert_eq(get1(s, STORE_CTR_SERIAL), 1);
	store_close(s);
}

Test(store_counter, read_txn_cannot_allocate)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	uint64_t v = 5;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_counter_next(t, STORE_CTR_SERIAL, &v),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(v, 0);
	cr_assert_eq(store_counter_raise(t, STORE_CTR_SERIAL, 10),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_counter_get(t, STORE_CTR__COUNT, &v),
	    TSS_E_INVALID_ARGUMENT);
	store_abort(t);
	cr_assert_eq(get1(s, STORE_CTR_SERIAL), 0);
	store_close(s);
}

Test(store_counter, raise_never_lowers)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_counter_raise(t, STORE_CTR_SERIAL, 1000), 0);
	cr_assert_eq(store_counter_raise(t, STORE_CTR_SERIAL, 10), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(get1(s, STORE_CTR_SERIAL), 1000);
	cr_assert_eq(next1(s, STORE_CTR_SERIAL), 1001);
	store_close(s);
}

Test(store_counter, overflow_is_refused)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	uint64_t v;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_counter_raise(t, STORE_CTR_SERIAL, UINT64_MAX), 0);
	cr_assert_eq(store_counter_next(t, STORE_CTR_SERIAL, &v),
	    TSS_E_OVERFLOW);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(get1(s, STORE_CTR_SERIAL), UINT64_MAX);
	store_close(s);
}

#define PER_CHILD	500

/* Child: allocate PER_CHILD serials, one write txn each, report them. */
static void
child_alloc(int wfd)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	uint64_t v;
	uint8_t b[8];
	int i;

	if (store_open(th_loc, NULL, &s) != 0)
		_exit(2);
	for (i = 0; i < PER_CHILD; i++) {
		if (store_begin(s, 1, &t) != 0 ||
		    store_counter_next(t, STORE_CTR_SERIAL, &v) != 0 ||
		    store_commit(t) != 0)
			_exit(3);
		th_be64(b, v);
		if (write(wfd, b, 8) != 8)
			_exit(4);
	}
	store_close(s);
	_exit(0);
}

/* Read exactly n bytes, polling with a bound (no sleeps). */
static void
read_all(int fd, uint8_t *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t got;
	size_t off = 0;

	while (off < n) {
		cr_assert_eq(poll(&pfd, 1, 60000), 1, "child stalled");
		got = read(fd, p + off, n - off);
		if (got < 0 && errno == EINTR)
			continue;
		cr_assert(got > 0, "child pipe closed early");
		off += (size_t)got;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(store_counter, two_processes_allocate_distinct_values)
{
	static uint8_t raw[2][PER_CHILD * 8];
	uint64_t all[2 * PER_CHILD];
	int p[2][2], i, j, st;
	pid_t pid[2];
	struct store *s;

	store_close(th_open(NULL));	/* create before the race */
	for (i = 0; i < 2; i++) {
		cr_assert_eq(pipe(p[i]), 0);
		cr_assert((pid[i] = fork()) >= 0);
		if (pid[i] == 0) {
			close(p[i][0]);
			child_alloc(p[i][1]);
		}
		close(p[i][1]);
	}
	/* 4000 bytes per child fit a pipe buffer: read one, then the other. */
	for (i = 0; i < 2; i++) {
		read_all(p[i][0], raw[i], sizeof(raw[i]));
		close(p[i][0]);
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "child %d status %d", i, st);
		for (j = 0; j < PER_CHILD; j++)
			all[i * PER_CHILD + j] = th_get_be64(raw[i] + 8 * j);
	}
	qsort(all, 2 * PER_CHILD, sizeof(all[0]), cmp_u64);
	for (j = 0; j < 2 * PER_CHILD; j++)
		cr_assert_eq(all[j], (uint64_t)j + 1);
	s = th_open(NULL);
	cr_assert_eq(get1(s, STORE_CTR_SERIAL), 2 * PER_CHILD);
	store_close(s);
}
