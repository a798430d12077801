/*
 * offline: root's break-glass commands on a data directory, without the
 * service: init, backup, restore, audit verify.  They call store/, auth/,
 * rbac/ and broker/ directly; every change they make is audited with the
 * actor "local" in the same transaction.
 *
 * A data directory holds the LMDB environment (data.mdb), tesserad.conf,
 * ca.key, master.key and, with --dev, tls.crt and tls.key.  A backup is the
 * environment only: the key files are backed up separately (they are what
 * makes a stolen backup harmless).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "store/store.h"
#include "broker/audit/audit.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "broker/config.h"
#include "broker/ssh/cakey.h"
#include "auth/secretbox.h"
#include "auth/token.h"
#include "auth/user.h"
#include "rbac/rbac.h"
#include "cli.h"

#define DEV_TLS_DAYS	365

/* Files init makes, removed again when init fails half-way. */
static const char *const init_files[] = { "data.mdb", "lock.mdb",
    "ca.key", "master.key", "tls.crt", "tls.key", "tesserad.conf", NULL };

/* 0 missing, 1 empty directory, 2 anything else; negative on error. */
static int
dir_state(const char *dir)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r = 1;

	if (stat(dir, &st) != 0)
		return errno == ENOENT ? 0 : TSS_E_IO;
	if (!S_ISDIR(st.st_mode))
		return 2;
	if ((d = opendir(dir)) == NULL)
		return TSS_E_IO;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = 2;
	closedir(d);
	return r;
}

static int
join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? TSS_E_TOO_LONG : 0;
}

/*
 * Exit status for a store failure: tesserad's for a store that is there
 * but damaged (tessera(1)); CLI_FAIL, as ever, for the rest: no store, a
 * file that is no store.
 */
static int
store_status(int r)
{
	if (r == TSS_E_NO_STORE || r == TSS_E_NOT_A_STORE ||
	    r == TSS_E_SCHEMA_TOO_NEW)
		return CLI_FAIL;
	return broker_exit_status(r, CLI_FAIL);
}

/* Fail unless dir holds a store (so no command creates one by mistake). */
static int
need_store(struct cli *c, const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	if (join(p, sizeof(p), dir, "data.mdb") != 0)
		return cli_fail(c, "path too long: %s", dir);
	if (stat(p, &st) != 0)
		return cli_fail(c, "%s holds no Tessera store (no data.mdb)",
		    dir);
	return CLI_OK;
}

/* Append one event with actor "local" in its own write transaction. */
static int
audit_local(struct store *s, const char *action, const char *object,
    const char *result, json_t *fields)
{
	struct audit_event ev;
	struct store_txn *t = NULL;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.actor = "local";
	ev.action = action;
	ev.object = object;
	ev.result = result;
	ev.fields = fields;
	if ((r = store_begin(s, 1, &t)) != 0)
		return r;
	if ((r = audit_append(t, &ev, cli_now(), NULL)) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

/* Open the store of dir, never creating one; message printed on failure. */
static int
open_store(struct cli *c, const char *dir, struct store **s)
{
	struct store_opts so;
	int r;

	if ((r = need_store(c, dir)) != CLI_OK)
		return r;
	memset(&so, 0, sizeof(so));
	so.mode = STORE_OPEN_EXISTING;
	if ((r = store_open(dir, &so, s)) != 0) {
		cli_fail(c, "cannot open the store in %s: %s", dir,
		    tss_strerror(r));
		return store_status(r);
	}
	return CLI_OK;
}

/* ----------------------------------------------------------------- init */

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int ok;

	if ((e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* A file created exclusively with mode, as a stdio stream. */
static FILE *
create_file(const char *path, unsigned mode)
{
	FILE *f;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, (mode_t)mode)) == -1)
		return NULL;
	if (fchmod(fd, (mode_t)mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return NULL;
	}
	return f;
}

/*
 * Development TLS: a self-signed P-256 certificate for 127.0.0.1, ::1 and
 * localhost, given to clients as their --ca-file.
 */
static int
make_dev_tls(const char *crt, const char *key)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *n;
	X509V3_CTX ctx;
	BIGNUM *bn = NULL;
	FILE *f = NULL;
	int r = TSS_E_CRYPTO;

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL ||
	    (bn = BN_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)DEV_TLS_DAYS * 86400) == NULL ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Tessera development", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, pk) != 1)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!add_ext(x, &ctx, NID_subject_alt_name,
	    "IP:127.0.0.1,IP:::1,DNS:localhost") ||
	    !add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, pk, EVP_sha256()) == 0)
		goto out;
	r = TSS_E_IO;
	if ((f = create_file(key, 0600)) == NULL ||
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	if ((f = create_file(crt, 0644)) == NULL ||
	    PEM_write_X509(f, x) != 1 || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	r = 0;
 out:
	if (f != NULL)
		fclose(f);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pk);
	return r;
}

static int
write_conf(const char *path, const char *dir, int dev)
{
	FILE *f;
	int ok;

	if ((f = create_file(path, 0600)) == NULL)
		return TSS_E_IO;
	ok = fprintf(f,
	    "# tesserad configuration, written by `tessera init`.\n"
	    "# Keys and defaults: tesserad(8).  Every key may be overridden by "
	    "the\n# environment as TESSERA_<UPPERCASE_KEY>.\n"
	    "listen = 127.0.0.1:8443\n"
	    "public_url = https://127.0.0.1:8443\n"
	    "data_dir = %s\n"
	    "%s"
	    "tls_cert = %s/tls.crt\n"
	    "tls_key = %s/tls.key\n"
	    "ca_key = %s/ca.key\n"
	    "master_key = %s/master.key\n",
	    dir, dev ? "# Self-signed development certificate: clients "
	    "take tls.crt as --ca-file.\n" : "# Put the service's PEM "
	    "certificate and key here before starting tesserad.\n",
	    dir, dir, dir, dir) > 0;
	if (fclose(f) != 0 || !ok)
		return TSS_E_IO;
	return 0;
}

/* The half-made data directory of a failed init goes away. */
static void
init_undo(const char *dir, int made_dir)
{
	char p[PATH_MAX];
	size_t i;

	for (i = 0; init_files[i] != NULL; i++)
		if (join(p, sizeof(p), dir, init_files[i]) == 0)
			(void)unlink(p);
	if (made_dir)
		(void)rmdir(dir);
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	const char *data = NULL, *admin = "admin";
	int dev = 0;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ "dev", CLI_OPT_FLAG, &dev },
		{ "admin", CLI_OPT_STR, &admin },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	char dir[PATH_MAX], conf[PATH_MAX], cap[PATH_MAX], mk[PATH_MAX];
	char crt[PATH_MAX], key[PATH_MAX], err[512], when[32];
	char token[TOKEN_TEXT_LEN + 1], *url = NULL;
	uint8_t mkey[SECRETBOX_KEY_LEN];
	struct config cfg;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct cakey *ca = NULL;
	json_t *out = NULL;
	int64_t exp = 0;
	size_t np, ul;
	int r = CLI_FAIL, k, made_dir = 0, made = 0, have_cfg = 0;

	memset(&cfg, 0, sizeof(cfg));
	explicit_bzero(token, sizeof(token));
	explicit_bzero(mkey, sizeof(mkey));
	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if (data == NULL || *data == '\0') {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if (user_name_valid(admin) != 0) {
		fprintf(stderr, "%s: bad admin name %s (lowercase letters, "
		    "digits, _ . -; at most %d)\n", c->prog, admin,
		    USER_NAME_MAX);
		return cli_usage(c);
	}
	switch ((k = dir_state(data))) {
	case 0:
		if (mkdir(data, 0700) != 0)
			return cli_fail(c, "cannot create %s: %s", data,
			    strerror(errno));
		made_dir = 1;
		break;
	case 1:
		if (chmod(data, 0700) != 0)
			return cli_fail(c, "cannot chmod %s: %s", data,
			    strerror(errno));
		break;
	case 2:
		return cli_fail(c, "%s exists and is not an empty directory: "
		    "refusing to initialise it", data);
	default:
		return cli_fail(c, "cannot look at %s: %s", data,
		    tss_strerror(k));
	}
	made = 1;
	if (realpath(data, dir) == NULL) {
		r = cli_fail(c, "cannot resolve %s: %s", data, strerror(errno));
		goto out;
	}
	if (join(conf, sizeof(conf), dir, "tesserad.conf") != 0 ||
	    join(cap, sizeof(cap), dir, "ca.key") != 0 ||
	    join(mk, sizeof(mk), dir, "master.key") != 0 ||
	    join(crt, sizeof(crt), dir, "tls.crt") != 0 ||
	    join(key, sizeof(key), dir, "tls.key") != 0) {
		r = cli_fail(c, "path too long: %s", dir);
		goto out;
	}
	if ((k = cakey_generate(CAKEY_ED25519, 0, &ca)) != 0 ||
	    (k = cakey_save(ca, cap, CAKEY_FORMAT_OPENSSH, "tessera-ca"))
	    != 0) {
		r = cli_fail(c, "cannot make the CA key %s: %s", cap,
		    tss_strerror(k));
		goto out;
	}
	if ((k = secretbox_key_create(mk)) != 0) {
		r = cli_fail(c, "cannot make the master key %s: %s", mk,
		    tss_strerror(k));
		goto out;
	}
	/* The store records the keys' fingerprints as it is created. */
	if ((k = secretbox_key_load(mk, mkey)) != 0 ||
	    (k = broker_store_create(dir, ca, mkey, &s)) != 0) {
		r = cli_fail(c, "cannot create the store in %s: %s", dir,
		    tss_strerror(k));
		goto out;
	}
	if (dev && (k = make_dev_tls(crt, key)) != 0) {
		r = cli_fail(c, "cannot make the development TLS files: %s",
		    tss_strerror(k));
		goto out;
	}
	if ((k = write_conf(conf, dir, dev)) != 0) {
		r = cli_fail(c, "cannot write %s: %s", conf, tss_strerror(k));
		goto out;
	}
	/* Read it back as tesserad will (environment overrides included,
	 * so public_url is the one links must carry). */
	if ((k = config_load(conf, &cfg, err, sizeof(err))) != 0) {
		r = cli_fail(c, "%s", err);
		goto out;
	}
	have_cfg = 1;

	if ((k = store_begin(s, 1, &t)) != 0 ||
	    (k = user_create(t, admin, NULL, 0, NULL, cli_now(), token, &exp))
	    != 0 ||
	    (k = rbac_bootstrap_admin(t, admin, cli_now())) != 0) {
		r = cli_fail(c, "cannot create the admin %s: %s", admin,
		    tss_strerror(k));
		goto out;
	}
	k = store_commit(t);
	t = NULL;
	if (k != 0) {
		r = cli_fail(c, "cannot commit: %s", tss_strerror(k));
		goto out;
	}
	ul = strlen(cfg.public_url != NULL ? cfg.public_url : "") +
	    sizeof("/enroll#token=") + sizeof(token);
	if ((url = malloc(ul)) == NULL ||
	    snprintf(url, ul, "%s/enroll#token=%s", cfg.public_url != NULL ?
	    cfg.public_url : "", token) >= (int)ul) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	made = 0;	/* done: keep everything */
	if (c->json) {
		if ((out = json_pack("{s:s, s:s, s:s, s:s, s:I}", "data_dir",
		    dir, "config", conf, "username", admin, "enroll_url", url,
		    "expires_at", (json_int_t)exp)) == NULL) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		json_dumpf(out, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		r = CLI_OK;
		goto out;
	}
	cli_fmt_time(exp, when, sizeof(when));
	printf("Initialised %s:\n"
	    "  config       %s\n"
	    "  CA key       %s\n"
	    "  master key   %s\n", dir, conf, cap, mk);
	if (dev)
		printf("  TLS          %s (self-signed: give it to clients as "
		    "--ca-file)\n", crt);
	else
		printf("  TLS          put the certificate in %s and the key "
		    "in %s\n", crt, key);
	printf("Start the service with: tesserad --config %s\n\n"
	    "Enrollment link for %s (valid until %s; hand it over "
	    "privately):\n%s\n", conf, admin, when, url);
	r = CLI_OK;
 out:
	store_abort(t);
	store_close(s);
	cakey_free(ca);
	if (have_cfg)
		config_free(&cfg);
	if (made)
		init_undo(data, made_dir);
	json_decref(out);
	if (url != NULL) {
		explicit_bzero(url, strlen(url));
		free(url);
	}
	explicit_bzero(token, sizeof(token));
	explicit_bzero(mkey, sizeof(mkey));
	return r;
}

/* --------------------------------------------------------------- backup */

int
cmd_backup(struct cli *c, int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct stat st;
	size_t np;
	int r, k;

	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if (data == NULL) {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if ((r = open_store(c, data, &s)) != CLI_OK)
		return r;
	if ((k = store_backup(s, pos[0])) != 0) {
		r = cli_fail(c, "cannot back up %s to %s: %s", data, pos[0],
		    k == TSS_E_CONFLICT ? "the file exists" : tss_strerror(k));
		goto out;
	}
	if ((k = audit_local(s, "store.backup", pos[0], "ok", NULL)) != 0) {
		r = cli_fail(c, "backup written, but it could not be audited: "
		    "%s", tss_strerror(k));
		goto out;
	}
	if (stat(pos[0], &st) == 0)
		cli_info(c, "Backup of %s written to %s (%lld bytes).\n"
		    "It holds the store only: keep ca.key, master.key and "
		    "tesserad.conf safe separately.\n", data, pos[0],
		    (long long)st.st_size);
	r = CLI_OK;
 out:
	store_close(s);
	return r;
}

/* -------------------------------------------------------------- restore */

int
cmd_restore(struct cli *c, int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct store_opts so;
	struct audit_event ev;
	uint64_t max = 0, cur = 0;
	json_t *fields = NULL;
	size_t np;
	int r = CLI_FAIL, k;

	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if (data == NULL) {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if ((k = dir_state(data)) == 2)
		return cli_fail(c, "%s is not empty: restore needs an empty or "
		    "missing directory", data);
	if ((k = store_restore(pos[0], data)) != 0) {
		cli_fail(c, "cannot restore %s into %s: %s", pos[0], data,
		    tss_strerror(k));
		return store_status(k);
	}
	memset(&so, 0, sizeof(so));
	so.mode = STORE_OPEN_EXISTING;
	if ((k = store_open(data, &so, &s)) != 0) {
		cli_fail(c, "cannot open the restored store: %s",
		    tss_strerror(k));
		r = store_status(k);
		goto out;
	}
	/*
	 * Serials must never repeat: the counter goes at least to the
	 * highest serial in the ledger.  Serials issued after the backup was
	 * taken are covered by the issuer, which reserves serials above a
	 * clock-derived floor (broker/certs.h).
	 */
	if ((k = store_begin(s, 1, &t)) != 0 ||
	    (k = certs_max_serial(t, &max)) != 0 ||
	    (k = store_counter_get(t, STORE_CTR_SERIAL, &cur)) != 0 ||
	    (max > cur && (k = store_counter_raise(t, STORE_CTR_SERIAL, max))
	    != 0)) {
		r = cli_fail(c, "cannot raise the serial counter: %s",
		    tss_strerror(k));
		goto out;
	}
	if ((fields = json_pack("{s:I, s:I}", "max_serial", (json_int_t)max,
	    "serial_counter", (json_int_t)(max > cur ? max : cur))) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.actor = "local";
	ev.action = "store.restore";
	ev.object = pos[0];
	ev.result = "ok";
	ev.fields = fields;
	if ((k = audit_append(t, &ev, cli_now(), NULL)) != 0) {
		r = cli_fail(c, "cannot audit the restore: %s",
		    tss_strerror(k));
		goto out;
	}
	k = store_commit(t);
	t = NULL;
	if (k != 0) {
		r = cli_fail(c, "cannot commit: %s", tss_strerror(k));
		goto out;
	}
	cli_info(c, "Restored %s into %s; certificate serials continue above "
	    "%llu.\nPut tesserad.conf, ca.key, master.key and the TLS files "
	    "back before starting tesserad.\n", pos[0], data,
	    (unsigned long long)(max > cur ? max : cur));
	r = CLI_OK;
 out:
	store_abort(t);
	store_close(s);
	json_decref(fields);
	return r;
}

/* --------------------------------------------------------- audit verify */

int
cmd_audit_verify(struct cli *c, int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct store_txn *t = NULL;
	json_t *fields = NULL;
	uint64_t count = 0, bad = 0;
	char head[65];
	size_t np;
	int r, k, v;

	memset(head, 0, sizeof(head));
	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if (data == NULL) {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if ((r = open_store(c, data, &s)) != CLI_OK)
		return r;
	if ((k = store_begin(s, 0, &t)) != 0) {
		r = cli_fail(c, "cannot read the store: %s", tss_strerror(k));
		goto out;
	}
	v = audit_verify(t, &count, head, &bad);
	store_abort(t);
	t = NULL;
	if (v != 0 && v != TSS_E_SIGNATURE) {
		r = cli_fail(c, "cannot verify the audit chain: %s",
		    tss_strerror(v));
		goto out;
	}
	if (c->json) {
		fields = v == 0 ? json_pack("{s:b, s:I, s:s}", "ok", 1,
		    "events", (json_int_t)count, "head", head) :
		    json_pack("{s:b, s:I, s:I}", "ok", 0, "events",
		    (json_int_t)count, "first_bad", (json_int_t)bad);
		if (fields != NULL) {
			json_dumpf(fields, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		}
	} else if (v == 0)
		printf("audit chain intact: %llu events, head %s\n",
		    (unsigned long long)count, head);
	json_decref(fields);
	if (v != 0)
		cli_fail(c, "audit chain broken at event %llu: it was altered, "
		    "or an event before it was removed", (unsigned long long)bad);
	/* The check itself is on the record (after the walk, so the walk
	 * saw the chain as it was). */
	fields = v == 0 ? json_pack("{s:I}", "events", (json_int_t)count) :
	    json_pack("{s:I}", "first_bad", (json_int_t)bad);
	if ((k = audit_local(s, "audit.verify", NULL, v == 0 ? "ok" : "error",
	    fields)) != 0)
		fprintf(stderr, "%s: warning: the verification could not be "
		    "audited: %s\n", c->prog, tss_strerror(k));
	r = v == 0 ? CLI_OK : CLI_FAIL;
 out:
	json_decref(fields);
	store_abort(t);
	store_close(s);
	return r;
}
