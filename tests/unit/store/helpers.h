/* Shared fixtures for the store suite: a temp dir per test, helpers to
 * fill and compare stores. */
#ifndef TSS_TEST_STORE_HELPERS_H
#define TSS_TEST_STORE_HELPERS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

extern char th_dir[PATH_MAX];		/* fresh per test */
/*
 * Where the test's store lives: th_dir, or with TESSERA_TEST_PG set (a
 * URI of a PostgreSQL server, tests/lib/pgcluster.py run) the URI of a
 * fresh database made for the test.
 */
extern char th_loc[PATH_MAX];

void th_setup(void);			/* makes th_dir (and th_loc) */
void th_teardown(void);			/* removes th_dir */
/* 1 when the tests run on PostgreSQL. */
int th_pg(void);
/* Skip an LMDB-only test on PostgreSQL, saying why. */
#define TH_LMDB_ONLY(why) do { \
	if (th_pg()) \
		cr_skip_test("LMDB only: %s", why); \
} while (0)
/* A fresh database on the server into uri (cr_assert on failure). */
void th_pg_newdb(char *uri, size_t len);
/* th_dir/name into out (cr_assert on overflow). */
void th_path(char *out, size_t len, const char *name);
/* Open th_loc (or dir) with default options, asserting success. */
struct store *th_open(const char *dir);
void th_be64(uint8_t b[8], uint64_t v);
uint64_t th_get_be64(const uint8_t b[8]);
/* Put one key/value in its own write transaction, asserting success. */
void th_put1(struct store *s, enum store_db db, const char *key,
    const char *val);
/* Entries of db, asserting success. */
uint64_t th_count(struct store *s, enum store_db db);
/* Assert both stores hold the same entries in every database. */
void th_assert_same(struct store *a, struct store *b);
/* Read a whole small file into buf; returns its length or -1. */
long th_read_file(const char *path, void *buf, size_t len);
/* Entries in a directory ("." and ".." excluded), -1 if missing. */
int th_dir_entries(const char *dir);

#endif
