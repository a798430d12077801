/*
 * cakey: CA private key generation, key files and signatures.
 *
 * The openssh-key-v1 format (PROTOCOL.key) is written and read here for
 * unencrypted keys only; PEM goes through OpenSSL's decoders.  Private
 * fields only ever pass through secret buffers or memory wiped before it
 * is freed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"

#include "cakey.h"
#include "sshkey.h"

#define OPENSSH_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END	"-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC	"openssh-key-v1"	/* followed by its NUL */
#define OPENSSH_WRAP	70
#define OPENSSH_BLOCK	8	/* cipher "none" block size */
#define ED25519_LEN	32

struct cakey {
	enum cakey_alg alg;
	EVP_PKEY *pkey;
	struct sshkey *pub;
	size_t rsa_len;			/* RSA: modulus bytes */
	pthread_mutex_t lock;		/* guards spare */
	EVP_MD_CTX *spare;		/* one reusable signing context */
};

/* ---- public half ---------------------------------------------------- */

static int
put_bn(struct buf *b, const BIGNUM *bn)
{
	uint8_t *p = NULL;
	int n, r = TSS_E_INTERNAL;

	if ((n = BN_num_bytes(bn)) < 0)
		return TSS_E_CRYPTO;
	if ((p = malloc((size_t)n + 1)) == NULL)
		return TSS_E_NOMEM;
	if (BN_bn2bin(bn, p) != n) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	r = buf_put_bignum2_bytes(b, p, (size_t)n);
 out:
	OPENSSL_cleanse(p, (size_t)n + 1);
	free(p);
	return r;
}

static int
put_bn_param(struct buf *b, const EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	int r;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return TSS_E_CRYPTO;
	r = put_bn(b, bn);
	BN_clear_free(bn);
	return r;
}

static int
put_ec_point(struct buf *b, const EVP_PKEY *pkey)
{
	uint8_t q[1 + 2 * 66];
	size_t qlen = 0;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    q, sizeof(q), &qlen) != 1 || qlen == 0 ||
	    q[0] != POINT_CONVERSION_UNCOMPRESSED)
		return TSS_E_CRYPTO;
	return buf_put_string(b, q, qlen);
}

static int
public_blob(const EVP_PKEY *pkey, enum cakey_alg alg, struct buf *b)
{
	uint8_t pk[ED25519_LEN];
	size_t pklen = sizeof(pk);
	int r = TSS_E_INTERNAL;

	switch (alg) {
	case CAKEY_ED25519:
		if (EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) != 1 ||
		    pklen != sizeof(pk))
			return TSS_E_CRYPTO;
		if ((r = buf_put_cstring(b, "ssh-ed25519")) != 0 ||
		    (r = buf_put_string(b, pk, pklen)) != 0)
			return r;
		return 0;
	case CAKEY_ECDSA_P256:
		if ((r = buf_put_cstring(b, "ecdsa-sha2-nistp256")) != 0 ||
		    (r = buf_put_cstring(b, "nistp256")) != 0 ||
		    (r = put_ec_point(b, pkey)) != 0)
			return r;
		return 0;
	case CAKEY_RSA:
		if ((r = buf_put_cstring(b, "ssh-rsa")) != 0 ||
		    (r = put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_E)) != 0 ||
		    (r = put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_N)) != 0)
			return r;
		return 0;
	}
	return TSS_E_INTERNAL;
}

static int
pkey_alg(const EVP_PKEY *pkey, enum cakey_alg *algp)
{
	char group[64];
	size_t glen = 0;
	int bits, nid;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*algp = CAKEY_ED25519;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group),
		    &glen) != 1)
			return TSS_E_UNSUPPORTED;
		if ((nid = OBJ_sn2nid(group)) == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != NID_X9_62_prime256v1)
			return TSS_E_UNSUPPORTED;
		*algp = CAKEY_ECDSA_P256;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < CAKEY_RSA_MIN_BITS)
			return TSS_E_WEAK_KEY;
		if (bits > CAKEY_RSA_MAX_BITS)
			return TSS_E_UNSUPPORTED;
		*algp = CAKEY_RSA;
		return 0;
	}
	return TSS_E_UNSUPPORTED;
}

/* Wrap pkey (ownership taken, also on failure) into a cakey. */
static int
cakey_from_pkey(EVP_PKEY *pkey, struct cakey **cap)
{
	struct cakey *ca = NULL;
	struct buf *b = NULL;
	enum cakey_alg alg = CAKEY_ED25519;
	int r = TSS_E_INTERNAL;

	*cap = NULL;
	if ((r = pkey_alg(pkey, &alg)) != 0)
		goto out;
	if ((b = buf_new()) == NULL || (ca = calloc(1, sizeof(*ca))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&ca->lock, NULL) != 0) {
		free(ca);
		ca = NULL;
		r = TSS_E_INTERNAL;
		goto out;
	}
	ca->alg = alg;
	ca->pkey = pkey;
	pkey = NULL;	/* transferred */
	if (alg == CAKEY_RSA)
		ca->rsa_len = (size_t)EVP_PKEY_get_size(ca->pkey);
	if ((r = public_blob(ca->pkey, alg, b)) != 0)
		goto out;
	if ((r = sshkey_from_blob(buf_ptr(b), buf_len(b), &ca->pub)) != 0) {
		r = TSS_E_INTERNAL;	/* our own blob must parse */
		goto out;
	}
	*cap = ca;
	ca = NULL;	/* transferred */
	r = 0;
 out:
	EVP_PKEY_free(pkey);
	cakey_free(ca);
	buf_free(b);
	return r;
}

int
cakey_generate(enum cakey_alg alg, unsigned int rsa_bits, struct cakey **cap)
{
	EVP_PKEY *pkey = NULL;

	if (cap == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*cap = NULL;
	switch (alg) {
	case CAKEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case CAKEY_ECDSA_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case CAKEY_RSA:
		if (rsa_bits == 0)
			rsa_bits = CAKEY_RSA_MIN_BITS;
		if (rsa_bits < CAKEY_RSA_MIN_BITS)
			return TSS_E_WEAK_KEY;
		if (rsa_bits > CAKEY_RSA_MAX_BITS)
			return TSS_E_INVALID_ARGUMENT;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
		break;
	default:
		return TSS_E_INVALID_ARGUMENT;
	}
	if (pkey == NULL)
		return TSS_E_CRYPTO;
	return cakey_from_pkey(pkey, cap);
}

void
cakey_free(struct cakey *ca)
{
	if (ca == NULL)
		return;
	EVP_MD_CTX_free(ca->spare);
	EVP_PKEY_free(ca->pkey);
	sshkey_free(ca->pub);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

enum cakey_alg
cakey_alg(const struct cakey *ca)
{
	return ca->alg;
}

const struct sshkey *
cakey_public(const struct cakey *ca)
{
	return ca->pub;
}

const char *
cakey_sig_alg(const struct cakey *ca)
{
	switch (ca->alg) {
	case CAKEY_ED25519:
		return "ssh-ed25519";
	case CAKEY_ECDSA_P256:
		return "ecdsa-sha2-nistp256";
	case CAKEY_RSA:
		return "rsa-sha2-512";
	}
	return "";
}

/* ---- signing -------------------------------------------------------- */

static int
sign_ecdsa_sig(const uint8_t *der, size_t derlen, struct buf *out)
{
	ECDSA_SIG *sig = NULL;
	const BIGNUM *sr = NULL, *ss = NULL;
	const unsigned char *p = der;
	struct buf *inner = NULL;
	int r = TSS_E_INTERNAL;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	ECDSA_SIG_get0(sig, &sr, &ss);
	if ((inner = buf_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = put_bn(inner, sr)) != 0 || (r = put_bn(inner, ss)) != 0 ||
	    (r = buf_put_cstring(out, "ecdsa-sha2-nistp256")) != 0 ||
	    (r = buf_put_stringb(out, inner)) != 0)
		goto out;
	r = 0;
 out:
	ECDSA_SIG_free(sig);
	buf_free(inner);
	return r;
}

static int
sign_with(struct cakey *ca, EVP_MD_CTX *ctx, const void *data, size_t len,
    struct buf *out)
{
	uint8_t sig[1024];	/* RSA 8192 = 1024 bytes; ECDSA DER < 80 */
	size_t siglen = sizeof(sig), pad;
	const EVP_MD *md = NULL;
	int r = TSS_E_INTERNAL;

	if (ca->alg == CAKEY_ECDSA_P256)
		md = EVP_sha256();
	else if (ca->alg == CAKEY_RSA)
		md = EVP_sha512();
	/* Re-initialising resets the context; the key stays parsed. */
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, ca->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, data, len) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	switch (ca->alg) {
	case CAKEY_ED25519:
		if ((r = buf_put_cstring(out, "ssh-ed25519")) != 0 ||
		    (r = buf_put_string(out, sig, siglen)) != 0)
			goto out;
		break;
	case CAKEY_ECDSA_P256:
		if ((r = sign_ecdsa_sig(sig, siglen, out)) != 0)
			goto out;
		break;
	case CAKEY_RSA:
		/* OpenSSH wants exactly the modulus length, zero-padded. */
		if (siglen > ca->rsa_len) {
			r = TSS_E_CRYPTO;
			goto out;
		}
		pad = ca->rsa_len - siglen;
		memmove(sig + pad, sig, siglen);
		memset(sig, 0, pad);
		if ((r = buf_put_cstring(out, "rsa-sha2-512")) != 0 ||
		    (r = buf_put_string(out, sig, ca->rsa_len)) != 0)
			goto out;
		break;
	}
	r = 0;
 out:
	return r;
}

int
cakey_sign(struct cakey *ca, const void *data, size_t len, struct buf *out)
{
	EVP_MD_CTX *ctx = NULL;
	int r = TSS_E_INTERNAL, locked = 0;

	if (ca == NULL || (data == NULL && len != 0) || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	/*
	 * Reuse the spare context when nobody else holds it; a contended
	 * signer makes its own rather than wait.
	 */
	if (pthread_mutex_trylock(&ca->lock) == 0) {
		locked = 1;
		if (ca->spare == NULL)
			ca->spare = EVP_MD_CTX_new();
		ctx = ca->spare;
	} else
		ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = sign_with(ca, ctx, data, len, out);
 out:
	if (locked)
		pthread_mutex_unlock(&ca->lock);
	else
		EVP_MD_CTX_free(ctx);
	return r;
}

/* ---- openssh-key-v1 ------------------------------------------------- */

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
	if ((b64 = malloc(end - start + 1)) == NULL) {
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

static int
parse_openssh(const char *text, size_t len, struct cakey **cap)
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
	r = cakey_from_pkey(pkey, &ca);
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
		    (r = put_ec_point(p, ca->pkey)) != 0 ||
		    (r = put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_PRIV_KEY)) != 0)
			goto out;
		break;
	case CAKEY_RSA:
		if ((r = buf_put_cstring(p, "ssh-rsa")) != 0 ||
		    (r = put_bn_param(p, ca->pkey, OSSL_PKEY_PARAM_RSA_N)) != 0 ||
		    (r = put_bn_param(p, ca->pkey, OSSL_PKEY_PARAM_RSA_E)) != 0 ||
		    (r = put_bn_param(p, ca->pkey, OSSL_PKEY_PARAM_RSA_D)) != 0 ||
		    (r = put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_COEFFICIENT1)) != 0 ||
		    (r = put_bn_param(p, ca->pkey,
		    OSSL_PKEY_PARAM_RSA_FACTOR1)) != 0 ||
		    (r = put_bn_param(p, ca->pkey,
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
static int
openssh_text(const struct cakey *ca, const char *comment, struct buf *out)
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

/* ---- files ---------------------------------------------------------- */

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;	/* encrypted PEM keys are refused */
}

int
cakey_parse(const void *data, size_t len, struct cakey **cap)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	const char *text = data;
	int r = TSS_E_INTERNAL;

	if (cap != NULL)
		*cap = NULL;
	if (data == NULL || cap == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (len > CAKEY_FILE_MAX)
		return TSS_E_TOO_LARGE;
	if (len >= strlen(OPENSSH_BEGIN) &&
	    memcmp(text, OPENSSH_BEGIN, strlen(OPENSSH_BEGIN)) == 0) {
		r = parse_openssh(text, len, cap);
		goto out;
	} else {
		if (memmem(text, len, "ENCRYPTED", 9) != NULL) {
			r = TSS_E_UNSUPPORTED;
			goto out;
		}
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password,
		    NULL)) == NULL) {
			r = TSS_E_BAD_FORMAT;
			goto out;
		}
	}
	r = cakey_from_pkey(pkey, cap);
	pkey = NULL;	/* consumed */
 out:
	if (r != 0)
		ERR_clear_error();	/* the reason is r; drop OpenSSL's queue */
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

int
cakey_load(const char *path, struct cakey **cap)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, cap_len = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_INTERNAL;

	if (cap != NULL)
		*cap = NULL;
	if (path == NULL || cap == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		r = (errno == ENOENT) ? TSS_E_NOT_FOUND :
		    (errno == EACCES) ? TSS_E_PERMISSION : TSS_E_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("CA key %s is accessible by group or others", path);
		r = TSS_E_KEY_PERMS;
		goto out;
	}
	if (st.st_size > CAKEY_FILE_MAX) {
		r = TSS_E_TOO_LARGE;
		goto out;
	}
	cap_len = (size_t)st.st_size + 1;
	if ((data = malloc(cap_len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	while (len < cap_len) {
		n = read(fd, data + len, cap_len - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = TSS_E_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap_len) {	/* grew while we read */
		r = TSS_E_IO;
		goto out;
	}
	r = cakey_parse(data, len, cap);
 out:
	if (data != NULL)
		OPENSSL_cleanse(data, cap_len);
	free(data);
	if (fd != -1)
		close(fd);
	return r;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return TSS_E_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cakey_save(const struct cakey *ca, const char *path, enum cakey_format fmt,
    const char *comment)
{
	struct buf *text = NULL;
	BIO *bio = NULL;
	int fd = -1, created = 0, r = TSS_E_INTERNAL;

	if (ca == NULL || path == NULL ||
	    (fmt != CAKEY_FORMAT_OPENSSH && fmt != CAKEY_FORMAT_PEM))
		return TSS_E_INVALID_ARGUMENT;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		r = (errno == EEXIST) ? TSS_E_CONFLICT :
		    (errno == EACCES) ? TSS_E_PERMISSION : TSS_E_IO;
		goto out;
	}
	created = 1;
	if (fchmod(fd, 0600) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	if (fmt == CAKEY_FORMAT_OPENSSH) {
		if ((text = buf_new_secret()) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = openssh_text(ca, comment, text)) != 0 ||
		    (r = write_all(fd, buf_ptr(text), buf_len(text))) != 0)
			goto out;
	} else {
		if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if (PEM_write_bio_PrivateKey(bio, ca->pkey, NULL, NULL, 0,
		    NULL, NULL) != 1 || BIO_flush(bio) != 1) {
			r = TSS_E_IO;
			goto out;
		}
	}
	if (fsync(fd) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	r = 0;
 out:
	BIO_free(bio);
	buf_free(text);
	if (fd != -1 && close(fd) != 0 && r == 0)
		r = TSS_E_IO;
	if (r != 0 && created)
		unlink(path);
	return r;
}
