/*
 * store, LMDB backend: online backup (a compacted copy of the environment)
 * and restore of such a copy into an empty directory.  See store.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "lmdb_int.h"

/* fsync the directory holding path, so a new name is durable. */
static int
sync_parent(const char *path)
{
	char d[PATH_MAX];
	const char *slash;
	int fd, r = 0;
	size_t n;

	if ((slash = strrchr(path, '/')) == NULL) {
		d[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(d))
			return TSS_E_TOO_LONG;
		memcpy(d, path, n);
	}
	d[n] = '\0';
	if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return sys_err(errno, "open dir", d);
	if (fsync(fd) != 0)
		r = sys_err(errno, "fsync dir", d);
	close(fd);
	return r;
}

int
store__lmdb_backup_fd(struct store *s, int fd)
{
	int rc, r;

	if (s == NULL || fd < 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = lock_shared(s)) != 0)
		return r;
	/* A read transaction: writers and issuance go on beside it. */
	rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&s->lock);
	if (rc <= 0)
		return tr(rc, "env_copy");
	r = sys_err(rc, "env_copy", NULL);
	errno = rc;
	return r;
}

int
store_backup(struct store *s, const char *file)
{
	int fd = -1, rc, r = TSS_E_INTERNAL;

	if (s == NULL || file == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return sys_err(errno, "create", file);
	if ((r = store_backup_fd(s, fd)) != 0)
		goto out;
	if (fsync(fd) != 0) {
		r = sys_err(errno, "fsync", file);
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc != 0) {
		r = sys_err(errno, "close", file);
		goto out;
	}
	if ((r = sync_parent(file)) != 0)
		goto out;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	if (r != 0)
		unlink(file);
	return r;
}

static int
dir_is_empty(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return sys_err(errno, "opendir", dir);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			r = TSS_E_NOT_EMPTY;
			break;
		}
	}
	closedir(d);
	return r;
}

static int
copy_fd(int in, int out, const char *path)
{
	uint8_t b[65536];
	ssize_t n, w;
	size_t off;

	for (;;) {
		if ((n = read(in, b, sizeof(b))) == -1) {
			if (errno == EINTR)
				continue;
			return sys_err(errno, "read", path);
		}
		if (n == 0)
			return 0;
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			if ((w = write(out, b + off, (size_t)n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return sys_err(errno, "write", path);
			}
		}
	}
}

int
store__lmdb_restore(const char *file, const char *dir)
{
	char data[PATH_MAX], lockf[PATH_MAX];
	struct store *s = NULL;
	struct stat st;
	int in = -1, fd = -1, made_dir = 0, made_data = 0, r = TSS_E_INTERNAL;
	int n1, n2, fresh = 0;

	if (file == NULL || dir == NULL)
		return TSS_E_INVALID_ARGUMENT;
	n1 = snprintf(data, sizeof(data), "%s/data.mdb", dir);
	n2 = snprintf(lockf, sizeof(lockf), "%s/lock.mdb", dir);
	if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(data) ||
	    (size_t)n2 >= sizeof(lockf))
		return TSS_E_TOO_LONG;
	if ((in = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return sys_err(errno, "open", file);
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		log_debug("store: restore source %s is not a non-empty file",
		    file);
		r = TSS_E_NOT_A_STORE;
		goto out;
	}
	/* A backup cut short or damaged is refused before anything is
	 * made (LMDB would map past its end: SIGBUS). */
	if ((r = store__check_data_file(file, 1, &fresh)) != 0)
		goto out;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT) {
			r = sys_err(errno, "stat", dir);
			goto out;
		}
		if (mkdir(dir, 0700) != 0) {
			r = sys_err(errno, "mkdir", dir);
			goto out;
		}
		made_dir = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		r = TSS_E_NOT_EMPTY;
		goto out;
	} else if ((r = dir_is_empty(dir)) != 0)
		goto out;
	if ((fd = open(data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		r = sys_err(errno, "create", data);
		goto out;
	}
	made_data = 1;
	if ((r = copy_fd(in, fd, data)) != 0)
		goto out;
	if (fsync(fd) != 0) {
		r = sys_err(errno, "fsync", data);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = sys_err(errno, "close", data);
		goto out;
	}
	fd = -1;
	if ((r = store__open_env(dir, NULL, 1, &s)) != 0)
		goto out;
	store_close(s);
	if ((r = sync_parent(data)) != 0 ||
	    (made_dir && (r = sync_parent(dir)) != 0))
		goto out;
	r = 0;
 out:
	if (in != -1)
		close(in);
	if (fd != -1)
		close(fd);
	if (r != 0 && made_data) {
		unlink(data);
		unlink(lockf);
	}
	if (r != 0 && made_dir)
		rmdir(dir);
	return r;
}
