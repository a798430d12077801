/*
 * USER records and admin operations.  See user.h.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/record.h"
#include "store/store.h"
#include "audit/audit.h"
#include "auth/internal.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"

#define PW_HASH_MAX	512
#define TOTP_BOX_MAX	256

int
user_name_valid(const char *name)
{
	size_t i;
	char c;

	if (name == NULL || name[0] == '\0')
		return TSS_E_VALIDATION;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return TSS_E_VALIDATION;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= USER_NAME_MAX)
			return TSS_E_VALIDATION;
		c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return TSS_E_VALIDATION;
	}
	return 0;
}

int
user_groups_valid(const char *const *g, size_t n, char *errmsg, size_t len)
{
	size_t i, j;

	if (n > USER_GROUPS_MAX) {
		if (errmsg != NULL)
			snprintf(errmsg, len, "groups: at most %d names",
			    USER_GROUPS_MAX);
		return TSS_E_TOO_MANY;
	}
	for (i = 0; i < n; i++) {
		if (user_name_valid(g[i]) != 0) {
			if (errmsg != NULL)
				snprintf(errmsg, len, "groups[%zu]: expected a "
				    "name of [a-z_][a-z0-9_.-], at most 32 "
				    "bytes", i);
			return TSS_E_VALIDATION;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(g[i], g[j]) == 0) {
				if (errmsg != NULL)
					snprintf(errmsg, len, "groups[%zu]: %s "
					    "is listed twice", i, g[i]);
				return TSS_E_VALIDATION;
			}
		}
	}
	return 0;
}

static void
groups_free(char **g, size_t n)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < n; i++)
		free(g[i]);
	free(g);
}

void
user_free(struct user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	groups_free(u->groups, u->ngroups);
	if (u->pw_hash != NULL)
		OPENSSL_clear_free(u->pw_hash, strlen(u->pw_hash));
	if (u->totp_box != NULL)
		OPENSSL_clear_free(u->totp_box, u->totp_box_len);
	OPENSSL_clear_free(u, sizeof(*u));
}

void
user_list_free(struct user **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		user_free(v[i]);
	free(v);
}

/* Validate and copy a group list (sorted input not required). */
static int
groups_copy(const char *const *in, size_t n, char ***out)
{
	char **g = NULL;
	size_t i;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (n > USER_GROUPS_MAX)
		return TSS_E_TOO_MANY;
	if (n == 0)
		return 0;
	if (in == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = user_groups_valid(in, n, NULL, 0)) != 0)
		return r;
	if ((g = mem_calloc(n, sizeof(*g))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < n; i++) {
		if ((g[i] = mem_strdup(in[i])) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	*out = g;
	g = NULL;
	r = 0;
 out:
	groups_free(g, n);
	return r;
}

int
user_encode(const struct user *u, struct buf **out)
{
	struct buf *b = NULL;
	size_t i, pwl;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (u == NULL || u->name == NULL || u->ngroups > USER_GROUPS_MAX ||
	    u->nrecovery > USER_RECOVERY_CODES)
		return TSS_E_INVALID_ARGUMENT;
	pwl = u->pw_hash != NULL ? strlen(u->pw_hash) : 0;
	if (pwl > PW_HASH_MAX || u->totp_box_len > TOTP_BOX_MAX)
		return TSS_E_TOO_LONG;
	if ((b = buf_new_secret()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, USER_REC_TYPE, USER_REC_VERSION)) != 0 ||
	    (r = buf_put_cstring(b, u->name)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)u->ngroups)) != 0)
		goto out;
	for (i = 0; i < u->ngroups; i++)
		if ((r = buf_put_cstring(b, u->groups[i])) != 0)
			goto out;
	if ((r = buf_put_u8(b, u->disabled ? 1 : 0)) != 0 ||
	    (r = buf_put_u8(b, (uint8_t)u->state)) != 0 ||
	    (r = buf_put_u8(b, u->locked ? 1 : 0)) != 0 ||
	    (r = buf_put_string(b, u->pw_hash, pwl)) != 0 ||
	    (r = buf_put_string(b, u->totp_box, u->totp_box_len)) != 0 ||
	    (r = buf_put_u64(b, u->last_step)) != 0 ||
	    (r = buf_put_u32(b, u->failures)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)u->throttle_until)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)u->nrecovery)) != 0)
		goto out;
	for (i = 0; i < u->nrecovery; i++)
		if ((r = buf_put(b, u->recovery[i], USER_HASH_LEN)) != 0)
			goto out;
	if ((r = buf_put_string(b, u->enroll_key,
	    u->has_enroll ? USER_HASH_LEN : 0)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)u->created)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)u->last_login)) != 0)
		goto out;
	*out = b;
	b = NULL;
	r = 0;
 out:
	buf_free(b);
	return r;
}

int
user_decode(const void *p, size_t len, struct user **out)
{
	struct buf *v = NULL;
	struct user *u = NULL;
	const uint8_t *s;
	size_t sl, i, j;
	uint32_t n;
	uint64_t x;
	uint8_t ver, d, st, lk;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((r = rec_open(p, len, USER_REC_TYPE, USER_REC_VERSION, &v,
	    &ver)) != 0)
		return r;
	if ((u = mem_calloc(1, sizeof(*u))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get_cstring(v, &u->name, NULL)) != 0 ||
	    (r = buf_get_u32(v, &n)) != 0)
		goto out;
	if (user_name_valid(u->name) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (n > USER_GROUPS_MAX) {
		r = TSS_E_TOO_MANY;
		goto out;
	}
	if (n > 0 && (u->groups = mem_calloc(n, sizeof(*u->groups))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = buf_get_cstring(v, &u->groups[i], NULL)) != 0)
			goto out;
		u->ngroups++;
		/* As groups_copy() writes them: valid names, no repeats. */
		r = TSS_E_BAD_FORMAT;
		if (user_name_valid(u->groups[i]) != 0)
			goto out;
		for (j = 0; j < i; j++)
			if (strcmp(u->groups[i], u->groups[j]) == 0)
				goto out;
	}
	if ((r = buf_get_u8(v, &d)) != 0 || (r = buf_get_u8(v, &st)) != 0 ||
	    (r = buf_get_u8(v, &lk)) != 0)
		goto out;
	if (d > 1 || st > USER_ACTIVE || lk > 1) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	u->disabled = d;
	u->state = (enum user_state)st;
	u->locked = lk;
	if ((r = buf_get_string_direct(v, &s, &sl)) != 0)
		goto out;
	if (sl > PW_HASH_MAX || memchr(s, '\0', sl) != NULL) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (sl > 0 && (u->pw_hash = mem_strndup((const char *)s, sl)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get_string_direct(v, &s, &sl)) != 0)
		goto out;
	if (sl > TOTP_BOX_MAX) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (sl > 0) {
		if ((u->totp_box = mem_malloc(sl)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		memcpy(u->totp_box, s, sl);
		u->totp_box_len = sl;
	}
	if ((r = buf_get_u64(v, &u->last_step)) != 0 ||
	    (r = buf_get_u32(v, &u->failures)) != 0 ||
	    (r = buf_get_u64(v, &x)) != 0)
		goto out;
	u->throttle_until = (int64_t)x;
	if ((r = buf_get_u32(v, &n)) != 0)
		goto out;
	if (n > USER_RECOVERY_CODES) {
		r = TSS_E_TOO_MANY;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = buf_get(v, u->recovery[i], USER_HASH_LEN)) != 0)
			goto out;
	u->nrecovery = n;
	if ((r = buf_get_string_direct(v, &s, &sl)) != 0)
		goto out;
	if (sl != 0 && sl != USER_HASH_LEN) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (sl == USER_HASH_LEN) {
		memcpy(u->enroll_key, s, sl);
		u->has_enroll = 1;
	}
	if ((r = buf_get_u64(v, &x)) != 0)
		goto out;
	u->created = (int64_t)x;
	if (ver >= 2 && (r = buf_get_u64(v, &x)) != 0)
		goto out;
	u->last_login = ver >= 2 ? (int64_t)x : 0;
	if (buf_len(v) != 0) {
		r = TSS_E_TRAILING_DATA;
		goto out;
	}
	*out = u;
	u = NULL;
	r = 0;
 out:
	user_free(u);
	buf_free(v);
	return r;
}

int
user_get(struct store_txn *t, const char *name, struct user **out)
{
	const void *v;
	size_t vl;
	struct user *u = NULL;
	int r;

	*out = NULL;
	if (user_name_valid(name) != 0)
		return TSS_E_NOT_FOUND;		/* such a name cannot exist */
	if ((r = store_get(t, STORE_DB_USERS, name, strlen(name), &v,
	    &vl)) != 0)
		return r;
	if ((r = user_decode(v, vl, &u)) != 0)
		return r;
	if (strcmp(u->name, name) != 0) {
		user_free(u);
		return TSS_E_BAD_FORMAT;
	}
	*out = u;
	return 0;
}

int
user_put(struct store_txn *t, const struct user *u)
{
	struct buf *b = NULL;
	int r;

	if (u == NULL || user_name_valid(u->name) != 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = user_encode(u, &b)) != 0)
		return r;
	r = store_put(t, STORE_DB_USERS, u->name, strlen(u->name),
	    buf_ptr(b), buf_len(b), 0);
	buf_free(b);
	return r;
}

int
user_list(struct store_txn *t, struct user ***out, size_t *n)
{
	struct store_cursor *c = NULL;
	struct user **v = NULL, **nv, *u = NULL;
	const void *k, *val;
	size_t kl, vl, cnt = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_cursor_open(t, STORE_DB_USERS, &c)) != 0)
		return r;
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if ((r = user_decode(val, vl, &u)) != 0)
			goto out;
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = mem_reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
			v = nv;
		}
		v[cnt++] = u;
		u = NULL;
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
 out:
	user_free(u);
	user_list_free(v, cnt);
	store_cursor_close(c);
	return r;
}

static json_t *
groups_json(const char *const *g, size_t n)
{
	json_t *a;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, json_string(g[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int
user_create(struct store_txn *t, const char *name,
    const char *const *groups, size_t ngroups,
    const struct audit_actor *actor, int64_t now, char *token,
    int64_t *expires_at)
{
	struct user u;
	json_t *f = NULL;
	const void *ov;
	size_t ol;
	char tok[TOKEN_TEXT_LEN + 1];
	int64_t exp = 0;
	int r = TSS_E_INTERNAL;

	memset(&u, 0, sizeof(u));
	*expires_at = 0;
	if ((r = user_name_valid(name)) != 0)
		return r;
	if ((r = groups_copy(groups, ngroups, &u.groups)) != 0)
		return r;
	u.ngroups = ngroups;
	if ((u.name = mem_strdup(name)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	u.state = USER_PENDING;
	u.created = now;
	if ((r = store_get(t, STORE_DB_USERS, name, strlen(name), &ov,
	    &ol)) == 0) {
		r = TSS_E_CONFLICT;
		goto out;
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	if ((r = auth__enroll_issue(t, name, now, tok, u.enroll_key,
	    &exp)) != 0)
		goto out;
	u.has_enroll = 1;
	if ((r = user_put(t, &u)) != 0)
		goto out;
	if ((f = json_object()) == NULL ||
	    json_object_set_new(f, "groups", groups_json(groups,
	    ngroups)) != 0) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = audit_record(t, actor, "user.create", name, "ok", f,
	    now, NULL)) != 0)
		goto out;
	memcpy(token, tok, sizeof(tok));
	*expires_at = exp;
	r = 0;
 out:
	OPENSSL_cleanse(tok, sizeof(tok));
	json_decref(f);
	free(u.name);
	groups_free(u.groups, u.ngroups);
	return r;
}

int
user_set_groups(struct store_txn *t, const char *name,
    const char *const *groups, size_t ngroups,
    const struct audit_actor *actor, int64_t now)
{
	struct user *u = NULL;
	char **g = NULL;
	json_t *f = NULL;
	int r;

	if ((r = groups_copy(groups, ngroups, &g)) != 0)
		return r;
	if ((r = user_get(t, name, &u)) != 0)
		goto out;
	groups_free(u->groups, u->ngroups);
	u->groups = g;
	u->ngroups = ngroups;
	g = NULL;
	if ((r = user_put(t, u)) != 0)
		goto out;
	if ((f = json_object()) == NULL ||
	    json_object_set_new(f, "groups", groups_json(groups,
	    ngroups)) != 0) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = audit_record(t, actor, "user.update", name, "ok", f, now, NULL);
 out:
	json_decref(f);
	groups_free(g, ngroups);
	user_free(u);
	return r;
}

int
user_set_disabled(struct store_txn *t, const char *name, int disabled,
    const struct audit_actor *actor, int64_t now)
{
	struct user *u = NULL;
	json_t *f = NULL;
	size_t ended = 0;
	int r;

	if ((r = user_get(t, name, &u)) != 0)
		goto out;
	u->disabled = disabled ? 1 : 0;
	if ((r = user_put(t, u)) != 0)
		goto out;
	if (disabled &&
	    (r = session_end_all_for_user(t, name, &ended)) != 0)
		goto out;
	if ((f = json_pack("{sI}", "sessions_ended", (json_int_t)ended)) ==
	    NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = audit_record(t, actor, disabled ? "user.disable" :
	    "user.enable", name, "ok", f, now, NULL);
 out:
	json_decref(f);
	user_free(u);
	return r;
}

int
user_reset(struct store_txn *t, const char *name,
    const struct audit_actor *actor, int64_t now, char *token,
    int64_t *expires_at)
{
	struct user *u = NULL;
	json_t *f = NULL;
	char tok[TOKEN_TEXT_LEN + 1];
	size_t ended = 0;
	int64_t exp = 0;
	int r;

	*expires_at = 0;
	if ((r = user_get(t, name, &u)) != 0)
		goto out;
	if (u->has_enroll) {
		r = store_del(t, STORE_DB_ENROLLMENTS, u->enroll_key,
		    USER_HASH_LEN);
		if (r != 0 && r != TSS_E_NOT_FOUND)
			goto out;
	}
	if (u->pw_hash != NULL)
		OPENSSL_clear_free(u->pw_hash, strlen(u->pw_hash));
	u->pw_hash = NULL;
	if (u->totp_box != NULL)
		OPENSSL_clear_free(u->totp_box, u->totp_box_len);
	u->totp_box = NULL;
	u->totp_box_len = 0;
	u->state = USER_PENDING;
	u->locked = 0;
	u->failures = 0;
	u->throttle_until = 0;
	u->last_step = 0;
	OPENSSL_cleanse(u->recovery, sizeof(u->recovery));
	u->nrecovery = 0;
	if ((r = auth__enroll_issue(t, name, now, tok, u->enroll_key,
	    &exp)) != 0)
		goto out;
	u->has_enroll = 1;
	if ((r = user_put(t, u)) != 0 ||
	    (r = session_end_all_for_user(t, name, &ended)) != 0)
		goto out;
	if ((f = json_pack("{sI}", "sessions_ended", (json_int_t)ended)) ==
	    NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = audit_record(t, actor, "user.reset", name, "ok", f,
	    now, NULL)) != 0)
		goto out;
	memcpy(token, tok, sizeof(tok));
	*expires_at = exp;
	r = 0;
 out:
	OPENSSL_cleanse(tok, sizeof(tok));
	json_decref(f);
	user_free(u);
	return r;
}

int
user_unlock(struct store_txn *t, const char *name,
    const struct audit_actor *actor, int64_t now)
{
	struct user *u = NULL;
	int r;

	if ((r = user_get(t, name, &u)) != 0)
		goto out;
	u->locked = 0;
	u->failures = 0;
	u->throttle_until = 0;
	if ((r = user_put(t, u)) != 0)
		goto out;
	r = audit_record(t, actor, "user.unlock", name, "ok", NULL, now, NULL);
 out:
	user_free(u);
	return r;
}

int
user_delete(struct store_txn *t, const char *name,
    const struct audit_actor *actor, int64_t now)
{
	struct user *u = NULL;
	json_t *f = NULL;
	size_t ended = 0;
	int r;

	if ((r = user_get(t, name, &u)) != 0)
		goto out;
	if (u->has_enroll) {
		r = store_del(t, STORE_DB_ENROLLMENTS, u->enroll_key,
		    USER_HASH_LEN);
		if (r != 0 && r != TSS_E_NOT_FOUND)
			goto out;
	}
	if ((r = session_end_all_for_user(t, name, &ended)) != 0 ||
	    (r = store_del(t, STORE_DB_USERS, name, strlen(name))) != 0)
		goto out;
	if ((f = json_pack("{sI}", "sessions_ended", (json_int_t)ended)) ==
	    NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = audit_record(t, actor, "user.delete", name, "ok", f, now, NULL);
 out:
	json_decref(f);
	user_free(u);
	return r;
}
