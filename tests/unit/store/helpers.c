#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"
#include "tmpdir.h"

char th_dir[PATH_MAX];

void
th_setup(void)
{
	cr_assert_eq(tmpdir_make(th_dir, sizeof(th_dir)), 0);
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
	int r = store_open(dir != NULL ? dir : th_dir, NULL, &s);

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
