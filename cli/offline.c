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
#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "broker/config.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "auth/secretbox.h"
#include "auth/token.h"
#include "auth/user.h"
#include "rbac/rbac.h"
#include "cli.h"

#define DEV_TLS_DAYS	365

/* Files init makes, removed again when init fails half-way. */
static const char *const init_files[] = { "data.mdb", "lock.mdb",
    "ca.key", "master.key", "tls.crt", "tls.key", "tesserad.conf",
    "audit.key", "audit.key.pub", NULL };

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
	struct store_txn *t = NULL;
	int r;

	if ((r = store_begin(s, 1, &t)) != 0)
		return r;
	if ((r = audit_record(t, NULL, action, object, result, fields,
	    cli_now(), NULL)) != 0) {
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
	    "master_key = %s/master.key\n"
	    "# Signs audit checkpoints; audit.key.pub verifies them "
	    "(tessera audit verify).\n"
	    "audit_key = %s/audit.key\n",
	    dir, dev ? "# Self-signed development certificate: clients "
	    "take tls.crt as --ca-file.\n" : "# Put the service's PEM "
	    "certificate and key here before starting tesserad.\n",
	    dir, dir, dir, dir, dir) > 0;
	if (fclose(f) != 0 || !ok)
		return TSS_E_IO;
	return 0;
}

/*
 * The audit key: the private half signs checkpoints in tesserad, the
 * public half (an OpenSSH line) goes to whoever verifies them.
 */
static int
make_audit_key(const char *path, const char *pubpath)
{
	struct cakey *k = NULL;
	char *line = NULL;
	FILE *f = NULL;
	int r;

	if ((r = cakey_generate(CAKEY_ED25519, 0, &k)) != 0 ||
	    (r = cakey_save(k, path, CAKEY_FORMAT_OPENSSH, "tessera-audit"))
	    != 0 ||
	    (r = sshkey_to_line(cakey_public(k), "tessera-audit", &line)) != 0)
		goto out;
	r = TSS_E_IO;
	if ((f = create_file(pubpath, 0644)) == NULL)
		goto out;
	if (fprintf(f, "%s\n", line) < 0) {
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0)
		goto out;
	r = 0;
 out:
	free(line);
	cakey_free(k);
	return r;
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
	char ak[PATH_MAX], akp[PATH_MAX];
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
	    join(key, sizeof(key), dir, "tls.key") != 0 ||
	    join(ak, sizeof(ak), dir, "audit.key") != 0 ||
	    join(akp, sizeof(akp), dir, "audit.key.pub") != 0) {
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
	if ((k = make_audit_key(ak, akp)) != 0) {
		r = cli_fail(c, "cannot make the audit key %s: %s", ak,
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
	    "  master key   %s\n"
	    "  audit key    %s (verifies with %s)\n", dir, conf, cap, mk,
	    ak, akp);
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
	if ((k = audit_record(t, NULL, "store.restore", pos[0], "ok", fields,
	    cli_now(), NULL)) != 0) {
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

/*
 * Exit statuses of audit verify beyond CLI_FAIL (a broken chain, or a
 * failure to read): one per way checkpoints can fail (tessera(1)).
 */
#define VERIFY_EXIT_BAD_SIG	3
#define VERIFY_EXIT_MISSING	4
#define VERIFY_EXIT_CHANGED	5

/*
 * A checkpoint line is about 300 bytes: a longer line is some event's and
 * is skipped unread, so memory stays bounded whatever the stream holds.
 */
#define CKPT_LINE_MAX		4096
#define CKPT_COUNT_MAX		(16 * 1024 * 1024)

/*
 * The checkpoints in the JSON-lines stream file, with their line numbers;
 * other lines (events, log lines) are skipped.  Message printed on failure.
 */
static int
read_checkpoints(struct cli *c, const char *file, struct audit_ckpt **out,
    size_t **lines, size_t *n)
{
	struct audit_ckpt *v = NULL, *nv;
	size_t *ln = NULL, *nl, have = 0, cap = 0, lineno = 0, len;
	char line[CKPT_LINE_MAX];
	FILE *f;
	int r = CLI_FAIL, k, skip = 0;

	*out = NULL;
	*lines = NULL;
	*n = 0;
	if ((f = fopen(file, "r")) == NULL)
		return cli_fail(c, "cannot read %s: %s", file, strerror(errno));
	errno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strlen(line);
		if (skip) {		/* the rest of a long line */
			skip = len > 0 && line[len - 1] != '\n';
			continue;
		}
		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			skip = 1;
			continue;
		}
		if (have == cap) {
			cap = cap == 0 ? 64 : 2 * cap;
			if (cap > CKPT_COUNT_MAX) {
				r = cli_fail(c, "%s: more than %d checkpoints",
				    file, CKPT_COUNT_MAX);
				goto out;
			}
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = cli_fail(c, "out of memory");
				goto out;
			}
			v = nv;
			if ((nl = reallocarray(ln, cap, sizeof(*ln))) == NULL) {
				r = cli_fail(c, "out of memory");
				goto out;
			}
			ln = nl;
		}
		if ((k = audit_ckpt_parse(line, len, &v[have])) ==
		    TSS_E_NOT_FOUND)
			continue;
		if (k != 0) {
			cli_fail(c, "%s:%zu: malformed checkpoint (a field is "
			    "missing or not in its format): it cannot be "
			    "verified", file, lineno);
			r = VERIFY_EXIT_BAD_SIG;
			goto out;
		}
		ln[have++] = lineno;
	}
	if (ferror(f)) {
		r = cli_fail(c, "cannot read %s: %s", file, strerror(errno));
		goto out;
	}
	if (have == 0) {
		r = cli_fail(c, "%s holds no audit checkpoint: nothing to "
		    "verify the store against", file);
		goto out;
	}
	*out = v;
	*lines = ln;
	*n = have;
	v = NULL;
	ln = NULL;	/* transferred */
	r = CLI_OK;
 out:
	free(v);
	free(ln);
	fclose(f);
	return r;
}

/*
 * The audit public key: from file (an OpenSSH public key line, as
 * `ssh-keygen -y -f audit.key` prints it), else derived from the audit_key
 * that data/tesserad.conf names.  Message printed on failure.
 */
static int
audit_pubkey(struct cli *c, const char *data, const char *file,
    struct sshkey **out)
{
	char conf[PATH_MAX], err[1024], text[SSHKEY_LINE_MAX];
	const uint8_t *blob;
	struct config cfg;
	struct cakey *ca = NULL;
	size_t len = 0;
	FILE *f;
	int r = CLI_FAIL, k, have_cfg = 0;

	*out = NULL;
	if (file != NULL) {
		if ((f = fopen(file, "r")) == NULL)
			return cli_fail(c, "cannot read %s: %s", file,
			    strerror(errno));
		len = fread(text, 1, sizeof(text), f);
		k = ferror(f) || !feof(f);
		fclose(f);
		if (k)
			return cli_fail(c, "cannot read %s: unreadable, or "
			    "longer than a public key line", file);
		if (sshkey_parse_line(text, len, out, NULL) != 0)
			return cli_fail(c, "%s: not an OpenSSH public key "
			    "line", file);
		goto check;
	}
	if (join(conf, sizeof(conf), data, "tesserad.conf") != 0)
		return cli_fail(c, "path too long: %s", data);
	if (config_load(conf, &cfg, err, sizeof(err)) != 0)
		return cli_fail(c, "no audit public key: pass --audit-pubkey "
		    "FILE (%s)", err);
	have_cfg = 1;
	if (cfg.audit_key == NULL) {
		r = cli_fail(c, "no audit public key: %s names no audit_key; "
		    "pass --audit-pubkey FILE", conf);
		goto out;
	}
	if ((k = cakey_load(cfg.audit_key, &ca)) != 0) {
		r = cli_fail(c, "cannot load the audit key %s: %s (or pass "
		    "--audit-pubkey FILE)", cfg.audit_key, tss_strerror(k));
		goto out;
	}
	blob = sshkey_blob(cakey_public(ca), &len);
	if ((k = sshkey_from_blob(blob, len, out)) != 0) {
		r = cli_fail(c, "audit key %s: %s", cfg.audit_key,
		    tss_strerror(k));
		goto out;
	}
 check:
	if (sshkey_type(*out) != SSHKEY_ED25519) {
		r = cli_fail(c, "the audit key is %s, not ssh-ed25519",
		    sshkey_type_name(*out));
		sshkey_free(*out);
		*out = NULL;
		goto out;
	}
	r = CLI_OK;
 out:
	cakey_free(ca);
	if (have_cfg)
		config_free(&cfg);
	return r;
}

/* The failure a checkpoint check found, as a message and exit status. */
static int
ckpt_failure(struct cli *c, const char *file, const struct audit_ckpt *ck,
    size_t line, const struct audit_ckpt_report *rep, const char *fp)
{
	char when[32];
	unsigned long long seq = (unsigned long long)ck->seq;

	cli_fmt_time(ck->time, when, sizeof(when));
	switch (rep->verdict) {
	case AUDIT_CKPT_BAD_SIG:
		cli_fail(c, "%s:%zu: checkpoint at event %llu has a bad "
		    "signature: not signed by the audit key %s (key %s named)",
		    file, line, seq, fp, ck->key);
		return VERIFY_EXIT_BAD_SIG;
	case AUDIT_CKPT_MISSING:
		cli_fail(c, "%s:%zu: event %llu is missing: the store ends at "
		    "event %llu, below the checkpoint signed at %s (the newest "
		    "events were dropped and the head reset)", file, line,
		    seq, (unsigned long long)rep->count, when);
		return VERIFY_EXIT_MISSING;
	case AUDIT_CKPT_CHANGED:
		cli_fail(c, "%s:%zu: event %llu was changed: its hash differs "
		    "from the one signed at %s (the chain was rewritten)",
		    file, line, seq, when);
		return VERIFY_EXIT_CHANGED;
	case AUDIT_CKPT_BROKEN:
		cli_fail(c, "audit chain broken at event %llu, at or before "
		    "event %llu of the checkpoint at %s:%zu: it was altered, or "
		    "an event before it was removed",
		    (unsigned long long)rep->bad, seq, file, line);
		return CLI_FAIL;
	case AUDIT_CKPT_OK:
		break;
	}
	return CLI_OK;
}

/*
 * Read-only: one read transaction on a store opened without write
 * access.  The verification is not itself audited: a verifier that
 * writes changes what it verifies (and the head it reports).
 */
int
cmd_audit_verify(struct cli *c, int argc, char **argv)
{
	const char *data = NULL, *ckfile = NULL, *pubfile = NULL;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ "checkpoints", CLI_OPT_STR, &ckfile },
		{ "audit-pubkey", CLI_OPT_STR, &pubfile },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct store_opts so;
	struct sshkey *pub = NULL;
	struct audit_ckpt *ck = NULL;
	struct audit_ckpt_report rep;
	size_t *lines = NULL, nck = 0, np;
	json_t *fields = NULL;
	uint64_t count = 0, bad = 0;
	char head[65], fp[SSHKEY_FP_MAX];
	int r, k, v = 0;

	memset(head, 0, sizeof(head));
	memset(&rep, 0, sizeof(rep));
	fp[0] = '\0';
	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if (data == NULL) {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if (pubfile != NULL && ckfile == NULL) {
		fprintf(stderr, "%s: --audit-pubkey needs --checkpoints FILE\n",
		    c->prog);
		return cli_usage(c);
	}
	if ((r = need_store(c, data)) != CLI_OK)
		return r;
	if (ckfile != NULL &&
	    ((r = audit_pubkey(c, data, pubfile, &pub)) != CLI_OK ||
	    (r = read_checkpoints(c, ckfile, &ck, &lines, &nck)) != CLI_OK))
		goto out;
	if (pub != NULL && (k = sshkey_fingerprint(pub, fp)) != 0) {
		r = cli_fail(c, "audit key: %s", tss_strerror(k));
		goto out;
	}
	/* open_store's checks, without write access. */
	memset(&so, 0, sizeof(so));
	so.mode = STORE_OPEN_EXISTING;
	so.read_only = 1;
	if ((k = store_open(data, &so, &s)) != 0) {
		cli_fail(c, "cannot open the store in %s: %s", data,
		    tss_strerror(k));
		r = store_status(k);
		goto out;
	}
	if ((k = store_begin(s, 0, &t)) != 0) {
		r = cli_fail(c, "cannot read the store: %s", tss_strerror(k));
		goto out;
	}
	if (ck != NULL) {
		if ((k = audit_ckpt_check(t, pub, ck, nck, &rep)) != 0) {
			r = cli_fail(c, "cannot verify the checkpoints: %s",
			    tss_strerror(k));
			goto out;
		}
		count = rep.count;
		bad = rep.bad;
		memcpy(head, rep.head, sizeof(head));
		v = bad != 0 ? TSS_E_SIGNATURE : 0;
	} else if ((v = audit_verify(t, &count, head, &bad)) != 0 &&
	    v != TSS_E_SIGNATURE) {
		r = cli_fail(c, "cannot verify the audit chain: %s",
		    tss_strerror(v));
		goto out;
	}
	store_abort(t);
	t = NULL;
	if (c->json) {
		fields = v == 0 ? json_pack("{s:b, s:I, s:s}", "ok",
		    rep.verdict == AUDIT_CKPT_OK, "events", (json_int_t)count,
		    "head", head) : json_pack("{s:b, s:I, s:I}", "ok", 0,
		    "events", (json_int_t)count, "first_bad", (json_int_t)bad);
		if (fields != NULL && ck != NULL) {
			static const char *const names[] = { "ok",
			    "bad_signature", "event_missing", "event_changed",
			    "chain_broken" };

			json_object_set_new(fields, "checkpoints",
			    json_integer((json_int_t)nck));
			json_object_set_new(fields, "newest_checkpoint",
			    json_integer((json_int_t)rep.newest));
			json_object_set_new(fields, "checkpoint_result",
			    json_string(names[rep.verdict]));
		}
		if (fields != NULL) {
			json_dumpf(fields, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		}
	}
	if (rep.verdict != AUDIT_CKPT_OK) {
		r = ckpt_failure(c, ckfile, &ck[rep.which], lines[rep.which],
		    &rep, fp);
		goto out;
	}
	if (!c->json && v == 0) {
		printf("audit chain intact: %llu events, head %s\n",
		    (unsigned long long)count, head);
		if (ck != NULL)
			printf("checkpoints: %zu signed by %s verified; every "
			    "event up to %llu is present and unchanged\n", nck,
			    fp, (unsigned long long)rep.newest);
	}
	if (v != 0) {
		r = cli_fail(c, "audit chain broken at event %llu: it was "
		    "altered, or an event before it was removed",
		    (unsigned long long)bad);
		goto out;
	}
	r = CLI_OK;
 out:
	json_decref(fields);
	store_abort(t);
	store_close(s);
	sshkey_free(pub);
	free(ck);
	free(lines);
	return r;
}
