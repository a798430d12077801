/*
 * The server's TLS material (see server.c): the certificate chain and key
 * read and checked, handed to each handshake, reloaded on demand.
 *
 * Certificate reload: the key pair lives in a refcounted bundle.  Each
 * connection gets a small context at accept time (NOTIFY_CONNECTION), which
 * we also hang on its GnuTLS session (gnutls_session_set_ptr; libmicrohttpd
 * does not use that slot).  The certificate callback hands the current
 * bundle to the handshake and pins it on the connection; a reload swaps the
 * current bundle and retires the old one, freed when its last connection
 * closes.  So GnuTLS never sees a certificate or key freed under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "web/internal.h"

#define TLS_FILE_MAX	(1024 * 1024)
#define SNI_WARN_EVERY	60	/* seconds between two warnings */
#define SNI_SHOW_MAX	64	/* bytes of a refused name in the log */

void
web__bundle_free(struct tls_bundle *b)
{
	unsigned i;

	if (b == NULL)
		return;
	for (i = 0; i < b->npcert; i++)
		gnutls_pcert_deinit(&b->pcert[i]);
	if (b->key != NULL)
		gnutls_privkey_deinit(b->key);
	free(b);
}

/* Read a whole (small) file; *id describes what was read. */
static int
read_file(const char *path, uint8_t **out, size_t *outlen, struct file_id *id)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_IO;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_error("web: cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size <= 0 || st.st_size > TLS_FILE_MAX) {
		r = TSS_E_TOO_LONG;
		goto out;
	}
	if ((p = mem_malloc((size_t)st.st_size + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	p[got] = '\0';
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	*out = p;
	*outlen = got;
	p = NULL;	/* transferred */
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	if (p != NULL) {
		explicit_bzero(p, (size_t)st.st_size + 1);
		free(p);
	}
	return r;
}

/* Do the leaf certificate and the private key hold the same public key? */
static int
key_matches(struct tls_bundle *b)
{
	gnutls_pubkey_t pk = NULL;
	gnutls_datum_t a = { NULL, 0 }, c = { NULL, 0 };
	int ok = 0;

	if (gnutls_pubkey_init(&pk) < 0)
		return 0;
	if (gnutls_pubkey_import_privkey(pk, b->key, 0, 0) < 0 ||
	    gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &a) < 0 ||
	    gnutls_pubkey_export2(b->pcert[0].pubkey, GNUTLS_X509_FMT_DER,
	    &c) < 0)
		goto out;
	ok = a.size == c.size && memcmp(a.data, c.data, a.size) == 0;
 out:
	gnutls_free(a.data);
	gnutls_free(c.data);
	gnutls_pubkey_deinit(pk);
	return ok;
}

static int
bundle_load(const char *cert_file, const char *key_file,
    struct tls_bundle **out, struct file_id *cid, struct file_id *kid)
{
	struct tls_bundle *b = NULL;
	uint8_t *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;
	gnutls_datum_t d;
	unsigned n = TLS_CHAIN_MAX;
	int r = TSS_E_INTERNAL, gr;

	*out = NULL;
	if ((r = read_file(cert_file, &cpem, &clen, cid)) != 0 ||
	    (r = read_file(key_file, &kpem, &klen, kid)) != 0)
		goto out;
	if ((b = mem_calloc(1, sizeof(*b))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	d.data = cpem;
	d.size = (unsigned)clen;
	if ((gr = gnutls_pcert_list_import_x509_raw(b->pcert, &n, &d,
	    GNUTLS_X509_FMT_PEM, 0)) < 0 || n == 0) {
		log_error("web: %s: no usable certificate: %s", cert_file,
		    gnutls_strerror(gr));
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	b->npcert = n;
	if (gnutls_privkey_init(&b->key) < 0) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	d.data = kpem;
	d.size = (unsigned)klen;
	if ((gr = gnutls_privkey_import_x509_raw(b->key, &d,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		log_error("web: %s: no usable private key: %s", key_file,
		    gnutls_strerror(gr));
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (!key_matches(b)) {
		log_error("web: %s does not match %s", key_file, cert_file);
		r = TSS_E_CRYPTO;
		goto out;
	}
	*out = b;
	b = NULL;	/* transferred */
	r = 0;
 out:
	web__bundle_free(b);
	free(cpem);
	if (kpem != NULL) {
		explicit_bzero(kpem, klen);
		free(kpem);
	}
	return r;
}

/* With tls_lock held: drop one pin; free a retired bundle nobody pins. */
void
web__bundle_unpin_locked(struct web_server *s, struct tls_bundle *b)
{
	struct tls_bundle **pp;

	if (b == NULL)
		return;
	if (b->refs > 0)
		b->refs--;
	if (b->refs > 0 || b == s->cur)
		return;
	for (pp = &s->retired; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			web__bundle_free(b);
			return;
		}
	}
}

int
web__cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *key)
{
	struct conn_ctx *cc = gnutls_session_get_ptr(session);
	struct web_server *s;
	struct tls_bundle *b;

	if (cc == NULL || cc->s == NULL)
		return -1;
	s = cc->s;
	pthread_mutex_lock(&s->tls_lock);
	b = s->cur;
	if (cc->b != b) {
		b->refs++;
		web__bundle_unpin_locked(s, cc->b);
		cc->b = b;
	}
	pthread_mutex_unlock(&s->tls_lock);
	*pcert = b->pcert;
	*pcert_length = b->npcert;
	*key = b->key;
	return 0;
}

int
web_reload_tls(struct web_server *s)
{
	struct tls_bundle *b = NULL, *old;
	struct file_id cid, kid;
	int r;

	if (s == NULL)
		return TSS_E_INVALID_ARGUMENT;
	memset(&cid, 0, sizeof(cid));
	memset(&kid, 0, sizeof(kid));
	if ((r = bundle_load(s->cert_file, s->key_file, &b, &cid, &kid)) != 0)
		return r;
	pthread_mutex_lock(&s->tls_lock);
	old = s->cur;
	s->cur = b;
	s->cert_id = cid;
	s->key_id = kid;
	if (old != NULL) {
		if (old->refs == 0)
			web__bundle_free(old);
		else {
			old->next = s->retired;
			s->retired = old;
		}
	}
	pthread_mutex_unlock(&s->tls_lock);
	log_info("web: TLS certificate loaded from %s", s->cert_file);
	return 0;
}

static int
file_changed(const char *path, const struct file_id *id)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return TSS_E_IO;
	return st.st_dev != id->dev || st.st_ino != id->ino ||
	    st.st_size != id->size ||
	    st.st_mtim.tv_sec != id->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != id->mtime.tv_nsec;
}

int
web_tls_changed(struct web_server *s)
{
	struct file_id cid, kid;
	int rc, rk;

	if (s == NULL)
		return TSS_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&s->tls_lock);
	cid = s->cert_id;
	kid = s->key_id;
	pthread_mutex_unlock(&s->tls_lock);
	/* A file that cannot be stat()ed wins over a change. */
	rc = file_changed(s->cert_file, &cid);
	rk = file_changed(s->key_file, &kid);
	if (rc < 0)
		return rc;
	if (rk < 0)
		return rk;
	return rc || rk;
}

int
web__tls_priorities_ok(const char *prio)
{
	gnutls_priority_t p;
	const char *errpos = NULL;

	if (gnutls_priority_init(&p, prio, &errpos) < 0) {
		log_error("web: bad TLS priority string at \"%s\"",
		    errpos != NULL ? errpos : "?");
		return 0;
	}
	gnutls_priority_deinit(p);
	return 1;
}

/*
 * Server names with an underscore.  GnuTLS (3.7.9, and upstream to this
 * day) checks the host_name of the server_name extension itself while it
 * parses the ClientHello (lib/ext/server_name.c): anything but letters,
 * digits, '-' and '.' ends the handshake with a fatal alert
 * (GNUTLS_E_RECEIVED_DISALLOWED_NAME), before any callback of ours, and
 * the extension is marked as one an application may not override.
 * Docker Swarm names a service <stack>_<service> (tessera_tesserad).  We
 * serve one certificate whatever the name, so the name is only a hint,
 * and its syntax must not cost the handshake.
 *
 * The bytes cannot be changed before GnuTLS reads them: both ends hash
 * the ClientHello as sent into the transcript.  GnuTLS hashes it, then
 * parses its extensions in two passes, the version-negotiation ones
 * first, the server name in the second.  So:
 *  - web__hello_hook(), the ClientHello's PRE hook, runs before the hash
 *    and only reads: it finds a refused name and notes where it lies in
 *    the message GnuTLS is about to hash and parse;
 *  - for such a ClientHello only, it registers on the session a stand-in
 *    for ec_point_formats, parsed in the first pass, which GnuTLS lets an
 *    application override (OpenSSL, GnuTLS, NSS and Go clients send it,
 *    whatever versions they offer);
 *  - the stand-in, called in the first pass, after the hash, reads every
 *    byte outside GnuTLS's set as '-' in that message, if the extension
 *    it was given lies inside the very message noted (otherwise it
 *    writes nothing, and the handshake fails as before); then it does
 *    what the extension it stands for does on a server.
 * That write is the second place web/ writes where a library says const
 * (server.c's query_cut() is the first), into the buffer GnuTLS parses
 * in place.  The stand-in gives nothing up: on a server, GnuTLS's own
 * only checks that the list is not empty, and answers "uncompressed" in
 * a TLS 1.2 ECDHE ServerHello, as points_send() does.  A client that
 * sends no point formats (a TLS 1.3-only rustls) gets the warning below
 * and the old failure.
 */
#define EXT_POINT_FORMATS	11

struct hello_scan {
	uintptr_t base;			/* the message */
	size_t off, len;		/* the refused host_name; len 0: none */
	int points;			/* the client sent ec_point_formats */
};

static int
sni_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int
hello_ext(void *ctx, unsigned tls_id, const unsigned char *d, unsigned len)
{
	struct hello_scan *hs = ctx;
	unsigned list, n, i;

	if (tls_id == EXT_POINT_FORMATS)
		hs->points = 1;
	if (tls_id != 0 || len < 5)
		return 0;
	list = (unsigned)d[0] << 8 | d[1];
	n = (unsigned)d[3] << 8 | d[4];
	/* The first entry, a host_name, as GnuTLS reads it. */
	if (list != len - 2 || d[2] != 0 || n == 0 || n > len - 5)
		return 0;
	for (i = 0; i < n; i++)
		if (!sni_char_ok(d[5 + i])) {
			hs->off = (size_t)((uintptr_t)(d + 5) - hs->base);
			hs->len = n;
			break;
		}
	return 0;
}

/* Only between the PRE hook and the first parsing pass, on this thread. */
static void
sni_rewrite(gnutls_session_t session, const unsigned char *ext)
{
	struct conn_ctx *cc = gnutls_session_get_ptr(session);
	union { const uint8_t *c; uint8_t *m; } u;
	size_t i;

	if (cc == NULL || cc->hello == NULL)
		return;
	u.c = cc->hello;
	if ((uintptr_t)ext >= (uintptr_t)cc->hello &&
	    (uintptr_t)ext < (uintptr_t)cc->hello + cc->hello_len)
		for (i = cc->sni_off; i < cc->sni_off + cc->sni_len; i++)
			if (!sni_char_ok(u.m[i]))
				u.m[i] = '-';
	cc->hello = NULL;
}

static int
points_recv(gnutls_session_t session, const unsigned char *d, size_t len)
{
	sni_rewrite(session, d);
	return len < 1 ? GNUTLS_E_RECEIVED_ILLEGAL_EXTENSION : 0;
}

static int
points_send(gnutls_session_t session, gnutls_buffer_t extdata)
{
	static const uint8_t uncompressed[2] = { 0x01, 0x00 };
	gnutls_kx_algorithm_t kx = gnutls_kx_get(session);
	int r;

	if (kx != GNUTLS_KX_ECDHE_RSA && kx != GNUTLS_KX_ECDHE_ECDSA)
		return 0;
	if ((r = gnutls_buffer_append_data(extdata, uncompressed, 2)) < 0)
		return r;
	return 2;
}

int
web__hello_hook(gnutls_session_t session, unsigned htype, unsigned when,
    unsigned incoming, const gnutls_datum_t *msg)
{
	static atomic_llong last;
	struct conn_ctx *cc = gnutls_session_get_ptr(session);
	struct hello_scan hs;
	char name[SNI_SHOW_MAX + 1];
	long long now, prev;
	int r;

	if (!incoming || htype != GNUTLS_HANDSHAKE_CLIENT_HELLO || cc == NULL)
		return 0;
	cc->hello = NULL;
	memset(&hs, 0, sizeof(hs));
	hs.base = (uintptr_t)msg->data;
	if (gnutls_ext_raw_parse(&hs, hello_ext, msg,
	    GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO) < 0 || hs.len == 0)
		return 0;
	if (hs.points) {
		r = gnutls_session_ext_register(session, "tessera-sni",
		    EXT_POINT_FORMATS, GNUTLS_EXT_VERSION_NEG, points_recv,
		    points_send, NULL, NULL, NULL,
		    GNUTLS_EXT_FLAG_OVERRIDE_INTERNAL | GNUTLS_EXT_FLAG_TLS |
		    GNUTLS_EXT_FLAG_CLIENT_HELLO |
		    GNUTLS_EXT_FLAG_TLS12_SERVER_HELLO);
		/* Registered already: a second ClientHello (after a
		 * HelloRetryRequest) has the same extensions. */
		if (r == 0 || r == GNUTLS_E_ALREADY_REGISTERED) {
			cc->hello = msg->data;
			cc->hello_len = msg->size;
			cc->sni_off = hs.off;
			cc->sni_len = hs.len;
			return 0;
		}
	}
	now = (long long)time(NULL);
	prev = atomic_load(&last);
	if (now - prev < SNI_WARN_EVERY ||
	    !atomic_compare_exchange_strong(&last, &prev, now))
		return 0;
	hs.len = hs.len < SNI_SHOW_MAX ? hs.len : SNI_SHOW_MAX;
	memcpy(name, msg->data + hs.off, hs.len);
	name[hs.len] = '\0';
	log_warn("web: a TLS client asked for server name \"%s\", which "
	    "GnuTLS refuses (only letters, digits, '-' and '.'), and sent no "
	    "ec_point_formats to read it through: its handshake fails.  "
	    "Reach tesserad by a name without '_' (on Docker Swarm: the "
	    "service name without the stack prefix, or a network alias)",
	    name);
	return 0;
}
