/*
 * offline init: a new data directory with its keys, configuration, store
 * and first admin (see offline.c for what a data directory holds).
 */
#include <sys/stat.h>
#include <sys/types.h>

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
#include "common/mem.h"
#include "store/store.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "auth/secretbox.h"
#include "auth/token.h"
#include "auth/user.h"
#include "rbac/rbac.h"
#include "cli.h"
#include "offline_int.h"

#define DEV_TLS_DAYS	365

/* Files init makes, removed again when init fails half-way. */
static const char *const init_files[] = { "data.mdb", "lock.mdb",
    "ca.key", "host_ca.key", "master.key", "tls.crt", "tls.key",
    "tesserad.conf",
    "audit.key", "audit.key.pub", NULL };

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

/* The keys' paths and the public URL the config names. */
struct init_conf {
	const char *ca, *hca, *mk, *url;
	const char *store;	/* a postgresql:// URI; NULL: LMDB in dir */
};

static int
write_conf(const char *path, const char *dir, int dev,
    const struct init_conf *ic)
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
	    "public_url = %s\n"
	    "data_dir = %s\n"
	    "%s%s%s"
	    "%s"
	    "tls_cert = %s/tls.crt\n"
	    "tls_key = %s/tls.key\n"
	    "ca_key = %s\n"
	    "# Signs the targets' host certificates (GET /v1/ca/host).\n"
	    "host_ca_key = %s\n"
	    "master_key = %s\n"
	    "# Signs audit checkpoints; audit.key.pub verifies them "
	    "(tessera audit verify).\n"
	    "audit_key = %s/audit.key\n",
	    ic->url, dir, ic->store != NULL ? "store = " : "",
	    ic->store != NULL ? ic->store : "", ic->store != NULL ? "\n" : "",
	    dev ? "# Self-signed development certificate: "
	    "clients take tls.crt as --ca-file.\n" : "# Put the service's "
	    "PEM certificate and key here before starting tesserad.\n",
	    dir, dir, ic->ca, ic->hca, ic->mk, dir) > 0;
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
		if (offline_join(p, sizeof(p), dir, init_files[i]) == 0)
			(void)unlink(p);
	if (made_dir)
		(void)rmdir(dir);
}

/*
 * A key given to init: its absolute path into out (PATH_MAX), after the
 * checks tesserad makes; CLI_OK, or CLI_FAIL after a message.
 */
static int
key_in(struct cli *c, const char *key, const char *path, char *out)
{
	char err[1024];

	if (broker_keyfile_check(key, path, err, sizeof(err)) != 0)
		return cli_fail(c, "%s", err);
	if (realpath(path, out) == NULL)
		return cli_fail(c, "cannot resolve %s: %s", path,
		    strerror(errno));
	return CLI_OK;
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	const char *data = NULL, *admin = "admin", *ca_in = NULL, *pg = NULL;
	const char *hca_in = NULL;
	const char *mk_in = NULL, *url = "https://127.0.0.1:8443";
	int dev = 0;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ "store", CLI_OPT_STR, &pg },
		{ "dev", CLI_OPT_FLAG, &dev },
		{ "admin", CLI_OPT_STR, &admin },
		{ "ca-key", CLI_OPT_STR, &ca_in },
		{ "host-ca-key", CLI_OPT_STR, &hca_in },
		{ "master-key", CLI_OPT_STR, &mk_in },
		{ "public-url", CLI_OPT_STR, &url },
		{ NULL, 0, NULL }
	};
	struct init_conf ic;
	const char *pos[CLI_POS_MAX];
	char dir[PATH_MAX], conf[PATH_MAX], cap[PATH_MAX], mk[PATH_MAX];
	char hcap[PATH_MAX];
	char crt[PATH_MAX], key[PATH_MAX], err[512], when[32];
	char ak[PATH_MAX], akp[PATH_MAX];
	char token[TOKEN_TEXT_LEN + 1], *link = NULL;
	uint8_t mkey[SECRETBOX_KEY_LEN];
	struct config cfg;
	struct store *s = NULL;
	struct cakey *ca = NULL, *hca = NULL;
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
	if (pg != NULL && !store_location_is_pg(pg)) {
		fprintf(stderr, "%s: --store takes a postgresql:// URI\n",
		    c->prog);
		return cli_usage(c);
	}
	if (user_name_valid(admin) != 0) {
		fprintf(stderr, "%s: bad admin name %s (lowercase letters, "
		    "digits, _ . -; at most %d)\n", c->prog, admin,
		    USER_NAME_MAX);
		return cli_usage(c);
	}
	switch ((k = offline_dir_state(data))) {
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
	if (offline_join(conf, sizeof(conf), dir, "tesserad.conf") != 0 ||
	    offline_join(cap, sizeof(cap), dir, "ca.key") != 0 ||
	    offline_join(hcap, sizeof(hcap), dir, "host_ca.key") != 0 ||
	    offline_join(mk, sizeof(mk), dir, "master.key") != 0 ||
	    offline_join(crt, sizeof(crt), dir, "tls.crt") != 0 ||
	    offline_join(key, sizeof(key), dir, "tls.key") != 0 ||
	    offline_join(ak, sizeof(ak), dir, "audit.key") != 0 ||
	    offline_join(akp, sizeof(akp), dir, "audit.key.pub") != 0) {
		r = cli_fail(c, "path too long: %s", dir);
		goto out;
	}
	/* Keys given are used where they are (Docker secrets): never
	 * copied into the data directory. */
	if (ca_in != NULL) {
		if ((k = key_in(c, "ca_key", ca_in, cap)) != 0 ||
		    (k = cakey_load(cap, &ca)) != 0) {
			r = k > 0 ? k : cli_fail(c, "--ca-key %s: %s", ca_in,
			    tss_strerror(k));
			goto out;
		}
	} else if ((k = cakey_generate(CAKEY_ED25519, 0, &ca)) != 0 ||
	    (k = cakey_save(ca, cap, CAKEY_FORMAT_OPENSSH, "tessera-ca"))
	    != 0) {
		r = cli_fail(c, "cannot make the CA key %s: %s", cap,
		    tss_strerror(k));
		goto out;
	}
	if (hca_in != NULL) {
		if ((k = key_in(c, "host_ca_key", hca_in, hcap)) != 0) {
			r = k;
			goto out;
		}
		if ((k = broker_host_ca_load(hcap, ca, &hca, err,
		    sizeof(err))) != 0) {
			r = cli_fail(c, "--host-ca-key: %s", err);
			goto out;
		}
	} else if ((k = cakey_generate(CAKEY_ED25519, 0, &hca)) != 0 ||
	    (k = cakey_save(hca, hcap, CAKEY_FORMAT_OPENSSH,
	    "tessera-host-ca")) != 0) {
		r = cli_fail(c, "cannot make the host CA key %s: %s", hcap,
		    tss_strerror(k));
		goto out;
	}
	if (mk_in != NULL) {
		if ((k = key_in(c, "master_key", mk_in, mk)) != 0) {
			r = k;
			goto out;
		}
	} else if ((k = secretbox_key_create(mk)) != 0) {
		r = cli_fail(c, "cannot make the master key %s: %s", mk,
		    tss_strerror(k));
		goto out;
	}
	/* The store records the keys' fingerprints as it is created. */
	if ((k = secretbox_key_load(mk, mkey)) != 0 ||
	    (k = broker_store_create(pg != NULL ? pg : dir, NULL, ca, mkey,
	    &s)) != 0) {
		r = cli_fail(c, "cannot create the store in %s: %s",
		    pg != NULL ? "the PostgreSQL database" : dir,
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
	ic.ca = cap;
	ic.hca = hcap;
	ic.mk = mk;
	ic.url = url;
	ic.store = pg;
	if ((k = write_conf(conf, dir, dev, &ic)) != 0) {
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

	if ((k = broker_first_admin(s, admin, cli_now(), token, &exp)) != 0) {
		r = cli_fail(c, "cannot create the admin %s: %s", admin,
		    tss_strerror(k));
		goto out;
	}
	ul = strlen(cfg.public_url != NULL ? cfg.public_url : "") +
	    sizeof("/enroll#token=") + sizeof(token);
	if ((link = mem_malloc(ul)) == NULL ||
	    snprintf(link, ul, "%s/enroll#token=%s", cfg.public_url != NULL ?
	    cfg.public_url : "", token) >= (int)ul) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	made = 0;	/* done: keep everything */
	if (c->json) {
		if ((out = json_pack("{s:s, s:s, s:s, s:s, s:I}", "data_dir",
		    dir, "config", conf, "username", admin, "enroll_url", link,
		    "expires_at", (json_int_t)exp)) == NULL) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		if (mem_json_dumpf(out, stdout, JSON_COMPACT) != 0) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		fputc('\n', stdout);
		r = CLI_OK;
		goto out;
	}
	cli_fmt_time(exp, when, sizeof(when));
	printf("Initialised %s:\n"
	    "  config       %s\n"
	    "  CA key       %s\n"
	    "  host CA key  %s\n"
	    "  master key   %s\n"
	    "  audit key    %s (verifies with %s)\n", dir, conf, cap, hcap,
	    mk, ak, akp);
	if (dev)
		printf("  TLS          %s (self-signed: give it to clients as "
		    "--ca-file)\n", crt);
	else
		printf("  TLS          put the certificate in %s and the key "
		    "in %s\n", crt, key);
	printf("Start the service with: tesserad --config %s\n\n"
	    "Enrollment link for %s (valid until %s; hand it over "
	    "privately):\n%s\n", conf, admin, when, link);
	r = CLI_OK;
 out:
	store_close(s);
	cakey_free(ca);
	cakey_free(hca);
	if (have_cfg)
		config_free(&cfg);
	if (made)
		init_undo(data, made_dir);
	json_decref(out);
	if (link != NULL) {
		explicit_bzero(link, strlen(link));
		free(link);
	}
	explicit_bzero(token, sizeof(token));
	explicit_bzero(mkey, sizeof(mkey));
	return r;
}
