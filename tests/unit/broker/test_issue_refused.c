/*
 * issue, refused: what issuance (broker/issue.h) refuses, with which
 * TSS_E_* code and message, and that a refusal answers nothing and writes
 * no certificate record and no audit event.  The decision refuses in
 * issue_prepare(); what changed between the decision and the commit (the
 * user, the session, the policy) is refused by the commit.  The world is
 * ih.h's: target lab/box, role dev (app on lab/<any>, max_ttl 4 h,
 * permit-pty) bound to group:dev, alice in dev, bob with no access.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"
#include "bh.h"
#include "broker/broker.h"
#include "broker/issue.h"
#include "common/buf.h"
#include "common/err.h"
#include "ih.h"
#include "rbac/rbac.h"
#include "sshca/sshkey.h"
#include "store/store.h"

TestSuite(issue_refused, .init = ih_setup, .fini = ih_teardown,
    .timeout = 60);

static const char weak_msg[] = "public_key: key type refused or too weak "
    "(use ed25519, ecdsa or RSA of 2048 bits or more)";
static const char invalid_msg[] = "public_key: not a valid OpenSSH public "
    "key";

/* ---- refused by the decision ---- */

Test(issue_refused, nothing_granted_is_forbidden_naming_what_was_asked)
{
	struct issue_req rq;

	bh_put_target(fx.b->store, "other/box", fx.now);
	ih_req(&rq, "alice", ih_dev, 1, "lab/none", "app", 0);
	ih_refused(&rq, TSS_E_FORBIDDEN, "no binding grants app on lab/none");
	ih_req(&rq, "alice", ih_dev, 1, "lab/box", "root", 0);
	ih_refused(&rq, TSS_E_FORBIDDEN, "no binding grants root on lab/box");
	ih_req(&rq, "alice", ih_dev, 1, "other/box", NULL, 0);
	ih_refused(&rq, TSS_E_FORBIDDEN,
	    "no binding grants any login on other/box");
	ih_req(&rq, "bob", NULL, 0, NULL, NULL, 0);
	ih_refused(&rq, TSS_E_FORBIDDEN,
	    "no binding grants any login on any target");
	/* The grant is the group's: without it alice has nothing. */
	ih_req(&rq, "alice", NULL, 0, "lab/box", "app", 0);
	ih_refused(&rq, TSS_E_FORBIDDEN, "no binding grants app on lab/box");
}

Test(issue_refused, malformed_ttl_target_or_login_is_a_validation_error)
{
	struct issue_req rq;

	ih_alice(&rq, -1);
	ih_refused(&rq, TSS_E_VALIDATION,
	    "ttl: must be a positive number of seconds");
	ih_req(&rq, "alice", ih_dev, 1, "Lab/Box", "app", 0);
	ih_refused(&rq, TSS_E_VALIDATION, "target: malformed");
	ih_req(&rq, "alice", ih_dev, 1, "lab/sshd", "app", 0);
	ih_refused(&rq, TSS_E_VALIDATION, "target: malformed");
	ih_req(&rq, "alice", ih_dev, 1, "lab/box", "Root", 0);
	ih_refused(&rq, TSS_E_VALIDATION, "login: malformed");
	ih_req(&rq, "alice", ih_dev, 1, "lab/box", "app@x", 0);
	ih_refused(&rq, TSS_E_VALIDATION, "login: malformed");
	/* Both wrong: the target is named. */
	ih_req(&rq, "alice", ih_dev, 1, "lab//box", "Root", 0);
	ih_refused(&rq, TSS_E_VALIDATION, "target: malformed");
}

/* An Ed25519 blob whose key string is len bytes, with extra bytes after. */
static char *
ed25519_line(const char *type, size_t len, size_t extra)
{
	uint8_t pk[64];
	struct buf *b = buf_new();
	char *line;

	memset(pk, 0x5a, sizeof(pk));
	cr_assert_eq(buf_put_cstring(b, "ssh-ed25519"), 0);
	cr_assert_eq(buf_put_string(b, pk, len), 0);
	cr_assert_eq(buf_put(b, pk, extra), 0);
	line = bh_key_line(type, buf_ptr(b), buf_len(b));
	buf_free(b);
	return line;
}

/* An RSA blob: exponent e (big-endian), modulus of bits (odd, top bit
 * set), or ssh-dss with its four numbers. */
static char *
rsa_line(const uint8_t *e, size_t elen, unsigned bits)
{
	uint8_t n[512];
	struct buf *b = buf_new();
	char *line;

	memset(n, 0xc3, bits / 8);
	cr_assert_eq(buf_put_cstring(b, "ssh-rsa"), 0);
	cr_assert_eq(buf_put_bignum2_bytes(b, e, elen), 0);
	cr_assert_eq(buf_put_bignum2_bytes(b, n, bits / 8), 0);
	line = bh_key_line("ssh-rsa", buf_ptr(b), buf_len(b));
	buf_free(b);
	return line;
}

static char *
dss_line(void)
{
	uint8_t v[128];
	struct buf *b = buf_new();
	char *line;
	int i;

	memset(v, 0x47, sizeof(v));
	cr_assert_eq(buf_put_cstring(b, "ssh-dss"), 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(buf_put_bignum2_bytes(b, v, i == 1 ? 20 :
		    sizeof(v)), 0);
	line = bh_key_line("ssh-dss", buf_ptr(b), buf_len(b));
	buf_free(b);
	return line;
}

Test(issue_refused, bad_public_keys_are_refused_by_class)
{
	static const uint8_t f4[] = { 0x01, 0x00, 0x01 }, one[] = { 0x01 };
	struct {
		char *line;
		int code;
	} keys[] = {
		{ strdup(""), TSS_E_INVALID_PUBLIC_KEY },
		{ strdup("not a key"), TSS_E_INVALID_PUBLIC_KEY },
		{ strdup("ssh-ed25519 AAAA!!!!"), TSS_E_INVALID_PUBLIC_KEY },
		{ strdup("ssh-foo AAAAB3NzaC1mb28="), TSS_E_INVALID_PUBLIC_KEY },
		{ ed25519_line("ssh-ed25519", 31, 0), TSS_E_INVALID_PUBLIC_KEY },
		{ ed25519_line("ssh-ed25519", 33, 0), TSS_E_INVALID_PUBLIC_KEY },
		{ ed25519_line("ssh-ed25519", 32, 1), TSS_E_INVALID_PUBLIC_KEY },
		{ ed25519_line("ssh-rsa", 32, 0), TSS_E_INVALID_PUBLIC_KEY },
		{ rsa_line(f4, sizeof(f4), 1024), TSS_E_WEAK_KEY },
		{ rsa_line(one, sizeof(one), 2048), TSS_E_WEAK_KEY },
		{ dss_line(), TSS_E_WEAK_KEY },
	};
	char *ok = ed25519_line("ssh-ed25519", 32, 0);
	struct issue_req rq;
	json_t *out = NULL;
	size_t i;

	/* The same blob with the right sizes is taken, so each refusal
	 * below is its size's. */
	ih_alice(&rq, 0);
	rq.public_key = ok;
	issue_job_free(ih_prepared(&rq, &out));
	json_decref(out);
	free(ok);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ih_alice(&rq, 0);
		rq.public_key = keys[i].line;
		ih_refused(&rq, keys[i].code, keys[i].code == TSS_E_WEAK_KEY ?
		    weak_msg : invalid_msg);
		free(keys[i].line);
	}
	/* A certificate is not a key. */
	ih_alice(&rq, 0);
	out = ih_issued(&rq);
	rq.public_key = bh_str(out, "certificate");
	ih_refused(&rq, TSS_E_WEAK_KEY, weak_msg);
	json_decref(out);
}

/* Over RBAC_PRINCIPALS_MAX principals: the client must name a target. */
Test(issue_refused, too_many_principals_asks_for_a_target)
{
	static const char *logins[32];
	static char names[32][8];
	struct bh_role wide = { .name = "wide", .logins = logins,
	    .n_logins = 32, .max_ttl = 3600, .ext = RBAC_EXT_PTY };
	char target[32];
	struct issue_req rq;
	json_t *out;
	int i;

	for (i = 0; i < 32; i++) {
		snprintf(names[i], sizeof(names[i]), "l%02d", i);
		logins[i] = names[i];
	}
	for (i = 1; i <= 8; i++) {
		snprintf(target, sizeof(target), "lab/t%d", i);
		bh_put_target(fx.b->store, target, fx.now);
	}
	bh_put_role(fx.b->store, &wide, fx.now);
	bh_bind(fx.b->store, "wide", "user:bob", 0, fx.now);
	/* 9 targets x 32 logins = 288. */
	ih_req(&rq, "bob", NULL, 0, NULL, NULL, 0);
	ih_refused(&rq, TSS_E_TOO_MANY, "more than 256 principals: name a "
	    "target");
	ih_req(&rq, "bob", NULL, 0, "lab/t1", NULL, 0);
	out = ih_issued(&rq);
	cr_expect_eq(json_array_size(json_object_get(out, "principals")), 32);
	json_decref(out);
}

/* ---- refused by the commit: the user ---- */

enum change { DISABLE, RESET, DELETE };

static void
change_user(const char *name, enum change how)
{
	const struct audit_actor root = { "root", NULL, NULL };
	char token[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	if (how == DISABLE)
		cr_assert_eq(user_set_disabled(t, name, 1, &root, fx.now), 0);
	else if (how == RESET)
		cr_assert_eq(user_reset(t, name, &root, fx.now, token, &exp),
		    0);
	else
		cr_assert_eq(user_delete(t, name, &root, fx.now), 0);
	cr_assert_eq(store_commit(t), 0);
}

/*
 * A request without a session (the device flow's) for a user disabled,
 * back to pending or deleted: the decision does not read users, the
 * commit does and refuses.  issue_cert says why.
 */
Test(issue_refused, disabled_pending_or_deleted_user_is_refused_at_commit)
{
	static const char *const users[] = { "dana", "erin", "finn" };
	struct issue_req rq;
	struct store_txn *t;
	json_t *out = NULL;
	char err[256];
	int how;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	for (how = DISABLE; how <= DELETE; how++)
		fixture_user(t, users[how], "dev", fx.now);
	cr_assert_eq(store_commit(t), 0);
	for (how = DISABLE; how <= DELETE; how++) {
		ih_req(&rq, users[how], ih_dev, 1, "lab/box", "app", 0);
		/* Granted while the user was whole. */
		issue_job_free(ih_prepared(&rq, &out));
		json_decref(out);
		change_user(users[how], (enum change)how);
		ih_refused_at_commit(&rq, users[how], TSS_E_FORBIDDEN);
	}
	ih_req(&rq, "dana", ih_dev, 1, "lab/box", "app", 0);
	out = (json_t *)1;
	cr_expect_eq(issue_cert(&fx.b->issuer, &rq, fx.now, &out, err,
	    sizeof(err)), TSS_E_FORBIDDEN);
	cr_expect_null(out);
	cr_expect_str_eq(err, "access changed while the certificate was being "
	    "issued");
}

/*
 * Groups the decision used that are not the user's: the commit decides
 * again on the user's own groups and judges the certificate by its grant.
 * bob, in no group, gets nothing through dev; alice, in dev, claiming
 * ops too, gets what dev alone grants her.
 */
Test(issue_refused, groups_the_request_claims_are_decided_again)
{
	static const char *const claimed[] = { "dev", "ops" };
	struct issue_req rq;

	ih_req(&rq, "bob", ih_dev, 1, "lab/box", "app", 0);
	ih_refused_at_commit(&rq, "borrowed group", TSS_E_FORBIDDEN);
	ih_req(&rq, "alice", claimed, 2, "lab/box", "app", 0);
	json_decref(ih_issued(&rq));
}

/* ---- refused by the commit: the session ---- */

Test(issue_refused, expired_or_foreign_session_is_refused_at_commit)
{
	char ta[TOKEN_TEXT_LEN + 1], tb[TOKEN_TEXT_LEN + 1];
	struct issue_job *job = NULL;
	struct caller a, b;
	struct issue_req rq;
	json_t *out = NULL;
	char err[256];

	bh_login(fx.b, "alice", fx.now, ta, &a);
	bh_login(fx.b, "bob", fx.now, tb, &b);
	ih_alice(&rq, 0);
	rq.session = a.session;
	/* Alive: committed. */
	json_decref(ih_issued(&rq));
	/* Decided past its idle timeout: the session is over. */
	cr_assert_eq(issue_prepare(&fx.b->issuer, &rq, fx.now +
	    fx.b->cfg.session_idle + 1, &job, &out, err, sizeof(err)), 0,
	    "%s", err);
	ih_commit_refused(job, out, "idle session", TSS_E_UNAUTHENTICATED);
	/* Another user's session is no credential for alice. */
	rq.session = b.session;
	ih_refused_at_commit(&rq, "bob's session",
	    TSS_E_UNAUTHENTICATED);
	caller_clear(&a);
	caller_clear(&b);
}

/* ---- refused by the commit: the policy ---- */

/* Only a binding of alice's own ending in 60 s grants her dev. */
static void
short_binding_only(void)
{
	const struct rbac_actor root = { .who.name = "root" };
	struct store_txn *t;
	char err[256];

	bh_bind(fx.b->store, "dev", "user:alice", fx.now + 60, fx.now);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(rbac_binding_delete(t, &root, fx.dev_binding, fx.now,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
}

/*
 * Each change after the decision that leaves the certificate wider than
 * a fresh decision would grant refuses its commit: a shorter max_ttl, an
 * extension taken away, a source_address or a force_command added, a
 * binding now ending before the certificate would.
 */
Test(issue_refused, policy_narrowed_after_the_decision_refuses_the_commit)
{
	static const char *const what[] = { "max_ttl 1 h", "no permit-pty",
	    "source_address", "force_command", "binding ends" };
	struct issue_job *job;
	struct issue_req rq;
	json_t *out = NULL;
	int i;

	for (i = 0; i < 5; i++) {
		/* Decided on dev as made: 4 h, permit-pty, no limits. */
		ih_alice(&rq, IH_ROLE_TTL);
		job = ih_prepared(&rq, &out);
		if (i == 0)
			ih_put_dev(3600, RBAC_EXT_DEFAULT, NULL, NULL);
		else if (i == 1)
			ih_put_dev(IH_ROLE_TTL, 0, NULL, NULL);
		else if (i == 2)
			ih_put_dev(IH_ROLE_TTL, RBAC_EXT_DEFAULT, NULL,
			    "10.0.0.0/8");
		else if (i == 3)
			ih_put_dev(IH_ROLE_TTL, RBAC_EXT_DEFAULT, "/bin/true",
			    NULL);
		else
			short_binding_only();
		ih_commit_refused(job, out, what[i], TSS_E_FORBIDDEN);
		ih_put_dev(IH_ROLE_TTL, RBAC_EXT_DEFAULT, NULL, NULL);
	}
}

/*
 * A change that keeps or widens what the certificate was decided on lets
 * it through: a longer max_ttl, one more extension, the role written
 * again unchanged, a max_ttl cut that still covers the certificate's TTL.
 */
Test(issue_refused, policy_kept_or_widened_after_the_decision_commits)
{
	static const char *const what[] = { "max_ttl 6 h", "plus X11",
	    "unchanged", "max_ttl 2 h over a 1 h cert" };
	static const int64_t ttl[] = { 6 * 3600, IH_ROLE_TTL, IH_ROLE_TTL,
	    7200 };
	static const uint32_t ext[] = { RBAC_EXT_DEFAULT, RBAC_EXT_DEFAULT |
	    RBAC_EXT_X11, RBAC_EXT_DEFAULT, RBAC_EXT_DEFAULT };
	struct issue_job *job;
	struct issue_req rq;
	json_t *out = NULL;
	uint64_t gen;
	int i;

	for (i = 0; i < 4; i++) {
		ih_alice(&rq, i == 3 ? 3600 : IH_ROLE_TTL);
		job = ih_prepared(&rq, &out);
		gen = bh_counter(fx.b->store, STORE_CTR_POLICY_GEN);
		ih_put_dev(ttl[i], ext[i], NULL, NULL);
		/* The policy did change: the commit decides again. */
		cr_assert_gt(bh_counter(fx.b->store, STORE_CTR_POLICY_GEN),
		    gen);
		cr_expect_eq(ih_commit(job), 0, "%s", what[i]);
		cr_expect(ih_in_ledger((uint64_t)bh_int(out, "serial"), NULL),
		    "%s", what[i]);
		json_decref(out);
		ih_put_dev(IH_ROLE_TTL, RBAC_EXT_DEFAULT, NULL, NULL);
	}
}
