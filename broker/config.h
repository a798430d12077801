/*
 * config: tesserad.conf (CONTRACT §2).  `key = value` lines, `#` comments,
 * blank lines; every key may be overridden by the environment variable
 * TESSERA_<UPPERCASE_KEY>.  Errors name the file, the line and the key in
 * the caller's err buffer; the daemon exits 78 (EX_CONFIG) on them.
 */
#ifndef TSS_CONFIG_H
#define TSS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH	"/etc/tessera/tesserad.conf"
#define CONFIG_EXIT_CODE	78

struct config {
	char *listen;		/* "127.0.0.1:8443", "[::1]:8443" */
	char *public_url;	/* NULL: https://<listen> */
	char *data_dir;		/* LMDB's, and each instance's own files */
	/* "lmdb" (in data_dir) or a postgresql:// URI; its password may be
	 * in store_password_file instead (a Docker secret). */
	char *store, *store_password_file;
	int64_t store_timeout;	/* seconds a writer waits for the lock */
	char *bootstrap_admin;	/* first start: make the store; NULL: no */
	char *tls_cert, *tls_key, *ca_key, *master_key;
	char *host_ca_key;	/* signs host certificates; NULL: none */
	char *host_ca_pattern;	/* hosts the @cert-authority line covers */
	int64_t host_cert_ttl;	/* seconds */
	char *issuer;
	char *audit_log;	/* path, "-", "syslog" or "syslog:SOCKET" */
	char *audit_key;	/* Ed25519 key signing checkpoints; NULL: none */
	uint64_t audit_checkpoint_events;	/* sign after this many events */
	int64_t audit_checkpoint_interval;	/* or this many seconds */
	char *log_level;	/* debug, info, warn, error */
	int64_t cert_default_ttl, cert_max_ttl;	/* seconds */
	int64_t session_idle, session_max;	/* seconds */
	int64_t connection_timeout;		/* seconds */
	uint64_t totp_window;
	uint64_t max_connections, per_ip_connections;
	uint64_t per_network_connections;	/* IPv4 /24, IPv6 /64 */
	int64_t header_timeout, body_timeout;	/* seconds, total */
	uint64_t argon2_memory_kib, argon2_time, argon2_parallelism;
	uint64_t argon2_max_concurrent;	/* 0: number of cores */
	uint64_t map_size_mib, map_max_mib;
	/* GET /metrics: plain HTTP on this address, and/or on the API port
	 * to the bearer token in this file; neither: not served. */
	char *metrics_listen, *metrics_token_file;
	char *backup_dir;	/* NULL: no backups in tesserad */
	int64_t backup_interval;		/* seconds */
	uint64_t backup_keep;
};

/* Fill defaults; strings are allocated (config_free releases them). */
int config_defaults(struct config *c);
/*
 * Defaults, then the file at path, then TESSERA_* overrides, then checks
 * (required keys present, ranges, default ttl <= max ttl).  On failure err
 * holds "FILE:LINE: KEY: reason" (or "TESSERA_KEY: reason") and *c is
 * freed.  path NULL reads no file.
 */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
/* What store_open() takes: data_dir for "lmdb", else the URI. */
const char *config_store_location(const struct config *c);
/* Set one key from text, as a file line would. */
int config_set(struct config *c, const char *key, const char *value,
    char *err, size_t errlen);
void config_free(struct config *c);

/*
 * The next key, from index *i on, whose value differs between a and b;
 * *i moves past it.  NULL when none is left.  Start with *i = 0.
 */
const char *config_changed(const struct config *a, const struct config *b,
    size_t *i);

/*
 * Split a listen string into host and port (host without brackets).
 * host must hold at least 64 bytes.
 */
int config_parse_listen(const char *s, char *host, size_t hostlen,
    uint16_t *port);

#endif
