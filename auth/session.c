/*
 * Sessions stored by token hash.  See session.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/record.h"
#include "store/store.h"
#include "auth/internal.h"
#include "auth/session.h"
#include "auth/user.h"

#define REMOTE_MAX	128
static const char csrf_label[] = "tessera csrf v1";

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	free(s->username);
	free(s->remote_addr);
	free(s);
}

static int64_t
expiry(int64_t created, int64_t last_used, int64_t idle, int64_t max)
{
	int64_t a = last_used + idle, b = created + max;

	return a < b ? a : b;
}

static int
session_encode(const char *username, const char *remote, int64_t created,
    int64_t last_used, struct buf **out)
{
	struct buf *b = NULL;
	int r;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, SESSION_REC_TYPE, SESSION_REC_VERSION)) != 0 ||
	    (r = buf_put_cstring(b, username)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)created)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)last_used)) != 0 ||
	    (r = buf_put_cstring(b, remote)) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

static int
session_decode(const void *p, size_t len, struct session **out)
{
	struct session *s = NULL;
	struct buf *v = NULL;
	uint64_t c, l;
	uint8_t ver;
	int r;

	*out = NULL;
	if ((r = rec_open(p, len, SESSION_REC_TYPE, SESSION_REC_VERSION, &v,
	    &ver)) != 0)
		return r;
	if ((s = mem_calloc(1, sizeof(*s))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get_cstring(v, &s->username, NULL)) != 0 ||
	    (r = buf_get_u64(v, &c)) != 0 ||
	    (r = buf_get_u64(v, &l)) != 0 ||
	    (r = buf_get_cstring(v, &s->remote_addr, NULL)) != 0)
		goto out;
	if (buf_len(v) != 0) {
		r = TSS_E_TRAILING_DATA;
		goto out;
	}
	s->created = (int64_t)c;
	s->last_used = (int64_t)l;
	*out = s;
	s = NULL;
	r = 0;
 out:
	session_free(s);
	buf_free(v);
	return r;
}

static const char *
remote_clip(const char *remote)
{
	if (remote == NULL || strnlen(remote, REMOTE_MAX + 1) > REMOTE_MAX)
		return "";
	return remote;
}

int
session_csrf(const char *token, char *csrf)
{
	uint8_t raw[TOKEN_BYTES], mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	int r;

	if ((r = token_decode(token, raw)) != 0)
		return r;
	if (HMAC(sha256_md(), raw, sizeof(raw),
	    (const unsigned char *)csrf_label, sizeof(csrf_label) - 1, mac,
	    &ml) == NULL || ml != TOKEN_BYTES) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	hex_encode(mac, TOKEN_BYTES, csrf);
	r = 0;
 out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

int
session_csrf_check(const char *token, const char *csrf)
{
	char want[TOKEN_TEXT_LEN + 1];
	int r = TSS_E_FORBIDDEN;

	if (csrf == NULL || strnlen(csrf, TOKEN_TEXT_LEN + 1) != TOKEN_TEXT_LEN)
		return TSS_E_FORBIDDEN;
	if (session_csrf(token, want) != 0)
		goto out;
	if (CRYPTO_memcmp(want, csrf, TOKEN_TEXT_LEN) == 0)
		r = 0;
 out:
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

int
session_create(struct store_txn *t, const char *username,
    const char *remote_addr, int64_t now, int64_t idle, int64_t max,
    char *token, char *csrf, int64_t *expires_at)
{
	char tok[TOKEN_TEXT_LEN + 1], cs[TOKEN_TEXT_LEN + 1];
	uint8_t key[TOKEN_HASH_LEN];
	struct buf *b = NULL;
	int r;

	*expires_at = 0;
	if (user_name_valid(username) != 0 || idle <= 0 || max <= 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = token_new(tok, key)) != 0 || (r = session_csrf(tok, cs)) != 0)
		goto out;
	if ((r = session_encode(username, remote_clip(remote_addr), now, now,
	    &b)) != 0)
		goto out;
	/* A collision of 256 random bits means a broken CSPRNG: refuse. */
	if ((r = store_put(t, STORE_DB_SESSIONS, key, sizeof(key),
	    buf_ptr(b), buf_len(b), STORE_NOOVERWRITE)) != 0)
		goto out;
	memcpy(token, tok, sizeof(tok));
	memcpy(csrf, cs, sizeof(cs));
	*expires_at = expiry(now, now, idle, max);
	r = 0;
 out:
	buf_free(b);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(cs, sizeof(cs));
	return r;
}

/* The stored session of a presented token, decoded, its key filled in;
 * TSS_E_UNAUTHENTICATED for a malformed or unknown token. */
static int
session_find(struct store_txn *t, const char *token, struct session **out)
{
	uint8_t key[TOKEN_HASH_LEN];
	const void *v;
	size_t vl;
	int r;

	*out = NULL;
	if (token_hash(token, key) != 0)
		return TSS_E_UNAUTHENTICATED;
	if ((r = store_get(t, STORE_DB_SESSIONS, key, sizeof(key), &v,
	    &vl)) != 0)
		return r == TSS_E_NOT_FOUND ? TSS_E_UNAUTHENTICATED : r;
	if ((r = session_decode(v, vl, out)) != 0)
		return r;
	memcpy((*out)->key, key, sizeof(key));
	return 0;
}

int
session_lookup(struct store_txn *t, const char *token, int64_t now,
    int64_t idle, int64_t max, struct session **out)
{
	struct session *s = NULL;
	struct buf *b = NULL;
	int r;

	*out = NULL;
	if ((r = session_find(t, token, &s)) != 0)
		goto out;
	if (now >= expiry(s->created, s->last_used, idle, max)) {
		if ((r = store_del(t, STORE_DB_SESSIONS, s->key,
		    sizeof(s->key))) != 0)
			goto out;
		r = TSS_E_UNAUTHENTICATED;
		goto out;
	}
	if (now > s->last_used) {
		s->last_used = now;
		if ((r = session_encode(s->username, s->remote_addr,
		    s->created, s->last_used, &b)) != 0 ||
		    (r = store_put(t, STORE_DB_SESSIONS, s->key,
		    sizeof(s->key), buf_ptr(b), buf_len(b), 0)) != 0)
			goto out;
	}
	s->expires_at = expiry(s->created, s->last_used, idle, max);
	*out = s;
	s = NULL;
	r = 0;
 out:
	buf_free(b);
	session_free(s);
	return r;
}

int
session_peek(struct store_txn *t, const char *token, int64_t now,
    int64_t idle, int64_t max, struct session **out, int *touch)
{
	struct session *s = NULL;
	int r;

	*out = NULL;
	*touch = 0;
	if ((r = session_find(t, token, &s)) != 0)
		goto out;
	s->expires_at = expiry(s->created, s->last_used, idle, max);
	if (now >= s->expires_at) {
		*touch = 1;	/* to delete it */
		r = TSS_E_UNAUTHENTICATED;
		goto out;
	}
	/* A clock that went back counts as fresh, as in session_lookup(). */
	*touch = now - s->last_used >= SESSION_TOUCH_EVERY;
	*out = s;
	s = NULL;
	r = 0;
 out:
	session_free(s);
	return r;
}

int
session_alive(struct store_txn *t, const uint8_t *key, const char *username,
    int64_t now, int64_t idle, int64_t max)
{
	struct session *s = NULL;
	const void *v;
	size_t vl;
	int r;

	if ((r = store_get(t, STORE_DB_SESSIONS, key, TOKEN_HASH_LEN, &v,
	    &vl)) != 0) {
		r = r == TSS_E_NOT_FOUND ? TSS_E_UNAUTHENTICATED : r;
		goto out;
	}
	if ((r = session_decode(v, vl, &s)) != 0)
		goto out;
	r = strcmp(s->username, username) == 0 &&
	    now < expiry(s->created, s->last_used, idle, max) ? 0 :
	    TSS_E_UNAUTHENTICATED;
 out:
	session_free(s);
	return r;
}

/*
 * Delete the session under key and audit session.end (actor the
 * session's user).  owner NULL: anyone's; otherwise missing or not
 * owner's is TSS_E_NOT_FOUND.
 */
static int
end_key(struct store_txn *t, const uint8_t *key, const char *owner,
    const char *remote_addr, int64_t now)
{
	struct session *s = NULL;
	struct audit_actor a;
	const void *v;
	size_t vl;
	int r;

	if ((r = store_get(t, STORE_DB_SESSIONS, key, TOKEN_HASH_LEN, &v,
	    &vl)) != 0 || (r = session_decode(v, vl, &s)) != 0)
		goto out;
	if (owner != NULL && strcmp(s->username, owner) != 0) {
		r = TSS_E_NOT_FOUND;
		goto out;
	}
	if ((r = store_del(t, STORE_DB_SESSIONS, key, TOKEN_HASH_LEN)) != 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.name = s->username;
	a.remote_addr = remote_addr;
	r = audit_record(t, &a, "session.end", s->username, "ok", NULL,
	    now, NULL);
 out:
	session_free(s);
	return r;
}

int
session_end(struct store_txn *t, const char *token, const char *remote_addr,
    int64_t now)
{
	uint8_t key[TOKEN_HASH_LEN];
	int r;

	if (token_hash(token, key) != 0)
		return TSS_E_UNAUTHENTICATED;
	r = end_key(t, key, NULL, remote_addr, now);
	return r == TSS_E_NOT_FOUND ? TSS_E_UNAUTHENTICATED : r;
}

int
session_end_key(struct store_txn *t, const char *username,
    const uint8_t *key, const char *remote_addr, int64_t now)
{
	if (username == NULL || key == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return end_key(t, key, username, remote_addr, now);
}

void
session_list_free(struct session **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		session_free(v[i]);
	free(v);
}

int
session_list(struct store_txn *t, const char *username, int64_t now,
    int64_t idle, int64_t max, struct session ***out, size_t *n)
{
	struct store_cursor *c = NULL;
	struct session *s = NULL, **v = NULL, **nv;
	const void *k, *val;
	size_t kl, vl, cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_cursor_open(t, STORE_DB_SESSIONS, &c)) != 0)
		return r;
	r = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl);
	for (; r == 0; r = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if ((r = session_decode(val, vl, &s)) == TSS_E_NOMEM)
			goto out;
		if (r != 0 || kl != TOKEN_HASH_LEN ||
		    strcmp(s->username, username) != 0 ||
		    now >= expiry(s->created, s->last_used, idle, max)) {
			session_free(s);	/* unusable or not asked for */
			s = NULL;
			continue;
		}
		if (cnt >= SESSION_LIST_MAX) {
			r = TSS_E_TOO_MANY;
			goto out;
		}
		memcpy(s->key, k, TOKEN_HASH_LEN);
		s->expires_at = expiry(s->created, s->last_used, idle, max);
		if ((nv = mem_reallocarray(v, cnt + 1, sizeof(*v))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		v = nv;
		v[cnt++] = s;
		s = NULL;	/* transferred */
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
 out:
	session_free(s);
	session_list_free(v, cnt);
	store_cursor_close(c);
	return r;
}

/*
 * Delete sessions matching: a user's (username != NULL) but the one
 * under keep (may be NULL), or expired ones.
 */
static int
sweep(struct store_txn *t, const char *username, const uint8_t *keep,
    int64_t now, int64_t idle, int64_t max, size_t *n)
{
	struct store_cursor *c = NULL;
	struct session *s = NULL;
	const void *k, *v;
	uint8_t here[TOKEN_HASH_LEN];
	size_t kl, vl, cnt = 0;
	int r, kill;

	if (n != NULL)
		*n = 0;
	if ((r = store_cursor_open(t, STORE_DB_SESSIONS, &c)) != 0)
		return r;
	r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
	while (r == 0) {
		if ((r = session_decode(v, vl, &s)) == TSS_E_NOMEM)
			goto out;	/* readable, only not now: keep it */
		if (r != 0) {
			/* An unreadable session cannot be used: drop it. */
			kill = 1;
		} else if (username != NULL)
			kill = strcmp(s->username, username) == 0 &&
			    (keep == NULL || kl != TOKEN_HASH_LEN ||
			    CRYPTO_memcmp(k, keep, TOKEN_HASH_LEN) != 0);
		else
			kill = now >= expiry(s->created, s->last_used, idle,
			    max);
		session_free(s);
		s = NULL;
		if (kill) {
			if (kl != sizeof(here)) {
				r = TSS_E_BAD_FORMAT;
				goto out;
			}
			/* Resume at the first key after the deleted one. */
			memcpy(here, k, sizeof(here));
			if ((r = store_cursor_del(c)) != 0)
				goto out;
			cnt++;
			r = store_cursor_seek(c, here, sizeof(here), &k, &kl,
			    &v, &vl);
			continue;
		}
		r = store_cursor_next(c, &k, &kl, &v, &vl);
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	if (n != NULL)
		*n = cnt;
	r = 0;
 out:
	store_cursor_close(c);
	return r;
}

int
session_end_all_for_user(struct store_txn *t, const char *username,
    size_t *n)
{
	if (username == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return sweep(t, username, NULL, 0, 0, 0, n);
}

int
session_prune(struct store_txn *t, int64_t now, int64_t idle, int64_t max,
    size_t *n)
{
	return sweep(t, NULL, NULL, now, idle, max, n);
}

int
session_end_others(struct store_txn *t, const char *username,
    const uint8_t *keep, const char *remote_addr, int64_t now, size_t *n)
{
	struct audit_actor a;
	json_t *f = NULL;
	size_t cnt = 0;
	int r;

	if (n != NULL)
		*n = 0;
	if (username == NULL || keep == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = sweep(t, username, keep, 0, 0, 0, &cnt)) != 0)
		return r;
	if ((f = json_pack("{sI}", "ended", (json_int_t)cnt)) == NULL)
		return TSS_E_NOMEM;
	memset(&a, 0, sizeof(a));
	a.name = username;
	a.remote_addr = remote_addr;
	r = audit_record(t, &a, "session.end_others", username, "ok", f, now,
	    NULL);
	json_decref(f);
	if (r == 0 && n != NULL)
		*n = cnt;
	return r;
}
