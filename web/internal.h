/*
 * Internals of the HTTPS server, shared by the web/ files that implement
 * server.h and by nothing else: the server's, a connection's and a
 * request's state, the helpers the request path calls across files
 * (inline, so that they stay inlined), and each file's entry points for
 * the others.
 */
#ifndef TSS_WEB_INTERNAL_H
#define TSS_WEB_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "web/server.h"

#define TLS_CHAIN_MAX	8
#define RESP_HDR_MAX	16
#define WEB_WORKERS	32	/* threads for handlers that may wait */
#define ORIGIN_MAX	320
#define CONN_BUCKETS	1024	/* connection records, hashed by descriptor */
#define NET_BUCKETS	256	/* per-network counts */
/* A connection closed before its body was read is drained, at most this
 * long and this much, so the client reads our answer instead of a reset;
 * at most LINGER_MAX at once (beyond, closed at once).  The bytes cover
 * what a client writes into loopback's socket buffers (several MiB)
 * before it reads our answer and stops. */
#define LINGER_MS	2000
#define LINGER_BYTES	(8u * 1024 * 1024)
#define LINGER_MAX	64

struct tls_bundle {
	gnutls_pcert_st pcert[TLS_CHAIN_MAX];
	unsigned npcert;
	gnutls_privkey_t key;
	unsigned refs;			/* connections pinning it */
	struct tls_bundle *next;	/* retired list */
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* A network: an IPv4 /24 or an IPv6 /64, and its open connections. */
struct net {
	uint8_t key[9];			/* family (4 or 6), then the prefix */
	unsigned n;
	struct net *next;		/* hash chain */
};

/*
 * One accepted socket, from accept() to libmicrohttpd's NOTIFY_CLOSED
 * (which comes before it closes the descriptor, so while the record is in
 * the table under conn_mu, fd is this connection's).  Made by the acceptor,
 * found by descriptor at NOTIFY_STARTED and kept as the socket context.
 */
struct conn_ctx {
	struct web_server *s;
	struct tls_bundle *b;		/* pinned by the last handshake */
	int seen;			/* its first request has started */
	int fd;
	int linked;			/* NOTIFY_STARTED has claimed it */
	int cut;			/* shut down for its deadline */
	int linger;			/* drain before the close */
	atomic_int in_body;		/* the deadline is the body's */
	int qover;			/* its request has too many query
					 * arguments (on_uri) */
	atomic_llong deadline;		/* monotonic ms; 0: none */
	/* transport.c, on the I/O thread: bytes read past what GnuTLS
	 * asked for, and a response head held for its body. */
	uint8_t *rx;
	size_t rx_off, rx_len;
	uint8_t *tx;
	size_t tx_len;
	int tx_hold;			/* hold the next record */
	/* tls.c, during a ClientHello: the message and where its server
	 * name lies, to be read the way GnuTLS accepts (web__hello_hook). */
	const uint8_t *hello;
	size_t hello_len, sni_off, sni_len;
	struct net *net;		/* counted there; NULL: not counted */
	struct conn_ctx *next;		/* hash chain by fd */
};

struct lingering {
	int fd;
	int64_t until;			/* monotonic ms */
	size_t left;			/* bytes still to drop */
};

/* Handler threads: a FIFO of parked requests and the threads taking them. */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct web_req *head, **tail;
	int stop;
	pthread_t threads[WEB_WORKERS];
	unsigned n;
	const char *name;		/* for ps -L, top -H, perf */
};
enum { POOL_WAIT, POOL_CPU };

struct web_server {
	struct MHD_Daemon *d;
	int lfd;			/* the listening socket, ours */
	pthread_t acceptor;
	int accepting;			/* the acceptor thread runs */
	atomic_int accept_stop;
	const struct web_route *routes;
	size_t nroutes;
	void *arg;
	char *cert_file;
	char *key_file;
	char origin[ORIGIN_MAX];
	uint16_t port;
	int cacheable_all;

	pthread_mutex_t tls_lock;
	struct tls_bundle *cur;
	struct tls_bundle *retired;
	struct file_id cert_id, key_id;

	atomic_int stopping;
	atomic_long inflight;
	atomic_long fresh;		/* connections before their first request */

	/* Deferred answers (web_defer/web_finish) and the worker pool. */
	pthread_mutex_t later_mu;
	pthread_cond_t later_cv;	/* an orphan was finished */
	int closing;			/* the daemon is going: park nothing */
	struct web_req *parked;		/* suspended connections */
	long orphans;			/* deferred requests whose connection
					 * closed before web_finish() */
	struct pool pools[2];		/* POOL_WAIT, POOL_CPU */

	/* Connection records, network counts and sockets being drained;
	 * see struct conn_ctx.  Under conn_mu. */
	pthread_mutex_t conn_mu;
	struct conn_ctx *conns[CONN_BUCKETS];
	struct net *nets[NET_BUCKETS];
	struct lingering lingers[LINGER_MAX];
	size_t nlingers;
	unsigned head_ms, body_ms, per_net;
	int linger_ok;			/* the acceptor runs: it drains */

	struct web_metrics *metrics;
	int own_metrics;
	struct web_metric *m_requests;
	struct web_metric *m_latency;
	struct web_metric *m_closed;	/* connections we closed, by reason */
	size_t *route_pattern;		/* route index -> pattern label index */
	size_t npatterns;		/* label index npatterns = "unmatched" */
};

struct web_req {
	struct web_server *s;
	struct MHD_Connection *conn;
	struct conn_ctx *cc;		/* NULL when it has none */
	const char *method;
	const char *raw_url;
	char path[WEB_PATH_MAX + 1];
	char param[WEB_PATH_MAX + 1];
	int has_param;
	const struct web_route *route;
	size_t pattern;			/* metric label index */
	char remote[INET6_ADDRSTRLEN];
	char id[17];
	json_t *json;
	char *token;
	enum web_auth auth;
	char *qkey[WEB_QUERY_MAX];
	char *qval[WEB_QUERY_MAX];
	size_t nquery;
	int qerr;
	struct buf *body;		/* secret: wiped when freed or moved */
	size_t discarded;		/* bytes dropped past WEB_BODY_MAX */
	int too_large;
	int responded;
	struct timespec start;

	int dispatched;			/* its handler has been called for */

	/* Answering later; see web_defer().  Under s->later_mu. */
	int waiting;			/* an answer is owed by web_finish() */
	int parked;			/* the connection is suspended */
	int finished;			/* web_finish() has run */
	int orphan;			/* the connection closed meanwhile */
	struct web_resp *later;		/* web_finish()'s answer */
	struct web_req *work_next;	/* worker queue */
	struct web_req *park_prev, *park_next;	/* s->parked */
};

struct web_resp {
	unsigned status;
	char *body;			/* malloc'd, wiped on free */
	size_t len;
	char *ctype;
	size_t nhdr;
	char *hname[RESP_HDR_MAX];
	char *hval[RESP_HDR_MAX];
};

/* Why we closed a connection: the label index of m_closed, whose label
 * values are close_reasons[] (response.c). */
enum { CLOSE_NET, CLOSE_HEAD, CLOSE_BODY };

static inline int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Set the connection's deadline: ms from now, or none (ms < 0). */
static inline void
conn_deadline(struct conn_ctx *cc, long ms, int in_body)
{
	if (cc == NULL)
		return;
	atomic_store(&cc->in_body, in_body);
	atomic_store(&cc->deadline, ms < 0 ? 0 : mono_ms() + ms);
}

static inline double
elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static inline size_t
body_len(const struct web_req *req)
{
	return req->body == NULL ? 0 : buf_len(req->body);
}

/* tls.c: TLS material.  web__cert_callback() is libmicrohttpd's
 * HTTPS_CERT_CALLBACK; the others need tls_lock as their names say. */
void web__bundle_free(struct tls_bundle *b);
void web__bundle_unpin_locked(struct web_server *s, struct tls_bundle *b);
int web__cert_callback(gnutls_session_t session,
    const gnutls_datum_t *req_ca_dn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *key);
int web__tls_priorities_ok(const char *prio);
/* Installed on each session as the ClientHello's PRE hook: lets a server
 * name with an underscore through GnuTLS (tls.c says how). */
int web__hello_hook(gnutls_session_t session, unsigned htype, unsigned when,
    unsigned incoming, const gnutls_datum_t *msg);

/* conn.c: connections.  web__on_connection() is libmicrohttpd's
 * NOTIFY_CONNECTION callback, web__acceptor_main() the acceptor thread. */
void web__on_connection(void *cls, struct MHD_Connection *conn,
    void **socket_ctx, enum MHD_ConnectionNotificationCode toe);
void web__conns_free(struct web_server *s);
int web__parse_listen(const char *listen, struct sockaddr_storage *ss,
    int *v6, char *host, size_t hostlen);
int web__listen_open(const struct sockaddr_storage *ss, int v6);
uint16_t web__bound_port(int fd);
void *web__acceptor_main(void *arg);
void web__acceptor_stop(struct web_server *s);

/* transport.c: the socket under GnuTLS (read ahead, head with body). */
void web__transport_attach(struct conn_ctx *cc, gnutls_session_t ss);
void web__transport_flush(struct conn_ctx *cc);
void web__transport_free(struct conn_ctx *cc);

/* response.c: sending (resp is consumed) and the request metrics. */
enum MHD_Result web__send_resp(struct web_req *req, struct web_resp *resp,
    int close_conn);
enum MHD_Result web__send_error(struct web_req *req, unsigned status,
    const char *code, const char *msg, int close_conn);
int web__metrics_setup(struct web_server *s);

/* dispatch.c: where handlers run, answers given later. */
struct web_resp *web__call_handler(struct web_req *req, int *deferred);
enum MHD_Result web__park(struct web_req *req, struct web_resp *ignored);
enum MHD_Result web__hand_to_worker(struct web_req *req, struct pool *p);
void web__unpark_all(struct web_server *s);
int web__pool_start(struct pool *p, unsigned n);
void web__workers_stop(struct web_server *s);

/* request.c: decoding, and the way to the handler. */
enum MHD_Result web__dispatch(struct web_req *req);

/* server.c */
void web__req_free(struct web_req *req);

#endif
