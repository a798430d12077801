/*
 * Signed audit checkpoints (audit/checkpoint.h) on a real LMDB
 * store: signing and verifying, and each way a store can fail a stream's
 * checkpoints (issue 14 section 6: a chain rewritten with recomputed
 * hashes, or cut at the end with its head reset, still passes the chain
 * walk; only a checkpoint kept outside the store catches it).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "store/record.h"
#include "store/store.h"
#include "tmpdir.h"

#define T0	1700000000

static char dir[256];
static struct store *st;
static struct cakey *key;

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	cr_assert_eq(store_open(dir, NULL, &st), 0);
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &key), 0);
}

static void
teardown(void)
{
	cakey_free(key);
	store_close(st);
	tmpdir_remove(dir);
}

TestSuite(audit_checkpoint, .init = setup, .fini = teardown);

static void
append_n(int n)
{
	struct store_txn *t;
	int i;

	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (i = 0; i < n; i++) {
		struct audit_event ev = { .actor = "alice",
		    .action = "cert.issue", .object = "prod/api",
		    .result = "ok", .remote_addr = "127.0.0.1" };

		cr_assert_eq(audit_append(t, &ev, T0 + i, NULL), 0);
	}
	cr_assert_eq(store_commit(t), 0);
}

static void
seq_key(uint64_t seq, uint8_t key8[8])
{
	int i;

	for (i = 7; i >= 0; i--, seq >>= 8)
		key8[i] = (uint8_t)seq;
}

/* The stored hash of event seq. */
static void
hash_of(uint64_t seq, char hash[65])
{
	struct store_txn *t;
	json_t *e;

	cr_assert_eq(store_begin(st, 0, &t), 0);
	cr_assert_eq(audit_get(t, seq, &e), 0);
	memcpy(hash, json_string_value(json_object_get(e, "hash")), 65);
	json_decref(e);
	store_abort(t);
}

/* A checkpoint of event seq, as tesserad would sign it, parsed back. */
static void
checkpoint(struct cakey *k, uint64_t seq, struct audit_ckpt *c)
{
	char hash[65], *line;

	hash_of(seq, hash);
	cr_assert_eq(audit_ckpt_sign(k, seq, hash, T0 + 100, &line), 0);
	cr_assert_eq(audit_ckpt_parse(line, strlen(line), c), 0);
	free(line);
}

static int
check(const struct audit_ckpt *c, size_t n, struct audit_ckpt_report *rep)
{
	struct store_txn *t;
	int r;

	cr_assert_eq(store_begin(st, 0, &t), 0);
	r = audit_ckpt_check(t, cakey_public(key), c, n, rep);
	store_abort(t);
	return r;
}

static int
walk(uint64_t *count)
{
	struct store_txn *t;
	uint64_t bad;
	char head[65];
	int r;

	cr_assert_eq(store_begin(st, 0, &t), 0);
	r = audit_verify(t, count, head, &bad);
	store_abort(t);
	return r;
}

/*
 * What someone owning the disk can do: change event from, then give it
 * and every later event a recomputed prev and hash, and move the head.
 */
static void
rewrite_chain_from(uint64_t from, uint64_t last)
{
	struct store_txn *t;
	struct buf *b;
	uint8_t k8[8], d[SHA256_LEN];
	char prev[65], hash[65], *text;
	uint64_t seq;
	json_t *e;

	if (from > 1)
		hash_of(from - 1, prev);
	else
		memset(prev, '0', 64), prev[64] = '\0';
	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (seq = from; seq <= last; seq++) {
		cr_assert_eq(audit_get(t, seq, &e), 0);
		if (seq == from)
			json_object_set_new(e, "actor", json_string("mallory"));
		json_object_set_new(e, "prev", json_string(prev));
		json_object_del(e, "hash");
		text = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
		cr_assert_eq(sha256(text, strlen(text), d), 0);
		hex_encode(d, sizeof(d), hash);
		free(text);
		json_object_set_new(e, "hash", json_string(hash));
		text = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
		b = buf_new();
		cr_assert_eq(rec_begin(b, 'A', 1), 0);
		cr_assert_eq(buf_put_cstring(b, text), 0);
		seq_key(seq, k8);
		cr_assert_eq(store_put(t, STORE_DB_AUDIT, k8, 8, buf_ptr(b),
		    buf_len(b), 0), 0);
		buf_free(b);
		free(text);
		json_decref(e);
		memcpy(prev, hash, 65);
	}
	cr_assert_eq(store_put(t, STORE_DB_META, "audit_head", 10, prev, 64,
	    0), 0);
	cr_assert_eq(store_commit(t), 0);
}

/* Drop the events after keep and reset the counter and head to match. */
static void
drop_newest(uint64_t keep, uint64_t last)
{
	struct store_txn *t;
	uint8_t k8[8];
	char head[65];
	uint64_t seq;

	hash_of(keep, head);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (seq = keep + 1; seq <= last; seq++) {
		seq_key(seq, k8);
		cr_assert_eq(store_del(t, STORE_DB_AUDIT, k8, 8), 0);
	}
	seq_key(keep, k8);
	cr_assert_eq(store_put(t, STORE_DB_META, "ctr.audit_seq", 13, k8, 8,
	    0), 0);
	cr_assert_eq(store_put(t, STORE_DB_META, "audit_head", 10, head, 64,
	    0), 0);
	cr_assert_eq(store_commit(t), 0);
}

Test(audit_checkpoint, signed_checkpoint_verifies)
{
	struct audit_ckpt c;
	char hash[65], fp[SSHKEY_FP_MAX], *line;
	json_t *o;

	append_n(3);
	hash_of(3, hash);
	cr_assert_eq(audit_ckpt_sign(key, 3, hash, T0 + 100, &line), 0);
	o = json_loads(line, 0, NULL);
	cr_assert_not_null(o, "%s", line);
	cr_expect_str_eq(json_string_value(json_object_get(o, "type")),
	    "checkpoint");
	cr_expect_eq(json_integer_value(json_object_get(o, "seq")), 3);
	cr_expect_str_eq(json_string_value(json_object_get(o, "hash")), hash);
	cr_expect_str_eq(json_string_value(json_object_get(o, "time")),
	    "2023-11-14T22:15:00Z");
	cr_assert_eq(sshkey_fingerprint(cakey_public(key), fp), 0);
	cr_expect_str_eq(json_string_value(json_object_get(o, "key")), fp);
	json_decref(o);
	cr_assert_eq(audit_ckpt_parse(line, strlen(line), &c), 0);
	free(line);
	cr_expect_eq(c.seq, 3);
	cr_expect_eq(c.time, T0 + 100);
	cr_expect_eq(audit_ckpt_verify(&c, cakey_public(key)), 0);
}

Test(audit_checkpoint, checkpoint_bad_signature_refused)
{
	struct audit_ckpt c, m;
	struct cakey *other = NULL;
	struct audit_ckpt_report rep;

	append_n(3);
	checkpoint(key, 3, &c);
	/* A flipped signature bit, another seq, hash or time. */
	m = c;
	m.sig[10] ^= 0x01;
	cr_expect_eq(audit_ckpt_verify(&m, cakey_public(key)),
	    TSS_E_SIGNATURE);
	m = c;
	m.seq = 2;
	cr_expect_eq(audit_ckpt_verify(&m, cakey_public(key)),
	    TSS_E_SIGNATURE);
	m = c;
	m.hash[0] = m.hash[0] == 'a' ? 'b' : 'a';
	cr_expect_eq(audit_ckpt_verify(&m, cakey_public(key)),
	    TSS_E_SIGNATURE);
	m = c;
	m.time++;
	cr_expect_eq(audit_ckpt_verify(&m, cakey_public(key)),
	    TSS_E_SIGNATURE);
	/* Signed by another key (one the disk's owner may have made). */
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &other), 0);
	checkpoint(other, 3, &m);
	cr_expect_eq(audit_ckpt_verify(&m, cakey_public(key)),
	    TSS_E_SIGNATURE);
	/* The key id claimed, with another key's signature. */
	memcpy(m.key, c.key, sizeof(m.key));
	cr_expect_eq(audit_ckpt_verify(&m, cakey_public(key)),
	    TSS_E_SIGNATURE);
	cr_assert_eq(check(&m, 1, &rep), 0);
	cr_expect_eq(rep.verdict, AUDIT_CKPT_BAD_SIG);
	cakey_free(other);
}

Test(audit_checkpoint, stream_lines_that_are_not_checkpoints_skipped)
{
	struct audit_ckpt c;
	const char *skip[] = { "not json", "", "[1,2]",
	    "{\"action\":\"cert.issue\",\"seq\":4}",
	    "2026-12-06T18:05:32Z info web: listening",
	    "{\"type\":\"event\",\"seq\":4}" };
	const char *bad[] = {
	    "{\"type\":\"checkpoint\"}",
	    /* hash of 63 digits */
	    "{\"type\":\"checkpoint\",\"seq\":1,\"hash\":\"000000000000000000"
	    "00000000000000000000000000000000000000000000a\",\"time\":"
	    "\"2023-11-14T22:15:00Z\",\"key\":\"SHA256:x\",\"sig\":\"AAAA\"}",
	    /* a time not in the one spelling that is signed */
	    "{\"type\":\"checkpoint\",\"seq\":1,\"hash\":\"0000000000000000000"
	    "000000000000000000000000000000000000000000000\",\"time\":"
	    "\"2023-11-14T22:15:00+00:00\",\"key\":\"SHA256:x\",\"sig\":"
	    "\"AAAA\"}",
	    /* seq 0 */
	    "{\"type\":\"checkpoint\",\"seq\":0,\"hash\":\"0000000000000000000"
	    "000000000000000000000000000000000000000000000\",\"time\":"
	    "\"2023-11-14T22:15:00Z\",\"key\":\"SHA256:x\",\"sig\":\"AAAA\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		cr_expect_eq(audit_ckpt_parse(skip[i], strlen(skip[i]), &c),
		    TSS_E_NOT_FOUND, "%s", skip[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(audit_ckpt_parse(bad[i], strlen(bad[i]), &c),
		    TSS_E_BAD_FORMAT, "%s", bad[i]);
}

Test(audit_checkpoint, untouched_store_passes_its_checkpoints)
{
	struct audit_ckpt c[2];
	struct audit_ckpt_report rep;

	append_n(4);
	checkpoint(key, 2, &c[0]);
	checkpoint(key, 4, &c[1]);
	append_n(2);	/* events after the newest checkpoint are fine */
	cr_assert_eq(check(c, 2, &rep), 0);
	cr_expect_eq(rep.verdict, AUDIT_CKPT_OK);
	cr_expect_eq(rep.count, 6);
	cr_expect_eq(rep.bad, 0);
	cr_expect_eq(rep.newest, 4);
}

Test(audit_checkpoint, rewritten_chain_with_recomputed_hashes_caught)
{
	struct audit_ckpt c;
	struct audit_ckpt_report rep;
	uint64_t count = 0;

	append_n(5);
	checkpoint(key, 5, &c);
	rewrite_chain_from(2, 5);
	/* The gap: the chain alone still verifies. */
	cr_expect_eq(walk(&count), 0);
	cr_expect_eq(count, 5);
	cr_assert_eq(check(&c, 1, &rep), 0);
	cr_expect_eq(rep.verdict, AUDIT_CKPT_CHANGED);
	cr_expect_eq(rep.which, 0);
}

Test(audit_checkpoint, dropped_newest_events_with_head_reset_caught)
{
	struct audit_ckpt c[2];
	struct audit_ckpt_report rep;
	uint64_t count = 0;

	append_n(5);
	checkpoint(key, 2, &c[0]);
	checkpoint(key, 5, &c[1]);
	drop_newest(3, 5);
	cr_expect_eq(walk(&count), 0);
	cr_expect_eq(count, 3);
	cr_assert_eq(check(c, 2, &rep), 0);
	cr_expect_eq(rep.verdict, AUDIT_CKPT_MISSING);
	cr_expect_eq(rep.which, 1);
	cr_expect_eq(rep.count, 3);
}

Test(audit_checkpoint, chain_broken_before_checkpoint_reported_broken)
{
	struct audit_ckpt c;
	struct audit_ckpt_report rep;
	struct store_txn *t;
	uint8_t k8[8], *copy;
	const void *v;
	size_t vl;

	append_n(5);
	checkpoint(key, 4, &c);
	seq_key(2, k8);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_AUDIT, k8, 8, &v, &vl), 0);
	copy = malloc(vl);
	memcpy(copy, v, vl);
	copy[vl - 10] ^= 0x01;	/* inside the stored hash */
	cr_assert_eq(store_put(t, STORE_DB_AUDIT, k8, 8, copy, vl, 0), 0);
	free(copy);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(check(&c, 1, &rep), 0);
	cr_expect_eq(rep.verdict, AUDIT_CKPT_BROKEN);
	cr_expect_eq(rep.bad, 2);
}

/* Event lines in path (each seq once, in order from 1). */
static int
count_events(const char *path)
{
	char line[8192], want[32];
	FILE *f = fopen(path, "r");
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "\"type\":\"checkpoint\"") != NULL)
			continue;
		snprintf(want, sizeof(want), "\"seq\":%d,", ++n);
		cr_expect(strstr(line, want) != NULL, "%s", line);
	}
	fclose(f);
	return n;
}

/* Every checkpoint line in path, verified; returns how many. */
static int
stream_checkpoints(const char *path, uint64_t *seqs, int max)
{
	struct audit_ckpt c;
	char line[8192];
	FILE *f = fopen(path, "r");
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (audit_ckpt_parse(line, strlen(line), &c) != 0)
			continue;
		cr_assert_eq(audit_ckpt_verify(&c, cakey_public(key)), 0);
		cr_assert_lt(n, max);
		seqs[n++] = c.seq;
	}
	fclose(f);
	return n;
}

Test(audit_checkpoint, file_sink_signs_every_n_events_and_at_the_end)
{
	struct audit_sink *k;
	char path[300];
	uint64_t seqs[8];
	int n;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	append_n(7);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_checkpoints(k, key, 3, 3600), 0);
	/* After events 3 and 6; 7 waits for the interval. */
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 10, 0), 0);
	n = stream_checkpoints(path, seqs, 8);
	cr_assert_eq(n, 2);
	cr_expect_eq(seqs[0], 3);
	cr_expect_eq(seqs[1], 6);
	cr_expect_eq(audit_sink_due(k), T0 + 10 + 3600);
	/* Within the interval 8 waits too; the final flush signs both. */
	append_n(1);
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 20, 0), 0);
	cr_expect_eq(stream_checkpoints(path, seqs, 8), 2);
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 30, AUDIT_SINK_FINAL), 0);
	cr_assert_eq(stream_checkpoints(path, seqs, 8), 3);
	cr_expect_eq(seqs[2], 8);
	cr_expect_eq(audit_sink_due(k), INT64_MAX);
	audit_sink_close(k);
	/* A restart neither repeats the events nor signs event 8 again. */
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_checkpoints(k, key, 3, 3600), 0);
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 40, AUDIT_SINK_FINAL), 0);
	audit_sink_close(k);
	cr_expect_eq(stream_checkpoints(path, seqs, 8), 3);
	cr_expect_eq(count_events(path), 8);
}

Test(audit_checkpoint, sink_signs_after_the_interval_only_with_new_events)
{
	struct audit_sink *k;
	char path[300];
	uint64_t seqs[8];

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	append_n(2);
	cr_assert_eq(audit_sink_open(path, st, &k), 0);
	cr_assert_eq(audit_sink_checkpoints(k, key, 1000, 60), 0);
	cr_assert_eq(audit_sink_flush_at(k, st, T0, 0), 0);
	cr_assert_eq(stream_checkpoints(path, seqs, 8), 1);
	cr_expect_eq(audit_sink_due(k), INT64_MAX);
	append_n(1);
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 30, 0), 0);
	cr_expect_eq(stream_checkpoints(path, seqs, 8), 1);
	cr_expect_eq(audit_sink_due(k), T0 + 60);
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 60, 0), 0);
	cr_assert_eq(stream_checkpoints(path, seqs, 8), 2);
	cr_expect_eq(seqs[1], 3);
	/* No new events: nothing to sign however long it waits. */
	cr_assert_eq(audit_sink_flush_at(k, st, T0 + 1000, 0), 0);
	cr_expect_eq(stream_checkpoints(path, seqs, 8), 2);
	audit_sink_close(k);
}
