/*
 * The audit trail read by admins: keyset pages by seq (never an offset,
 * so a page over millions of events costs what a page over ten does),
 * filters evaluated here, and the chain's verification.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "audit/audit.h"
#include "auth/ratelimit.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "store/store.h"

#define AUDIT_LIST_DEFAULT	100
#define AUDIT_LIST_MAX		1000

static int
parse_count(const char *s, uint64_t dflt, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL) {
		*out = dflt;
		return 0;
	}
	if (s[0] < '0' || s[0] > '9')
		return TSS_E_VALIDATION;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v > max)
		return TSS_E_VALIDATION;
	*out = v;
	return 0;
}

/* Two digits of s at i, or -1. */
static int
two(const char *s, size_t i)
{
	if (s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
		return -1;
	return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

/* An event's "time" shape, "2026-12-07T03:40:00Z", so that strcmp orders
 * it against the events' own. */
static int
valid_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;
	int mo, d, h, mi, se;

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return 0;
	mo = two(s, 5);
	d = two(s, 8);
	h = two(s, 11);
	mi = two(s, 14);
	se = two(s, 17);
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 &&
	    mi <= 59 && se <= 60;
}

static int
match(const json_t *e, const struct broker_audit_q *q)
{
	const char *v;
	size_t n;

	if (q->actor != NULL && ((v = json_string_value(json_object_get(e,
	    "actor"))) == NULL || strcmp(v, q->actor) != 0))
		return 0;
	if (q->object != NULL && ((v = json_string_value(json_object_get(e,
	    "object"))) == NULL || strcmp(v, q->object) != 0))
		return 0;
	if (q->action != NULL) {
		n = strlen(q->action);
		if ((v = json_string_value(json_object_get(e, "action"))) ==
		    NULL)
			return 0;
		if (n > 0 && q->action[n - 1] == '.' ?
		    strncmp(v, q->action, n) != 0 : strcmp(v, q->action) != 0)
			return 0;
	}
	return 1;
}

/*
 * Whether text (an event's canonical JSON) can hold "key":"value": a
 * plain value (printable ASCII, no quote or backslash) is written as is,
 * so its absence rules the event out without parsing it.  prefix: value
 * may go on.  Anything else: maybe.
 */
static int
has_member(const char *text, const char *key, const char *value, int prefix)
{
	char pat[300];
	const char *p;
	int n;

	for (p = value; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return 1;
	n = snprintf(pat, sizeof(pat), "\"%s\":\"%s%s", key, value,
	    prefix ? "" : "\"");
	return n < 0 || (size_t)n >= sizeof(pat) || strstr(text, pat) != NULL;
}

static int
maybe(const char *text, const struct broker_audit_q *q)
{
	size_t n = q->action != NULL ? strlen(q->action) : 0;

	return (q->actor == NULL || has_member(text, "actor", q->actor, 0)) &&
	    (q->object == NULL || has_member(text, "object", q->object, 0)) &&
	    (q->action == NULL || has_member(text, "action", q->action,
	    n > 0 && q->action[n - 1] == '.'));
}

/* -1: before the range in the walk's direction (skip), 1: past it (stop),
 * 0: inside. */
static int
in_range(const json_t *e, const struct broker_audit_q *q, int newest)
{
	const char *t = json_string_value(json_object_get(e, "time"));

	if (t == NULL)
		return -1;
	if (q->until != NULL && strcmp(t, q->until) > 0)
		return newest ? -1 : 1;
	if (q->since != NULL && strcmp(t, q->since) < 0)
		return newest ? 1 : -1;
	return 0;
}

static int
check_query(const struct broker_audit_q *q, int *newest, char *errmsg,
    size_t len)
{
	static const char *const names[] = { "actor", "action", "object" };
	const char *v[3];
	size_t i;

	v[0] = q->actor;
	v[1] = q->action;
	v[2] = q->object;
	*newest = 0;
	if (q->order != NULL && strcmp(q->order, "newest") == 0)
		*newest = 1;
	else if (q->order != NULL && strcmp(q->order, "oldest") != 0) {
		snprintf(errmsg, len, "order: newest or oldest");
		return TSS_E_VALIDATION;
	}
	if (q->before != NULL && (!*newest || q->after != NULL)) {
		snprintf(errmsg, len, "before: only with order=newest and "
		    "without after");
		return TSS_E_VALIDATION;
	}
	if (q->after != NULL && *newest) {
		snprintf(errmsg, len, "after: not with order=newest");
		return TSS_E_VALIDATION;
	}
	for (i = 0; i < 3; i++) {
		if (v[i] != NULL && (v[i][0] == '\0' || strlen(v[i]) > 256)) {
			snprintf(errmsg, len, "%s: 1 to 256 characters",
			    names[i]);
			return TSS_E_VALIDATION;
		}
	}
	if (q->since != NULL && !valid_time(q->since)) {
		snprintf(errmsg, len, "since: a UTC time as "
		    "2026-12-07T03:40:00Z");
		return TSS_E_VALIDATION;
	}
	if (q->until != NULL && !valid_time(q->until)) {
		snprintf(errmsg, len, "until: a UTC time as "
		    "2026-12-07T03:40:00Z");
		return TSS_E_VALIDATION;
	}
	return 0;
}

/* Event seq's time into out (32 bytes); "" when it has none. */
static int
time_at(struct store_txn *t, uint64_t seq, char out[32])
{
	json_t *e;
	const char *v;
	int r;

	out[0] = '\0';
	if ((r = audit_get(t, seq, &e)) != 0)
		return r;
	if ((v = json_string_value(json_object_get(e, "time"))) != NULL &&
	    strlen(v) < 32)
		memcpy(out, v, strlen(v) + 1);
	json_decref(e);
	return 0;
}

/*
 * The trail is in time order, so a time bound is a seq bound found by
 * bisection (a few reads, not a walk): newest first, the last seq in
 * [1, *seq] at or before until; oldest first, the first seq in
 * [*seq, head] at or after since (head + 1 for none).
 */
static int
seek_time(struct store_txn *t, const struct broker_audit_q *q, int newest,
    uint64_t head, uint64_t *seq)
{
	uint64_t lo, hi, mid;
	char tm[32];
	int r;

	if (newest ? q->until == NULL : q->since == NULL)
		return 0;
	lo = newest ? 1 : *seq;
	hi = newest ? *seq : head;
	if (lo > hi || *seq == 0)
		return 0;
	/* Invariant: the answer lies in [lo, hi] or is lo - 1 / hi + 1. */
	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if ((r = time_at(t, mid, tm)) != 0)
			return r;
		if (newest ? strcmp(tm, q->until) <= 0 :
		    strcmp(tm, q->since) < 0)
			lo = mid + 1;
		else if (mid == 0)
			break;
		else
			hi = mid - 1;
	}
	*seq = newest ? lo - 1 : lo;
	return 0;
}

/* Walk from seq start in direction step (+1/-1), at most
 * BROKER_AUDIT_SCAN events, appending lim matches to arr; *next the seq
 * to continue after/before, 0 for the end. */
static int
walk(struct store_txn *t, const struct broker_audit_q *q, int newest,
    uint64_t start, uint64_t lim, json_t *arr, uint64_t *next)
{
	uint64_t seq = start, seen = 0;
	char *text;
	json_t *e;
	int r, where;

	*next = 0;
	while (json_array_size(arr) < lim && seq != 0) {
		if (seen++ == BROKER_AUDIT_SCAN) {
			*next = newest ? seq + 1 : seq - 1;
			return 0;
		}
		if ((r = audit_get_text(t, seq, &text)) == TSS_E_NOT_FOUND)
			return 0;
		if (r != 0)
			return r;
		if (!maybe(text, q)) {
			free(text);
			seq = newest ? seq - 1 : seq + 1;
			continue;
		}
		r = audit_parse(text, &e);
		free(text);
		if (r != 0)
			return r;
		where = in_range(e, q, newest);
		if (where == 1) {
			json_decref(e);
			return 0;
		}
		if (where == 0 && match(e, q)) {
			if (json_array_append_new(arr, e) != 0)
				return TSS_E_NOMEM;
		} else
			json_decref(e);
		seq = newest ? seq - 1 : seq + 1;
	}
	/* A full page: continue past its last event, if there is more. */
	if (json_array_size(arr) == lim && seq != 0)
		*next = newest ? seq + 1 : seq - 1;
	return 0;
}

int
broker_audit_list(struct broker *b, const struct caller *c,
    const struct broker_audit_q *q, json_t **out, char *errmsg, size_t len)
{
	struct store_txn *t = NULL;
	uint64_t from = 0, lim, head, next;
	json_t *arr = NULL;
	int newest, r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_AUDIT_READ)) != 0)
		return r;
	if (parse_count(q->after, 0, UINT64_MAX - 1, &from) != 0 ||
	    parse_count(q->limit, AUDIT_LIST_DEFAULT, AUDIT_LIST_MAX,
	    &lim) != 0 || lim == 0) {
		snprintf(errmsg, len, "after: a sequence number; limit: 1 to %d",
		    AUDIT_LIST_MAX);
		return TSS_E_VALIDATION;
	}
	if ((r = check_query(q, &newest, errmsg, len)) != 0)
		return r;
	if (newest && parse_count(q->before, UINT64_MAX, UINT64_MAX,
	    &from) != 0) {
		snprintf(errmsg, len, "before: a sequence number");
		return TSS_E_VALIDATION;
	}
	if ((arr = json_array()) == NULL)
		return TSS_E_NOMEM;
	if ((r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = store_counter_get(t, STORE_CTR_AUDIT_SEQ, &head)) != 0)
		goto out;
	if (newest)
		from = from == 0 ? 0 : from - 1 < head ? from - 1 : head;
	else
		from = from + 1;
	if ((r = seek_time(t, q, newest, head, &from)) != 0 ||
	    (r = walk(t, q, newest, from, lim, arr, &next)) != 0)
		goto out;
	r = (*out = next != 0 ? json_pack("{s:O, s:I}", "events", arr, "next",
	    (json_int_t)next) : json_pack("{s:O, s:n}", "events", arr,
	    "next")) != NULL ? 0 : TSS_E_NOMEM;
 out:
	store_abort(t);
	json_decref(arr);
	return r;
}

int
broker_audit_verify(struct broker *b, const struct caller *c, int64_t now,
    json_t **out, int64_t *retry_after, char *errmsg, size_t len)
{
	struct store_txn *t = NULL;
	uint64_t count = 0, bad = 0;
	char head[65];
	int r;

	*out = NULL;
	*retry_after = 0;
	if ((r = broker_need(c, RBAC_PERM_AUDIT_READ)) != 0)
		return r;
	/* Busy first, so waiting for a running one spends no token. */
	if (pthread_mutex_trylock(&b->verify_mu) != 0) {
		snprintf(errmsg, len, "a verification of the audit chain is "
		    "running; try again when it is done");
		*retry_after = BROKER_VERIFY_BUSY_RETRY;
		return TSS_E_TOO_MANY_ATTEMPTS;
	}
	if (ratelimit_take(b->verify_rl, c->username, now, retry_after) != 0) {
		pthread_mutex_unlock(&b->verify_mu);
		snprintf(errmsg, len, "at most %d verifications of the audit "
		    "chain a minute", 60 / BROKER_VERIFY_INTERVAL);
		return TSS_E_TOO_MANY_ATTEMPTS;
	}
	if ((r = store_begin(b->store, 0, &t)) == 0) {
		r = audit_verify(t, &count, head, &bad);
		store_abort(t);
	}
	pthread_mutex_unlock(&b->verify_mu);
	if (r == 0)
		*out = json_pack("{s:b, s:I, s:s}", "ok", 1, "count",
		    (json_int_t)count, "head", head);
	else if (r == TSS_E_SIGNATURE)
		*out = json_pack("{s:b, s:I}", "ok", 0, "bad_seq",
		    (json_int_t)bad);
	else
		return r;
	return *out != NULL ? 0 : TSS_E_NOMEM;
}
