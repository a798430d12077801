/*
 * Audit sinks: stream committed events, in seq order and as whole lines,
 * to a file, a pipe or syslog, with signed checkpoints between them.  See
 * audit.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "checkpoint.h"
#include "internal.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"

/* A flush writes its lines to a file or pipe in writes of about this. */
#define SINK_CHUNK	(64 * 1024)
/* Retries of a sink that cannot deliver: 1 s, doubling up to this. */
#define SINK_BACKOFF_MAX	8
/* A syslog receiver that stops reading fails a send after this (s). */
#define SINK_SEND_TIMEOUT	5
/* LOG_AUTHPRIV | LOG_INFO, as syslog(3) with openlog(LOG_AUTHPRIV). */
#define SINK_SYSLOG_PRI	(10 * 8 + 6)

struct audit_sink {
	pthread_mutex_t lock;
	int fd;			/* stream; syslog: the socket, -1 unconnected */
	int owned;		/* close fd on free */
	const char *sock;	/* syslog socket path (in name); NULL: a stream */
	char *name;		/* the spec, for messages */
	/*
	 * The cursor: last is the last event delivered (a whole line written,
	 * a datagram sent), never one that was not.  out holds the lines read
	 * but not yet delivered, events last + 1 onwards, after a checkpoint
	 * line when ck_first; a line cut short by a failed write keeps its
	 * unwritten rest there, so a retry finishes it instead of starting
	 * it again.
	 */
	uint64_t last;
	struct buf *out;
	int ck_first;
	uint64_t head;		/* newest seq in the store at the last flush */
	/* Delivery failures: retried with backoff, logged once an outage. */
	int failing, err;	/* err: errno of the failure */
	int64_t retry_at, backoff;
	uint64_t failures;	/* failed attempts, all outages */
	uint64_t fail_base;	/* failures when this outage began */
	/* last and failures for audit_sink_stats, which takes no lock: a
	 * flush may hold it as long as a stalled pipe blocks a write. */
	_Atomic uint64_t st_last, st_failures;
	/* Checkpoints (audit_sink_checkpoints); ckey NULL: none. */
	struct cakey *ckey;
	uint64_t ck_every;
	int64_t ck_interval;
	uint64_t ck_seq;	/* event of the last checkpoint written */
	int64_t ck_time;	/* when the last one was made or tried */
	/* Stream and syslog: the cursor's file (audit_sink_cursor); NULL:
	 * none.  saved is the seq it holds. */
	char *cursor;
	uint64_t saved;
	int64_t cursor_at;	/* when it was last written */
	int cursor_failing;
};

/*
 * *seq: the last seq in an existing JSON-lines file (0 when empty or
 * unreadable); *ckpt is set when that line is a checkpoint (whose seq is
 * the event it signed, the last one written before it).  TSS_E_NOMEM when
 * the line could not be parsed for want of memory.
 */
static int
file_last_seq(int fd, uint64_t *seq, int *ckpt)
{
	char tail[8192], *nl, *start;
	off_t size, from;
	ssize_t n;
	json_t *o;

	*seq = 0;
	*ckpt = 0;
	if ((size = lseek(fd, 0, SEEK_END)) <= 0)
		return 0;
	from = size > (off_t)sizeof(tail) - 1 ? size - (off_t)sizeof(tail) + 1 : 0;
	if ((n = pread(fd, tail, sizeof(tail) - 1, from)) <= 0)
		return 0;
	tail[n] = '\0';
	/*
	 * A last line cut short (the disk filled, then tesserad stopped) was
	 * never delivered: it goes, and is written whole again.
	 */
	if (tail[n - 1] != '\n' && (nl = strrchr(tail, '\n')) != NULL) {
		n = nl - tail + 1;
		if (ftruncate(fd, from + n) != 0)
			return TSS_E_IO;
		log_warn("audit sink: removed the last line of the file, cut "
		    "short; its event is written again");
		tail[n] = '\0';
	}
	if (tail[n - 1] == '\n')
		tail[n - 1] = '\0';
	nl = strrchr(tail, '\n');
	start = nl != NULL ? nl + 1 : tail;
	errno = 0;
	if ((o = mem_json_loadb(start, strlen(start), 0, NULL)) != NULL) {
		json_int_t v = json_integer_value(json_object_get(o, "seq"));
		const char *type = json_string_value(json_object_get(o,
		    "type"));

		*seq = v > 0 ? (uint64_t)v : 0;
		*ckpt = type != NULL && strcmp(type, "checkpoint") == 0;
		json_decref(o);
	}
	return o == NULL && errno == ENOMEM ? TSS_E_NOMEM : 0;
}

int
audit_sink_open(const char *spec, struct store *s, struct audit_sink **out)
{
	struct sockaddr_un sun;
	struct audit_sink *k;
	struct store_txn *t = NULL;
	const char *sock = NULL;
	int r = TSS_E_NOMEM, ckpt = 0;

	*out = NULL;
	if (strcmp(spec, "syslog") == 0)
		sock = AUDIT_SYSLOG_SOCKET;
	else if (strncmp(spec, "syslog:", 7) == 0)
		sock = spec + 7;
	if (sock != NULL && (*sock == '\0' || strlen(sock) >= sizeof(sun.sun_path)))
		return *sock == '\0' ? TSS_E_INVALID_ARGUMENT : TSS_E_TOO_LONG;
	if ((k = mem_calloc(1, sizeof(*k))) == NULL)
		return TSS_E_NOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->fd = -1;
	if ((k->out = buf_new()) == NULL || (k->name = mem_strdup(spec)) == NULL)
		goto fail;
	if (sock != NULL)
		k->sock = sock == spec + 7 ? k->name + 7 : sock;
	if (strcmp(spec, "-") == 0) {
		k->fd = STDERR_FILENO;
	} else if (sock == NULL) {
		if ((k->fd = open(spec, O_RDWR | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0600)) == -1) {
			r = errno == EACCES ? TSS_E_PERMISSION : TSS_E_IO;
			goto fail;
		}
		k->owned = 1;
		if ((r = file_last_seq(k->fd, &k->last, &ckpt)) != 0)
			goto fail;
		/* A restart does not sign again what is signed already. */
		if (ckpt)
			k->ck_seq = k->last;
	}
	/* A stream or syslog starts at the head: what came before went to
	 * whatever was there before. */
	if (!k->owned && ((r = store_begin(s, 0, &t)) != 0 ||
	    (r = store_counter_get(t, STORE_CTR_AUDIT_SEQ, &k->last)) != 0))
		goto fail;
	store_abort(t);
	k->head = k->last;
	atomic_store(&k->st_last, k->last);
	*out = k;
	return 0;
 fail:
	store_abort(t);
	audit_sink_close(k);
	return r;
}

/*
 * Send one line to the syslog socket as syslog(3) would (RFC 3164:
 * "<86>Dec  6 23:51:31 tesserad[PID]: line", authpriv.info), connecting
 * first when not connected.  A failure closes the socket (a receiver that
 * went away leaves it dead); errno says why.
 */
static int
syslog_send(struct audit_sink *k, const uint8_t *line, size_t len)
{
	struct sockaddr_un sun;
	struct timeval tv = { SINK_SEND_TIMEOUT, 0 };
	struct iovec iov[2];
	struct msghdr mh;
	char head[64], ts[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (k->fd == -1) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, k->sock, strlen(k->sock) + 1);
		if ((k->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		/* A receiver that stops reading cannot hold the thread. */
		if (setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) != 0 ||
		    connect(k->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			goto fail;
	}
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %T", &tm);
	n = snprintf(head, sizeof(head), "<%d>%s tesserad[%ld]: ",
	    SINK_SYSLOG_PRI, ts, (long)getpid());
	iov[0].iov_base = head;
	iov[0].iov_len = n > 0 && (size_t)n < sizeof(head) ? (size_t)n : 0;
	iov[1].iov_base = (void *)(uintptr_t)line;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	while ((n = (int)sendmsg(k->fd, &mh, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (n != -1)
		return 0;
 fail:
	n = errno;
	close(k->fd);
	k->fd = -1;
	errno = n;
	return -1;
}

/*
 * Deliver the pending lines in order: the rest of a stream's lines in as
 * few writes as it takes, one datagram a line to syslog.  The cursor moves
 * past an event once its whole line is out.  TSS_E_IO when the sink
 * cannot take more (k->err says why); what is left stays in k->out.
 */
static int
sink_drain(struct audit_sink *k)
{
	const uint8_t *p, *nl;
	size_t len, n, i;
	ssize_t w;

	while ((len = buf_len(k->out)) > 0) {
		p = buf_ptr(k->out);
		if (k->sock != NULL) {
			if ((nl = memchr(p, '\n', len)) == NULL)
				return TSS_E_INTERNAL;
			n = (size_t)(nl - p);
			if (syslog_send(k, p, n) != 0) {
				k->err = errno;
				return TSS_E_IO;
			}
			n++;
		} else if ((w = write(k->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			k->err = errno;
			return TSS_E_IO;
		} else
			n = (size_t)w;
		for (i = 0; i < n; i++) {
			if (p[i] != '\n')
				continue;
			if (k->ck_first)
				k->ck_first = 0;
			else
				k->last++;
		}
		atomic_store(&k->st_last, k->last);
		buf_consume(k->out, n);
	}
	buf_reset(k->out);
	return 0;
}

/* Queue one line, newline added. */
static int
sink_queue(struct audit_sink *k, const char *text)
{
	size_t len = strlen(text);
	uint8_t *dst;
	int r;

	if ((r = buf_reserve(k->out, len + 1, &dst)) != 0)
		return r;
	memcpy(dst, text, len);
	dst[len] = '\n';
	return 0;
}

/*
 * Sign event seq (read in t) and write the checkpoint after the events
 * up to it, which are drained first.  A failure other than the sink's
 * own (audit_sink_flush_at reports those) is logged; a later flush tries
 * again.  A checkpoint once queued is not signed again.
 */
static int
sink_checkpoint(struct audit_sink *k, struct store_txn *t, uint64_t seq,
    int64_t now)
{
	json_t *e = NULL;
	const char *hash;
	char *line = NULL;
	int r;

	k->ck_time = now;
	if ((r = sink_drain(k)) != 0)
		goto out;
	r = TSS_E_INTERNAL;
	if (k->last < seq)
		goto out;
	if ((r = audit_get(t, seq, &e)) != 0)
		goto out;
	r = TSS_E_BAD_FORMAT;
	if ((hash = json_string_value(json_object_get(e, "hash"))) == NULL)
		goto out;
	if ((r = audit_ckpt_sign(k->ckey, seq, hash, now, &line)) != 0 ||
	    (r = sink_queue(k, line)) != 0)
		goto out;
	k->ck_first = 1;
	k->ck_seq = seq;
	r = sink_drain(k);
 out:
	if (r != 0 && r != TSS_E_IO)
		log_warn("audit sink: checkpoint at event %llu: %s",
		    (unsigned long long)seq, tss_strerror(r));
	free(line);
	json_decref(e);
	return r;
}

int
audit_sink_checkpoints(struct audit_sink *k, struct cakey *key,
    uint64_t every, int64_t interval)
{
	if (k == NULL || key == NULL || every == 0 || interval <= 0)
		return TSS_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&k->lock);
	k->ckey = key;
	k->ck_every = every;
	k->ck_interval = interval;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

int64_t
audit_sink_due(struct audit_sink *k)
{
	int64_t due = INT64_MAX;

	if (k == NULL)
		return due;
	pthread_mutex_lock(&k->lock);
	if (k->ckey != NULL && k->last > k->ck_seq)
		due = k->ck_time > INT64_MAX - k->ck_interval ? INT64_MAX :
		    k->ck_time + k->ck_interval;
	if (k->failing && k->retry_at < due)
		due = k->retry_at;
	pthread_mutex_unlock(&k->lock);
	return due;
}

int
audit_sink_flush(struct audit_sink *k, struct store *s)
{
	return audit_sink_flush_at(k, s, (int64_t)time(NULL), 0);
}

/*
 * After a flush that ended in r: a delivery failure starts or prolongs
 * an outage (said once, retried after a backoff doubling up to
 * SINK_BACKOFF_MAX); a success ends one (said once); other errors are
 * said each time.
 */
static void
sink_outcome(struct audit_sink *k, int r, int64_t now)
{
	if (r == TSS_E_IO) {
		k->failures++;
		atomic_store(&k->st_failures, k->failures);
		k->backoff = !k->failing ? 1 : k->backoff * 2 > SINK_BACKOFF_MAX ?
		    SINK_BACKOFF_MAX : k->backoff * 2;
		k->retry_at = now + k->backoff;
		if (!k->failing) {
			k->fail_base = k->failures - 1;
			log_error("audit sink %s: cannot deliver event %llu: "
			    "%s; holding it and every later event, retrying "
			    "(tessera_audit_sink_lag_events)", k->name,
			    (unsigned long long)k->last + 1, strerror(k->err));
		}
		k->failing = 1;
	} else if (r != 0)
		log_warn("audit sink %s: %s", k->name, tss_strerror(r));
	else if (k->failing) {
		log_info("audit sink %s: delivering again, after %llu failed "
		    "attempts; now at event %llu", k->name,
		    (unsigned long long)(k->failures - k->fail_base),
		    (unsigned long long)k->last);
		k->failing = 0;
	}
}

/* "seq\n" to path, synced before the rename: it never runs ahead. */
static int
cursor_write(const char *path, uint64_t seq)
{
	char tmp[4096], text[32];
	int fd, n, ok;

	n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)seq);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return TSS_E_TOO_LONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return TSS_E_IO;
	ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		return TSS_E_IO;
	}
	return 0;
}

int
audit_sink_cursor_start(const char *path)
{
	return cursor_write(path, 0);
}

int
audit_sink_cursor(struct audit_sink *k, const char *path)
{
	char text[32], *end;
	unsigned long long seq;
	ssize_t n;
	int fd;

	if (k == NULL || k->owned)
		return 0;		/* a file sink reads its own file */
	if ((k->cursor = mem_strdup(path)) == NULL)
		return TSS_E_NOMEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			return TSS_E_IO;
		k->saved = k->last;
		return cursor_write(path, k->last);
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	errno = 0;
	if (n > 0) {
		text[n] = '\0';
		seq = strtoull(text, &end, 10);
	}
	if (n <= 0 || errno != 0 || end == text || *end != '\n' ||
	    seq > k->head) {
		log_warn("audit sink %s: %s does not hold a seq of this chain: "
		    "starting at its head, event %llu", k->name, path,
		    (unsigned long long)k->head);
		k->saved = k->last;
		return cursor_write(path, k->last);
	}
	if (seq < k->last)
		log_info("audit sink %s: resuming after event %llu, %llu to "
		    "deliver", k->name, seq, (unsigned long long)k->last - seq);
	k->last = k->saved = seq;
	atomic_store(&k->st_last, k->last);
	return 0;
}

/*
 * After a flush: the cursor's file follows what was delivered, at most
 * once a second (a sync each time is the sink thread's only disk write;
 * a crash then repeats at most a second of events) and at the last flush.
 */
static void
cursor_follow(struct audit_sink *k, int64_t now, unsigned flags)
{
	if (k->cursor == NULL || k->saved == k->last ||
	    (now == k->cursor_at && !(flags & AUDIT_SINK_FINAL)))
		return;
	k->cursor_at = now;
	if (cursor_write(k->cursor, k->last) != 0) {
		if (!k->cursor_failing)
			log_warn("audit sink %s: cannot write %s: %s; a restart "
			    "would deliver again from event %llu", k->name,
			    k->cursor, strerror(errno),
			    (unsigned long long)k->saved + 1);
		k->cursor_failing = 1;
		return;
	}
	k->saved = k->last;
	k->cursor_failing = 0;
}

int
audit_sink_flush_at(struct audit_sink *k, struct store *s, int64_t now,
    unsigned flags)
{
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *kp, *v;
	size_t kl, vl;
	uint8_t key[8];
	uint64_t seq;
	char *text;
	int r, r2;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->lock);
	if ((r = store_begin(s, 0, &t)) != 0 ||
	    (r = store_counter_get(t, STORE_CTR_AUDIT_SEQ, &k->head)) != 0)
		goto out;
	/* Backing off: nothing is tried before retry_at. */
	if (k->failing && now < k->retry_at && !(flags & AUDIT_SINK_FINAL)) {
		r = TSS_E_IO;
		goto quiet;
	}
	/* What an earlier flush could not deliver goes first. */
	if ((r = sink_drain(k)) != 0 ||
	    (r = store_cursor_open(t, STORE_DB_AUDIT, &c)) != 0)
		goto out;
	buf_poke_u64(key, k->last + 1);
	for (r = store_cursor_seek(c, key, sizeof(key), &kp, &kl, &v, &vl);
	    r == 0; r = store_cursor_next(c, &kp, &kl, &v, &vl)) {
		if ((r = audit__record_text(v, vl, &text)) != 0)
			break;
		r = sink_queue(k, text);
		free(text);
		if (r != 0 || (buf_len(k->out) >= SINK_CHUNK &&
		    (r = sink_drain(k)) != 0))
			break;
		seq = kl == 8 ? buf_peek_u64(kp) : 0;
		if (k->ckey != NULL && seq > k->ck_seq &&
		    seq - k->ck_seq >= k->ck_every &&
		    (r = sink_checkpoint(k, t, seq, now)) != 0)
			break;
	}
	if (r == TSS_E_NOT_FOUND)
		r = 0;
	/* What was read before a failure still goes out. */
	if (r != TSS_E_IO && (r2 = sink_drain(k)) != 0 && r == 0)
		r = r2;
	/* The rest is signed once the interval has passed (or at the end). */
	if (r == 0 && k->ckey != NULL && k->last > k->ck_seq &&
	    ((flags & AUDIT_SINK_FINAL) != 0 ||
	    now - k->ck_time >= k->ck_interval))
		r = sink_checkpoint(k, t, k->last, now);
 out:
	/* A failing sink must not make a timed checkpoint due at once again
	 * (the sink thread would spin): try it after the interval. */
	if (r != 0 && k->ckey != NULL)
		k->ck_time = now;
	sink_outcome(k, r, now);
 quiet:
	cursor_follow(k, now, flags);
	if (r != 0 && (flags & AUDIT_SINK_FINAL) && k->head > k->last)
		log_error("audit sink %s: stopping with events %llu to %llu "
		    "not delivered (GET /v1/audit?after=%llu has them)",
		    k->name, (unsigned long long)k->last + 1,
		    (unsigned long long)k->head, (unsigned long long)k->last);
	store_cursor_close(c);
	store_abort(t);
	pthread_mutex_unlock(&k->lock);
	return r;
}

void
audit_sink_stats(struct audit_sink *k, struct store *s, uint64_t *lag,
    uint64_t *failures)
{
	struct store_txn *t = NULL;
	uint64_t head = 0, last;

	*lag = *failures = 0;
	if (k == NULL)
		return;
	if (store_begin(s, 0, &t) == 0)
		(void)store_counter_get(t, STORE_CTR_AUDIT_SEQ, &head);
	store_abort(t);
	last = atomic_load(&k->st_last);
	*lag = head > last ? head - last : 0;
	*failures = atomic_load(&k->st_failures);
}

void
audit_sink_close(struct audit_sink *k)
{
	if (k == NULL)
		return;
	if (k->owned || (k->sock != NULL && k->fd != -1))
		close(k->fd);
	free(k->cursor);
	free(k->name);
	buf_free(k->out);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
