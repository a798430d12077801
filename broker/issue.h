/*
 * issue: the certificate issuance use case.  Parse the user's key, decide
 * from the caller's bindings, take a serial, build and sign, then commit
 * the certificate record and its cert.issue audit event (group commit)
 * before anything is returned.  Deny by default: any store error issues
 * nothing.
 *
 * The decision is taken outside the commit, so the commit re-validates
 * what it relied on, in the same write transaction: the user still
 * exists, is enrolled, not disabled and has the same groups; the session
 * the request came with still lives; and the policy generation is the
 * decision's, or else a fresh decision grants every principal at least as
 * widely as the certificate.  Otherwise TSS_E_FORBIDDEN and nothing is
 * written.  A reset, disable or delete committed before the job thus
 * refuses it, and one committed after it revokes it.
 */
#ifndef TSS_ISSUE_H
#define TSS_ISSUE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "broker/commit.h"

struct cakey;
struct rbac;
struct serials;

struct issuer {
	struct cakey *ca;
	struct rbac *rbac;
	struct commit_queue *commits;
	struct serials *serials;
	int64_t default_ttl, max_ttl;	/* config, seconds */
	int64_t session_idle, session_max;	/* for the session re-check */
};

struct rbac_snap;

struct issue_req {
	const char *username;
	const char *const *groups;
	size_t n_groups;
	const char *public_key;		/* authorized_keys line */
	const char *target;		/* NULL: every reachable target */
	const char *login;		/* NULL: every allowed login */
	int64_t ttl;			/* seconds; 0: default; < 0 refused */
	/* The key of the session the request came with (struct session's
	 * key), or NULL when the request had none (device flow: the
	 * approval is the credential and the user's state is re-checked). */
	const uint8_t *session;
	const char *remote_addr;	/* audit */
	const char *request_id;		/* audit */
	/* The policy to decide on (borrowed; the commit decides again if
	 * the policy changed since), or NULL for the current one. */
	const struct rbac_snap *snap;
};

/*
 * On success *out is the 201 body of POST /v1/certs.  Errors:
 * TSS_E_INVALID_PUBLIC_KEY, TSS_E_WEAK_KEY, TSS_E_VALIDATION (ttl, target
 * or login malformed), TSS_E_FORBIDDEN (nothing granted),
 * TSS_E_TOO_MANY (over 256 principals: name a target), store errors.
 * errmsg says what was wrong, fit for the client.
 */
int issue_cert(struct issuer *is, const struct issue_req *rq, int64_t now,
    json_t **out, char *errmsg, size_t errlen);

/*
 * The same in two steps, for callers that must not wait: issue_prepare()
 * does everything but the commit and gives the would-be answer and the
 * job; issue_submit() takes the job and queues its commit, then calls
 * done(arg, r) on the committer thread (r == 0: the certificate is on
 * record; only then may the answer leave).  Errors as issue_cert(); a
 * failed submit has freed the job and will not call done.
 */
struct issue_job;
int issue_prepare(struct issuer *is, const struct issue_req *rq,
    int64_t now, struct issue_job **job, json_t **out, char *errmsg,
    size_t errlen);
int issue_submit(struct issuer *is, struct issue_job *job,
    commit_done_fn done, void *arg);
void issue_job_free(struct issue_job *job);

#endif
