/*
 * tesserad: load the config, open the broker, serve HTTPS until SIGTERM or
 * SIGINT.  SIGHUP, or a change of the TLS files, reloads the certificate
 * without dropping connections; SIGHUP also re-reads the config
 * (reload_config says what applies).  The main thread owns the signals
 * (blocked everywhere else) and the housekeeping: pruning expired sessions
 * and enrollments, streaming audit events other processes committed,
 * trimming the store's map.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/enroll.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"
#include "broker/backup.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"
#include "tesserad/api.h"
#include "web/scrape.h"
#include "web/metrics.h"
#include "web/server.h"

#define EX_USAGE	64
#define PRUNE_EVERY	300	/* seconds */
#define TOKEN_FILE_MAX	4096

static void
usage(void)
{
	fprintf(stderr, "usage: tesserad [--config FILE]\n");
	exit(EX_USAGE);
}

/* Write data_dir/tesserad.port atomically. */
static int
write_port_file(const char *dir, unsigned port)
{
	char path[4096], tmp[4096 + 8], text[16];
	int fd, n, ok;

	n = snprintf(path, sizeof(path), "%s/tesserad.port", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TSS_E_TOO_LONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "%u\n", port);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		return TSS_E_IO;
	ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return TSS_E_IO;
	}
	return 0;
}

static int
prune_fn(struct store_txn *t, void *arg)
{
	const struct broker *b = arg;
	int64_t now = (int64_t)time(NULL);
	int r;

	if ((r = session_prune(t, now, b->cfg.session_idle, b->cfg.session_max,
	    NULL)) != 0)
		return r;
	return enroll_prune(t, now, NULL);
}

/*
 * SIGHUP: read the config again.  log_level applies at once; every other
 * key sizes a pool, names a file already open or is part of state built at
 * start, so a change to it is reported and waits for a restart.  running
 * is the config as loaded at start, with the changes applied since.
 */
static void
reload_config(const char *path, struct config *running)
{
	struct config nc;
	enum log_level was, lvl;
	const char *key;
	char err[1024];
	size_t i = 0;
	char *t;

	if (config_load(path, &nc, err, sizeof(err)) != 0) {
		log_warn("config reload failed, keeping the running "
		    "configuration: %s", err);
		return;
	}
	while ((key = config_changed(running, &nc, &i)) != NULL) {
		if (strcmp(key, "log_level") != 0) {
			log_warn("config: %s changed; it takes effect at the "
			    "next restart", key);
			continue;
		}
		if (log_level_parse(running->log_level, &was) != 0 ||
		    log_level_parse(nc.log_level, &lvl) != 0)
			continue;		/* config_load checked them */
		/* Said at whichever of the two levels is more verbose. */
		if (was <= LOGL_INFO)
			log_info("config: log_level is now %s", nc.log_level);
		log_setup(lvl, 0);
		if (was > LOGL_INFO)
			log_info("config: log_level is now %s", nc.log_level);
		t = running->log_level;
		running->log_level = nc.log_level;
		nc.log_level = t;
	}
	config_free(&nc);
}

/*
 * bootstrap_admin set and no store in data_dir: make it from the keys
 * (broker_bootstrap).  1 when made (token holds the admin's enrollment
 * token), 0 when there was a store, -1 with a message on stderr.
 */
static int
first_start(const struct config *cfg, char *token, int64_t *exp)
{
	char err[1024];
	int r;

	if (cfg->bootstrap_admin == NULL)
		return 0;
	if (user_name_valid(cfg->bootstrap_admin) != 0) {
		log_error("bootstrap_admin = %s: not a user name (lowercase "
		    "letters, digits, _ . -)", cfg->bootstrap_admin);
		return -1;
	}
	r = broker_bootstrap(cfg, cfg->bootstrap_admin, (int64_t)time(NULL),
	    token, exp, err, sizeof(err));
	if (r == TSS_E_CONFLICT) {
		log_warn("bootstrap_admin is set and %s holds a store: unset "
		    "it, or an empty data_dir (a volume lost or not mounted) "
		    "would get a new, empty store whose KRL revokes nothing "
		    "(tesserad(8))", cfg->data_dir);
		return 0;
	}
	if (r != 0) {
		log_error("first start: %s", err);
		return -1;
	}
	return 1;
}

/* The first admin's enrollment link, once, on the log. */
static void
say_first_link(const struct config *cfg, const char *token, int64_t exp)
{
	struct tm tm;
	time_t t = (time_t)exp;
	char when[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)exp);
	log_info("first start: a new store in %s; %s enrolls at this link, "
	    "shown only now (valid until %s; a new one: tessera enroll-link "
	    "--config FILE %s): %s/enroll#token=%s", cfg->data_dir,
	    cfg->bootstrap_admin, when, cfg->bootstrap_admin,
	    cfg->public_url, token);
}

/*
 * metrics_token_file: a secret (a Docker secret, say), read once at start
 * like the key files: ours alone (no group or other access), one token,
 * a trailing newline allowed.  On failure err says what to fix.
 */
static int
metrics_token_load(const char *path, struct api *a, char *err, size_t errlen)
{
	char buf[TOKEN_FILE_MAX + 1];
	size_t len;
	int r;

	if (broker_secret_read("metrics_token_file", path, buf, sizeof(buf),
	    &len, err, errlen) != 0)
		return TSS_E_CONFIG;
	if ((r = api_metrics_token(a, buf, len)) != 0) {
		snprintf(err, errlen, "metrics_token_file %s: not a token: "
		    "use 1 to %d characters of A-Z a-z 0-9 - . _ ~ + / = "
		    "(e.g. openssl rand -hex 32)", path, WEB_TOKEN_MAX);
		r = TSS_E_CONFIG;
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

/* Each backup's result, for /metrics (arg: the struct api). */
static void
backup_done(void *arg, int r, int64_t at)
{
	struct api *a = arg;

	if (r != 0)
		web_metric_inc(a->backup_failures, 0);
	else
		web_metric_set(a->backup_last, 0, at);
}

/* The audit sink's delivery in /metrics, refreshed every tick. */
static void
sink_metrics(struct broker *b, struct web_metric *lag,
    struct web_metric *fails, uint64_t *counted)
{
	uint64_t l, f;

	audit_sink_stats(b->sink, b->store, &l, &f);
	web_metric_set(lag, 0, (int64_t)l);
	if (f > *counted)
		web_metric_add(fails, 0, f - *counted);
	*counted = f;
}

/* public_url default: https://<listen host>:<bound port>. */
static int
default_public_url(struct config *cfg, unsigned port)
{
	char host[64], url[128];
	uint16_t p;

	if (cfg->public_url != NULL)
		return 0;
	if (config_parse_listen(cfg->listen, host, sizeof(host), &p) != 0)
		return TSS_E_CONFIG;
	snprintf(url, sizeof(url), strchr(host, ':') != NULL ?
	    "https://[%s]:%u" : "https://%s:%u", host, port);
	return (cfg->public_url = mem_strdup(url)) != NULL ? 0 : TSS_E_NOMEM;
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct config cfg, running;
	struct broker *b = NULL;
	struct web_metrics *metrics = NULL;
	struct web_metric *sink_lag = NULL, *sink_fails = NULL;
	uint64_t sink_counted = 0;
	struct web_server *srv = NULL;
	struct web_scrape *scrape = NULL;
	struct web_scrape_config sc;
	struct web_config wc;
	struct api api;
	const struct web_route *routes;
	struct timespec tick = { 1, 0 };
	enum log_level lvl;
	sigset_t sigs;
	char err[1024];
	time_t last_prune;
	size_t nroutes;
	char token[TOKEN_TEXT_LEN + 1];
	int64_t enroll_exp = 0;
	int i, sig, r, first = -1, status = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		else
			usage();
	}
	if (config_load(path, &cfg, err, sizeof(err)) != 0 ||
	    config_load(path, &running, err, sizeof(err)) != 0) {
		config_free(&cfg);
		fprintf(stderr, "tesserad: %s\n", err);
		return CONFIG_EXIT_CODE;
	}
	if (log_level_parse(cfg.log_level, &lvl) == 0)
		log_setup(lvl, 0);
	/* The audit stream on stderr has it to itself: the log moves out. */
	if (strcmp(cfg.audit_log, "-") == 0)
		log_to(STDOUT_FILENO);

	/* Signals go to this thread only: block them before any thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (broker_keyfile_check("tls_key", cfg.tls_key, err,
	    sizeof(err)) != 0)
		log_error("%s", err);
	else
		first = first_start(&cfg, token, &enroll_exp);
	if (first < 0) {
		explicit_bzero(token, sizeof(token));
		config_free(&cfg);
		config_free(&running);
		return CONFIG_EXIT_CODE;
	}
	if ((r = broker_open(&cfg, &b, err, sizeof(err))) != 0) {
		log_error("tesserad: %s", err);
		explicit_bzero(token, sizeof(token));
		config_free(&running);
		/* A data directory it cannot trust has its own status. */
		return broker_exit_status(r, CONFIG_EXIT_CODE);
	}
	if ((r = web_metrics_new(&metrics)) != 0 ||
	    (r = api_init(&api, b, metrics)) != 0 ||
	    (r = web_metrics_gauge(metrics, "tessera_audit_sink_lag_events",
	    "Audit events committed but not yet delivered to audit_log.",
	    NULL, 0, &sink_lag)) != 0 ||
	    (r = web_metrics_counter(metrics,
	    "tessera_audit_sink_failures_total",
	    "Failed attempts to deliver to audit_log.", NULL, 0,
	    &sink_fails)) != 0) {
		log_error("metrics: %s", tss_strerror(r));
		goto out;
	}
	if (b->cfg.metrics_token_file != NULL && metrics_token_load(
	    b->cfg.metrics_token_file, &api, err, sizeof(err)) != 0) {
		log_error("%s", err);
		status = CONFIG_EXIT_CODE;
		goto out;
	}
	if ((r = backup_start(b, backup_done, &api)) != 0) {
		log_error("backups: %s", tss_strerror(r));
		goto out;
	}
	routes = api_routes(&nroutes);
	memset(&wc, 0, sizeof(wc));
	wc.listen = b->cfg.listen;
	wc.tls_cert_file = b->cfg.tls_cert;
	wc.tls_key_file = b->cfg.tls_key;
	wc.public_origin = NULL;
	wc.conn_timeout = (unsigned)b->cfg.connection_timeout;
	wc.max_connections = (unsigned)b->cfg.max_connections;
	wc.per_ip_limit = (unsigned)b->cfg.per_ip_connections;
	wc.per_net_limit = (unsigned)b->cfg.per_network_connections;
	wc.head_timeout = (unsigned)b->cfg.header_timeout;
	wc.body_timeout = (unsigned)b->cfg.body_timeout;
	wc.routes = routes;
	wc.nroutes = nroutes;
	wc.handler_arg = &api;
	wc.metrics = metrics;
	if (b->cfg.public_url != NULL) {
		/* The origin is the public URL without a path. */
		static char origin[512];
		const char *p = strchr(b->cfg.public_url, ':');
		size_t n = strlen(b->cfg.public_url);

		if (p != NULL && strncmp(p, "://", 3) == 0 &&
		    (p = strchr(p + 3, '/')) != NULL)
			n = (size_t)(p - b->cfg.public_url);
		if (n < sizeof(origin)) {
			memcpy(origin, b->cfg.public_url, n);
			origin[n] = '\0';
			wc.public_origin = origin;
		}
	}
	if ((r = web_start(&wc, &srv)) != 0) {
		log_error("cannot serve on %s: %s", b->cfg.listen,
		    tss_strerror(r));
		status = r == TSS_E_IO ? 1 : CONFIG_EXIT_CODE;
		goto out;
	}
	if ((r = default_public_url(&b->cfg, web_port(srv))) != 0 ||
	    (r = write_port_file(b->cfg.data_dir, web_port(srv))) != 0) {
		log_error("%s/tesserad.port: %s", b->cfg.data_dir,
		    tss_strerror(r));
		goto out;
	}
	if (b->cfg.metrics_listen != NULL) {
		memset(&sc, 0, sizeof(sc));
		sc.listen = b->cfg.metrics_listen;
		sc.metrics = metrics;
		sc.refresh = api_metrics_refresh;
		sc.health = api_health;
		sc.arg = &api;
		if ((r = web_scrape_start(&sc, &scrape)) != 0) {
			log_error("cannot serve metrics on %s: %s",
			    b->cfg.metrics_listen, tss_strerror(r));
			status = r == TSS_E_IO ? 1 : CONFIG_EXIT_CODE;
			goto out;
		}
	}
	log_info("tesserad listening on %s (port %u), public URL %s",
	    b->cfg.listen, web_port(srv), b->cfg.public_url);
	if (first)
		say_first_link(&b->cfg, token, enroll_exp);
	explicit_bzero(token, sizeof(token));

	last_prune = time(NULL);
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: draining", sig);
			backup_stop(b);
			break;
		}
		if (sig == SIGHUP)
			reload_config(path, &running);
		if (sig == SIGHUP || web_tls_changed(srv) == 1) {
			if ((r = web_reload_tls(srv)) != 0)
				log_warn("TLS reload failed, keeping the old "
				    "certificate: %s", tss_strerror(r));
			else
				log_info("TLS certificate reloaded");
		}
		if (time(NULL) - last_prune >= PRUNE_EVERY) {
			last_prune = time(NULL);
			if ((r = store_write(b->store, prune_fn, b)) != 0)
				log_warn("pruning sessions: %s", tss_strerror(r));
		}
		broker_audit_flush(b);
		sink_metrics(b, sink_lag, sink_fails, &sink_counted);
		/* Readers map every page they touch; keep RSS off the file. */
		if ((r = store_trim_map(b->store)) != 0)
			log_debug("trimming the store map: %s",
			    tss_strerror(r));
	}
	status = 0;
 out:
	explicit_bzero(token, sizeof(token));
	web_scrape_free(scrape);
	web_free(srv);		/* stops: in-flight requests finish, 5 s cap */
	broker_close(b);
	web_metrics_free(metrics);
	config_free(&running);
	return status;
}
