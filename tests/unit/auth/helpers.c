#include <sys/wait.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/rand.h>

#include "common/enc.h"
#include "common/err.h"
#include "store/store.h"
#include "audit/audit.h"
#include "auth/enroll.h"
#include "auth/totp.h"
#include "auth/user.h"
#include "argv.h"
#include "helpers.h"
#include "tmpdir.h"

extern char **environ;

char ah_dir[PATH_MAX];
struct store *ah_store;
struct auth_ctx *ah_ctx;
uint8_t ah_key[32];
static struct auth_config ah_cfg;

void
ah_config(struct auth_config *c)
{
	auth_config_defaults(c);
	c->password.m_kib = 1024;
	c->password.t_cost = 1;
	c->password.parallelism = 1;
	c->limits.max_active = 2;
	c->limits.wait_ms = 10000;
	c->rate_burst = 100000;
	c->rate_interval = 1;
}

void
ah_setup(void)
{
	int r;

	cr_assert_eq(tmpdir_make(ah_dir, sizeof(ah_dir)), 0);
	r = store_open(ah_dir, NULL, &ah_store);
	cr_assert_eq(r, 0, "store_open: %s", tss_strerror(r));
	cr_assert_eq(RAND_bytes(ah_key, sizeof(ah_key)), 1);
	ah_config(&ah_cfg);
	r = auth_ctx_new(ah_store, ah_key, &ah_cfg, &ah_ctx);
	cr_assert_eq(r, 0, "auth_ctx_new: %s", tss_strerror(r));
}

void
ah_teardown(void)
{
	auth_ctx_free(ah_ctx);
	ah_ctx = NULL;
	store_close(ah_store);
	ah_store = NULL;
	tmpdir_remove(ah_dir);
}

void
ah_reconfigure(const struct auth_config *c)
{
	int r;

	auth_ctx_free(ah_ctx);
	ah_ctx = NULL;
	ah_cfg = *c;
	r = auth_ctx_new(ah_store, ah_key, &ah_cfg, &ah_ctx);
	cr_assert_eq(r, 0, "auth_ctx_new: %s", tss_strerror(r));
}

void
ah_reopen(void)
{
	int r;

	auth_ctx_free(ah_ctx);
	ah_ctx = NULL;
	store_close(ah_store);
	ah_store = NULL;
	r = store_open(ah_dir, NULL, &ah_store);
	cr_assert_eq(r, 0, "store_open: %s", tss_strerror(r));
	r = auth_ctx_new(ah_store, ah_key, &ah_cfg, &ah_ctx);
	cr_assert_eq(r, 0);
}

void
ah_create(const char *name, char *token)
{
	struct store_txn *t = NULL;
	int64_t exp = 0;
	int r;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	r = user_create(t, name, NULL, 0, NULL, AH_NOW, token, &exp);
	cr_assert_eq(r, 0, "user_create: %s", tss_strerror(r));
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(exp, AH_NOW + ENROLL_TTL);
}

void
ah_enroll(const char *name, uint8_t secret[20], char b32[64],
    char codes[10][20])
{
	struct enroll_start_result sr;
	struct enroll_finish_result fr;
	char token[65], code[7];
	uint8_t *raw = NULL;
	size_t rawlen = 0, i;
	int r;

	ah_create(name, token);
	r = enroll_start(ah_ctx, token, AH_PASSWORD, strlen(AH_PASSWORD),
	    "127.0.0.1", AH_NOW, &sr);
	cr_assert_eq(r, 0, "enroll_start: %s", tss_strerror(r));
	cr_assert_eq(b32_decode(sr.totp_secret, strlen(sr.totp_secret), &raw,
	    &rawlen), 0);
	cr_assert_eq(rawlen, 20);
	if (secret != NULL)
		memcpy(secret, raw, 20);
	if (b32 != NULL) {
		cr_assert_lt(strlen(sr.totp_secret), 64);
		memcpy(b32, sr.totp_secret, strlen(sr.totp_secret) + 1);
	}
	ah_code(raw, AH_NOW, code);
	free(raw);
	enroll_start_result_clear(&sr);
	r = enroll_finish(ah_ctx, token, code, "127.0.0.1", AH_NOW, &fr);
	cr_assert_eq(r, 0, "enroll_finish: %s", tss_strerror(r));
	if (codes != NULL)
		for (i = 0; i < 10; i++)
			memcpy(codes[i], fr.codes[i], 20);
	enroll_finish_result_clear(&fr);
}

void
ah_code(const uint8_t secret[20], int64_t t, char out[7])
{
	cr_assert_eq(totp_generate(secret, 20, t, 6, out), 0);
}

void
ah_oathtool(const char *b32, int64_t t, char out[7])
{
	char when[32], buf[64];
	const char *argv[] = { "oathtool", "--totp", "-b", b32, "-N", when,
	    NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	ssize_t n;
	size_t got = 0;
	int fds[2], st = 0;

	snprintf(when, sizeof(when), "@%lld", (long long)t);
	cr_assert_eq(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	cr_assert_eq(posix_spawnp(&pid, "oathtool", &fa, NULL, exec_argv(argv),
	    environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (got < sizeof(buf) - 1 &&
	    (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(got, 7, "oathtool printed %zu bytes", got);
	cr_assert_eq(buf[6], '\n');
	memcpy(out, buf, 6);
	out[6] = '\0';
}

struct user *
ah_user(const char *name)
{
	struct store_txn *t = NULL;
	struct user *u = NULL;
	int r;

	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	r = user_get(t, name, &u);
	store_abort(t);
	cr_assert_eq(r, 0, "user_get: %s", tss_strerror(r));
	return u;
}

void
ah_user_raw_get(const char *name, uint8_t **p, size_t *len)
{
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_USERS, name, strlen(name), &v,
	    &vl), 0);
	cr_assert_not_null(*p = malloc(vl));
	memcpy(*p, v, vl);
	*len = vl;
	store_abort(t);
}

void
ah_user_raw_put(const char *name, const uint8_t *p, size_t len)
{
	struct store_txn *t = NULL;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_USERS, name, strlen(name), p, len,
	    0), 0);
	cr_assert_eq(store_commit(t), 0);
}

uint64_t
ah_audit_count(void)
{
	struct store_txn *t = NULL;
	uint64_t n = 0;

	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_AUDIT_SEQ, &n), 0);
	store_abort(t);
	return n;
}

json_t *
ah_audit_last(void)
{
	struct store_txn *t = NULL;
	json_t *o = NULL;
	uint64_t n = ah_audit_count();

	cr_assert_gt(n, 0);
	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(audit_get(t, n, &o), 0);
	store_abort(t);
	return o;
}

char *
ah_audit_dump(void)
{
	struct store_txn *t = NULL;
	json_t *all, *o;
	uint64_t n = ah_audit_count(), i;
	char *s;

	cr_assert_not_null(all = json_array());
	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	for (i = 1; i <= n; i++) {
		cr_assert_eq(audit_get(t, i, &o), 0);
		json_array_append_new(all, o);
	}
	store_abort(t);
	cr_assert_not_null(s = json_dumps(all, JSON_COMPACT));
	json_decref(all);
	return s;
}

size_t
ah_audit_actions(const char *action)
{
	struct store_txn *t = NULL;
	json_t *o;
	uint64_t n = ah_audit_count(), i;
	size_t cnt = 0;
	const char *a;

	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	for (i = 1; i <= n; i++) {
		cr_assert_eq(audit_get(t, i, &o), 0);
		a = json_string_value(json_object_get(o, "action"));
		if (a != NULL && strcmp(a, action) == 0)
			cnt++;
		json_decref(o);
	}
	store_abort(t);
	return cnt;
}

int
ah_login(const char *user, const char *pw, const char *code, int64_t now,
    struct auth_login_result *res)
{
	return auth_login(ah_ctx, user, pw, strlen(pw), code, "192.0.2.7",
	    "req-1", now, res);
}
