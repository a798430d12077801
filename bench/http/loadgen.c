/*
 * loadgen: HTTPS load generator for the tesserad benchmark (bench/http,
 * driven by run.py).  Each client is one keep-alive TLS connection; the
 * clients are shared out among at most LOOPS_MAX threads, each running an
 * epoll loop over nonblocking sockets, so that the generator takes as
 * little as it can of the cores it shares with the server.  TLS is OpenSSL's,
 * 1.2 or later, with the instance's self-signed certificate as the only
 * trust anchor (--cacert) and the URL's host name or IP address checked
 * against it.
 *
 * Modes:
 *   issue    POST /v1/certs with a bearer token and an Ed25519 public key
 *            (one fresh key per client), for --duration seconds or
 *            --requests requests in all, whichever comes first;
 *   login    POST /v1/login with wrong credentials in a loop (an Argon2
 *            flood); --sources gives each client its own loopback source
 *            address, as a flood from many hosts would arrive;
 *   get      GET --path (default /healthz), measuring latency;
 *   rawsign  one thread, raw Ed25519 signatures per second with OpenSSL
 *            EVP_DigestSign over a 300-byte message (no HTTP).
 *
 * --rate R paces the clients (an open loop): client i sends its requests
 * at start + i/R + k * threads/R, each timed from when it was due, so a
 * late answer also counts against the requests queued behind it (no
 * coordinated omission).  Without it each client sends its next request
 * as soon as the last one is answered (a closed loop).
 *
 * --threads is the number of clients.  Each HTTP client first makes one
 * GET /healthz to open its connection (TLS handshake), then all clients
 * start together; only what follows is timed.  A client has one request
 * in flight at a time, timed from its start (including a new connection
 * when the server closed the last one) to the last byte of the answer.
 * A transport error (no complete HTTP answer) is counted, and the next
 * request opens a new connection; a request that fails on a reused
 * connection before any byte of the answer came is sent once more on a
 * new one, as any HTTP client does for a keep-alive connection the
 * server closed meanwhile.  Output: one JSON object on stdout with the
 * rate, latency percentiles (ms), the non-2xx count, a count per status,
 * and the stall windows (find_stalls) with the p99 outside them.  Exit 0 when the run happened (whatever the server answered), 1
 * on a local failure, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define THREADS_MAX	1024
#define LOOPS_MAX	2	/* event-loop threads, see loops_for() */
#define STATUS_MAX	600
#define LAT_MAX		(8u * 1024 * 1024)	/* samples per client */
#define MSG_LEN		300
#define REQ_MAX		2048	/* one request, head and body */
#define BODY_MAX	512
#define RBUF_SIZE	16384	/* the longest response head accepted */
#define CLEN_MAX	((uint64_t)1 << 40)
#define IO_TIMEOUT	30.0	/* seconds for one request, connecting included */
#define EVENTS_MAX	256

enum mode { M_ISSUE, M_LOGIN, M_GET, M_RAWSIGN };

struct opts {
	enum mode mode;
	const char *url;	/* https://127.0.0.1:PORT */
	const char *cacert;
	const char *token;
	const char *path;
	const char *target, *login;
	const char *sources;	/* "127.0.1": client i binds 127.0.1.(i+1) */
	unsigned threads;
	double duration;
	double rate;		/* requests per second in all; 0: closed loop */
	uint64_t requests;	/* 0: no count limit */
};

/* Where to connect and how to name it; shared read-only by the loops. */
struct target {
	char host[256];		/* without the brackets of an IPv6 literal */
	char port[6];
	char authority[300];	/* the Host header: host[:port] as given */
	const char *prefix;	/* the URL's path, put before request paths */
	int sni;		/* a name, not an address: send it in SNI */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	SSL_CTX *ctx;
	char warm[REQ_MAX];	/* GET /healthz */
	size_t warmlen;
};

/*
 * A client's states.  C_START begins a timed request (or ends the client
 * when the time or the request count is up); C_OPEN opens a connection for
 * the request at hand; C_READY is a warmed-up client waiting for the start;
 * C_PACED waits for its next request's time (--rate).
 */
enum cstate {
	C_START, C_OPEN, C_CONNECT, C_HANDSHAKE, C_WRITE, C_HEAD, C_BODY,
	C_READY, C_PACED, C_DONE
};

struct loop;

struct conn {
	struct loop *lp;
	unsigned idx;
	enum cstate st;
	int fd;
	SSL *ssl;
	int inep;		/* fd is in the loop's epoll set */
	uint32_t mask;		/* its events there */
	int warm;		/* the untimed GET /healthz is done */
	int reused;		/* this connection has answered before */
	int retried;		/* this request already went to a new one */
	int failed;		/* set-up failed: the client sits out */
	int keep;		/* the answer lets the connection live */
	struct sockaddr_in src;	/* --sources */
	const char *req;	/* the request being sent */
	size_t reqlen, woff;
	size_t rlen, scan;	/* response head bytes, and searched so far */
	uint64_t body_left;
	int status;
	double t0;
	double due, gap;	/* --rate: the next request's time, interval */
	uint64_t nlat;		/* requests timed */
	char err[200];		/* the last error, for set-up failures */
	char treq[REQ_MAX];	/* the timed request */
	size_t treqlen;
	char rbuf[RBUF_SIZE];
};

struct loop {
	pthread_t tid;
	int ep;
	const struct opts *o;
	const struct target *t;
	struct conn *c;
	unsigned n;
	unsigned active;	/* clients not yet ready, or not yet done */
	uint32_t *lat;		/* microseconds */
	uint32_t *end;		/* completion, microseconds after the start */
	size_t nlat, cap, lat_max;
	uint64_t status[STATUS_MAX];
	uint64_t other;		/* statuses outside [0, STATUS_MAX) */
	uint64_t fail;		/* transport errors (no HTTP status) */
	uint64_t closed;	/* connections closed by the server's answer */
	uint64_t retries;	/* requests sent again on a new connection */
};

static pthread_barrier_t start_line;
static atomic_uint_fast64_t started;
static double deadline, start_time;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen issue|login|get|rawsign [--url URL] [--cacert PEM]\n"
	    "           [--threads N] [--duration S] [--requests N]\n"
	    "           [--token T] [--target T] [--login L] [--path P]\n"
	    "           [--sources 127.0.1] [--rate R]\n");
	exit(2);
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "ssh-ed25519 <base64 blob> loadgen" for a fresh key. */
static int
ed25519_line(char *out, size_t outlen)
{
	EVP_PKEY *pk = NULL;
	unsigned char raw[32], blob[4 + 11 + 4 + 32], b64[80];
	size_t rawlen = sizeof(raw);
	int ok = 0, n;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 ||
	    rawlen != sizeof(raw))
		goto out;
	blob[0] = 0; blob[1] = 0; blob[2] = 0; blob[3] = 11;
	memcpy(blob + 4, "ssh-ed25519", 11);
	blob[15] = 0; blob[16] = 0; blob[17] = 0; blob[18] = 32;
	memcpy(blob + 19, raw, 32);
	if (EVP_EncodeBlock(b64, blob, (int)sizeof(blob)) <= 0)
		goto out;
	n = snprintf(out, outlen, "ssh-ed25519 %s loadgen", (char *)b64);
	ok = n > 0 && (size_t)n < outlen;
 out:
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

/* Text for a header line: no CR, LF or other control bytes. */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * https://HOST[:PORT][/PATH], HOST a name, an IPv4 address or a bracketed
 * IPv6 address; PATH goes before every request path, as it would have with
 * URL concatenation.
 */
static int
url_parse(const char *url, struct target *t)
{
	const char *a, *h, *he, *p;
	uint64_t port;
	size_t dl;

	if (strncmp(url, "https://", 8) != 0 || !header_safe(url))
		return -1;
	a = p = url + 8;
	if (*p == '[') {
		h = p + 1;
		if ((he = strchr(h, ']')) == NULL)
			return -1;
		p = he + 1;
	} else {
		h = p;
		p += strcspn(p, ":/?#@");
		he = p;
	}
	if (he == h || (size_t)(he - h) >= sizeof(t->host))
		return -1;
	memcpy(t->host, h, (size_t)(he - h));
	t->host[he - h] = '\0';
	memcpy(t->port, "443", 4);
	if (*p == ':') {
		p++;
		dl = strspn(p, "0123456789");
		if (dl == 0 || dl >= sizeof(t->port))
			return -1;
		memcpy(t->port, p, dl);
		t->port[dl] = '\0';
		if (parse_u64(t->port, 1, 65535, &port) != 0)
			return -1;
		p += dl;
	}
	if (*p != '\0' && *p != '/')
		return -1;
	if ((size_t)(p - a) >= sizeof(t->authority))
		return -1;
	memcpy(t->authority, a, (size_t)(p - a));
	t->authority[p - a] = '\0';
	t->prefix = p;
	return 0;
}

/* Resolve the target and make the one TLS context all clients share. */
static int
target_setup(const struct opts *o, struct target *t)
{
	struct addrinfo hints, *ai = NULL;
	unsigned char ip[16];
	X509_VERIFY_PARAM *vp;
	int n, r = -1, e;

	if (url_parse(o->url, t) != 0) {
		fprintf(stderr, "loadgen: bad --url %s\n", o->url);
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(t->host, t->port, &hints, &ai)) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", t->host, gai_strerror(e));
		goto out;
	}
	if (ai->ai_addrlen > sizeof(t->addr))
		goto out;
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	t->addrlen = ai->ai_addrlen;
	t->sni = inet_pton(AF_INET, t->host, ip) != 1 &&
	    inet_pton(AF_INET6, t->host, ip) != 1;

	n = snprintf(t->warm, sizeof(t->warm),
	    "GET %s/healthz HTTP/1.1\r\nHost: %s\r\n\r\n", t->prefix,
	    t->authority);
	if (n < 0 || (size_t)n >= sizeof(t->warm))
		goto out;
	t->warmlen = (size_t)n;

	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_file(t->ctx, o->cacert) != 1) {
		fprintf(stderr, "loadgen: TLS set-up with %s failed: %s\n",
		    o->cacert, ERR_reason_error_string(ERR_peek_last_error()));
		goto out;
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * Read ahead: one read(2) takes a whole record or more instead of a
	 * header then a body; SSL_has_pending() then says when data waits.
	 */
	SSL_CTX_set_read_ahead(t->ctx, 1);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	vp = SSL_CTX_get0_param(t->ctx);
	if (t->sni ? X509_VERIFY_PARAM_set1_host(vp, t->host, 0) != 1 :
	    X509_VERIFY_PARAM_set1_ip_asc(vp, t->host) != 1)
		goto out;
	r = 0;
 out:
	if (ai != NULL)
		freeaddrinfo(ai);
	ERR_clear_error();
	return r;
}

/* The client's own request (and key): untimed, before it connects. */
static int
conn_prepare(struct conn *c, const struct opts *o, const struct target *t)
{
	char body[BODY_MAX], key[200], addr[64];
	const char *path;
	int n;

	if (o->sources != NULL) {
		n = snprintf(addr, sizeof(addr), "%s.%u", o->sources,
		    c->idx % 250 + 1);
		if (n < 0 || (size_t)n >= sizeof(addr))
			return -1;
		memset(&c->src, 0, sizeof(c->src));
		c->src.sin_family = AF_INET;
		if (inet_pton(AF_INET, addr, &c->src.sin_addr) != 1) {
			snprintf(c->err, sizeof(c->err), "bad source %s", addr);
			return -1;
		}
	}
	switch (o->mode) {
	case M_ISSUE:
		path = "/v1/certs";
		if (ed25519_line(key, sizeof(key)) != 0)
			return -1;
		if (o->target != NULL)
			n = snprintf(body, sizeof(body),
			    "{\"public_key\":\"%s\",\"target\":\"%s\","
			    "\"login\":\"%s\",\"ttl\":900}", key, o->target,
			    o->login != NULL ? o->login : "");
		else
			n = snprintf(body, sizeof(body),
			    "{\"public_key\":\"%s\",\"ttl\":900}", key);
		break;
	case M_LOGIN:
		path = "/v1/login";
		n = snprintf(body, sizeof(body),
		    "{\"username\":\"flood%u\",\"password\":"
		    "\"not the password %u\",\"code\":\"000000\"}",
		    c->idx, c->idx);
		break;
	default:
		path = o->path;
		n = 0;
		body[0] = '\0';
		break;
	}
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	if (o->mode == M_GET)
		n = snprintf(c->treq, sizeof(c->treq),
		    "GET %s%s HTTP/1.1\r\nHost: %s\r\n\r\n", t->prefix, path,
		    t->authority);
	else
		n = snprintf(c->treq, sizeof(c->treq),
		    "POST %s%s HTTP/1.1\r\nHost: %s\r\n%s%s%s"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", t->prefix, path,
		    t->authority, o->mode == M_ISSUE ?
		    "Authorization: Bearer " : "",
		    o->mode == M_ISSUE ? o->token : "",
		    o->mode == M_ISSUE ? "\r\n" : "", strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(c->treq)) {
		snprintf(c->err, sizeof(c->err), "request too long");
		return -1;
	}
	c->treqlen = (size_t)n;
	return 0;
}

/* Register (or change) the events c waits for. */
static int
conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event ev;

	if (c->inep && c->mask == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(c->lp->ep, c->inep ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &ev) != 0) {
		snprintf(c->err, sizeof(c->err), "epoll_ctl: %s",
		    strerror(errno));
		return -1;
	}
	c->inep = 1;
	c->mask = events;
	return 0;
}

/* Take c out of the epoll set: it waits for nothing until it is woken. */
static void
conn_park(struct conn *c)
{
	if (c->inep)
		(void)epoll_ctl(c->lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->inep = 0;
	c->mask = 0;
}

static void
conn_close(struct conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);	/* leaves the epoll set as well */
	c->fd = -1;
	c->inep = 0;
	c->mask = 0;
	c->reused = 0;
}

/*
 * The SNI name.  SSL_set_tlsext_host_name() is a macro that casts the name
 * to void * for SSL_ctrl(), which only copies it; the target is shared and
 * const, so the const is dropped here, by a union rather than the macro's
 * cast (which clang's -Wcast-qual reports).
 */
static int
sni_set(SSL *ssl, const char *name)
{
	union { const char *c; char *m; } u = { .c = name };

	return SSL_set_tlsext_host_name(ssl, u.m);
}

/* Start a connection for the request at hand: C_CONNECT or C_HANDSHAKE. */
static int
conn_open(struct conn *c)
{
	const struct target *t = c->lp->t;
	int one = 1;

	c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "socket: %s",
		    strerror(errno));
		return -1;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->lp->o->sources != NULL && bind(c->fd,
	    (const struct sockaddr *)&c->src, sizeof(c->src)) != 0) {
		snprintf(c->err, sizeof(c->err), "bind: %s", strerror(errno));
		return -1;
	}
	if ((c->ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    (t->sni && sni_set(c->ssl, t->host) != 1)) {
		snprintf(c->err, sizeof(c->err), "SSL_new failed");
		ERR_clear_error();
		return -1;
	}
	SSL_set_connect_state(c->ssl);
	if (connect(c->fd, (const struct sockaddr *)&t->addr,
	    t->addrlen) == 0) {
		c->st = C_HANDSHAKE;
		return 0;
	}
	if (errno != EINPROGRESS) {
		snprintf(c->err, sizeof(c->err), "connect: %s",
		    strerror(errno));
		return -1;
	}
	c->st = C_CONNECT;
	return conn_want(c, EPOLLOUT);
}

/*
 * After an SSL call returned r <= 0: wait for what it wants (0) or note
 * why the connection is lost (-1).  The error queue is left empty, as the
 * next SSL_get_error() needs it.
 */
static int
conn_ssl_wait(struct conn *c, int r)
{
	int saved = errno, e = SSL_get_error(c->ssl, r);
	long v;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return conn_want(c, EPOLLIN);
	case SSL_ERROR_WANT_WRITE:
		return conn_want(c, EPOLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		snprintf(c->err, sizeof(c->err), "connection closed by peer");
		break;
	case SSL_ERROR_SYSCALL:
		snprintf(c->err, sizeof(c->err), "%s", saved != 0 ?
		    strerror(saved) : "connection closed by peer");
		break;
	default:
		if ((v = SSL_get_verify_result(c->ssl)) != X509_V_OK)
			snprintf(c->err, sizeof(c->err), "TLS: %s",
			    X509_verify_cert_error_string(v));
		else
			snprintf(c->err, sizeof(c->err), "TLS: %s",
			    ERR_reason_error_string(ERR_peek_last_error()));
		break;
	}
	ERR_clear_error();
	return -1;
}

static uint32_t
to_us(double seconds)
{
	double us = seconds * 1e6;

	return us > 4e9 ? UINT32_MAX : us < 0 ? 0 : (uint32_t)us;
}

/* One sample: latency t1 - t0, completed at t1. */
static int
lat_push(struct loop *lp, double t0, double t1)
{
	uint32_t *p;

	if (lp->nlat == lp->cap) {
		size_t ncap = lp->cap ? lp->cap * 2 : 4096;

		if (ncap > lp->lat_max ||
		    (p = realloc(lp->lat, ncap * sizeof(*p))) == NULL)
			return -1;
		lp->lat = p;
		if ((p = realloc(lp->end, ncap * sizeof(*p))) == NULL)
			return -1;
		lp->end = p;
		lp->cap = ncap;
	}
	lp->lat[lp->nlat] = to_us(t1 - t0);
	lp->end[lp->nlat++] = to_us(t1 - start_time);
	return 0;
}

/* The client stops for good: set-up failed, or no room for samples. */
static void
conn_give_up(struct conn *c)
{
	conn_close(c);
	c->failed = 1;
	c->st = C_DONE;
	c->lp->active--;
}

/* Record one finished timed request (code < 0: transport error). */
static void
conn_record(struct conn *c, int code)
{
	struct loop *lp = c->lp;

	if (lat_push(lp, c->t0, mono()) != 0) {
		snprintf(c->err, sizeof(c->err), "no room for more samples");
		conn_give_up(c);
		return;
	}
	c->nlat++;
	if (code < 0)
		lp->fail++;
	else if (code < STATUS_MAX)
		lp->status[code]++;
	else
		lp->other++;
	c->st = C_START;
}

/* The connection is lost (c->err says why). */
static void
conn_error(struct conn *c)
{
	int retry = c->reused && !c->retried &&
	    (c->st == C_WRITE || (c->st == C_HEAD && c->rlen == 0));

	conn_close(c);
	if (retry) {
		c->retried = 1;
		c->lp->retries++;
		c->st = C_OPEN;
	} else if (!c->warm)
		conn_give_up(c);
	else
		conn_record(c, -1);
}

/* A whole answer came: the warm-up's, or a timed one. */
static void
conn_answer(struct conn *c)
{
	c->reused = c->keep;
	if (!c->keep) {
		conn_close(c);
		if (c->warm)
			c->lp->closed++;
	}
	if (c->warm) {
		conn_record(c, c->status);
		return;
	}
	if (c->status != 200) {
		snprintf(c->err, sizeof(c->err), "GET /healthz: status %d",
		    c->status);
		conn_give_up(c);
		return;
	}
	c->warm = 1;
	c->st = C_READY;
	if (c->fd >= 0)
		conn_park(c);
	c->lp->active--;
}

static int
token_eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/*
 * Parse the head in rbuf[0, len) (it ends with the empty line): status,
 * Content-Length, Connection.  Sets c->status, c->keep, *clen.
 */
static int
parse_head(struct conn *c, size_t len, uint64_t *clen)
{
	const char *b = c->rbuf, *line, *eol, *colon, *v, *ve, *tok, *te, *s;
	size_t i, sl;
	uint64_t cl = 0, d;
	int have_cl = 0, minor;

	if (len < 15 || memcmp(b, "HTTP/1.", 7) != 0 ||
	    (b[7] != '0' && b[7] != '1') || b[8] != ' ' ||
	    b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' ||
	    b[11] < '0' || b[11] > '9' || (b[12] != ' ' && b[12] != '\r'))
		goto bad;
	minor = b[7] - '0';
	c->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	c->keep = minor == 1;
	if ((eol = memchr(b, '\n', len)) == NULL || eol[-1] != '\r')
		goto bad;
	for (line = eol + 1; line < b + len; line = eol + 1) {
		if ((eol = memchr(line, '\n', (size_t)(b + len - line))) ==
		    NULL || eol == line || eol[-1] != '\r')
			goto bad;
		if (eol - line == 1)
			break;		/* the empty line */
		if ((colon = memchr(line, ':', (size_t)(eol - line))) ==
		    NULL || colon == line || *line == ' ' || *line == '\t')
			goto bad;
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (ve = eol - 1; ve > v && (ve[-1] == ' ' ||
		    ve[-1] == '\t'); ve--)
			;
		if (token_eq(line, (size_t)(colon - line), "content-length")) {
			if (ve == v || ve - v > 13)
				goto bad;
			for (d = 0, i = 0; i < (size_t)(ve - v); i++) {
				if (v[i] < '0' || v[i] > '9')
					goto bad;
				d = d * 10 + (uint64_t)(v[i] - '0');
			}
			if (d > CLEN_MAX || (have_cl && d != cl))
				goto bad;
			cl = d;
			have_cl = 1;
		} else if (token_eq(line, (size_t)(colon - line),
		    "transfer-encoding")) {
			goto bad;	/* only Content-Length bodies */
		} else if (token_eq(line, (size_t)(colon - line),
		    "connection")) {
			/* A list of tokens: "close", "keep-alive", ... */
			for (tok = v; tok < ve; tok = te + 1) {
				if ((te = memchr(tok, ',', (size_t)(ve - tok)))
				    == NULL)
					te = ve;
				for (s = tok; s < te && (*s == ' ' ||
				    *s == '\t'); s++)
					;
				for (sl = (size_t)(te - s); sl > 0 &&
				    (s[sl - 1] == ' ' || s[sl - 1] == '\t');
				    sl--)
					;
				if (token_eq(s, sl, "close"))
					c->keep = 0;
				else if (token_eq(s, sl, "keep-alive") &&
				    minor == 0)
					c->keep = 1;
			}
		}
	}
	if (c->status == 204 || c->status == 304)
		cl = 0;
	else if (c->status < 200 || !have_cl)
		goto bad;
	*clen = cl;
	return 0;
 bad:
	snprintf(c->err, sizeof(c->err), "malformed response head");
	return -1;
}

/* Run c's state machine until it has to wait, or is done. */
static void
conn_step(struct conn *c)
{
	const struct opts *o = c->lp->o;
	uint64_t clen;
	size_t i, hlen, avail;
	double now;
	int r, e;
	socklen_t el;

	for (;;) {
		switch (c->st) {
		case C_START:
			now = mono();
			if (now >= deadline ||
			    (o->rate > 0 && c->due >= deadline) ||
			    (o->requests != 0 &&
			    atomic_fetch_add(&started, 1) >= o->requests)) {
				c->st = C_DONE;
				if (c->fd >= 0)
					conn_park(c);
				c->lp->active--;
				return;
			}
			if (o->rate > 0) {
				if (now < c->due) {
					c->st = C_PACED;
					if (c->fd >= 0)
						conn_park(c);
					return;
				}
				now = c->due;	/* timed from when it was due */
				c->due += c->gap;
			}
			c->t0 = now;
			c->req = c->treq;
			c->reqlen = c->treqlen;
			c->retried = 0;
			c->woff = 0;
			c->st = c->fd >= 0 ? C_WRITE : C_OPEN;
			break;
		case C_OPEN:
			c->woff = 0;
			if (conn_open(c) != 0)
				conn_error(c);
			break;
		case C_CONNECT:
			e = 0;
			el = sizeof(e);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e,
			    &el) != 0)
				e = errno;
			if (e != 0) {
				snprintf(c->err, sizeof(c->err),
				    "connect: %s", strerror(e));
				conn_error(c);
				break;
			}
			c->st = C_HANDSHAKE;
			break;
		case C_HANDSHAKE:
			if ((r = SSL_connect(c->ssl)) == 1) {
				c->st = C_WRITE;
				break;
			}
			if (conn_ssl_wait(c, r) == 0)
				return;
			conn_error(c);
			break;
		case C_WRITE:
			r = SSL_write(c->ssl, c->req + c->woff,
			    (int)(c->reqlen - c->woff));
			if (r <= 0) {
				if (conn_ssl_wait(c, r) == 0)
					return;
				conn_error(c);
				break;
			}
			c->woff += (size_t)r;
			if (c->woff < c->reqlen)
				break;
			c->st = C_HEAD;
			c->rlen = 0;
			c->scan = 0;
			/*
			 * The answer is not there yet unless the TLS layer
			 * already holds it: wait rather than read(2) in vain.
			 */
			if (!SSL_has_pending(c->ssl)) {
				if (conn_want(c, EPOLLIN) != 0)
					conn_error(c);
				else
					return;
			}
			break;
		case C_HEAD:
			r = SSL_read(c->ssl, c->rbuf + c->rlen,
			    (int)(sizeof(c->rbuf) - c->rlen));
			if (r <= 0) {
				if (conn_ssl_wait(c, r) == 0)
					return;
				conn_error(c);
				break;
			}
			c->rlen += (size_t)r;
			for (i = c->scan, hlen = 0; i + 4 <= c->rlen; i++)
				if (memcmp(c->rbuf + i, "\r\n\r\n", 4) == 0) {
					hlen = i + 4;
					break;
				}
			if (hlen == 0) {
				c->scan = c->rlen > 3 ? c->rlen - 3 : 0;
				if (c->rlen == sizeof(c->rbuf)) {
					snprintf(c->err, sizeof(c->err),
					    "response head too long");
					conn_error(c);
					break;
				}
				goto more;
			}
			if (parse_head(c, hlen, &clen) != 0) {
				conn_error(c);
				break;
			}
			avail = c->rlen - hlen;
			if (avail > clen) {
				snprintf(c->err, sizeof(c->err),
				    "response longer than Content-Length");
				conn_error(c);
				break;
			}
			c->body_left = clen - avail;
			if (c->body_left == 0) {
				conn_answer(c);
				break;
			}
			c->st = C_BODY;
			goto more;
		case C_BODY:
			avail = sizeof(c->rbuf) < c->body_left ?
			    sizeof(c->rbuf) : (size_t)c->body_left;
			r = SSL_read(c->ssl, c->rbuf, (int)avail);
			if (r <= 0) {
				if (conn_ssl_wait(c, r) == 0)
					return;
				conn_error(c);
				break;
			}
			c->body_left -= (uint64_t)r;
			if (c->body_left == 0) {
				conn_answer(c);
				break;
			}
			goto more;
		case C_READY:
		case C_PACED:		/* loop_pace() starts it */
		case C_DONE:
			return;
		}
		continue;
 more:
		/* Part of an answer: read again only if TLS holds more. */
		if (SSL_has_pending(c->ssl))
			continue;
		if (conn_want(c, EPOLLIN) == 0)
			return;
		conn_error(c);
	}
}

/* Requests (connecting included) running past IO_TIMEOUT fail. */
static void
loop_sweep(struct loop *lp, double now)
{
	struct conn *c;
	unsigned i;

	for (i = 0; i < lp->n; i++) {
		c = &lp->c[i];
		if (c->st < C_OPEN || c->st > C_BODY ||
		    now - c->t0 < IO_TIMEOUT)
			continue;
		snprintf(c->err, sizeof(c->err), "timed out");
		c->retried = 1;		/* no second chance */
		conn_error(c);
		conn_step(c);
	}
}

/*
 * Start the paced clients whose time has come; returns the seconds until
 * the next one's (at most 1).
 */
static double
loop_pace(struct loop *lp)
{
	struct conn *c;
	double now = mono(), wait = 1.0;
	unsigned i;

	for (i = 0; i < lp->n; i++) {
		c = &lp->c[i];
		if (c->st != C_PACED)
			continue;
		if (c->due <= now) {
			c->st = C_START;
			conn_step(c);
		} else if (c->due - now < wait)
			wait = c->due - now;
	}
	return wait;
}

/* Serve events until every client of the phase is ready or done. */
static void
loop_serve(struct loop *lp)
{
	struct epoll_event ev[EVENTS_MAX];
	struct conn *c;
	struct timespec ts;
	double now, swept = mono(), wait = 1.0;
	int i, n;

	while (lp->active > 0) {
		if (lp->o->rate > 0)
			wait = loop_pace(lp);
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		n = epoll_pwait2(lp->ep, ev, EVENTS_MAX, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "loadgen: epoll_wait: %s\n",
			    strerror(errno));
			for (i = 0; (unsigned)i < lp->n; i++)
				if (lp->c[i].st != C_READY &&
				    lp->c[i].st != C_DONE)
					conn_give_up(&lp->c[i]);
			return;
		}
		for (i = 0; i < n; i++) {
			c = ev[i].data.ptr;
			conn_step(c);
		}
		if ((now = mono()) - swept >= 1.0) {
			swept = now;
			loop_sweep(lp, now);
		}
	}
}

static void *
loop_run(void *arg)
{
	struct loop *lp = arg;
	struct conn *c;
	unsigned i;

	/* Set-up: keys and requests, connections, the warm-up GETs. */
	lp->active = lp->n;
	for (i = 0; i < lp->n; i++) {
		c = &lp->c[i];
		c->t0 = mono();
		if (conn_prepare(c, lp->o, lp->t) != 0) {
			if (c->err[0] == '\0')
				snprintf(c->err, sizeof(c->err),
				    "cannot prepare the request");
			conn_give_up(c);
			continue;
		}
		c->req = lp->t->warm;
		c->reqlen = lp->t->warmlen;
		c->st = C_OPEN;
		conn_step(c);
	}
	loop_serve(lp);

	pthread_barrier_wait(&start_line);	/* all connected */
	pthread_barrier_wait(&start_line);	/* deadline set */
	for (i = 0; i < lp->n; i++)
		if (!lp->c[i].failed)
			lp->active++;
	for (i = 0; i < lp->n; i++) {
		c = &lp->c[i];
		if (c->failed)
			continue;
		if (lp->o->rate > 0) {
			c->gap = lp->o->threads / lp->o->rate;
			c->due = start_time + c->idx / lp->o->rate;
		}
		c->st = C_START;
		conn_step(c);
	}
	loop_serve(lp);
	return NULL;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0.0;
	/* Nearest rank. */
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1000.0;
}

#define WIN_US	50000		/* stall windows are 50 ms */

struct stalls {
	size_t windows, slow;	/* 50 ms windows, and those under half */
	double overlap_share;	/* share of requests in flight in one */
	double p99_outside_ms;	/* p99 of the others */
};

/*
 * Stall windows: 50 ms windows in which fewer requests completed than half
 * the median window (the first and the last left out of the median).  In
 * a closed loop the p99 lands in them whenever the machine slows down;
 * the p99 of the requests whose time in flight overlaps none of them says
 * what the rest saw.  lat and end are per request, unsorted.
 */
static int
find_stalls(const uint32_t *lat, const uint32_t *end, size_t n,
    double elapsed, struct stalls *st)
{
	size_t nw, w, i, k, ws, we, nclean = 0, *cnt = NULL, *mid = NULL;
	size_t *ps = NULL;
	uint32_t *clean = NULL, med;
	int r = -1;

	memset(st, 0, sizeof(*st));
	nw = (size_t)(elapsed * 1e6 / WIN_US);
	if (nw < 3 || n == 0)
		return 0;
	if ((cnt = calloc(nw, sizeof(*cnt))) == NULL ||
	    (mid = calloc(nw, sizeof(*mid))) == NULL ||
	    (ps = calloc(nw + 1, sizeof(*ps))) == NULL ||
	    (clean = malloc(n * sizeof(*clean))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((w = end[i] / WIN_US) < nw)
			cnt[w]++;
	for (w = 1; w + 1 < nw; w++)
		mid[w - 1] = cnt[w];
	qsort(mid, nw - 2, sizeof(*mid), cmp_size);
	med = (uint32_t)mid[(nw - 2) / 2];
	for (w = 0; w < nw; w++) {
		k = 2 * cnt[w] < med;
		st->slow += k;
		ps[w + 1] = ps[w] + k;
	}
	for (i = 0; i < n; i++) {
		ws = (end[i] - (lat[i] < end[i] ? lat[i] : end[i])) / WIN_US;
		we = end[i] / WIN_US;
		if (ws >= nw)
			ws = nw - 1;
		if (we >= nw)
			we = nw - 1;
		if (ps[we + 1] == ps[ws])
			clean[nclean++] = lat[i];
	}
	qsort(clean, nclean, sizeof(*clean), cmp_u32);
	st->windows = nw;
	st->overlap_share = (double)(n - nclean) / (double)n;
	st->p99_outside_ms = pct_ms(clean, nclean, 99);
	r = 0;
 out:
	free(cnt);
	free(mid);
	free(ps);
	free(clean);
	return r;
}

static const char *
mode_name(enum mode m)
{
	return m == M_ISSUE ? "issue" : m == M_LOGIN ? "login" :
	    m == M_GET ? "get" : "rawsign";
}

/*
 * Event-loop threads for n clients.  One and two cost the same CPU per
 * request (about 23 us on the 2-core bench machine); two keep up better
 * when the server answers fast (/healthz) and share the server's answers
 * out more evenly among the clients.
 */
static unsigned
loops_for(unsigned n)
{
	return n < LOOPS_MAX ? n : LOOPS_MAX;
}

static int
run_http(const struct opts *o)
{
	struct target t;
	struct conn *c = NULL;
	struct loop *lp = NULL;
	uint64_t status[STATUS_MAX], total = 0, ok2xx = 0, non2xx, fail = 0;
	uint64_t other = 0, closed = 0, retries = 0;
	uint32_t *all = NULL, *ends = NULL;
	struct stalls st;
	size_t i, k, n = 0, off = 0;
	unsigned nloops = loops_for(o->threads), setup_failed = 0, j;
	size_t tmin = SIZE_MAX, tmax = 0;
	double t0, elapsed;
	int first, rc = 1, barrier = 0;

	memset(status, 0, sizeof(status));
	memset(&t, 0, sizeof(t));
	/* A write to a connection the server closed is an error, not a kill. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto out;
	if (target_setup(o, &t) != 0)
		goto out;
	if ((c = calloc(o->threads, sizeof(*c))) == NULL ||
	    (lp = calloc(nloops, sizeof(*lp))) == NULL)
		goto out;
	for (i = 0; i < o->threads; i++)
		c[i].fd = -1;
	for (j = 0; j < nloops; j++)
		lp[j].ep = -1;
	for (j = 0; j < nloops; j++) {
		size_t lo = (size_t)o->threads * j / nloops;
		size_t hi = (size_t)o->threads * (j + 1) / nloops;

		lp[j].o = o;
		lp[j].t = &t;
		lp[j].c = c + lo;
		lp[j].n = (unsigned)(hi - lo);
		lp[j].lat_max = (size_t)LAT_MAX * lp[j].n;
		if ((lp[j].ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
			fprintf(stderr, "loadgen: epoll_create1: %s\n",
			    strerror(errno));
			goto out;
		}
		for (i = lo; i < hi; i++) {
			c[i].lp = &lp[j];
			c[i].idx = (unsigned)i;
		}
	}
	if (pthread_barrier_init(&start_line, NULL, nloops + 1) != 0)
		goto out;
	barrier = 1;
	deadline = 1e300;
	for (j = 0; j < nloops; j++) {
		if (pthread_create(&lp[j].tid, NULL, loop_run, &lp[j]) != 0) {
			fprintf(stderr, "loadgen: cannot start threads\n");
			exit(1);	/* the barrier would never open */
		}
	}
	/* Every client has its connection: start the clock, then them. */
	pthread_barrier_wait(&start_line);
	t0 = start_time = mono();
	deadline = t0 + o->duration;
	pthread_barrier_wait(&start_line);
	for (j = 0; j < nloops; j++)
		pthread_join(lp[j].tid, NULL);
	elapsed = mono() - t0;

	for (i = 0; i < o->threads; i++) {
		if (c[i].failed) {
			if (setup_failed++ == 0)
				fprintf(stderr, "loadgen: client %zu: set-up "
				    "failed: %s\n", i, c[i].err);
		} else {
			tmin = c[i].nlat < tmin ? c[i].nlat : tmin;
			tmax = c[i].nlat > tmax ? c[i].nlat : tmax;
		}
	}
	for (j = 0; j < nloops; j++) {
		n += lp[j].nlat;
		fail += lp[j].fail;
		other += lp[j].other;
		closed += lp[j].closed;
		retries += lp[j].retries;
		for (k = 0; k < STATUS_MAX; k++)
			status[k] += lp[j].status[k];
	}
	if (closed != 0 || retries != 0)
		fprintf(stderr, "loadgen: %" PRIu64 " connections closed by "
		    "the server, %" PRIu64 " requests sent again on a new "
		    "connection\n", closed, retries);
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL ||
	    (ends = malloc((n ? n : 1) * sizeof(*ends))) == NULL)
		goto out;
	for (j = 0; j < nloops; j++) {
		if (lp[j].nlat > 0) {
			memcpy(all + off, lp[j].lat,
			    lp[j].nlat * sizeof(*all));
			memcpy(ends + off, lp[j].end,
			    lp[j].nlat * sizeof(*ends));
		}
		off += lp[j].nlat;
	}
	if (find_stalls(all, ends, n, elapsed, &st) != 0)
		goto out;
	qsort(all, n, sizeof(*all), cmp_u32);
	for (k = 0; k < STATUS_MAX; k++) {
		total += status[k];
		if (k >= 200 && k < 300)
			ok2xx += status[k];
	}
	total += other;
	non2xx = total - ok2xx;

	printf("{\"mode\":\"%s\",\"threads\":%u,\"rate_offered\":%.0f,"
	    "\"setup_failed\":%u,"
	    "\"elapsed_s\":%.3f,\"requests\":%zu,\"ok\":%" PRIu64 ","
	    "\"non2xx\":%" PRIu64 ",\"transport_errors\":%" PRIu64 ","
	    "\"rate\":%.1f,\"ok_rate\":%.1f,"
	    "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"p999_ms\":%.3f,\"max_ms\":%.3f,"
	    "\"stall_windows\":%zu,\"windows\":%zu,"
	    "\"stall_overlap_share\":%.4f,\"p99_outside_stalls_ms\":%.3f,"
	    "\"per_thread_min\":%zu,\"per_thread_max\":%zu,\"status\":{",
	    mode_name(o->mode), o->threads, o->rate, setup_failed, elapsed, n,
	    ok2xx, non2xx, fail, elapsed > 0 ? (double)n / elapsed : 0.0,
	    elapsed > 0 ? (double)ok2xx / elapsed : 0.0,
	    pct_ms(all, n, 50), pct_ms(all, n, 90), pct_ms(all, n, 99),
	    pct_ms(all, n, 99.9), n ? (double)all[n - 1] / 1000.0 : 0.0,
	    st.slow, st.windows, st.overlap_share, st.p99_outside_ms,
	    tmin == SIZE_MAX ? 0 : tmin, tmax);
	for (k = 0, first = 1; k < STATUS_MAX; k++) {
		if (status[k] == 0)
			continue;
		printf("%s\"%zu\":%" PRIu64, first ? "" : ",", k, status[k]);
		first = 0;
	}
	if (other != 0)
		printf("%s\"other\":%" PRIu64, first ? "" : ",", other);
	printf("}}\n");
	rc = setup_failed == o->threads ? 1 : 0;
 out:
	if (c != NULL) {
		for (i = 0; i < o->threads; i++) {
			/* Say goodbye on healthy connections; never wait. */
			if (c[i].ssl != NULL && (c[i].st == C_DONE ||
			    c[i].st == C_READY))
				(void)SSL_shutdown(c[i].ssl);
			conn_close(&c[i]);
		}
	}
	if (lp != NULL) {
		for (j = 0; j < nloops; j++) {
			if (lp[j].ep >= 0)
				close(lp[j].ep);
			free(lp[j].lat);
			free(lp[j].end);
		}
	}
	if (barrier)
		pthread_barrier_destroy(&start_line);
	free(c);
	free(lp);
	free(all);
	free(ends);
	SSL_CTX_free(t.ctx);
	ERR_clear_error();
	return rc;
}

/*
 * Ed25519 signatures over a 300-byte message (an OpenSSH certificate's
 * to-be-signed part is about that size), one thread, one key: the cheapest
 * EVP path, as bench/ssh measures it and sshca/cakey.c signs (one
 * reused EVP_MD_CTX, EVP_DigestSignInit + EVP_DigestSign per signature).
 * rate is per wall second, rate_cpu per second of this thread's CPU time
 * (what one whole core would do).
 */
static int
run_rawsign(const struct opts *o)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char msg[MSG_LEN], sig[64];
	size_t siglen;
	uint64_t n = 0;
	double t0, c0, wall, cpu;
	unsigned i;
	int rc = 1;

	memset(msg, 0x5a, sizeof(msg));
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	t0 = mono();
	c0 = cpu_now();
	do {
		for (i = 0; i < 256; i++) {
			msg[i % MSG_LEN] ^= (unsigned char)i;
			siglen = sizeof(sig);
			if (EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
			    EVP_DigestSign(md, sig, &siglen, msg,
			    sizeof(msg)) != 1)
				goto out;
			n++;
		}
	} while (mono() - t0 < o->duration &&
	    (o->requests == 0 || n < o->requests));
	wall = mono() - t0;
	cpu = cpu_now() - c0;
	printf("{\"mode\":\"rawsign\",\"message_bytes\":%d,\"signatures\":%"
	    PRIu64 ",\"elapsed_s\":%.3f,\"cpu_s\":%.3f,\"rate\":%.1f,"
	    "\"rate_cpu\":%.1f}\n", MSG_LEN, n, wall, cpu,
	    (double)n / wall, cpu > 0 ? (double)n / cpu : 0.0);
	rc = 0;
 out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	uint64_t v;
	int i;

	memset(&o, 0, sizeof(o));
	o.url = "https://127.0.0.1:8443";
	o.path = "/healthz";
	o.duration = 10;
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "issue") == 0)
		o.mode = M_ISSUE, o.threads = 64;
	else if (strcmp(argv[1], "login") == 0)
		o.mode = M_LOGIN, o.threads = 64;
	else if (strcmp(argv[1], "get") == 0)
		o.mode = M_GET, o.threads = 4;
	else if (strcmp(argv[1], "rawsign") == 0)
		o.mode = M_RAWSIGN, o.threads = 1;
	else
		usage();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			o.url = val;
		else if (strcmp(a, "--cacert") == 0)
			o.cacert = val;
		else if (strcmp(a, "--token") == 0)
			o.token = val;
		else if (strcmp(a, "--target") == 0)
			o.target = val;
		else if (strcmp(a, "--login") == 0)
			o.login = val;
		else if (strcmp(a, "--path") == 0)
			o.path = val;
		else if (strcmp(a, "--sources") == 0)
			o.sources = val;
		else if (strcmp(a, "--threads") == 0) {
			if (parse_u64(val, 1, THREADS_MAX, &v) != 0)
				usage();
			o.threads = (unsigned)v;
		} else if (strcmp(a, "--duration") == 0) {
			if (parse_u64(val, 1, 3600, &v) != 0)
				usage();
			o.duration = (double)v;
		} else if (strcmp(a, "--rate") == 0) {
			if (parse_u64(val, 1, 10000000, &v) != 0)
				usage();
			o.rate = (double)v;
		} else if (strcmp(a, "--requests") == 0) {
			if (parse_u64(val, 1, UINT64_MAX / 2, &v) != 0)
				usage();
			o.requests = v;
		} else
			usage();
	}
	if (o.mode == M_RAWSIGN)
		return run_rawsign(&o);
	if (o.cacert == NULL || (o.mode == M_ISSUE && o.token == NULL) ||
	    (o.token != NULL && !header_safe(o.token)) || !header_safe(o.path))
		usage();
	return run_http(&o);
}
