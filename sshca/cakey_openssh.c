/*
 * cakey: the openssh-key-v1 format (PROTOCOL.key), written and read here
 * for unencrypted keys only (PEM goes through OpenSSL, cakey_file.c).
 * Private fields only ever pass through secret buffers or memory wiped
 * before it is freed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"

#include "cakey.h"
#include "cakey_int.h"
#include "sshkey.h"

#define OPENSSH_END	"-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC	"openssh-key-v1"	/* followed by its NUL */
#define OPENSSH_WRAP	70
#define OPENSSH_BLOCK	8	/* cipher "none" block size */

static int
get_fixed(struct buf *b, size_t want, const uint8_t **pp)
{
	size_t len;
	int r;

	if ((r = buf_get_string_direct(b, pp, &len)) != 0)
		return r;
	return len == want ? 0 : TSS_E_BAD_FORMAT;
}

static BIGNUM *
bn_from(const uint8_t *p, size_t len)
{
	BIGNUM *bn = BN_secure_new();

	if (bn != NULL && BN_bin2bn(p, (int)len, bn) == NULL) {
		BN_clear_free(bn);
		bn = NULL;
	}
	return bn;
}

static int
fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **pkeyp)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL, *check = NULL;
	int r = TSS_E_CRYPTO;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, pkeyp, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	/* The private half must match the public one. */
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, *pkeyp, NULL)) == NULL ||
	    EVP_PKEY_pairwise_check(check) != 1) {
		EVP_PKEY_free(*pkeyp);
		*pkeyp = NULL;
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	r = 0;
 out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);	/* clears the secure block of BN values */
	return r;
}

static int
read_ecdsa_priv(struct buf *p, EVP_PKEY **pkeyp)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *d = NULL;
	const uint8_t *curve, *q, *dp;
	size_t clen, qlen, dlen;
	int r = TSS_E_BAD_FORMAT;

	if ((r = buf_get_string_direct(p, &curve, &clen)) != 0 ||
	    (r = buf_get_string_direct(p, &q, &qlen)) != 0 ||
	    (r = buf_get_bignum2_direct(p, &dp, &dlen)) != 0)
		goto out;
	if (clen != 8 || memcmp(curve, "nistp256", 8) != 0) {
		r = TSS_E_UNSUPPORTED;
		goto out;
	}
	if ((d = bn_from(dp, dlen)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "P-256", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    q, qlen) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = fromdata("EC", bld, pkeyp);
 out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return r;
}

static int
read_rsa_priv(struct buf *p, EVP_PKEY **pkeyp)
{
	static const char *names[] = { OSSL_PKEY_PARAM_RSA_N,
	    OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2 };
	enum { N, E, D, IQMP, P, Q, DMP1, DMQ1, NBN };
	BIGNUM *bn[NBN] = { NULL }, *tmp = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	BN_CTX *bnctx = NULL;
	const uint8_t *v;
	size_t vlen, i;
	int r = TSS_E_BAD_FORMAT;

	/* openssh order: n, e, d, iqmp, p, q */
	for (i = 0; i < 6; i++) {
		if ((r = buf_get_bignum2_direct(p, &v, &vlen)) != 0)
			goto out;
		if ((bn[i] = bn_from(v, vlen)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	if ((bnctx = BN_CTX_secure_new()) == NULL ||
	    (tmp = BN_secure_new()) == NULL ||
	    (bn[DMP1] = BN_secure_new()) == NULL ||
	    (bn[DMQ1] = BN_secure_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	BN_set_flags(bn[D], BN_FLG_CONSTTIME);
	if (BN_sub(tmp, bn[P], BN_value_one()) != 1 ||
	    BN_mod(bn[DMP1], bn[D], tmp, bnctx) != 1 ||
	    BN_sub(tmp, bn[Q], BN_value_one()) != 1 ||
	    BN_mod(bn[DMQ1], bn[D], tmp, bnctx) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < 6; i++) {
		if (OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) != 1) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    bn[DMP1]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    bn[DMQ1]) != 1) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = fromdata("RSA", bld, pkeyp);
 out:
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < NBN; i++)
		BN_clear_free(bn[i]);
	BN_clear_free(tmp);
	BN_CTX_free(bnctx);
	return r;
}

static int
read_ed25519_priv(struct buf *p, EVP_PKEY **pkeyp)
{
	const uint8_t *pk, *sk;
	uint8_t derived[ED25519_LEN];
	size_t dlen = sizeof(derived);
	EVP_PKEY *pkey = NULL;
	int r = TSS_E_BAD_FORMAT;

	if ((r = get_fixed(p, ED25519_LEN, &pk)) != 0 ||
	    (r = get_fixed(p, 2 * ED25519_LEN, &sk)) != 0)
		goto out;
	/* sk is seed || public key */
	if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk,
	    ED25519_LEN)) == NULL) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, derived, &dlen) != 1 ||
	    dlen != ED25519_LEN || memcmp(derived, pk, ED25519_LEN) != 0 ||
	    memcmp(sk + ED25519_LEN, pk, ED25519_LEN) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	*pkeyp = pkey;
	pkey = NULL;	/* transferred */
	r = 0;
 out:
	EVP_PKEY_free(pkey);
	return r;
}

static int
expect_cstring(struct buf *b, const char *want)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = buf_get_string_direct(b, &p, &len)) != 0)
		return r;
	return (len == strlen(want) && memcmp(p, want, len) == 0) ?
	    0 : TSS_E_UNSUPPORTED;
}

/* Decode the armoured text (len bytes) into the raw openssh-key-v1 blob. */
static int
openssh_unarmour(const char *text, size_t len, uint8_t **blobp,
    size_t *bloblenp)
{
	char *b64 = NULL;
	size_t i, n = 0, start = strlen(OPENSSH_BEGIN), end;
	const char *e;
	int r = TSS_E_BAD_FORMAT;

	*blobp = NULL;
	*bloblenp = 0;
	if (len < start || memcmp(text, OPENSSH_BEGIN, start) != 0)
		goto out;
	e = memmem(text, len, OPENSSH_END, strlen(OPENSSH_END));
	if (e == NULL)
		goto out;
	end = (size_t)(e - text);
	if ((b64 = mem_malloc(end - start + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = start; i < end; i++) {
		if (text[i] == '\n' || text[i] == '\r')
			continue;
		b64[n++] = text[i];
	}
	if ((r = b64_decode(b64, n, blobp, bloblenp)) != 0) {
		r = (r == TSS_E_NOMEM) ? r : TSS_E_BAD_FORMAT;
		goto out;
	}
	r = 0;
 out:
	if (b64 != NULL)
		OPENSSL_cleanse(b64, end - start + 1);
	free(b64);
	return r;
}

int
cakey_openssh_parse(const char *text, size_t len, struct cakey **cap)
{
	struct buf *b = NULL, *p = NULL;
	uint8_t *blob = NULL, magic[sizeof(OPENSSH_MAGIC)], pad;
	const uint8_t *pub, *ktype, *comment, *derived;
	size_t bloblen = 0, publen, ktlen, commentlen, derivedlen, i;
	uint32_t nkeys, check1, check2;
	EVP_PKEY *pkey = NULL;
	struct cakey *ca = NULL;
	int r = TSS_E_INTERNAL;

	if ((r = openssh_unarmour(text, len, &blob, &bloblen)) != 0)
		goto out;
	if ((b = buf_from(blob, bloblen)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_get(b, magic, sizeof(magic))) != 0)
		goto out;
	if (memcmp(magic, OPENSSH_MAGIC, sizeof(magic)) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	/* cipher and kdf "none": encrypted keys are not for a daemon. */
	if ((r = expect_cstring(b, "none")) != 0 ||
	    (r = expect_cstring(b, "none")) != 0 ||
	    (r = expect_cstring(b, "")) != 0)
		goto out;
	if ((r = buf_get_u32(b, &nkeys)) != 0)
		goto out;
	if (nkeys != 1) {
		r = TSS_E_UNSUPPORTED;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &pub, &publen)) != 0 ||
	    (r = buf_get_stringb(b, &p)) != 0)
		goto out;
	if (buf_len(b) != 0 || buf_len(p) % OPENSSH_BLOCK != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((r = buf_get_u32(p, &check1)) != 0 ||
	    (r = buf_get_u32(p, &check2)) != 0 ||
	    (r = buf_get_string_direct(p, &ktype, &ktlen)) != 0)
		goto out;
	if (check1 != check2) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (ktlen == 11 && memcmp(ktype, "ssh-ed25519", 11) == 0)
		r = read_ed25519_priv(p, &pkey);
	else if (ktlen == 19 && memcmp(ktype, "ecdsa-sha2-nistp256", 19) == 0)
		r = read_ecdsa_priv(p, &pkey);
	else if (ktlen == 7 && memcmp(ktype, "ssh-rsa", 7) == 0)
		r = read_rsa_priv(p, &pkey);
	else
		r = TSS_E_UNSUPPORTED;
	if (r != 0)
		goto out;
	/* comment, then padding 1, 2, 3, ... */
	if ((r = buf_get_string_direct(p, &comment, &commentlen)) != 0)
		goto out;
	for (i = 1; buf_len(p) > 0; i++) {
		if ((r = buf_get_u8(p, &pad)) != 0)
			goto out;
		if (pad != (uint8_t)i || i >= OPENSSH_BLOCK) {
			r = TSS_E_BAD_FORMAT;
			goto out;
		}
	}
	r = cakey__from_pkey(pkey, &ca);
	pkey = NULL;	/* consumed */
	if (r != 0)
		goto out;
	/* The public key stored in clear must be this private key's. */
	derived = sshkey_blob(ca->pub, &derivedlen);
	if (derivedlen != publen || memcmp(derived, pub, publen) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	*cap = ca;
	ca = NULL;	/* transferred */
	r = 0;
 out:
	cakey_free(ca);
	EVP_PKEY_free(pkey);
	buf_free(p);
	buf_free(b);
	if (blob != NULL)
		OPENSSL_cleanse(blob, bloblen);
	free(blob);
	return r;
}

static int
put_private_fields(struct buf *p, const struct cakey *ca)
{
	uint8_t sk[2 * ED25519_LEN];
	size_t len = ED25519_LEN, publen;
	const uint8_t *pubblob;
	struct buf *pb = NULL;
	const uint8_t *pk;
	size_t pklen;
	int r = TSS_E_INTERNAL;

	switch (ca->alg) {
	case CAKEY_ED25519:
		pubblob = sshkey_blob(ca->pub, &publen);
		if ((pb = buf_from(pubblob, publen)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = buf_get_string_direct(pb, &pk, &pklen)) != 0 ||
		    (r = buf_get_string_direct(pb, &pk, &pklen)) != 0)
			goto out;
		if (EVP_PKEY_get_raw_private_key(ca->pkey, sk, &len) != 1 ||
		    len != ED25519_LEN || pklen != ED25519_LEN) {
			r = TSS_E_CRYPTO;
			goto out;
		}
		memcpy(sk + ED25519_LEN, pk, ED25519_LEN);
		if ((r = buf_put_cstring(p, "ssh-ed25519")) != 0 ||
		    (r = buf_put_string(p, pk, pklen)) != 0 ||
		    (r = buf_put_string(p, sk, sizeof(sk))) != 0)
			goto out;
		break;
	case CAKEY_ECDSA_P256:
		if ((r = buf_put_cstring(p, "ecdsa-sha2-nistp256")) != 0 ||
		    (r = buf_put_cstring(p, "nistp256")) != 0 ||
		    (r = cakey__put_ec_point(p, ca->pkey)) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_PRIV_KEY)) != 0)
			goto out;
		break;
	case CAKEY_RSA:
		if ((r = buf_put_cstring(p, "ssh-rsa")) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_N)) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_E)) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_D)) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_COEFFICIENT1)) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_FACTOR1)) != 0 ||
		    (r = cakey__put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_FACTOR2)) != 0)
			goto out;
		break;
	}
	r = 0;
 out:
	OPENSSL_cleanse(sk, sizeof(sk));
	buf_free(pb);
	return r;
}

/* Build the armoured openssh-key-v1 text into a secret buffer. */
int
cakey_openssh_text(const struct cakey *ca, const char *comment, struct buf *out)
{
	struct buf *p = NULL, *blob = NULL;
	const uint8_t *pub;
	size_t publen, off, n;
	uint32_t check;
	char *b64 = NULL;
	uint8_t i;
	int r = TSS_E_INTERNAL;

	if ((p = buf_new_secret()) == NULL || (blob = buf_new_secret()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if ((r = buf_put_u32(p, check)) != 0 ||
	    (r = buf_put_u32(p, check)) != 0 ||
	    (r = put_private_fields(p, ca)) != 0 ||
	    (r = buf_put_cstring(p, comment)) != 0)
		goto out;
	for (i = 1; buf_len(p) % OPENSSH_BLOCK != 0; i++) {
		if ((r = buf_put_u8(p, i)) != 0)
			goto out;
	}
	pub = sshkey_blob(ca->pub, &publen);
	if ((r = buf_put(blob, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC))) != 0 ||
	    (r = buf_put_cstring(blob, "none")) != 0 ||
	    (r = buf_put_cstring(blob, "none")) != 0 ||
	    (r = buf_put_cstring(blob, "")) != 0 ||
	    (r = buf_put_u32(blob, 1)) != 0 ||
	    (r = buf_put_string(blob, pub, publen)) != 0 ||
	    (r = buf_put_stringb(blob, p)) != 0)
		goto out;
	if ((r = b64_encode(buf_ptr(blob), buf_len(blob), &b64)) != 0)
		goto out;
	if ((r = buf_put(out, OPENSSH_BEGIN "\n",
	    strlen(OPENSSH_BEGIN) + 1)) != 0)
		goto out;
	n = strlen(b64);
	for (off = 0; off < n; off += OPENSSH_WRAP) {
		if ((r = buf_put(out, b64 + off, n - off < OPENSSH_WRAP ?
		    n - off : OPENSSH_WRAP)) != 0 ||
		    (r = buf_put_u8(out, '\n')) != 0)
			goto out;
	}
	if ((r = buf_put(out, OPENSSH_END "\n", strlen(OPENSSH_END) + 1)) != 0)
		goto out;
	r = 0;
 out:
	if (b64 != NULL)
		OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	buf_free(p);
	buf_free(blob);
	return r;
}
