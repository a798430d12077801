/*
 * Audit sinks: stream committed events, in seq order and as whole lines,
 * to a file, a pipe or syslog, with signed checkpoints between them.  See
 * audit.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
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

struct audit_sink {
	pthread_mutex_t lock;
	int fd;			/* -1 for syslog */
	int owned;		/* close fd on free */
	uint64_t last;		/* last seq written */
	struct buf *out;	/* lines not yet written, one per event */
	/* Checkpoints (audit_sink_checkpoints); ckey NULL: none. */
	struct cakey *ckey;
	uint64_t ck_every;
	int64_t ck_interval;
	uint64_t ck_seq;	/* event of the last checkpoint written */
	int64_t ck_time;	/* when the last one was made or tried */
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
	struct audit_sink *k;
	struct store_txn *t = NULL;
	int r, ckpt = 0;

	*out = NULL;
	if ((k = mem_calloc(1, sizeof(*k))) == NULL)
		return TSS_E_NOMEM;
	if ((k->out = buf_new()) == NULL) {
		free(k);
		return TSS_E_NOMEM;
	}
	pthread_mutex_init(&k->lock, NULL);
	if (strcmp(spec, "-") == 0) {
		k->fd = STDERR_FILENO;
	} else if (strcmp(spec, "syslog") == 0) {
		k->fd = -1;
		openlog("tesserad", LOG_PID, LOG_AUTHPRIV);
	} else {
		if ((k->fd = open(spec, O_RDWR | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0600)) == -1) {
			r = errno == EACCES ? TSS_E_PERMISSION : TSS_E_IO;
			buf_free(k->out);
			free(k);
			return r;
		}
		k->owned = 1;
		if ((r = file_last_seq(k->fd, &k->last, &ckpt)) != 0) {
			audit_sink_close(k);
			return r;
		}
		/* A restart does not sign again what is signed already. */
		if (ckpt)
			k->ck_seq = k->last;
	}
	if (!k->owned) {
		if ((r = store_begin(s, 0, &t)) != 0 ||
		    (r = store_counter_get(t, STORE_CTR_AUDIT_SEQ,
		    &k->last)) != 0) {
			store_abort(t);
			audit_sink_close(k);
			return r;
		}
		store_abort(t);
	}
	*out = k;
	return 0;
}

/*
 * Write the buffered lines; an event counts as delivered once its whole
 * line is written.  After a failure the next flush starts again from the
 * first line not wholly written.
 */
static int
sink_drain(struct audit_sink *k)
{
	const uint8_t *p = buf_ptr(k->out);
	size_t len = buf_len(k->out), off = 0;
	ssize_t n;
	int r = 0;

	while (off < len) {
		if ((n = write(k->fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			r = TSS_E_IO;
			break;
		}
		off += (size_t)n;
	}
	while (off > 0)
		if (p[--off] == '\n')
			k->last++;
	buf_reset(k->out);
	return r;
}

/* One event's line: to syslog now, or buffered for the file. */
static int
sink_write(struct audit_sink *k, const char *text)
{
	size_t len = strlen(text);
	uint8_t *dst;
	int r;

	if (k->fd == -1) {
		syslog(LOG_INFO, "%s", text);
		k->last++;
		return 0;
	}
	if ((r = buf_reserve(k->out, len + 1, &dst)) != 0)
		return r;
	memcpy(dst, text, len);
	dst[len] = '\n';
	return buf_len(k->out) >= SINK_CHUNK ? sink_drain(k) : 0;
}

/* A line that is not an event (not counted in last), newline added. */
static int
sink_line(struct audit_sink *k, const char *line)
{
	size_t len = strlen(line), off = 0;
	char *p;
	ssize_t n;
	int r = 0;

	if (k->fd == -1) {
		syslog(LOG_INFO, "%s", line);
		return 0;
	}
	/* One write for the line and its newline, so it arrives whole. */
	if ((p = mem_malloc(len + 1)) == NULL)
		return TSS_E_NOMEM;
	memcpy(p, line, len);
	p[len] = '\n';
	while (off < len + 1) {
		if ((n = write(k->fd, p + off, len + 1 - off)) == -1) {
			if (errno == EINTR)
				continue;
			r = TSS_E_IO;
			break;
		}
		off += (size_t)n;
	}
	free(p);
	return r;
}

/*
 * Sign event seq (read in t) and write the checkpoint after the events
 * up to it, which are drained first.  A failure is logged; a later flush
 * tries again.
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
	    (r = sink_line(k, line)) != 0)
		goto out;
	k->ck_seq = seq;
	r = 0;
 out:
	if (r != 0)
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
	pthread_mutex_unlock(&k->lock);
	return due;
}

int
audit_sink_flush(struct audit_sink *k, struct store *s)
{
	return audit_sink_flush_at(k, s, (int64_t)time(NULL), 0);
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
	    (r = store_cursor_open(t, STORE_DB_AUDIT, &c)) != 0)
		goto out;
	buf_poke_u64(key, k->last + 1);
	for (r = store_cursor_seek(c, key, sizeof(key), &kp, &kl, &v, &vl);
	    r == 0; r = store_cursor_next(c, &kp, &kl, &v, &vl)) {
		if ((r = audit__record_text(v, vl, &text)) != 0)
			break;
		r = sink_write(k, text);
		free(text);
		if (r != 0)
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
	if ((r2 = sink_drain(k)) != 0 && r == 0)
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
	if (r != 0)
		log_warn("audit sink: %s", tss_strerror(r));
	store_cursor_close(c);
	store_abort(t);
	pthread_mutex_unlock(&k->lock);
	return r;
}

void
audit_sink_close(struct audit_sink *k)
{
	if (k == NULL)
		return;
	if (k->owned)
		close(k->fd);
	if (k->fd == -1)
		closelog();
	buf_free(k->out);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
