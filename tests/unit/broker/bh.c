/* Helpers of the use-case suites; see bh.h. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit/audit.h"
#include "auth/session.h"
#include "auth/token.h"
#include "bh.h"
#include "broker/broker.h"
#include "broker/issue.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "sshca/sshkey.h"
#include "store/store.h"
#include "fixture.h"
#include "fixture_text.h"

static void
digest_u64(EVP_MD_CTX *md, uint64_t v)
{
	uint8_t b[8];

	buf_poke_u64(b, v);
	cr_assert_eq(EVP_DigestUpdate(md, b, sizeof(b)), 1);
}

void
bh_digest(struct store *s, const enum store_db *dbs, size_t n,
    uint8_t out[BH_DIGEST_LEN])
{
	struct store_txn *t;
	struct store_cursor *c;
	EVP_MD_CTX *md;
	const void *k, *v;
	size_t kl, vl, i;
	unsigned int len = 0;
	int r;

	cr_assert_not_null(md = EVP_MD_CTX_new());
	cr_assert_eq(EVP_DigestInit_ex(md, sha256_md(), NULL), 1);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	for (i = 0; i < n; i++) {
		digest_u64(md, (uint64_t)dbs[i]);
		cr_assert_eq(store_cursor_open(t, dbs[i], &c), 0);
		for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
		    r == 0; r = store_cursor_next(c, &k, &kl, &v, &vl)) {
			digest_u64(md, kl);
			cr_assert_eq(EVP_DigestUpdate(md, k, kl), 1);
			digest_u64(md, vl);
			cr_assert_eq(EVP_DigestUpdate(md, v, vl), 1);
		}
		cr_assert_eq(r, TSS_E_NOT_FOUND);
		store_cursor_close(c);
	}
	store_abort(t);
	cr_assert_eq(EVP_DigestFinal_ex(md, out, &len), 1);
	cr_assert_eq(len, BH_DIGEST_LEN);
	EVP_MD_CTX_free(md);
}

void
bh_digest_all(struct store *s, uint8_t out[BH_DIGEST_LEN])
{
	enum store_db dbs[STORE_DB__COUNT];
	size_t i;

	for (i = 0; i < STORE_DB__COUNT; i++)
		dbs[i] = (enum store_db)i;
	bh_digest(s, dbs, STORE_DB__COUNT, out);
}

void
bh_digest_issued(struct store *s, uint8_t out[BH_DIGEST_LEN])
{
	static const enum store_db dbs[] = { STORE_DB_CERTS,
	    STORE_DB_CERTS_BY_USER, STORE_DB_REVOCATIONS, STORE_DB_AUDIT };

	bh_digest(s, dbs, sizeof(dbs) / sizeof(dbs[0]), out);
}

void
bh_expect_unchanged(struct store *s, const uint8_t before[BH_DIGEST_LEN],
    const char *what)
{
	uint8_t now[BH_DIGEST_LEN];

	bh_digest_all(s, now);
	cr_expect_arr_eq(before, now, BH_DIGEST_LEN, "%s changed the store",
	    what);
}

uint64_t
bh_count(struct store *s, enum store_db db)
{
	struct store_txn *t;
	uint64_t n = 0;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_count(t, db, &n), 0);
	store_abort(t);
	return n;
}

uint64_t
bh_counter(struct store *s, enum store_counter c)
{
	struct store_txn *t;
	uint64_t n = 0;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, c, &n), 0);
	store_abort(t);
	return n;
}

uint64_t
bh_audit_seq(struct store *s)
{
	return bh_counter(s, STORE_CTR_AUDIT_SEQ);
}

json_t *
bh_audit_event(struct store *s, uint64_t seq)
{
	struct store_txn *t;
	json_t *e = NULL;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(audit_get(t, seq, &e), 0, "audit event %llu",
	    (unsigned long long)seq);
	store_abort(t);
	return e;
}

json_t *
bh_audit_find(struct store *s, uint64_t after, const char *action)
{
	uint64_t seq, last = bh_audit_seq(s);
	json_t *e;

	for (seq = after + 1; seq <= last; seq++) {
		e = bh_audit_event(s, seq);
		if (strcmp(json_string_value(json_object_get(e, "action")),
		    action) == 0)
			return e;
		json_decref(e);
	}
	return NULL;
}

const struct caller bh_root = { .username = "root",
    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL, .remote_addr = "192.0.2.9",
    .request_id = "req-admin" };

void
bh_expect_root_event(struct store *s, uint64_t seq, const char *action,
    const char *object)
{
	json_t *e;

	cr_assert_eq(bh_audit_seq(s), seq + 1, "%s: %llu events", action,
	    (unsigned long long)(bh_audit_seq(s) - seq));
	e = bh_audit_event(s, seq + 1);
	cr_expect_str_eq(bh_str(e, "action"), action);
	cr_expect_str_eq(bh_str(e, "actor"), "root");
	cr_expect_str_eq(bh_str(e, "object"), object);
	cr_expect_str_eq(bh_str(e, "remote_addr"), "192.0.2.9");
	cr_expect_str_eq(bh_str(e, "request_id"), "req-admin");
	json_decref(e);
}

void
bh_login(struct broker *b, const char *name, int64_t now, char *token,
    struct caller *c)
{
	char csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	cr_assert_eq(store_begin(b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, name, "127.0.0.1", now,
	    b->cfg.session_idle, b->cfg.session_max, token, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(broker_caller(b, token, now, c), 0);
	cr_assert(c->has_session);
}

char *
bh_key_line(const char *type, const void *blob, size_t len)
{
	char *b64 = NULL, *line = NULL;

	cr_assert_eq(b64_encode(blob, len, &b64), 0);
	cr_assert_geq(asprintf(&line, "%s %s", type, b64), 0);
	free(b64);
	return line;
}

/* ---- certificates ---- */

static json_t *
cstring(struct buf *b)
{
	char *s = NULL;
	json_t *j;

	cr_assert_eq(buf_get_cstring(b, &s, NULL), 0);
	j = json_string(s);
	free(s);
	return j;
}

/* A packed list of strings: the principals. */
static json_t *
strings(struct buf *b)
{
	struct buf *sub = NULL;
	json_t *a = json_array();

	cr_assert_eq(buf_get_stringb(b, &sub), 0);
	while (buf_len(sub) > 0)
		json_array_append_new(a, cstring(sub));
	buf_free(sub);
	return a;
}

/* Critical options (name, string(value)) or extensions (name, empty). */
static json_t *
options(struct buf *b, int critical)
{
	struct buf *sub = NULL, *data = NULL;
	json_t *o = critical ? json_object() : json_array(), *name, *value;

	cr_assert_eq(buf_get_stringb(b, &sub), 0);
	while (buf_len(sub) > 0) {
		name = cstring(sub);
		cr_assert_eq(buf_get_stringb(sub, &data), 0);
		if (critical) {
			value = cstring(data);
			json_object_set_new(o, json_string_value(name), value);
		} else {
			json_array_append(o, name);
		}
		cr_assert_eq(buf_len(data), 0, "%s: data left",
		    json_string_value(name));
		buf_free(data);
		json_decref(name);
	}
	buf_free(sub);
	return o;
}

/* Ed25519 signature sig (an SSH signature blob) of data by ca. */
static void
verify_ed25519(const struct sshkey *ca, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t siglen)
{
	struct buf *kb, *sb;
	const uint8_t *pk, *raw, *blob;
	size_t pklen, rawlen, bloblen;
	char *alg = NULL;
	EVP_PKEY *pkey;
	EVP_MD_CTX *md;

	blob = sshkey_blob(ca, &bloblen);
	cr_assert_not_null(kb = buf_from(blob, bloblen));
	cr_assert_eq(buf_get_string_direct(kb, NULL, NULL), 0);
	cr_assert_eq(buf_get_string_direct(kb, &pk, &pklen), 0);
	cr_assert_eq(pklen, 32, "the fixture's CA is Ed25519");
	cr_assert_not_null(sb = buf_from(sig, siglen));
	cr_assert_eq(buf_get_cstring(sb, &alg, NULL), 0);
	cr_assert_str_eq(alg, "ssh-ed25519");
	cr_assert_eq(buf_get_string_direct(sb, &raw, &rawlen), 0);
	cr_assert_eq(rawlen, 64);
	cr_assert_eq(buf_len(sb), 0);
	cr_assert_not_null(pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
	    NULL, pk, pklen));
	cr_assert_not_null(md = EVP_MD_CTX_new());
	cr_assert_eq(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey), 1);
	cr_assert_eq(EVP_DigestVerify(md, raw, rawlen, data, len), 1,
	    "the certificate's signature does not verify");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	free(alg);
	buf_free(sb);
	buf_free(kb);
}

json_t *
bh_cert_decode(const char *line, const struct sshkey *key,
    const struct sshkey *ca)
{
	const uint8_t *body, *p, *cablob, *sig;
	const char *sp, *end;
	size_t bodylen, len, cabloblen, siglen, signed_len;
	uint8_t *blob = NULL;
	struct buf *b;
	uint64_t serial, va, vb;
	uint32_t type;
	json_t *j, *ctype;

	cr_assert_not_null(sp = strchr(line, ' '));
	sp++;
	end = strchr(sp, ' ');
	cr_assert_eq(b64_decode(sp, end != NULL ? (size_t)(end - sp) :
	    strlen(sp), &blob, &len), 0);
	cr_assert_not_null(b = buf_from(blob, len));
	ctype = cstring(b);
	cr_assert_eq(strncmp(line, json_string_value(ctype),
	    strlen(json_string_value(ctype))), 0, "line type differs");
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 32, "nonce");
	/* The user's key, exactly as its own blob holds it. */
	body = sshkey_cert_body(key, &bodylen);
	cr_assert_geq(buf_len(b), bodylen);
	cr_assert_eq(memcmp(buf_ptr(b), body, bodylen), 0,
	    "the certificate embeds another key");
	cr_assert_eq(buf_consume(b, bodylen), 0);
	cr_assert_eq(buf_get_u64(b, &serial), 0);
	cr_assert_eq(buf_get_u32(b, &type), 0);
	j = json_pack("{s:o, s:I, s:i}", "type", ctype, "serial",
	    (json_int_t)serial, "cert_type", (int)type);
	json_object_set_new(j, "key_id", cstring(b));
	json_object_set_new(j, "principals", strings(b));
	cr_assert_eq(buf_get_u64(b, &va), 0);
	cr_assert_eq(buf_get_u64(b, &vb), 0);
	json_object_set_new(j, "valid_after", json_integer((json_int_t)va));
	json_object_set_new(j, "valid_before", json_integer((json_int_t)vb));
	json_object_set_new(j, "critical_options", options(b, 1));
	json_object_set_new(j, "extensions", options(b, 0));
	cr_assert_eq(buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 0, "reserved");
	cr_assert_eq(buf_get_string_direct(b, &cablob, &cabloblen), 0);
	p = sshkey_blob(ca, &len);
	cr_assert(cabloblen == len && memcmp(cablob, p, len) == 0,
	    "signed by another CA");
	signed_len = (size_t)(buf_ptr(b) - blob);
	cr_assert_eq(buf_get_string_direct(b, &sig, &siglen), 0);
	cr_assert_eq(buf_len(b), 0, "trailing bytes");
	verify_ed25519(ca, blob, signed_len, sig, siglen);
	buf_free(b);
	free(blob);
	return j;
}

/* ---- JSON ---- */

int64_t
bh_int(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

const char *
bh_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void
bh_expect_json(const json_t *got, const char *want)
{
	char *g = got != NULL ? json_dumps(got, JSON_SORT_KEYS |
	    JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	cr_expect_str_eq(g != NULL ? g : "(null)", want);
	free(g);
}

/* ---- issuance's commit ---- */

int
bh_commit(struct issuer *is, struct issue_job *job)
{
	struct fixture_wait w = FIXTURE_WAIT_INIT;

	cr_assert_eq(issue_submit(is, job, fixture_woken, &w), 0);
	return fixture_waited(&w);
}

/* ---- policy ---- */

static const struct rbac_actor root_actor = { .who.name = "root" };

void
bh_role_fill(const struct bh_role *in, char **glob, struct rbac_rule *rule,
    struct rbac_role *out)
{
	*glob = fixture_text(in->glob != NULL ? in->glob : "lab/*");
	memset(rule, 0, sizeof(*rule));
	rule->targets = glob;
	rule->n_targets = 1;
	rule->logins = fixture_textv(in->logins);
	rule->n_logins = in->n_logins;
	memset(out, 0, sizeof(*out));
	out->name = fixture_text(in->name);
	out->rules = in->n_logins > 0 ? rule : NULL;
	out->n_rules = in->n_logins > 0 ? 1 : 0;
	out->max_ttl = in->max_ttl;
	out->extensions = in->ext;
	out->force_command = fixture_text(in->force_command);
	out->source_address = fixture_textv(in->cidrs);
	out->n_source = in->n_cidrs;
	out->admin = in->admin;
}

void
bh_put_role(struct store *s, const struct bh_role *in, int64_t now)
{
	struct rbac_role ro;
	struct rbac_rule rule;
	struct store_txn *t;
	char err[256], *glob;

	bh_role_fill(in, &glob, &rule, &ro);
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(rbac_role_put(t, &root_actor, &ro, now, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
}

void
bh_put_target(struct store *s, const char *name, int64_t now)
{
	struct rbac_target tg = { .name = fixture_text(name) };
	struct store_txn *t;
	char err[256];

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(rbac_target_put(t, &root_actor, &tg, now, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
}

uint64_t
bh_bind(struct store *s, const char *role, const char *subject,
    int64_t expires_at, int64_t now)
{
	struct store_txn *t;
	char err[256];
	uint64_t id;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(rbac_binding_create(t, &root_actor, role, subject,
	    expires_at, now, &id, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	return id;
}
