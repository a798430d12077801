/*
 * Metrics registry: registration rules, atomic updates from threads, and
 * the Prometheus text exposition.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "web/metrics.h"

static const char *const outcomes[] = { "ok", "fail" };
static const char *const kinds[] = { "a", "b\"q", "c" };

Test(web_metrics, counter_without_labels)
{
	struct web_metrics *m = NULL;
	struct web_metric *c = NULL;
	char *txt = NULL;
	size_t len = 0;

	cr_assert_eq(web_metrics_new(&m), 0);
	cr_assert_eq(web_metrics_counter(m, "t_total", "Things.", NULL, 0, &c),
	    0);
	web_metric_inc(c, 0);
	web_metric_add(c, 0, 41);
	web_metric_inc(c, 1);	/* out of range: ignored */
	cr_assert_eq(web_metric_value(c, 0), 42);
	cr_assert_eq(web_metrics_render(m, &txt, &len), 0);
	cr_assert_str_eq(txt,
	    "# HELP t_total Things.\n# TYPE t_total counter\nt_total 42\n");
	cr_assert_eq(len, strlen(txt));
	free(txt);
	web_metrics_free(m);
}

Test(web_metrics, two_labels_and_escaping)
{
	struct web_metrics *m = NULL;
	struct web_metric *c = NULL;
	struct web_label l[2] = {
		{ "outcome", outcomes, 2 }, { "kind", kinds, 3 } };
	char *txt = NULL;
	size_t len = 0;

	cr_assert_eq(web_metrics_new(&m), 0);
	cr_assert_eq(web_metrics_counter(m, "x_total", "Line\none \\ two.", l,
	    2, &c), 0);
	cr_assert_eq(web_metric_idx2(c, 1, 2), 5);
	cr_assert_eq(web_metric_idx2(c, 2, 0), SIZE_MAX);
	web_metric_inc(c, web_metric_idx2(c, 1, 1));
	cr_assert_eq(web_metrics_render(m, &txt, &len), 0);
	cr_assert_not_null(strstr(txt, "# HELP x_total Line\\none \\\\ two.\n"));
	cr_assert_not_null(strstr(txt,
	    "x_total{outcome=\"fail\",kind=\"b\\\"q\"} 1\n"));
	cr_assert_not_null(strstr(txt, "x_total{outcome=\"ok\",kind=\"a\"} 0\n"));
	free(txt);
	web_metrics_free(m);
}

Test(web_metrics, gauge_set)
{
	struct web_metrics *m = NULL;
	struct web_metric *g = NULL;
	char *txt = NULL;
	size_t len = 0;

	cr_assert_eq(web_metrics_new(&m), 0);
	cr_assert_eq(web_metrics_gauge(m, "store_bytes", "Size.", NULL, 0, &g),
	    0);
	web_metric_set(g, 0, -5);
	cr_assert_eq(web_metrics_render(m, &txt, &len), 0);
	cr_assert_not_null(strstr(txt, "# TYPE store_bytes gauge\n"
	    "store_bytes -5\n"));
	free(txt);
	web_metrics_free(m);
}

Test(web_metrics, histogram_cumulative)
{
	static const double b[] = { 0.1, 1, 10 };
	struct web_metrics *m = NULL;
	struct web_metric *h = NULL;
	char *txt = NULL;
	size_t len = 0;

	cr_assert_eq(web_metrics_new(&m), 0);
	cr_assert_eq(web_metrics_histogram(m, "lat_seconds", "Latency.", b, 3,
	    &h), 0);
	web_metric_observe(h, 0.05);
	web_metric_observe(h, 0.1);	/* le is inclusive */
	web_metric_observe(h, 5);
	web_metric_observe(h, 100);
	cr_assert_eq(web_metrics_render(m, &txt, &len), 0);
	cr_assert_str_eq(txt,
	    "# HELP lat_seconds Latency.\n"
	    "# TYPE lat_seconds histogram\n"
	    "lat_seconds_bucket{le=\"0.1\"} 2\n"
	    "lat_seconds_bucket{le=\"1\"} 2\n"
	    "lat_seconds_bucket{le=\"10\"} 3\n"
	    "lat_seconds_bucket{le=\"+Inf\"} 4\n"
	    "lat_seconds_sum 105.15\n"
	    "lat_seconds_count 4\n");
	free(txt);
	web_metrics_free(m);
}

Test(web_metrics, refuses_bad_registrations)
{
	static const double bad[] = { 1, 1 };
	struct web_metrics *m = NULL;
	struct web_metric *c = NULL;
	struct web_label l = { "le", outcomes, 2 };
	struct web_label dup = { "x", (const char *const[]){ "a", "a" }, 2 };
	char *txt = NULL;
	size_t len = 0;

	cr_assert_eq(web_metrics_new(&m), 0);
	cr_assert_eq(web_metrics_counter(m, "9bad", "h", NULL, 0, &c),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_null(c);
	cr_assert_eq(web_metrics_counter(m, "a-b", "h", NULL, 0, &c),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(web_metrics_counter(m, "ok", "h", &l, 1, &c),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(web_metrics_counter(m, "ok", "h", &dup, 1, &c),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(web_metrics_histogram(m, "h", "h", bad, 2, &c),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(web_metrics_counter(m, "ok", "h", NULL, 0, &c), 0);
	cr_assert_not_null(c);
	cr_assert_eq(web_metrics_counter(m, "ok", "h", NULL, 0, &c),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_null(c);
	cr_assert_not_null(web_metrics_find(m, "ok"));
	cr_assert_null(web_metrics_find(m, "h"));
	/* Only the one good metric is exposed. */
	cr_assert_eq(web_metrics_render(m, &txt, &len), 0);
	cr_assert_str_eq(txt, "# HELP ok h\n# TYPE ok counter\nok 0\n");
	free(txt);
	web_metrics_free(m);
}

static void *
bump(void *arg)
{
	int i;

	for (i = 0; i < 100000; i++)
		web_metric_inc(arg, 0);
	return NULL;
}

Test(web_metrics, concurrent_increments_all_counted)
{
	struct web_metrics *m = NULL;
	struct web_metric *c = NULL;
	pthread_t t[4];
	int i;

	cr_assert_eq(web_metrics_new(&m), 0);
	cr_assert_eq(web_metrics_counter(m, "n_total", "n", NULL, 0, &c), 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, bump, c), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(web_metric_value(c, 0), 400000);
	web_metrics_free(m);
}
