/*
 * loadgen: HTTPS load generator for the tesserad benchmark (bench/http,
 * driven by run.py).  One libcurl easy handle per thread, so each thread
 * keeps one keep-alive TLS connection; the instance's self-signed
 * certificate is the only trusted CA (--cacert).
 *
 * Modes:
 *   issue    POST /v1/certs with a bearer token and an Ed25519 public key
 *            (one fresh key per thread), for --duration seconds or
 *            --requests requests in all, whichever comes first;
 *   login    POST /v1/login with wrong credentials in a loop (an Argon2
 *            flood); --sources gives each thread its own loopback source
 *            address, as a flood from many hosts would arrive;
 *   get      GET --path (default /healthz), measuring latency;
 *   rawsign  one thread, raw Ed25519 signatures per second with OpenSSL
 *            EVP_DigestSign over a 300-byte message (no HTTP).
 *
 * Each HTTP thread first makes one GET /healthz to open its connection
 * (TLS handshake), then all threads start together; only what follows is
 * timed.  Output: one JSON object on stdout with the rate, latency
 * percentiles (ms), the non-2xx count and a count per status.  Exit 0 when
 * the run happened (whatever the server answered), 1 on a local failure,
 * 2 on usage errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#define THREADS_MAX	1024
#define STATUS_MAX	600
#define LAT_MAX		(8u * 1024 * 1024)	/* samples per thread */
#define MSG_LEN		300

enum mode { M_ISSUE, M_LOGIN, M_GET, M_RAWSIGN };

struct opts {
	enum mode mode;
	const char *url;	/* https://127.0.0.1:PORT */
	const char *cacert;
	const char *token;
	const char *path;
	const char *target, *login;
	const char *sources;	/* "127.0.1": thread i binds 127.0.1.(i+1) */
	unsigned threads;
	double duration;
	uint64_t requests;	/* 0: no count limit */
};

struct worker {
	pthread_t tid;
	unsigned idx;
	const struct opts *o;
	CURL *curl;
	struct curl_slist *hdrs;
	char body[512];
	char iface[64];
	uint32_t *lat;		/* microseconds */
	size_t nlat, cap;
	uint64_t status[STATUS_MAX];
	uint64_t other;		/* statuses outside [0, STATUS_MAX) */
	uint64_t fail;		/* transport errors (no HTTP status) */
	int setup_failed;
	char curl_err[CURL_ERROR_SIZE];
};

static pthread_barrier_t start_line;
static atomic_uint_fast64_t started;
static double deadline;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen issue|login|get|rawsign [--url URL] [--cacert PEM]\n"
	    "           [--threads N] [--duration S] [--requests N]\n"
	    "           [--token T] [--target T] [--login L] [--path P]\n"
	    "           [--sources 127.0.1]\n");
	exit(2);
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* "ssh-ed25519 <base64 blob> loadgen" for a fresh key. */
static int
ed25519_line(char *out, size_t outlen)
{
	EVP_PKEY *pk = NULL;
	unsigned char raw[32], blob[4 + 11 + 4 + 32], b64[80];
	size_t rawlen = sizeof(raw);
	int ok = 0, n;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 ||
	    rawlen != sizeof(raw))
		goto out;
	blob[0] = 0; blob[1] = 0; blob[2] = 0; blob[3] = 11;
	memcpy(blob + 4, "ssh-ed25519", 11);
	blob[15] = 0; blob[16] = 0; blob[17] = 0; blob[18] = 32;
	memcpy(blob + 19, raw, 32);
	if (EVP_EncodeBlock(b64, blob, (int)sizeof(blob)) <= 0)
		goto out;
	n = snprintf(out, outlen, "ssh-ed25519 %s loadgen", (char *)b64);
	ok = n > 0 && (size_t)n < outlen;
 out:
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

static int
lat_push(struct worker *w, double seconds)
{
	uint32_t *p;
	double us = seconds * 1e6;

	if (w->nlat == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 4096;

		if (ncap > LAT_MAX ||
		    (p = realloc(w->lat, ncap * sizeof(*p))) == NULL)
			return -1;
		w->lat = p;
		w->cap = ncap;
	}
	w->lat[w->nlat++] = us > 4e9 ? UINT32_MAX : (uint32_t)us;
	return 0;
}

/* One request; the HTTP status, or -1 on a transport error. */
static long
perform(struct worker *w)
{
	long code = 0;

	if (curl_easy_perform(w->curl) != CURLE_OK)
		return -1;
	if (curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK)
		return -1;
	return code;
}

static int
worker_setup(struct worker *w)
{
	const struct opts *o = w->o;
	char url[1024], hdr[700], key[200];
	const char *path;
	int n;

	if ((w->curl = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(w->curl, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, w->curl_err);
	if (o->sources != NULL) {
		n = snprintf(w->iface, sizeof(w->iface), "host!%s.%u",
		    o->sources, w->idx % 250 + 1);
		if (n < 0 || (size_t)n >= sizeof(w->iface))
			return -1;
		curl_easy_setopt(w->curl, CURLOPT_INTERFACE, w->iface);
	}

	/* Open the connection outside the timed part. */
	n = snprintf(url, sizeof(url), "%s/healthz", o->url);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -1;
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	if (perform(w) != 200)
		return -1;

	switch (o->mode) {
	case M_ISSUE:
		path = "/v1/certs";
		if (ed25519_line(key, sizeof(key)) != 0)
			return -1;
		if (o->target != NULL)
			n = snprintf(w->body, sizeof(w->body),
			    "{\"public_key\":\"%s\",\"target\":\"%s\","
			    "\"login\":\"%s\",\"ttl\":900}", key, o->target,
			    o->login != NULL ? o->login : "");
		else
			n = snprintf(w->body, sizeof(w->body),
			    "{\"public_key\":\"%s\",\"ttl\":900}", key);
		break;
	case M_LOGIN:
		path = "/v1/login";
		n = snprintf(w->body, sizeof(w->body),
		    "{\"username\":\"flood%u\",\"password\":"
		    "\"not the password %u\",\"code\":\"000000\"}",
		    w->idx, w->idx);
		break;
	default:
		path = o->path;
		n = 0;
		break;
	}
	if (n < 0 || (size_t)n >= sizeof(w->body))
		return -1;
	n = snprintf(url, sizeof(url), "%s%s", o->url, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -1;
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	if (o->mode == M_ISSUE || o->mode == M_LOGIN) {
		if ((w->hdrs = curl_slist_append(w->hdrs,
		    "Content-Type: application/json")) == NULL)
			return -1;
		if (o->mode == M_ISSUE) {
			struct curl_slist *l;

			n = snprintf(hdr, sizeof(hdr),
			    "Authorization: Bearer %s", o->token);
			if (n < 0 || (size_t)n >= sizeof(hdr) ||
			    (l = curl_slist_append(w->hdrs, hdr)) == NULL)
				return -1;
			w->hdrs = l;
		}
		curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdrs);
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->body);
		curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(w->body));
	}
	return 0;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	double t0;
	long code;

	w->setup_failed = worker_setup(w) != 0;
	pthread_barrier_wait(&start_line);	/* all connected */
	pthread_barrier_wait(&start_line);	/* deadline set */
	if (w->setup_failed)
		return NULL;
	for (;;) {
		if (mono() >= deadline)
			break;
		if (o->requests != 0 &&
		    atomic_fetch_add(&started, 1) >= o->requests)
			break;
		t0 = mono();
		code = perform(w);
		if (lat_push(w, mono() - t0) != 0) {
			w->setup_failed = 1;
			break;
		}
		if (code < 0)
			w->fail++;
		else if (code < STATUS_MAX)
			w->status[code]++;
		else
			w->other++;
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0.0;
	/* Nearest rank. */
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1000.0;
}

static const char *
mode_name(enum mode m)
{
	return m == M_ISSUE ? "issue" : m == M_LOGIN ? "login" :
	    m == M_GET ? "get" : "rawsign";
}

static int
run_http(const struct opts *o)
{
	struct worker *w = NULL;
	uint64_t status[STATUS_MAX], total = 0, ok2xx = 0, non2xx, fail = 0;
	uint64_t other = 0;
	uint32_t *all = NULL;
	size_t i, k, n = 0, off = 0;
	unsigned setup_failed = 0;
	size_t tmin = SIZE_MAX, tmax = 0;
	double t0, elapsed;
	int first, rc = 1;

	memset(status, 0, sizeof(status));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	if ((w = calloc(o->threads, sizeof(*w))) == NULL)
		goto out;
	if (pthread_barrier_init(&start_line, NULL, o->threads + 1) != 0)
		goto out;
	deadline = 1e300;
	for (i = 0; i < o->threads; i++) {
		w[i].idx = (unsigned)i;
		w[i].o = o;
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start threads\n");
			exit(1);	/* the barrier would never open */
		}
	}
	/* Every thread has its connection: start the clock, then them. */
	pthread_barrier_wait(&start_line);
	t0 = mono();
	deadline = t0 + o->duration;
	pthread_barrier_wait(&start_line);
	for (i = 0; i < o->threads; i++)
		pthread_join(w[i].tid, NULL);
	elapsed = mono() - t0;

	for (i = 0; i < o->threads; i++) {
		if (w[i].setup_failed) {
			if (setup_failed++ == 0)
				fprintf(stderr, "loadgen: thread %zu: set-up "
				    "failed: %s\n", i, w[i].curl_err);
		}
		n += w[i].nlat;
		if (!w[i].setup_failed) {
			tmin = w[i].nlat < tmin ? w[i].nlat : tmin;
			tmax = w[i].nlat > tmax ? w[i].nlat : tmax;
		}
		fail += w[i].fail;
		other += w[i].other;
		for (k = 0; k < STATUS_MAX; k++)
			status[k] += w[i].status[k];
	}
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL)
		goto out;
	for (i = 0; i < o->threads; i++) {
		if (w[i].nlat > 0)
			memcpy(all + off, w[i].lat,
			    w[i].nlat * sizeof(*all));
		off += w[i].nlat;
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	for (k = 0; k < STATUS_MAX; k++) {
		total += status[k];
		if (k >= 200 && k < 300)
			ok2xx += status[k];
	}
	total += other;
	non2xx = total - ok2xx;

	printf("{\"mode\":\"%s\",\"threads\":%u,\"setup_failed\":%u,"
	    "\"elapsed_s\":%.3f,\"requests\":%zu,\"ok\":%" PRIu64 ","
	    "\"non2xx\":%" PRIu64 ",\"transport_errors\":%" PRIu64 ","
	    "\"rate\":%.1f,\"ok_rate\":%.1f,"
	    "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"p999_ms\":%.3f,\"max_ms\":%.3f,"
	    "\"per_thread_min\":%zu,\"per_thread_max\":%zu,\"status\":{",
	    mode_name(o->mode), o->threads, setup_failed, elapsed, n,
	    ok2xx, non2xx, fail, elapsed > 0 ? (double)n / elapsed : 0.0,
	    elapsed > 0 ? (double)ok2xx / elapsed : 0.0,
	    pct_ms(all, n, 50), pct_ms(all, n, 90), pct_ms(all, n, 99),
	    pct_ms(all, n, 99.9), n ? (double)all[n - 1] / 1000.0 : 0.0,
	    tmin == SIZE_MAX ? 0 : tmin, tmax);
	for (k = 0, first = 1; k < STATUS_MAX; k++) {
		if (status[k] == 0)
			continue;
		printf("%s\"%zu\":%" PRIu64, first ? "" : ",", k, status[k]);
		first = 0;
	}
	if (other != 0)
		printf("%s\"other\":%" PRIu64, first ? "" : ",", other);
	printf("}}\n");
	rc = setup_failed == o->threads ? 1 : 0;
 out:
	if (w != NULL) {
		for (i = 0; i < o->threads; i++) {
			curl_easy_cleanup(w[i].curl);
			curl_slist_free_all(w[i].hdrs);
			free(w[i].lat);
		}
	}
	free(w);
	free(all);
	curl_global_cleanup();
	return rc;
}

/*
 * Ed25519 signatures over a 300-byte message (an OpenSSH certificate's
 * to-be-signed part is about that size), one thread, one key: the cheapest
 * EVP path, as bench/ssh measures it and broker/ssh/cakey.c signs (one
 * reused EVP_MD_CTX, EVP_DigestSignInit + EVP_DigestSign per signature).
 * rate is per wall second, rate_cpu per second of this thread's CPU time
 * (what one whole core would do).
 */
static int
run_rawsign(const struct opts *o)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char msg[MSG_LEN], sig[64];
	size_t siglen;
	uint64_t n = 0;
	double t0, c0, wall, cpu;
	unsigned i;
	int rc = 1;

	memset(msg, 0x5a, sizeof(msg));
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	t0 = mono();
	c0 = cpu_now();
	do {
		for (i = 0; i < 256; i++) {
			msg[i % MSG_LEN] ^= (unsigned char)i;
			siglen = sizeof(sig);
			if (EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
			    EVP_DigestSign(md, sig, &siglen, msg,
			    sizeof(msg)) != 1)
				goto out;
			n++;
		}
	} while (mono() - t0 < o->duration &&
	    (o->requests == 0 || n < o->requests));
	wall = mono() - t0;
	cpu = cpu_now() - c0;
	printf("{\"mode\":\"rawsign\",\"message_bytes\":%d,\"signatures\":%"
	    PRIu64 ",\"elapsed_s\":%.3f,\"cpu_s\":%.3f,\"rate\":%.1f,"
	    "\"rate_cpu\":%.1f}\n", MSG_LEN, n, wall, cpu,
	    (double)n / wall, cpu > 0 ? (double)n / cpu : 0.0);
	rc = 0;
 out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	uint64_t v;
	int i;

	memset(&o, 0, sizeof(o));
	o.url = "https://127.0.0.1:8443";
	o.path = "/healthz";
	o.duration = 10;
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "issue") == 0)
		o.mode = M_ISSUE, o.threads = 64;
	else if (strcmp(argv[1], "login") == 0)
		o.mode = M_LOGIN, o.threads = 64;
	else if (strcmp(argv[1], "get") == 0)
		o.mode = M_GET, o.threads = 4;
	else if (strcmp(argv[1], "rawsign") == 0)
		o.mode = M_RAWSIGN, o.threads = 1;
	else
		usage();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			o.url = val;
		else if (strcmp(a, "--cacert") == 0)
			o.cacert = val;
		else if (strcmp(a, "--token") == 0)
			o.token = val;
		else if (strcmp(a, "--target") == 0)
			o.target = val;
		else if (strcmp(a, "--login") == 0)
			o.login = val;
		else if (strcmp(a, "--path") == 0)
			o.path = val;
		else if (strcmp(a, "--sources") == 0)
			o.sources = val;
		else if (strcmp(a, "--threads") == 0) {
			if (parse_u64(val, 1, THREADS_MAX, &v) != 0)
				usage();
			o.threads = (unsigned)v;
		} else if (strcmp(a, "--duration") == 0) {
			if (parse_u64(val, 1, 3600, &v) != 0)
				usage();
			o.duration = (double)v;
		} else if (strcmp(a, "--requests") == 0) {
			if (parse_u64(val, 1, UINT64_MAX / 2, &v) != 0)
				usage();
			o.requests = v;
		} else
			usage();
	}
	if (o.mode == M_RAWSIGN)
		return run_rawsign(&o);
	if (o.cacert == NULL || (o.mode == M_ISSUE && o.token == NULL))
		usage();
	return run_http(&o);
}
