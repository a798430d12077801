/*
 * issue: the certificate issuance use case.  Parse the user's key, decide
 * from the caller's bindings, take a serial, build and sign, then commit
 * the certificate record and its cert.issue audit event (group commit)
 * before anything is returned.  Deny by default: any store error issues
 * nothing.
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
};

struct issue_req {
	const char *username;
	const char *const *groups;
	size_t n_groups;
	const char *public_key;		/* authorized_keys line */
	const char *target;		/* NULL: every reachable target */
	const char *login;		/* NULL: every allowed login */
	int64_t ttl;			/* seconds; 0: default; < 0 refused */
	const char *remote_addr;	/* audit */
	const char *request_id;		/* audit */
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
