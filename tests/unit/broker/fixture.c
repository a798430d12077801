/* The broker fixture shared by the broker and device suites. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/secretbox.h"
#include "auth/token.h"
#include "auth/user.h"
#include "broker/broker.h"
#include "sshca/cakey.h"
#include "fixture.h"
#include "rbac/rbac.h"
#include "store/store.h"
#include "tesserad/policy_json.h"
#include "tmpdir.h"

void
fixture_path(const struct fixture *f, char *out, size_t len,
    const char *name)
{
	cr_assert_lt(snprintf(out, len, "%s/%s", f->dir, name), (int)len);
}

static void
cfg_set(struct config *c, const char *k, const char *v)
{
	char err[256];

	cr_assert_eq(config_set(c, k, v, err, sizeof(err)), 0, "%s: %s", k,
	    err);
}

void
fixture_host_key(const struct fixture *f, const char *name, char *line,
    size_t len)
{
	char p[512], pub[520], cmd[1024];
	FILE *fp;

	fixture_path(f, p, sizeof(p), name);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ed25519 -N '' -f '%s'",
	    p);
	cr_assert_eq(system(cmd), 0);
	snprintf(pub, sizeof(pub), "%s.pub", p);
	cr_assert_not_null(fp = fopen(pub, "r"));
	cr_assert_not_null(fgets(line, (int)len, fp));
	fclose(fp);
	line[strcspn(line, "\n")] = '\0';
}

void
fixture_user(struct store_txn *t, const char *name, const char *group,
    int64_t now)
{
	const char *groups[1] = { group };
	char token[TOKEN_TEXT_LEN + 1];
	struct user *u;
	int64_t exp;

	cr_assert_eq(user_create(t, name, groups, group != NULL ? 1 : 0, NULL,
	    now, token, &exp), 0);
	cr_assert_eq(user_get(t, name, &u), 0);
	u->state = USER_ACTIVE;
	cr_assert_eq(user_put(t, u), 0);
	user_free(u);
}

void
fixture_woken(void *arg, int r)
{
	struct fixture_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	w->r = r;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
fixture_waited(struct fixture_wait *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return w->r;
}

void
fixture_stop_sink(struct fixture *f)
{
	broker_audit_stop(f->b);
}

static void
read_line(const char *path, char *out, size_t len)
{
	FILE *fp = fopen(path, "r");

	cr_assert_not_null(fp, "%s", path);
	cr_assert_not_null(fgets(out, (int)len, fp));
	fclose(fp);
	out[strcspn(out, "\n")] = '\0';
}

/* Only tessera init creates a store (broker_open never does). */
static void
make_keys_and_store(struct fixture *f)
{
	uint8_t mk[SECRETBOX_KEY_LEN];
	struct store *s = NULL;
	struct cakey *ca, *hca;
	char p[512];

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	fixture_path(f, p, sizeof(p), "ca.key");
	cr_assert_eq(cakey_save(ca, p, CAKEY_FORMAT_OPENSSH, "test-ca"), 0);
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &hca), 0);
	fixture_path(f, p, sizeof(p), "host_ca.key");
	cr_assert_eq(cakey_save(hca, p, CAKEY_FORMAT_OPENSSH, "test-host-ca"),
	    0);
	cakey_free(hca);
	fixture_path(f, p, sizeof(p), "master.key");
	cr_assert_eq(secretbox_key_create(p), 0);
	cr_assert_eq(secretbox_key_load(p, mk), 0);
	cr_assert_eq(broker_store_create(f->dir, NULL, ca, mk, &s), 0);
	explicit_bzero(mk, sizeof(mk));
	store_close(s);
	cakey_free(ca);
}

static void
make_world(struct fixture *f, int64_t role_ttl)
{
	const struct rbac_actor root = { .who.name = "root" };
	struct rbac_target *tg;
	struct rbac_role *role;
	struct store_txn *t;
	char err[256];
	json_t *j;

	cr_assert_eq(store_begin(f->b->store, 1, &t), 0);
	fixture_user(t, "alice", "dev", f->now);
	fixture_user(t, "bob", NULL, f->now);
	fixture_user(t, "root", NULL, f->now);
	cr_assert_eq(rbac_bootstrap_admin(t, "root", f->now), 0);
	j = json_pack("{s:{s:s}}", "labels", "env", "lab");
	cr_assert_eq(policy_json_target("lab/box", j, &tg, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(j);
	cr_assert_eq(rbac_target_put(t, &root, tg, f->now, err, sizeof(err)),
	    0, "%s", err);
	rbac_target_free(tg);
	j = json_pack("{s:[{s:[s], s:[s]}], s:I}", "rules", "targets",
	    "lab/*", "logins", "app", "max_ttl", (json_int_t)role_ttl);
	cr_assert_eq(policy_json_role("dev", j, &role, err, sizeof(err)),
	    0, "%s", err);
	json_decref(j);
	cr_assert_eq(rbac_role_put(t, &root, role, f->now, err, sizeof(err)),
	    0, "%s", err);
	rbac_role_free(role);
	cr_assert_eq(rbac_binding_create(t, &root, "dev", "group:dev", 0,
	    f->now, &f->dev_binding, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
}

/* A real key from ssh-keygen, and its fingerprint as ssh-keygen prints
 * it: bits, "SHA256:" and the unpadded base64 digest, comment, type. */
static void
make_key(struct fixture *f)
{
	char cmd[1024], p[512], line[512];
	const char *sp, *end;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ed25519 -N '' -C dev "
	    "-f '%s/id' && ssh-keygen -l -E sha256 -f '%s/id.pub' > "
	    "'%s/fp'", f->dir, f->dir, f->dir);
	cr_assert_eq(system(cmd), 0);
	fixture_path(f, p, sizeof(p), "id.pub");
	read_line(p, f->pubkey, sizeof(f->pubkey));
	fixture_path(f, p, sizeof(p), "fp");
	read_line(p, line, sizeof(line));
	cr_assert_not_null(sp = strchr(line, ' '));
	sp++;
	cr_assert_not_null(end = strchr(sp, ' '));
	cr_assert_lt((size_t)(end - sp), sizeof(f->fingerprint));
	memcpy(f->fingerprint, sp, (size_t)(end - sp));
	f->fingerprint[end - sp] = '\0';
}

void
fixture_open(struct fixture *f, const char *const *extra, int64_t role_ttl)
{
	static const char *const files[] = { "ca_key", "ca.key",
	    "host_ca_key", "host_ca.key", "master_key", "master.key",
	    "audit_log", "audit.log", NULL };
	struct config cfg;
	char p[512], err[256];
	size_t i;

	memset(f, 0, sizeof(*f));
	f->now = (int64_t)time(NULL);
	cr_assert_eq(tmpdir_make(f->dir, sizeof(f->dir)), 0);
	make_keys_and_store(f);
	cr_assert_eq(config_defaults(&cfg), 0);
	cfg_set(&cfg, "data_dir", f->dir);
	for (i = 0; files[i] != NULL; i += 2) {
		fixture_path(f, p, sizeof(p), files[i + 1]);
		cfg_set(&cfg, files[i], p);
	}
	for (i = 0; extra != NULL && extra[i] != NULL; i += 2)
		cfg_set(&cfg, extra[i], extra[i + 1]);
	cr_assert_eq(broker_open(&cfg, &f->b, err, sizeof(err)), 0, "%s",
	    err);
	make_world(f, role_ttl);
	make_key(f);
}

void
fixture_close(struct fixture *f)
{
	broker_close(f->b);
	f->b = NULL;
	tmpdir_remove(f->dir);
}

void
fixture_target(struct fixture *f, const char *name, const char *text)
{
	static const struct caller root = { .username = "root",
	    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };
	struct rbac_target *tg;
	json_t *j, *out = NULL;
	char err[256] = "";

	cr_assert_not_null(j = json_loads(text, 0, NULL));
	cr_assert_eq(policy_json_target(name, j, &tg, err, sizeof(err)), 0,
	    "%s", err);
	json_decref(j);
	cr_assert_eq(broker_target_put(f->b, &root, tg, f->now, &out, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(out);
	rbac_target_free(tg);
}
