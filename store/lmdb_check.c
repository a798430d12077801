/*
 * store, LMDB backend: the check of a data file before LMDB maps it.
 *
 * What is on disk is not trusted.  LMDB believes its meta pages: a last
 * page past the end of a truncated file is SIGBUS on first touch, a huge
 * one an mmap that fails as ENOMEM, a zero page size a division by zero,
 * and a zero-length data.mdb is "a new environment" that LMDB happily
 * initialises.  So store__check_data_file() reads and checks both meta
 * pages with pread before LMDB maps the file (store_open, store_restore),
 * and only STORE_OPEN_ANY and STORE_OPEN_CREATE may start a new
 * environment.  The file can still be cut while it is open; that is
 * outside what a process can defend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "lmdb_int.h"

/*
 * LMDB's meta pages (pages 0 and 1) as lmdb 0.9 writes them on a 64-bit
 * host, host byte order; lmdb.h does not expose them.  A 16-byte page
 * header (flags u16 at 10), then MDB_meta: magic u32, version u32,
 * address, mapsize, two MDB_db of 48 bytes (free DB, main DB: the free
 * DB's first u32 holds the page size, each ends with its root page), last
 * used page, txnid.  Page 1 starts at page 0's page size.
 */
#define META_READ		152
#define META_FLAGS_OFF		10
#define META_MAGIC_OFF		16
#define META_VERSION_OFF	20
#define META_MAPSIZE_OFF	32
#define META_PSIZE_OFF		40
#define META_FREE_ROOT_OFF	80
#define META_MAIN_ROOT_OFF	128
#define META_LAST_PG_OFF	136
#define META_TXNID_OFF		144
#define LMDB_P_META		0x08
#define LMDB_MAGIC		0xBEEFC0DEU
#define LMDB_DATA_VERSION	1
#define LMDB_P_INVALID		UINT64_MAX
#define PSIZE_MIN		512
#define PSIZE_MAX		65536
/* Nothing we open maps more: config bounds map_max_mib to 1 TiB. */
#define MAP_LIMIT		((uint64_t)1 << 40)

_Static_assert(sizeof(size_t) == 8 && sizeof(void *) == 8,
    "the meta page layout above is LMDB's on 64-bit hosts");

static uint64_t
ld_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
ld_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

struct lmdb_meta {
	uint64_t last_pg, txnid;
	uint32_t psize;
};

/*
 * One meta page: TSS_E_NOT_A_STORE without LMDB's magic (not LMDB's file
 * at all), TSS_E_CORRUPT when the magic is there but the page could not
 * have been written by LMDB: not flagged a meta page, another data
 * version, a page size that is no power of two in LMDB's range, a last
 * page beyond any map we open, a root page past the last page.
 */
static int
meta_parse(const uint8_t p[META_READ], unsigned idx, struct lmdb_meta *m)
{
	uint16_t flags;
	uint64_t mapsize, froot, mroot;
	uint32_t ver;

	if (ld_u32(p + META_MAGIC_OFF) != LMDB_MAGIC)
		return TSS_E_NOT_A_STORE;
	memcpy(&flags, p + META_FLAGS_OFF, sizeof(flags));
	ver = ld_u32(p + META_VERSION_OFF);
	m->psize = ld_u32(p + META_PSIZE_OFF);
	mapsize = ld_u64(p + META_MAPSIZE_OFF);
	froot = ld_u64(p + META_FREE_ROOT_OFF);
	mroot = ld_u64(p + META_MAIN_ROOT_OFF);
	m->last_pg = ld_u64(p + META_LAST_PG_OFF);
	m->txnid = ld_u64(p + META_TXNID_OFF);
	if ((flags & LMDB_P_META) == 0 || ver != LMDB_DATA_VERSION ||
	    m->psize < PSIZE_MIN || m->psize > PSIZE_MAX ||
	    (m->psize & (m->psize - 1)) != 0 || mapsize > MAP_LIMIT ||
	    m->last_pg < 1 || m->last_pg >= MAP_LIMIT / m->psize ||
	    (froot != LMDB_P_INVALID && froot > m->last_pg) ||
	    (mroot != LMDB_P_INVALID && mroot > m->last_pg)) {
		log_debug("store: meta page %u: flags %#x version %u page "
		    "size %u map %llu last page %llu roots %llu/%llu", idx,
		    flags, ver, m->psize, (unsigned long long)mapsize,
		    (unsigned long long)m->last_pg, (unsigned long long)froot,
		    (unsigned long long)mroot);
		return TSS_E_CORRUPT;
	}
	return 0;
}

/* Read META_READ bytes at off: 1 when the file ends before them. */
static int
read_meta(int fd, off_t off, uint8_t p[META_READ], const char *path)
{
	size_t got = 0;
	ssize_t n;

	while (got < META_READ) {
		n = pread(fd, p + got, META_READ - got, off + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return sys_err(errno, "read", path);
		if (n == 0)
			return 1;
		got += (size_t)n;
	}
	return 0;
}

/*
 * Check an LMDB data file before LMDB maps it.  *fresh = 1 for a missing
 * (TSS_E_NOT_FOUND) or zero-length file, which LMDB would initialise:
 * an error (TSS_E_STORE_EMPTY) when must_exist.  Then both meta pages
 * must be LMDB's (TSS_E_NOT_A_STORE when page 0 is no LMDB page and no
 * meta page sits where page 1 would, TSS_E_CORRUPT otherwise) and the
 * file must hold every page up to the newer meta's last page
 * (TSS_E_STORE_TRUNCATED).
 */
int
store__check_data_file(const char *path, int must_exist, int *fresh)
{
	uint8_t p0[META_READ], p1[META_READ];
	struct lmdb_meta m0, m1;
	const struct lmdb_meta *m;
	struct stat st;
	uint32_t ps;
	int fd = -1, r = TSS_E_INTERNAL, k;

	*fresh = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		r = sys_err(errno, "open", path);
		if (r == TSS_E_NOT_FOUND)
			*fresh = 1;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = sys_err(errno, "fstat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = TSS_E_NOT_A_STORE;
		goto out;
	}
	if (st.st_size == 0) {
		*fresh = 1;
		log_debug("store: %s is empty", path);
		r = must_exist ? TSS_E_STORE_EMPTY : 0;
		goto out;
	}
	memset(p0, 0, sizeof(p0));
	if ((k = read_meta(fd, 0, p0, path)) != 0) {
		/* Shorter than a meta page (the bytes it has are in p0):
		 * LMDB's magic tells a cut store from anything else. */
		r = k < 0 ? k : ld_u32(p0 + META_MAGIC_OFF) == LMDB_MAGIC ?
		    TSS_E_STORE_TRUNCATED : TSS_E_NOT_A_STORE;
		goto out;
	}
	if ((r = meta_parse(p0, 0, &m0)) == TSS_E_NOT_A_STORE) {
		/* A damaged page 0 of a real environment still has page 1. */
		for (ps = PSIZE_MIN; ps <= PSIZE_MAX; ps <<= 1) {
			if (read_meta(fd, ps, p1, path) == 0 &&
			    ld_u32(p1 + META_MAGIC_OFF) == LMDB_MAGIC) {
				log_debug("store: %s: meta page 0 is not "
				    "LMDB's, page 1 is", path);
				r = TSS_E_CORRUPT;
				break;
			}
		}
		goto out;
	}
	if (r != 0)
		goto out;
	if ((k = read_meta(fd, m0.psize, p1, path)) != 0) {
		r = k < 0 ? k : TSS_E_STORE_TRUNCATED;
		goto out;
	}
	if ((r = meta_parse(p1, 1, &m1)) != 0 || m1.psize != m0.psize) {
		r = TSS_E_CORRUPT;
		goto out;
	}
	/* The meta LMDB will use: the newer; page 0 when equal. */
	m = m1.txnid > m0.txnid ? &m1 : &m0;
	if ((uint64_t)st.st_size / m->psize < m->last_pg + 1) {
		log_debug("store: %s holds %lld bytes; its meta page (txn "
		    "%llu) uses %llu pages of %u", path,
		    (long long)st.st_size, (unsigned long long)m->txnid,
		    (unsigned long long)m->last_pg + 1, m->psize);
		r = TSS_E_STORE_TRUNCATED;
		goto out;
	}
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

