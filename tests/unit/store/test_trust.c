/*
 * The store trusts nothing it finds on disk (issue 14, section 3): a
 * missing, zero-length or never set up store is refused by
 * STORE_OPEN_EXISTING and nothing is written; a data file or backup cut
 * short is TSS_E_STORE_TRUNCATED, not SIGBUS; a damaged meta page is
 * TSS_E_CORRUPT, not "out of memory"; the identity init records, and the
 * one a store from before identities adopts.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "common/err.h"
#include "helpers.h"
#include "tmpdir.h"

TestSuite(store_trust, .init = th_setup, .fini = th_teardown);

/* Offsets in an LMDB meta page on a 64-bit host (store/lmdb_check.c says
 * why). */
#define OFF_MAGIC	16
#define OFF_VERSION	20
#define OFF_PSIZE	40
#define OFF_LAST_PG	136

static const struct store_identity keys = {
	.ca_fpr = { 0xca, 1, 2, 3 },
	.key_check = { 0x6b, 4, 5, 6 },
};

static int
open_as(enum store_mode mode, int read_only, struct store **s)
{
	struct store_opts o;

	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.read_only = read_only;
	if (mode == STORE_OPEN_CREATE)
		o.identity = &keys;
	return store_open(th_loc, &o, s);
}

/*
 * Refused with want (0: opens) read-write and read-only, nothing left
 * open.
 */
static void
assert_refused(int want)
{
	struct store *s = (struct store *)1;
	int r;

	r = open_as(STORE_OPEN_EXISTING, 0, &s);
	cr_assert_eq(r, want, "%s, want %s", tss_strerror(r),
	    tss_strerror(want));
	cr_assert_eq(s == NULL, want != 0);
	store_close(s);
	r = open_as(STORE_OPEN_EXISTING, 1, &s);
	cr_assert_eq(r, want, "read-only: %s, want %s", tss_strerror(r),
	    tss_strerror(want));
	cr_assert_eq(s == NULL, want != 0);
	store_close(s);
}

static void
data_path(char *p, size_t len)
{
	th_path(p, len, "data.mdb");
}

static off_t
file_size(const char *p)
{
	struct stat st;

	cr_assert_eq(stat(p, &st), 0, "%s", p);
	return st.st_size;
}

/* A store made by init holding ~300 KiB of records; returns the size of
 * its data.mdb. */
static off_t
make_store(void)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	char key[32], val[1024];
	char p[PATH_MAX];
	int i;

	cr_assert_eq(open_as(STORE_OPEN_CREATE, 0, &s), 0);
	memset(val, 'v', sizeof(val));
	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "user%04d", i);
		cr_assert_eq(store_put(t, STORE_DB_USERS, key, strlen(key), val,
		    sizeof(val), 0), 0);
	}
	cr_assert_eq(store_commit(t), 0);
	store_close(s);
	data_path(p, sizeof(p));
	return th_pg() ? 0 : file_size(p);	/* no data.mdb on PostgreSQL */
}

static void
cut(const char *p, off_t size)
{
	cr_assert_eq(truncate(p, size), 0);
}

/* Overwrite n bytes at off (host order, as LMDB writes them). */
static void
poke(const char *p, off_t off, const void *v, size_t n)
{
	int fd = open(p, O_WRONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, v, n, off), (ssize_t)n);
	close(fd);
}

static uint32_t
peek32(const char *p, off_t off)
{
	uint32_t v = 0;
	int fd = open(p, O_RDONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, &v, sizeof(v), off), (ssize_t)sizeof(v));
	close(fd);
	return v;
}

static uint32_t
page_size(const char *p)
{
	return peek32(p, OFF_PSIZE);
}

Test(store_trust, zero_length_data_mdb_is_store_empty_not_a_fresh_store)
{
	char p[PATH_MAX];

	TH_LMDB_ONLY("data.mdb");
	data_path(p, sizeof(p));
	cr_assert_eq(tmpfile_write(p, "", 0600), 0);
	assert_refused(TSS_E_STORE_EMPTY);
	/* Nothing written, no lock file made. */
	cr_assert_eq(file_size(p), 0);
	cr_assert_eq(th_dir_entries(th_dir), 1);
}

Test(store_trust, empty_data_directory_is_no_store_and_nothing_is_made)
{
	char p[PATH_MAX];
	struct store *s = NULL;

	TH_LMDB_ONLY("a directory");
	assert_refused(TSS_E_NO_STORE);
	cr_assert_eq(th_dir_entries(th_dir), 0);
	th_path(p, sizeof(p), "unmounted");
	cr_assert_eq(store_open(p, &(struct store_opts){ .mode =
	    STORE_OPEN_EXISTING }, &s), TSS_E_NO_STORE);
	cr_assert_eq(access(p, F_OK), -1);
}

Test(store_trust, environment_never_set_up_is_store_empty)
{
	MDB_env *env = NULL;

	TH_LMDB_ONLY("an LMDB environment");
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_open(env, th_dir, 0, 0600), 0);
	mdb_env_close(env);
	assert_refused(TSS_E_STORE_EMPTY);
}

Test(store_trust, truncated_data_mdb_is_store_truncated_not_sigbus)
{
	char p[PATH_MAX];
	struct store *s = NULL;
	uint32_t ps;
	off_t size = make_store();

	TH_LMDB_ONLY("data.mdb");
	data_path(p, sizeof(p));
	ps = page_size(p);
	cr_assert_gt(size, 16 * (off_t)ps);
	cut(p, size / 2 / ps * ps);
	assert_refused(TSS_E_STORE_TRUNCATED);
	/* STORE_OPEN_ANY too: LMDB would map past the end all the same. */
	cr_assert_eq(open_as(STORE_OPEN_ANY, 0, &s), TSS_E_STORE_TRUNCATED);
	/* Cut inside page 1's meta, and inside page 0's. */
	cut(p, ps + 64);
	assert_refused(TSS_E_STORE_TRUNCATED);
	cut(p, 64);
	assert_refused(TSS_E_STORE_TRUNCATED);
}

Test(store_trust, corrupt_meta_page_is_store_corrupt_not_out_of_memory)
{
	char p[PATH_MAX];
	struct store *s = NULL;
	uint64_t huge = (uint64_t)1 << 50;
	uint32_t ps;

	TH_LMDB_ONLY("data.mdb");
	make_store();
	data_path(p, sizeof(p));
	ps = page_size(p);
	/* Both meta pages name a last page far past any map: LMDB maps it
	 * and fails with ENOMEM. */
	poke(p, OFF_LAST_PG, &huge, sizeof(huge));
	poke(p, ps + OFF_LAST_PG, &huge, sizeof(huge));
	assert_refused(TSS_E_CORRUPT);
	cr_assert_eq(open_as(STORE_OPEN_ANY, 0, &s), TSS_E_CORRUPT);
}

Test(store_trust, damaged_meta_page_fields_are_store_corrupt)
{
	char p[PATH_MAX];
	static const struct {
		off_t off;
		uint32_t v;
	} damage[] = {
		{ OFF_MAGIC, 0 },		/* page 0 gone, page 1 intact */
		{ OFF_VERSION, 2 },
		{ OFF_PSIZE, 0 },		/* LMDB divides by it */
		{ OFF_PSIZE, 3000 },
	};
	uint32_t was;
	size_t i;

	TH_LMDB_ONLY("data.mdb");
	make_store();
	data_path(p, sizeof(p));
	for (i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		was = peek32(p, damage[i].off);
		poke(p, damage[i].off, &damage[i].v, sizeof(uint32_t));
		assert_refused(TSS_E_CORRUPT);
		poke(p, damage[i].off, &was, sizeof(was));
	}
	assert_refused(0);
}

Test(store_trust, random_bytes_are_still_not_a_store)
{
	char p[PATH_MAX];
	uint8_t junk[16384];
	size_t i;
	int fd;

	TH_LMDB_ONLY("data.mdb");
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7919 + 13);
	data_path(p, sizeof(p));
	cr_assert((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_refused(TSS_E_NOT_A_STORE);
}

Test(store_trust, truncated_backup_is_refused_before_anything_is_made)
{
	char file[PATH_MAX], dir[PATH_MAX];
	struct store *s = NULL;
	uint32_t ps;
	off_t size;

	make_store();
	cr_assert_eq(open_as(STORE_OPEN_EXISTING, 0, &s), 0);
	th_path(file, sizeof(file), "cut.bak");
	th_path(dir, sizeof(dir), "restored");
	cr_assert_eq(store_backup(s, file), 0);
	store_close(s);
	ps = page_size(file);
	size = file_size(file);
	cr_assert_gt(size, 16 * (off_t)ps);
	cut(file, size / 2 / ps * ps);
	cr_assert_eq(store_restore(file, dir), TSS_E_STORE_TRUNCATED);
	cr_assert_eq(access(dir, F_OK), -1);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(store_restore(file, dir), TSS_E_STORE_TRUNCATED);
	cr_assert_eq(th_dir_entries(dir), 0);
}

Test(store_trust, good_backup_keeps_its_identity_through_restore)
{
	char file[PATH_MAX], dir[PATH_MAX];
	struct store_identity a, b;
	struct store *s = NULL;

	make_store();
	cr_assert_eq(open_as(STORE_OPEN_EXISTING, 0, &s), 0);
	cr_assert_eq(store_identity_get(s, &a), 0);
	th_path(file, sizeof(file), "good.bak");
	th_path(dir, sizeof(dir), "restored");
	cr_assert_eq(store_backup(s, file), 0);
	store_close(s);
	cr_assert_eq(store_restore(file, dir), 0);
	cr_assert_eq(store_open(dir, &(struct store_opts){ .mode =
	    STORE_OPEN_EXISTING }, &s), 0);
	cr_assert_eq(store_identity_get(s, &b), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	store_close(s);
}

Test(store_trust, create_records_the_identity_with_a_random_id)
{
	static const uint8_t zero[STORE_ID_LEN];
	struct store_identity got, again;
	struct store *s = NULL;

	cr_assert_eq(open_as(STORE_OPEN_CREATE, 0, &s), 0);
	cr_assert_eq(store_identity_get(s, &got), 0);
	store_close(s);
	cr_assert_neq(memcmp(got.id, zero, sizeof(zero)), 0);
	cr_assert_eq(memcmp(got.ca_fpr, keys.ca_fpr, sizeof(keys.ca_fpr)), 0);
	cr_assert_eq(memcmp(got.key_check, keys.key_check,
	    sizeof(keys.key_check)), 0);
	/* Reopened it is the same store; init again is refused. */
	cr_assert_eq(open_as(STORE_OPEN_EXISTING, 1, &s), 0);
	cr_assert_eq(store_identity_get(s, &again), 0);
	cr_assert_eq(memcmp(&got, &again, sizeof(got)), 0);
	store_close(s);
	s = NULL;
	cr_assert_eq(open_as(STORE_OPEN_CREATE, 0, &s), TSS_E_CONFLICT);
	cr_assert_null(s);
	cr_assert_eq(store_open(th_loc, &(struct store_opts){ .mode =
	    STORE_OPEN_CREATE }, &s), TSS_E_INVALID_ARGUMENT);
}

Test(store_trust, store_from_before_identities_adopts_one_once_it_has_users)
{
	struct store_identity idn = keys, got;
	struct store *s = th_open(NULL);

	store_close(s);
	/* Opens as an existing store: it has the schema marker. */
	cr_assert_eq(open_as(STORE_OPEN_EXISTING, 0, &s), 0);
	cr_assert_eq(store_identity_get(s, &got), TSS_E_NOT_FOUND);
	/* A marker and nothing else: nobody initialised it. */
	cr_assert_eq(store_identity_adopt(s, &idn), TSS_E_STORE_EMPTY);
	cr_assert_eq(store_identity_get(s, &got), TSS_E_NOT_FOUND);
	th_put1(s, STORE_DB_USERS, "admin", "record");
	cr_assert_eq(store_identity_adopt(s, &idn), 0);
	cr_assert_eq(store_identity_get(s, &got), 0);
	cr_assert_eq(memcmp(&got, &idn, sizeof(got)), 0);
	cr_assert_eq(store_identity_adopt(s, &idn), TSS_E_CONFLICT);
	store_close(s);
}

Test(store_trust, damaged_identity_record_is_store_corrupt)
{
	struct store_identity got;
	struct store *s = NULL;

	cr_assert_eq(open_as(STORE_OPEN_CREATE, 0, &s), 0);
	th_put1(s, STORE_DB_META, STORE_META_IDENTITY, "T\x49\x01garbage");
	cr_assert_eq(store_identity_get(s, &got), TSS_E_CORRUPT);
	store_close(s);
}
