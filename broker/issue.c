/* Certificate issuance: decide, sign, commit, answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/session.h"
#include "auth/user.h"
#include "audit/audit.h"
#include "sshca/cert.h"
#include "sshca/sshkey.h"
#include "certs.h"
#include "commit.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "issue.h"
#include "rbac/rbac.h"
#include "store/store.h"

/*
 * What the commit needs, owned: the record and the rendered audit event,
 * built before the transaction, and what the decision depended on, so the
 * committer re-checks it with a few reads instead of deciding again.
 */
struct issue_job {
	struct cert_record rec;
	struct audit_prep *ev;
	commit_done_fn done;
	void *done_arg;

	struct issuer *is;
	char **groups;			/* the user's groups the decision used */
	size_t n_groups;
	uint8_t session[TOKEN_HASH_LEN];
	int has_session;
	uint64_t gen;			/* the snapshot's policy generation */
	/* The certificate's grant, to compare a fresh decision with. */
	int64_t ttl;
	uint32_t extensions;
	char *force_command;
	size_t n_cidrs;
	struct rbac_cidr cidrs[RBAC_CIDRS_MAX];
};

/* The certificate's grant as a decision, to compare a fresh one with. */
static void
cert_grant(const struct issue_job *j, struct rbac_decision *g)
{
	memset(g, 0, sizeof(*g));
	g->reason = RBAC_ALLOW;
	g->max_ttl = j->ttl;
	g->extensions = j->extensions;
	g->expires_at = j->rec.valid_before;
	g->force_command = j->force_command;
	g->n_cidrs = j->n_cidrs;
	memcpy(g->cidrs, j->cidrs, j->n_cidrs * sizeof(j->cidrs[0]));
}

/*
 * The policy or the user's groups changed since the decision: decide
 * every principal again on the policy in t (generation gen) for the
 * groups the user has now.  The published snapshot serves when t holds no
 * uncommitted policy change, so the jobs of a batch after a policy change
 * share one rebuild instead of each building its own.
 */
static int
redecide(struct store_txn *t, const struct issue_job *j, uint64_t gen,
    const struct user *u)
{
	struct rbac_snap *snap = NULL;
	struct rbac_decision d, g;
	char login[RBAC_LOGIN_MAX + 1], target[RBAC_NAME_MAX + 1];
	const char *p, *at;
	size_t i;
	int r;

	if (rbac_acquire(j->is->rbac, &snap) != 0 ||
	    rbac_snap_generation(snap) != gen) {
		rbac_snap_release(snap);
		snap = NULL;
		if ((r = rbac_acquire_txn(j->is->rbac, t, &snap)) != 0)
			return r;
	}
	cert_grant(j, &g);
	r = TSS_E_FORBIDDEN;
	for (i = 0; i < j->rec.n_principals; i++) {
		/* "login@target": neither part may hold an '@'. */
		p = j->rec.principals[i];
		if ((at = strchr(p, '@')) == NULL ||
		    (size_t)(at - p) >= sizeof(login) ||
		    strlen(at + 1) >= sizeof(target))
			goto out;
		memcpy(login, p, (size_t)(at - p));
		login[at - p] = '\0';
		memcpy(target, at + 1, strlen(at + 1) + 1);
		if (rbac_decide(snap, j->rec.username,
		    (const char *const *)u->groups, u->ngroups, target, login,
		    j->rec.issued_at, &d) != 0 || rbac_decision_wider(&d, &g))
			goto out;
	}
	r = 0;
 out:
	rbac_snap_release(snap);
	return r;
}

/* Did the user's groups change since the decision? */
static int
groups_changed(const struct issue_job *j, const struct user *u)
{
	size_t i;

	if (u->ngroups != j->n_groups)
		return 1;
	for (i = 0; i < j->n_groups; i++)
		if (strcmp(u->groups[i], j->groups[i]) != 0)
			return 1;
	return 0;
}

/*
 * Inside the commit's write transaction: is what the decision relied on
 * still true?  Cheap when nothing changed: the user record, the session
 * and one counter.  A user who may no longer act, or a session that
 * ended, is TSS_E_UNAUTHENTICATED for a request that came with a session
 * (as authenticating it now would answer; the decision may have come from
 * the caller cache), TSS_E_FORBIDDEN otherwise; a grant the policy and
 * groups of now no longer give is TSS_E_FORBIDDEN.
 */
static int
revalidate(struct store_txn *t, const struct issue_job *j)
{
	struct user *u = NULL;
	uint64_t gen;
	int r, gone = j->has_session ? TSS_E_UNAUTHENTICATED : TSS_E_FORBIDDEN;

	if ((r = user_get(t, j->rec.username, &u)) != 0) {
		r = r == TSS_E_NOT_FOUND ? gone : r;
		goto out;
	}
	r = gone;
	if (u->disabled || u->state != USER_ACTIVE)
		goto out;
	if (j->has_session && (r = session_alive(t, j->session,
	    j->rec.username, j->rec.issued_at, j->is->session_idle,
	    j->is->session_max)) != 0)
		goto out;
	if ((r = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	r = gen == j->gen && !groups_changed(j, u) ? 0 : redecide(t, j, gen, u);
 out:
	user_free(u);
	return r;
}

static int
commit_issue(struct store_txn *t, void *a)
{
	struct issue_job *j = a;
	int r;

	if ((r = revalidate(t, j)) != 0 ||
	    (r = certs_put(t, &j->rec)) != 0)
		return r;
	return audit_append_prep(t, j->ev, NULL);
}

void
issue_job_free(struct issue_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	cert_record_free(&j->rec);
	audit_prep_free(j->ev);
	for (i = 0; i < j->n_groups; i++)
		free(j->groups[i]);
	free(j->groups);
	free(j->force_command);
	explicit_bzero(j->session, sizeof(j->session));
	free(j);
}

/* Record in j what the decision depended on: the caller's groups and
 * session, the policy generation and the grant. */
static int
job_depends(struct issue_job *j, struct issuer *is,
    const struct issue_req *rq, uint64_t gen, const struct rbac_grant *g,
    int64_t ttl)
{

	j->is = is;
	j->gen = gen;
	j->ttl = ttl;
	j->extensions = g->extensions;
	j->n_cidrs = g->n_cidrs;
	memcpy(j->cidrs, g->cidrs, g->n_cidrs * sizeof(g->cidrs[0]));
	if (rq->session != NULL) {
		memcpy(j->session, rq->session, sizeof(j->session));
		j->has_session = 1;
	}
	if ((g->force_command != NULL &&
	    (j->force_command = mem_strdup(g->force_command)) == NULL) ||
	    ((j->groups = mem_strvdup(rq->groups, rq->n_groups)) == NULL &&
	    rq->n_groups > 0))
		return TSS_E_NOMEM;
	j->n_groups = rq->n_groups;
	return 0;
}

/* The job for rec (whose fields it takes) and its cert.issue event. */
static int
job_new(struct cert_record *rec, const struct issue_req *rq,
    struct issue_job **out)
{
	struct issue_job *j;
	json_t *p = NULL, *f = NULL;
	char object[32];
	size_t i;
	int r = TSS_E_NOMEM;

	*out = NULL;
	if ((j = mem_calloc(1, sizeof(*j))) == NULL)
		return TSS_E_NOMEM;
	j->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	if ((p = json_array()) == NULL)
		goto fail;
	for (i = 0; i < j->rec.n_principals; i++)
		if (json_array_append_new(p,
		    json_string(j->rec.principals[i])) != 0)
			goto fail;
	f = json_pack("{s:I, s:s, s:O, s:I, s:I, s:s}",
	    "serial", (json_int_t)j->rec.serial, "fingerprint",
	    j->rec.fingerprint, "principals", p, "valid_after",
	    (json_int_t)j->rec.valid_after, "valid_before",
	    (json_int_t)j->rec.valid_before, "target", j->rec.target);
	if (f == NULL)
		goto fail;
	snprintf(object, sizeof(object), "cert:%llu",
	    (unsigned long long)j->rec.serial);
	{
		struct audit_event ev = { .actor = j->rec.username,
		    .action = "cert.issue", .object = object, .result = "ok",
		    .remote_addr = rq->remote_addr,
		    .request_id = rq->request_id, .fields = f };

		if ((r = audit_prepare(&ev, j->rec.issued_at, &j->ev)) != 0)
			goto fail;
	}
	json_decref(f);
	json_decref(p);
	*out = j;
	return 0;
 fail:
	json_decref(f);
	json_decref(p);
	issue_job_free(j);
	return r;
}

/* Extension names for the granted bits, in table order. */
static size_t
ext_names(uint32_t bits, const char **names, size_t max)
{
	size_t n = 0;
	uint32_t bit;

	for (bit = 1; bit <= RBAC_EXT_ALL && n < max; bit <<= 1)
		if ((bits & bit) && rbac_ext_name(bit) != NULL)
			names[n++] = rbac_ext_name(bit);
	return n;
}

/* The grant for exactly login@target, from one decision. */
static int
grant_one(const struct rbac_snap *snap, const struct issue_req *rq,
    int64_t now, struct rbac_grant *g)
{
	struct rbac_decision d;
	size_t n;
	int r;

	if ((r = rbac_decide(snap, rq->username, rq->groups, rq->n_groups,
	    rq->target, rq->login, now, &d)) != 0)
		return r;
	if ((g->principals = mem_calloc(1, sizeof(char *))) == NULL ||
	    mem_asprintf(&g->principals[0], "%s@%s", rq->login, rq->target) < 0) {
		if (g->principals != NULL)
			g->principals[0] = NULL;
		return TSS_E_NOMEM;
	}
	g->n = 1;
	g->max_ttl = d.max_ttl;
	g->extensions = d.extensions;
	g->force_command = d.force_command;
	g->expires_at = d.expires_at;
	n = d.n_cidrs;
	g->n_cidrs = n;
	memcpy(g->cidrs, d.cidrs, n * sizeof(d.cidrs[0]));
	return 0;
}

int
issue_prepare(struct issuer *is, const struct issue_req *rq, int64_t now,
    struct issue_job **job, json_t **out, char *errmsg, size_t errlen)
{
	struct rbac_snap *snap = NULL;
	const struct rbac_snap *dec;
	struct rbac_access *acc = NULL;
	struct rbac_grant g;
	struct sshkey *key = NULL;
	struct buf *blob = NULL;
	struct cert_record rec;
	struct cert_request req;
	const char *exts[8];
	char cidr_text[RBAC_CIDRS_MAX][64], *cidrs[RBAC_CIDRS_MAX];
	char fp[SSHKEY_FP_MAX], kid[96], *line = NULL;
	uint64_t serial, va, vb;
	int64_t ttl, cap;
	json_t *principals = NULL;
	size_t i;
	int r;

	*job = NULL;
	*out = NULL;
	memset(&g, 0, sizeof(g));
	memset(&rec, 0, sizeof(rec));
	snprintf(errmsg, errlen, "%s", "");
	if (rq->ttl < 0) {
		snprintf(errmsg, errlen, "ttl: must be a positive number of "
		    "seconds");
		return TSS_E_VALIDATION;
	}
	if ((rq->target != NULL && rbac_valid_target_name(rq->target) != 0) ||
	    (rq->login != NULL && rbac_valid_login(rq->login) != 0)) {
		snprintf(errmsg, errlen, "%s: malformed", rq->target != NULL &&
		    rbac_valid_target_name(rq->target) != 0 ? "target" : "login");
		return TSS_E_VALIDATION;
	}
	if ((r = sshkey_parse_line(rq->public_key, strlen(rq->public_key),
	    &key, NULL)) != 0) {
		snprintf(errmsg, errlen, "public_key: %s", r == TSS_E_WEAK_KEY ?
		    "key type refused or too weak (use ed25519, ecdsa or "
		    "RSA of 2048 bits or more)" : "not a valid OpenSSH public key");
		goto out;
	}
	/* Decide: one (target, login) is a single decision, without the
	 * allocations of a full access listing. */
	if (rq->snap != NULL)
		dec = rq->snap;
	else if ((r = rbac_acquire(is->rbac, &snap)) != 0)
		goto out;
	else
		dec = snap;
	if (rq->target != NULL && rq->login != NULL)
		r = grant_one(dec, rq, now, &g);
	else if ((r = rbac_access(dec, rq->username, rq->groups,
	    rq->n_groups, now, &acc)) == 0)
		r = rbac_grant(acc, rq->target, rq->login, &g);
	if (r != 0) {
		if (r == TSS_E_TOO_MANY)
			snprintf(errmsg, errlen, "more than %d principals: "
			    "name a target", RBAC_PRINCIPALS_MAX);
		else if (r == TSS_E_FORBIDDEN)
			snprintf(errmsg, errlen, "no binding grants %s on %s",
			    rq->login != NULL ? rq->login : "any login",
			    rq->target != NULL ? rq->target : "any target");
		goto out;
	}
	/* TTL: asked for (or default), never above any granting role's
	 * max_ttl nor cert_max_ttl, and never past the first granting
	 * binding's expiry (an active binding expires after now). */
	ttl = rq->ttl != 0 ? rq->ttl : is->default_ttl;
	cap = g.max_ttl < is->max_ttl ? g.max_ttl : is->max_ttl;
	if (g.expires_at != 0 && g.expires_at - now < cap)
		cap = g.expires_at - now > 0 ? g.expires_at - now : 1;
	if (ttl > cap)
		ttl = cap;
	if ((r = cert_validity((uint64_t)now, (uint64_t)ttl, &va, &vb)) != 0 ||
	    (r = serials_take(is->serials, now, &serial)) != 0 ||
	    (r = sshkey_fingerprint(key, fp)) != 0)
		goto out;
	snprintf(kid, sizeof(kid), "%s:%llu", rq->username,
	    (unsigned long long)serial);
	for (i = 0; i < g.n_cidrs; i++) {
		rbac_cidr_format(&g.cidrs[i], cidr_text[i], sizeof(cidr_text[i]));
		cidrs[i] = cidr_text[i];
	}
	memset(&req, 0, sizeof(req));
	req.key = key;
	req.serial = serial;
	req.username = rq->username;
	req.principals = (const char *const *)g.principals;
	req.nprincipals = g.n;
	req.valid_after = va;
	req.valid_before = vb;
	req.force_command = g.force_command;
	req.source_address = (const char *const *)cidrs;
	req.nsource_address = g.n_cidrs;
	req.extensions = exts;
	req.nextensions = ext_names(g.extensions, exts,
	    sizeof(exts) / sizeof(exts[0]));
	if ((r = cert_sign(is->ca, &req, &blob)) != 0 ||
	    (r = cert_to_line(buf_ptr(blob), buf_len(blob), kid, &line)) != 0)
		goto out;

	/* The answer, and the job that makes it true. */
	r = TSS_E_NOMEM;
	if ((principals = json_array()) == NULL)
		goto out;
	for (i = 0; i < g.n; i++)
		if (json_array_append_new(principals,
		    json_string(g.principals[i])) != 0)
			goto out;
	*out = json_pack("{s:s, s:I, s:s, s:O, s:I, s:I}",
	    "certificate", line, "serial", (json_int_t)serial, "key_id", kid,
	    "principals", principals, "valid_after", (json_int_t)va,
	    "valid_before", (json_int_t)vb);
	if (*out == NULL)
		goto out;
	rec.serial = serial;
	rec.valid_after = (int64_t)va;
	rec.valid_before = (int64_t)vb;
	rec.issued_at = now;
	rec.principals = g.principals;
	rec.n_principals = g.n;
	g.principals = NULL;
	g.n = 0;
	rec.certificate = line;
	line = NULL;
	if ((rec.username = mem_strdup(rq->username)) == NULL ||
	    (rec.fingerprint = mem_strdup(fp)) == NULL ||
	    (rec.target = mem_strdup(rq->target != NULL ? rq->target : "")) ==
	    NULL || (r = job_new(&rec, rq, job)) != 0 ||
	    (r = job_depends(*job, is, rq, rbac_snap_generation(dec), &g,
	    ttl)) != 0) {
		issue_job_free(*job);
		*job = NULL;
		json_decref(*out);
		*out = NULL;
		goto out;
	}
	r = 0;
 out:
	cert_record_free(&rec);
	json_decref(principals);
	free(line);
	buf_free(blob);
	rbac_grant_clear(&g);
	rbac_access_free(acc);
	rbac_snap_release(snap);
	sshkey_free(key);
	return r;
}

static void
job_done(void *arg, int r)
{
	struct issue_job *j = arg;

	j->done(j->done_arg, r);
	issue_job_free(j);
}

int
issue_submit(struct issuer *is, struct issue_job *job, commit_done_fn done,
    void *arg)
{
	int r;

	job->done = done;
	job->done_arg = arg;
	if ((r = commit_submit(is->commits, commit_issue, job_done, job)) != 0)
		issue_job_free(job);
	return r;
}

int
issue_cert(struct issuer *is, const struct issue_req *rq, int64_t now,
    json_t **out, char *errmsg, size_t errlen)
{
	struct issue_job *job = NULL;
	int r;

	if ((r = issue_prepare(is, rq, now, &job, out, errmsg, errlen)) != 0)
		return r;
	if ((r = commit_run(is->commits, commit_issue, job)) != 0) {
		json_decref(*out);
		*out = NULL;
		if (r == TSS_E_FORBIDDEN)
			snprintf(errmsg, errlen, "access changed while the "
			    "certificate was being issued");
	}
	issue_job_free(job);
	return r;
}
