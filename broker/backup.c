/* tesserad's backups into backup_dir; see backup.h. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "backup.h"
#include "broker.h"
#include "commit.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "store/store.h"

#define PREFIX		"tessera-backup-"
#define STAMP_LEN	19		/* YYYYMMDDTHHMMSS.mmm */
#define SUFFIX		"Z.mdb"
#define NAME_LEN	(sizeof(PREFIX) - 1 + STAMP_LEN + sizeof(SUFFIX) - 1)
#define TMP_SUFFIX	".tmp"
#define RETRY_MAX	300		/* seconds after a failure, at most */

struct backup {
	struct broker *b;
	backup_done_fn done;
	void *arg;
	pthread_mutex_t run_mu;		/* one backup at a time; last_ms */
	int64_t last_ms;		/* newest name made: names never repeat */
	pthread_mutex_t mu;		/* the schedule: */
	pthread_cond_t cv;
	struct timespec due;		/* CLOCK_MONOTONIC */
	int stop, running;
	pthread_t thread;
};

static void
name_of(int64_t ms, char *buf, size_t len, int tmp)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s" PREFIX "%04d%02d%02dT%02d%02d%02d.%03d"
	    SUFFIX "%s", tmp ? "." : "", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000),
	    tmp ? TMP_SUFFIX : "");
}

static int
digits(const char *p, size_t n, int *v)
{
	size_t i;

	for (*v = 0, i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* 0 and the time (ms) of a name made by name_of(), -1 for any other. */
static int
name_time(const char *n, size_t len, int64_t *ms)
{
	const char *s = n + sizeof(PREFIX) - 1;
	struct tm tm;
	int y, mo, d, h, mi, sec, frac;
	time_t t;

	if (len != NAME_LEN || strncmp(n, PREFIX, sizeof(PREFIX) - 1) != 0 ||
	    memcmp(s + STAMP_LEN, SUFFIX, sizeof(SUFFIX) - 1) != 0 ||
	    s[8] != 'T' || s[15] != '.' || digits(s, 4, &y) != 0 ||
	    digits(s + 4, 2, &mo) != 0 || digits(s + 6, 2, &d) != 0 ||
	    digits(s + 9, 2, &h) != 0 || digits(s + 11, 2, &mi) != 0 ||
	    digits(s + 13, 2, &sec) != 0 || digits(s + 16, 3, &frac) != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/*
 * Our backups in the directory dfd, oldest first; the temporary files of
 * backups that never finished are removed (the caller holds run_mu, so
 * none is in progress).
 */
static int
scan(int dfd, char ***out, size_t *n)
{
	struct dirent *e;
	DIR *d;
	char **v = NULL, **nv;
	size_t len, cap = 0;
	int64_t ms;
	int fd, r = 0;

	*out = NULL;
	*n = 0;
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return TSS_E_IO;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return TSS_E_IO;
	}
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (e->d_name[0] == '.' && len == NAME_LEN + 1 +
		    sizeof(TMP_SUFFIX) - 1 && name_time(e->d_name + 1,
		    NAME_LEN, &ms) == 0 && strcmp(e->d_name + 1 + NAME_LEN,
		    TMP_SUFFIX) == 0) {
			(void)unlinkat(dfd, e->d_name, 0);
			continue;
		}
		if (name_time(e->d_name, len, &ms) != 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = mem_reallocarray(v, cap, sizeof(*v))) ==
			    NULL) {
				r = TSS_E_NOMEM;
				break;
			}
			v = nv;
		}
		if ((v[*n] = mem_strdup(e->d_name)) == NULL) {
			r = TSS_E_NOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (r != 0) {
		names_free(v, *n);
		*n = 0;
		return r;
	}
	if (*n > 0)
		qsort(v, *n, sizeof(*v), by_name);
	*out = v;
	return 0;
}

/* Keep the newest backup_keep; a failure here is no failed backup. */
static void
prune(struct backup *bk, int dfd)
{
	const char *dir = bk->b->cfg.backup_dir;
	size_t n, i, keep = (size_t)bk->b->cfg.backup_keep;
	char **v;
	int r;

	if ((r = scan(dfd, &v, &n)) != 0) {
		log_warn("backup: cannot list %s to remove old backups: %s",
		    dir, tss_strerror(r));
		return;
	}
	for (i = 0; i + keep < n; i++) {
		if (unlinkat(dfd, v[i], 0) != 0 && errno != ENOENT)
			log_warn("backup: cannot remove %s/%s: %s", dir, v[i],
			    strerror(errno));
		else
			log_info("backup: removed %s/%s (backup_keep %zu)",
			    dir, v[i], keep);
	}
	names_free(v, n);
}

/* One backup; name (BACKUP_NAME_MAX) and *bytes on success. */
static int
run(struct backup *bk, char *name, uint64_t *bytes, char *errmsg,
    size_t len)
{
	const char *dir = bk->b->cfg.backup_dir, *step, *file;
	char tmp[BACKUP_NAME_MAX + 8];
	struct timespec ts;
	struct stat st;
	int dfd = -1, fd = -1, made = 0, r, e;
	int64_t ms;

	pthread_mutex_lock(&bk->run_mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	bk->last_ms = ms = ms > bk->last_ms ? ms : bk->last_ms + 1;
	name_of(ms, name, BACKUP_NAME_MAX, 0);
	name_of(ms, tmp, sizeof(tmp), 1);
	step = "open the directory";
	file = "";
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto sys;
	step = "create";
	file = tmp;
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		goto sys;
	made = 1;
	if ((r = store_backup_fd(bk->b->store, fd)) != 0) {
		step = "write";
		if (r == TSS_E_IO || r == TSS_E_PERMISSION)
			goto sys;
		snprintf(errmsg, len, "backup into %s failed: copying the "
		    "store: %s", dir, tss_strerror(r));
		goto fail;
	}
	step = "sync";
	if (fsync(fd) != 0 || fstat(fd, &st) != 0)
		goto sys;
	step = "close";
	e = close(fd);
	fd = -1;
	if (e != 0)
		goto sys;
	step = "rename";
	if (renameat(dfd, tmp, dfd, name) != 0)
		goto sys;
	made = 0;
	step = "sync the directory";
	file = "";
	if (fsync(dfd) != 0)
		goto sys;
	*bytes = (uint64_t)st.st_size;
	prune(bk, dfd);
	r = 0;
	goto out;
 sys:
	e = errno;
	snprintf(errmsg, len, "backup into %s failed: cannot %s%s%s: %s", dir,
	    step, *file != '\0' ? " " : "", file, strerror(e));
 fail:
	r = TSS_E_UNAVAILABLE;
 out:
	if (fd != -1)
		close(fd);
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd != -1)
		close(dfd);
	pthread_mutex_unlock(&bk->run_mu);
	return r;
}

/* run(), logged once either way and told to the done callback. */
static int
attempt(struct backup *bk, const char *by, char *name, uint64_t *bytes,
    char *errmsg, size_t len)
{
	int r;

	if ((r = run(bk, name, bytes, errmsg, len)) == 0)
		log_info("backup: %s/%s written (%" PRIu64 " bytes, %s)",
		    bk->b->cfg.backup_dir, name, *bytes, by);
	else
		log_error("backup: %s", errmsg);
	if (bk->done != NULL)
		bk->done(bk->arg, r, (int64_t)time(NULL));
	return r;
}

static void
due_in(struct backup *bk, int64_t secs)
{
	clock_gettime(CLOCK_MONOTONIC, &bk->due);
	bk->due.tv_sec += (time_t)(secs > 0 ? secs : 0);
}

static void *
backup_main(void *arg)
{
	struct backup *bk = arg;
	int64_t every = bk->b->cfg.backup_interval;
	char name[BACKUP_NAME_MAX], err[512];
	uint64_t bytes;
	int r;

	pthread_mutex_lock(&bk->mu);
	for (;;) {
		while (!bk->stop && pthread_cond_timedwait(&bk->cv, &bk->mu,
		    &bk->due) != ETIMEDOUT)
			;
		if (bk->stop)
			break;
		pthread_mutex_unlock(&bk->mu);
		r = attempt(bk, "scheduled", name, &bytes, err, sizeof(err));
		pthread_mutex_lock(&bk->mu);
		due_in(bk, r == 0 || every < RETRY_MAX ? every : RETRY_MAX);
	}
	pthread_mutex_unlock(&bk->mu);
	return NULL;
}

/* When the newest backup already in the directory was made (0: none). */
static int64_t
newest(struct backup *bk)
{
	char **v = NULL;
	size_t n = 0;
	int64_t ms = 0;
	int dfd;

	if ((dfd = open(bk->b->cfg.backup_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return 0;
	if (scan(dfd, &v, &n) == 0 && n > 0 &&
	    name_time(v[n - 1], strlen(v[n - 1]), &ms) != 0)
		ms = 0;
	names_free(v, n);
	close(dfd);
	return ms / 1000;
}

int
backup_start(struct broker *b, backup_done_fn done, void *arg)
{
	struct backup *bk;
	pthread_condattr_t ca;
	int64_t last, wait;

	if ((bk = mem_calloc(1, sizeof(*bk))) == NULL)
		return TSS_E_NOMEM;
	bk->b = b;
	bk->done = done;
	bk->arg = arg;
	pthread_mutex_init(&bk->run_mu, NULL);
	pthread_mutex_init(&bk->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bk->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->backup = bk;
	if (b->cfg.backup_dir == NULL)
		return 0;
	/* A directory in the data volume (a container's) is made once. */
	if (mkdir(b->cfg.backup_dir, 0700) == 0)
		log_info("backup: made %s", b->cfg.backup_dir);
	if ((last = newest(bk)) > 0 && done != NULL)
		done(arg, 0, last);
	/* A name from a clock that ran ahead delays the next at most once. */
	wait = last > 0 ? last + b->cfg.backup_interval - time(NULL) : 0;
	due_in(bk, wait < b->cfg.backup_interval ? wait :
	    b->cfg.backup_interval);
	if (pthread_create(&bk->thread, NULL, backup_main, bk) != 0)
		return TSS_E_NOMEM;
	pthread_setname_np(bk->thread, "tss-backup");
	bk->running = 1;
	log_info("backup: into %s every %" PRId64 " s, keeping %" PRIu64,
	    b->cfg.backup_dir, b->cfg.backup_interval, b->cfg.backup_keep);
	return 0;
}

void
backup_stop(struct broker *b)
{
	struct backup *bk = b != NULL ? b->backup : NULL;

	if (bk == NULL || !bk->running)
		return;
	pthread_mutex_lock(&bk->mu);
	bk->stop = 1;
	pthread_cond_signal(&bk->cv);
	pthread_mutex_unlock(&bk->mu);
	pthread_join(bk->thread, NULL);
	bk->running = 0;
}

void
backup_free(struct broker *b)
{
	struct backup *bk = b != NULL ? b->backup : NULL;

	if (bk == NULL)
		return;
	backup_stop(b);
	pthread_mutex_lock(&bk->run_mu);	/* an admin's, in progress */
	pthread_mutex_unlock(&bk->run_mu);
	pthread_cond_destroy(&bk->cv);
	pthread_mutex_destroy(&bk->mu);
	pthread_mutex_destroy(&bk->run_mu);
	free(bk);
	b->backup = NULL;
}

struct backup_event {
	const struct caller *c;
	const char *file, *error;
	uint64_t bytes;
	int64_t now;
};

static int
audit_fn(struct store_txn *t, void *arg)
{
	const struct backup_event *ev = arg;
	struct audit_actor by = { ev->c->username, ev->c->remote_addr,
	    ev->c->request_id };
	json_t *f;
	int r;

	f = ev->error != NULL ? json_pack("{s:s}", "error", ev->error) :
	    json_pack("{s:I}", "bytes", (json_int_t)ev->bytes);
	if (f == NULL)
		return TSS_E_NOMEM;
	r = audit_record(t, &by, "backup.create", ev->file, ev->error != NULL ?
	    "error" : "ok", f, ev->now, NULL);
	json_decref(f);
	return r;
}

int
broker_backup_now(struct broker *b, const struct caller *c, int64_t now,
    json_t **out, char *errmsg, size_t len)
{
	struct backup_event ev = { c, NULL, NULL, 0, now };
	char name[BACKUP_NAME_MAX];
	int r, k;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_BACKUPS_CREATE)) != 0)
		return r;
	if (b->backup == NULL || b->cfg.backup_dir == NULL) {
		snprintf(errmsg, len, "backup_dir is not set in tesserad's "
		    "configuration: online backups need it");
		return TSS_E_CONFLICT;
	}
	r = attempt(b->backup, c->username, name, &ev.bytes, errmsg, len);
	ev.file = name;
	ev.error = r != 0 ? errmsg : NULL;
	if ((k = commit_run(b->commits, audit_fn, &ev)) != 0 && r == 0) {
		snprintf(errmsg, len, "backup %s/%s written, but it could not "
		    "be audited: %s", b->cfg.backup_dir, name,
		    tss_strerror(k));
		return TSS_E_UNAVAILABLE;
	}
	if (r != 0)
		return r;
	if ((*out = json_pack("{s:s, s:I, s:s}", "file", name, "bytes",
	    (json_int_t)ev.bytes, "dir", b->cfg.backup_dir)) == NULL)
		return TSS_E_NOMEM;
	return 0;
}
