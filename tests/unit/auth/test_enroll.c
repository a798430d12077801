/* Enrollment: tokens, start/finish, replacement, expiry, recovery codes. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/enc.h"
#include "common/err.h"
#include "store/store.h"
#include "auth/enroll.h"
#include "auth/user.h"
#include "helpers.h"

TestSuite(auth_enroll, .init = ah_setup, .fini = ah_teardown);

static void
secret_of(const struct enroll_start_result *sr, uint8_t out[20])
{
	uint8_t *raw = NULL;
	size_t n = 0;

	cr_assert_eq(b32_decode(sr->totp_secret, strlen(sr->totp_secret),
	    &raw, &n), 0);
	cr_assert_eq(n, 20);
	memcpy(out, raw, 20);
	free(raw);
}

Test(auth_enroll, full_flow_activates_and_spends_token)
{
	struct enroll_start_result sr;
	struct enroll_finish_result fr, fr2;
	struct user *u;
	uint8_t secret[20];
	char token[65], code[7], uri[300];
	uint64_t n;
	struct store_txn *t = NULL;
	size_t i, j;
	char *dump;

	ah_create("alice", token);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), "10.1.1.1", AH_NOW + 5, &sr), 0);
	cr_assert_str_eq(sr.username, "alice");
	cr_assert_eq(strlen(sr.totp_secret), 32);	/* 160 bits */
	snprintf(uri, sizeof(uri), "otpauth://totp/Tessera:alice?secret=%s"
	    "&issuer=Tessera&algorithm=SHA1&digits=6&period=30",
	    sr.totp_secret);
	cr_assert_str_eq(sr.otpauth_uri, uri);
	cr_assert_eq(strncmp(sr.qr_svg, "<svg", 4), 0);
	secret_of(&sr, secret);
	u = ah_user("alice");
	cr_assert_eq(u->state, USER_PENDING);
	cr_assert_not_null(u->pw_hash);
	cr_assert_not_null(u->totp_box);
	/* The secret is not stored in the clear. */
	cr_assert_null(memmem(u->totp_box, u->totp_box_len, secret, 20));
	user_free(u);

	/* The code comes from oathtool, as an authenticator app would. */
	ah_oathtool(sr.totp_secret, AH_NOW + 40, code);
	enroll_start_result_clear(&sr);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, "10.1.1.1",
	    AH_NOW + 40, &fr), 0);
	cr_assert_str_eq(fr.username, "alice");
	for (i = 0; i < 10; i++) {
		cr_assert_eq(strlen(fr.codes[i]), RECOVERY_CODE_TEXT);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(fr.codes[i], fr.codes[j]);
	}
	u = ah_user("alice");
	cr_assert_eq(u->state, USER_ACTIVE);
	cr_assert_eq(u->nrecovery, 10);
	cr_assert_eq(u->has_enroll, 0);
	cr_assert_eq(u->last_step, (uint64_t)(AH_NOW + 40) / 30);
	user_free(u);
	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(store_count(t, STORE_DB_ENROLLMENTS, &n), 0);
	store_abort(t);
	cr_assert_eq(n, 0);

	/* Single use. */
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW + 41,
	    &fr2), TSS_E_UNAUTHENTICATED);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW + 41, &sr),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_eq(ah_audit_actions("enroll.start"), 1);
	cr_assert_eq(ah_audit_actions("enroll.finish"), 1);

	/* Audit events carry no password, secret, code or token. */
	dump = ah_audit_dump();
	cr_assert_null(strstr(dump, AH_PASSWORD));
	cr_assert_null(strstr(dump, token));
	cr_assert_null(strstr(dump, fr.codes[0]));
	free(dump);
	enroll_finish_result_clear(&fr);
}

Test(auth_enroll, start_again_replaces_password_and_secret)
{
	struct enroll_start_result a, b;
	struct enroll_finish_result fr;
	struct auth_login_result res;
	uint8_t sa[20], sb[20];
	char token[65], code[7];
	const char *pw2 = "another fine password";

	ah_create("alice", token);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW, &a), 0);
	cr_assert_eq(enroll_start(ah_ctx, token, pw2, strlen(pw2), NULL,
	    AH_NOW + 1, &b), 0);
	secret_of(&a, sa);
	secret_of(&b, sb);
	cr_assert_neq(memcmp(sa, sb, 20), 0);
	/* The first secret no longer finishes. */
	ah_code(sa, AH_NOW + 30, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW + 30,
	    &fr), TSS_E_INVALID_CREDENTIALS);
	ah_code(sb, AH_NOW + 30, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW + 30,
	    &fr), 0);
	enroll_finish_result_clear(&fr);
	/* And the second password is the one that logs in. */
	ah_code(sb, AH_NOW + 60, code);
	cr_assert_eq(auth_login(ah_ctx, "alice", AH_PASSWORD,
	    strlen(AH_PASSWORD), code, NULL, NULL, AH_NOW + 60, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(auth_login(ah_ctx, "alice", pw2, strlen(pw2), code,
	    NULL, NULL, AH_NOW + 60, &res), 0);
	auth_login_result_clear(&res);
	enroll_start_result_clear(&a);
	enroll_start_result_clear(&b);
}

Test(auth_enroll, wrong_code_keeps_token_and_pending)
{
	struct enroll_start_result sr;
	struct enroll_finish_result fr;
	struct user *u;
	uint8_t secret[20];
	char token[65], code[7];

	ah_create("alice", token);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW, &sr), 0);
	secret_of(&sr, secret);
	enroll_start_result_clear(&sr);
	ah_code(secret, AH_NOW + 90, code);	/* 3 steps ahead */
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW, &fr),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_null(fr.username);
	u = ah_user("alice");
	cr_assert_eq(u->state, USER_PENDING);
	cr_assert_eq(u->nrecovery, 0);
	user_free(u);
	ah_code(secret, AH_NOW, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW, &fr),
	    0);
	enroll_finish_result_clear(&fr);
}

/* Throttle from the third failure, lock at the sixth; create and start
 * alice at now; her TOTP secret into secret. */
static void
start_strict(int64_t now, char token[65], uint8_t secret[20])
{
	struct auth_config cfg;
	struct enroll_start_result sr;

	ah_config(&cfg);
	cfg.throttle_after = 3;
	cfg.lock_after = 6;
	ah_reconfigure(&cfg);
	ah_create("alice", token);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, now, &sr), 0);
	secret_of(&sr, secret);
	enroll_start_result_clear(&sr);
}

/* Wrong codes at finish count as failed logins: throttle, then lock; a
 * restarted flow does not reset the count; a good code does. */
Test(auth_enroll, wrong_codes_throttle_then_lock_across_restarts)
{
	struct enroll_start_result sr;
	struct enroll_finish_result fr;
	struct user *u;
	uint8_t secret[20];
	char token[65], code[7], bad[7];
	json_t *ev;
	int64_t now = AH_NOW;
	int i;

	start_strict(now, token, secret);
	ah_code(secret, now + 300, bad);		/* never valid now */
	for (i = 0; i < 3; i++)
		cr_assert_eq(enroll_finish(ah_ctx, token, bad, NULL, now, &fr),
		    TSS_E_INVALID_CREDENTIALS, "attempt %d", i);
	/* Throttled: even the right code waits, and is not counted. */
	ah_code(secret, now, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, now, &fr),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(fr.retry_after, 1);
	ev = ah_audit_last();
	cr_assert_str_eq(json_string_value(json_object_get(ev, "action")),
	    "enroll.finish");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "result")),
	    "denied");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "reason")),
	    "throttled");
	cr_assert_eq(json_integer_value(json_object_get(ev, "failures")), 3);
	json_decref(ev);
	u = ah_user("alice");
	cr_assert_eq(u->failures, 3);
	user_free(u);

	/* Starting again keeps the count (and replaces the secret). */
	now += 2;
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, now, &sr), 0);
	secret_of(&sr, secret);
	enroll_start_result_clear(&sr);
	u = ah_user("alice");
	cr_assert_eq(u->failures, 3);
	user_free(u);
	for (i = 3; i < 6; i++) {
		ah_code(secret, now + 300, bad);
		cr_assert_eq(enroll_finish(ah_ctx, token, bad, NULL, now, &fr),
		    TSS_E_INVALID_CREDENTIALS, "attempt %d", i);
		now += 3600;			/* past any wait */
	}
	/* Locked at lock_after: the right code is refused for good. */
	ah_code(secret, now, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, now, &fr),
	    TSS_E_LOCKED);
	u = ah_user("alice");
	cr_assert(u->locked);
	cr_assert_eq(u->state, USER_PENDING);
	cr_assert_eq(u->failures, 6);
	user_free(u);
}

Test(auth_enroll, good_code_resets_the_count)
{
	struct enroll_finish_result fr;
	struct user *u;
	uint8_t secret[20];
	char token[65], code[7];

	start_strict(AH_NOW, token, secret);
	ah_code(secret, AH_NOW + 300, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW, &fr),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW, &fr),
	    TSS_E_INVALID_CREDENTIALS);
	ah_code(secret, AH_NOW, code);
	cr_assert_eq(enroll_finish(ah_ctx, token, code, NULL, AH_NOW, &fr),
	    0);
	enroll_finish_result_clear(&fr);
	u = ah_user("alice");
	cr_assert_eq(u->state, USER_ACTIVE);
	cr_assert_eq(u->failures, 0);
	user_free(u);
}

Test(auth_enroll, finish_before_start_conflict)
{
	struct enroll_finish_result fr;
	char token[65];

	ah_create("alice", token);
	cr_assert_eq(enroll_finish(ah_ctx, token, "123456", NULL, AH_NOW,
	    &fr), TSS_E_CONFLICT);
}

Test(auth_enroll, token_expires_after_24h)
{
	struct enroll_start_result sr;
	struct store_txn *t = NULL;
	char token[65], *name = NULL;
	size_t n;

	ah_create("alice", token);
	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(enroll_lookup(t, token, AH_NOW + ENROLL_TTL - 1, &name),
	    0);
	free(name);
	cr_assert_eq(enroll_lookup(t, token, AH_NOW + ENROLL_TTL, &name),
	    TSS_E_EXPIRED);
	cr_assert_null(name);
	store_abort(t);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW + ENROLL_TTL, &sr),
	    TSS_E_EXPIRED);
	cr_assert_null(sr.username);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(enroll_prune(t, AH_NOW + ENROLL_TTL - 1, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(enroll_prune(t, AH_NOW + ENROLL_TTL, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_commit(t), 0);
}

Test(auth_enroll, bad_tokens_and_weak_passwords)
{
	struct enroll_start_result sr;
	struct password_stats st;
	char token[65], other[65];
	struct user *u;

	ah_create("alice", token);
	memcpy(other, token, sizeof(other));
	other[0] = other[0] == 'a' ? 'b' : 'a';
	cr_assert_eq(enroll_start(ah_ctx, other, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW, &sr), TSS_E_UNAUTHENTICATED);
	cr_assert_eq(enroll_start(ah_ctx, "short", AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW, &sr), TSS_E_UNAUTHENTICATED);
	other[0] = 'A';		/* uppercase hex is not ours */
	cr_assert_eq(enroll_start(ah_ctx, other, AH_PASSWORD,
	    strlen(AH_PASSWORD), NULL, AH_NOW, &sr), TSS_E_UNAUTHENTICATED);
	cr_assert_eq(enroll_start(ah_ctx, token, "short", 5, NULL, AH_NOW,
	    &sr), TSS_E_WEAK_PASSWORD);
	cr_assert_eq(enroll_start(ah_ctx, token, "alice", 5, NULL, AH_NOW,
	    &sr), TSS_E_WEAK_PASSWORD);
	/* Nothing was hashed or written for any of these. */
	password_hasher_stats(auth_ctx_hasher(ah_ctx), &st);
	cr_assert_eq(st.hashes, 0);
	u = ah_user("alice");
	cr_assert_null(u->pw_hash);
	user_free(u);
}

Test(auth_enroll, recovery_hash_normalises)
{
	uint8_t a[32], b[32], c[32];

	cr_assert_eq(recovery_hash("alice", "abcd-efgh-ijkl-mnop", a),
	    0);
	cr_assert_eq(recovery_hash("alice", "ABCDEFGHIJKLMNOP", b), 0);
	cr_assert_eq(memcmp(a, b, 32), 0);
	cr_assert_eq(recovery_hash("bob", "abcd-efgh-ijkl-mnop", c), 0);
	cr_assert_neq(memcmp(a, c, 32), 0);
	cr_assert_eq(recovery_hash("alice", "abcd-efgh-ijkl-mno", c),
	    TSS_E_BAD_FORMAT);
	cr_assert_eq(recovery_hash("alice", "abcd-efgh-ijkl-mnopq", c),
	    TSS_E_BAD_FORMAT);
	cr_assert_eq(recovery_hash("alice", "abcd-efgh-ijkl-mno1", c),
	    TSS_E_BAD_FORMAT);
}
