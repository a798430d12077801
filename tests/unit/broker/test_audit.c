#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/audit/audit.h"
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
