/*
 * oom, audit/: an event prepared and appended (in one step and in two),
 * read back, the chain verified, and checkpoints signed, parsed and
 * checked against the store, each walked through every allocation
 * failure and with each allocation refused alone (oom.h), jansson
 * counted.  Under memory pressure the trail must
 * say "out of memory", never "broken" or "tampered with".
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "common/err.h"
#include "sshca/cakey.h"
#include "store/store.h"
#include "oom.h"
#include "tmpdir.h"

#define NOW	1700000000LL

TestSuite(oom_audit, .init = oom_store_setup, .fini = oom_store_teardown);

/* Fields with more members than audit sorts on the stack, nested. */
static json_t *
fields(void)
{
	json_t *f = json_object();
	char key[16];
	int i;

	cr_assert_not_null(f);
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "f%02d", 19 - i);
		cr_assert_eq(json_object_set_new(f, key,
		    json_pack("{s:[i,s]}", "v", i, "ünïcode")), 0);
	}
	return f;
}

static uint64_t
events(void)
{
	struct store_txn *t;
	uint64_t n, seq;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(store_count(t, STORE_DB_AUDIT, &n), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_AUDIT_SEQ, &seq), 0);
	store_abort(t);
	cr_assert_eq(n, seq);
	return n;
}

static void
append_plain(int k)
{
	struct store_txn *t;
	json_t *f = fields();

	cr_assert_eq(store_begin(oom_store, 1, &t), 0);
	cr_assert_eq(audit_record(t, NULL, "test.event", k % 2 ? "a" : "b",
	    "ok", f, NOW + k, NULL), 0);
	cr_assert_eq(store_commit(t), 0);
	json_decref(f);
}

/* ---- append ---- */

struct appx {
	int two_step;
	json_t *f;
	uint64_t before, seq;
};

static int
app_run(void *arg)
{
	struct appx *x = arg;
	struct audit_event ev = { .actor = "alice", .action = "cert.issue",
	    .object = "cert:42", .result = "ok", .remote_addr = "192.0.2.1",
	    .request_id = "req-1", .fields = x->f };
	struct audit_prep *p = (struct audit_prep *)1;
	struct store_txn *t;
	int r;

	x->seq = 99;
	if (x->two_step && (r = audit_prepare(&ev, NOW, &p)) != 0) {
		cr_assert_null(p);
		return r;
	}
	if ((r = store_begin(oom_store, 1, &t)) != 0)
		goto out;
	r = x->two_step ? audit_append_prep(t, p, &x->seq) :
	    audit_append(t, &ev, NOW, &x->seq);
	if (r != 0) {
		cr_assert_eq(x->seq, 0);
		store_abort(t);
		goto out;
	}
	r = store_commit(t);
 out:
	if (x->two_step)
		audit_prep_free(p);
	return r;
}

static void
app_check(void *arg, int r)
{
	struct appx *x = arg;

	if (r != 0) {
		cr_assert_eq(events(), x->before);
		return;
	}
	cr_assert_eq(events(), x->before + 1);
	cr_assert_eq(x->seq, x->before + 1);
	x->before++;		/* for the next run */
}

/* The event appended, less its place in the chain. */
static char *
app_show(void *arg)
{
	static const char *const skip[] = { "seq", "prev", "hash", NULL };
	struct appx *x = arg;
	struct store_txn *t;
	json_t *e;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(audit_get(t, x->seq, &e), 0);
	store_abort(t);
	return oom_json(e, skip);
}

Test(oom_audit, append)
{
	struct appx x = { .two_step = 0 };

	x.f = fields();
	append_plain(0);
	x.before = events();
	oom_walk("audit_append + commit", app_run, app_check, &x);
	oom_walk_nth("audit_append + commit", app_run, app_check, app_show,
	    &x);
	x.two_step = 1;
	x.before = events();
	oom_walk("audit_prepare, audit_append_prep + commit", app_run,
	    app_check, &x);
	oom_walk_nth("audit_prepare, audit_append_prep + commit", app_run,
	    app_check, app_show, &x);
	json_decref(x.f);
}

/* ---- reading and verifying ---- */

struct verx {
	json_t *e;
	uint64_t count, bad;
	char head[65];
};

static int
get_run(void *arg)
{
	struct verx *x = arg;
	struct store_txn *t;
	int r;

	x->e = (json_t *)1;
	if ((r = store_begin(oom_store, 0, &t)) != 0) {
		x->e = NULL;
		return r;
	}
	r = audit_get(t, 2, &x->e);
	store_abort(t);
	return r;
}

static char *
get_show(void *arg)
{
	struct verx *x = arg;

	return oom_json(json_incref(x->e), NULL);
}

static void
get_check(void *arg, int r)
{
	struct verx *x = arg;

	if (r != 0) {
		cr_assert_null(x->e);
		return;
	}
	cr_assert_eq(json_integer_value(json_object_get(x->e, "seq")), 2);
	cr_assert_eq(json_object_size(json_object_get(x->e, "f19")), 1);
	json_decref(x->e);
}

Test(oom_audit, get)
{
	struct verx x;

	append_plain(1);
	append_plain(2);
	oom_walk("audit_get", get_run, get_check, &x);
	oom_walk_nth("audit_get", get_run, get_check, get_show, &x);
}

static int
verify_run(void *arg)
{
	struct verx *x = arg;
	struct store_txn *t;
	int r;

	x->count = x->bad = 99;
	if ((r = store_begin(oom_store, 0, &t)) != 0)
		return r;
	r = audit_verify(t, &x->count, x->head, &x->bad);
	store_abort(t);
	return r;
}

static void
verify_check(void *arg, int r)
{
	struct verx *x = arg;

	if (r != 0)
		return;
	cr_assert_eq(x->count, 3);
	cr_assert_eq(x->bad, 0);
	cr_assert_eq(strlen(x->head), 64);
}

Test(oom_audit, verify)
{
	struct verx x;
	int k;

	for (k = 0; k < 3; k++)
		append_plain(k);
	oom_walk("audit_verify (3 events)", verify_run, verify_check, &x);
	oom_walk_nth("audit_verify (3 events)", verify_run, verify_check, NULL,
	    &x);
}

/* ---- checkpoints ---- */

struct ckptx {
	struct cakey *key;
	char head[65];
	char *line;
	struct audit_ckpt c;
	struct audit_ckpt_report rep;
};

static int
sign_run(void *arg)
{
	struct ckptx *x = arg;

	x->line = "stale";
	return audit_ckpt_sign(x->key, 3, x->head, NOW, &x->line);
}

static char *
sign_show(void *arg)
{
	struct ckptx *x = arg;

	return oom_text(x->line);
}

static void
sign_check(void *arg, int r)
{
	struct ckptx *x = arg;

	if (r != 0) {
		cr_assert_null(x->line);
		return;
	}
	cr_assert_not_null(strstr(x->line, "\"type\":\"checkpoint\""));
	free(x->line);
}

static int
parse_run(void *arg)
{
	struct ckptx *x = arg;
	int r;

	memset(&x->c, 0xa5, sizeof(x->c));
	if ((r = audit_ckpt_parse(x->line, strlen(x->line), &x->c)) != 0)
		return r;
	return audit_ckpt_verify(&x->c, cakey_public(x->key));
}

static void
parse_check(void *arg, int r)
{
	struct ckptx *x = arg;
	static const struct audit_ckpt zero;

	if (r != 0 && x->c.seq != 3) {
		/* A failed parse leaves a zeroed checkpoint. */
		cr_assert_eq(memcmp(&x->c, &zero, sizeof(zero)), 0);
		return;
	}
	if (r == 0) {
		cr_assert_eq(x->c.seq, 3);
		cr_assert_str_eq(x->c.hash, x->head);
	}
}

static int
check_run(void *arg)
{
	struct ckptx *x = arg;
	struct store_txn *t;
	int r;

	memset(&x->rep, 0, sizeof(x->rep));
	x->rep.verdict = AUDIT_CKPT_BROKEN;
	if ((r = store_begin(oom_store, 0, &t)) != 0)
		return r;
	r = audit_ckpt_check(t, cakey_public(x->key), &x->c, 1, &x->rep);
	store_abort(t);
	return r;
}

static void
check_check(void *arg, int r)
{
	struct ckptx *x = arg;

	if (r != 0)
		return;
	cr_assert_eq(x->rep.verdict, AUDIT_CKPT_OK, "verdict %d",
	    x->rep.verdict);
	cr_assert_eq(x->rep.count, 3);
}

Test(oom_audit, checkpoints)
{
	struct ckptx x;
	struct store_txn *t;
	uint64_t n, bad;
	int k;

	memset(&x, 0, sizeof(x));
	for (k = 0; k < 3; k++)
		append_plain(k);
	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(audit_verify(t, &n, x.head, &bad), 0);
	store_abort(t);
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &x.key), 0);
	oom_walk("audit_ckpt_sign", sign_run, sign_check, &x);
	oom_walk_nth("audit_ckpt_sign", sign_run, sign_check, sign_show, &x);
	cr_assert_eq(audit_ckpt_sign(x.key, 3, x.head, NOW, &x.line), 0);
	oom_walk("audit_ckpt_parse + audit_ckpt_verify", parse_run,
	    parse_check, &x);
	oom_walk_nth("audit_ckpt_parse + audit_ckpt_verify", parse_run,
	    parse_check, NULL, &x);
	free(x.line);
	oom_walk("audit_ckpt_check (1 checkpoint, 3 events)", check_run,
	    check_check, &x);
	oom_walk_nth("audit_ckpt_check (1 checkpoint, 3 events)", check_run,
	    check_check, NULL, &x);
	cakey_free(x.key);
}
