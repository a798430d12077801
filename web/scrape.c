/*
 * The metrics listener; see scrape.h.  A libmicrohttpd daemon of its own,
 * without TLS, on one internal thread: the HTTPS server's machinery
 * (acceptor, limits, pools, TLS) is for the API and stays there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "web/internal.h"
#include "web/scrape.h"

#define SCRAPE_CONNS		16	/* a scraper or two, and a probe */
#define SCRAPE_TIMEOUT		10	/* seconds */
#define SCRAPE_CONN_MEMORY	(16 * 1024)

#define JSON_TYPE	"application/json"
#define TEXT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct web_scrape {
	struct MHD_Daemon *d;
	struct web_scrape_config cfg;
	uint16_t port;
};

/* Not const: libmicrohttpd's buffer argument is not. */
static char body_ok[] = "{\"status\":\"ok\"}";
static char body_404[] =
    "{\"error\":{\"code\":\"not_found\",\"message\":\"not found\"}}";
static char body_405[] = "{\"error\":{\"code\":\"method_not_allowed\","
    "\"message\":\"method not allowed\"}}";
static char body_503[] = "{\"error\":{\"code\":\"unavailable\","
    "\"message\":\"store does not answer\"}}";
static char body_500[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}";

/* Queue the answer; text is either one of the bodies above or, with
 * owned set, a malloc'd buffer the response frees. */
static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned status, const char *ctype,
    char *text, size_t len, int owned)
{
	struct MHD_Response *mr;
	enum MHD_Result ret = MHD_NO;

	mr = owned ? MHD_create_response_from_buffer_with_free_callback(len,
	    text, free) : MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		if (owned)
			free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(mr, "Content-Type", ctype) == MHD_YES &&
	    MHD_add_response_header(mr, "Cache-Control", "no-store") ==
	    MHD_YES && MHD_add_response_header(mr, "X-Content-Type-Options",
	    "nosniff") == MHD_YES && (status != 405 ||
	    MHD_add_response_header(mr, "Allow", "GET, HEAD") == MHD_YES))
		ret = MHD_queue_response(conn, status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct web_scrape *sc = cls;
	char *text = NULL;
	size_t len = 0;
	int metrics;

	/* Answered from the head: a body, if any, is never read. */
	if (*con_cls != NULL)
		return MHD_NO;
	*con_cls = sc;
	metrics = strcmp(url, "/metrics") == 0;
	if (!metrics && strcmp(url, "/healthz") != 0)
		return answer(conn, 404, JSON_TYPE, body_404,
		    sizeof(body_404) - 1, 0);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer(conn, 405, JSON_TYPE, body_405,
		    sizeof(body_405) - 1, 0);
	if (!metrics) {
		if (sc->cfg.health != NULL && sc->cfg.health(sc->cfg.arg) != 0)
			return answer(conn, 503, JSON_TYPE, body_503,
			    sizeof(body_503) - 1, 0);
		return answer(conn, 200, JSON_TYPE, body_ok,
		    sizeof(body_ok) - 1, 0);
	}
	if (sc->cfg.refresh != NULL)
		sc->cfg.refresh(sc->cfg.arg);
	if (web_metrics_render(sc->cfg.metrics, &text, &len) != 0)
		return answer(conn, 500, JSON_TYPE, body_500,
		    sizeof(body_500) - 1, 0);
	return answer(conn, 200, TEXT_TYPE, text, len, 1);
}

int
web_scrape_start(const struct web_scrape_config *cfg, struct web_scrape **out)
{
	struct web_scrape *sc = NULL;
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN];
	int v6 = 0, fd = -1, r;

	if (out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	*out = NULL;
	if (cfg == NULL || cfg->metrics == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = web__parse_listen(cfg->listen, &ss, &v6, host,
	    sizeof(host))) != 0) {
		log_error("web: bad metrics listen address \"%s\"",
		    cfg->listen != NULL ? cfg->listen : "");
		return r;
	}
	if ((sc = mem_calloc(1, sizeof(*sc))) == NULL)
		return TSS_E_NOMEM;
	sc->cfg = *cfg;
	if ((fd = web__listen_open(&ss, v6)) == -1 ||
	    (sc->port = web__bound_port(fd)) == 0) {
		log_error("web: cannot listen on %s for metrics: %s",
		    cfg->listen, strerror(errno));
		r = TSS_E_IO;
		goto out;
	}
	sc->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL, 0, NULL, NULL, on_access, sc,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)SCRAPE_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SCRAPE_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SCRAPE_CONN_MEMORY,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_END);
	if (sc->d == NULL) {
		log_error("web: cannot start the metrics listener on %s",
		    cfg->listen);
		r = TSS_E_IO;
		goto out;
	}
	fd = -1;	/* the daemon's now */
	log_info("web: metrics (plain HTTP) on %s port %u", host,
	    (unsigned)sc->port);
	*out = sc;
	sc = NULL;	/* transferred */
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	web_scrape_free(sc);
	return r;
}

uint16_t
web_scrape_port(const struct web_scrape *sc)
{
	return sc == NULL ? 0 : sc->port;
}

void
web_scrape_free(struct web_scrape *sc)
{
	if (sc == NULL)
		return;
	if (sc->d != NULL)
		MHD_stop_daemon(sc->d);
	free(sc);
}
