/*
 * broker: tesserad's use cases over one open data directory.  struct
 * broker owns the store, the CA key, the auth context, the RBAC holder,
 * group commit, serial allocation and the audit sink; it is shared by all
 * request threads.  Each use case is one function here (or in issue.h)
 * that opens its transaction, decides, writes its audit event and commits
 * before returning.  The HTTP layer only decodes and encodes.
 *
 * errmsg buffers receive a reason fit for the client when a use case
 * fails for a reason the client can fix; they never hold a secret.
 */
#ifndef TSS_BROKER_H
#define TSS_BROKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "broker/config.h"
#include "broker/issue.h"

struct auth_ctx;
struct cakey;
struct ratelimit;
struct rbac_role;
struct rbac_target;
struct rbac;
struct store;
struct store_identity;
struct store_opts;
struct audit_sink;
struct backup;

struct broker {
	struct config cfg;
	struct store *store;
	struct cakey *ca;
	struct cakey *host_ca;		/* host_ca_key; NULL: none */
	/* Failed host joins and renewals per address (ratelimit.h): 20,
	 * then one every 3 s, like logins. */
	struct ratelimit *host_rl;
	/* GET /v1/audit/verify walks the whole chain: one at a time (held
	 * while it runs) and, per user, BROKER_VERIFY_BURST then one every
	 * BROKER_VERIFY_INTERVAL seconds. */
	pthread_mutex_t verify_mu;
	int verify_init;
	struct ratelimit *verify_rl;
	struct auth_ctx *auth;
	struct rbac *rbac;
	struct callers *callers;	/* callers.h */
	struct commit_queue *commits;
	struct serials *serials;
	struct audit_sink *sink;
	struct cakey *audit_key;	/* signs checkpoints; NULL: none */
	struct issuer issuer;
	struct backup *backup;		/* backup.h; NULL until backup_start */
	/* The sink's thread: woken after commits, flushes on its own. */
	pthread_t sink_thread;
	pthread_mutex_t sink_mu;
	pthread_cond_t sink_cv;
	int sink_init, sink_running, sink_pending, sink_stop;
	/* Shared stores: wakes the sink when another instance commits. */
	pthread_t watch_thread;
	int watch_running;
	atomic_int watch_stop;
};

/*
 * Open the data directory of cfg (taken over: config_free runs in
 * broker_close) and load the CA key and master key.  err names what
 * failed.  The store must be one tessera init made (never created here)
 * with these keys: TSS_E_KEY_MISMATCH names ca_key or master_key.  A
 * store from before stores recorded their keys gets them recorded now.
 */
int broker_open(struct config *cfg, struct broker **out, char *err,
    size_t errlen);
/*
 * Create the store of a new data directory (STORE_OPEN_CREATE) recording
 * the fingerprints of ca and the master key (SECRETBOX_KEY_LEN bytes):
 * tessera init's, and tests' that need a broker.
 */
int broker_store_create(const char *loc, const struct store_opts *base,
    const struct cakey *ca, const uint8_t *master_key, struct store **out);
/*
 * First start (broker/bootstrap.c).  broker_keyfile_check: the key file
 * at path (config key key) exists, is a regular file owned by this uid
 * and readable by no one else; err says what to set in the stack file
 * when not.  broker_first_admin: a pending admin holding "*" in s, and
 * its enrollment token (TOKEN_TEXT_LEN + 1 bytes).  broker_bootstrap:
 * when cfg's data_dir holds no store, make one from cfg's ca_key and
 * master_key (read in place, never copied) with admin as its first admin;
 * TSS_E_CONFLICT, doing nothing, when a store is there.
 */
int broker_keyfile_check(const char *key, const char *path, char *err,
    size_t errlen);
/*
 * The store's options from c; a password from store_password_file goes
 * into pw (cap bytes: BROKER_SECRET_MAX), which the caller zeroes after
 * store_open.  broker_store_name: how messages name the store (data_dir,
 * never a URI that may hold a password).
 */
#define BROKER_SECRET_MAX	4096
int broker_store_opts(const struct config *c, struct store_opts *so,
    char *pw, size_t cap, char *err, size_t errlen);
const char *broker_store_name(const struct config *c);
/* A secret held in a file checked as above: at most cap - 1 bytes, a
 * trailing newline dropped, not empty; buf is zeroed on failure. */
int broker_secret_read(const char *key, const char *path, char *buf,
    size_t cap, size_t *len, char *err, size_t errlen);
int broker_first_admin(struct store *s, const char *admin, int64_t now,
    char *token, int64_t *expires_at);
int broker_bootstrap(const struct config *cfg, const char *admin,
    int64_t now, char *token, int64_t *expires_at, char *err,
    size_t errlen);
/*
 * Exit status for an r that made the data directory unusable (tesserad(8),
 * tessera(1)); dflt for any other r.
 */
#define BROKER_EXIT_NO_STORE		80	/* no data.mdb (unmounted?) */
#define BROKER_EXIT_STORE_EMPTY		81	/* zero-length, never set up */
#define BROKER_EXIT_STORE_TRUNCATED	82	/* shorter than its meta page */
#define BROKER_EXIT_STORE_CORRUPT	83
#define BROKER_EXIT_NOT_A_STORE		84	/* foreign, or a newer schema */
#define BROKER_EXIT_KEY_MISMATCH	85	/* another CA or master key */
#define BROKER_EXIT_IN_USE		86	/* from another PID namespace */
int broker_exit_status(int r, int dflt);
void broker_close(struct broker *b);		/* NULL is harmless */
/* Have newly committed audit events streamed to the configured sink
 * (soon, by the sink's thread; broker_close streams the rest). */
void broker_audit_flush(struct broker *b);
/* A last flush, then the sink's thread ends (broker_close does it; tests
 * that must see the stream whole call it first). */
void broker_audit_stop(struct broker *b);
/* broker/audit_thread.c: start the sink's threads (broker_open);
 * broker_audit_wake(b) is broker_audit_flush as a commit hook. */
int broker_audit_start(struct broker *b);
void broker_audit_wake(void *b);

/* An authenticated caller, as the HTTP layer resolved it. */
struct caller {
	char *username;
	char **groups;
	size_t n_groups;
	uint32_t perms;			/* RBAC_PERM_* from the caller's roles */
	struct rbac_snap *snap;		/* the policy perms came from */
	uint8_t session[32];		/* the session's key (auth/session.h) */
	int has_session;
	int cached;			/* from broker_caller_cached's memory */
	const char *remote_addr;
	const char *request_id;
};

/* 0 when c holds perm (RBAC_PERM_*; "*" holds all, a :write its :read),
 * TSS_E_FORBIDDEN otherwise. */
int broker_need(const struct caller *c, uint32_t perm);

/* Resolve a session token: TSS_E_UNAUTHENTICATED when it is no good. */
int broker_caller(struct broker *b, const char *token, int64_t now,
    struct caller *c);
/*
 * The same from memory when the token resolved recently (callers.h), with
 * the published policy (rbac_published): no read of the store, so c may be
 * stale (c->cached says so).  Only for a use case whose commit re-checks
 * the session, the user and the policy: issuance.  A caller so refused
 * must be forgotten, and a cached caller denied decided again uncached.
 */
int broker_caller_cached(struct broker *b, const char *token, int64_t now,
    struct caller *c);
void broker_caller_forget(struct broker *b, const uint8_t *session);
void caller_clear(struct caller *c);

/* GET /v1/me body (without csrf_token). */
int broker_me(struct broker *b, const struct caller *c, int64_t now,
    json_t **out);
/* GET /v1/ca: authorized_keys line(s), newline-terminated. */
int broker_ca_text(struct broker *b, char **out);
/*
 * The host CA (broker/hostca.c).  broker_host_ca_load: host_ca_key at
 * path, checked as broker_keyfile_check() checks keys, loaded, and refused
 * (TSS_E_CONFIG) when it is user_ca's key; err says what is wrong.
 * broker_ca_host_text: GET /v1/ca/host, "@cert-authority <host_ca_pattern>
 * <key>\n"; TSS_E_NOT_FOUND with BROKER_NO_HOST_CA in errmsg when no host
 * CA is configured.
 */
#define BROKER_NO_HOST_CA	"no host CA is configured (host_ca_key)"
int broker_host_ca_load(const char *path, const struct cakey *user_ca,
    struct cakey **out, char *err, size_t errlen);
int broker_ca_host_text(struct broker *b, char **out, char *errmsg,
    size_t len);
/* GET /v1/krl: the KRL bytes (caller frees); they change only when the
 * revoked serials do (version and time: the last such change). */
int broker_krl(struct broker *b, int64_t now, uint8_t **out, size_t *len);
/* GET /healthz: 0 when the store answers. */
int broker_health(struct broker *b);

/*
 * GET /v1/certs, the query as the request's strings (NULL for absent):
 * the caller's certificates, or with all every user's, filtered by user,
 * target and state (valid, expired, revoked), newest first, before a
 * serial, at most limit (1 to CERTS_LIST_MAX, 1000 by default).  Another
 * user's, or all, need users:read or certs:revoke.  *out is
 * {"certificates":[...],"next":serial|null}; a bad parameter is
 * TSS_E_VALIDATION with errmsg naming it.
 */
struct broker_certs_q {
	const char *user, *target, *state, *before, *limit;
	int all;
};
int broker_certs_list(struct broker *b, const struct caller *c,
    const struct broker_certs_q *q, int64_t now, json_t **out,
    char *errmsg, size_t len);
int broker_cert_revoke(struct broker *b, const struct caller *c,
    const char *serial, int64_t now, json_t **out, char *errmsg, size_t len);

/* Users (users:read / users:write). */
int broker_users_list(struct broker *b, const struct caller *c,
    json_t **out);
int broker_user_get(struct broker *b, const struct caller *c,
    const char *name, json_t **out);
int broker_user_create(struct broker *b, const struct caller *c,
    const char *name, const char *const *groups, size_t ngroups, int64_t now,
    json_t **out, char *errmsg, size_t len);
/* groups replace the user's when set_groups; disabled -1 is unchanged. */
int broker_user_patch(struct broker *b, const struct caller *c,
    const char *name, const char *const *groups, size_t ngroups,
    int set_groups, int disabled, int64_t now, json_t **out, char *errmsg,
    size_t len);
int broker_user_delete(struct broker *b, const struct caller *c,
    const char *name, int64_t now, char *errmsg, size_t len);
int broker_user_reset(struct broker *b, const struct caller *c,
    const char *name, int64_t now, json_t **out, char *errmsg, size_t len);
/* Clear a user's failure count, throttle and lock (users:write); the
 * user as GET /v1/users/<name>.  Audit: user.unlock. */
int broker_user_unlock(struct broker *b, const struct caller *c,
    const char *name, int64_t now, json_t **out, char *errmsg, size_t len);

/*
 * Policy.  Reads need targets:read, roles:read or bindings:read (implied
 * by the matching :write).  Every admin write, users included, is judged
 * by its effect inside its transaction (broker/guard.h, rbac_guard()).
 */
int broker_targets_list(struct broker *b, const struct caller *c,
    json_t **out);
/* tg (validated by the caller's decoding) gets the updated_at/by that
 * were stored; *out is its JSON. */
int broker_target_put(struct broker *b, const struct caller *c,
    struct rbac_target *tg, int64_t now, json_t **out, char *errmsg,
    size_t len);
int broker_target_delete(struct broker *b, const struct caller *c,
    const char *name, int force, int64_t now, char *errmsg, size_t len);
int broker_target_sshd(struct broker *b, const struct caller *c,
    const char *name, char **out);
int broker_roles_list(struct broker *b, const struct caller *c,
    json_t **out);
int broker_role_get(struct broker *b, const struct caller *c,
    const char *name, json_t **out);
int broker_role_put(struct broker *b, const struct caller *c,
    struct rbac_role *ro, int64_t now, json_t **out, char *errmsg,
    size_t len);
int broker_role_delete(struct broker *b, const struct caller *c,
    const char *name, int force, int64_t now, char *errmsg, size_t len);
int broker_bindings_list(struct broker *b, const struct caller *c,
    json_t **out);
int broker_binding_create(struct broker *b, const struct caller *c,
    const char *role, const char *subject, int64_t expires_at, int64_t now,
    json_t **out, char *errmsg, size_t len);
int broker_binding_delete(struct broker *b, const struct caller *c,
    const char *id, int64_t now, char *errmsg, size_t len);
int broker_check(struct broker *b, const struct caller *c, const char *user,
    const char *target, const char *login, int64_t now, json_t **out,
    char *errmsg, size_t len);
/*
 * The query of GET /v1/audit, as the request's strings (NULL for absent):
 * after (oldest first) or before (order "newest": newest first, from the
 * head when before is NULL), limit, and filters actor, action (exact, or
 * a prefix when it ends in '.'), object, since and until (RFC 3339 UTC,
 * "2026-12-07T03:40:00Z", inclusive).  One request examines at most
 * BROKER_AUDIT_SCAN events; *out is {"events":[...],"next":seq|null},
 * next the after/before that continues the walk.
 */
#define BROKER_AUDIT_SCAN	5000
struct broker_audit_q {
	const char *after, *before, *order, *limit;
	const char *actor, *action, *object, *since, *until;
};
int broker_audit_list(struct broker *b, const struct caller *c,
    const struct broker_audit_q *q, json_t **out, char *errmsg, size_t len);
/*
 * Walk the chain: {"ok":bool,"count":n,"head":hex} or
 * {"ok":false,"bad_seq":n}.  TSS_E_TOO_MANY_ATTEMPTS, with errmsg and
 * *retry_after seconds, while another verification runs or when c's
 * user has used up their verifications (see struct broker).
 */
#define BROKER_VERIFY_BURST	6
#define BROKER_VERIFY_INTERVAL	10
#define BROKER_VERIFY_BUSY_RETRY	5
int broker_audit_verify(struct broker *b, const struct caller *c,
    int64_t now, json_t **out, int64_t *retry_after, char *errmsg,
    size_t len);

#endif
