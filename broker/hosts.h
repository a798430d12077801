/*
 * hosts: how a target's sshd gets and keeps a host certificate, and what
 * it and `tessera ssh` read about the target.  Owns the join tokens and
 * the renewal credentials, kept in META under "host.tok." and
 * "host.cred." + the SHA-256 of the secret (never the secret itself).
 *
 * A join token ("tsj_" + 64 hex digits) is made by an admin for one
 * target, is spent by the first join that presents it, in the transaction
 * that records the host certificate, and dies at its expiry.  The join
 * answers with a renewal credential ("tsh_" + 64 hex digits) bound to the
 * target and the host key's fingerprint, valid until the host certificate
 * it came with expires; each renewal moves that to the new certificate's
 * end.  Deleting a target deletes its tokens and credentials.
 *
 * Errors the client can act on get a message in errmsg; a token or
 * credential that is unknown, spent or expired is TSS_E_INVALID_CREDENTIALS
 * with one message for all, so the answer tells nothing about which.
 */
#ifndef TSS_HOSTS_H
#define TSS_HOSTS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct broker;
struct caller;
struct store_txn;

#define HOSTS_TOKEN_PREFIX	"tsj_"
#define HOSTS_CRED_PREFIX	"tsh_"
#define HOSTS_TOKEN_TTL		900
#define HOSTS_TOKEN_TTL_MAX	86400
#define HOSTS_BAD_SECRET	"join token or host credential unknown, " \
	"used or expired"

/* POST /v1/targets/<name>/token (targets:write): {token, target,
 * expires_at}; ttl 1..HOSTS_TOKEN_TTL_MAX seconds. */
int hosts_token_create(struct broker *b, const struct caller *c,
    const char *target, int64_t ttl, int64_t now, json_t **out,
    char *errmsg, size_t len);

/*
 * POST /v1/hosts/join (secret a join token) and POST /v1/hosts/renew
 * (secret a credential; hosts must be NULL).  public_key: the host's
 * public key line.  hosts (n entries; NULL: all of the target's) narrows
 * the principals; a name not among the target's hosts is TSS_E_FORBIDDEN
 * naming it.  A target without hosts is TSS_E_VALIDATION, no host CA
 * TSS_E_UNAVAILABLE.  A renewal must present the joined key
 * (TSS_E_FORBIDDEN).  *out: {certificate, serial, target, principals,
 * valid_after, valid_before[, credential]}.
 */
struct hosts_req {
	const char *secret;
	const char *public_key;
	const char *const *hosts;
	size_t n_hosts;
	const char *remote_addr, *request_id;
};
int hosts_join(struct broker *b, const struct hosts_req *rq, int64_t now,
    json_t **out, char *errmsg, size_t len);
int hosts_renew(struct broker *b, const struct hosts_req *rq, int64_t now,
    json_t **out, char *errmsg, size_t len);

/* GET /v1/hosts/self for credential: {target, logins, hosts, port}. */
int hosts_self(struct broker *b, const char *credential, int64_t now,
    json_t **out);

/*
 * GET /v1/targets/<name>/route for a signed-in caller who may reach the
 * target (TSS_E_FORBIDDEN otherwise): {target, hosts, port, gateway,
 * logins} with the logins the caller may use there.  gateway: the
 * target's own, else for a target without hosts the one a gateway
 * reported (routes_gateway; TSS_E_CONFLICT when two do), else null.
 */
int hosts_route(struct broker *b, const struct caller *c, const char *target,
    int64_t now, json_t **out, char *errmsg, size_t len);

/* The target of a live host credential (TSS_E_INVALID_CREDENTIALS for
 * any other), in t; *target is the caller's to free. */
int hosts_cred_target(struct store_txn *t, const char *credential,
    int64_t now, char **target);

/* In the transaction that deletes target: its tokens, credentials and
 * routes (routes.h) go. */
int hosts_target_gone(struct store_txn *t, const char *target);

#endif
