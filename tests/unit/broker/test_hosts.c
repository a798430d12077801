/*
 * broker/hostca and broker/hosts on the fixture's real broker: the host
 * CA's checks, join tokens, joins, renewals and what a host may read.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/token.h"
#include "bh.h"
#include "broker/broker.h"
#include "broker/hosts.h"
#include "common/err.h"
#include "fixture.h"
#include "rbac/rbac.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "tesserad/policy_json.h"

static struct fixture fx;

static void
setup(void)
{
	fixture_open(&fx, NULL, 8 * 3600);
}

static void
teardown(void)
{
	fixture_close(&fx);
}

TestSuite(hosts, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the host CA ---- */

Test(hosts, host_ca_must_not_be_the_user_ca)
{
	struct cakey *k = (struct cakey *)1;
	char p[512], err[512] = "";

	fixture_path(&fx, p, sizeof(p), "ca.key");
	cr_expect_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    TSS_E_CONFIG);
	cr_expect_null(k);
	cr_expect_not_null(strstr(err, "the same key as ca_key"), "%s", err);
	fixture_path(&fx, p, sizeof(p), "host_ca.key");
	cr_assert_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    0, "%s", err);
	cr_expect(sshkey_equal(cakey_public(k), cakey_public(fx.b->host_ca)));
	cakey_free(k);
}

Test(hosts, host_ca_key_file_is_checked_like_ca_key)
{
	struct cakey *k = NULL;
	char p[512], err[512] = "";

	fixture_path(&fx, p, sizeof(p), "host_ca.key");
	cr_assert_eq(chmod(p, 0644), 0);
	cr_expect_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    TSS_E_KEY_PERMS);
	cr_expect_not_null(strstr(err, "host_ca_key"), "%s", err);
	cr_expect_null(k);
	fixture_path(&fx, p, sizeof(p), "missing.key");
	cr_expect_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    TSS_E_NOT_FOUND);
}

Test(hosts, ca_host_text_is_one_cert_authority_line)
{
	char *text = NULL, errmsg[256] = "";
	struct cakey *hca = fx.b->host_ca;

	cr_assert_eq(broker_ca_host_text(fx.b, &text, errmsg, sizeof(errmsg)),
	    0);
	cr_expect_eq(strncmp(text, "@cert-authority * ssh-ed25519 ", 30), 0,
	    "%s", text);
	cr_expect_eq(text[strlen(text) - 1], '\n');
	free(text);
	fx.b->host_ca = NULL;
	cr_expect_eq(broker_ca_host_text(fx.b, &text, errmsg, sizeof(errmsg)),
	    TSS_E_NOT_FOUND);
	fx.b->host_ca = hca;
	cr_expect_null(text);
	cr_expect_str_eq(errmsg, BROKER_NO_HOST_CA);
}

/* ---- join tokens, joins, renewals ---- */

/* lab/box gets hosts (NULL-terminated) and port 2222. */
static void
set_hosts(const char *const *hosts)
{
	json_t *j, *h = json_array(), *out = NULL;
	struct rbac_target *tg;
	char err[256] = "";

	while (*hosts != NULL)
		json_array_append_new(h, json_string(*hosts++));
	j = json_pack("{s:{s:s}, s:o, s:i}", "labels", "env", "lab", "hosts",
	    h, "port", 2222);
	cr_assert_eq(policy_json_target("lab/box", j, &tg, err, sizeof(err)),
	    0, "%s", err);
	json_decref(j);
	cr_assert_eq(broker_target_put(fx.b, &bh_root, tg, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(out);
	rbac_target_free(tg);
}

static const char *const box_hosts[] = { "box.lab", "10.0.0.5", NULL };

/* A join token for lab/box, valid ttl seconds from fx.now. */
static void
token(char *out, size_t len, int64_t ttl)
{
	char err[256] = "";
	json_t *o = NULL;

	cr_assert_eq(hosts_token_create(fx.b, &bh_root, "lab/box", ttl, fx.now,
	    &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(bh_str(o, "token")), 68);
	cr_expect_eq(strncmp(bh_str(o, "token"), "tsj_", 4), 0);
	cr_expect_eq(bh_int(o, "expires_at"), fx.now + ttl);
	snprintf(out, len, "%s", bh_str(o, "token"));
	json_decref(o);
}

/* A host key line from ssh-keygen (name: a file in the fixture dir). */
static void
host_key(const char *name, char *line, size_t len)
{
	fixture_host_key(&fx, name, line, len);
}

static int
join(const char *tok, const char *key, const char *const *hosts, size_t n,
    json_t **out, char *err, size_t len)
{
	struct hosts_req rq = { .secret = tok, .public_key = key,
	    .hosts = hosts, .n_hosts = n, .remote_addr = "192.0.2.7",
	    .request_id = "req-host" };

	int r = hosts_join(fx.b, &rq, fx.now, out, err, len);

	if (r != 0 && err[0] == '\0')
		snprintf(err, len, "%s", tss_strerror(r));
	return r;
}

static int
renew(const char *cred, const char *key, int64_t now, json_t **out,
    char *err, size_t len)
{
	struct hosts_req rq = { .secret = cred, .public_key = key,
	    .remote_addr = "192.0.2.7", .request_id = "req-host" };

	return hosts_renew(fx.b, &rq, now, out, err, len);
}

Test(hosts, join_signs_a_host_certificate_and_spends_the_token)
{
	char tok[80], key[512], err[256] = "", *text;
	struct sshkey *k = NULL;
	json_t *o = NULL, *c, *ev;
	uint64_t seq = bh_audit_seq(fx.b->store);

	set_hosts(box_hosts);
	token(tok, sizeof(tok), 900);
	host_key("host1", key, sizeof(key));
	cr_assert_eq(join(tok, key, NULL, 0, &o, err, sizeof(err)), 0, "%s",
	    err);
	cr_expect_str_eq(bh_str(o, "target"), "lab/box");
	cr_expect_eq(strncmp(bh_str(o, "credential"), "tsh_", 4), 0);
	cr_expect_eq(strlen(bh_str(o, "credential")), 68);
	bh_expect_json(json_object_get(o, "principals"),
	    "[\"box.lab\",\"10.0.0.5\"]");
	cr_expect_eq(bh_int(o, "valid_before") - bh_int(o, "valid_after"),
	    30 * 86400 + 300, "host_cert_ttl from now, 5 minutes of skew");
	cr_assert_eq(sshkey_parse_line(key, strlen(key), &k, NULL), 0);
	c = bh_cert_decode(bh_str(o, "certificate"), k,
	    cakey_public(fx.b->host_ca));
	cr_expect_eq(bh_int(c, "cert_type"), 2, "a host certificate");
	bh_expect_json(json_object_get(c, "critical_options"), "{}");
	bh_expect_json(json_object_get(c, "extensions"), "[]");
	{
		char kid[128];

		snprintf(kid, sizeof(kid), "host:lab/box:%lld",
		    (long long)bh_int(o, "serial"));
		cr_expect_str_eq(bh_str(c, "key_id"), kid);
	}
	json_decref(c);
	cr_assert_not_null(ev = bh_audit_find(fx.b->store, seq, "host.join"));
	cr_expect_str_eq(bh_str(ev, "actor"), "host:lab/box");
	text = json_dumps(ev, 0);
	cr_expect_null(strstr(text, tok + 4), "never the token");
	free(text);
	json_decref(ev);
	json_decref(o);
	/* Spent: the same token again is refused, and changes nothing. */
	BH_REFUSED(fx.b->store, err, o, TSS_E_INVALID_CREDENTIALS,
	    HOSTS_BAD_SECRET, join(tok, key, NULL, 0, &o, err, sizeof(err)));
	sshkey_free(k);
}

Test(hosts, join_refuses_expired_unknown_and_foreign_names)
{
	char tok[80], key[512], err[256] = "", bad[80];
	const char *const mine[] = { "10.0.0.5" };
	const char *const foreign[] = { "box.lab", "db.lab" };
	json_t *o = NULL;

	set_hosts(box_hosts);
	host_key("host1", key, sizeof(key));
	token(tok, sizeof(tok), 60);
	fx.now += 60;	/* expired at its expires_at */
	BH_REFUSED(fx.b->store, err, o, TSS_E_INVALID_CREDENTIALS,
	    HOSTS_BAD_SECRET, join(tok, key, NULL, 0, &o, err, sizeof(err)));
	fx.now -= 60;
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	BH_REFUSED(fx.b->store, err, o, TSS_E_INVALID_CREDENTIALS,
	    HOSTS_BAD_SECRET, join(bad, key, NULL, 0, &o, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, o, TSS_E_INVALID_CREDENTIALS,
	    HOSTS_BAD_SECRET, join("tsj_short", key, NULL, 0, &o, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, o, TSS_E_FORBIDDEN,
	    "db.lab is not one of target lab/box's hosts", join(tok, key,
	    foreign, 2, &o, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, o, TSS_E_INVALID_PUBLIC_KEY, NULL,
	    join(tok, "ssh-ed25519 AAAA", NULL, 0, &o, err, sizeof(err)));
	/* Nothing was spent by the refusals: the token still joins, for
	 * the names asked for. */
	cr_assert_eq(join(tok, key, mine, 1, &o, err, sizeof(err)), 0, "%s",
	    err);
	bh_expect_json(json_object_get(o, "principals"), "[\"10.0.0.5\"]");
	json_decref(o);
}

Test(hosts, join_without_hosts_or_host_ca_is_refused)
{
	char tok[80], key[512], err[256] = "";
	struct cakey *hca = fx.b->host_ca;
	json_t *o = NULL;

	host_key("host1", key, sizeof(key));
	token(tok, sizeof(tok), 900);
	BH_REFUSED(fx.b->store, err, o, TSS_E_VALIDATION,
	    "target lab/box has no hosts", join(tok, key, NULL, 0, &o, err,
	    sizeof(err)));
	set_hosts(box_hosts);
	fx.b->host_ca = NULL;
	BH_REFUSED(fx.b->store, err, o, TSS_E_UNAVAILABLE, BROKER_NO_HOST_CA,
	    join(tok, key, NULL, 0, &o, err, sizeof(err)));
	fx.b->host_ca = hca;
}

Test(hosts, token_needs_targets_write_and_a_target)
{
	struct caller alice;
	char tok[TOKEN_TEXT_LEN + 1], err[256] = "";
	json_t *o = NULL;

	bh_login(fx.b, "alice", fx.now, tok, &alice);
	BH_REFUSED(fx.b->store, err, o, TSS_E_FORBIDDEN,
	    "a join token needs targets:write", hosts_token_create(fx.b,
	    &alice, "lab/box", 900, fx.now, &o, err, sizeof(err)));
	caller_clear(&alice);
	BH_REFUSED(fx.b->store, err, o, TSS_E_NOT_FOUND, "no target lab/nope",
	    hosts_token_create(fx.b, &bh_root, "lab/nope", 900, fx.now, &o,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, o, TSS_E_VALIDATION, NULL,
	    hosts_token_create(fx.b, &bh_root, "lab/box", 86401, fx.now, &o,
	    err, sizeof(err)));
}

Test(hosts, renew_extends_with_the_same_key_only)
{
	char tok[80], key[512], other[512], cred[80], err[256] = "";
	json_t *o = NULL, *self = NULL;
	int64_t vb;

	set_hosts(box_hosts);
	token(tok, sizeof(tok), 900);
	host_key("host1", key, sizeof(key));
	host_key("host2", other, sizeof(other));
	cr_assert_eq(join(tok, key, NULL, 0, &o, err, sizeof(err)), 0, "%s",
	    err);
	snprintf(cred, sizeof(cred), "%s", bh_str(o, "credential"));
	vb = bh_int(o, "valid_before");
	json_decref(o);
	BH_REFUSED(fx.b->store, err, o, TSS_E_FORBIDDEN, "public_key: not the "
	    "host key this credential was issued for", renew(cred, other,
	    fx.now, &o, err, sizeof(err)));
	cr_assert_eq(renew(cred, key, fx.now + 3600, &o, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_eq(bh_int(o, "valid_before"), vb + 3600);
	cr_expect_null(json_object_get(o, "credential"), "the credential "
	    "stays");
	json_decref(o);
	/* The credential lives as long as the newest certificate. */
	cr_assert_eq(hosts_self(fx.b, cred, vb + 10, &self), 0);
	bh_expect_json(self, "{\"hosts\":[\"box.lab\",\"10.0.0.5\"],"
	    "\"logins\":[\"app\"],\"port\":2222,\"target\":\"lab/box\"}");
	json_decref(self);
	BH_REFUSED(fx.b->store, err, o, TSS_E_INVALID_CREDENTIALS,
	    HOSTS_BAD_SECRET, renew(cred, key, vb + 3600, &o, err,
	    sizeof(err)));
	cr_expect_eq(hosts_self(fx.b, cred, vb + 3600, &self),
	    TSS_E_INVALID_CREDENTIALS);
}

Test(hosts, deleting_the_target_ends_its_tokens_and_credentials)
{
	char tok[80], tok2[80], key[512], cred[80], err[256] = "";
	json_t *o = NULL;

	set_hosts(box_hosts);
	token(tok, sizeof(tok), 900);
	token(tok2, sizeof(tok2), 900);
	host_key("host1", key, sizeof(key));
	cr_assert_eq(join(tok, key, NULL, 0, &o, err, sizeof(err)), 0, "%s",
	    err);
	snprintf(cred, sizeof(cred), "%s", bh_str(o, "credential"));
	json_decref(o);
	cr_assert_eq(broker_target_delete(fx.b, &bh_root, "lab/box", 1, fx.now,
	    err, sizeof(err)), 0, "%s", err);
	set_hosts(box_hosts);	/* the same name again is another target */
	cr_expect_eq(renew(cred, key, fx.now, &o, err, sizeof(err)),
	    TSS_E_INVALID_CREDENTIALS);
	cr_expect_eq(hosts_self(fx.b, cred, fx.now, &o),
	    TSS_E_INVALID_CREDENTIALS);
	cr_expect_eq(join(tok2, key, NULL, 0, &o, err, sizeof(err)),
	    TSS_E_INVALID_CREDENTIALS);
}

Test(hosts, route_shows_the_callers_logins_or_refuses)
{
	struct caller alice, bob;
	char ta[TOKEN_TEXT_LEN + 1], tb[TOKEN_TEXT_LEN + 1], err[256] = "";
	json_t *o = NULL;

	set_hosts(box_hosts);
	bh_login(fx.b, "alice", fx.now, ta, &alice);
	bh_login(fx.b, "bob", fx.now, tb, &bob);
	cr_assert_eq(hosts_route(fx.b, &alice, "lab/box", fx.now, &o, err,
	    sizeof(err)), 0, "%s", err);
	bh_expect_json(o, "{\"gateway\":null,\"hosts\":[\"box.lab\","
	    "\"10.0.0.5\"],\"logins\":[\"app\"],\"port\":2222,"
	    "\"target\":\"lab/box\"}");
	json_decref(o);
	o = NULL;
	cr_expect_eq(hosts_route(fx.b, &bob, "lab/box", fx.now, &o, err,
	    sizeof(err)), TSS_E_FORBIDDEN);
	cr_expect_str_eq(err, "no role grants bob a login on lab/box");
	cr_expect_null(o);
	caller_clear(&alice);
	caller_clear(&bob);
}
