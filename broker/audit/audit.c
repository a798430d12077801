/*
 * The audit chain.  An event is stored as a versioned record holding its
 * canonical JSON (keys sorted, compact).  The hash of event n is
 * SHA-256 over the canonical JSON of the event without "hash"; that JSON
 * holds "prev", the hash of event n-1 (64 zeros for the first), so
 * altering, removing or reordering any event breaks every later link.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"
#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "store/record.h"
#include "store/store.h"

#define REC_AUDIT	'A'
#define REC_AUDIT_V	1
#define HEAD_KEY	"audit_head"
#define HASH_FIELD	",\"hash\":\""
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

static int
sha256_hex(const char *s, char out[65])
{
	uint8_t md[32];
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1)
		return TSS_E_CRYPTO;
	hex_encode(md, sizeof(md), out);
	return 0;
}

static int
head_get(struct store_txn *t, char head[65])
{
	const void *v;
	size_t vl;
	int r;

	r = store_get(t, STORE_DB_META, HEAD_KEY, sizeof(HEAD_KEY) - 1, &v, &vl);
	if (r == TSS_E_NOT_FOUND) {
		memcpy(head, ZERO_HASH, 65);
		return 0;
	}
	if (r != 0)
		return r;
	if (vl != 64)
		return TSS_E_BAD_FORMAT;
	memcpy(head, v, 64);
	head[64] = '\0';
	return 0;
}

static void
rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

int
audit_append(struct store_txn *t, const struct audit_event *ev, int64_t now,
    uint64_t *seqp)
{
	json_t *o = NULL;
	struct buf *b = NULL;
	char prev[65], hash[65], ts[32], *text = NULL;
	uint8_t key[8];
	uint64_t seq;
	size_t len;
	int r = TSS_E_INTERNAL;

	if (seqp != NULL)
		*seqp = 0;
	if (ev->actor == NULL || ev->action == NULL || ev->result == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = head_get(t, prev)) != 0 ||
	    (r = store_counter_next(t, STORE_CTR_AUDIT_SEQ, &seq)) != 0)
		goto out;
	rfc3339(now, ts);
	r = TSS_E_NOMEM;
	if ((o = json_object()) == NULL)
		goto out;
	if (ev->fields != NULL && json_object_update(o, ev->fields) != 0)
		goto out;
	/* The fixed fields win over anything in ev->fields. */
	if (json_object_set_new(o, "seq", json_integer((json_int_t)seq)) ||
	    json_object_set_new(o, "time", json_string(ts)) ||
	    json_object_set_new(o, "actor", json_string(ev->actor)) ||
	    json_object_set_new(o, "action", json_string(ev->action)) ||
	    json_object_set_new(o, "object", str_or_null(ev->object)) ||
	    json_object_set_new(o, "result", json_string(ev->result)) ||
	    json_object_set_new(o, "remote_addr", str_or_null(ev->remote_addr)) ||
	    json_object_set_new(o, "prev", json_string(prev)))
		goto out;
	if (ev->request_id != NULL &&
	    json_object_set_new(o, "request_id", json_string(ev->request_id)))
		goto out;
	if ((text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT)) == NULL ||
	    (b = buf_new()) == NULL)
		goto out;
	if ((r = sha256_hex(text, hash)) != 0)
		goto out;
	/*
	 * Stored: the canonical text with "hash" spliced in last, so one
	 * serialisation serves both; readers parse it as any JSON object.
	 */
	len = strlen(text);
	if ((r = rec_begin(b, REC_AUDIT, REC_AUDIT_V)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)(len - 1 + sizeof(HASH_FIELD) - 1 +
	    64 + 2))) != 0 ||
	    (r = buf_put(b, text, len - 1)) != 0 ||
	    (r = buf_put(b, HASH_FIELD, sizeof(HASH_FIELD) - 1)) != 0 ||
	    (r = buf_put(b, hash, 64)) != 0 ||
	    (r = buf_put(b, "\"}", 2)) != 0)
		goto out;
	buf_poke_u64(key, seq);
	if ((r = store_put(t, STORE_DB_AUDIT, key, sizeof(key), buf_ptr(b),
	    buf_len(b), STORE_NOOVERWRITE)) != 0 ||
	    (r = store_put(t, STORE_DB_META, HEAD_KEY, sizeof(HEAD_KEY) - 1,
	    hash, 64, 0)) != 0)
		goto out;
	if (seqp != NULL)
		*seqp = seq;
	r = 0;
 out:
	free(text);
	buf_free(b);
	json_decref(o);
	return r;
}

/* Decode a stored value into its JSON text (allocated). */
static int
record_text(const void *v, size_t vl, char **text)
{
	struct buf *view = NULL;
	uint8_t ver;
	size_t len;
	int r;

	*text = NULL;
	if ((r = rec_open(v, vl, REC_AUDIT, REC_AUDIT_V, &view, &ver)) != 0)
		return r;
	r = buf_get_cstring(view, text, &len);
	if (r == 0 && buf_len(view) != 0) {
		free(*text);
		*text = NULL;
		r = TSS_E_TRAILING_DATA;
	}
	buf_free(view);
	return r;
}

int
audit_get(struct store_txn *t, uint64_t seq, json_t **out)
{
	const void *v;
	char *text = NULL;
	uint8_t key[8];
	size_t vl;
	int r;

	*out = NULL;
	buf_poke_u64(key, seq);
	if ((r = store_get(t, STORE_DB_AUDIT, key, sizeof(key), &v, &vl)) != 0 ||
	    (r = record_text(v, vl, &text)) != 0)
		return r;
	*out = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	return *out != NULL ? 0 : TSS_E_BAD_FORMAT;
}

/* Check one stored event against the running chain; advance it. */
static int
verify_one(const void *v, size_t vl, uint64_t want_seq, char chain[65])
{
	json_t *o = NULL, *h;
	char *text = NULL, *body = NULL, hash[65];
	const char *prev, *stored;
	int r;

	if ((r = record_text(v, vl, &text)) != 0)
		goto out;
	r = TSS_E_SIGNATURE;
	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		goto out;
	prev = json_string_value(json_object_get(o, "prev"));
	h = json_object_get(o, "hash");
	if (prev == NULL || (stored = json_string_value(h)) == NULL ||
	    strcmp(prev, chain) != 0 ||
	    json_integer_value(json_object_get(o, "seq")) != (json_int_t)want_seq)
		goto out;
	json_incref(h);
	json_object_del(o, "hash");
	body = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_object_set_new(o, "hash", h);
	if (body == NULL || sha256_hex(body, hash) != 0 ||
	    strcmp(hash, stored) != 0)
		goto out;
	memcpy(chain, hash, 65);
	r = 0;
 out:
	free(body);
	free(text);
	json_decref(o);
	return r;
}

int
audit_verify(struct store_txn *t, uint64_t *count, char head[65],
    uint64_t *bad)
{
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	char chain[65], stored_head[65];
	uint64_t n = 0, last = 0;
	uint8_t want[8];
	int r;

	*count = 0;
	*bad = 0;
	memcpy(chain, ZERO_HASH, 65);
	if ((r = store_cursor_open(t, STORE_DB_AUDIT, &c)) != 0)
		return r;
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl)) {
		buf_poke_u64(want, n + 1);
		if (kl != 8 || memcmp(k, want, 8) != 0 ||
		    verify_one(v, vl, n + 1, chain) != 0) {
			*bad = n + 1;
			r = TSS_E_SIGNATURE;
			goto out;
		}
		n++;
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	/* Events removed from the end leave the counter and head ahead. */
	if ((r = store_counter_get(t, STORE_CTR_AUDIT_SEQ, &last)) != 0 ||
	    (r = head_get(t, stored_head)) != 0)
		goto out;
	if (last != n || strcmp(stored_head, chain) != 0) {
		*bad = n + 1;
		r = TSS_E_SIGNATURE;
		goto out;
	}
	*count = n;
	memcpy(head, chain, 65);
	r = 0;
 out:
	store_cursor_close(c);
	return r;
}

struct audit_sink {
	pthread_mutex_t lock;
	int fd;			/* -1 for syslog */
	int owned;		/* close fd on free */
	uint64_t last;		/* last seq written */
};

/* Last seq in an existing JSON-lines file (0 when empty or unreadable). */
static uint64_t
file_last_seq(int fd)
{
	char tail[8192], *nl, *start;
	off_t size, from;
	ssize_t n;
	json_t *o;
	uint64_t seq = 0;

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
	if ((o = json_loads(start, 0, NULL)) != NULL) {
		json_int_t v = json_integer_value(json_object_get(o, "seq"));

		seq = v > 0 ? (uint64_t)v : 0;
		json_decref(o);
	}
	return seq;
}

int
audit_sink_open(const char *spec, struct store *s, struct audit_sink **out)
{
	struct audit_sink *k;
	struct store_txn *t = NULL;
	int r;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return TSS_E_NOMEM;
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
			free(k);
			return r;
		}
		k->owned = 1;
		k->last = file_last_seq(k->fd);
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

static int
sink_write(struct audit_sink *k, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	char *line;

	if (k->fd == -1) {
		syslog(LOG_INFO, "%s", text);
		return 0;
	}
	if ((line = malloc(len + 1)) == NULL)
		return TSS_E_NOMEM;
	memcpy(line, text, len);
	line[len++] = '\n';
	while (off < len) {
		if ((n = write(k->fd, line + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			free(line);
			return TSS_E_IO;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

int
audit_sink_flush(struct audit_sink *k, struct store *s)
{
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *kp, *v;
	size_t kl, vl;
	uint8_t key[8];
	char *text;
	int r;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->lock);
	if ((r = store_begin(s, 0, &t)) != 0 ||
	    (r = store_cursor_open(t, STORE_DB_AUDIT, &c)) != 0)
		goto out;
	buf_poke_u64(key, k->last + 1);
	for (r = store_cursor_seek(c, key, sizeof(key), &kp, &kl, &v, &vl);
	    r == 0; r = store_cursor_next(c, &kp, &kl, &v, &vl)) {
		if ((r = record_text(v, vl, &text)) != 0)
			goto out;
		r = sink_write(k, text);
		free(text);
		if (r != 0)
			goto out;
		k->last++;
	}
	if (r == TSS_E_NOT_FOUND)
		r = 0;
 out:
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
	pthread_mutex_destroy(&k->lock);
	free(k);
}
