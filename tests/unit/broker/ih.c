/* The issue suites' world; see ih.h. */
#include <criterion/criterion.h>
#include <string.h>

#include "bh.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "broker/issue.h"
#include "common/err.h"
#include "ih.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"

struct fixture fx;
struct sshkey *ukey;
const char *const ih_dev[] = { "dev" };
const char *const ih_app[] = { "app" };

void
ih_setup(void)
{
	static const char *const cfg[] = { "cert_max_ttl", "8h",
	    "cert_default_ttl", "1h", NULL };

	fixture_open(&fx, cfg, IH_ROLE_TTL);
	cr_assert_eq(sshkey_parse_line(fx.pubkey, strlen(fx.pubkey), &ukey,
	    NULL), 0);
}

void
ih_teardown(void)
{
	sshkey_free(ukey);
	ukey = NULL;
	fixture_close(&fx);
}

void
ih_req(struct issue_req *rq, const char *user, const char *const *groups,
    size_t n_groups, const char *target, const char *login, int64_t ttl)
{
	memset(rq, 0, sizeof(*rq));
	rq->username = user;
	rq->groups = groups;
	rq->n_groups = n_groups;
	rq->public_key = fx.pubkey;
	rq->target = target;
	rq->login = login;
	rq->ttl = ttl;
	rq->remote_addr = "192.0.2.1";
	rq->request_id = "req-issue";
}

void
ih_alice(struct issue_req *rq, int64_t ttl)
{
	ih_req(rq, "alice", ih_dev, 1, "lab/box", "app", ttl);
}

int
ih_commit(struct issue_job *job)
{
	return bh_commit(&fx.b->issuer, job);
}

struct issue_job *
ih_prepared(const struct issue_req *rq, json_t **out)
{
	struct issue_job *job = NULL;
	char err[256];

	cr_assert_eq(issue_prepare(&fx.b->issuer, rq, fx.now, &job, out, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_not_null(job);
	cr_assert_not_null(*out);
	return job;
}

json_t *
ih_issued(const struct issue_req *rq)
{
	json_t *out = NULL;

	cr_assert_eq(ih_commit(ih_prepared(rq, &out)), 0);
	return out;
}

json_t *
ih_decode(const json_t *out)
{
	return bh_cert_decode(bh_str(out, "certificate"), ukey,
	    cakey_public(fx.b->ca));
}

int
ih_in_ledger(uint64_t serial, struct cert_record *rec)
{
	struct cert_record tmp;
	struct store_txn *t;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	r = certs_get(t, serial, rec != NULL ? rec : &tmp);
	store_abort(t);
	cr_assert(r == 0 || r == TSS_E_NOT_FOUND, "certs_get: %d", r);
	cert_record_free(&tmp);
	return r == 0;
}

void
ih_put_dev(int64_t max_ttl, uint32_t ext, const char *force_command,
    const char *cidr)
{
	const struct bh_role dev = { .name = "dev", .logins = ih_app,
	    .n_logins = 1, .max_ttl = max_ttl, .ext = ext,
	    .force_command = force_command, .cidrs = &cidr,
	    .n_cidrs = cidr != NULL ? 1 : 0 };

	bh_put_role(fx.b->store, &dev, fx.now);
}

void
ih_refused(const struct issue_req *rq, int code, const char *msg)
{
	uint8_t before[BH_DIGEST_LEN], after[BH_DIGEST_LEN];
	struct issue_job *job = (struct issue_job *)1;
	json_t *out = (json_t *)1;
	char err[256];

	bh_digest_issued(fx.b->store, before);
	cr_expect_eq(issue_prepare(&fx.b->issuer, rq, fx.now, &job, &out, err,
	    sizeof(err)), code, "%s %s@%s: %s", rq->username,
	    rq->login != NULL ? rq->login : "-",
	    rq->target != NULL ? rq->target : "-", err);
	cr_expect_str_eq(err, msg);
	cr_expect_null(job);
	cr_expect_null(out);
	bh_digest_issued(fx.b->store, after);
	cr_expect_arr_eq(before, after, sizeof(before), "a refusal wrote");
}

void
ih_commit_refused(struct issue_job *job, json_t *out, const char *why,
    int want)
{
	uint8_t before[BH_DIGEST_LEN], after[BH_DIGEST_LEN];

	bh_digest_issued(fx.b->store, before);
	cr_expect_eq(ih_commit(job), want, "%s: committed", why);
	bh_digest_issued(fx.b->store, after);
	cr_expect_arr_eq(before, after, sizeof(before), "%s: wrote", why);
	cr_expect(!ih_in_ledger((uint64_t)bh_int(out, "serial"), NULL), "%s",
	    why);
	json_decref(out);
}

void
ih_refused_at_commit(const struct issue_req *rq, const char *why,
    int want)
{
	struct issue_job *job;
	json_t *out = NULL;

	job = ih_prepared(rq, &out);
	ih_commit_refused(job, out, why, want);
}
