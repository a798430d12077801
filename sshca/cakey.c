/*
 * cakey: the CA's private key: generation, the public half and
 * signatures.  Key files are cakey_file.c, the openssh-key-v1 format
 * cakey_openssh.c; cakey_int.h holds what they share.  See cakey.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"

#include "cakey.h"
#include "cakey_int.h"
#include "sshkey.h"

/* ---- public half ---------------------------------------------------- */

static int
put_bn(struct buf *b, const BIGNUM *bn)
{
	uint8_t *p = NULL;
	int n, r = TSS_E_INTERNAL;

	if ((n = BN_num_bytes(bn)) < 0)
		return TSS_E_CRYPTO;
	if ((p = mem_malloc((size_t)n + 1)) == NULL)
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

int
cakey__put_bn_param(struct buf *b, const EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	int r;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return TSS_E_CRYPTO;
	r = put_bn(b, bn);
	BN_clear_free(bn);
	return r;
}

int
cakey__put_ec_point(struct buf *b, const EVP_PKEY *pkey)
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
		    (r = cakey__put_ec_point(b, pkey)) != 0)
			return r;
		return 0;
	case CAKEY_RSA:
		if ((r = buf_put_cstring(b, "ssh-rsa")) != 0 ||
		    (r = cakey__put_bn_param(b, pkey,
		    OSSL_PKEY_PARAM_RSA_E)) != 0 ||
		    (r = cakey__put_bn_param(b, pkey,
		    OSSL_PKEY_PARAM_RSA_N)) != 0)
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
int
cakey__from_pkey(EVP_PKEY *pkey, struct cakey **cap)
{
	struct cakey *ca = NULL;
	struct buf *b = NULL;
	enum cakey_alg alg = CAKEY_ED25519;
	int r = TSS_E_INTERNAL;

	*cap = NULL;
	if ((r = pkey_alg(pkey, &alg)) != 0)
		goto out;
	if ((b = buf_new()) == NULL || (ca = mem_calloc(1, sizeof(*ca))) == NULL) {
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
		/* Our own blob must parse: anything but want of memory is
		 * a bug. */
		if (r != TSS_E_NOMEM)
			r = TSS_E_INTERNAL;
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
	return cakey__from_pkey(pkey, cap);
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
