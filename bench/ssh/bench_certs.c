/*
 * ssh-certs benchmark: certificates built and signed per second on one
 * core, against raw signatures per second with the same OpenSSL and key,
 * for each CA algorithm.  Rates use this thread's CPU time, so other load
 * on the machine changes little; raw and certificate rounds alternate so
 * drift hits both alike.
 *
 * "raw" is the cheapest way to make one signature through EVP with a
 * loaded key: one EVP_MD_CTX, EVP_DigestSignInit + EVP_DigestSign per
 * signature, over a message of the certificate's to-be-signed size.
 * "fresh ctx" is the same with a new EVP_MD_CTX per signature.
 * "cert" is cert_sign (CSPRNG nonce, assembly, signature) + cert_to_line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sshca/cakey.h"
#include "sshca/cert.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/err.h"

#define ROUNDS		10
#define ROUND_SECONDS	0.2

struct raw_signer {
	EVP_PKEY *pkey;
	const EVP_MD *md;
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *
gen_same(enum cakey_alg alg)
{
	switch (alg) {
	case CAKEY_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case CAKEY_ECDSA_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case CAKEY_RSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	}
	return NULL;
}

/* fresh: a new EVP_MD_CTX per signature (what cakey avoids). */
static double
raw_round(EVP_MD_CTX *ctx, const struct raw_signer *s, const uint8_t *msg,
    size_t len, int fresh)
{
	uint8_t sig[1024];
	size_t siglen;
	double t0 = cpu_now(), t;
	unsigned long n = 0;
	EVP_MD_CTX *c;

	do {
		siglen = sizeof(sig);
		c = fresh ? EVP_MD_CTX_new() : ctx;
		if (c == NULL ||
		    EVP_DigestSignInit(c, NULL, s->md, NULL, s->pkey) != 1 ||
		    EVP_DigestSign(c, sig, &siglen, msg, len) != 1) {
			fprintf(stderr, "raw signature failed\n");
			exit(1);
		}
		if (fresh)
			EVP_MD_CTX_free(c);
		n++;
	} while ((t = cpu_now() - t0) < ROUND_SECONDS);
	return (double)n / t;
}

static double
cert_round(struct cakey *ca, const struct cert_request *req)
{
	double t0 = cpu_now(), t;
	unsigned long n = 0;
	struct buf *cert;
	char *line;

	do {
		cert = NULL;
		line = NULL;
		if (cert_sign(ca, req, &cert) != 0 ||
		    cert_to_line(buf_ptr(cert), buf_len(cert), NULL,
		    &line) != 0) {
			fprintf(stderr, "cert_sign failed\n");
			exit(1);
		}
		free(line);
		buf_free(cert);
		n++;
	} while ((t = cpu_now() - t0) < ROUND_SECONDS);
	return (double)n / t;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
bench(const char *label, enum cakey_alg alg, const struct sshkey *user)
{
	static const char *principals[] = { "app@prod/api" };
	static const char *ext[] = { "permit-pty" };
	struct cakey *ca = NULL;
	struct raw_signer s;
	struct cert_request req;
	struct buf *probe = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *msg;
	size_t len;
	double raw[ROUNDS], fresh[ROUNDS], certs[ROUNDS], r, f, c;
	int i;

	if (cakey_generate(alg, 0, &ca) != 0 || ctx == NULL ||
	    (s.pkey = gen_same(alg)) == NULL) {
		fprintf(stderr, "%s: key generation failed\n", label);
		exit(1);
	}
	s.md = alg == CAKEY_ED25519 ? NULL :
	    alg == CAKEY_RSA ? EVP_sha512() : EVP_sha256();
	memset(&req, 0, sizeof(req));
	req.key = user;
	req.serial = 12345;
	req.username = "alice";
	req.principals = principals;
	req.nprincipals = 1;
	req.valid_after = 1700000000;
	req.valid_before = 1700003600;
	req.extensions = ext;
	req.nextensions = 1;
	/* Raw signatures over a message as long as a real TBS. */
	if (cert_sign(ca, &req, &probe) != 0) {
		fprintf(stderr, "%s: cert_sign failed\n", label);
		exit(1);
	}
	len = buf_len(probe);
	msg = malloc(len);
	if (msg == NULL || RAND_bytes(msg, (int)len) != 1)
		exit(1);
	for (i = 0; i < ROUNDS; i++) {
		raw[i] = raw_round(ctx, &s, msg, len, 0);
		certs[i] = cert_round(ca, &req);
		fresh[i] = raw_round(ctx, &s, msg, len, 1);
	}
	r = median(raw, ROUNDS);
	f = median(fresh, ROUNDS);
	c = median(certs, ROUNDS);
	printf("%-14s raw signatures/s %8.0f (fresh ctx %8.0f)   "
	    "certificates/s %8.0f   ratio %5.1f%%\n", label, r, f, c,
	    100.0 * c / r);
	free(msg);
	buf_free(probe);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(s.pkey);
	cakey_free(ca);
	return c / r;
}

int
main(void)
{
	struct cakey *userkey = NULL;
	double ratio;

	/* Any Ed25519 public key serves as the user's key. */
	if (cakey_generate(CAKEY_ED25519, 0, &userkey) != 0)
		return 1;
	printf("ssh-certs: one thread, CPU time, median of %d rounds of "
	    "%.2f s; %s\n", ROUNDS, ROUND_SECONDS,
	    OpenSSL_version(OPENSSL_VERSION));
	ratio = bench("Ed25519 CA", CAKEY_ED25519, cakey_public(userkey));
	bench("ECDSA P-256 CA", CAKEY_ECDSA_P256, cakey_public(userkey));
	bench("RSA-3072 CA", CAKEY_RSA, cakey_public(userkey));
	printf("Ed25519 target (certificates >= 80%% of raw signatures): %s "
	    "(%.1f%%)\n", ratio >= 0.80 ? "met" : "MISSED", 100.0 * ratio);
	cakey_free(userkey);
	return 0;
}
