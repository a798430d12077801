/*
 * The issue suites' world (test_issue.c, test_issue_refused.c): the
 * fixture's broker (fixture.h) with cert_default_ttl 1 h, cert_max_ttl 8 h
 * and role dev's max_ttl IH_ROLE_TTL; requests; issuance split where the
 * server splits it (issue_prepare, then the commit waited for).
 */
#ifndef TSS_TEST_BROKER_IH_H
#define TSS_TEST_BROKER_IH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fixture.h"

struct cert_record;
struct issue_job;
struct issue_req;
struct sshkey;

#define IH_ROLE_TTL	(4 * 3600)

extern struct fixture fx;
extern struct sshkey *ukey;		/* fx.pubkey, parsed */
extern const char *const ih_dev[];	/* { "dev" } */
extern const char *const ih_app[];	/* { "app" } */

void ih_setup(void);
void ih_teardown(void);

/* A request without a session (as the device flow makes them), from
 * 192.0.2.1 with request id "req-issue"; ih_alice: app@lab/box. */
void ih_req(struct issue_req *rq, const char *user,
    const char *const *groups, size_t n_groups, const char *target,
    const char *login, int64_t ttl);
void ih_alice(struct issue_req *rq, int64_t ttl);

/* Prepared at fx.now (asserting success); prepared and committed. */
struct issue_job *ih_prepared(const struct issue_req *rq, json_t **out);
json_t *ih_issued(const struct issue_req *rq);
/* Commit the job, waiting: its result. */
int ih_commit(struct issue_job *job);
/* out's certificate decoded (bh_cert_decode) for ukey. */
json_t *ih_decode(const json_t *out);
/* 1 when the ledger holds serial (then *rec, if not NULL, has it). */
int ih_in_ledger(uint64_t serial, struct cert_record *rec);

/* The fixture's role dev redefined with these limits (cidr may be NULL). */
void ih_put_dev(int64_t max_ttl, uint32_t ext, const char *force_command,
    const char *cidr);

/* issue_prepare must fail with code and exactly msg, answer nothing and
 * write nothing. */
void ih_refused(const struct issue_req *rq, int code, const char *msg);
/* The job's commit must be refused with want (TSS_E_FORBIDDEN, or
 * TSS_E_UNAUTHENTICATED for a session that ended), writing no record and
 * no event (out is freed). */
void ih_commit_refused(struct issue_job *job, json_t *out, const char *why,
    int want);
/* rq prepared (granted), then its commit refused as above. */
void ih_refused_at_commit(const struct issue_req *rq, const char *why,
    int want);

#endif
