/*
 * bootstrap: a data directory's first start, and the checks on the key
 * files it and broker_open() read.
 *
 * In a container the keys are Docker secrets mounted read-only under
 * /run/secrets, the config a Docker config, the data directory an empty
 * volume.  broker_bootstrap() makes the store there from the configured
 * keys, read where they are and never copied, with a first admin whose
 * enrollment link the caller shows once; broker_keyfile_check() turns the
 * usual mistakes with secrets (missing, mode 0444, another uid) into a
 * message that says what to set in the stack file.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/audit.h"
#include "auth/secretbox.h"
#include "auth/user.h"
#include "broker/broker.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "sshca/cakey.h"
#include "store/store.h"

int
broker_keyfile_check(const char *key, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	unsigned me = (unsigned)geteuid();
	int fd;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "%s is not set", key);
		return TSS_E_CONFIG;
	}
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s = %s: %s; as a Docker secret, list "
		    "it under the service's secrets: with this target path "
		    "(docs/deploy.md)", key, path, strerror(errno));
		return errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s = %s: not a regular file", key, path);
		return TSS_E_BAD_FORMAT;
	}
	if ((unsigned)st.st_uid != me) {
		snprintf(err, errlen, "%s = %s is owned by uid %u and tesserad "
		    "runs as uid %u: give the secret uid: \"%u\" and mode: "
		    "0400 in the stack file (or chown %u %s)", key, path,
		    (unsigned)st.st_uid, me, me, me, path);
		return TSS_E_KEY_PERMS;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s = %s has mode %04o, readable by "
		    "others: give the secret mode: 0400 (and uid: \"%u\") in "
		    "the stack file (or chmod 0400 %s)", key, path,
		    (unsigned)(st.st_mode & 07777), me, path);
		return TSS_E_KEY_PERMS;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s = %s: %s", key, path,
		    strerror(errno));
		return errno == EACCES ? TSS_E_PERMISSION : TSS_E_IO;
	}
	close(fd);
	return 0;
}

/* 1 when dir holds nothing but what a fresh volume may (lost+found). */
static int
dir_fresh(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int fresh = 1;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (fresh && (e = readdir(d)) != NULL)
		fresh = strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "lost+found") == 0;
	closedir(d);
	return fresh;
}

static void
unlink_store(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb",
	    AUDIT_CURSOR_FILE, NULL };
	char p[4096];
	size_t i;

	for (i = 0; files[i] != NULL; i++)
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, files[i]) <
		    sizeof(p))
			(void)unlink(p);
}

int
broker_secret_read(const char *key, const char *path, char *buf, size_t cap,
    size_t *len, char *err, size_t errlen)
{
	ssize_t n;
	int fd, r;

	*len = 0;
	if ((r = broker_keyfile_check(key, path, err, errlen)) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s = %s: %s", key, path,
		    strerror(errno));
		return TSS_E_IO;
	}
	while (*len < cap && (n = read(fd, buf + *len, cap - *len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s = %s: %s", key, path,
			    strerror(errno));
			r = TSS_E_IO;
			break;
		}
		*len += (size_t)n;
	}
	close(fd);
	if (r == 0 && *len == cap) {
		snprintf(err, errlen, "%s = %s: longer than %zu bytes", key,
		    path, cap - 1);
		r = TSS_E_TOO_LONG;
	}
	while (r == 0 && *len > 0 && (buf[*len - 1] == '\n' ||
	    buf[*len - 1] == '\r'))
		(*len)--;
	if (r == 0 && *len == 0) {
		snprintf(err, errlen, "%s = %s: empty", key, path);
		r = TSS_E_CONFIG;
	}
	if (r != 0) {
		explicit_bzero(buf, cap);
		*len = 0;
	}
	return r;
}

const char *
broker_store_name(const struct config *c)
{
	return store_location_is_pg(c->store) ? "the PostgreSQL store" :
	    c->data_dir;
}

int
broker_store_opts(const struct config *c, struct store_opts *so, char *pw,
    size_t cap, char *err, size_t errlen)
{
	size_t len = 0;
	int r;

	memset(so, 0, sizeof(*so));
	so->map_size = (size_t)c->map_size_mib << 20;
	so->map_max = (size_t)c->map_max_mib << 20;
	so->timeout_ms = (int)c->store_timeout * 1000;
	if (c->store_password_file == NULL || !store_location_is_pg(c->store))
		return 0;
	if ((r = broker_secret_read("store_password_file",
	    c->store_password_file, pw, cap, &len, err, errlen)) != 0)
		return r;
	pw[len] = '\0';
	so->pg_password = pw;
	return 0;
}

int
broker_first_admin(struct store *s, const char *admin, int64_t now,
    char *token, int64_t *expires_at)
{
	struct store_txn *t = NULL;
	int r;

	if ((r = store_begin(s, 1, &t)) != 0)
		return r;
	if ((r = user_create(t, admin, NULL, 0, NULL, now, token,
	    expires_at)) != 0 ||
	    (r = rbac_bootstrap_admin(t, admin, now)) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

int
broker_bootstrap(const struct config *cfg, const char *admin, int64_t now,
    char *token, int64_t *expires_at, char *err, size_t errlen)
{
	struct store_opts so;
	struct store *s = NULL;
	struct cakey *ca = NULL, *host_ca = NULL;
	uint8_t mkey[SECRETBOX_KEY_LEN];
	char cur[4096], pw[BROKER_SECRET_MAX];
	const char *loc;
	int pg, r;

	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "data_dir = %s: %s", cfg->data_dir,
		    strerror(errno));
		return TSS_E_IO;
	}
	if ((r = broker_store_opts(cfg, &so, pw, sizeof(pw), err,
	    errlen)) != 0)
		return r;
	pg = store_location_is_pg(cfg->store);
	loc = config_store_location(cfg);
	so.mode = STORE_OPEN_EXISTING;
	if ((r = store_open(loc, &so, &s)) == 0) {
		store_close(s);
		s = NULL;
		r = TSS_E_CONFLICT;		/* made before: nothing to do */
		goto out;
	}
	/* A database without our tables is PostgreSQL's empty store. */
	if (r != TSS_E_NO_STORE && !(pg && r == TSS_E_STORE_EMPTY)) {
		snprintf(err, errlen, "%s: %s", broker_store_name(cfg),
		    tss_strerror(r));
		goto out;
	}
	/* Files but no store: not a fresh volume, so not ours to fill. */
	if (!pg && !dir_fresh(cfg->data_dir)) {
		snprintf(err, errlen, "data_dir = %s holds files but no store "
		    "(data.mdb): refusing to make one beside them; a first "
		    "start needs an empty volume", cfg->data_dir);
		r = TSS_E_NOT_EMPTY;
		goto out;
	}
	if ((r = broker_keyfile_check("ca_key", cfg->ca_key, err,
	    errlen)) != 0 ||
	    (r = broker_keyfile_check("master_key", cfg->master_key, err,
	    errlen)) != 0)
		goto out;
	if ((r = cakey_load(cfg->ca_key, &ca)) != 0) {
		snprintf(err, errlen, "ca_key = %s: %s", cfg->ca_key,
		    tss_strerror(r));
		goto out;
	}
	/* A host CA that tesserad would refuse stops the first start
	 * before it makes anything. */
	if (cfg->host_ca_key != NULL && (r = broker_host_ca_load(
	    cfg->host_ca_key, ca, &host_ca, err, errlen)) != 0)
		goto out;
	if ((r = secretbox_key_load(cfg->master_key, mkey)) != 0) {
		snprintf(err, errlen, "master_key = %s: %s (it must hold "
		    "exactly %d random bytes, e.g. head -c %d /dev/urandom)",
		    cfg->master_key, tss_strerror(r), SECRETBOX_KEY_LEN,
		    SECRETBOX_KEY_LEN);
		goto out;
	}
	/* Instances starting together on one database: one makes it. */
	if ((r = broker_store_create(loc, &so, ca, mkey, &s)) != 0) {
		if (!(pg && r == TSS_E_CONFLICT))
			snprintf(err, errlen, "cannot create the store in "
			    "%s: %s", broker_store_name(cfg), tss_strerror(r));
		goto out;
	}
	/* The sink delivers this store's events from the first, these
	 * included. */
	if ((r = broker_first_admin(s, admin, now, token, expires_at)) == 0 &&
	    (size_t)snprintf(cur, sizeof(cur), "%s/%s", cfg->data_dir,
	    AUDIT_CURSOR_FILE) < sizeof(cur))
		r = audit_sink_cursor_start(cur);
	if (r != 0) {
		snprintf(err, errlen, "cannot create the admin %s: %s", admin,
		    tss_strerror(r));
		/* The store just made holds nothing: gone, so that the
		 * next start makes it again rather than start without an
		 * admin. */
		store_close(s);
		s = NULL;
		if (!pg)
			unlink_store(cfg->data_dir);
	}
 out:
	explicit_bzero(pw, sizeof(pw));
	store_close(s);
	cakey_free(ca);
	cakey_free(host_ca);
	OPENSSL_cleanse(mkey, sizeof(mkey));
	return r;
}
