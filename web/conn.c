/*
 * Connections (see server.c): a record per accepted socket, the
 * per-network limit, the head and body deadlines, the bounded drain of
 * sockets closed before their body was read; the listening socket, and
 * the acceptor thread that accepts and runs the deadline and drain passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "web/internal.h"

#define TICK_MS		200	/* acceptor: deadline and drain pass */

/* ------------------------------------------------------------------ */
/* Connection records, per-network limits, deadlines, draining */

/*
 * The network of an address: IPv4 /24, IPv6 /64, an IPv4-mapped IPv6
 * address as its IPv4 /24.  0, or -1 for another family.
 */
static int
net_key(const struct sockaddr *sa, uint8_t key[9])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t *a;

	memset(key, 0, 9);
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
		key[0] = 4;
		memcpy(key + 1, a, 3);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		key[0] = 4;
		memcpy(key + 1, a + 12, 3);
	} else {
		key[0] = 6;
		memcpy(key + 1, a, 8);
	}
	return 0;
}

static size_t
net_bucket(const uint8_t key[9])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 9; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % NET_BUCKETS;
}

/* Count one more connection from key's network; NULL when it is full (or
 * out of memory: refusing is the safe side).  conn_mu held. */
static struct net *
net_take_locked(struct web_server *s, const uint8_t key[9])
{
	size_t b = net_bucket(key);
	struct net *n;

	for (n = s->nets[b]; n != NULL; n = n->next)
		if (memcmp(n->key, key, sizeof(n->key)) == 0)
			break;
	if (n == NULL) {
		if ((n = mem_calloc(1, sizeof(*n))) == NULL)
			return NULL;
		memcpy(n->key, key, sizeof(n->key));
		n->next = s->nets[b];
		s->nets[b] = n;
	}
	if (n->n >= s->per_net)
		return NULL;
	n->n++;
	return n;
}

/* conn_mu held. */
static void
net_put_locked(struct web_server *s, struct net *n)
{
	struct net **pp;

	if (n == NULL || --n->n > 0)
		return;
	for (pp = &s->nets[net_bucket(n->key)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			free(n);
			return;
		}
	}
}

/* Take cc out of the table and its network's count; conn_mu held. */
static void
conn_unlink_locked(struct web_server *s, struct conn_ctx *cc)
{
	struct conn_ctx **pp;

	for (pp = &s->conns[(unsigned)cc->fd % CONN_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == cc) {
			*pp = cc->next;
			break;
		}
	}
	cc->next = NULL;
	net_put_locked(s, cc->net);
	cc->net = NULL;
}

static struct conn_ctx *
conn_find_locked(struct web_server *s, int fd)
{
	struct conn_ctx *cc;

	for (cc = s->conns[(unsigned)fd % CONN_BUCKETS]; cc != NULL;
	    cc = cc->next)
		if (cc->fd == fd)
			return cc;
	return NULL;
}

/*
 * A record for a socket just accepted, counted against its network; NULL
 * when the network is full (the caller closes fd) or out of memory.  A
 * record already at this descriptor is stale: libmicrohttpd dropped that
 * connection before NOTIFY_STARTED (its own limit), closed the descriptor
 * and the kernel gave the number to this one.
 */
static struct conn_ctx *
conn_open(struct web_server *s, int fd, const struct sockaddr *sa)
{
	struct conn_ctx *cc = NULL, *stale;
	struct net *n = NULL;
	uint8_t key[9];

	pthread_mutex_lock(&s->conn_mu);
	if ((stale = conn_find_locked(s, fd)) != NULL) {
		conn_unlink_locked(s, stale);
		free(stale);
	}
	if (net_key(sa, key) == 0 && (n = net_take_locked(s, key)) == NULL) {
		web_metric_inc(s->m_closed, CLOSE_NET);
		goto out;
	}
	if ((cc = mem_calloc(1, sizeof(*cc))) == NULL) {
		net_put_locked(s, n);
		goto out;
	}
	cc->s = s;
	cc->fd = fd;
	cc->net = n;
	atomic_store(&cc->deadline, mono_ms() + s->head_ms);
	cc->next = s->conns[(unsigned)fd % CONN_BUCKETS];
	s->conns[(unsigned)fd % CONN_BUCKETS] = cc;
 out:
	pthread_mutex_unlock(&s->conn_mu);
	return cc;
}

/* libmicrohttpd refused the socket (and closed it): forget the record. */
static void
conn_refused(struct web_server *s, struct conn_ctx *cc)
{
	pthread_mutex_lock(&s->conn_mu);
	conn_unlink_locked(s, cc);
	pthread_mutex_unlock(&s->conn_mu);
	free(cc);
}

/*
 * Keep a socket that libmicrohttpd is about to close, when its client
 * may still be sending a body we answered early: close at once, and the
 * unread bytes make the kernel reset the connection, often before the
 * client has read the answer.  The duplicate keeps the socket open; the
 * acceptor sends our FIN and reads and drops what still comes, within
 * LINGER_MS and LINGER_BYTES.  conn_mu held.
 */
static void
linger_add_locked(struct web_server *s, int fd)
{
	struct lingering *l;
	int d;

	if (s->nlingers >= LINGER_MAX || !s->linger_ok ||
	    (d = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return;
	(void)shutdown(d, SHUT_WR);
	l = &s->lingers[s->nlingers++];
	l->fd = d;
	l->until = mono_ms() + LINGER_MS;
	l->left = LINGER_BYTES;
}

/* Read and drop what a lingering socket has; 1 when it is done with. */
static int
linger_drain(struct lingering *l)
{
	char sink[4096];
	ssize_t n;

	for (;;) {
		n = recv(l->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0)
			return 1;		/* the client closed */
		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		if ((size_t)n >= l->left)
			return 1;		/* enough: close anyway */
		l->left -= (size_t)n;
	}
}

/* Drain the sockets poll() found readable (pfd, npfd); close those done
 * or past their time. */
static void
linger_pass(struct web_server *s, const struct pollfd *pfd, size_t npfd)
{
	int64_t now = mono_ms();
	size_t i, j;
	int done;

	pthread_mutex_lock(&s->conn_mu);
	for (i = 0; i < s->nlingers; ) {
		struct lingering *l = &s->lingers[i];

		done = now >= l->until;
		for (j = 0; !done && j < npfd; j++)
			if (pfd[j].fd == l->fd && pfd[j].revents != 0)
				done = linger_drain(l);
		if (done) {
			close(l->fd);
			*l = s->lingers[--s->nlingers];
		} else
			i++;
	}
	pthread_mutex_unlock(&s->conn_mu);
}

static void
linger_close_all(struct web_server *s)
{
	pthread_mutex_lock(&s->conn_mu);
	while (s->nlingers > 0)
		close(s->lingers[--s->nlingers].fd);
	pthread_mutex_unlock(&s->conn_mu);
}

/*
 * Close connections past their deadline.  shutdown() under conn_mu, on a
 * record NOTIFY_STARTED has claimed, reaches this connection's socket
 * (NOTIFY_CLOSED unlinks under conn_mu before the descriptor is closed);
 * libmicrohttpd's loop then sees the end of the stream and closes it as
 * if the client had gone.  An unclaimed record past its deadline is stale
 * (dropped by libmicrohttpd, its descriptor maybe reused by anyone): it
 * is forgotten, never shut down.
 */
static void
deadline_pass(struct web_server *s)
{
	struct conn_ctx *cc, **pp;
	int64_t now = mono_ms(), dl;
	size_t b;
	int in_body;

	pthread_mutex_lock(&s->conn_mu);
	for (b = 0; b < CONN_BUCKETS; b++) {
		for (pp = &s->conns[b]; (cc = *pp) != NULL; ) {
			dl = atomic_load(&cc->deadline);
			if (dl == 0 || now < dl || cc->cut) {
				pp = &cc->next;
				continue;
			}
			if (!cc->linked) {
				*pp = cc->next;
				net_put_locked(s, cc->net);
				free(cc);
				continue;
			}
			cc->cut = 1;
			in_body = atomic_load(&cc->in_body);
			web_metric_inc(s->m_closed, in_body ? CLOSE_BODY :
			    CLOSE_HEAD);
			log_info("web: closing connection fd %d: request %s not "
			    "complete in time", cc->fd, in_body ? "body" :
			    "head");
			(void)shutdown(cc->fd, SHUT_RDWR);
			pp = &cc->next;
		}
	}
	pthread_mutex_unlock(&s->conn_mu);
}

/* What is left at web_free(): stale records only. */
void
web__conns_free(struct web_server *s)
{
	struct conn_ctx *cc;
	struct net *n;
	size_t b;

	for (b = 0; b < CONN_BUCKETS; b++) {
		while ((cc = s->conns[b]) != NULL) {
			s->conns[b] = cc->next;
			free(cc);
		}
	}
	for (b = 0; b < NET_BUCKETS; b++) {
		while ((n = s->nets[b]) != NULL) {
			s->nets[b] = n->next;
			free(n);
		}
	}
}

void
web__on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct web_server *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn_ctx *cc;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		cc = NULL;
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		pthread_mutex_lock(&s->conn_mu);
		if (ci != NULL && (cc = conn_find_locked(s,
		    ci->connect_fd)) != NULL)
			cc->linked = 1;
		pthread_mutex_unlock(&s->conn_mu);
		/* Not ours (forgotten as stale): uncounted, no deadline. */
		if (cc == NULL && (cc = mem_calloc(1, sizeof(*cc))) != NULL)
			cc->fd = -1;
		/* Without a context the handshake fails: safe. */
		if (cc == NULL)
			return;
		cc->s = s;
		*socket_ctx = cc;
		atomic_fetch_add(&s->fresh, 1);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci != NULL && ci->tls_session != NULL) {
			gnutls_session_set_ptr(
			    (gnutls_session_t)ci->tls_session, cc);
			gnutls_handshake_set_hook_function(
			    (gnutls_session_t)ci->tls_session,
			    GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_PRE,
			    web__hello_hook);
			if (cc->fd != -1)
				web__transport_attach(cc,
				    (gnutls_session_t)ci->tls_session);
		}
		return;
	}
	if ((cc = *socket_ctx) == NULL)
		return;
	*socket_ctx = NULL;
	if (!cc->seen)
		atomic_fetch_sub(&s->fresh, 1);
	if (cc->fd != -1) {
		pthread_mutex_lock(&s->conn_mu);
		conn_unlink_locked(s, cc);
		if (cc->linger && !cc->cut)
			linger_add_locked(s, cc->fd);
		pthread_mutex_unlock(&s->conn_mu);
	}
	pthread_mutex_lock(&s->tls_lock);
	web__bundle_unpin_locked(s, cc->b);
	pthread_mutex_unlock(&s->tls_lock);
	web__transport_free(cc);
	free(cc);
}

/* ------------------------------------------------------------------ */
/* Accepting */

/* "a.b.c.d:port" or "[v6]:port", numeric only. */
int
web__parse_listen(const char *listen, struct sockaddr_storage *ss, int *v6,
    char *host, size_t hostlen)
{
	const char *colon, *hs, *he;
	char *end;
	unsigned long port;
	size_t hl;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (listen == NULL || (colon = strrchr(listen, ':')) == NULL)
		return TSS_E_CONFIG;
	if (listen[0] == '[') {
		hs = listen + 1;
		he = colon - 1;
		if (he < hs || *he != ']')
			return TSS_E_CONFIG;
		*v6 = 1;
	} else {
		hs = listen;
		he = colon;
		*v6 = 0;
		if (memchr(hs, ':', (size_t)(he - hs)) != NULL)
			return TSS_E_CONFIG;
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl >= hostlen)
		return TSS_E_CONFIG;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return TSS_E_CONFIG;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return TSS_E_CONFIG;
	if (*v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return TSS_E_CONFIG;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return TSS_E_CONFIG;
	}
	return 0;
}

/*
 * The listening socket is ours, not libmicrohttpd's: each of its I/O
 * threads accepts a series of connections per wake-up, which left one
 * thread with most of a burst (one benchmark run: 2,862 ms of CPU on one,
 * 412 ms on the other).  MHD_add_connection() places each connection on
 * a thread by its descriptor, so a burst is shared out evenly; the
 * connection limits apply there as before.
 */
int
web__listen_open(const struct sockaddr_storage *ss, int v6)
{
	socklen_t sl = v6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	int fd, one = 1;

	/* Non-blocking: the acceptor polls it and accepts until EAGAIN. */
	if ((fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)ss, sl) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The port a bound socket has (the chosen one for port 0); 0 on error. */
uint16_t
web__bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)(void *)&ss)->sin6_port :
	    ((struct sockaddr_in *)(void *)&ss)->sin_port);
}

/*
 * Accept what is waiting; each socket gets its record (and its network's
 * count) before libmicrohttpd sees it, so a burst cannot overshoot the
 * per-network limit.  1 when the loop must end.
 */
static int
accept_all(struct web_server *s)
{
	struct sockaddr_storage ss;
	struct conn_ctx *cc;
	socklen_t sl;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			break;
		if ((cc = conn_open(s, fd, (struct sockaddr *)&ss)) == NULL) {
			close(fd);	/* its network is full */
			continue;
		}
		/* It closes fd itself when it refuses it. */
		if (MHD_add_connection(s->d, fd, (const struct sockaddr *)&ss,
		    sl) != MHD_YES)
			conn_refused(s, cc);
	}
	if (atomic_load(&s->accept_stop))
		return 1;
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		log_warn("web: accept: %s", strerror(errno));
		(void)poll(NULL, 0, 100);	/* let some close */
	} else if (errno != EINTR && errno != ECONNABORTED &&
	    errno != EAGAIN && errno != EPROTO && errno != EPERM) {
		log_error("web: accept: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* Accepting, and every TICK_MS the deadline and drain passes. */
void *
web__acceptor_main(void *arg)
{
	struct web_server *s = arg;
	struct pollfd pfd[1 + LINGER_MAX];
	int64_t next = mono_ms() + TICK_MS;
	size_t n, i;
	int wait;

	for (;;) {
		pfd[0].fd = s->lfd;
		pfd[0].events = POLLIN;
		pthread_mutex_lock(&s->conn_mu);
		for (i = 0, n = 1; i < s->nlingers; i++, n++) {
			pfd[n].fd = s->lingers[i].fd;
			pfd[n].events = POLLIN;
		}
		pthread_mutex_unlock(&s->conn_mu);
		wait = (int)(next - mono_ms());
		if (poll(pfd, n, wait < 0 ? 0 : wait) < 0) {
			pfd[0].revents = 0;
			n = 1;
		}
		if (atomic_load(&s->accept_stop))
			break;
		if (pfd[0].revents != 0 && accept_all(s))
			break;
		if (n > 1)
			linger_pass(s, pfd + 1, n - 1);
		if (mono_ms() >= next) {
			deadline_pass(s);
			linger_pass(s, NULL, 0);
			next = mono_ms() + TICK_MS;
		}
	}
	return NULL;
}

/* Accept no more connections (shutdown() wakes a blocked accept()). */
void
web__acceptor_stop(struct web_server *s)
{
	if (s->accepting) {
		atomic_store(&s->accept_stop, 1);
		(void)shutdown(s->lfd, SHUT_RDWR);
		pthread_join(s->acceptor, NULL);
		s->accepting = 0;
		pthread_mutex_lock(&s->conn_mu);
		s->linger_ok = 0;
		pthread_mutex_unlock(&s->conn_mu);
		linger_close_all(s);
	}
	if (s->lfd != -1) {
		close(s->lfd);
		s->lfd = -1;
	}
}
