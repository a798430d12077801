/*
 * The HTTPS server; see server.h.  This file starts and stops it and holds
 * libmicrohttpd's request callbacks with what they call on every request (the
 * head's checks, the answer to a resumed connection); the rest lies beside
 * it, behind internal.h: tls.c (the certificate and key, their reload),
 * conn.c (connection records, limits, deadlines, draining, the acceptor),
 * response.c (responses, sending, request metrics), dispatch.c (worker pools,
 * answers given later), request.c (accessors, CSRF/Origin, decoding,
 * routing).
 *
 * Request bodies: libmicrohttpd calls the access handler once with the
 * headers, then per body chunk, then once more with nothing; we buffer at
 * most WEB_BODY_MAX bytes.  A Content-Length over the cap gets 413 at once
 * (the body is never read, the connection closes).  A chunked body that
 * grows past it is dropped as it arrives and answered with 413 at its end
 * (libmicrohttpd 0.9.75 will not queue a response mid-body), unless it
 * runs past WEB_DISCARD_MAX, where the connection is simply closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/rand.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "web/internal.h"

#define STOP_WAIT_NS	(5ull * 1000000000ull)
#define WEB_IO_MAX	16	/* I/O threads: one per CPU, at most this */
/* A chunked body past WEB_BODY_MAX is read and dropped up to this much
 * more so the client gets its 413; beyond it the connection is closed. */
#define WEB_DISCARD_MAX	(1024u * 1024)

/* ------------------------------------------------------------------ */
/* Responses */

/*
 * The one map from TSS_E_* to an HTTP answer: status, the API's error code
 * (NULL: the error's name in common/err.h), the code whose message is
 * shown (0: its own).  Unlisted is a 500; a store that cannot write or a
 * busy limiter is 503, not our bug. */
static const struct {
	int err;
	unsigned status;
	const char *code;
	int message_of;
} http_errors[] = {
	{ TSS_E_NOT_FOUND,		404, NULL, 0 },
	{ TSS_E_CONFLICT,		409, NULL, 0 },
	{ TSS_E_FORBIDDEN,		403, NULL, 0 },
	{ TSS_E_PERMISSION,		403, "forbidden", TSS_E_FORBIDDEN },
	{ TSS_E_UNAUTHENTICATED,	401, NULL, 0 },
	{ TSS_E_INVALID_CREDENTIALS,	401, NULL, 0 },
	{ TSS_E_TOO_MANY_ATTEMPTS,	429, NULL, 0 },
	{ TSS_E_LOCKED, 429, "too_many_attempts", TSS_E_TOO_MANY_ATTEMPTS },
	{ TSS_E_TOO_LARGE,		413, NULL, 0 },
	{ TSS_E_INVALID_JSON,		400, NULL, 0 },
	{ TSS_E_VALIDATION,		400, NULL, 0 },
	{ TSS_E_INVALID_ARGUMENT,	400, "bad_request", 0 },
	{ TSS_E_INVALID_PUBLIC_KEY,	400, NULL, 0 },
	{ TSS_E_WEAK_KEY,		400, NULL, 0 },
	{ TSS_E_INVALID_PRINCIPAL,	400, NULL, 0 },
	{ TSS_E_WEAK_PASSWORD,		400, NULL, 0 },
	{ TSS_E_DURATION,		400, NULL, 0 },
	{ TSS_E_INVALID_CIDR,		400, NULL, 0 },
	{ TSS_E_TOO_MANY,		400, "bad_request", 0 },
	{ TSS_E_TOO_LONG,		400, "bad_request", 0 },
	{ TSS_E_BAD_FORMAT,		400, "bad_request", 0 },
	{ TSS_E_EXPIRED,		400, NULL, 0 },
	{ TSS_E_REPLAY,		400, NULL, 0 },
	{ TSS_E_UNAVAILABLE,		503, NULL, 0 },
	{ TSS_E_STORE,			503, "unavailable", TSS_E_UNAVAILABLE },
	{ TSS_E_STORE_FULL,		503, "unavailable", TSS_E_UNAVAILABLE },
	{ TSS_E_BUSY,			503, "unavailable", TSS_E_UNAVAILABLE },
};

struct web_resp *
web_error_msg(int r, const char *msg)
{
	size_t i;

	for (i = 0; i < sizeof(http_errors) / sizeof(http_errors[0]); i++)
		if (http_errors[i].err == r)
			return web_error(http_errors[i].status,
			    http_errors[i].code != NULL ? http_errors[i].code :
			    tss_errname(r), msg != NULL && *msg != '\0' ? msg :
			    tss_strerror(http_errors[i].message_of != 0 ?
			    http_errors[i].message_of : r));
	return web_error(500, "internal", "internal error");
}

/* ------------------------------------------------------------------ */
/* libmicrohttpd's callbacks */

void
web__req_free(struct web_req *req)
{
	size_t i;

	if (req == NULL)
		return;
	json_decref(req->json);
	if (req->token != NULL)
		wipe_free(req->token);
	buf_free(req->body);
	for (i = 0; i < req->nquery; i++) {
		free(req->qkey[i]);
		free(req->qval[i]);
	}
	web_resp_free(req->later);
	free(req);
}

static unsigned id_prefix;

static void
request_id_prefix(void)
{
	if (RAND_bytes((unsigned char *)&id_prefix, sizeof(id_prefix)) != 1)
		id_prefix = (unsigned)getpid() ^ (unsigned)time(NULL);
}

/*
 * Request ids need to be unique, not secret: a random 32-bit prefix drawn
 * once per process and a 32-bit counter, instead of the CSPRNG on every
 * request.
 */
static void
request_id(char dst[17])
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static atomic_uint count;

	pthread_once(&once, request_id_prefix);
	snprintf(dst, 17, "%08x%08x", id_prefix,
	    atomic_fetch_add(&count, 1) + 1);
}

/* Our record of the connection (NULL when it has none). */
static struct conn_ctx *
conn_cc(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci == NULL ? NULL : ci->socket_context;
}

/* The connection's first request has begun: it no longer counts as
 * fresh (web_stop waits for fresh connections: their request may be on
 * its way). */
static void
mark_seen(struct conn_ctx *cc)
{
	if (cc == NULL || cc->seen)
		return;
	cc->seen = 1;
	atomic_fetch_sub(&cc->s->fresh, 1);
}

static void
remote_text(struct MHD_Connection *conn, char *dst, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(dst, len, "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, dst, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, dst, (socklen_t)len);
}

/*
 * Back from suspension: send what web_finish() left, or, when the stop
 * resumed the connection with its answer still owed, a 503.
 */
static enum MHD_Result
unpark(struct web_req *req)
{
	struct web_resp *resp;
	int owed;

	pthread_mutex_lock(&req->s->later_mu);
	resp = req->later;
	req->later = NULL;
	owed = req->waiting;
	pthread_mutex_unlock(&req->s->later_mu);
	if (owed)
		return web__send_error(req, 503, "unavailable",
		    "server stopping", 1);
	return web__send_resp(req, resp, 0);
}

/*
 * Grown as the body arrives (the caller keeps it within WEB_BODY_MAX).  A
 * fixed 64 KiB buffer per request made every free trim the allocator's
 * heap and the next request fault the pages back in.
 */
static int
body_append(struct web_req *req, const char *data, size_t len)
{
	if (req->body == NULL && (req->body = buf_new_secret()) == NULL)
		return -1;
	return buf_put(req->body, data, len) == 0 ? 0 : -1;
}

/* Answer and close before the body is read: drain it first (linger). */
static enum MHD_Result
refuse_early(struct web_req *req, unsigned status, const char *code,
    const char *msg)
{
	if (req->cc != NULL)
		req->cc->linger = 1;
	conn_deadline(req->cc, -1, 0);
	return web__send_error(req, status, code, msg, 1);
}

struct head_scan {
	unsigned te, cl;
	const char *te_value, *cl_value;
};

static enum MHD_Result
head_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct head_scan *hs = cls;

	if (key == NULL)
		return MHD_YES;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		hs->te++;
		hs->te_value = value != NULL ? value : "";
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		hs->cl++;
		hs->cl_value = value != NULL ? value : "";
	}
	return MHD_YES;
}

/*
 * The request head is in.  Refuse at once, and close, what cannot be
 * framed safely: libmicrohttpd 0.9.75 lets Transfer-Encoding win over
 * Content-Length (a request smuggling vector behind a proxy that reads
 * it the other way; RFC 9112 section 6.1 says reject or close) and reads
 * a body of an unknown coding until the connection ends.  Then start the
 * body's deadline, when there is a body.
 */
static enum MHD_Result
head_checks(struct web_req *req)
{
	struct head_scan hs;
	unsigned long long n = 0;
	char msg[96], *end;
	int qover = 0;

	memset(&hs, 0, sizeof(hs));
	if (req->cc != NULL) {
		qover = req->cc->qover;
		req->cc->qover = 0;
	}
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, head_iter, &hs);
	if (hs.te > 0 && hs.cl > 0)
		return refuse_early(req, 400, "bad_request", "both "
		    "Content-Length and Transfer-Encoding: send one of them");
	if (hs.te > 1 || (hs.te == 1 &&
	    strcasecmp(hs.te_value, "chunked") != 0))
		return refuse_early(req, 501, "not_implemented",
		    "unsupported Transfer-Encoding: only chunked is accepted");
	if (qover) {
		snprintf(msg, sizeof(msg), "too many query arguments: at most "
		    "%d", WEB_QUERY_MAX);
		return refuse_early(req, 400, "bad_request", msg);
	}
	if (hs.cl_value != NULL) {
		/* libmicrohttpd has vetted it; digits only anyway. */
		if (*hs.cl_value < '0' || *hs.cl_value > '9')
			return refuse_early(req, 400, "bad_request",
			    "invalid Content-Length");
		errno = 0;
		n = strtoull(hs.cl_value, &end, 10);
		if (*end != '\0')
			return refuse_early(req, 400, "bad_request",
			    "invalid Content-Length");
		if (errno == ERANGE || n > WEB_BODY_MAX)
			return refuse_early(req, 413, "payload_too_large",
			    "request body too large");
	}
	conn_deadline(req->cc, n > 0 || hs.te > 0 ? (long)req->s->body_ms : -1,
	    1);
	return MHD_YES;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct web_server *s = cls;
	struct web_req *req = *con_cls;

	if (req == NULL) {
		if ((req = mem_calloc(1, sizeof(*req))) == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &req->start);
		req->s = s;
		req->conn = conn;
		req->method = method;
		req->raw_url = url;
		req->pattern = s->npatterns;	/* "unmatched" */
		request_id(req->id);
		remote_text(conn, req->remote, sizeof(req->remote));
		*con_cls = req;
		atomic_fetch_add(&s->inflight, 1);
		req->cc = conn_cc(conn);
		mark_seen(req->cc);
		return head_checks(req);
	}
	if (*upload_size != 0) {
		if (req->responded)
			return MHD_NO;
		if (req->too_large ||
		    *upload_size > WEB_BODY_MAX - body_len(req)) {
			/*
			 * libmicrohttpd 0.9.75 refuses a response while the
			 * body is still arriving: drop the excess up to a cap
			 * and answer 413 at its end; past the cap, close.
			 */
			req->too_large = 1;
			if (*upload_size > WEB_DISCARD_MAX - req->discarded)
				return MHD_NO;
			req->discarded += *upload_size;
			*upload_size = 0;
			return MHD_YES;
		}
		if (body_append(req, upload, *upload_size) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	conn_deadline(req->cc, -1, 0);	/* the body is in */
	if (req->responded)
		return MHD_YES;
	if (req->dispatched)
		return unpark(req);	/* resumed */
	if (req->too_large)
		return web__send_error(req, 413, "payload_too_large",
		    "request body too large", 1);
	return web__dispatch(req);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct web_server *s = cls;
	struct web_req *req = *con_cls;

	if (req == NULL)
		return;
	*con_cls = NULL;
	if (req->cc != NULL)
		web__transport_flush(req->cc);
	/* A kept-alive connection's next head has its own deadline. */
	conn_deadline(req->cc, (long)s->head_ms, 0);
	pthread_mutex_lock(&s->later_mu);
	if (req->waiting) {
		/* web_finish() is still to come: it frees the request. */
		req->orphan = 1;
		s->orphans++;
		req = NULL;
	}
	pthread_mutex_unlock(&s->later_mu);
	web__req_free(req);
	atomic_fetch_sub(&s->inflight, 1);
}

/*
 * libmicrohttpd 0.9.75 keeps each query argument in the connection's
 * memory pool; when they do not fit it queues its own 431, then carries on
 * parsing as if nothing happened, and the connection hangs without an
 * answer until the timeout.  This callback sees the raw URI before the
 * arguments are parsed: past WEB_QUERY_MAX it ends the query string right
 * after the '?' so none are parsed, and flags the connection;
 * head_checks() answers 400.  The flag alone is not enough: the arguments
 * would still be parsed, and the connection hang.
 *
 * That is the one write web/ makes where libmicrohttpd says const.  The
 * URI lies in the connection's read buffer, which libmicrohttpd edits in
 * place itself: right after this callback it overwrites the '?' with a NUL
 * and parses the arguments from the byte after it, where ours goes (1.0.x
 * does the same).  query_cut() is that write, through a union rather than
 * a cast, so that -Wcast-qual keeps guarding every other place.
 */
static void
query_cut(const char *q)
{
	union { const char *c; char *m; } u = { .c = q };

	u.m[1] = '\0';
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_ctx *cc = conn_cc(conn);
	const char *q, *p;
	size_t n = 1;

	if (cc == NULL || (q = strchr(uri, '?')) == NULL)
		return NULL;
	for (p = q + 1; *p != '\0' && n <= WEB_QUERY_MAX; p++)
		if (*p == '&')
			n++;
	if (n > WEB_QUERY_MAX) {
		query_cut(q);
		cc->qover = 1;
	}
	return NULL;
}

/* Keep the raw path: web_path_decode() decodes it strictly. */
static size_t
no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	return strlen(s);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("web: libmicrohttpd: %s", msg);
}
#pragma GCC diagnostic pop

/* ------------------------------------------------------------------ */
/* Start / stop */

static unsigned
io_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > WEB_IO_MAX ? WEB_IO_MAX : (unsigned)n;
}

int
web_start(const struct web_config *cfg, struct web_server **out)
{
	struct web_server *s = NULL;
	struct sockaddr_storage ss;
	const char *prio;
	char host[INET6_ADDRSTRLEN];
	unsigned timeout, maxconn, perip, head, body;
	size_t mem, i;
	int v6 = 0, r = TSS_E_INTERNAL, n, lock_init = 0;

	if (out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*out = NULL;
	if (cfg == NULL || cfg->tls_cert_file == NULL ||
	    cfg->tls_key_file == NULL || (cfg->routes == NULL &&
	    cfg->nroutes != 0))
		return TSS_E_INVALID_ARGUMENT;
	mem_json_setup();
	if ((r = web__parse_listen(cfg->listen, &ss, &v6, host,
	    sizeof(host))) != 0) {
		log_error("web: bad listen address \"%s\"",
		    cfg->listen != NULL ? cfg->listen : "");
		return r;
	}
	prio = cfg->tls_priorities != NULL ? cfg->tls_priorities :
	    WEB_TLS_PRIORITIES;
	if (!web__tls_priorities_ok(prio))
		return TSS_E_CONFIG;
	timeout = cfg->conn_timeout ? cfg->conn_timeout : 30;
	maxconn = cfg->max_connections ? cfg->max_connections : 1024;
	perip = cfg->per_ip_limit ? cfg->per_ip_limit : 64;
	head = cfg->head_timeout ? cfg->head_timeout : 10;
	body = cfg->body_timeout ? cfg->body_timeout : 30;
	if (head > 86400 || body > 86400)
		return TSS_E_CONFIG;
	/* libmicrohttpd clears the whole pool after every request: 16 KiB
	 * holds any sane header block and costs a quarter of 64 KiB. */
	mem = cfg->conn_memory ? cfg->conn_memory : 16 * 1024;

	if ((s = mem_calloc(1, sizeof(*s))) == NULL)
		return TSS_E_NOMEM;
	s->lfd = -1;
	s->head_ms = head * 1000;
	s->body_ms = body * 1000;
	s->per_net = cfg->per_net_limit ? cfg->per_net_limit : 256;
	s->routes = cfg->routes;
	s->nroutes = cfg->nroutes;
	s->arg = cfg->handler_arg;
	if (pthread_mutex_init(&s->tls_lock, NULL) != 0)
		goto out;
	pthread_mutex_init(&s->later_mu, NULL);
	pthread_mutex_init(&s->conn_mu, NULL);
	pthread_cond_init(&s->later_cv, NULL);
	for (i = 0; i < 2; i++) {
		pthread_mutex_init(&s->pools[i].mu, NULL);
		pthread_cond_init(&s->pools[i].cv, NULL);
		s->pools[i].tail = &s->pools[i].head;
	}
	lock_init = 1;
	if ((s->cert_file = mem_strdup(cfg->tls_cert_file)) == NULL ||
	    (s->key_file = mem_strdup(cfg->tls_key_file)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = web_reload_tls(s)) != 0)
		goto out;
	if (cfg->metrics != NULL)
		s->metrics = cfg->metrics;
	else {
		if ((r = web_metrics_new(&s->metrics)) != 0)
			goto out;
		s->own_metrics = 1;
	}
	if ((r = web__metrics_setup(s)) != 0)
		goto out;

	/*
	 * A few I/O threads (one per CPU) run libmicrohttpd's epoll loops and
	 * the handlers that never wait (WEB_R_INLINE); every other handler
	 * runs on a worker while its connection is suspended, so a wait
	 * (Argon2 slots, a commit) stalls no other client.  A handler that
	 * hands its work on (issuance to the group commit) defers its answer
	 * and holds no thread at all meanwhile.
	 */
	s->pools[POOL_WAIT].name = "tss-worker";
	s->pools[POOL_CPU].name = "tss-cpu";
	if ((r = web__pool_start(&s->pools[POOL_WAIT], WEB_WORKERS)) != 0 ||
	    (r = web__pool_start(&s->pools[POOL_CPU], io_threads())) != 0)
		goto out;
	if ((s->lfd = web__listen_open(&ss, v6)) == -1) {
		log_error("web: cannot listen on %s: %s", cfg->listen,
		    strerror(errno));
		r = TSS_E_IO;
		goto out;
	}
	if ((s->port = web__bound_port(s->lfd)) == 0) {
		r = TSS_E_IO;
		goto out;
	}
	s->d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG |
	    MHD_USE_NO_LISTEN_SOCKET,
	    0, NULL, NULL, on_access, s,
	    MHD_OPTION_THREAD_POOL_SIZE, io_threads(),
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_HTTPS_CERT_CALLBACK, web__cert_callback,
	    MHD_OPTION_HTTPS_PRIORITIES, prio,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
	    MHD_OPTION_CONNECTION_LIMIT, maxconn,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, perip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, web__on_connection, s,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		log_error("web: cannot start HTTPS server on %s", cfg->listen);
		r = TSS_E_IO;
		goto out;
	}
	if (pthread_create(&s->acceptor, NULL, web__acceptor_main, s) != 0) {
		r = TSS_E_NOMEM;
		goto out;
	}
	pthread_setname_np(s->acceptor, "tss-accept");
	s->accepting = 1;
	pthread_mutex_lock(&s->conn_mu);
	s->linger_ok = 1;
	pthread_mutex_unlock(&s->conn_mu);
	if (cfg->public_origin != NULL)
		n = snprintf(s->origin, sizeof(s->origin), "%s",
		    cfg->public_origin);
	else
		n = snprintf(s->origin, sizeof(s->origin), "https://%s%s%s:%u",
		    v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)s->port);
	if (n < 0 || (size_t)n >= sizeof(s->origin)) {
		r = TSS_E_CONFIG;
		goto out;
	}
	log_info("web: listening on %s port %u", host, (unsigned)s->port);
	*out = s;
	s = NULL;	/* transferred */
	r = 0;
 out:
	if (s != NULL && !lock_init) {
		free(s);
		s = NULL;
	}
	web_free(s);
	return r;
}

uint16_t
web_port(const struct web_server *s)
{
	return s == NULL ? 0 : s->port;
}

const char *
web_origin(const struct web_server *s)
{
	return s == NULL ? NULL : s->origin;
}

struct web_metrics *
web_server_metrics(struct web_server *s)
{
	return s == NULL ? NULL : s->metrics;
}

int
web_stopping(const struct web_server *s)
{
	return s == NULL ? 1 : atomic_load(&s->stopping);
}

void
web_stop(struct web_server *s)
{
	struct timespec t0, pause = { 0, 5 * 1000 * 1000 };
	unsigned long long waited;

	if (s == NULL)
		return;
	if (s->d == NULL) {
		web__acceptor_stop(s);
		web__workers_stop(s);
		return;
	}
	atomic_store(&s->stopping, 1);
	web__acceptor_stop(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/*
		 * Done when nothing is in flight and no new connection is
		 * still before its first request (a client that connected
		 * just before the stop has its request on the way).
		 */
		if (atomic_load(&s->inflight) <= 0 &&
		    atomic_load(&s->fresh) <= 0)
			break;
		waited = (unsigned long long)(elapsed(&t0) * 1e9);
		if (waited >= STOP_WAIT_NS) {
			log_warn("web: stopping with %ld requests in flight",
			    (long)atomic_load(&s->inflight));
			break;
		}
		nanosleep(&pause, NULL);
	}
	/* Handlers still running finish first: they use their connection. */
	web__workers_stop(s);
	web__unpark_all(s);
	MHD_stop_daemon(s->d);
	s->d = NULL;
}

void
web_free(struct web_server *s)
{
	struct tls_bundle *b, *next;
	size_t i;

	if (s == NULL)
		return;
	web_stop(s);
	/* Deferred answers still owed come from other threads: wait. */
	pthread_mutex_lock(&s->later_mu);
	while (s->orphans > 0)
		pthread_cond_wait(&s->later_cv, &s->later_mu);
	pthread_mutex_unlock(&s->later_mu);
	pthread_cond_destroy(&s->later_cv);
	pthread_mutex_destroy(&s->later_mu);
	for (i = 0; i < 2; i++) {
		pthread_cond_destroy(&s->pools[i].cv);
		pthread_mutex_destroy(&s->pools[i].mu);
	}
	web__bundle_free(s->cur);
	for (b = s->retired; b != NULL; b = next) {
		next = b->next;
		web__bundle_free(b);
	}
	pthread_mutex_destroy(&s->tls_lock);
	web__conns_free(s);
	pthread_mutex_destroy(&s->conn_mu);
	if (s->own_metrics)
		web_metrics_free(s->metrics);
	free(s->route_pattern);
	free(s->cert_file);
	free(s->key_file);
	free(s);
}
