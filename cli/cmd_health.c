/*
 * tessera healthcheck: exit 0 when the local tesserad answers GET /healthz
 * with 200, 1 otherwise with the reason on one line of stderr; made for a
 * container's HEALTHCHECK (no curl in the image).
 *
 * The server comes from tesserad's own config (--config, with the same
 * TESSERA_* overrides tesserad reads): its listen address, a wildcard
 * (0.0.0.0, ::) taken as loopback, and data_dir/tesserad.port when the port
 * is 0.  Such a server is trusted only if it holds the key of the
 * configured tls_cert (a pin: the certificate need not name the address).
 * With --url it is verified as for every other command (--ca-file or the
 * system store).  Every request gives up after HEALTH_TIMEOUT_S seconds.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "broker/config.h"
#include "cli.h"

#define HEALTH_TIMEOUT_S	3L

/* The port tesserad wrote to data_dir/tesserad.port; 0 if none. */
static unsigned
port_file(const char *data_dir, char *why, size_t whylen)
{
	char path[PATH_MAX], text[16], *end;
	unsigned long v = 0;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tesserad.port", data_dir);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "listen port is 0 and %s cannot be read "
		    "(is tesserad running?): %s", path, strerror(errno));
		return 0;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	errno = 0;
	if (n > 0 && text[0] >= '0' && text[0] <= '9')
		v = strtoul(text, &end, 10);
	if (n == 0 || errno != 0 || v == 0 || v > 65535 ||
	    (*end != '\n' && *end != '\0')) {
		snprintf(why, whylen, "%s holds no port number", path);
		return 0;
	}
	return (unsigned)v;
}

/* "https://ADDR:PORT" of the listen address in cfg into url. */
static int
derive_url(const struct config *cfg, char *url, size_t len, char *why,
    size_t whylen)
{
	static const uint8_t any6[16];
	char host[64];
	uint8_t a[16];
	uint16_t port;
	unsigned p;
	int v6;

	if (config_parse_listen(cfg->listen, host, sizeof(host), &port) != 0) {
		snprintf(why, whylen, "bad listen address: %s", cfg->listen);
		return TSS_E_CONFIG;
	}
	v6 = strchr(host, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1) {
		snprintf(why, whylen, "listen address is not an IP address: %s",
		    cfg->listen);
		return TSS_E_CONFIG;
	}
	/* A wildcard listens on loopback too. */
	if (strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (v6 && memcmp(a, any6, sizeof(any6)) == 0)
		snprintf(host, sizeof(host), "::1");
	if ((p = port) == 0 && (p = port_file(cfg->data_dir, why, whylen)) == 0)
		return TSS_E_NOT_FOUND;
	snprintf(url, len, "https://%s%s%s:%u", v6 ? "[" : "", host,
	    v6 ? "]" : "", p);
	return 0;
}

/* The client for --url, or for the server the config at path describes. */
static int
health_client(struct cli *c, const char *path, const char *url,
    struct client **out)
{
	struct config cfg;
	char err[PATH_MAX + 1024], derived[128];

	*out = NULL;
	if (url != NULL) {
		if (client_new(url, c->ca_file, out, err, sizeof(err)) != 0)
			return cli_fail(c, "unhealthy: %s", err);
		return CLI_OK;
	}
	if (config_load(path, &cfg, err, sizeof(err)) != 0)
		return cli_fail(c, "unhealthy: %s", err);
	if (derive_url(&cfg, derived, sizeof(derived), err, sizeof(err)) != 0 ||
	    client_new(derived, NULL, out, err, sizeof(err)) != 0 ||
	    client_pin_cert(*out, cfg.tls_cert, err, sizeof(err)) != 0) {
		config_free(&cfg);
		client_free(*out);
		*out = NULL;
		return cli_fail(c, "unhealthy: %s", err);
	}
	config_free(&cfg);
	return CLI_OK;
}

int
cmd_healthcheck(struct cli *c, int argc, char **argv)
{
	const char *config = NULL, *url = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "config", CLI_OPT_STR, &config },
		{ "url", CLI_OPT_STR, &url },
		{ NULL, 0, NULL }
	};
	struct client_resp resp;
	struct client *cl = NULL;
	char msg[512];
	size_t npos;
	int r;

	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &npos);
	if (config != NULL && url != NULL) {
		fprintf(stderr, "%s: --config and --url exclude each other\n",
		    c->prog);
		return cli_usage(c);
	}
	memset(&resp, 0, sizeof(resp));
	if ((r = health_client(c, config != NULL ? config :
	    CONFIG_DEFAULT_PATH, url, &cl)) != CLI_OK)
		return r;
	client_set_timeout(cl, HEALTH_TIMEOUT_S);
	if (client_request(cl, "GET", "/healthz", NULL, &resp) != 0)
		r = cli_fail(c, "unhealthy: %s", client_errmsg(cl));
	else if (resp.status != 200) {
		client_resp_error(&resp, msg, sizeof(msg), NULL, 0);
		r = cli_fail(c, "unhealthy: %s/healthz answered %ld: %s",
		    client_server(cl), resp.status, msg);
	} else
		printf("healthy: %s\n", client_server(cl));
	client_resp_clear(&resp);
	client_free(cl);
	return r;
}
