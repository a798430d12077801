/*
 * Helpers of the use-case suites on the fixture's real broker (issue,
 * admin, tesserad api): a digest of what the store holds, to show that a
 * refused call changed nothing; the audit trail; sessions; and a decoder
 * of the OpenSSH certificates the broker issues (PROTOCOL.certkeys, read
 * with common/buf's bounds-checked getters, the signature checked with
 * OpenSSL against the CA's public key).
 */
#ifndef TSS_TEST_BROKER_BH_H
#define TSS_TEST_BROKER_BH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store/store.h"

struct broker;
struct caller;
struct issue_job;
struct issuer;
struct rbac_role;
struct rbac_rule;
struct sshkey;

#define BH_DIGEST_LEN	32

/* SHA-256 over every key and value of the n databases in dbs (lengths
 * included), in key order. */
void bh_digest(struct store *s, const enum store_db *dbs, size_t n,
    uint8_t out[BH_DIGEST_LEN]);
/* The same over every database. */
void bh_digest_all(struct store *s, uint8_t out[BH_DIGEST_LEN]);
/* The certificate ledger and the audit trail (what issuance writes). */
void bh_digest_issued(struct store *s, uint8_t out[BH_DIGEST_LEN]);
/* bh_digest_all must still be before: the store is as it was. */
void bh_expect_unchanged(struct store *s, const uint8_t before[BH_DIGEST_LEN],
    const char *what);

/*
 * A refused use case: call must return code with exactly msg in err (a
 * char array; msg NULL: any), leave out (a json_t *) NULL and the store s
 * as it was.
 */
#define BH_REFUSED(s, err, out, code, msg, call) do {			\
	uint8_t bh_before_[BH_DIGEST_LEN];				\
									\
	bh_digest_all((s), bh_before_);					\
	(err)[0] = '\0';						\
	(out) = NULL;							\
	cr_expect_eq((call), (code), "%s: %s", #call, (err));		\
	if ((msg) != NULL)						\
		cr_expect_str_eq((err), (msg), "%s: \"%s\"", #call, (err));\
	cr_expect_null((out), "%s", #call);				\
	bh_expect_unchanged((s), bh_before_, #call);			\
} while (0)

/* Events in the audit trail (the last seq), and one of them (caller
 * json_decref()s). */
uint64_t bh_audit_seq(struct store *s);
json_t *bh_audit_event(struct store *s, uint64_t seq);
/* The first event after seq with this action, or NULL. */
json_t *bh_audit_find(struct store *s, uint64_t after, const char *action);
/* Entries in one database; a counter's last value. */
uint64_t bh_count(struct store *s, enum store_db db);
uint64_t bh_counter(struct store *s, enum store_counter c);

/* The full admin root (the fixture's) as a request from 192.0.2.9 with
 * id req-admin resolves it. */
extern const struct caller bh_root;
/* The trail must have exactly one event after seq: action on object, by
 * bh_root from its request. */
void bh_expect_root_event(struct store *s, uint64_t seq, const char *action,
    const char *object);

/* A session for name created at now, resolved into c as the HTTP layer
 * resolves a request's; token gets TOKEN_TEXT_LEN + 1 bytes. */
void bh_login(struct broker *b, const char *name, int64_t now, char *token,
    struct caller *c);

/*
 * Decode an authorized_keys-style certificate line: asserts that it is
 * well formed to the last byte, that it embeds key's public key, names
 * ca's public key as signer and that the (Ed25519) signature verifies.
 * Returns {"type", "serial", "cert_type", "key_id", "principals": [..],
 * "valid_after", "valid_before", "critical_options": {name: value},
 * "extensions": [..]}.
 */
json_t *bh_cert_decode(const char *line, const struct sshkey *key,
    const struct sshkey *ca);

/* An authorized_keys line "type base64" of the given blob. */
char *bh_key_line(const char *type, const void *blob, size_t len);

/* JSON members (0 or NULL when absent), and a JSON value's compact text
 * with sorted keys expected to be want. */
int64_t bh_int(const json_t *o, const char *key);
const char *bh_str(const json_t *o, const char *key);
void bh_expect_json(const json_t *got, const char *want);

/* The commit half of issuance (issue_submit), waited for: its result. */
int bh_commit(struct issuer *is, struct issue_job *job);

/*
 * Policy written as the admin root, each in its own transaction at now.
 * struct bh_role is a role of one rule (glob NULL: every lab/<name>);
 * bh_role_fill makes it a struct rbac_role pointing into in, *glob and
 * rule.
 */
struct bh_role {
	const char *name;
	const char *glob;
	const char *const *logins;
	size_t n_logins;
	int64_t max_ttl;
	uint32_t ext;
	const char *force_command;
	const char *const *cidrs;
	size_t n_cidrs;
	uint32_t admin;
};
void bh_role_fill(const struct bh_role *in, char **glob,
    struct rbac_rule *rule, struct rbac_role *out);
void bh_put_role(struct store *s, const struct bh_role *ro, int64_t now);
void bh_put_target(struct store *s, const char *name, int64_t now);
uint64_t bh_bind(struct store *s, const char *role, const char *subject,
    int64_t expires_at, int64_t now);

#endif
