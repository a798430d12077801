/*
 * store, PostgreSQL backend: backup and restore in the one backup format,
 * an LMDB environment file.  A backup copies every table in one snapshot
 * into a temporary environment under TMPDIR and writes its compacted
 * copy; a restore checks the file by restoring it into a temporary
 * environment, then copies that into the database in one transaction.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "pg_int.h"

#define TMP_MAP_MIN	((size_t)64 << 20)

/* A fresh private directory under TMPDIR into dir. */
static int
tmp_dir(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	n = snprintf(dir, len, "%s/tessera-pg.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= len)
		return TSS_E_TOO_LONG;
	if (mkdtemp(dir) == NULL) {
		log_error("store: mkdtemp %s: %s", dir, strerror(errno));
		return TSS_E_IO;
	}
	return 0;
}

/* Remove dir/sub's LMDB files, dir/sub (if sub) and dir. */
static void
tmp_remove(const char *dir, const char *sub)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char p[PATH_MAX];
	size_t i;
	int n;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = snprintf(p, sizeof(p), "%s%s%s/%s", dir, sub ? "/" : "",
		    sub ? sub : "", files[i]);
		if (n > 0 && (size_t)n < sizeof(p))
			unlink(p);
	}
	if (sub != NULL) {
		n = snprintf(p, sizeof(p), "%s/%s", dir, sub);
		if (n > 0 && (size_t)n < sizeof(p))
			rmdir(p);
	}
	rmdir(dir);
}

/* The backup's transaction: the copy, with the database's schema
 * marker or none, not the one the fresh environment was made with. */
static int
copy_from(struct store_txn *dst, void *src)
{
	int r = store_del(dst, STORE_DB_META, STORE_META_SCHEMA,
	    sizeof(STORE_META_SCHEMA) - 1);

	if (r != 0 && r != TSS_E_NOT_FOUND)
		return r;
	return store__copy_all(src, dst);
}

int
store__pg_backup_fd(struct store *s, int fd)
{
	char dir[PATH_MAX];
	struct store_opts o;
	struct store *env = NULL;
	struct store_txn *src = NULL;
	uint64_t used = 0, map0;
	int r, saved;

	if ((r = tmp_dir(dir, sizeof(dir))) != 0)
		return r;
	memset(&o, 0, sizeof(o));
	if (store_usage(s, &used, &map0) == 0 && used < SIZE_MAX / 4)
		o.map_size = (size_t)used * 2;
	if (o.map_size < TMP_MAP_MIN)
		o.map_size = TMP_MAP_MIN;
	o.map_max = o.map_size * 2 > ((size_t)4 << 30) ? o.map_size * 2 :
	    (size_t)4 << 30;
	if ((r = store__lmdb_open(dir, &o, &env)) != 0 ||
	    (r = store_begin(s, 0, &src)) != 0 ||
	    (r = store_write(env, copy_from, src)) != 0)
		goto out;
	store_abort(src);
	src = NULL;
	r = store_backup_fd(env, fd);
 out:
	saved = errno;
	store_abort(src);
	store_close(env);
	tmp_remove(dir, NULL);
	errno = saved;
	return r;
}

/* The restore's transaction: the database holds nothing of Tessera but
 * its schema marker; then every entry of the backup. */
static int
restore_into(struct store_txn *dst, void *src)
{
	const void *v;
	size_t vl;
	uint64_t n;
	int i, r;

	for (i = 0; i < STORE_DB__COUNT; i++) {
		if ((r = store_count(dst, (enum store_db)i, &n)) != 0)
			return r;
		if (i == STORE_DB_META && n == 1 &&
		    store_get(dst, STORE_DB_META, STORE_META_SCHEMA,
		    sizeof(STORE_META_SCHEMA) - 1, &v, &vl) == 0)
			n = 0;
		if (n != 0) {
			log_error("store: cannot restore into a database "
			    "holding data (table %s)",
			    store_db_name((enum store_db)i));
			return TSS_E_NOT_EMPTY;
		}
	}
	return store__copy_all(src, dst);
}

int
store__pg_restore(const char *file, const char *uri)
{
	char dir[PATH_MAX], env[PATH_MAX];
	struct store_opts o;
	struct store *from = NULL, *to = NULL;
	struct store_txn *src = NULL;
	int r, n;

	if ((r = tmp_dir(dir, sizeof(dir))) != 0)
		return r;
	n = snprintf(env, sizeof(env), "%s/env", dir);
	if (n < 0 || (size_t)n >= sizeof(env)) {
		r = TSS_E_TOO_LONG;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.mode = STORE_OPEN_EXISTING;
	/* The LMDB restore checks the file as for a directory. */
	if ((r = store__lmdb_restore(file, env)) != 0 ||
	    (r = store__lmdb_open(env, &o, &from)) != 0 ||
	    (r = store__pg_open(uri, NULL, &to)) != 0 ||
	    (r = store_begin(from, 0, &src)) != 0)
		goto out;
	r = store_write(to, restore_into, src);
 out:
	store_abort(src);
	store_close(from);
	store_close(to);
	tmp_remove(dir, "env");
	return r;
}
