/*
 * The metrics listener: plain HTTP on its own address, for a scrape
 * network inside the deployment (a Swarm overlay, a pod network), so that
 * the API port never serves metrics to whoever reaches it.  It answers
 * GET (and HEAD) /metrics with the registry as Prometheus text and
 * /healthz with 200 or 503; any other path is 404, any other method 405.
 * No TLS, no authentication: bind it to an address only the scraper
 * reaches.  One thread, a few connections, short timeouts.
 */
#ifndef TSS_WEB_SCRAPE_H
#define TSS_WEB_SCRAPE_H

#include <stdint.h>

struct web_metrics;
struct web_scrape;

struct web_scrape_config {
	const char *listen;		/* "10.0.0.5:9090", "[::]:0" (numeric) */
	struct web_metrics *metrics;	/* must outlive the listener */
	void (*refresh)(void *arg);	/* before each render; may be NULL */
	int (*health)(void *arg);	/* 0: healthy; NULL: always */
	void *arg;
};

/* TSS_E_CONFIG for a bad listen string, TSS_E_IO when it cannot bind. */
int web_scrape_start(const struct web_scrape_config *cfg,
    struct web_scrape **out);
uint16_t web_scrape_port(const struct web_scrape *sc);	/* the bound port */
void web_scrape_free(struct web_scrape *sc);		/* NULL harmless */

#endif
