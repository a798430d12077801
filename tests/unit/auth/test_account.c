/* A user's own account: password change and recovery regeneration (each
 * proven again and counted like a login), listing and ending sessions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "store/store.h"
#include "auth/account.h"
#include "auth/session.h"
#include "auth/user.h"
#include "helpers.h"

TestSuite(auth_account, .init = ah_setup, .fini = ah_teardown);

#define PWL	strlen(AH_PASSWORD)
#define NEWPW	"a brand new password"

static struct auth_proof
proof(int64_t now)
{
	struct auth_proof p;

	memset(&p, 0, sizeof(p));
	p.username = "alice";
	p.remote_addr = "192.0.2.7";
	p.request_id = "req-2";
	p.now = now;
	return p;
}

static int
change(const char *cur, const char *code, const char *np, int64_t now)
{
	struct auth_proof p = proof(now);

	return auth_change_password(ah_ctx, &p, cur, strlen(cur), code, np,
	    strlen(np));
}

static const char *
last(const char *field)
{
	static char buf[64];
	json_t *ev = ah_audit_last(), *v = json_object_get(ev, field);

	snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	json_decref(ev);
	return buf;
}

/* A signed-in alice; her session token in tok (65 bytes). */
static void
signed_in(uint8_t secret[20], char codes[10][20], int64_t t, char *tok)
{
	struct auth_login_result res;
	char code[7];

	ah_enroll("alice", secret, NULL, codes);
	ah_code(secret, t, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res), 0);
	memcpy(tok, res.token, 65);
	auth_login_result_clear(&res);
}

Test(auth_account, password_change_needs_password_and_fresh_code)
{
	struct auth_login_result res;
	struct session *s = NULL;
	struct user *u;
	uint8_t secret[20];
	char code[7], tok[65], codes[10][20];
	uint8_t *raw0, *raw1;
	size_t l0, l1;

	signed_in(secret, codes, AH_NOW + 60, tok);
	ah_code(secret, AH_NOW + 90, code);
	ah_user_raw_get("alice", &raw0, &l0);
	/* Bad new password: refused before anything is checked or counted. */
	cr_assert_eq(change(AH_PASSWORD, code, "short", AH_NOW + 91),
	    TSS_E_WEAK_PASSWORD);
	cr_assert_eq(change(AH_PASSWORD, code, "alice", AH_NOW + 91),
	    TSS_E_WEAK_PASSWORD);
	ah_user_raw_get("alice", &raw1, &l1);
	cr_assert(l0 == l1 && memcmp(raw0, raw1, l0) == 0,
	    "a refused new password changes nothing");
	free(raw0);
	free(raw1);
	/* Wrong password, wrong code, the code already used at login. */
	cr_assert_eq(change("wrong password!", code, NEWPW, AH_NOW + 91),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(last("action"), "password.change");
	cr_assert_str_eq(last("result"), "denied");
	cr_assert_str_eq(last("reason"), "bad_password");
	cr_assert_eq(change(AH_PASSWORD, "000000", NEWPW, AH_NOW + 91),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(last("reason"), "bad_code");
	ah_code(secret, AH_NOW + 60, code);
	cr_assert_eq(change(AH_PASSWORD, code, NEWPW, AH_NOW + 61),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(last("reason"), "replay");
	/* A recovery code is not a TOTP code here. */
	cr_assert_eq(change(AH_PASSWORD, codes[0], NEWPW, AH_NOW + 91),
	    TSS_E_INVALID_CREDENTIALS);
	u = ah_user("alice");
	cr_assert_eq(u->failures, 4);
	cr_assert_eq(u->nrecovery, 10);
	user_free(u);
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + 92, &s, NULL), 0);
	session_free(s);

	ah_code(secret, AH_NOW + 90, code);
	cr_assert_eq(change(AH_PASSWORD, code, NEWPW, AH_NOW + 93), 0);
	cr_assert_str_eq(last("action"), "password.change");
	cr_assert_str_eq(last("result"), "ok");
	u = ah_user("alice");
	cr_assert_eq(u->failures, 0);
	user_free(u);
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + 94, &s, NULL),
	    TSS_E_UNAUTHENTICATED, "the change ends every session");
	/* The step spent on the change is not a login. */
	cr_assert_eq(ah_login("alice", NEWPW, code, AH_NOW + 95, &res),
	    TSS_E_INVALID_CREDENTIALS);
	ah_code(secret, AH_NOW + 120, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 120, &res),
	    TSS_E_INVALID_CREDENTIALS);
	ah_code(secret, AH_NOW + 150, code);
	cr_assert_eq(ah_login("alice", NEWPW, code, AH_NOW + 150, &res), 0);
	auth_login_result_clear(&res);
}

Test(auth_account, password_change_throttles_like_login)
{
	uint8_t secret[20];
	char code[7], tok[65];
	struct auth_proof p;
	int i, r;

	signed_in(secret, NULL, AH_NOW + 60, tok);
	for (i = 0; i < 5; i++)
		cr_assert_eq(change("wrong password!", "123456", NEWPW,
		    AH_NOW + 100), TSS_E_INVALID_CREDENTIALS);
	ah_code(secret, AH_NOW + 100, code);
	p = proof(AH_NOW + 100);
	r = auth_change_password(ah_ctx, &p, AH_PASSWORD, PWL, code, NEWPW,
	    strlen(NEWPW));
	cr_assert_eq(r, TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(p.retry_after, 1);
	cr_assert_str_eq(last("reason"), "throttled");
}

Test(auth_account, regenerate_replaces_every_code)
{
	struct auth_login_result res;
	uint8_t secret[20];
	char code[7], tok[65], old[10][20];
	char fresh[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1];
	struct auth_proof p;
	struct user *u;

	signed_in(secret, old, AH_NOW + 60, tok);
	/* Spend one old code; 9 left. */
	cr_assert_eq(ah_login("alice", AH_PASSWORD, old[1], AH_NOW + 61, &res),
	    0);
	p = proof(AH_NOW + 62);
	cr_assert_eq(auth_recovery_regenerate(ah_ctx, &p, "12345", fresh),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(last("action"), "recovery.regenerate");
	cr_assert_str_eq(last("reason"), "bad_code");
	cr_assert_eq(auth_recovery_regenerate(ah_ctx, &p, old[2], fresh),
	    TSS_E_INVALID_CREDENTIALS, "a recovery code cannot renew itself");
	cr_assert_eq(fresh[0][0], '\0', "nothing handed out on refusal");
	ah_code(secret, AH_NOW + 90, code);
	p = proof(AH_NOW + 90);
	cr_assert_eq(auth_recovery_regenerate(ah_ctx, &p, code, fresh), 0);
	cr_assert_str_eq(last("result"), "ok");
	cr_assert_eq(strlen(fresh[9]), RECOVERY_CODE_TEXT);
	cr_assert_str_neq(fresh[0], fresh[1]);
	u = ah_user("alice");
	cr_assert_eq(u->nrecovery, USER_RECOVERY_CODES);
	cr_assert_eq(u->failures, 0);
	user_free(u);
	/* Replayed code refused; old codes dead; a new one works once. */
	p = proof(AH_NOW + 91);
	cr_assert_eq(auth_recovery_regenerate(ah_ctx, &p, code, fresh),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(last("reason"), "replay");
	cr_assert_eq(ah_login("alice", AH_PASSWORD, old[3], AH_NOW + 92, &res),
	    TSS_E_INVALID_CREDENTIALS);
	auth_login_result_clear(&res);
}

Test(auth_account, sessions_listed_and_ended_by_owner_only)
{
	struct auth_login_result res;
	struct session **v = NULL, *s = NULL;
	uint8_t secret[20], bsecret[20], keep[TOKEN_HASH_LEN];
	char code[7], tok[65], tok2[65], tok3[65], btok[65];
	size_t n = 0, i;

	signed_in(secret, NULL, AH_NOW + 60, tok);
	ah_code(secret, AH_NOW + 90, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 90, &res),
	    0);
	memcpy(tok2, res.token, 65);
	ah_code(secret, AH_NOW + 120, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 120, &res),
	    0);
	memcpy(tok3, res.token, 65);
	ah_enroll("bob", bsecret, NULL, NULL);
	ah_code(bsecret, AH_NOW + 60, code);
	cr_assert_eq(ah_login("bob", AH_PASSWORD, code, AH_NOW + 60, &res), 0);
	memcpy(btok, res.token, 65);
	auth_login_result_clear(&res);

	cr_assert_eq(auth_sessions(ah_ctx, "alice", AH_NOW + 121, &v, &n), 0);
	cr_assert_eq(n, 3);
	for (i = 0; i < n; i++) {
		cr_assert_str_eq(v[i]->username, "alice");
		cr_assert_str_eq(v[i]->remote_addr, "192.0.2.7");
		cr_assert_gt(v[i]->expires_at, AH_NOW + 121);
	}
	session_list_free(v, n);

	/* Bob's session is not alice's to end. */
	cr_assert_eq(token_hash(btok, keep), 0);
	cr_assert_eq(auth_session_end(ah_ctx, "alice", keep, NULL,
	    AH_NOW + 122), TSS_E_NOT_FOUND);
	cr_assert_eq(auth_session(ah_ctx, btok, AH_NOW + 122, &s, NULL), 0);
	session_free(s);
	/* End tok2 by its key. */
	cr_assert_eq(token_hash(tok2, keep), 0);
	cr_assert_eq(auth_session_end(ah_ctx, "alice", keep, "192.0.2.8",
	    AH_NOW + 123), 0);
	cr_assert_str_eq(last("action"), "session.end");
	cr_assert_eq(auth_session(ah_ctx, tok2, AH_NOW + 124, &s, NULL),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_eq(auth_session_end(ah_ctx, "alice", keep, NULL,
	    AH_NOW + 125), TSS_E_NOT_FOUND);
	/* End all but tok3. */
	cr_assert_eq(token_hash(tok3, keep), 0);
	cr_assert_eq(auth_sessions_end_others(ah_ctx, "alice", keep, NULL,
	    AH_NOW + 126, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(last("action"), "session.end_others");
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + 127, &s, NULL),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_eq(auth_session(ah_ctx, tok3, AH_NOW + 127, &s, NULL), 0);
	session_free(s);
	cr_assert_eq(auth_session(ah_ctx, btok, AH_NOW + 127, &s, NULL), 0);
	session_free(s);
	cr_assert_eq(auth_sessions(ah_ctx, "alice", AH_NOW + 128, &v, &n), 0);
	cr_assert_eq(n, 1);
	session_list_free(v, n);
	/* Expired sessions are not listed. */
	cr_assert_eq(auth_sessions(ah_ctx, "alice", AH_NOW + 121 +
	    SESSION_IDLE_DEFAULT, &v, &n), 0);
	cr_assert_eq(n, 0);
	session_list_free(v, n);
}
