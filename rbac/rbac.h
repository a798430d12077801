/*
 * rbac: who may reach which target as which login, and who may administer
 * what.  Owns the policy model (targets with labels, roles with rules,
 * bindings of roles to users or groups), its validation, its records in
 * the TARGETS, ROLES, BINDINGS and BINDINGS_BY_SUBJ databases, the admin
 * permission and escalation rules, and the decision itself.
 *
 * Decisions run on a compiled, immutable, reference-counted snapshot
 * (struct rbac_snap).  A struct rbac holder compares the snapshot's policy
 * generation with STORE_CTR_POLICY_GEN (one cheap read transaction) and
 * rebuilds when it changed, also when another process changed the store.
 * rbac_decide() and rbac_perms() parse nothing and allocate nothing; any
 * number of threads may use one snapshot while another rebuilds.
 *
 * Users, groups and the disabled flag belong to auth/: callers pass the
 * user's name and groups, and must have refused a disabled user before
 * asking (a disabled user's bindings are not looked at here).
 *
 * Semantics (docs/rbac.md has the reasoning):
 * - A rule matches a target when (it has no globs or one glob matches) and
 *   (it has no selector or every selector label equals the target's); a
 *   rule has at least one of the two.  It grants login L when L is in its
 *   logins.
 * - Globs are '/'-separated segments; '*' inside a segment matches any run
 *   of characters except '/'; a last segment "**" matches one or more
 *   whole segments ("**" alone matches every target).
 * - A binding is active when its role exists and now < expires_at (0 =
 *   never expires).
 * - Combining the roles that grant a request: TTL = the smallest max_ttl
 *   (and never above cert_max_ttl), extensions = intersection,
 *   source_address = intersection of the address sets, force_command = the
 *   one command every restricting role agrees on (different commands, or
 *   address sets that do not overlap, deny), expires_at = the earliest
 *   expiry of the granting bindings.
 */
#ifndef TSS_RBAC_H
#define TSS_RBAC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "audit/audit.h"

struct store;
struct store_txn;

/* Limits. */
#define RBAC_NAME_MAX		128	/* target names, globs */
#define RBAC_ROLE_NAME_MAX	64
#define RBAC_SUBJECT_NAME_MAX	64	/* user or group name in a subject */
#define RBAC_LOGIN_MAX		32
#define RBAC_LABELS_MAX		32
#define RBAC_HOSTS_MAX		32	/* per target */
#define RBAC_HOST_MAX		253	/* a DNS name's bytes */
#define RBAC_GATEWAY_MAX	(RBAC_HOST_MAX + 8)
#define RBAC_LABEL_KEY_MAX	63
#define RBAC_LABEL_VALUE_MAX	63
#define RBAC_RULES_MAX		64	/* per role */
#define RBAC_GLOBS_MAX		32	/* per rule */
#define RBAC_LOGINS_MAX		32	/* per rule */
#define RBAC_CIDRS_MAX		32	/* per role and per decision */
#define RBAC_FORCE_COMMAND_MAX	1024
#define RBAC_PRINCIPALS_MAX	256	/* per certificate */
#define RBAC_TTL_MAX		(100LL * 365 * 86400)
#define RBAC_DEFAULT_TTL	3600	/* a role's max_ttl when not given */

/* Admin permissions (role "admin" lists). */
#define RBAC_PERM_USERS_READ		0x001u
#define RBAC_PERM_USERS_WRITE		0x002u
#define RBAC_PERM_TARGETS_WRITE		0x004u
#define RBAC_PERM_ROLES_WRITE		0x008u
#define RBAC_PERM_BINDINGS_READ		0x010u
#define RBAC_PERM_BINDINGS_WRITE	0x020u
#define RBAC_PERM_CERTS_REVOKE		0x040u
#define RBAC_PERM_AUDIT_READ		0x080u
#define RBAC_PERM_TARGETS_READ		0x100u
#define RBAC_PERM_ROLES_READ		0x200u
#define RBAC_PERM_BACKUPS_CREATE	0x400u
#define RBAC_PERM_ALL			0x7ffu
#define RBAC_PERM_STAR			0x80000000u	/* "*": every permission */

/* OpenSSH certificate extensions a role may grant. */
#define RBAC_EXT_X11		0x01u	/* permit-X11-forwarding */
#define RBAC_EXT_AGENT		0x02u	/* permit-agent-forwarding */
#define RBAC_EXT_PORT		0x04u	/* permit-port-forwarding */
#define RBAC_EXT_PTY		0x08u	/* permit-pty */
#define RBAC_EXT_USER_RC	0x10u	/* permit-user-rc */
#define RBAC_EXT_ALL		0x1fu
#define RBAC_EXT_DEFAULT	RBAC_EXT_PTY

/* ---- Model (plain structs; the _free functions take NULL) ---- */

struct rbac_label {
	char *key;
	char *value;
};

struct rbac_target {
	char *name;
	struct rbac_label *labels;	/* sorted by key, keys unique */
	size_t n_labels;
	/* Host names or addresses: its host certificates' principals; the
	 * first is where `tessera ssh` connects directly. */
	char **hosts;
	size_t n_hosts;			/* 0..RBAC_HOSTS_MAX */
	uint16_t port;			/* sshd's port; 0 means 22 */
	char *gateway;			/* "host:port" or NULL: direct */
	int64_t updated_at;
	char *updated_by;		/* NULL when unknown */
};

struct rbac_rule {
	char **targets;			/* globs */
	size_t n_targets;
	struct rbac_label *labels;	/* selector, sorted by key */
	size_t n_labels;
	char **logins;
	size_t n_logins;
};

struct rbac_role {
	char *name;
	struct rbac_rule *rules;
	size_t n_rules;
	int64_t max_ttl;		/* seconds, 1..RBAC_TTL_MAX */
	uint32_t extensions;		/* RBAC_EXT_* */
	char **source_address;		/* CIDRs, canonical text */
	size_t n_source;
	char *force_command;		/* NULL for none */
	uint32_t admin;			/* RBAC_PERM_* (STAR for "*") */
	int64_t updated_at;
	char *updated_by;
};

struct rbac_binding {
	uint64_t id;
	char *role;
	char *subject;			/* "user:<name>" or "group:<name>" */
	int64_t expires_at;		/* 0 = never */
	int64_t created_at;
	char *created_by;
};

void rbac_target_free(struct rbac_target *t);
void rbac_role_free(struct rbac_role *r);
void rbac_binding_free(struct rbac_binding *b);
/* A string vector or label array of n entries, as the structs hold them
 * (for code building one); NULL harmless. */
void rbac_strv_free(char **v, size_t n);
void rbac_labels_free(struct rbac_label *l, size_t n);

/*
 * Validation of single fields: 0 or TSS_E_VALIDATION.  Logins are POSIX
 * account names [a-z_][a-z0-9_-]{0,31}.  Target names are '/'-separated
 * segments of [a-z0-9][a-z0-9._-]*, at most 128 bytes, last segment never
 * "sshd".  Role names: [a-z0-9][a-z0-9._-]{0,63}.  Subject names (after
 * "user:"/"group:"): [A-Za-z0-9_][A-Za-z0-9._@-]{0,63}.  Label keys:
 * [a-z0-9][a-z0-9._/-]{0,62}; values [A-Za-z0-9._-]{1,63}.  A force
 * command: 1 to RBAC_FORCE_COMMAND_MAX bytes, no control characters.
 */
int rbac_valid_login(const char *s);
int rbac_valid_target_name(const char *s);
int rbac_valid_glob(const char *s);
int rbac_valid_role_name(const char *s);
int rbac_valid_subject(const char *s);
int rbac_valid_label_key(const char *s);
int rbac_valid_label_value(const char *s);
int rbac_valid_force_command(const char *s);
/*
 * A target's host: an IPv4 or IPv6 address, or a DNS name of lowercase
 * labels [a-z0-9-] (1-63 bytes, no '-' at either end), at most 253 bytes.
 * A gateway: "host:port" ("[v6addr]:port"), port 1..65535.
 */
int rbac_valid_host(const char *s);
int rbac_valid_gateway(const char *s);
/* Whole-struct checks; errmsg (may be NULL) names the bad field. */
int rbac_target_validate(const struct rbac_target *t, char *errmsg,
    size_t errlen);
int rbac_role_validate(const struct rbac_role *r, char *errmsg,
    size_t errlen);

/* Permission names: "users:read" ... and "*". */
int rbac_perm_parse(const char *s, uint32_t *out);
/* Extension names: "permit-pty" ... */
int rbac_ext_parse(const char *s, uint32_t *out);
const char *rbac_ext_name(uint32_t bit);	/* NULL for unknown */

/* JSON out, shaped as the request bodies plus bookkeeping fields. */
json_t *rbac_target_to_json(const struct rbac_target *t);
json_t *rbac_role_to_json(const struct rbac_role *r);
/* Admin permissions as a role's "admin" list: ["*"] or names in order. */
json_t *rbac_perms_json(uint32_t perms);
json_t *rbac_binding_to_json(const struct rbac_binding *b);

/* ---- Reads from the store (any transaction) ---- */

int rbac_target_get(struct store_txn *t, const char *name,
    struct rbac_target **out);				/* TSS_E_NOT_FOUND */
int rbac_role_get(struct store_txn *t, const char *name,
    struct rbac_role **out);
int rbac_binding_get(struct store_txn *t, uint64_t id,
    struct rbac_binding **out);
/* GET listings: JSON arrays in key order (bindings by id).  subject may be
 * NULL; otherwise only that subject's bindings (via the index). */
int rbac_targets_json(struct store_txn *t, json_t **out);
int rbac_roles_json(struct store_txn *t, json_t **out);
int rbac_bindings_json(struct store_txn *t, const char *subject,
    json_t **out);

/*
 * Logins any role's rule grants on target (whoever is bound), sorted and
 * unique: what the target's AuthorizedPrincipalsFiles must list.  *out is
 * an array of n strings; the caller frees each and the array.
 * TSS_E_NOT_FOUND for an unknown target.
 */
int rbac_target_logins(struct store_txn *t, const char *target, char ***out,
    size_t *n);

/* ---- Admin writes (in the caller's write transaction) ---- */

/*
 * The actor's permissions are read from its own bindings inside t, so a
 * change committed a moment ago already counts.  Each write checks its
 * permission (TSS_E_FORBIDDEN), validates (TSS_E_VALIDATION), bumps
 * STORE_CTR_POLICY_GEN and appends an audit event with "before" and
 * "after" in t.  On error nothing was written by this call; the caller
 * aborts or commits t.  errmsg (may be NULL) says why, fit for a client.
 */
struct rbac_actor {
	struct audit_actor who;		/* as the audit trail records it */
	const char *const *groups;	/* who's groups, for its permissions */
	size_t n_groups;
};

/* targets:write.  Creates or replaces. */
int rbac_target_put(struct store_txn *t, const struct rbac_actor *a,
    const struct rbac_target *tg, int64_t now, char *errmsg, size_t errlen);
/*
 * targets:write.  A target is in use when a rule of some role matches it
 * (its globs and selector, as in a decision); deleting one in use is
 * TSS_E_CONFLICT naming the role and rule, unless force.
 */
int rbac_target_delete(struct store_txn *t, const struct rbac_actor *a,
    const char *name, int force, int64_t now, char *errmsg, size_t errlen);
/* roles:write.  The actor must hold every admin permission the new role
 * has that the old one (if any) did not. */
int rbac_role_put(struct store_txn *t, const struct rbac_actor *a,
    const struct rbac_role *r, int64_t now, char *errmsg, size_t errlen);
/* roles:write.  TSS_E_CONFLICT when bindings use it, unless force, which
 * deletes those bindings too (a re-created role never revives them). */
int rbac_role_delete(struct store_txn *t, const struct rbac_actor *a,
    const char *name, int force, int64_t now, char *errmsg, size_t errlen);
/*
 * bindings:write.  Refused (TSS_E_FORBIDDEN) when the role holds an admin
 * permission the actor lacks, or the subject is the actor or one of its
 * groups.  TSS_E_NOT_FOUND for an unknown role.  *id gets the new id.
 */
int rbac_binding_create(struct store_txn *t, const struct rbac_actor *a,
    const char *role, const char *subject, int64_t expires_at, int64_t now,
    uint64_t *id, char *errmsg, size_t errlen);
/* bindings:write. */
int rbac_binding_delete(struct store_txn *t, const struct rbac_actor *a,
    uint64_t id, int64_t now, char *errmsg, size_t errlen);

/*
 * Offline bootstrap for `tessera init` only: creates role "admin" (admin
 * ["*"], no rules) unless it exists and binds user:<user> to it, skipping
 * every actor check.  Audit actor "local".
 */
int rbac_bootstrap_admin(struct store_txn *t, const char *user, int64_t now);

/* Admin permissions of a user from the bindings in t (no snapshot). */
int rbac_perms_txn(struct store_txn *t, const char *user,
    const char *const *groups, size_t n_groups, int64_t now, uint32_t *out);

/* ---- Snapshots and decisions ---- */

struct rbac_snap;
struct rbac;

/* Holder over a store.  cert_max_ttl caps every TTL (<= 0: no cap). */
int rbac_open(struct store *s, int64_t cert_max_ttl, struct rbac **out);
void rbac_close(struct rbac *r);	/* snapshots still held stay valid */

/*
 * The current snapshot, rebuilt first if the policy generation changed.
 * The caller releases it.  A store error is returned as such: the caller
 * must deny.  rbac_acquire_txn reads the generation in the caller's
 * transaction t; when t sees a different generation than the published
 * snapshot, the snapshot is built from t and kept private to this caller
 * (t may hold uncommitted changes).  rbac_current is rbac_acquire_txn
 * without the build: *out is NULL (and 0 returned) when the published
 * snapshot is not of t's generation.
 */
int rbac_acquire(struct rbac *r, struct rbac_snap **out);
int rbac_current(struct rbac *r, struct store_txn *t, struct rbac_snap **out);
int rbac_acquire_txn(struct rbac *r, struct store_txn *t,
    struct rbac_snap **out);
/*
 * The published snapshot as it is, without reading the store: it may be
 * older than the policy committed since (NULL when none was built).  Only
 * for a decision whose commit re-checks the generation (issuance).
 */
struct rbac_snap *rbac_published(struct rbac *r);
void rbac_snap_release(struct rbac_snap *s);	/* NULL is harmless */

/* Build a snapshot from a transaction, or from model arrays (tests,
 * benchmarks; the arrays may be freed afterwards). */
int rbac_snap_load(struct store_txn *t, int64_t cert_max_ttl,
    struct rbac_snap **out);
int rbac_snap_compile(const struct rbac_target *const *targets, size_t nt,
    const struct rbac_role *const *roles, size_t nr,
    const struct rbac_binding *const *bindings, size_t nb,
    uint64_t generation, int64_t cert_max_ttl, struct rbac_snap **out);
uint64_t rbac_snap_generation(const struct rbac_snap *s);
/* Bytes the snapshot holds (arena, tables). */
size_t rbac_snap_memory(const struct rbac_snap *s);

enum rbac_reason {
	RBAC_ALLOW = 0,
	RBAC_DENY_NO_TARGET,	/* target unknown (or deleted) */
	RBAC_DENY_NO_BINDING,	/* no binding for the user or its groups */
	RBAC_DENY_NO_ACTIVE,	/* bindings exist, all expired or role gone */
	RBAC_DENY_NO_RULE,	/* no rule grants this login on this target */
	RBAC_DENY_SOURCE,	/* granting roles' source_address disjoint */
	RBAC_DENY_COMMAND,	/* granting roles force different commands */
	RBAC_DENY_ERROR,	/* store error or bad arguments */
};

struct rbac_cidr {
	uint8_t family;		/* 4 or 6 */
	uint8_t prefix;
	uint8_t addr[16];	/* network address, host bits zero */
};

struct rbac_decision {
	enum rbac_reason reason;
	/* The deciding grant: the lowest binding id granting, and the first
	 * rule of its role that does. */
	uint64_t binding_id;
	const char *role;	/* points into the snapshot */
	uint32_t rule;
	/* Combined over every role granting the request. */
	int64_t max_ttl;
	uint32_t extensions;
	const char *force_command;	/* NULL for none; into the snapshot */
	/* The earliest expires_at of the active bindings that grant (0 =
	 * none expires): a certificate must not outlive it. */
	int64_t expires_at;
	size_t n_cidrs;			/* 0 = any source address */
	struct rbac_cidr cidrs[RBAC_CIDRS_MAX];
};

/*
 * Decide.  0 = allow, TSS_E_FORBIDDEN = deny; *d is always filled.  No
 * allocation, no parsing; safe from any number of threads.  Strings in *d
 * live as long as the snapshot.
 */
int rbac_decide(const struct rbac_snap *s, const char *user,
    const char *const *groups, size_t n_groups, const char *target,
    const char *login, int64_t now, struct rbac_decision *d);
/* A one-line reason ("allowed by binding 7, role ops, rule 0"). */
void rbac_reason_format(const struct rbac_decision *d, const char *target,
    const char *login, char *buf, size_t len);
/* CIDR text -> struct; TSS_E_INVALID_CIDR for anything but a network
 * address with its host bits zero (a bare address is /32 or /128). */
int rbac_cidr_parse(const char *s, struct rbac_cidr *c);
/* Format a CIDR ("10.0.0.0/8"); buf of at least 64 bytes. */
void rbac_cidr_format(const struct rbac_cidr *c, char *buf, size_t len);

/* Admin permissions granted by active bindings (STAR implies ALL). */
uint32_t rbac_perms(const struct rbac_snap *s, const char *user,
    const char *const *groups, size_t n_groups, int64_t now);

/*
 * GET /v1/check: decide with a fresh snapshot; a store error denies with
 * reason "store error".  *allowed 1/0; reason gets the formatted reason.
 */
int rbac_check(struct rbac *r, const char *user, const char *const *groups,
    size_t n_groups, const char *target, const char *login, int64_t now,
    int *allowed, char *reason, size_t len);

/* Everything a user may reach, per target in name order. */
struct rbac_access_entry {
	const char *target;		/* into the snapshot */
	const char **logins;		/* sorted; into the snapshot */
	size_t n_logins;
	/* Combined over every role granting anything on this target. */
	int64_t max_ttl;
	uint32_t extensions;
	const char *force_command;
	int64_t expires_at;		/* earliest granting binding's; 0 */
	int denied;			/* RBAC_DENY_SOURCE/COMMAND or 0 */
	size_t n_cidrs;
	struct rbac_cidr cidrs[RBAC_CIDRS_MAX];
};

struct rbac_access {
	struct rbac_access_entry *entries;
	size_t n;
	const char **roles;		/* names of roles of active bindings */
	size_t n_roles;
};

/* Entries with denied != 0 are left out.  Caller frees with
 * rbac_access_free(); the snapshot must outlive the result. */
int rbac_access(const struct rbac_snap *s, const char *user,
    const char *const *groups, size_t n_groups, int64_t now,
    struct rbac_access **out);
void rbac_access_free(struct rbac_access *a);

/*
 * Principals "login@target" for a certificate: every pair in a, narrowed
 * to target and login when not NULL, in target then login order.  Fails
 * with TSS_E_TOO_MANY past RBAC_PRINCIPALS_MAX, TSS_E_FORBIDDEN when none.
 * *out: array of n strings, free with rbac_principals_free().  ttl, ext,
 * cidrs and force_command are combined over the chosen entries.
 */
struct rbac_grant {
	char **principals;
	size_t n;
	int64_t max_ttl;
	uint32_t extensions;
	const char *force_command;
	int64_t expires_at;		/* earliest over the entries; 0 */
	size_t n_cidrs;
	struct rbac_cidr cidrs[RBAC_CIDRS_MAX];
};
int rbac_grant(const struct rbac_access *a, const char *target,
    const char *login, struct rbac_grant *g);
void rbac_grant_clear(struct rbac_grant *g);

/* GET /v1/me's {"roles","access","max_ttl"} (caller adds the rest). */
int rbac_me_json(const struct rbac_access *a, json_t **out);

/* ---- The admin guard (rbac/guard.c) ---- */

/* Has have the permission need?  "*" has all; X:write implies X:read. */
int rbac_perm_has(uint32_t have, uint32_t need);

/* A user as the guard sees one, in one of the two worlds. */
struct rbac_person {
	const char *name;
	const char *const *groups;
	size_t n_groups;
	int active;		/* exists and is not disabled: holds its grants */
	int can_login;		/* active and enrolled */
	int handed;		/* created or reset by this change: its
				 * enrollment link goes to the actor */
};

/* The policy and the people at one moment; people sorted by name. */
struct rbac_world {
	const struct rbac_snap *snap;
	const struct rbac_person *people;
	size_t n;
};

/*
 * Judge an admin change by its effect.  0 when allowed; TSS_E_FORBIDDEN
 * (errmsg says what and why) when, comparing before with after, the
 * change would widen the actor's own access or permissions, give anyone
 * a permission the actor lacks (an account handed to the actor counts as
 * given everything it holds), take from anyone a permission the actor
 * lacks, or leave no user who can log in holding "*" where one did.  The
 * actor's permissions are those it holds in before.
 */
int rbac_guard(const struct rbac_world *before, const struct rbac_world *after,
    const char *actor, int64_t now, char *errmsg, size_t errlen);
/* Is is a grant wider than was (allowed where was denied, or a longer
 * TTL, more extensions, later expiry, fewer source or command limits)? */
int rbac_decision_wider(const struct rbac_decision *was,
    const struct rbac_decision *is);

/* ---- A subject going away (rbac/subject.c) ---- */

/*
 * Delete every binding of subject ("user:<name>") with its index entry,
 * in t: one binding.delete audit event by `by` per binding, each bumping
 * STORE_CTR_POLICY_GEN.  *n (may be NULL) gets how many.  For deleting a
 * user, so a new account with the name inherits nothing.
 */
int rbac_bindings_delete_subject(struct store_txn *t, const char *subject,
    const struct audit_actor *by, int64_t now, size_t *n);

#endif
