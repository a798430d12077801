/* Reading tesserad.conf and TESSERA_* overrides into struct config. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "config.h"
#include "store/store.h"

enum kind { K_STR, K_DUR, K_UINT, K_LISTEN, K_LEVEL };

static const struct key {
	const char *name;
	enum kind kind;
	size_t off;
	const char *def;		/* NULL: no default */
	uint64_t min, max;		/* for K_UINT and K_DUR */
} keys[] = {
#define S(f)	offsetof(struct config, f)
	{ "listen",		K_LISTEN, S(listen), "127.0.0.1:8443", 0, 0 },
	{ "public_url",		K_STR, S(public_url), NULL, 0, 0 },
	{ "data_dir",		K_STR, S(data_dir), "/var/lib/tessera", 0, 0 },
	{ "store",		K_STR, S(store), "lmdb", 0, 0 },
	{ "store_password_file", K_STR, S(store_password_file), NULL, 0, 0 },
	{ "store_timeout",	K_DUR, S(store_timeout), "5s", 1, 300 },
	{ "bootstrap_admin",	K_STR, S(bootstrap_admin), NULL, 0, 0 },
	{ "tls_cert",		K_STR, S(tls_cert), NULL, 0, 0 },
	{ "tls_key",		K_STR, S(tls_key), NULL, 0, 0 },
	{ "ca_key",		K_STR, S(ca_key), NULL, 0, 0 },
	{ "master_key",		K_STR, S(master_key), NULL, 0, 0 },
	{ "host_ca_key",	K_STR, S(host_ca_key), NULL, 0, 0 },
	{ "host_ca_pattern",	K_STR, S(host_ca_pattern), "*", 0, 0 },
	{ "host_cert_ttl",	K_DUR, S(host_cert_ttl), "30d", 60, 365 * 86400 },
	{ "issuer",		K_STR, S(issuer), "Tessera", 0, 0 },
	{ "audit_log",		K_STR, S(audit_log), "-", 0, 0 },
	{ "audit_key",		K_STR, S(audit_key), NULL, 0, 0 },
	{ "audit_checkpoint_events", K_UINT, S(audit_checkpoint_events), "1000",
	    1, 1000000000 },
	{ "audit_checkpoint_interval", K_DUR, S(audit_checkpoint_interval),
	    "60s", 1, 86400 },
	{ "log_level",		K_LEVEL, S(log_level), "info", 0, 0 },
	{ "cert_default_ttl",	K_DUR, S(cert_default_ttl), "1h", 60, 366 * 86400 },
	{ "cert_max_ttl",	K_DUR, S(cert_max_ttl), "8h", 60, 366 * 86400 },
	{ "session_idle",	K_DUR, S(session_idle), "30m", 60, 366 * 86400 },
	{ "session_max",	K_DUR, S(session_max), "12h", 60, 366 * 86400 },
	{ "connection_timeout",	K_DUR, S(connection_timeout), "30s", 1, 3600 },
	{ "totp_window",	K_UINT, S(totp_window), "1", 0, 10 },
	{ "max_connections",	K_UINT, S(max_connections), "1024", 1, 65536 },
	{ "per_ip_connections",	K_UINT, S(per_ip_connections), "64", 1, 65536 },
	{ "per_network_connections", K_UINT, S(per_network_connections), "256",
	    1, 65536 },
	{ "header_timeout",	K_DUR, S(header_timeout), "10s", 1, 3600 },
	{ "body_timeout",	K_DUR, S(body_timeout), "30s", 1, 3600 },
	/* Handlers block (group commit, Argon2 slot waits) and a blocked pool
	 * thread stalls its other connections: size for waiting, not cores.
	 * 0 = 2 x cores (web/server.c). */
	{ "argon2_memory_kib",	K_UINT, S(argon2_memory_kib), "65536", 8, 4194304 },
	{ "argon2_time",	K_UINT, S(argon2_time), "3", 1, 100 },
	{ "argon2_parallelism",	K_UINT, S(argon2_parallelism), "1", 1, 64 },
	{ "argon2_max_concurrent", K_UINT, S(argon2_max_concurrent), "0", 0, 1024 },
	{ "map_size_mib",	K_UINT, S(map_size_mib), "64", 1, 1048576 },
	{ "map_max_mib",	K_UINT, S(map_max_mib), "4096", 1, 1048576 },
	{ "metrics_listen",	K_LISTEN, S(metrics_listen), NULL, 0, 0 },
	{ "metrics_token_file",	K_STR, S(metrics_token_file), NULL, 0, 0 },
	{ "backup_dir",		K_STR, S(backup_dir), NULL, 0, 0 },
	{ "backup_interval",	K_DUR, S(backup_interval), "24h", 1, 366 * 86400 },
	{ "backup_keep",	K_UINT, S(backup_keep), "7", 1, 10000 },
#undef S
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const char *const required[] = { "tls_cert", "tls_key", "ca_key",
    "master_key" };

static const struct key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return TSS_E_BAD_FORMAT;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return TSS_E_BAD_FORMAT;
	if (errno == ERANGE || v < min || v > max)
		return TSS_E_OVERFLOW;
	*out = v;
	return 0;
}

int
config_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t p;
	int r;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return TSS_E_BAD_FORMAT;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return TSS_E_BAD_FORMAT;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || hl >= 64)
		return TSS_E_BAD_FORMAT;
	if ((r = parse_uint(colon + 1, 0, 65535, &p)) != 0)
		return r;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int
key_set(struct config *c, const struct key *k, const char *value,
    const char **why)
{
	char **sp, *dup, host[64];
	enum log_level lvl;
	uint16_t port;
	uint64_t u;
	int64_t d;
	int r;

	switch (k->kind) {
	case K_LISTEN:
		if (config_parse_listen(value, host, sizeof(host), &port) != 0) {
			*why = "expected host:port or [v6addr]:port";
			return TSS_E_CONFIG;
		}
		break;
	case K_LEVEL:
		if (log_level_parse(value, &lvl) != 0) {
			*why = "expected debug, info, warn or error";
			return TSS_E_CONFIG;
		}
		break;
	case K_DUR:
		if ((r = duration_parse(value, &d)) != 0) {
			*why = r == TSS_E_OVERFLOW ? "duration too large" :
			    "expected a duration like 90s, 15m, 8h or 1d";
			return TSS_E_CONFIG;
		}
		if ((uint64_t)d < k->min || (uint64_t)d > k->max) {
			*why = "duration out of range";
			return TSS_E_CONFIG;
		}
		*(int64_t *)((char *)c + k->off) = d;
		return 0;
	case K_UINT:
		if ((r = parse_uint(value, k->min, k->max, &u)) != 0) {
			*why = r == TSS_E_OVERFLOW ? "number out of range" :
			    "expected a non-negative integer";
			return TSS_E_CONFIG;
		}
		*(uint64_t *)((char *)c + k->off) = u;
		return 0;
	case K_STR:
		break;
	}
	if (value[0] == '\0') {
		*why = "empty value";
		return TSS_E_CONFIG;
	}
	if ((dup = mem_strdup(value)) == NULL)
		return TSS_E_NOMEM;
	sp = (char **)((char *)c + k->off);
	free(*sp);
	*sp = dup;
	return 0;
}

int
config_set(struct config *c, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct key *k;
	const char *why = NULL;
	int r;

	if ((k = key_find(key)) == NULL) {
		snprintf(err, errlen, "%s: unknown key", key);
		return TSS_E_CONFIG;
	}
	if ((r = key_set(c, k, value, &why)) != 0)
		snprintf(err, errlen, "%s: %s", key,
		    why != NULL ? why : tss_strerror(r));
	return r;
}

int
config_defaults(struct config *c)
{
	const char *why;
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].def == NULL)
			continue;
		if ((r = key_set(c, &keys[i], keys[i].def, &why)) != 0) {
			config_free(c);
			return r;
		}
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
load_file(const char *path, struct config *c, char *err, size_t errlen)
{
	char line[4096], msg[512], *key, *val, *eq;
	unsigned lineno = 0;
	FILE *f;
	int r = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return TSS_E_CONFIG;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
			    lineno);
			r = TSS_E_CONFIG;
			break;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected key = value",
			    path, lineno);
			r = TSS_E_CONFIG;
			break;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if ((r = config_set(c, key, val, msg, sizeof(msg))) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	if (r == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		r = TSS_E_CONFIG;
	}
	fclose(f);
	return r;
}

static int
load_env(struct config *c, char *err, size_t errlen)
{
	char var[64], msg[512];
	const char *val;
	size_t i, j;
	int r;

	for (i = 0; i < NKEYS; i++) {
		snprintf(var, sizeof(var), "TESSERA_%s", keys[i].name);
		for (j = 8; var[j] != '\0'; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		if ((val = getenv(var)) == NULL)
			continue;
		if ((r = config_set(c, keys[i].name, val, msg,
		    sizeof(msg))) != 0) {
			snprintf(err, errlen, "environment %s: %s", var, msg);
			return r;
		}
	}
	return 0;
}

static int
check(struct config *c, const char *path, char *err, size_t errlen)
{
	const char *src = path != NULL ? path : "config";
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (*(char **)((char *)c + key_find(required[i])->off) == NULL) {
			snprintf(err, errlen, "%s: %s: required key missing",
			    src, required[i]);
			return TSS_E_CONFIG;
		}
	}
	if (c->cert_default_ttl > c->cert_max_ttl) {
		snprintf(err, errlen, "%s: cert_default_ttl: larger than "
		    "cert_max_ttl", src);
		return TSS_E_CONFIG;
	}
	if (c->session_idle > c->session_max) {
		snprintf(err, errlen, "%s: session_idle: larger than "
		    "session_max", src);
		return TSS_E_CONFIG;
	}
	for (i = 0; c->host_ca_pattern[i] != '\0'; i++)
		if ((unsigned char)c->host_ca_pattern[i] <= ' ' ||
		    (unsigned char)c->host_ca_pattern[i] >= 0x7f || i >= 1024) {
			snprintf(err, errlen, "%s: host_ca_pattern: a "
			    "known_hosts pattern list without spaces (like "
			    "*.internal,10.0.0.*)", src);
			return TSS_E_CONFIG;
		}
	if (strcmp(c->store, "lmdb") != 0 && !store_location_is_pg(c->store)) {
		snprintf(err, errlen, "%s: store: \"lmdb\" or a "
		    "postgresql:// connection URI", src);
		return TSS_E_CONFIG;
	}
	if (c->map_size_mib > c->map_max_mib) {
		snprintf(err, errlen, "%s: map_size_mib: larger than "
		    "map_max_mib", src);
		return TSS_E_CONFIG;
	}
	return 0;
}

int
config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	int r;

	if ((r = config_defaults(c)) != 0) {
		snprintf(err, errlen, "%s", tss_strerror(r));
		return r;
	}
	if ((path != NULL && (r = load_file(path, c, err, errlen)) != 0) ||
	    (r = load_env(c, err, errlen)) != 0 ||
	    (r = check(c, path, err, errlen)) != 0) {
		config_free(c);
		return r;
	}
	return 0;
}

static int
is_string(enum kind k)
{
	return k == K_STR || k == K_LISTEN || k == K_LEVEL;
}

const char *
config_changed(const struct config *a, const struct config *b, size_t *i)
{
	const struct key *k;
	const char *x, *y;

	for (; *i < NKEYS; (*i)++) {
		k = &keys[*i];
		if (is_string(k->kind)) {
			x = *(char *const *)((const char *)a + k->off);
			y = *(char *const *)((const char *)b + k->off);
			if ((x == NULL) != (y == NULL) ||
			    (x != NULL && strcmp(x, y) != 0))
				return keys[(*i)++].name;
		} else if (k->kind == K_DUR ? *(const int64_t *)((const char *)
		    a + k->off) != *(const int64_t *)((const char *)b + k->off) :
		    *(const uint64_t *)((const char *)a + k->off) !=
		    *(const uint64_t *)((const char *)b + k->off))
			return keys[(*i)++].name;
	}
	return NULL;
}

const char *
config_store_location(const struct config *c)
{
	return strcmp(c->store, "lmdb") == 0 ? c->data_dir : c->store;
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (is_string(keys[i].kind)) {
			char **sp = (char **)((char *)c + keys[i].off);

			free(*sp);
			*sp = NULL;
		}
	}
}
