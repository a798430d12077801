/* POST /v1/certs: issuance, answered once its group commit is durable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "cert_api.h"
#include "broker/broker.h"
#include "broker/issue.h"
#include "common/err.h"
#include "common/mem.h"
#include "web/server.h"

#define ERRMSG_MAX	256

/* ttl: absent, or an integer; floats, strings, 0 and negatives refused;
 * values past the caps are clamped by the use case. */
static int
ttl_of(const json_t *j, int64_t *ttl)
{
	json_int_t v;

	*ttl = 0;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_integer(j) || (v = json_integer_value(j)) <= 0)
		return TSS_E_VALIDATION;
	*ttl = (int64_t)v;
	return 0;
}

/*
 * Issuance answers after the group commit has made the certificate
 * durable; meanwhile the request holds no thread (web_defer).
 */
struct issue_later {
	struct api *a;
	struct web_later *later;
	struct web_resp *resp;		/* the 201, sent once committed */
	double t0;
	uint8_t session[32];		/* forgotten by the cache if refused */
	int has_session;
};

/* The session key goes with it (issue_job_free zeroes its copy too). */
static void
later_free(struct issue_later *il)
{
	explicit_bzero(il, sizeof(*il));
	free(il);
}

static void
issue_done(void *arg, int r)
{
	struct issue_later *il = arg;
	struct web_resp *resp = il->resp;

	if (r == 0) {
		web_metric_observe(il->a->issue_seconds, api_mono() - il->t0);
		web_metric_inc(il->a->certs_issued, 0);
	} else {
		if (il->has_session)
			broker_caller_forget(il->a->b, il->session);
		web_resp_free(resp);
		resp = web_error_msg(r, NULL);
	}
	web_finish(il->later, resp);
	later_free(il);
}

/*
 * Authenticate (from the caller cache when it can: the commit re-checks
 * all it relied on) and prepare.  A cached caller denied is forgotten and
 * decided again on what the store says now, so a stale memory never
 * refuses what the policy allows.
 */
static struct web_resp *
issue_decide(const struct web_req *req, struct api *a, struct issue_req *rq,
    struct issue_job **job, json_t **out, struct issue_later *il)
{
	struct web_resp *resp;
	struct caller c;
	char errmsg[ERRMSG_MAX] = "";
	int r, cached = 1;

	for (;;) {
		if ((resp = api_authed_as(req, a, &c, cached)) != NULL)
			return resp;
		rq->username = c.username;
		rq->groups = (const char *const *)c.groups;
		rq->n_groups = c.n_groups;
		rq->session = c.has_session ? c.session : NULL;
		rq->snap = c.snap;
		r = issue_prepare(&a->b->issuer, rq, api_now(), job, out,
		    errmsg, sizeof(errmsg));
		memcpy(il->session, c.session, sizeof(il->session));
		il->has_session = c.has_session;
		cached = c.cached;
		caller_clear(&c);
		if (r != TSS_E_FORBIDDEN || !cached)
			break;
		broker_caller_forget(a->b, il->session);
		cached = 0;
	}
	return r != 0 ? web_error_msg(r, errmsg) : NULL;
}

struct web_resp *
cert_api_issue(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct issue_req rq;
	struct issue_job *job = NULL;
	struct issue_later *il;
	static const char *const fields[] = { "public_key", "target", "login",
	    "ttl", NULL };
	struct web_resp *resp;
	json_t *body = web_req_json(req), *out = NULL;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	memset(&rq, 0, sizeof(rq));
	rq.public_key = api_str(req, "public_key");
	rq.target = api_str(req, "target");
	rq.login = api_str(req, "login");
	if (rq.public_key == NULL)
		return web_error(400, "invalid_public_key",
		    "public_key: an authorized_keys line is required");
	if ((json_object_get(body, "target") != NULL && rq.target == NULL &&
	    !json_is_null(json_object_get(body, "target"))) ||
	    (json_object_get(body, "login") != NULL && rq.login == NULL &&
	    !json_is_null(json_object_get(body, "login"))))
		return web_error(400, "bad_request",
		    "target and login must be strings");
	if (ttl_of(json_object_get(body, "ttl"), &rq.ttl) != 0)
		return web_error(400, "bad_request",
		    "ttl: a positive integer number of seconds");
	rq.remote_addr = web_req_remote(req);
	rq.request_id = web_req_id(req);
	if ((il = mem_calloc(1, sizeof(*il))) == NULL)
		return NULL;
	il->a = a;
	il->t0 = api_mono();
	if ((resp = issue_decide(req, a, &rq, &job, &out, il)) != NULL ||
	    (il->resp = web_json(201, out)) == NULL) {
		later_free(il);
		issue_job_free(job);
		return resp;
	}
	il->later = web_defer(req);
	if ((r = issue_submit(&a->b->issuer, job, issue_done, il)) != 0) {
		web_resp_free(il->resp);
		web_finish(il->later, web_error_msg(r, NULL));
		later_free(il);
	}
	return NULL;
}
