/*
 * auth benchmark (make bench):
 *
 * 1. TOTP verifications per second (totp_verify through liboath, window 1)
 *    beside raw HMAC-SHA1 per second over an 8-byte counter with a 20-byte
 *    key in the same run, on one thread, CPU time: through one keyed
 *    EVP_MAC_CTX re-initialised per MAC (OpenSSL's cheapest path) and
 *    through one-shot HMAC().  A valid code at the current step costs one
 *    HMAC; a wrong code costs the whole window (three).
 * 2. Password verifications per second at the default Argon2id parameters
 *    (m=64 MiB, t=3, p=1), one thread, wall time.
 * 3. Peak RSS while 64 logins run at once through auth_login with the
 *    default parameters and the default limiter (N = online cores): the
 *    bound says at most N x 64 MiB of Argon2 memory.  The peak is VmHWM
 *    after resetting it (/proc/self/clear_refs), so the set-up does not
 *    count.  Throttling is raised out of the way so every login hashes; the
 *    waiting queue is made long enough that none is refused.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/enc.h"
#include "common/err.h"
#include "store/store.h"
#include "auth/enroll.h"
#include "auth/login.h"
#include "auth/password.h"
#include "auth/totp.h"
#include "auth/user.h"

#define ROUND_SECONDS	0.3
#define ROUNDS		5
#define LOGINS		64
#define PASSWORD	"bench password 0123"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One-shot HMAC(): what most code writes; fetches the digest each call. */
static double
rate_hmac_oneshot(const uint8_t *key)
{
	uint8_t msg[8] = { 0 }, out[EVP_MAX_MD_SIZE];
	unsigned int ol;
	double t0 = cpu_now(), t;
	uint64_t n = 0, c = 0;
	int i;

	do {
		for (i = 0; i < 1000; i++) {
			msg[7] = (uint8_t)c;
			msg[6] = (uint8_t)(c >> 8);
			c++;
			HMAC(EVP_sha1(), key, 20, msg, sizeof(msg), out, &ol);
		}
		n += 1000;
		t = cpu_now() - t0;
	} while (t < ROUND_SECONDS);
	return (double)n / t;
}

/* The cheapest OpenSSL path: one keyed EVP_MAC_CTX, re-initialised. */
static double
rate_hmac_reuse(const uint8_t *key)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	uint8_t msg[8] = { 0 }, out[EVP_MAX_MD_SIZE];
	size_t ol;
	double t0, t;
	uint64_t n = 0, c = 0;
	int i;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (mac == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, 20, params) != 1) {
		fprintf(stderr, "EVP_MAC set-up failed\n");
		exit(1);
	}
	t0 = cpu_now();
	do {
		for (i = 0; i < 1000; i++) {
			msg[7] = (uint8_t)c;
			msg[6] = (uint8_t)(c >> 8);
			c++;
			EVP_MAC_init(ctx, NULL, 0, NULL);
			EVP_MAC_update(ctx, msg, sizeof(msg));
			EVP_MAC_final(ctx, out, &ol, sizeof(out));
		}
		n += 1000;
		t = cpu_now() - t0;
	} while (t < ROUND_SECONDS);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return (double)n / t;
}

static double
rate_totp(const uint8_t *key, const char *code, int64_t now)
{
	double t0 = cpu_now(), t;
	uint64_t n = 0, step;
	int i;

	do {
		for (i = 0; i < 1000; i++)
			(void)totp_verify(key, 20, code, now, 1, &step);
		n += 1000;
		t = cpu_now() - t0;
	} while (t < ROUND_SECONDS);
	return (double)n / t;
}

static void
bench_totp(void)
{
	uint8_t key[20];
	double hm[ROUNDS], h1[ROUNDS], ok[ROUNDS], bad[ROUNDS];
	char code[7], wrong[7];
	const int64_t now = 1700000000;
	uint64_t step;
	int i;

	RAND_bytes(key, sizeof(key));
	totp_generate(key, sizeof(key), now, 6, code);
	/* A code that matches no step in the window. */
	memcpy(wrong, code, sizeof(wrong));
	do {
		wrong[0] = (char)('0' + (wrong[0] - '0' + 1) % 10);
	} while (totp_verify(key, 20, wrong, now, 1, &step) == 0);
	for (i = 0; i < ROUNDS; i++) {
		hm[i] = rate_hmac_reuse(key);
		h1[i] = rate_hmac_oneshot(key);
		ok[i] = rate_totp(key, code, now);
		bad[i] = rate_totp(key, wrong, now);
	}
	qsort(hm, ROUNDS, sizeof(double), cmp_double);
	qsort(h1, ROUNDS, sizeof(double), cmp_double);
	qsort(ok, ROUNDS, sizeof(double), cmp_double);
	qsort(bad, ROUNDS, sizeof(double), cmp_double);
	printf("totp: one thread, CPU time, median of %d rounds of %.1f s\n",
	    ROUNDS, ROUND_SECONDS);
	printf("  raw HMAC-SHA1/s, keyed EVP_MAC   %10.0f\n", hm[ROUNDS / 2]);
	printf("  raw HMAC-SHA1/s, one-shot HMAC() %10.0f\n", h1[ROUNDS / 2]);
	printf("  TOTP verify/s, code at now       %10.0f  (%.2f of raw)\n",
	    ok[ROUNDS / 2], ok[ROUNDS / 2] / hm[ROUNDS / 2]);
	printf("  TOTP verify/s, wrong code (3)    %10.0f  (%.2f of raw/3)\n",
	    bad[ROUNDS / 2], bad[ROUNDS / 2] * 3 / hm[ROUNDS / 2]);
}

static void
bench_password(void)
{
	struct password_hasher *h = NULL;
	struct password_limits lim = { 1, 0, 0 };
	char *enc = NULL;
	double t0, t;
	int i, n = 8, r;

	if ((r = password_hasher_new(NULL, &lim, &h)) != 0 ||
	    (r = password_hash(h, PASSWORD, strlen(PASSWORD), &enc)) != 0) {
		fprintf(stderr, "password set-up: %s\n", tss_strerror(r));
		exit(1);
	}
	t0 = wall_now();
	for (i = 0; i < n; i++)
		if (password_verify(h, enc, PASSWORD, strlen(PASSWORD),
		    NULL) != 0) {
			fprintf(stderr, "verify failed\n");
			exit(1);
		}
	t = wall_now() - t0;
	printf("password: Argon2id m=64 MiB t=3 p=1, one thread, wall time\n");
	printf("  verifications/s                  %10.2f  (%.0f ms each, "
	    "%d runs)\n", n / t, t * 1000 / n, n);
	free(enc);
	password_hasher_free(h);
}

static long
vm_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t fl = strlen(field);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

struct login_arg {
	struct auth_ctx *ctx;
	const char *code;
	int r;
};

static void *
login_thread(void *p)
{
	struct login_arg *a = p;
	struct auth_login_result res;

	a->r = auth_login(a->ctx, "bench", PASSWORD, strlen(PASSWORD),
	    a->code, "127.0.0.1", NULL, 1700000000, &res);
	auth_login_result_clear(&res);
	return NULL;
}

static void
bench_logins(void)
{
	char dir[] = "/tmp/tessera-bench-auth.XXXXXX", tok[65], code[7];
	struct auth_config cfg;
	struct auth_ctx *ctx = NULL;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct enroll_start_result sr;
	struct enroll_finish_result fr;
	struct password_stats st;
	struct login_arg a[LOGINS];
	pthread_t th[LOGINS];
	uint8_t key[32], *sec = NULL;
	size_t sl = 0;
	int64_t exp;
	long base, peak;
	double t0, el;
	int i, ok = 0, other = 0, unavail = 0, r;
	FILE *f;

	memset(&sr, 0, sizeof(sr));
	memset(&fr, 0, sizeof(fr));
	if (mkdtemp(dir) == NULL || RAND_bytes(key, sizeof(key)) != 1) {
		fprintf(stderr, "set-up failed\n");
		exit(1);
	}
	auth_config_defaults(&cfg);
	cfg.limits.wait_ms = 120000;
	cfg.limits.max_waiters = LOGINS;
	cfg.throttle_after = 1000;
	cfg.lock_after = 1000;
	cfg.rate_burst = 1000;
	if ((r = store_open(dir, NULL, &s)) != 0 ||
	    (r = auth_ctx_new(s, key, &cfg, &ctx)) != 0 ||
	    (r = store_begin(s, 1, &t)) != 0 ||
	    (r = user_create(t, "bench", NULL, 0, NULL, 1700000000 - 60, tok,
	    &exp)) != 0 || (r = store_commit(t)) != 0 ||
	    (r = enroll_start(ctx, tok, PASSWORD, strlen(PASSWORD), NULL,
	    1700000000 - 60, &sr)) != 0 ||
	    (r = b32_decode(sr.totp_secret, strlen(sr.totp_secret), &sec,
	    &sl)) != 0 ||
	    (r = totp_generate(sec, sl, 1700000000 - 60, 6, code)) != 0 ||
	    (r = enroll_finish(ctx, tok, code, NULL, 1700000000 - 60,
	    &fr)) != 0 ||
	    (r = totp_generate(sec, sl, 1700000000, 6, code)) != 0) {
		fprintf(stderr, "login set-up: %s\n", tss_strerror(r));
		exit(1);
	}
	/* Forget the set-up's peak. */
	if ((f = fopen("/proc/self/clear_refs", "w")) != NULL) {
		fputs("5", f);
		fclose(f);
	}
	base = vm_kib("VmHWM");
	t0 = wall_now();
	for (i = 0; i < LOGINS; i++) {
		a[i].ctx = ctx;
		a[i].code = code;
		if (pthread_create(&th[i], NULL, login_thread, &a[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(1);
		}
	}
	for (i = 0; i < LOGINS; i++) {
		pthread_join(th[i], NULL);
		if (a[i].r == 0)
			ok++;
		else if (a[i].r == TSS_E_UNAVAILABLE)
			unavail++;
		else
			other++;
	}
	el = wall_now() - t0;
	peak = vm_kib("VmHWM");
	password_hasher_stats(auth_ctx_hasher(ctx), &st);
	printf("logins: %d at once, default Argon2id, limiter N=%u\n",
	    LOGINS, st.max_active);
	printf("  peak RSS %ld MiB (before: %ld MiB), bound N x 64 MiB = %u "
	    "MiB of Argon2 memory\n", peak / 1024, base / 1024,
	    st.max_active * 64);
	printf("  hashes at once, peak %u; %d ok (one code, used once), %d "
	    "refused as replay, %d unavailable; %.1f s\n", st.peak, ok, other,
	    unavail, el);
	free(sec);
	enroll_start_result_clear(&sr);
	enroll_finish_result_clear(&fr);
	auth_ctx_free(ctx);
	store_close(s);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	bench_totp();
	bench_password();
	bench_logins();
	return 0;
}
