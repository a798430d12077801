/*
 * The socket under GnuTLS: fewer system calls per request.
 *
 * libmicrohttpd 0.9.75 lets GnuTLS read and write the socket itself.
 * GnuTLS reads a record as its 5-byte header and then its body, two
 * recv() per request, and libmicrohttpd sends a response's head and body
 * with two gnutls_record_send() calls, two sendmsg().  On a virtual
 * machine a system call costs about a microsecond before it does any work
 * (docs/performance.md), so these functions stand in for GnuTLS's own:
 *
 *  - a read takes what the socket has, up to RX_READ bytes, and keeps
 *    what GnuTLS did not ask for yet on the connection (rx) for its next
 *    read.  Nothing is ever reported as unavailable without asking the
 *    kernel: libmicrohttpd's edge-triggered epoll relies on EAGAIN coming
 *    from the socket.
 *  - a response's head is held (tx) when web__send_resp() has said that
 *    its body follows at once (tx_hold): libmicrohttpd 0.9.75 sends a
 *    whole buffer response's body right after its head has gone
 *    completely (MHD_send_hdr_and_body_), which the held head always has.
 *    The next write, the body's record, carries the head with it in one
 *    sendmsg().  Any write flushes what is held first, so bytes keep their
 *    order whatever comes next; web__transport_flush() is the backstop
 *    when a response ends without one.
 *
 * Everything here runs on the connection's I/O thread.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/mem.h"
#include "web/internal.h"

#define RX_READ		8192	/* one read: a request and then some */
#define TX_HOLD_MAX	4096	/* a response head, never a body */
#define TX_IOV		16

static _Thread_local uint8_t rx_scratch[RX_READ];

static void
rx_drop(struct conn_ctx *cc)
{
	free(cc->rx);
	cc->rx = NULL;
	cc->rx_off = cc->rx_len = 0;
}

static ssize_t
tr_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct conn_ctx *cc = p;
	ssize_t n;
	size_t k;

	if (cc->rx_off < cc->rx_len) {
		k = cc->rx_len - cc->rx_off;
		if (k > len)
			k = len;
		memcpy(data, cc->rx + cc->rx_off, k);
		if ((cc->rx_off += k) == cc->rx_len)
			rx_drop(cc);
		return (ssize_t)k;
	}
	if (len >= RX_READ)
		return recv(cc->fd, data, len, 0);
	if ((n = recv(cc->fd, rx_scratch, RX_READ, 0)) <= 0)
		return n;
	k = (size_t)n <= len ? (size_t)n : len;
	memcpy(data, rx_scratch, k);
	if ((size_t)n > k) {
		/* Read from the socket and not kept: the stream is broken,
		 * so say so; GnuTLS and libmicrohttpd close it. */
		if ((cc->rx = mem_malloc((size_t)n - k)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(cc->rx, rx_scratch + k, (size_t)n - k);
		cc->rx_off = 0;
		cc->rx_len = (size_t)n - k;
	}
	return (ssize_t)k;
}

/* Only GnuTLS's handshake timer asks; the sessions are non-blocking. */
static int
tr_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct conn_ctx *cc = p;
	struct pollfd pfd = { .fd = cc->fd, .events = POLLIN };

	(void)ms;
	if (cc->rx_off < cc->rx_len)
		return 1;
	return poll(&pfd, 1, 0);
}

static ssize_t
tr_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct conn_ctx *cc = p;
	struct iovec v[TX_IOV + 1];
	struct msghdr mh;
	size_t len = 0, held;
	ssize_t n;
	int i, hold = cc->tx_hold;

	cc->tx_hold = 0;
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (hold && cc->tx_len == 0 && len <= TX_HOLD_MAX &&
	    (cc->tx = mem_malloc(len)) != NULL) {
		for (i = 0; i < iovcnt; i++) {
			memcpy(cc->tx + cc->tx_len, iov[i].iov_base,
			    iov[i].iov_len);
			cc->tx_len += iov[i].iov_len;
		}
		return (ssize_t)len;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = v;
	held = cc->tx_len;
	if (held > 0) {
		v[mh.msg_iovlen].iov_base = cc->tx;
		v[mh.msg_iovlen++].iov_len = held;
	}
	for (i = 0; i < iovcnt && i < TX_IOV; i++) {
		v[mh.msg_iovlen].iov_base = iov[i].iov_base;
		v[mh.msg_iovlen++].iov_len = iov[i].iov_len;
	}
	if ((n = sendmsg(cc->fd, &mh, MSG_NOSIGNAL)) < 0 || held == 0)
		return n;
	if ((size_t)n < held) {
		/* The socket is full: GnuTLS keeps this record and writes it
		 * again once libmicrohttpd sees the socket writable. */
		memmove(cc->tx, cc->tx + n, held - (size_t)n);
		cc->tx_len -= (size_t)n;
		errno = EAGAIN;
		return -1;
	}
	free(cc->tx);
	cc->tx = NULL;
	cc->tx_len = 0;
	if ((size_t)n == held) {
		errno = EAGAIN;
		return -1;
	}
	return n - (ssize_t)held;
}

void
web__transport_attach(struct conn_ctx *cc, gnutls_session_t ss)
{
	gnutls_transport_set_ptr(ss, cc);
	gnutls_transport_set_pull_function(ss, tr_pull);
	gnutls_transport_set_pull_timeout_function(ss, tr_pull_timeout);
	gnutls_transport_set_vec_push_function(ss, tr_push);
}

void
web__transport_flush(struct conn_ctx *cc)
{
	ssize_t n;

	cc->tx_hold = 0;
	if (cc->tx_len == 0)
		return;
	if ((n = send(cc->fd, cc->tx, cc->tx_len, MSG_NOSIGNAL)) > 0 &&
	    (size_t)n < cc->tx_len) {
		memmove(cc->tx, cc->tx + n, cc->tx_len - (size_t)n);
		cc->tx_len -= (size_t)n;
	} else if (n > 0) {
		free(cc->tx);
		cc->tx = NULL;
		cc->tx_len = 0;
	}
}

void
web__transport_free(struct conn_ctx *cc)
{
	rx_drop(cc);
	free(cc->tx);
	cc->tx = NULL;
	cc->tx_len = 0;
}
