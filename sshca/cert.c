/*
 * cert: certificate assembly and signing.
 *
 * Assembly writes straight into one buffer (lengths of the nested
 * principal, option and extension lists are computed first), so the cost
 * per certificate is a few small appends beside one signature.
 */
#include <arpa/inet.h>
#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"

#include "cakey.h"
#include "cert.h"
#include "sshkey.h"

#define EXTENSION_NAME_MAX	64
#define CIDR_TEXT_MAX		(INET6_ADDRSTRLEN + 4)
#define CERT_SUFFIX		"-cert-v01@openssh.com"
#define NONCE_POOL		1024	/* bytes: 32 nonces a refill */

int
cert_validity(uint64_t now, uint64_t ttl, uint64_t *afterp, uint64_t *beforep)
{
	if (afterp != NULL)
		*afterp = 0;
	if (beforep != NULL)
		*beforep = 0;
	if (afterp == NULL || beforep == NULL || ttl == 0)
		return TSS_E_INVALID_ARGUMENT;
	if (ttl > UINT64_MAX - now)
		return TSS_E_OVERFLOW;
	*afterp = now > CERT_SKEW ? now - CERT_SKEW : 0;
	*beforep = now + ttl;
	return 0;
}

static int
printable_run(const char *s, size_t max, size_t *lenp, int allow_space)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max || c < 0x20 || c == 0x7f ||
		    (!allow_space && c == ' '))
			return -1;
	}
	*lenp = i;
	return i == 0 ? -1 : 0;
}

int
cert_check_principal(const char *p)
{
	size_t len;

	/*
	 * sshd compares principals as exact strings, but older versions split
	 * on commas and principals files are whitespace-separated: refuse
	 * anything that could be split or smuggled, and pattern characters
	 * that would mean something else anywhere sshd matches lists.
	 */
	if (p == NULL || printable_run(p, CERT_PRINCIPAL_MAX, &len, 0) != 0 ||
	    strpbrk(p, ",*?") != NULL)
		return TSS_E_INVALID_PRINCIPAL;
	return 0;
}

static int
parse_prefix(const char *s, unsigned int max, unsigned int *bitsp)
{
	unsigned int v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 3 || s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*bitsp = v;
	return 0;
}

int
cert_check_cidr(const char *s)
{
	char addr[CIDR_TEXT_MAX];
	uint8_t bin[16];
	const char *slash;
	size_t alen, i;
	unsigned int bits, maxbits;
	int af;

	if (s == NULL)
		return TSS_E_INVALID_CIDR;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return TSS_E_INVALID_CIDR;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	maxbits = af == AF_INET6 ? 128 : 32;
	if (inet_pton(af, addr, bin) != 1)
		return TSS_E_INVALID_CIDR;
	bits = maxbits;
	if (slash != NULL && parse_prefix(slash + 1, maxbits, &bits) != 0)
		return TSS_E_INVALID_CIDR;
	/* Host bits must be zero: "10.1.2.3/8" is a typo, not a network. */
	for (i = 0; i < maxbits / 8; i++) {
		unsigned int lo = (unsigned int)i * 8;
		uint8_t mask;

		if (bits >= lo + 8)
			continue;
		mask = bits <= lo ? 0 : (uint8_t)(0xff << (8 - (bits - lo)));
		if ((bin[i] & (uint8_t)~mask) != 0)
			return TSS_E_INVALID_CIDR;
	}
	return 0;
}

static int
check_extension_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= EXTENSION_NAME_MAX || s[i] <= ' ' || s[i] > '~' ||
		    s[i] == ',')
			return TSS_E_INVALID_ARGUMENT;
	}
	return i == 0 ? TSS_E_INVALID_ARGUMENT : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checked, sorted, de-duplicated extension names into ext; count in *np. */
static int
sorted_extensions(const struct cert_request *req,
    const char *ext[CERT_MAX_EXTENSIONS], size_t *np)
{
	size_t i, n = 0;
	int r;

	*np = 0;
	if (req->nextensions > CERT_MAX_EXTENSIONS)
		return TSS_E_TOO_MANY;
	if (req->nextensions > 0 && req->extensions == NULL)
		return TSS_E_INVALID_ARGUMENT;
	for (i = 0; i < req->nextensions; i++) {
		if (req->extensions[i] == NULL ||
		    (r = check_extension_name(req->extensions[i])) != 0)
			return TSS_E_INVALID_ARGUMENT;
		ext[i] = req->extensions[i];
	}
	qsort(ext, req->nextensions, sizeof(*ext), cmp_str);
	for (i = 0; i < req->nextensions; i++) {
		if (n == 0 || strcmp(ext[n - 1], ext[i]) != 0)
			ext[n++] = ext[i];
	}
	*np = n;
	return 0;
}

static int
check_request(const struct cert_request *req, size_t *srclenp)
{
	size_t i, j, len, srclen = 0;
	int r;

	*srclenp = 0;
	if ((req->type != 0 && req->type != CERT_USER &&
	    req->type != CERT_HOST) ||
	    (req->type == CERT_HOST && (req->force_command != NULL ||
	    req->nsource_address > 0 || req->nextensions > 0)) ||
	    req->key == NULL || req->serial == 0 || req->username == NULL ||
	    printable_run(req->username, CERT_USERNAME_MAX, &len, 1) != 0 ||
	    req->valid_after >= req->valid_before)
		return TSS_E_INVALID_ARGUMENT;
	/* An empty principal list would be valid for every login. */
	if (req->nprincipals == 0 || req->principals == NULL)
		return TSS_E_INVALID_PRINCIPAL;
	if (req->nprincipals > CERT_MAX_PRINCIPALS)
		return TSS_E_TOO_MANY;
	for (i = 0; i < req->nprincipals; i++) {
		if ((r = cert_check_principal(req->principals[i])) != 0)
			return r;
		for (j = 0; j < i; j++) {
			if (strcmp(req->principals[i], req->principals[j]) == 0)
				return TSS_E_INVALID_PRINCIPAL;
		}
	}
	if (req->force_command != NULL &&
	    printable_run(req->force_command, CERT_FORCE_COMMAND_MAX,
	    &len, 1) != 0)
		return TSS_E_INVALID_ARGUMENT;
	if (req->nsource_address > CERT_MAX_SOURCES)
		return TSS_E_TOO_MANY;
	if (req->nsource_address > 0 && req->source_address == NULL)
		return TSS_E_INVALID_CIDR;
	for (i = 0; i < req->nsource_address; i++) {
		if ((r = cert_check_cidr(req->source_address[i])) != 0)
			return r;
		srclen += strlen(req->source_address[i]) + (i > 0);
	}
	*srclenp = srclen;
	return 0;
}

static int
put_options(struct buf *b, const struct cert_request *req, size_t srclen)
{
	size_t i, total = 0, fclen = 0;
	int r;

	/* Critical options in lexical order: force-command, source-address. */
	if (req->force_command != NULL) {
		fclen = strlen(req->force_command);
		total += 4 + strlen("force-command") + 4 + 4 + fclen;
	}
	if (req->nsource_address > 0)
		total += 4 + strlen("source-address") + 4 + 4 + srclen;
	if ((r = buf_put_u32(b, (uint32_t)total)) != 0)
		return r;
	if (req->force_command != NULL &&
	    ((r = buf_put_cstring(b, "force-command")) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)(4 + fclen))) != 0 ||
	    (r = buf_put_string(b, req->force_command, fclen)) != 0))
		return r;
	if (req->nsource_address > 0) {
		if ((r = buf_put_cstring(b, "source-address")) != 0 ||
		    (r = buf_put_u32(b, (uint32_t)(4 + srclen))) != 0 ||
		    (r = buf_put_u32(b, (uint32_t)srclen)) != 0)
			return r;
		for (i = 0; i < req->nsource_address; i++) {
			if ((i > 0 && (r = buf_put_u8(b, ',')) != 0) ||
			    (r = buf_put(b, req->source_address[i],
			    strlen(req->source_address[i]))) != 0)
				return r;
		}
	}
	return 0;
}

/*
 * Certificate nonces come from a per-thread pool refilled 1 KiB at a
 * time: one DRBG call (and the fork check OpenSSL makes with getpid())
 * per 32 certificates instead of per certificate.  Bytes are wiped from
 * the pool as they are taken; a forked child empties the pool it
 * inherited, so parent and child never hand out the same nonce.
 */
static __thread struct {
	uint8_t b[NONCE_POOL];
	size_t left;
} nonces;
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void
nonce_child(void)
{
	explicit_bzero(&nonces, sizeof(nonces));
}

static void
nonce_atfork(void)
{
	pthread_atfork(NULL, NULL, nonce_child);
}

static int
nonce_take(uint8_t *out, size_t len)
{
	uint8_t *p;

	pthread_once(&nonce_once, nonce_atfork);
	if (nonces.left < len) {
		if (RAND_bytes(nonces.b, sizeof(nonces.b)) != 1)
			return TSS_E_CRYPTO;
		nonces.left = sizeof(nonces.b);
	}
	p = nonces.b + sizeof(nonces.b) - nonces.left;
	memcpy(out, p, len);
	explicit_bzero(p, len);
	nonces.left -= len;
	return 0;
}

int
cert_sign(struct cakey *ca, const struct cert_request *req,
    struct buf **certp)
{
	const char *ext[CERT_MAX_EXTENSIONS];
	char keyid[sizeof("host:") + CERT_USERNAME_MAX + 1 + 20 + 1];
	uint8_t nonce[CERT_NONCE_LEN];
	struct buf *cert = NULL, *sig = NULL;
	const uint8_t *body, *cablob;
	size_t bodylen, cabloblen, srclen = 0, next = 0, i, total;
	int n, r = TSS_E_INTERNAL;

	if (certp != NULL)
		*certp = NULL;
	if (ca == NULL || req == NULL || certp == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = check_request(req, &srclen)) != 0 ||
	    (r = sorted_extensions(req, ext, &next)) != 0)
		goto out;
	n = snprintf(keyid, sizeof(keyid), "%s%s:%llu",
	    req->type == CERT_HOST ? "host:" : "", req->username,
	    (unsigned long long)req->serial);
	if (n < 0 || (size_t)n >= sizeof(keyid)) {
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	if (req->nonce != NULL)
		memcpy(nonce, req->nonce, sizeof(nonce));
	else if ((r = nonce_take(nonce, sizeof(nonce))) != 0)
		goto out;
	if ((cert = buf_new()) == NULL || (sig = buf_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	body = sshkey_cert_body(req->key, &bodylen);
	cablob = sshkey_blob(cakey_public(ca), &cabloblen);
	if ((r = buf_put_cstring(cert,
	    sshkey_cert_type_name(req->key))) != 0 ||
	    (r = buf_put_string(cert, nonce, sizeof(nonce))) != 0 ||
	    (r = buf_put(cert, body, bodylen)) != 0 ||
	    (r = buf_put_u64(cert, req->serial)) != 0 ||
	    (r = buf_put_u32(cert, req->type == CERT_HOST ? CERT_HOST :
	    CERT_USER)) != 0 ||
	    (r = buf_put_cstring(cert, keyid)) != 0)
		goto out;
	for (total = 0, i = 0; i < req->nprincipals; i++)
		total += 4 + strlen(req->principals[i]);
	if ((r = buf_put_u32(cert, (uint32_t)total)) != 0)
		goto out;
	for (i = 0; i < req->nprincipals; i++) {
		if ((r = buf_put_cstring(cert, req->principals[i])) != 0)
			goto out;
	}
	if ((r = buf_put_u64(cert, req->valid_after)) != 0 ||
	    (r = buf_put_u64(cert, req->valid_before)) != 0 ||
	    (r = put_options(cert, req, srclen)) != 0)
		goto out;
	/* Extensions: names in lexical order, each with empty data. */
	for (total = 0, i = 0; i < next; i++)
		total += 4 + strlen(ext[i]) + 4;
	if ((r = buf_put_u32(cert, (uint32_t)total)) != 0)
		goto out;
	for (i = 0; i < next; i++) {
		if ((r = buf_put_cstring(cert, ext[i])) != 0 ||
		    (r = buf_put_u32(cert, 0)) != 0)
			goto out;
	}
	if ((r = buf_put_cstring(cert, "")) != 0 ||	/* reserved */
	    (r = buf_put_string(cert, cablob, cabloblen)) != 0)
		goto out;
	/* The signature covers everything up to the signature key. */
	if ((r = cakey_sign(ca, buf_ptr(cert), buf_len(cert), sig)) != 0 ||
	    (r = buf_put_stringb(cert, sig)) != 0)
		goto out;
	*certp = cert;
	cert = NULL;	/* transferred */
	r = 0;
 out:
	buf_free(cert);
	buf_free(sig);
	return r;
}

int
cert_to_line(const uint8_t *blob, size_t len, const char *comment,
    char **linep)
{
	struct buf *b = NULL;
	char *type = NULL;
	size_t tlen = 0, i;
	int r = TSS_E_INTERNAL;

	if (linep != NULL)
		*linep = NULL;
	if (blob == NULL || linep == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((b = buf_from(blob, len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get_cstring(b, &type, &tlen)) != 0)
		goto out;
	if (tlen <= strlen(CERT_SUFFIX) ||
	    strcmp(type + tlen - strlen(CERT_SUFFIX), CERT_SUFFIX) != 0) {
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	for (i = 0; i < tlen; i++) {
		if (type[i] <= ' ' || type[i] > '~') {
			r = TSS_E_INVALID_ARGUMENT;
			goto out;
		}
	}
	r = sshkey_line(type, blob, len, comment, linep);
 out:
	buf_free(b);
	free(type);
	return r;
}
