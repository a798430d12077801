/*
 * store: who shares a data directory, across PID namespaces (store.h,
 * STORE_LOCK_FILE).  The file holds one record, written by whoever took
 * it exclusively first: "ns DEV:INO\npid N\nowner NAME\n", DEV:INO naming
 * the writer's PID namespace (/proc/self/ns/pid).  Everyone then holds it
 * shared, and joins only when the record names its own namespace, so no
 * two namespaces ever have the store open together.  A namespace that
 * cannot be told (no /proc) matches none.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "lmdb_int.h"

#define CLAIM_TRIES	200		/* 10 ms apart: a claim takes far less */
#define RECORD_MAX	256

static void
self_ns(char *buf, size_t len)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) != 0)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%ju:%ju", (uintmax_t)st.st_dev,
		    (uintmax_t)st.st_ino);
}

static int
lock_path(const char *dir, char *p, size_t len)
{
	int n = snprintf(p, len, "%s/%s", dir, STORE_LOCK_FILE);

	return n < 0 || (size_t)n >= len ? TSS_E_TOO_LONG : 0;
}

/* Holding the lock exclusively: make the record ours. */
static int
write_record(int fd, const char *ns, const char *owner)
{
	char rec[RECORD_MAX];
	int n;

	n = snprintf(rec, sizeof(rec), "ns %s\npid %ld\nowner %s\n", ns,
	    (long)getpid(), owner);
	if (n < 0 || (size_t)n >= sizeof(rec))
		return TSS_E_TOO_LONG;
	if (pwrite(fd, rec, (size_t)n, 0) != n || ftruncate(fd, n) != 0)
		return sys_err(errno, "write", STORE_LOCK_FILE);
	return 0;
}

/* Holding the lock shared: does the record name namespace ns? */
static int
record_is(int fd, const char *ns, const char *dir)
{
	char rec[RECORD_MAX], want[128], *nl;
	ssize_t n;

	if ((n = pread(fd, rec, sizeof(rec) - 1, 0)) < 0)
		n = 0;
	rec[n] = '\0';
	snprintf(want, sizeof(want), "ns %s\n", ns);
	if (strcmp(ns, "unknown") != 0 && strncmp(rec, want, strlen(want))
	    == 0)
		return 1;
	while ((nl = strchr(rec, '\n')) != NULL)
		*nl = ' ';
	log_info("store: %s is in use from another PID namespace (%s: %s)",
	    dir, STORE_LOCK_FILE, rec);
	return 0;
}

int
store__dirlock(const char *dir, const char *owner, int *out)
{
	const struct timespec pause = { 0, 10 * 1000 * 1000 };
	char path[PATH_MAX], ns[96];
	int fd, rw = 1, tries, r;

	*out = -1;
	if ((r = lock_path(dir, path, sizeof(path))) != 0)
		return r;
	self_ns(ns, sizeof(ns));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 && (errno == EACCES || errno == EROFS)) {
		rw = 0;		/* a read-only copy: join, never claim */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd == -1) {
		/* Nobody could have made it either. */
		log_debug("store: %s: %s: no lock taken", path,
		    strerror(errno));
		return errno == ENOENT || errno == EACCES || errno == EROFS ?
		    0 : sys_err(errno, "open", path);
	}
	for (tries = 0;; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (!rw)
				goto done;	/* alone; keep it exclusive */
			if ((r = write_record(fd, ns, owner)) != 0)
				goto out;
			/* Not atomic: someone may claim it in between. */
			if (flock(fd, LOCK_SH | LOCK_NB) == 0)
				goto check;
		} else if (errno != EWOULDBLOCK)
			break;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			goto check;
		if (errno != EWOULDBLOCK)
			break;
		if (tries == CLAIM_TRIES) {
			r = TSS_E_IN_USE;
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	r = sys_err(errno, "flock", path);
	goto out;
 check:
	if (!record_is(fd, ns, dir)) {
		r = TSS_E_IN_USE;
		goto out;
	}
 done:
	*out = fd;
	fd = -1;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

int
store_in_use(const char *dir)
{
	char path[PATH_MAX];
	int fd, r;

	if (store_location_is_pg(dir))
		return 0;		/* PostgreSQL: instances share it */
	if ((r = lock_path(dir, path, sizeof(path))) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : TSS_E_IN_USE;
	close(fd);
	return r;
}
