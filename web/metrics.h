/*
 * Metrics registry and Prometheus text exposition (format 0.0.4).
 *
 * Counters, gauges and fixed-bucket histograms.  Label values are fixed at
 * registration (at most two labels, each with a fixed list of values), so
 * the number of series is bounded and an update is one atomic add on a
 * slot chosen by index: no lock, no allocation.  For two labels the slot
 * is i * nvalues_of_second_label + j (web_metric_idx2() computes it).
 * An index out of range is ignored.
 *
 * Registration and rendering take the registry's mutex; updates never do.
 * A web_metric pointer stays valid until web_metrics_free().
 */
#ifndef TSS_WEB_METRICS_H
#define TSS_WEB_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct web_metrics;
struct web_metric;

struct web_label {
	const char *name;		/* [a-zA-Z_][a-zA-Z0-9_]* */
	const char *const *values;	/* copied at registration */
	size_t nvalues;			/* 1 .. WEB_METRIC_MAX_VALUES */
};

#define WEB_METRIC_MAX_VALUES	256	/* per label */
#define WEB_METRIC_MAX_BUCKETS	32

int web_metrics_new(struct web_metrics **out);
void web_metrics_free(struct web_metrics *m);		/* NULL is harmless */

/*
 * Register a counter or gauge named `name` ([a-zA-Z_:][a-zA-Z0-9_:]*,
 * unique in the registry) with 0, 1 or 2 labels.  TSS_E_INVALID_ARGUMENT
 * for a bad name, label or duplicate; TSS_E_TOO_MANY past the caps.
 */
int web_metrics_counter(struct web_metrics *m, const char *name,
    const char *help, const struct web_label *labels, size_t nlabels,
    struct web_metric **out);
int web_metrics_gauge(struct web_metrics *m, const char *name,
    const char *help, const struct web_label *labels, size_t nlabels,
    struct web_metric **out);
/* A histogram without labels; bounds strictly increasing, finite. */
int web_metrics_histogram(struct web_metrics *m, const char *name,
    const char *help, const double *bounds, size_t nbounds,
    struct web_metric **out);

/* Look up a registered metric by name (NULL when absent). */
struct web_metric *web_metrics_find(struct web_metrics *m, const char *name);

size_t web_metric_idx2(const struct web_metric *c, size_t i, size_t j);
void web_metric_inc(struct web_metric *c, size_t idx);
void web_metric_add(struct web_metric *c, size_t idx, uint64_t n);
void web_metric_set(struct web_metric *g, size_t idx, int64_t v);
void web_metric_observe(struct web_metric *h, double v);
/* Current value of a counter/gauge slot (tests, health checks). */
int64_t web_metric_value(const struct web_metric *c, size_t idx);

/*
 * Render every metric in registration order as Prometheus text: "# HELP",
 * "# TYPE", then one line per series (histograms: _bucket{le=...}
 * cumulative, _sum, _count).  *out is NUL-terminated, caller frees.
 */
int web_metrics_render(struct web_metrics *m, char **out, size_t *len);

#endif
