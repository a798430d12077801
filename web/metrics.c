/*
 * Metrics registry; see metrics.h.  Slots are C11 atomics updated with
 * relaxed ordering: a scrape may see one series a moment ahead of another,
 * which Prometheus tolerates.  A histogram's sum is a double kept as its
 * bit pattern and updated with a compare-and-swap loop.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "web/metrics.h"

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct web_metric {
	enum mtype type;
	char *name;
	char *help;
	size_t nlabels;
	char *lname[2];
	char **lvals[2];
	size_t nvals[2];
	size_t nslots;
	_Atomic uint64_t *slots;	/* counter/gauge values; histogram buckets */
	double bounds[WEB_METRIC_MAX_BUCKETS];
	size_t nbounds;
	_Atomic uint64_t sum_bits;
	struct web_metric *next;
};

struct web_metrics {
	pthread_mutex_t lock;
	struct web_metric *head, *tail;
	size_t count;
};

#define METRICS_MAX	256
#define RENDER_MAX	(4u * 1024 * 1024)

static int
name_ok(const char *s, int colon)
{
	size_t i;
	char c;

	if (s == NULL || *s == '\0' || strlen(s) > 128)
		return 0;
	for (i = 0; (c = s[i]) != '\0'; i++) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (colon && c == ':'))
			continue;
		if (i > 0 && c >= '0' && c <= '9')
			continue;
		return 0;
	}
	return 1;
}

static void
metric_free(struct web_metric *c)
{
	size_t l, v;

	if (c == NULL)
		return;
	for (l = 0; l < 2; l++) {
		if (c->lvals[l] != NULL) {
			for (v = 0; v < c->nvals[l]; v++)
				free(c->lvals[l][v]);
			free(c->lvals[l]);
		}
		free(c->lname[l]);
	}
	free(c->slots);
	free(c->name);
	free(c->help);
	free(c);
}

int
web_metrics_new(struct web_metrics **out)
{
	struct web_metrics *m = NULL;

	if (out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*out = NULL;
	if ((m = mem_calloc(1, sizeof(*m))) == NULL)
		return TSS_E_NOMEM;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return TSS_E_INTERNAL;
	}
	*out = m;
	return 0;
}

void
web_metrics_free(struct web_metrics *m)
{
	struct web_metric *c, *next;

	if (m == NULL)
		return;
	for (c = m->head; c != NULL; c = next) {
		next = c->next;
		metric_free(c);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct web_metric *
find_locked(struct web_metrics *m, const char *name)
{
	struct web_metric *c;

	for (c = m->head; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct web_metric *
web_metrics_find(struct web_metrics *m, const char *name)
{
	struct web_metric *c;

	if (m == NULL || name == NULL)
		return NULL;
	pthread_mutex_lock(&m->lock);
	c = find_locked(m, name);
	pthread_mutex_unlock(&m->lock);
	return c;
}

/* Link c into m unless the name is taken; consumes c either way. */
static int
metric_link(struct web_metrics *m, struct web_metric *c, struct web_metric **out)
{
	int r = TSS_E_INTERNAL;

	pthread_mutex_lock(&m->lock);
	if (find_locked(m, c->name) != NULL) {
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	if (m->count >= METRICS_MAX) {
		r = TSS_E_TOO_MANY;
		goto out;
	}
	if (m->tail != NULL)
		m->tail->next = c;
	else
		m->head = c;
	m->tail = c;
	m->count++;
	*out = c;
	c = NULL;	/* transferred */
	r = 0;
 out:
	pthread_mutex_unlock(&m->lock);
	metric_free(c);
	return r;
}

static int
metric_new(const char *name, const char *help, enum mtype type,
    struct web_metric **out)
{
	struct web_metric *c = NULL;

	*out = NULL;
	if (!name_ok(name, 1) || help == NULL || strlen(help) > 1024)
		return TSS_E_INVALID_ARGUMENT;
	if ((c = mem_calloc(1, sizeof(*c))) == NULL)
		return TSS_E_NOMEM;
	c->type = type;
	if ((c->name = mem_strdup(name)) == NULL ||
	    (c->help = mem_strdup(help)) == NULL) {
		metric_free(c);
		return TSS_E_NOMEM;
	}
	*out = c;
	return 0;
}

static int
scalar_register(struct web_metrics *m, enum mtype type, const char *name,
    const char *help, const struct web_label *labels, size_t nlabels,
    struct web_metric **out)
{
	struct web_metric *c = NULL;
	size_t l, v, w, nslots = 1;
	int r = TSS_E_INTERNAL;

	if (out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*out = NULL;
	if (m == NULL || nlabels > 2 || (nlabels > 0 && labels == NULL))
		return TSS_E_INVALID_ARGUMENT;
	for (l = 0; l < nlabels; l++) {
		if (!name_ok(labels[l].name, 0) || labels[l].values == NULL ||
		    labels[l].nvalues == 0 || strcmp(labels[l].name, "le") == 0)
			return TSS_E_INVALID_ARGUMENT;
		if (labels[l].nvalues > WEB_METRIC_MAX_VALUES)
			return TSS_E_TOO_MANY;
		for (v = 0; v < labels[l].nvalues; v++) {
			if (labels[l].values[v] == NULL ||
			    strlen(labels[l].values[v]) > 256)
				return TSS_E_INVALID_ARGUMENT;
			for (w = 0; w < v; w++)
				if (strcmp(labels[l].values[v],
				    labels[l].values[w]) == 0)
					return TSS_E_INVALID_ARGUMENT;
		}
		nslots *= labels[l].nvalues;
	}
	if (nlabels == 2 && strcmp(labels[0].name, labels[1].name) == 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = metric_new(name, help, type, &c)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	c->nlabels = nlabels;
	for (l = 0; l < nlabels; l++) {
		if ((c->lname[l] = mem_strdup(labels[l].name)) == NULL ||
		    (c->lvals[l] = mem_calloc(labels[l].nvalues,
		    sizeof(char *))) == NULL)
			goto out;
		c->nvals[l] = labels[l].nvalues;
		for (v = 0; v < labels[l].nvalues; v++)
			if ((c->lvals[l][v] = mem_strdup(labels[l].values[v])) ==
			    NULL)
				goto out;
	}
	c->nslots = nslots;
	if ((c->slots = mem_calloc(nslots, sizeof(*c->slots))) == NULL)
		goto out;
	r = metric_link(m, c, out);
	c = NULL;	/* consumed */
 out:
	metric_free(c);
	return r;
}

int
web_metrics_counter(struct web_metrics *m, const char *name,
    const char *help, const struct web_label *labels, size_t nlabels,
    struct web_metric **out)
{
	return scalar_register(m, M_COUNTER, name, help, labels, nlabels, out);
}

int
web_metrics_gauge(struct web_metrics *m, const char *name,
    const char *help, const struct web_label *labels, size_t nlabels,
    struct web_metric **out)
{
	return scalar_register(m, M_GAUGE, name, help, labels, nlabels, out);
}

int
web_metrics_histogram(struct web_metrics *m, const char *name,
    const char *help, const double *bounds, size_t nbounds,
    struct web_metric **out)
{
	struct web_metric *c = NULL;
	size_t i;
	int r = TSS_E_INTERNAL;

	if (out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*out = NULL;
	if (m == NULL || bounds == NULL || nbounds == 0)
		return TSS_E_INVALID_ARGUMENT;
	if (nbounds > WEB_METRIC_MAX_BUCKETS)
		return TSS_E_TOO_MANY;
	for (i = 0; i < nbounds; i++)
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			return TSS_E_INVALID_ARGUMENT;
	if ((r = metric_new(name, help, M_HISTOGRAM, &c)) != 0)
		goto out;
	memcpy(c->bounds, bounds, nbounds * sizeof(*bounds));
	c->nbounds = nbounds;
	c->nslots = nbounds + 1;	/* the last is +Inf */
	if ((c->slots = mem_calloc(c->nslots, sizeof(*c->slots))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = metric_link(m, c, out);
	c = NULL;	/* consumed */
 out:
	metric_free(c);
	return r;
}

size_t
web_metric_idx2(const struct web_metric *c, size_t i, size_t j)
{
	if (c == NULL || c->nlabels != 2 || i >= c->nvals[0] ||
	    j >= c->nvals[1])
		return SIZE_MAX;
	return i * c->nvals[1] + j;
}

void
web_metric_add(struct web_metric *c, size_t idx, uint64_t n)
{
	if (c == NULL || c->type == M_HISTOGRAM || idx >= c->nslots)
		return;
	atomic_fetch_add_explicit(&c->slots[idx], n, memory_order_relaxed);
}

void
web_metric_inc(struct web_metric *c, size_t idx)
{
	web_metric_add(c, idx, 1);
}

void
web_metric_set(struct web_metric *g, size_t idx, int64_t v)
{
	if (g == NULL || g->type != M_GAUGE || idx >= g->nslots)
		return;
	atomic_store_explicit(&g->slots[idx], (uint64_t)v,
	    memory_order_relaxed);
}

int64_t
web_metric_value(const struct web_metric *c, size_t idx)
{
	if (c == NULL || c->type == M_HISTOGRAM || idx >= c->nslots)
		return 0;
	return (int64_t)atomic_load_explicit(&c->slots[idx],
	    memory_order_relaxed);
}

void
web_metric_observe(struct web_metric *h, double v)
{
	uint64_t old, nw;
	double sum;
	size_t i;

	if (h == NULL || h->type != M_HISTOGRAM || isnan(v))
		return;
	for (i = 0; i < h->nbounds && v > h->bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&h->slots[i], 1, memory_order_relaxed);
	old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
	do {
		memcpy(&sum, &old, sizeof(sum));
		sum += v;
		memcpy(&nw, &sum, sizeof(nw));
	} while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, nw,
	    memory_order_relaxed, memory_order_relaxed));
}

/* Rendering: a growing string with a hard cap. */
struct sb {
	char *p;
	size_t len, cap;
	int err;
};

static void
sb_grow(struct sb *s, size_t need)
{
	size_t ncap;
	char *np;

	if (s->err || s->len + need + 1 <= s->cap)
		return;
	if (s->len + need + 1 > RENDER_MAX) {
		s->err = TSS_E_TOO_LONG;
		return;
	}
	ncap = s->cap ? s->cap : 4096;
	while (ncap < s->len + need + 1)
		ncap *= 2;
	if (ncap > RENDER_MAX)
		ncap = RENDER_MAX;
	if ((np = mem_realloc(s->p, ncap)) == NULL) {
		s->err = TSS_E_NOMEM;
		return;
	}
	s->p = np;
	s->cap = ncap;
}

static void sb_printf(struct sb *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->err = TSS_E_INTERNAL;
		return;
	}
	sb_grow(s, (size_t)n);
	if (s->err)
		return;
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

/* Escape for HELP (backslash, newline) or label values (plus quote). */
static void
sb_escaped(struct sb *s, const char *v, int quote)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			sb_printf(s, "\\\\");
		else if (*v == '\n')
			sb_printf(s, "\\n");
		else if (quote && *v == '"')
			sb_printf(s, "\\\"");
		else
			sb_printf(s, "%c", *v);
	}
}

static void
render_labels(struct sb *s, const struct web_metric *c, size_t slot)
{
	size_t idx[2] = { 0, 0 };
	size_t l;

	if (c->nlabels == 0)
		return;
	if (c->nlabels == 1)
		idx[0] = slot;
	else {
		idx[0] = slot / c->nvals[1];
		idx[1] = slot % c->nvals[1];
	}
	sb_printf(s, "{");
	for (l = 0; l < c->nlabels; l++) {
		sb_printf(s, "%s%s=\"", l ? "," : "", c->lname[l]);
		sb_escaped(s, c->lvals[l][idx[l]], 1);
		sb_printf(s, "\"");
	}
	sb_printf(s, "}");
}

static void
render_one(struct sb *s, const struct web_metric *c)
{
	static const char *const tnames[] = { "counter", "gauge", "histogram" };
	uint64_t v, cum = 0, bits;
	double sum;
	size_t i;

	sb_printf(s, "# HELP %s ", c->name);
	sb_escaped(s, c->help, 0);
	sb_printf(s, "\n# TYPE %s %s\n", c->name, tnames[c->type]);
	if (c->type == M_HISTOGRAM) {
		for (i = 0; i < c->nslots; i++) {
			cum += atomic_load_explicit(&c->slots[i],
			    memory_order_relaxed);
			if (i < c->nbounds)
				sb_printf(s, "%s_bucket{le=\"%.9g\"} %llu\n",
				    c->name, c->bounds[i],
				    (unsigned long long)cum);
			else
				sb_printf(s, "%s_bucket{le=\"+Inf\"} %llu\n",
				    c->name, (unsigned long long)cum);
		}
		bits = atomic_load_explicit(&c->sum_bits, memory_order_relaxed);
		memcpy(&sum, &bits, sizeof(sum));
		sb_printf(s, "%s_sum %.9g\n%s_count %llu\n", c->name, sum,
		    c->name, (unsigned long long)cum);
		return;
	}
	for (i = 0; i < c->nslots; i++) {
		v = atomic_load_explicit(&c->slots[i], memory_order_relaxed);
		sb_printf(s, "%s", c->name);
		render_labels(s, c, i);
		if (c->type == M_GAUGE)
			sb_printf(s, " %lld\n", (long long)(int64_t)v);
		else
			sb_printf(s, " %llu\n", (unsigned long long)v);
	}
}

int
web_metrics_render(struct web_metrics *m, char **out, size_t *len)
{
	struct sb s = { NULL, 0, 0, 0 };
	struct web_metric *c;
	int r = TSS_E_INTERNAL;

	if (out == NULL || len == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*out = NULL;
	*len = 0;
	if (m == NULL)
		return TSS_E_INVALID_ARGUMENT;
	sb_grow(&s, 0);
	pthread_mutex_lock(&m->lock);
	for (c = m->head; c != NULL && !s.err; c = c->next)
		render_one(&s, c);
	pthread_mutex_unlock(&m->lock);
	if (s.err) {
		r = s.err;
		goto out;
	}
	*out = s.p;
	*len = s.len;
	s.p = NULL;	/* transferred */
	r = 0;
 out:
	free(s.p);
	return r;
}
