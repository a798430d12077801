#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/err.h"
#include "store/record.h"
#include "store/store.h"
#include "tmpdir.h"

static char dir[256];
static struct store *st;

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	cr_assert_eq(store_open(dir, NULL, &st), 0);
}

static void
teardown(void)
{
	store_close(st);
	tmpdir_remove(dir);
}

TestSuite(audit, .init = setup, .fini = teardown);

static void
append_n(int n)
{
	struct store_txn *t;
	json_t *f;
	char obj[32];
	int i;

	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (i = 0; i < n; i++) {
		struct audit_event ev = { .actor = "alice", .action = "cert.issue",
		    .object = obj, .result = "ok", .remote_addr = "127.0.0.1" };
		uint64_t seq;

		snprintf(obj, sizeof(obj), "serial:%d", i);
		f = json_pack("{s:i}", "serial", i);
		ev.fields = f;
		cr_assert_eq(audit_append(t, &ev, 1700000000 + i, &seq), 0);
		json_decref(f);
	}
	cr_assert_eq(store_commit(t), 0);
}

static int
verify(uint64_t *count, uint64_t *bad)
{
	struct store_txn *t;
	char head[65];
	int r;

	cr_assert_eq(store_begin(st, 0, &t), 0);
	r = audit_verify(t, count, head, bad);
	store_abort(t);
	return r;
}

Test(audit, chain_of_events_verifies)
{
	struct store_txn *t;
	uint64_t count, bad;
	json_t *e;

	append_n(5);
	cr_expect_eq(verify(&count, &bad), 0);
	cr_expect_eq(count, 5);

	cr_assert_eq(store_begin(st, 0, &t), 0);
	cr_assert_eq(audit_get(t, 3, &e), 0);
	cr_expect_eq(json_integer_value(json_object_get(e, "seq")), 3);
	cr_expect_str_eq(json_string_value(json_object_get(e, "time")),
	    "2023-11-14T22:13:22Z");
	cr_expect_str_eq(json_string_value(json_object_get(e, "action")),
	    "cert.issue");
	cr_expect_eq(json_integer_value(json_object_get(e, "serial")), 2);
	cr_expect_eq(strlen(json_string_value(json_object_get(e, "hash"))), 64);
	json_decref(e);
	store_abort(t);
}

Test(audit, empty_trail_verifies)
{
	uint64_t count = 9, bad = 9;

	cr_expect_eq(verify(&count, &bad), 0);
	cr_expect_eq(count, 0);
}

/* Replace event seq's stored JSON text with text (a direct store write). */
static void
overwrite(uint64_t seq, const char *text)
{
	struct store_txn *t;
	struct buf *b = buf_new();
	uint8_t key[8];
	int i;

	for (i = 7; i >= 0; i--, seq >>= 8)
		key[i] = (uint8_t)seq;
	cr_assert_eq(rec_begin(b, 'A', 1), 0);
	cr_assert_eq(buf_put_cstring(b, text), 0);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_AUDIT, key, 8, buf_ptr(b),
	    buf_len(b), 0), 0);
	cr_assert_eq(store_commit(t), 0);
	buf_free(b);
}

Test(audit, altered_event_is_named)
{
	struct store_txn *t;
	uint64_t count, bad;
	char *text;
	json_t *e;

	append_n(6);
	cr_assert_eq(store_begin(st, 0, &t), 0);
	cr_assert_eq(audit_get(t, 4, &e), 0);
	store_abort(t);
	json_object_set_new(e, "actor", json_string("mallory"));
	text = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
	overwrite(4, text);
	free(text);
	json_decref(e);
	cr_expect_eq(verify(&count, &bad), TSS_E_SIGNATURE);
	cr_expect_eq(bad, 4);
}

Test(audit, removed_events_detected)
{
	struct store_txn *t;
	uint64_t count, bad;
	uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };

	append_n(4);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(store_del(t, STORE_DB_AUDIT, key, 8), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_expect_eq(verify(&count, &bad), TSS_E_SIGNATURE);
	cr_expect_eq(bad, 2);
}

Test(audit, removed_tail_detected)
{
	struct store_txn *t;
	uint64_t count, bad;
	uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0, 4 };

	append_n(4);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(store_del(t, STORE_DB_AUDIT, key, 8), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_expect_eq(verify(&count, &bad), TSS_E_SIGNATURE);
	cr_expect_eq(bad, 4);
}

Test(audit, aborted_transaction_leaves_no_event)
{
	struct store_txn *t;
	struct audit_event ev = { .actor = "-", .action = "login.fail",
	    .result = "denied" };
	uint64_t count, bad;

	append_n(2);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(audit_append(t, &ev, 1700000000, NULL), 0);
	store_abort(t);
	cr_expect_eq(verify(&count, &bad), 0);
	cr_expect_eq(count, 2);
}

Test(audit, missing_required_fields_refused)
{
	struct store_txn *t;
	struct audit_event ev = { .actor = "a", .result = "ok" };

	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_expect_eq(audit_append(t, &ev, 0, NULL), TSS_E_INVALID_ARGUMENT);
	store_abort(t);
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	cr_assert_not_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

Test(audit, file_sink_streams_and_resumes_without_repeats)
{
	struct audit_sink *k;
	char path[300], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	append_n(3);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	cr_expect_eq(count_lines(path), 3);
	append_n(2);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	cr_expect_eq(count_lines(path), 5);
	audit_sink_close(k);

	/* A restart resumes after the last seq in the file. */
	append_n(1);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	audit_sink_close(k);
	cr_expect_eq(count_lines(path), 6);

	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	cr_expect(strncmp(line, "{\"action\":\"cert.issue\"", 22) == 0, "%s",
	    line);
	cr_expect(strstr(line, "\"seq\":1,") != NULL, "%s", line);
}

/*
 * A flush of more events than one write takes (the sink writes in chunks
 * of about 64 KiB): every line arrives whole, once and in order, and a
 * second flush adds nothing.
 */
Test(audit, file_sink_large_flush_whole_lines_in_order)
{
	struct audit_sink *k;
	char path[300], line[4096], want[32];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	append_n(1000);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	audit_sink_close(k);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		snprintf(want, sizeof(want), "\"seq\":%d,", n);
		cr_assert(strstr(line, want) != NULL, "line %d: %s", n, line);
		cr_assert(strcmp(line + strlen(line) - 2, "}\n") == 0,
		    "line %d: %s", n, line);
	}
	fclose(f);
	cr_expect_eq(n, 1000);
}

/*
 * The prepared path against the rendering it replaced: jansson's
 * json_dumps(JSON_SORT_KEYS | JSON_COMPACT) of the event object built the
 * old way (fields first, the fixed members set over them).
 */
static char *
jansson_text(const struct audit_event *ev, int64_t now, uint64_t seq,
    const char *prev)
{
	time_t tt = (time_t)now;
	struct tm tm;
	char ts[32], *text;
	json_t *o = json_object();

	cr_assert_not_null(gmtime_r(&tt, &tm));
	cr_assert_gt(strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm), 0);
	cr_assert_not_null(o);
	if (ev->fields != NULL)
		cr_assert_eq(json_object_update(o, ev->fields), 0);
	cr_assert_eq(json_object_set_new(o, "seq",
	    json_integer((json_int_t)seq)), 0);
	cr_assert_eq(json_object_set_new(o, "time", json_string(ts)), 0);
	cr_assert_eq(json_object_set_new(o, "actor", json_string(ev->actor)), 0);
	cr_assert_eq(json_object_set_new(o, "action",
	    json_string(ev->action)), 0);
	cr_assert_eq(json_object_set_new(o, "object", ev->object != NULL ?
	    json_string(ev->object) : json_null()), 0);
	cr_assert_eq(json_object_set_new(o, "result",
	    json_string(ev->result)), 0);
	cr_assert_eq(json_object_set_new(o, "remote_addr",
	    ev->remote_addr != NULL ? json_string(ev->remote_addr) :
	    json_null()), 0);
	cr_assert_eq(json_object_set_new(o, "prev", json_string(prev)), 0);
	if (ev->request_id != NULL)
		cr_assert_eq(json_object_set_new(o, "request_id",
		    json_string(ev->request_id)), 0);
	text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_not_null(text);
	json_decref(o);
	return text;
}

static void
sha256_hex(const char *s, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[32];
	unsigned int len = 0, i;

	cr_assert_eq(EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL), 1);
	cr_assert_eq(len, 32);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

/* Event seq's stored text, exactly as stored (caller frees). */
static char *
stored_text(struct store_txn *t, uint64_t seq)
{
	struct buf *view = NULL;
	const void *v;
	uint8_t key[8], ver;
	size_t vl, len;
	char *text;

	buf_poke_u64(key, seq);
	cr_assert_eq(store_get(t, STORE_DB_AUDIT, key, 8, &v, &vl), 0);
	cr_assert_eq(rec_open(v, vl, 'A', 1, &view, &ver), 0);
	cr_assert_eq(buf_get_cstring(view, &text, &len), 0);
	cr_assert_eq(buf_len(view), 0);
	buf_free(view);
	return text;
}

/*
 * Check that event seq holds exactly the old canonical text of ev with
 * "hash" spliced in last, hashed over the text; advance the chain head.
 */
static void
expect_stored(struct store_txn *t, uint64_t seq, const struct audit_event *ev,
    int64_t now, char head[65])
{
	char *want, *got, hash[65], *full;
	size_t wl;

	want = jansson_text(ev, now, seq, head);
	sha256_hex(want, hash);
	wl = strlen(want);
	full = malloc(wl + 80);
	cr_assert_not_null(full);
	snprintf(full, wl + 80, "%.*s,\"hash\":\"%s\"}", (int)(wl - 1), want,
	    hash);
	got = stored_text(t, seq);
	cr_expect_str_eq(got, full, "seq %llu:\n%s\n%s", (unsigned long long)seq,
	    got, full);
	memcpy(head, hash, 65);
	free(got);
	free(full);
	free(want);
}

#define ZEROS \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* Every ASCII control character, DEL, '/', quotes and backslashes. */
static void
ascii_mess(char *s, size_t size)
{
	size_t i, n = 0;

	for (i = 1; i < 0x20 && n < size - 1; i++)
		s[n++] = (char)i;
	snprintf(s + n, size - n, "\x7f/\"\\\"\\\\a/b");
}

static json_t *
deep(int levels)
{
	json_t *v = json_pack("{s:[i,s]}", "leaf", 1, "x");
	int i;

	for (i = 0; i < levels && v != NULL; i++)
		v = i % 2 ? json_pack("{s:o, s:i}", "k", v, "z", i) :
		    json_pack("[o, i, {}]", v, i);
	cr_assert_not_null(v);
	return v;
}

/* The events of the byte-identity test; *n gets their number. */
static struct audit_event *
tricky_events(size_t *n)
{
	static char mess[64];
	static struct audit_event ev[16];
	json_t *f;
	char key[16];
	size_t k = 0;
	int i;

	ascii_mess(mess, sizeof(mess));
	memset(ev, 0, sizeof(ev));

	/* Like an issuance. */
	ev[k] = (struct audit_event){ .actor = "alice", .action = "cert.issue",
	    .object = "cert:1000", .result = "ok", .remote_addr = "192.0.2.1",
	    .request_id = "0123456789abcdef" };
	ev[k++].fields = json_pack("{s:I, s:s, s:[s,s], s:I, s:I, s:s}",
	    "serial", (json_int_t)1000, "fingerprint", "SHA256:abc/def+g",
	    "principals", "alice", "deploy", "valid_after", (json_int_t)1,
	    "valid_before", (json_int_t)3601, "target", "");

	/* Escapes in every fixed string and in field keys and values. */
	ev[k] = (struct audit_event){ .actor = mess, .action = "a\"b\\c/d",
	    .object = "", .result = "\x7f", .remote_addr = "\t\n\r\b\f",
	    .request_id = "" };
	ev[k++].fields = json_pack("{s:s, s:s, s:s}", mess, mess, "", "",
	    "/", "\x01\x1f");

	/* Multi-byte UTF-8 (2, 3 and 4 bytes), in keys too. */
	ev[k] = (struct audit_event){ .actor = "j\xc3\xa9r\xc3\xb4me",
	    .action = "\xe2\x82\xac", .result = "\xf0\x9f\x98\x80",
	    .remote_addr = "\xef\xbf\xbf" };
	ev[k++].fields = json_pack("{s:s, s:s, s:s}", "\xc3\xa9", "x",
	    "\xf4\x8f\xbf\xbf", "max", "e", "\xc2\x80\xdf\xbf");

	/* Keys sorting around the fixed ones; null object and address. */
	ev[k] = (struct audit_event){ .actor = "-", .action = "login.fail",
	    .result = "denied" };
	ev[k++].fields = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
	    " s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
	    "pre", 1, "prev0", 2, "prev_", 3, "pref", 4, "se", 5, "seq0", 6,
	    "sep", 7, "request", 8, "request_id0", 9, "request_ic", 10,
	    "result_", 11, "remote", 12, "", 13, "A", 14, "~", 15,
	    "tim", 16, "time0", 17, "objects", 18, "actio", 19);

	/* Fields that collide with the fixed keys lose to them. */
	ev[k] = (struct audit_event){ .actor = "alice", .action = "x",
	    .object = "o", .result = "ok", .request_id = "r1" };
	ev[k++].fields = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:s, s:s}", "actor", "mallory", "seq", 999, "prev", ZEROS,
	    "time", "never", "action", "y", "object", "p", "result", "no",
	    "remote_addr", "10.0.0.1", "request_id", "r2", "zz", "kept");

	/* Without request_id, a field of that name stays. */
	ev[k] = (struct audit_event){ .actor = "alice", .action = "x",
	    .result = "ok" };
	ev[k++].fields = json_pack("{s:s}", "request_id", "from-fields");

	/* Nested arrays and objects, sorted inside too; and deeper
	 * than the renderer goes itself. */
	ev[k] = (struct audit_event){ .actor = "a", .action = "b",
	    .result = "c" };
	ev[k++].fields = json_pack("{s:{s:[i,{s:n,s:b,s:b}],s:{},s:[]},"
	    " s:[[],[[]],{s:{s:s}}], s:o}",
	    "n", "b", 1, "z", "a", 1, "m", 0, "a", "c",
	    "arr", "y", "x", "\"q\"", "deep", deep(20));

	/* Integers, reals, literals. */
	ev[k] = (struct audit_event){ .actor = "a", .action = "b",
	    .result = "c" };
	ev[k++].fields = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f,"
	    " s:f, s:f, s:b, s:b, s:n, s:[f,I]}",
	    "zero", (json_int_t)0, "neg", (json_int_t)-1,
	    "min", (json_int_t)LLONG_MIN, "max", (json_int_t)LLONG_MAX,
	    "big", (json_int_t)1000000000000000LL, "half", 1.5, "tenth", 0.1,
	    "huge", 1e300, "negz", -0.0, "whole", 3.0, "t", 1, "f", 0, "nul",
	    "mix", -2.5e-7, (json_int_t)-42);

	/* No fields at all; and an empty fields object. */
	ev[k++] = (struct audit_event){ .actor = "a", .action = "b",
	    .result = "c", .object = "o" };
	ev[k] = (struct audit_event){ .actor = "a", .action = "b",
	    .result = "c" };
	ev[k++].fields = json_object();

	/*
	 * Embedded NULs in a value and in keys: json_object_update cut the
	 * top-level keys at the NUL (the last equal one winning), nested
	 * ones sort by length.  And more members than fit the renderer's
	 * stack arrays.
	 */
	ev[k] = (struct audit_event){ .actor = "a", .action = "b",
	    .result = "c" };
	f = json_object();
	cr_assert_not_null(f);
	cr_assert_eq(json_object_set_new(f, "nul",
	    json_stringn("a\0b", 3)), 0);
	cr_assert_eq(json_object_setn_new(f, "k\0x", 3, json_integer(1)), 0);
	cr_assert_eq(json_object_setn_new(f, "k", 1, json_integer(2)), 0);
	cr_assert_eq(json_object_setn_new(f, "k\0", 2, json_integer(3)), 0);
	cr_assert_eq(json_object_setn_new(f, "j\0", 2, json_integer(4)), 0);
	cr_assert_eq(json_object_set_new(f, "nested", json_pack("{s:i, s:i}",
	    "k", 5, "a", 6)), 0);
	cr_assert_eq(json_object_setn_new(json_object_get(f, "nested"),
	    "k\0x", 3, json_integer(7)), 0);
	cr_assert_eq(json_object_setn_new(json_object_get(f, "nested"),
	    "a\0", 2, json_integer(8)), 0);
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "f%d", (i * 7) % 40);
		cr_assert_eq(json_object_set_new(f, key, i % 3 ? json_integer(i) :
		    json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,"
		    "s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "r", 1, "q", 2, "p", 3,
		    "o", 4, "n", 5, "m", 6, "l", 7, "k", 8, "j", 9, "i", 10,
		    "h", 11, "g", 12, "f", 13, "e", 14, "d", 15, "c", 16,
		    "b", 17, "a", 18)), 0);
	}
	ev[k++].fields = f;

	for (i = 0; i < (int)k; i++)
		cr_assert(ev[i].fields != NULL || i == 8, "event %d", i);
	*n = k;
	return ev;
}

Test(audit, prepared_text_is_byte_identical_to_jansson)
{
	struct audit_event *ev;
	struct audit_prep *p;
	struct store_txn *t;
	uint64_t seq, count, bad;
	char head[65] = ZEROS;
	size_t n, i;
	int64_t now;
	int r;

	ev = tricky_events(&n);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (i = 0; i < n; i++) {
		now = 1700000000 + (int64_t)i * 86401;
		r = audit_prepare(&ev[i], now, &p);
		cr_assert_eq(r, 0, "event %zu: %d", i, r);
		cr_assert_eq(audit_append_prep(t, p, &seq), 0);
		cr_assert_eq(seq, i + 1);
		audit_prep_free(p);
		expect_stored(t, seq, &ev[i], now, head);
	}
	/* audit_append is the same thing in one call. */
	for (i = 0; i < n; i++) {
		now = -86400 * (int64_t)i;
		cr_assert_eq(audit_append(t, &ev[i], now, &seq), 0);
		cr_assert_eq(seq, n + i + 1);
		expect_stored(t, seq, &ev[i], now, head);
	}
	cr_assert_eq(store_commit(t), 0);
	for (i = 0; i < n; i++)
		json_decref(ev[i].fields);
	/*
	 * The hashes were checked above.  audit_verify stops at the last
	 * event: its "\u0000" is refused by jansson's loader, as it was
	 * before the prepared path.
	 */
	cr_expect_eq(verify(&count, &bad), TSS_E_SIGNATURE);
	cr_expect_eq(bad, n);
}

Test(audit, prepared_events_chain_and_verify)
{
	struct audit_prep *p[20];
	struct store_txn *t;
	uint64_t seq, count, bad;
	char obj[32], head[65] = ZEROS;
	json_t *f[20];
	int i;

	/* Prepared before any transaction, appended in two batches. */
	for (i = 0; i < 20; i++) {
		struct audit_event ev = { .actor = "bob", .action = "cert.issue",
		    .object = obj, .result = "ok" };

		snprintf(obj, sizeof(obj), "cert:%d", i);
		f[i] = json_pack("{s:i}", "serial", i);
		ev.fields = f[i];
		cr_assert_eq(audit_prepare(&ev, 1700000000 + i, &p[i]), 0);
	}
	/* The prepared text owns what it needs: the event may go. */
	for (i = 0; i < 20; i++) {
		json_object_set_new(f[i], "serial", json_string("changed"));
		json_decref(f[i]);
	}
	for (i = 0; i < 20; i++) {
		if (i % 10 == 0)
			cr_assert_eq(store_begin(st, 1, &t), 0);
		cr_assert_eq(audit_append_prep(t, p[i], &seq), 0);
		cr_expect_eq(seq, (uint64_t)i + 1);
		if (i % 10 == 9)
			cr_assert_eq(store_commit(t), 0);
	}
	cr_expect_eq(verify(&count, &bad), 0);
	cr_expect_eq(count, 20);

	cr_assert_eq(store_begin(st, 0, &t), 0);
	for (i = 0; i < 20; i++) {
		struct audit_event ev = { .actor = "bob", .action = "cert.issue",
		    .object = obj, .result = "ok" };

		snprintf(obj, sizeof(obj), "cert:%d", i);
		ev.fields = json_pack("{s:i}", "serial", i);
		expect_stored(t, (uint64_t)i + 1, &ev, 1700000000 + i, head);
		json_decref(ev.fields);
		audit_prep_free(p[i]);
	}
	store_abort(t);
}

Test(audit, prep_reappended_after_abort)
{
	struct audit_event ev = { .actor = "carol", .action = "cert.issue",
	    .object = "cert:7", .result = "ok", .remote_addr = "::1" };
	struct audit_event other = { .actor = "-", .action = "login.fail",
	    .result = "denied" };
	struct audit_prep *p;
	struct store_txn *t;
	uint64_t seq, count, bad;
	char head[65] = ZEROS;

	ev.fields = json_pack("{s:s}", "target", "db1");
	cr_assert_eq(audit_prepare(&ev, 1700000100, &p), 0);

	/* The batch fails after the event was written... */
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(audit_append_prep(t, p, &seq), 0);
	cr_expect_eq(seq, 1);
	store_abort(t);

	/* ...and is retried with another event before it. */
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(audit_append(t, &other, 1700000050, &seq), 0);
	cr_expect_eq(seq, 1);
	cr_assert_eq(audit_append_prep(t, p, &seq), 0);
	cr_expect_eq(seq, 2);
	/* The same prep once more in the same transaction. */
	cr_assert_eq(audit_append_prep(t, p, &seq), 0);
	cr_expect_eq(seq, 3);
	expect_stored(t, 1, &other, 1700000050, head);
	expect_stored(t, 2, &ev, 1700000100, head);
	expect_stored(t, 3, &ev, 1700000100, head);
	cr_assert_eq(store_commit(t), 0);
	audit_prep_free(p);
	json_decref(ev.fields);

	cr_expect_eq(verify(&count, &bad), 0);
	cr_expect_eq(count, 3);
}

Test(audit, prepare_refuses_what_cannot_be_rendered)
{
	struct audit_event ev = { .actor = "a", .action = "b", .result = "c" };
	struct audit_prep *p = (struct audit_prep *)&ev;
	struct store_txn *t;
	uint64_t seq = 9, count, bad;
	json_t *f, *loop;

	/* Invalid UTF-8: a lone continuation, overlong, surrogate, too big,
	 * truncated. */
	ev.actor = "\x80";
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	cr_expect_null(p);
	ev.actor = "\xc0\xaf";
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	ev.actor = "\xed\xa0\x80";
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	ev.actor = "\xf4\x90\x80\x80";
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	ev.actor = "ok";
	ev.object = "\xe2\x82";
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	ev.object = NULL;

	/* fields that are not an object, or that hold "hash". */
	ev.fields = f = json_array();
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	json_decref(f);
	ev.fields = f = json_pack("{s:s}", "hash", ZEROS);
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	json_decref(f);

	/* A cycle (jansson refuses it as well). */
	ev.fields = f = json_object();
	loop = json_object();
	cr_assert_eq(json_object_set(f, "loop", loop), 0);
	cr_assert_eq(json_object_set(loop, "back", f), 0);
	cr_expect_eq(audit_prepare(&ev, 0, &p), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(json_object_clear(loop), 0);
	json_decref(loop);
	json_decref(f);
	ev.fields = NULL;

	/* Nothing was written; append_prep wants a prep. */
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_expect_eq(audit_append_prep(t, NULL, &seq), TSS_E_INVALID_ARGUMENT);
	cr_expect_eq(seq, 0);
	ev.actor = "\xff";
	cr_expect_eq(audit_append(t, &ev, 0, &seq), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_commit(t), 0);
	cr_expect_eq(verify(&count, &bad), 0);
	cr_expect_eq(count, 0);
	audit_prep_free(NULL);
}

/*
 * A file whose last line was cut short (a full disk, then a stop): the
 * sink removes the fragment and writes that event whole, once.
 */
Test(audit, file_sink_finishes_a_line_cut_short)
{
	struct audit_sink *k;
	char path[300], line[4096], want[32];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	append_n(4);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	audit_sink_close(k);
	cr_assert_eq(truncate(path, 0), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"seq\":1}\n{\"seq\":2}\n{\"action\":\"cert.is", f);
	fclose(f);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_flush(k, st), 0);
	audit_sink_close(k);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		snprintf(want, sizeof(want), "\"seq\":%d", n);
		cr_expect(strstr(line, want) != NULL, "line %d: %s", n, line);
		cr_expect(line[strlen(line) - 1] == '\n', "line %d: %s", n, line);
	}
	fclose(f);
	cr_expect_eq(n, 4);
}

/* A sink on a full disk keeps its cursor and backs off: 1 s, then 2 s. */
Test(audit, sink_on_full_disk_keeps_cursor_and_backs_off)
{
	struct audit_sink *k;
	uint64_t lag, fails;
	const int64_t t0 = 1700000000;

	append_n(3);
	cr_assert_eq(audit_sink_open("/dev/full", st, &k), 0);
	cr_expect_eq(audit_sink_due(k), INT64_MAX);
	cr_expect_eq(audit_sink_flush_at(k, st, t0, 0), TSS_E_IO);
	audit_sink_stats(k, st, &lag, &fails);
	cr_expect_eq(lag, 3);
	cr_expect_eq(fails, 1);
	cr_expect_eq(audit_sink_due(k), t0 + 1);
	/* Within the backoff nothing is tried, but the lag is counted. */
	append_n(2);
	cr_expect_eq(audit_sink_flush_at(k, st, t0, 0), TSS_E_IO);
	audit_sink_stats(k, st, &lag, &fails);
	cr_expect_eq(lag, 5);
	cr_expect_eq(fails, 1);
	cr_expect_eq(audit_sink_flush_at(k, st, t0 + 1, 0), TSS_E_IO);
	audit_sink_stats(k, st, &lag, &fails);
	cr_expect_eq(fails, 2);
	cr_expect_eq(audit_sink_due(k), t0 + 3);
	audit_sink_close(k);
}

static int
receiver(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	int fd;

	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	cr_assert_neq(fd = socket(AF_UNIX, SOCK_DGRAM, 0), -1);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
	    0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* The next datagram: syslog(3)'s header, then the event of seq want. */
static void
expect_datagram(int fd, int want)
{
	char msg[4096], seq[32];
	ssize_t n;

	cr_assert_gt(n = recv(fd, msg, sizeof(msg) - 1, 0), 0);
	msg[n] = '\0';
	cr_expect(strncmp(msg, "<86>", 4) == 0, "%s", msg);
	cr_expect(strstr(msg, " tesserad[") != NULL, "%s", msg);
	snprintf(seq, sizeof(seq), "\"seq\":%d,", want);
	cr_expect(strstr(msg, "]: {\"action\":") != NULL, "%s", msg);
	cr_expect(strstr(msg, seq) != NULL, "want %d: %s", want, msg);
}

/*
 * Syslog to a receiver's socket: once each, in order; with the receiver
 * gone the events wait; bound again, they arrive once each, in order.
 */
Test(audit, syslog_sink_holds_events_while_receiver_is_gone)
{
	struct audit_sink *k;
	char path[300], spec[310];
	uint64_t lag, fails;
	const int64_t t0 = 1700000000;
	int fd, i;

	snprintf(path, sizeof(path), "%s/log.sock", dir);
	snprintf(spec, sizeof(spec), "syslog:%s", path);
	append_n(2);		/* before open: not streamed */
	fd = receiver(path);
	cr_assert_eq(audit_sink_open(spec, st, &k), 0);
	append_n(2);
	cr_assert_eq(audit_sink_flush_at(k, st, t0, 0), 0);
	expect_datagram(fd, 3);
	expect_datagram(fd, 4);

	close(fd);
	unlink(path);
	append_n(3);
	cr_expect_eq(audit_sink_flush_at(k, st, t0, 0), TSS_E_IO);
	cr_expect_eq(audit_sink_flush_at(k, st, t0 + 1, 0), TSS_E_IO);
	audit_sink_stats(k, st, &lag, &fails);
	cr_expect_eq(lag, 3);
	cr_expect_eq(fails, 2);

	fd = receiver(path);
	cr_expect_eq(audit_sink_flush_at(k, st, t0 + 2, 0), TSS_E_IO,
	    "still backing off");
	cr_assert_eq(audit_sink_flush_at(k, st, t0 + 3, 0), 0);
	for (i = 5; i <= 7; i++)
		expect_datagram(fd, i);
	audit_sink_stats(k, st, &lag, &fails);
	cr_expect_eq(lag, 0);
	cr_expect_eq(audit_sink_due(k), INT64_MAX);
	cr_assert_eq(audit_sink_flush_at(k, st, t0 + 4, 0), 0);
	cr_expect_eq(recv(fd, spec, sizeof(spec), MSG_DONTWAIT), -1,
	    "nothing again");
	audit_sink_close(k);
	close(fd);
}

Test(audit, syslog_sink_spec_errors)
{
	struct audit_sink *k;
	char spec[200];

	cr_expect_eq(audit_sink_open("syslog:", st, &k), TSS_E_INVALID_ARGUMENT);
	cr_expect_null(k);
	memset(spec, 'a', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	memcpy(spec, "syslog:/", 8);
	cr_expect_eq(audit_sink_open(spec, st, &k), TSS_E_TOO_LONG);
	cr_expect_null(k);
}
