/*
 * The audit chain.  An event is stored as a versioned record holding its
 * canonical JSON (keys sorted, compact).  The hash of event n is
 * SHA-256 over the canonical JSON of the event without "hash"; that JSON
 * holds "prev", the hash of event n-1 (64 zeros for the first), so
 * altering, removing or reordering any event breaks every later link.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "checkpoint.h"
#include "internal.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/record.h"
#include "store/store.h"

#define REC_AUDIT	'A'
#define REC_AUDIT_V	1
#define HEAD_KEY	"audit_head"
#define HASH_FIELD	",\"hash\":\""
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define STACK_KEYS	16	/* members gathered without malloc */

static int
sha256_hex(const void *p, size_t len, char out[65])
{
	uint8_t d[SHA256_LEN];
	int r;

	if ((r = sha256(p, len, d)) != 0)
		return r;
	hex_encode(d, sizeof(d), out);
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

int
audit_time_text(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return TSS_E_INVALID_ARGUMENT;
	return 0;
}

/*
 * Canonical text.  The chain hashes jansson's json_dumps(JSON_SORT_KEYS |
 * JSON_COMPACT) output, and audit_verify checks it by dumping again, so
 * what is written here must be that output byte for byte: common/jsonw
 * writes it, the event's own members merged and sorted here.
 */

struct member {
	const char *key;
	size_t klen;
	const json_t *v;
	const char *s;		/* string value of a fixed member; NULL: null */
	int splice;		/* 0, or SPLICE_PREV / SPLICE_SEQ */
};

#define SPLICE_PREV	1
#define SPLICE_SEQ	2

static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return jsonw_key_cmp(x->key, x->klen, y->key, y->klen);
}

/* The object's members, unsorted, into m (room for max). */
static void
members_of(const json_t *o, struct member *m, size_t max, size_t *n)
{
	void *it;

	*n = 0;
	for (it = json_object_iter(jsonw_iterable(o)); it != NULL && *n < max;
	    it = json_object_iter_next(jsonw_iterable(o), it)) {
		m[*n].key = json_object_iter_key(it);
		m[*n].klen = json_object_iter_key_len(it);
		m[*n].v = json_object_iter_value(it);
		m[*n].s = NULL;
		m[*n].splice = 0;
		(*n)++;
	}
}

/*
 * The prepared event: its canonical text without the digits of seq and
 * with zeros in place of prev.  prev_off < seq_off, as "prev" sorts
 * before "seq".
 */
struct audit_prep {
	struct jsonw text;
	size_t prev_off;	/* the 64 hex digits of prev go here */
	size_t seq_off;		/* the digits of seq are inserted here */
};

void
audit_prep_free(struct audit_prep *p)
{
	if (p == NULL)
		return;
	jsonw_free(&p->text);
	free(p);
}

static void
fixed(struct member *m, const char *key, const char *s, int splice)
{
	m->key = key;
	m->klen = strlen(key);
	m->v = NULL;
	m->s = s;
	m->splice = splice;
}

int
audit_prepare(const struct audit_event *ev, int64_t now,
    struct audit_prep **out)
{
	struct audit_prep *p = NULL;
	struct member stack[STACK_KEYS + 9], *m = stack, *f;
	char ts[32];
	size_t nfix = 0, nf = 0, n, i, j, size = 0;
	int trunc = 0, r = TSS_E_INVALID_ARGUMENT;

	*out = NULL;
	if (ev == NULL || ev->actor == NULL || ev->action == NULL ||
	    ev->result == NULL ||
	    (ev->fields != NULL && !json_is_object(ev->fields)) ||
	    (r = audit_time_text(now, ts)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if (ev->fields != NULL)
		size = json_object_size(ev->fields);
	if (size > STACK_KEYS && (size > SIZE_MAX / sizeof(*m) - 9 ||
	    (m = mem_calloc(size + 9, sizeof(*m))) == NULL))
		goto out;
	/* The fixed members win over ev->fields. */
	fixed(&m[nfix++], "action", ev->action, 0);
	fixed(&m[nfix++], "actor", ev->actor, 0);
	fixed(&m[nfix++], "object", ev->object, 0);
	fixed(&m[nfix++], "prev", NULL, SPLICE_PREV);
	fixed(&m[nfix++], "remote_addr", ev->remote_addr, 0);
	if (ev->request_id != NULL)
		fixed(&m[nfix++], "request_id", ev->request_id, 0);
	fixed(&m[nfix++], "result", ev->result, 0);
	fixed(&m[nfix++], "seq", NULL, SPLICE_SEQ);
	fixed(&m[nfix++], "time", ts, 0);
	if (ev->fields != NULL) {
		f = m + nfix;
		members_of(ev->fields, f, size, &n);
		r = TSS_E_INTERNAL;
		if (n != size)
			goto out;
		/*
		 * json_object_update copied the keys as C strings: a key
		 * with a NUL lost the rest, and the last of the keys that
		 * became equal won.
		 */
		for (i = 0; i < n; i++) {
			if ((j = strlen(f[i].key)) != f[i].klen) {
				f[i].klen = j;
				trunc = 1;
			}
		}
		for (i = 0; i < n; i++) {
			/* A second "hash" would make the event unreadable. */
			r = TSS_E_INVALID_ARGUMENT;
			if (f[i].klen == 4 && memcmp(f[i].key, "hash", 4) == 0)
				goto out;
			for (j = 0; j < nfix; j++)
				if (member_cmp(&f[i], &m[j]) == 0)
					break;
			if (j != nfix)
				continue;
			for (j = i + 1; trunc && j < n; j++)
				if (member_cmp(&f[i], &f[j]) == 0)
					break;
			if (!trunc || j == n)
				f[nf++] = f[i];
		}
	}
	n = nfix + nf;
	qsort(m, n, sizeof(*m), member_cmp);

	r = TSS_E_NOMEM;
	if ((p = mem_calloc(1, sizeof(*p))) == NULL)
		goto out;
	if ((r = jsonw_char(&p->text, '{')) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((i > 0 && (r = jsonw_char(&p->text, ',')) != 0) ||
		    (r = jsonw_str(&p->text, m[i].key, m[i].klen)) != 0 ||
		    (r = jsonw_char(&p->text, ':')) != 0)
			goto out;
		if (m[i].v != NULL)
			r = jsonw_value(&p->text, m[i].v, 1);
		else if (m[i].splice == SPLICE_PREV) {
			p->prev_off = p->text.len + 1;
			r = jsonw_str(&p->text, ZERO_HASH, 64);
		} else if (m[i].splice == SPLICE_SEQ) {
			p->seq_off = p->text.len;
			r = 0;
		} else if (m[i].s != NULL)
			r = jsonw_str(&p->text, m[i].s, strlen(m[i].s));
		else
			r = jsonw_raw(&p->text, "null", 4);
		if (r != 0)
			goto out;
	}
	if ((r = jsonw_char(&p->text, '}')) != 0)
		goto out;
	r = TSS_E_INTERNAL;
	if (p->prev_off == 0 || p->seq_off <= p->prev_off + 64)
		goto out;
	*out = p;
	p = NULL;	/* transferred */
	r = 0;
 out:
	if (m != stack)
		free(m);
	audit_prep_free(p);
	return r;
}

int
audit_append_prep(struct store_txn *t, const struct audit_prep *p,
    uint64_t *seqp)
{
	struct buf *b = NULL;
	const char *text;
	uint8_t key[8], *dst;
	char prev[65], hash[65], num[24];
	size_t tl, nl, len, slen;
	uint64_t seq;
	int r = TSS_E_INTERNAL;

	if (seqp != NULL)
		*seqp = 0;
	if (p == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = head_get(t, prev)) != 0 ||
	    (r = store_counter_next(t, STORE_CTR_AUDIT_SEQ, &seq)) != 0)
		goto out;
	text = p->text.p;
	tl = p->text.len;
	nl = jsonw_fmt_int(num, (json_int_t)seq);
	len = tl + nl;
	/*
	 * Stored: the canonical text with "hash" spliced in last, so one
	 * serialisation serves both; readers parse it as any JSON object.
	 */
	slen = len - 1 + sizeof(HASH_FIELD) - 1 + 64 + 2;
	r = TSS_E_NOMEM;
	if ((b = buf_new()) == NULL)
		goto out;
	if ((r = rec_begin(b, REC_AUDIT, REC_AUDIT_V)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)slen)) != 0 ||
	    (r = buf_reserve(b, slen, &dst)) != 0)
		goto out;
	memcpy(dst, text, p->seq_off);
	memcpy(dst + p->prev_off, prev, 64);
	memcpy(dst + p->seq_off, num, nl);
	memcpy(dst + p->seq_off + nl, text + p->seq_off, tl - p->seq_off);
	if ((r = sha256_hex(dst, len, hash)) != 0)
		goto out;
	memcpy(dst + len - 1, HASH_FIELD, sizeof(HASH_FIELD) - 1);
	memcpy(dst + len - 1 + sizeof(HASH_FIELD) - 1, hash, 64);
	memcpy(dst + slen - 2, "\"}", 2);
	buf_poke_u64(key, seq);
	if ((r = store_put(t, STORE_DB_AUDIT, key, sizeof(key), buf_ptr(b),
	    buf_len(b), STORE_NOOVERWRITE | STORE_APPEND)) != 0 ||
	    (r = store_put(t, STORE_DB_META, HEAD_KEY, sizeof(HEAD_KEY) - 1,
	    hash, 64, 0)) != 0)
		goto out;
	if (seqp != NULL)
		*seqp = seq;
	r = 0;
 out:
	buf_free(b);
	return r;
}

int
audit_append(struct store_txn *t, const struct audit_event *ev, int64_t now,
    uint64_t *seqp)
{
	struct audit_prep *p = NULL;
	int r;

	if (seqp != NULL)
		*seqp = 0;
	if ((r = audit_prepare(ev, now, &p)) == 0)
		r = audit_append_prep(t, p, seqp);
	audit_prep_free(p);
	return r;
}

int
audit__record_text(const void *v, size_t vl, char **text)
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
audit_get_text(struct store_txn *t, uint64_t seq, char **text)
{
	const void *v;
	uint8_t key[8];
	size_t vl;
	int r;

	*text = NULL;
	buf_poke_u64(key, seq);
	if ((r = store_get(t, STORE_DB_AUDIT, key, sizeof(key), &v, &vl)) != 0)
		return r;
	return audit__record_text(v, vl, text);
}

int
audit_parse(const char *text, json_t **out)
{
	/* NULL: bad text, or jansson's allocator refused (errno ENOMEM;
	 * its error code does not say so reliably). */
	errno = 0;
	*out = mem_json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES,
	    NULL);
	if (*out != NULL)
		return 0;
	return errno == ENOMEM ? TSS_E_NOMEM : TSS_E_BAD_FORMAT;
}

int
audit_get(struct store_txn *t, uint64_t seq, json_t **out)
{
	char *text = NULL;
	int r;

	*out = NULL;
	if ((r = audit_get_text(t, seq, &text)) != 0)
		return r;
	r = audit_parse(text, out);
	free(text);
	return r;
}

/* Check one stored event against the running chain; advance it.
 * TSS_E_NOMEM when it could not be checked, any other error when it is
 * bad. */
static int
verify_one(const void *v, size_t vl, uint64_t want_seq, char chain[65])
{
	json_t *o = NULL, *h, *held = NULL;
	char *text = NULL, *body = NULL, hash[65];
	const char *prev, *stored;
	int r;

	if ((r = audit__record_text(v, vl, &text)) != 0)
		goto out;
	errno = 0;	/* ENOMEM: jansson's allocator refused */
	if ((o = mem_json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES,
	    NULL)) == NULL) {
		r = errno == ENOMEM ? TSS_E_NOMEM : TSS_E_SIGNATURE;
		goto out;
	}
	r = TSS_E_SIGNATURE;
	prev = json_string_value(json_object_get(o, "prev"));
	h = json_object_get(o, "hash");
	if (prev == NULL || (stored = json_string_value(h)) == NULL ||
	    strcmp(prev, chain) != 0 ||
	    json_integer_value(json_object_get(o, "seq")) != (json_int_t)want_seq)
		goto out;
	/* Ours while stored points into it: no putting it back, which
	 * frees it when the object cannot grow. */
	held = json_incref(h);
	json_object_del(o, "hash");
	errno = 0;
	if ((body = mem_json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT)) ==
	    NULL && errno == ENOMEM)
		r = TSS_E_NOMEM;
	if (body == NULL || sha256_hex(body, strlen(body), hash) != 0 ||
	    strcmp(hash, stored) != 0)
		goto out;
	memcpy(chain, hash, 65);
	r = 0;
 out:
	free(body);
	free(text);
	json_decref(held);
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
		r = kl != 8 || memcmp(k, want, 8) != 0 ? TSS_E_SIGNATURE :
		    verify_one(v, vl, n + 1, chain);
		if (r == TSS_E_NOMEM)
			goto out;	/* not checked: no verdict */
		if (r != 0) {
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

int
audit_record(struct store_txn *t, const struct audit_actor *by,
    const char *action, const char *object, const char *result,
    json_t *fields, int64_t now, uint64_t *seq)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.actor = by != NULL && by->name != NULL ? by->name : "local";
	ev.action = action;
	ev.object = object;
	ev.result = result;
	ev.remote_addr = by != NULL ? by->remote_addr : NULL;
	ev.request_id = by != NULL ? by->request_id : NULL;
	ev.fields = fields;
	return audit_append(t, &ev, now, seq);
}
