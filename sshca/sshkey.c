/*
 * sshkey: public key parsing, checks, fingerprint and encoding.
 * Every read from the blob goes through common/buf; nothing here trusts a
 * length it has not checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"

#include "sshkey.h"

#define ED25519_PK_LEN		32
#define SK_APPLICATION_MAX	1024
#define RSA_E_MAX_BITS		64

struct sshkey {
	enum sshkey_type type;
	unsigned int bits;
	uint8_t *blob;
	size_t bloblen;
	size_t body_off;	/* offset of the first field after the name */
	char *application;	/* sk keys */
};

struct keytype {
	enum sshkey_type type;
	const char *name;
	const char *cert_name;
	const char *curve;	/* ECDSA: the SSH curve identifier */
	int nid;		/* ECDSA: OpenSSL curve */
	int sk;
};

static const struct keytype keytypes[] = {
	{ SSHKEY_ED25519, "ssh-ed25519",
	    "ssh-ed25519-cert-v01@openssh.com", NULL, 0, 0 },
	{ SSHKEY_ECDSA_P256, "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "nistp256",
	    NID_X9_62_prime256v1, 0 },
	{ SSHKEY_ECDSA_P384, "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp384-cert-v01@openssh.com", "nistp384",
	    NID_secp384r1, 0 },
	{ SSHKEY_ECDSA_P521, "ecdsa-sha2-nistp521",
	    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "nistp521",
	    NID_secp521r1, 0 },
	{ SSHKEY_RSA, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", NULL, 0, 0 },
	{ SSHKEY_SK_ED25519, "sk-ssh-ed25519@openssh.com",
	    "sk-ssh-ed25519-cert-v01@openssh.com", NULL, 0, 1 },
	{ SSHKEY_SK_ECDSA_P256, "sk-ecdsa-sha2-nistp256@openssh.com",
	    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "nistp256",
	    NID_X9_62_prime256v1, 1 },
};

static const struct keytype *
keytype_by_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++) {
		if (strlen(keytypes[i].name) == len &&
		    memcmp(keytypes[i].name, name, len) == 0)
			return &keytypes[i];
	}
	return NULL;
}

static const struct keytype *
keytype_of(const struct sshkey *k)
{
	size_t i;

	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++) {
		if (keytypes[i].type == k->type)
			return &keytypes[i];
	}
	return NULL;	/* not reached: every enum value is in the table */
}

static int
has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	return len >= sl && memcmp(s + len - sl, suffix, sl) == 0;
}

/* Types we know and refuse on purpose: weak_key rather than invalid. */
static int
refused_type(const char *name, size_t len)
{
	return (len == 7 && memcmp(name, "ssh-dss", 7) == 0) ||
	    has_suffix(name, len, "-cert-v01@openssh.com") ||
	    has_suffix(name, len, "-cert-v00@openssh.com");
}

static unsigned int
bitlen_be(const uint8_t *p, size_t len)
{
	unsigned int bits;
	uint8_t top;

	if (len == 0)
		return 0;
	bits = (unsigned int)(len - 1) * 8;
	for (top = p[0]; top != 0; top >>= 1)
		bits++;
	return bits;
}

static int
check_ec_point(int nid, const uint8_t *q, size_t qlen)
{
	EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	size_t flen;
	int r = TSS_E_INVALID_PUBLIC_KEY;

	if ((group = EC_GROUP_new_by_curve_name(nid)) == NULL) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	flen = ((size_t)EC_GROUP_get_degree(group) + 7) / 8;
	/* Uncompressed only, as OpenSSH writes and requires. */
	if (qlen != 1 + 2 * flen || q[0] != POINT_CONVERSION_UNCOMPRESSED) {
		log_debug("sshkey: ecdsa point not uncompressed/size %zu", qlen);
		goto out;
	}
	if ((point = EC_POINT_new(group)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (EC_POINT_oct2point(group, point, q, qlen, NULL) != 1 ||
	    EC_POINT_is_at_infinity(group, point) ||
	    EC_POINT_is_on_curve(group, point, NULL) != 1) {
		log_debug("sshkey: ecdsa point not on the curve");
		goto out;
	}
	/* NIST prime curves have cofactor 1: on the curve is in the group. */
	r = 0;
 out:
	if (r != 0)
		ERR_clear_error();	/* expected failures: keep the queue clean */
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return r;
}

static int
check_rsa(const uint8_t *e, size_t elen, const uint8_t *n, size_t nlen,
    unsigned int *bitsp)
{
	unsigned int ebits = bitlen_be(e, elen), nbits = bitlen_be(n, nlen);

	if (nbits > SSHKEY_RSA_MAX_BITS) {
		log_debug("sshkey: rsa modulus of %u bits", nbits);
		return TSS_E_INVALID_PUBLIC_KEY;
	}
	if (nlen == 0 || (n[nlen - 1] & 1) == 0 || elen == 0 ||
	    (e[elen - 1] & 1) == 0 || ebits > RSA_E_MAX_BITS) {
		log_debug("sshkey: rsa modulus or exponent malformed");
		return TSS_E_INVALID_PUBLIC_KEY;
	}
	if (nbits < SSHKEY_RSA_MIN_BITS || ebits < 2) {
		log_debug("sshkey: rsa key too weak (%u bits, e %u bits)",
		    nbits, ebits);
		return TSS_E_WEAK_KEY;
	}
	*bitsp = nbits;
	return 0;
}

/* Map buffer errors to the one class callers see. */
static int
blob_err(int r)
{
	return (r == TSS_E_NOMEM) ? r : TSS_E_INVALID_PUBLIC_KEY;
}

int
sshkey_from_blob(const uint8_t *blob, size_t len, struct sshkey **keyp)
{
	struct buf *b = NULL;
	struct sshkey *k = NULL;
	const struct keytype *kt;
	const uint8_t *name, *p1, *p2, *app;
	size_t namelen, l1, l2, applen, body_off;
	unsigned int bits = 0;
	int r = TSS_E_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (blob == NULL || keyp == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (len > SSHKEY_LINE_MAX) {
		r = TSS_E_INVALID_PUBLIC_KEY;
		goto out;
	}
	if ((b = buf_from(blob, len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &name, &namelen)) != 0) {
		r = blob_err(r);
		goto out;
	}
	body_off = len - buf_len(b);
	if ((kt = keytype_by_name((const char *)name, namelen)) == NULL) {
		r = refused_type((const char *)name, namelen) ?
		    TSS_E_WEAK_KEY : TSS_E_INVALID_PUBLIC_KEY;
		log_debug("sshkey: blob type refused or unknown");
		goto out;
	}
	switch (kt->type) {
	case SSHKEY_ED25519:
	case SSHKEY_SK_ED25519:
		if ((r = buf_get_string_direct(b, &p1, &l1)) != 0) {
			r = blob_err(r);
			goto out;
		}
		if (l1 != ED25519_PK_LEN) {
			r = TSS_E_INVALID_PUBLIC_KEY;
			goto out;
		}
		bits = 256;
		break;
	case SSHKEY_ECDSA_P256:
	case SSHKEY_ECDSA_P384:
	case SSHKEY_ECDSA_P521:
	case SSHKEY_SK_ECDSA_P256:
		if ((r = buf_get_string_direct(b, &p1, &l1)) != 0 ||
		    (r = buf_get_string_direct(b, &p2, &l2)) != 0) {
			r = blob_err(r);
			goto out;
		}
		if (l1 != strlen(kt->curve) || memcmp(p1, kt->curve, l1) != 0) {
			log_debug("sshkey: ecdsa curve does not match type");
			r = TSS_E_INVALID_PUBLIC_KEY;
			goto out;
		}
		if ((r = check_ec_point(kt->nid, p2, l2)) != 0)
			goto out;
		bits = kt->type == SSHKEY_ECDSA_P384 ? 384 :
		    kt->type == SSHKEY_ECDSA_P521 ? 521 : 256;
		break;
	case SSHKEY_RSA:
		if ((r = buf_get_bignum2_direct(b, &p1, &l1)) != 0 ||
		    (r = buf_get_bignum2_direct(b, &p2, &l2)) != 0) {
			r = blob_err(r);
			goto out;
		}
		if ((r = check_rsa(p1, l1, p2, l2, &bits)) != 0)
			goto out;
		break;
	}
	if (kt->sk) {
		if ((r = buf_get_string_direct(b, &app, &applen)) != 0) {
			r = blob_err(r);
			goto out;
		}
		if (applen == 0 || applen > SK_APPLICATION_MAX ||
		    memchr(app, '\0', applen) != NULL) {
			r = TSS_E_INVALID_PUBLIC_KEY;
			goto out;
		}
	}
	if (buf_len(b) != 0) {
		log_debug("sshkey: %zu trailing bytes in key blob", buf_len(b));
		r = TSS_E_INVALID_PUBLIC_KEY;
		goto out;
	}
	if ((k = mem_calloc(1, sizeof(*k))) == NULL ||
	    (k->blob = mem_malloc(len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	memcpy(k->blob, blob, len);
	k->bloblen = len;
	k->body_off = body_off;
	k->type = kt->type;
	k->bits = bits;
	if (kt->sk) {
		if ((k->application = mem_malloc(applen + 1)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		memcpy(k->application, app, applen);
		k->application[applen] = '\0';
	}
	*keyp = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	buf_free(b);
	sshkey_free(k);
	return r;
}

/*
 * A certificate blob: its cert type name, the nonce, then the fields of
 * the key it certifies (strings and mpints, both length-prefixed on the
 * wire), in the order of the plain key's blob.
 */
int
sshkey_from_cert(const uint8_t *blob, size_t len, struct sshkey **keyp,
    size_t *offp)
{
	struct buf *b = NULL, *plain = NULL;
	const struct keytype *kt = NULL;
	const uint8_t *name, *p;
	size_t namelen, l, i, nfields, body, end;
	int r = TSS_E_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (offp != NULL)
		*offp = 0;
	if (blob == NULL || keyp == NULL || offp == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((b = buf_from(blob, len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &name, &namelen)) != 0) {
		r = blob_err(r);
		goto out;
	}
	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (strlen(keytypes[i].cert_name) == namelen &&
		    memcmp(keytypes[i].cert_name, name, namelen) == 0)
			kt = &keytypes[i];
	if (kt == NULL) {
		log_debug("sshkey: not a certificate type we know");
		r = TSS_E_INVALID_PUBLIC_KEY;
		goto out;
	}
	nfields = (kt->type == SSHKEY_ED25519 || kt->type == SSHKEY_SK_ED25519 ?
	    1 : 2) + (kt->sk ? 1 : 0);
	if ((r = buf_get_string_direct(b, &p, &l)) != 0) {	/* nonce */
		r = blob_err(r);
		goto out;
	}
	body = len - buf_len(b);
	for (i = 0; i < nfields; i++)
		if ((r = buf_get_string_direct(b, &p, &l)) != 0) {
			r = blob_err(r);
			goto out;
		}
	end = len - buf_len(b);
	if ((plain = buf_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_put_cstring(plain, kt->name)) != 0 ||
	    (r = buf_put(plain, blob + body, end - body)) != 0 ||
	    (r = sshkey_from_blob(buf_ptr(plain), buf_len(plain), keyp)) != 0)
		goto out;
	*offp = end;
	r = 0;
 out:
	buf_free(b);
	buf_free(plain);
	return r;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

int
sshkey_parse_line(const char *line, size_t len, struct sshkey **keyp,
    char **commentp)
{
	struct sshkey *k = NULL;
	uint8_t *blob = NULL;
	char *comment = NULL;
	size_t bloblen = 0, i, tstart, tlen, bstart, blen, cstart, cend;
	int r = TSS_E_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (commentp != NULL)
		*commentp = NULL;
	if (line == NULL || keyp == NULL)
		return TSS_E_INVALID_ARGUMENT;
	r = TSS_E_INVALID_PUBLIC_KEY;
	if (len > SSHKEY_LINE_MAX) {
		log_debug("sshkey: line of %zu bytes", len);
		goto out;
	}
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			log_debug("sshkey: control byte in key line");
			goto out;
		}
	}
	for (i = 0; i < len && is_ws(line[i]); i++)
		;
	tstart = i;
	for (; i < len && !is_ws(line[i]); i++)
		;
	tlen = i - tstart;
	for (; i < len && is_ws(line[i]); i++)
		;
	bstart = i;
	for (; i < len && !is_ws(line[i]); i++)
		;
	blen = i - bstart;
	for (; i < len && is_ws(line[i]); i++)
		;
	cstart = i;
	for (cend = len; cend > cstart && is_ws(line[cend - 1]); cend--)
		;
	if (tlen == 0 || blen == 0)
		goto out;
	if (keytype_by_name(line + tstart, tlen) == NULL) {
		r = refused_type(line + tstart, tlen) ?
		    TSS_E_WEAK_KEY : TSS_E_INVALID_PUBLIC_KEY;
		log_debug("sshkey: line type refused or unknown");
		goto out;
	}
	if ((r = b64_decode(line + bstart, blen, &blob, &bloblen)) != 0) {
		r = (r == TSS_E_NOMEM) ? r : TSS_E_INVALID_PUBLIC_KEY;
		log_debug("sshkey: bad base64 in key line");
		goto out;
	}
	if ((r = sshkey_from_blob(blob, bloblen, &k)) != 0)
		goto out;
	if (strlen(sshkey_type_name(k)) != tlen ||
	    memcmp(sshkey_type_name(k), line + tstart, tlen) != 0) {
		log_debug("sshkey: line type differs from blob type");
		r = TSS_E_INVALID_PUBLIC_KEY;
		goto out;
	}
	if (commentp != NULL) {
		if ((comment = mem_malloc(cend - cstart + 1)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		memcpy(comment, line + cstart, cend - cstart);
		comment[cend - cstart] = '\0';
		*commentp = comment;
		comment = NULL;	/* transferred */
	}
	*keyp = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	free(blob);
	free(comment);
	sshkey_free(k);
	return r;
}

void
sshkey_free(struct sshkey *k)
{
	if (k == NULL)
		return;
	free(k->blob);
	free(k->application);
	free(k);
}

enum sshkey_type
sshkey_type(const struct sshkey *k)
{
	return k->type;
}

const char *
sshkey_type_name(const struct sshkey *k)
{
	return keytype_of(k)->name;
}

const char *
sshkey_cert_type_name(const struct sshkey *k)
{
	return keytype_of(k)->cert_name;
}

unsigned int
sshkey_bits(const struct sshkey *k)
{
	return k->bits;
}

const uint8_t *
sshkey_blob(const struct sshkey *k, size_t *lenp)
{
	*lenp = k->bloblen;
	return k->blob;
}

const uint8_t *
sshkey_cert_body(const struct sshkey *k, size_t *lenp)
{
	*lenp = k->bloblen - k->body_off;
	return k->blob + k->body_off;
}

const char *
sshkey_sk_application(const struct sshkey *k)
{
	return k->application;
}

int
sshkey_equal(const struct sshkey *a, const struct sshkey *b)
{
	return a != NULL && b != NULL && a->bloblen == b->bloblen &&
	    memcmp(a->blob, b->blob, a->bloblen) == 0;
}

int
sshkey_fingerprint(const struct sshkey *k, char fp[SSHKEY_FP_MAX])
{
	uint8_t md[SHA256_LEN];
	char *b64 = NULL;
	size_t n;
	int r = TSS_E_INTERNAL;

	if (k == NULL || fp == NULL)
		return TSS_E_INVALID_ARGUMENT;
	fp[0] = '\0';
	if ((r = sha256(k->blob, k->bloblen, md)) != 0 ||
	    (r = b64_encode(md, sizeof(md), &b64)) != 0)
		goto out;
	/* ssh-keygen prints the base64 without its '=' padding. */
	for (n = strlen(b64); n > 0 && b64[n - 1] == '='; n--)
		b64[n - 1] = '\0';
	if ((size_t)snprintf(fp, SSHKEY_FP_MAX, "SHA256:%s", b64) >=
	    SSHKEY_FP_MAX) {
		fp[0] = '\0';
		r = TSS_E_INTERNAL;
		goto out;
	}
	r = 0;
 out:
	free(b64);
	return r;
}

int
sshkey_line(const char *type, const uint8_t *blob, size_t len,
    const char *comment, char **linep)
{
	char *b64 = NULL, *line = NULL;
	size_t need, i;
	int n, r = TSS_E_INTERNAL;

	if (linep != NULL)
		*linep = NULL;
	if (type == NULL || blob == NULL || linep == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (comment == NULL)
		comment = "";
	for (i = 0; comment[i] != '\0'; i++) {
		unsigned char c = (unsigned char)comment[i];

		if (c < 0x20 || c == 0x7f)
			return TSS_E_INVALID_ARGUMENT;
	}
	if ((r = b64_encode(blob, len, &b64)) != 0)
		goto out;
	need = strlen(type) + 1 + strlen(b64) + 1 + strlen(comment) + 1;
	if ((line = mem_malloc(need)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	n = snprintf(line, need, "%s %s%s%s", type, b64,
	    *comment != '\0' ? " " : "", comment);
	if (n < 0 || (size_t)n >= need) {
		r = TSS_E_INTERNAL;
		goto out;
	}
	*linep = line;
	line = NULL;	/* transferred */
	r = 0;
 out:
	free(b64);
	free(line);
	return r;
}

int
sshkey_to_line(const struct sshkey *k, const char *comment, char **linep)
{
	if (linep != NULL)
		*linep = NULL;
	if (k == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return sshkey_line(sshkey_type_name(k), k->blob, k->bloblen, comment,
	    linep);
}
