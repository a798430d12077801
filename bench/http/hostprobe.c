/*
 * hostprobe: how steady the machine's CPUs are, with no server running.
 *
 * One thread per online CPU, pinned, repeats a fixed piece of arithmetic
 * (about 20 us) and then sleeps, so each CPU is about 10% busy.  The time
 * each piece takes is recorded.  On a steady machine it hardly varies; on
 * a virtual machine whose host takes its CPUs away or shares their cores,
 * whole stretches of pieces take several times longer.  The run is cut
 * into 50 ms windows; a window is slow when the median piece in it took
 * at least twice the run's median on that CPU.
 *
 * Latency measured on such a host is partly the host's: bench/http/run.py
 * runs this just before the issuance and prints it next to the p99.
 *
 * usage: hostprobe [--duration S]
 * Output: one JSON object on stdout: cpus, seconds, piece_us (median),
 * windows, slow (windows slow on at least one CPU), slow_share, worst
 * (the slowest window's median over the run's), both (windows slow on
 * every CPU at once).  Exit 0 on success, 1 on a local failure, 2 on
 * usage errors.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CPUS_MAX	64
#define WINDOW_S	0.05
#define PIECE_ITERS	20000
#define REST_NS		180000L		/* ~10% duty with a ~20 us piece */
#define SLOW_FACTOR	2.0

struct probe {
	int cpu;
	double start, seconds;
	size_t n, cap;
	double *at;		/* piece start, seconds since start */
	float *us;		/* piece duration */
	int failed;
};

static volatile uint64_t sink;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A dependent chain the compiler cannot fold or vectorise. */
static void
piece(void)
{
	uint64_t x = sink | 1;
	int i;

	for (i = 0; i < PIECE_ITERS; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

static void *
probe_main(void *arg)
{
	struct probe *p = arg;
	struct timespec rest = { 0, REST_NS };
	cpu_set_t set;
	double t0, t1;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
		p->failed = 1;
		return NULL;
	}
	while ((t0 = mono()) < p->start + p->seconds && p->n < p->cap) {
		piece();
		t1 = mono();
		p->at[p->n] = t0 - p->start;
		p->us[p->n] = (float)((t1 - t0) * 1e6);
		p->n++;
		nanosleep(&rest, NULL);
	}
	return NULL;
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static float
median(float *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_float);
	return n > 0 ? v[n / 2] : 0;
}

/*
 * Each window's median over the run's, for one CPU, into factor[]; the
 * run's median piece into *base.  -1 on allocation failure.
 */
static int
window_factors(const struct probe *p, size_t nwin, double *factor,
    float *base)
{
	float *tmp;
	size_t i, j, w;

	if ((tmp = calloc(p->n ? p->n : 1, sizeof(*tmp))) == NULL)
		return -1;
	memcpy(tmp, p->us, p->n * sizeof(*tmp));
	*base = median(tmp, p->n);
	for (w = 0, i = 0; w < nwin; w++) {
		for (j = 0; i < p->n && p->at[i] < (double)(w + 1) * WINDOW_S;
		    i++)
			tmp[j++] = p->us[i];
		factor[w] = j > 0 && *base > 0 ? median(tmp, j) / *base : 0;
	}
	free(tmp);
	return 0;
}

int
main(int argc, char **argv)
{
	struct probe p[CPUS_MAX];
	pthread_t th[CPUS_MAX];
	double seconds = 4, *factor = NULL, worst = 0;
	float base = 0, b;
	size_t nwin, w, slow = 0, both = 0, k;
	long ncpu;
	int i, rc = 1, nslow;

	if (argc == 3 && strcmp(argv[1], "--duration") == 0) {
		char *end;

		seconds = strtod(argv[2], &end);
		if (*end != '\0' || !(seconds > 0 && seconds <= 3600)) {
			fprintf(stderr, "hostprobe: --duration: 0 < S <= 3600\n");
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: hostprobe [--duration S]\n");
		return 2;
	}
	if (seconds < 0.5 || seconds > 600) {
		fprintf(stderr, "hostprobe: --duration: 0.5 to 600 seconds\n");
		return 2;
	}
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		ncpu = 1;
	if (ncpu > CPUS_MAX)
		ncpu = CPUS_MAX;
	nwin = (size_t)(seconds / WINDOW_S);
	memset(p, 0, sizeof(p));
	for (i = 0; i < ncpu; i++) {
		p[i].cpu = i;
		p[i].seconds = seconds;
		p[i].cap = (size_t)(seconds * 1e6 / 150) + 1;
		if ((p[i].at = calloc(p[i].cap, sizeof(double))) == NULL ||
		    (p[i].us = calloc(p[i].cap, sizeof(float))) == NULL)
			goto out;
	}
	if ((factor = calloc(nwin * (size_t)ncpu, sizeof(*factor))) == NULL)
		goto out;
	p[0].start = mono() + 0.01;
	for (i = 0; i < ncpu; i++) {
		p[i].start = p[0].start;
		if (pthread_create(&th[i], NULL, probe_main, &p[i]) != 0) {
			ncpu = i;
			break;
		}
	}
	for (i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	if (ncpu == 0) {
		fprintf(stderr, "hostprobe: no thread could start\n");
		goto out;
	}
	for (i = 0; i < ncpu; i++) {
		if (p[i].failed || p[i].n == 0 ||
		    window_factors(&p[i], nwin, factor + (size_t)i * nwin,
		    &b) != 0) {
			fprintf(stderr, "hostprobe: CPU %d: no measurement\n",
			    i);
			goto out;
		}
		base += b / (float)ncpu;
	}
	for (w = 0; w < nwin; w++) {
		for (nslow = 0, k = 0; k < (size_t)ncpu; k++) {
			if (factor[k * nwin + w] >= SLOW_FACTOR)
				nslow++;
			if (factor[k * nwin + w] > worst)
				worst = factor[k * nwin + w];
		}
		slow += nslow > 0;
		both += nslow == ncpu;
	}
	printf("{\"mode\":\"hostprobe\",\"cpus\":%ld,\"seconds\":%.1f,"
	    "\"piece_us\":%.1f,\"windows\":%zu,\"slow\":%zu,"
	    "\"slow_share\":%.4f,\"worst\":%.2f,\"both\":%zu}\n", ncpu,
	    seconds, base, nwin, slow, nwin ? (double)slow / (double)nwin : 0,
	    worst, both);
	rc = 0;
 out:
	for (i = 0; i < CPUS_MAX; i++) {
		free(p[i].at);
		free(p[i].us);
	}
	free(factor);
	return rc;
}
