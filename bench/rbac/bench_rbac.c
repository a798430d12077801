/*
 * RBAC benchmark: a store with 10,000 users, 1,000 roles, 100,000 bindings
 * and 10,000 targets; measures snapshot rebuild time and memory, decisions
 * per second on one core, and per-decision latency (p50/p99/p99.9).
 *
 * RBAC_BENCH_SCALE=<percent> shrinks every count (quick runs).
 * The store lives in a temp dir removed at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "rbac/rbac_int.h"
#include "store/store.h"
#include "tmpdir.h"

#define NOW	1700000000

static size_t n_users = 10000, n_roles = 1000, n_bindings = 100000;
static size_t n_targets = 10000, n_groups = 500;
static const char *envs[] = { "prod", "staging", "dev", "qa" };
static const char *tiers[] = { "web", "db", "cache", "batch" };
#define N_LOGINS 20
#define N_SERVICES 250

static uint64_t rs = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545F4914F6CDD1DULL;
}

static size_t
pick(size_t n)
{
	return (size_t)(rnd() % n);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what, int r)
{
	fprintf(stderr, "bench_rbac: %s: %s\n", what, tss_strerror(r));
	exit(1);
}

static void
target_name(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/svc%zu/n%zu", envs[i % 4],
	    (i / 4) % N_SERVICES, i / (4 * N_SERVICES));
}

static void
put(struct store_txn *t, enum store_db db, const void *k, size_t kl,
    struct buf *b)
{
	int r;

	if ((r = store_put(t, db, k, kl, buf_ptr(b), buf_len(b), 0)) != 0)
		die("store_put", r);
	buf_free(b);
}

static void
fill_store(struct store *st)
{
	struct store_txn *t = NULL;
	struct rbac_target tg;
	struct rbac_label lab[3];
	struct rbac_role ro;
	struct rbac_rule rules[3];
	struct rbac_binding bi;
	struct buf *b;
	char name[160], vals[3][32], *globs[3][3], *logins[3][4];
	char subj[96], *cidr[1];
	uint8_t k[8], sk[128];
	uint64_t id, g;
	size_t i, j, l, nl, sl;
	int r;

	if ((r = store_begin(st, 1, &t)) != 0)
		die("store_begin", r);
	memset(&tg, 0, sizeof(tg));
	for (i = 0; i < n_targets; i++) {
		target_name(i, name, sizeof(name));
		snprintf(vals[0], sizeof(vals[0]), "%s", envs[i % 4]);
		snprintf(vals[1], sizeof(vals[1]), "t%zu", pick(50));
		snprintf(vals[2], sizeof(vals[2]), "%s", tiers[pick(4)]);
		lab[0].key = (char *)"env";
		lab[0].value = vals[0];
		lab[1].key = (char *)"team";
		lab[1].value = vals[1];
		lab[2].key = (char *)"tier";
		lab[2].value = vals[2];
		tg.name = name;
		tg.labels = lab;
		tg.n_labels = 3;
		if ((r = rbac__target_encode(&tg, &b)) != 0)
			die("encode target", r);
		put(t, STORE_DB_TARGETS, name, strlen(name), b);
	}
	cidr[0] = (char *)"10.0.0.0/8";
	for (i = 0; i < n_roles; i++) {
		memset(&ro, 0, sizeof(ro));
		memset(rules, 0, sizeof(rules));
		memset(globs, 0, sizeof(globs));
		memset(logins, 0, sizeof(logins));
		snprintf(name, sizeof(name), "role%zu", i);
		ro.name = name;
		ro.n_rules = 1 + pick(3);
		ro.rules = rules;
		for (j = 0; j < ro.n_rules; j++) {
			size_t svc = pick(N_SERVICES);
			char tmp[160];

			switch (pick(5)) {
			case 0:
				snprintf(tmp, sizeof(tmp), "prod/svc%zu/*",
				    svc);
				globs[j][0] = strdup(tmp);
				break;
			case 1:
				snprintf(tmp, sizeof(tmp), "*/svc%zu/*", svc);
				globs[j][0] = strdup(tmp);
				break;
			case 2:
				snprintf(tmp, sizeof(tmp), "%s/svc%zu/**",
				    envs[pick(4)], svc);
				globs[j][0] = strdup(tmp);
				break;
			case 3:
				target_name(pick(n_targets), tmp, sizeof(tmp));
				globs[j][0] = strdup(tmp);
				target_name(pick(n_targets), tmp, sizeof(tmp));
				globs[j][1] = strdup(tmp);
				rules[j].n_targets = 1;
				break;
			default:
				break;	/* label selector only */
			}
			rules[j].targets = globs[j];
			rules[j].n_targets += globs[j][0] != NULL;
			if (globs[j][0] == NULL || pick(3) == 0) {
				rules[j].labels = calloc(2,
				    sizeof(struct rbac_label));
				rules[j].labels[0].key = strdup("env");
				rules[j].labels[0].value = strdup(
				    envs[pick(4)]);
				snprintf(tmp, sizeof(tmp), "t%zu", pick(50));
				rules[j].labels[1].key = strdup("team");
				rules[j].labels[1].value = strdup(tmp);
				rules[j].n_labels = 2;
			}
			nl = 1 + pick(4);
			for (l = 0; l < nl; l++) {
				snprintf(tmp, sizeof(tmp), "login%zu",
				    pick(N_LOGINS));
				logins[j][l] = strdup(tmp);
			}
			rules[j].logins = logins[j];
			rules[j].n_logins = nl;
		}
		ro.max_ttl = 600 * (1 + (int64_t)pick(48));
		ro.extensions = RBAC_EXT_PTY | (pick(2) ? RBAC_EXT_PORT : 0);
		if (pick(10) == 0) {
			ro.source_address = cidr;
			ro.n_source = 1;
		}
		if (i < 10)
			ro.admin = RBAC_PERM_USERS_READ | RBAC_PERM_AUDIT_READ;
		if ((r = rbac_role_validate(&ro, NULL, 0)) != 0)
			die("role validate", r);
		if ((r = rbac__role_encode(&ro, &b)) != 0)
			die("encode role", r);
		put(t, STORE_DB_ROLES, name, strlen(name), b);
		for (j = 0; j < ro.n_rules; j++) {
			free(globs[j][0]);
			free(globs[j][1]);
			for (l = 0; l < rules[j].n_logins; l++)
				free(logins[j][l]);
			for (l = 0; l < rules[j].n_labels; l++) {
				free(rules[j].labels[l].key);
				free(rules[j].labels[l].value);
			}
			free(rules[j].labels);
		}
	}
	for (i = 0; i < n_bindings; i++) {
		memset(&bi, 0, sizeof(bi));
		if ((r = store_counter_next(t, STORE_CTR_BINDING_ID, &id)) != 0)
			die("counter", r);
		if (i % 10 == 9)
			snprintf(subj, sizeof(subj), "group:g%zu",
			    pick(n_groups));
		else
			snprintf(subj, sizeof(subj), "user:u%zu",
			    pick(n_users));
		snprintf(name, sizeof(name), "role%zu", pick(n_roles));
		bi.id = id;
		bi.role = name;
		bi.subject = subj;
		bi.expires_at = pick(10) == 0 ? NOW - 100 : 0;
		bi.created_at = NOW;
		if ((r = rbac__binding_encode(&bi, &b)) != 0)
			die("encode binding", r);
		buf_poke_u64(k, id);
		put(t, STORE_DB_BINDINGS, k, 8, b);
		sl = strlen(subj);
		memcpy(sk, subj, sl);
		sk[sl] = 0;
		buf_poke_u64(sk + sl + 1, id);
		if ((r = store_put(t, STORE_DB_BINDINGS_BY_SUBJ, sk, sl + 9,
		    "", 0, 0)) != 0)
			die("index", r);
	}
	if ((r = store_counter_next(t, STORE_CTR_POLICY_GEN, &g)) != 0)
		die("gen", r);
	if ((r = store_commit(t)) != 0)
		die("commit", r);
}

struct q {
	char user[32];
	char g1[32], g2[32];
	const char *groups[2];
	char target[160];
	char login[32];
};

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
person_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rbac_person *)a)->name,
	    ((const struct rbac_person *)b)->name);
}

/*
 * The admin guard over every user (rbac_guard, run around each admin
 * write): a change that alters nothing, so every check runs to the end.
 * The snapshot rebuild the write also needs is the "rebuild" line above.
 */
static void
guard_bench(const struct rbac_snap *s)
{
	struct rbac_person *pp;
	struct rbac_world w;
	char (*names)[24], (*groups)[2][24];
	const char *(*gv)[2];
	char why[256];
	double a, best = 1e9;
	size_t i;
	int k, r;

	if ((pp = calloc(n_users, sizeof(*pp))) == NULL ||
	    (names = calloc(n_users, sizeof(*names))) == NULL ||
	    (groups = calloc(n_users, sizeof(*groups))) == NULL ||
	    (gv = calloc(n_users, sizeof(*gv))) == NULL)
		die("guard", TSS_E_NOMEM);
	for (i = 0; i < n_users; i++) {
		snprintf(names[i], sizeof(names[i]), "u%zu", i);
		snprintf(groups[i][0], sizeof(groups[i][0]), "g%zu",
		    pick(n_groups));
		snprintf(groups[i][1], sizeof(groups[i][1]), "g%zu",
		    pick(n_groups));
		gv[i][0] = groups[i][0];
		gv[i][1] = groups[i][1];
		pp[i].name = names[i];
		pp[i].groups = gv[i];
		pp[i].n_groups = 2;
		pp[i].active = pp[i].can_login = 1;
	}
	qsort(pp, n_users, sizeof(*pp), person_cmp);
	w.snap = s;
	w.people = pp;
	w.n = n_users;
	for (k = 0; k < 5; k++) {
		a = now_s();
		if ((r = rbac_guard(&w, &w, "u1", NOW, why, sizeof(why))) != 0)
			die(why, r);
		if (now_s() - a < best)
			best = now_s() - a;
	}
	printf("admin guard over %zu users: best %.2f ms of 5\n", n_users,
	    best * 1e3);
	free(gv);
	free(groups);
	free(names);
	free(pp);
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int
main(void)
{
	const char *sc = getenv("RBAC_BENCH_SCALE");
	char dir[4096];
	struct store_opts so = { .map_size = 512u << 20 };
	struct store *st = NULL;
	struct store_txn *t = NULL;
	struct rbac_snap *s = NULL;
	struct rbac_decision d;
	struct q *qs;
	size_t nq = 200000, i, allowed = 0, rounds;
	uint64_t *lat, t0, t1, ovh;
	double a, b, best = 1e9, sum = 0, el;
	long rss0, rss1;
	int r, k;

	if (sc != NULL && *sc != '\0') {
		unsigned long pct = strtoul(sc, NULL, 10);

		if (pct >= 1 && pct <= 100) {
			n_users = n_users * pct / 100;
			n_roles = n_roles * pct / 100;
			n_bindings = n_bindings * pct / 100;
			n_targets = n_targets * pct / 100;
			n_groups = n_groups * pct / 100 + 1;
		}
	}
	if (tmpdir_make(dir, sizeof(dir)) != 0)
		die("tmpdir", TSS_E_IO);
	if ((r = store_open(dir, &so, &st)) != 0)
		die("store_open", r);
	a = now_s();
	fill_store(st);
	b = now_s();
	printf("policy: %zu users, %zu groups, %zu roles, %zu bindings, "
	    "%zu targets (written in %.2f s)\n", n_users, n_groups, n_roles,
	    n_bindings, n_targets, b - a);

	/* Rebuild: load + compile from one read transaction. */
	rss0 = maxrss_kb();
	for (k = 0; k < 5; k++) {
		rbac_snap_release(s);
		s = NULL;
		if ((r = store_begin(st, 0, &t)) != 0)
			die("begin", r);
		a = now_s();
		if ((r = rbac_snap_load(t, 28800, &s)) != 0)
			die("snap_load", r);
		b = now_s();
		store_abort(t);
		sum += b - a;
		if (b - a < best)
			best = b - a;
	}
	rss1 = maxrss_kb();
	printf("rebuild: best %.1f ms, mean %.1f ms over 5; snapshot memory "
	    "%.1f MiB (max RSS grew %.1f MiB while rebuilding)\n",
	    best * 1e3, sum / 5 * 1e3,
	    (double)rbac_snap_memory(s) / (1024.0 * 1024.0),
	    (double)(rss1 - rss0) / 1024.0);

	/* Queries: users with two of their groups, random target and login. */
	qs = calloc(nq, sizeof(*qs));
	lat = calloc(nq, sizeof(*lat));
	if (qs == NULL || lat == NULL)
		die("calloc", TSS_E_NOMEM);
	for (i = 0; i < nq; i++) {
		snprintf(qs[i].user, sizeof(qs[i].user), "u%zu",
		    pick(n_users));
		snprintf(qs[i].g1, sizeof(qs[i].g1), "g%zu", pick(n_groups));
		snprintf(qs[i].g2, sizeof(qs[i].g2), "g%zu", pick(n_groups));
		qs[i].groups[0] = qs[i].g1;
		qs[i].groups[1] = qs[i].g2;
		target_name(pick(n_targets), qs[i].target,
		    sizeof(qs[i].target));
		snprintf(qs[i].login, sizeof(qs[i].login), "login%zu",
		    pick(N_LOGINS));
	}
	for (i = 0; i < nq; i++)
		allowed += rbac_decide(s, qs[i].user, qs[i].groups, 2,
		    qs[i].target, qs[i].login, NOW, &d) == 0;

	/* Throughput: one thread, whole query set several times. */
	rounds = 10;
	a = now_s();
	for (k = 0; k < (int)rounds; k++)
		for (i = 0; i < nq; i++)
			(void)rbac_decide(s, qs[i].user, qs[i].groups, 2,
			    qs[i].target, qs[i].login, NOW, &d);
	el = now_s() - a;
	printf("decisions: %.0f per second on one core (%zu decisions, "
	    "%.1f%% allowed, %.0f ns mean)\n", (double)(rounds * nq) / el,
	    rounds * nq, 100.0 * (double)allowed / (double)nq,
	    el * 1e9 / (double)(rounds * nq));

	/* Latency: each decision timed; the clock's own cost subtracted. */
	t0 = now_ns();
	for (i = 0; i < 100000; i++)
		(void)now_ns();
	ovh = (now_ns() - t0) / 100000;
	for (i = 0; i < nq; i++) {
		t0 = now_ns();
		(void)rbac_decide(s, qs[i].user, qs[i].groups, 2,
		    qs[i].target, qs[i].login, NOW, &d);
		t1 = now_ns();
		lat[i] = t1 - t0 > ovh ? t1 - t0 - ovh : 0;
	}
	qsort(lat, nq, sizeof(*lat), u64_cmp);
	printf("latency: p50 %llu ns, p99 %llu ns, p99.9 %llu ns, max %llu ns "
	    "(clock overhead %llu ns subtracted)\n",
	    (unsigned long long)lat[nq / 2],
	    (unsigned long long)lat[nq * 99 / 100],
	    (unsigned long long)lat[nq * 999 / 1000],
	    (unsigned long long)lat[nq - 1], (unsigned long long)ovh);

	/*
	 * Granted queries: a (target, login) from each sampled user's own
	 * access listing, so every decision allows and combines.
	 */
	{
		struct q *gq = calloc(nq, sizeof(*gq));
		size_t ng = 0, gi;

		if (gq == NULL)
			die("calloc", TSS_E_NOMEM);
		for (i = 0; i < nq && ng < 2000; i++) {
			struct rbac_access *acc = NULL;
			const struct rbac_access_entry *en;

			if ((r = rbac_access(s, qs[i].user, qs[i].groups, 2,
			    NOW, &acc)) != 0)
				die("access", r);
			if (acc->n > 0) {
				en = &acc->entries[pick(acc->n)];
				gq[ng] = qs[i];
				gq[ng].groups[0] = gq[ng].g1;
				gq[ng].groups[1] = gq[ng].g2;
				snprintf(gq[ng].target, sizeof(gq[ng].target),
				    "%s", en->target);
				snprintf(gq[ng].login, sizeof(gq[ng].login),
				    "%s", en->logins[pick(en->n_logins)]);
				ng++;
			}
			rbac_access_free(acc);
		}
		a = now_s();
		for (k = 0; k < 500; k++)
			for (gi = 0; gi < ng; gi++)
				if (rbac_decide(s, gq[gi].user, gq[gi].groups,
				    2, gq[gi].target, gq[gi].login, NOW,
				    &d) != 0)
					die("granted query denied",
					    TSS_E_INTERNAL);
		el = now_s() - a;
		for (gi = 0; gi < ng; gi++) {
			t0 = now_ns();
			(void)rbac_decide(s, gq[gi].user, gq[gi].groups, 2,
			    gq[gi].target, gq[gi].login, NOW, &d);
			t1 = now_ns();
			lat[gi] = t1 - t0 > ovh ? t1 - t0 - ovh : 0;
		}
		qsort(lat, ng, sizeof(*lat), u64_cmp);
		printf("granted queries: %.0f decisions per second on one "
		    "core (%zu distinct, all allowed); p50 %llu ns, p99 %llu "
		    "ns\n", (double)(500 * ng) / el, ng,
		    (unsigned long long)lat[ng / 2],
		    (unsigned long long)lat[ng * 99 / 100]);
		free(gq);
	}

	/* GET /v1/me for a sample of users. */
	a = now_s();
	for (i = 0; i < 200; i++) {
		struct rbac_access *acc = NULL;

		if ((r = rbac_access(s, qs[i].user, qs[i].groups, 2, NOW,
		    &acc)) != 0)
			die("access", r);
		rbac_access_free(acc);
	}
	printf("access listing: %.1f us mean over 200 users\n",
	    (now_s() - a) / 200 * 1e6);
	guard_bench(s);

	rbac_snap_release(s);
	free(qs);
	free(lat);
	store_close(st);
	tmpdir_remove(dir);
	return 0;
}
