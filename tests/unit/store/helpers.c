#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"
#include "tmpdir.h"

char th_dir[PATH_MAX];
char th_loc[PATH_MAX];

int
th_pg(void)
{
	const char *u = getenv("TESSERA_TEST_PG");

	return u != NULL && *u != '\0';
}

void
th_pg_newdb(char *uri, size_t len)
{
	static unsigned seq;
	const char *base = getenv("TESSERA_TEST_PG"), *q;
	char name[64], bin[PATH_MAX], maint[PATH_MAX + 32];
	int n, st;
	pid_t pid;

	cr_assert(th_pg());
	/* The server's URI is postgresql:///postgres?host=...: swap the
	 * database name. */
	q = strchr(base, '?');
	cr_assert_not_null(q, "TESSERA_TEST_PG %s has no '?'", base);
	n = snprintf(name, sizeof(name), "t%ld_%u_%ld", (long)getpid(),
	    seq++, (long)time(NULL) % 100000);
	cr_assert(n > 0 && (size_t)n < sizeof(name));
	n = snprintf(uri, len, "postgresql:///%s%s", name, q);
	cr_assert(n > 0 && (size_t)n < len);
	n = snprintf(bin, sizeof(bin), "%s/createdb",
	    getenv("TESSERA_TEST_PG_BIN") != NULL ?
	    getenv("TESSERA_TEST_PG_BIN") : "/usr/lib/postgresql/15/bin");
	cr_assert(n > 0 && (size_t)n < sizeof(bin));
	n = snprintf(maint, sizeof(maint), "--maintenance-db=%s", base);
	cr_assert(n > 0 && (size_t)n < sizeof(maint));
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		execl(bin, "createdb", maint, name, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "createdb %s failed",
	    name);
}

void
th_setup(void)
{
	int n;

	cr_assert_eq(tmpdir_make(th_dir, sizeof(th_dir)), 0);
	if (th_pg()) {
		th_pg_newdb(th_loc, sizeof(th_loc));
		return;
	}
	n = snprintf(th_loc, sizeof(th_loc), "%s", th_dir);
	cr_assert(n > 0 && (size_t)n < sizeof(th_loc));
}

void
th_teardown(void)
{
	tmpdir_remove(th_dir);
	th_dir[0] = '\0';
}

void
th_path(char *out, size_t len, const char *name)
{
	int n = snprintf(out, len, "%s/%s", th_dir, name);

	cr_assert(n > 0 && (size_t)n < len);
}

struct store *
th_open(const char *dir)
{
	struct store *s = NULL;
	int r = store_open(dir != NULL ? dir : th_loc, NULL, &s);

	cr_assert_eq(r, 0, "store_open: %s", tss_strerror(r));
	cr_assert_not_null(s);
	return s;
}

void
th_be64(uint8_t b[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

uint64_t
th_get_be64(const uint8_t b[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

void
th_put1(struct store *s, enum store_db db, const char *key, const char *val)
{
	struct store_txn *t = NULL;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, db, key, strlen(key), val, strlen(val), 0),
	    0);
	cr_assert_eq(store_commit(t), 0);
}

uint64_t
th_count(struct store *s, enum store_db db)
{
	struct store_txn *t = NULL;
	uint64_t n = 0;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_count(t, db, &n), 0);
	store_abort(t);
	return n;
}

void
th_assert_same(struct store *a, struct store *b)
{
	struct store_txn *ta = NULL, *tb = NULL;
	struct store_cursor *ca = NULL, *cb = NULL;
	const void *ka, *kb, *va, *vb;
	size_t kal, kbl, val, vbl;
	int i, ra, rb;

	cr_assert_eq(store_begin(a, 0, &ta), 0);
	cr_assert_eq(store_begin(b, 0, &tb), 0);
	for (i = 0; i < STORE_DB__COUNT; i++) {
		cr_assert_eq(store_cursor_open(ta, i, &ca), 0);
		cr_assert_eq(store_cursor_open(tb, i, &cb), 0);
		ra = store_cursor_seek(ca, NULL, 0, &ka, &kal, &va, &val);
		rb = store_cursor_seek(cb, NULL, 0, &kb, &kbl, &vb, &vbl);
		for (;;) {
			cr_assert_eq(ra, rb, "db %s differs",
			    store_db_name(i));
			if (ra != 0)
				break;
			cr_assert_eq(kal, kbl);
			cr_assert_eq(memcmp(ka, kb, kal), 0);
			cr_assert_eq(val, vbl);
			cr_assert(val == 0 || memcmp(va, vb, val) == 0);
			ra = store_cursor_next(ca, &ka, &kal, &va, &val);
			rb = store_cursor_next(cb, &kb, &kbl, &vb, &vbl);
		}
		cr_assert_eq(ra, TSS_E_NOT_FOUND);
		store_cursor_close(ca);
		store_cursor_close(cb);
	}
	store_abort(ta);
	store_abort(tb);
}

long
th_read_file(const char *path, void *buf, size_t len)
{
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	while (off < len && (n = read(fd, (char *)buf + off, len - off)) > 0)
		off += (size_t)n;
	close(fd);
	return (long)off;
}

int
th_dir_entries(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}
