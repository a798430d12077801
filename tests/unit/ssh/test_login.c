/*
 * Real logins: our certificates against a private /usr/sbin/sshd on
 * 127.0.0.1 with a real ssh client, for every key type that can log in
 * without hardware (sk-* keys need a token: test_cert covers them with
 * ssh-keygen -L and parsing only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "sshca/cakey.h"
#include "sshca/cert.h"
#include "sshca/krl.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/err.h"
#include "sshd.h"
#include "sshtest.h"
#include "tmpdir.h"

#define GRANTED		"app@prod/api"
#define REVOKED_ONE	1000
#define REVOKED_LO	2000
#define REVOKED_HI	2010

static char dir[ST_PATH];
static struct cakey *ca_ed, *ca_ec, *ca_rsa;
static struct sshd *sshd;

static const struct { const char *type; int bits; } user_types[] = {
	{ "ed25519", 0 }, { "ecdsa", 256 }, { "ecdsa", 384 },
	{ "ecdsa", 521 }, { "rsa", 2048 },
};
#define NTYPES (sizeof(user_types) / sizeof(user_types[0]))

static void
append_ca_line(FILE *f, const struct cakey *ca)
{
	char *line = NULL;

	cr_assert_eq(sshkey_to_line(cakey_public(ca), "tessera-ca", &line), 0);
	fprintf(f, "%s\n", line);
	free(line);
}

/* CA keys, TrustedUserCAKeys, principals file, KRL, then sshd. */
static void
start(int all_cas)
{
	char cafile[ST_PATH], principals[ST_PATH], pattern[ST_PATH];
	char krlpath[ST_PATH];
	uint64_t revoked[2 + REVOKED_HI - REVOKED_LO];
	struct krl_ca kc;
	struct buf *krl = NULL;
	struct sshd_conf conf;
	size_t i, n = 0;
	FILE *f;

	st_tmpdir(dir);
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca_ed), 0);
	st_path(cafile, dir, "trusted-ca.pub");
	f = fopen(cafile, "w");
	cr_assert_not_null(f);
	append_ca_line(f, ca_ed);
	if (all_cas) {
		cr_assert_eq(cakey_generate(CAKEY_ECDSA_P256, 0, &ca_ec), 0);
		cr_assert_eq(cakey_generate(CAKEY_RSA, 0, &ca_rsa), 0);
		append_ca_line(f, ca_ec);
		append_ca_line(f, ca_rsa);
	}
	cr_assert_eq(fclose(f), 0);
	cr_assert(snprintf(pattern, sizeof(pattern), "%s/principals-%%u",
	    dir) < (int)sizeof(pattern));
	cr_assert(snprintf(principals, sizeof(principals), "%s/principals-%s",
	    dir, sshd_login_user()) < (int)sizeof(principals));
	st_write(principals, GRANTED "\n", strlen(GRANTED) + 1, 0644);
	revoked[n++] = REVOKED_ONE;
	for (i = REVOKED_LO; i <= REVOKED_HI; i++)
		revoked[n++] = i;
	kc.ca = cakey_public(ca_ed);
	kc.serials = revoked;
	kc.nserials = n;
	cr_assert_eq(krl_build(&kc, 1, 1, (uint64_t)time(NULL), NULL, &krl), 0);
	st_path(krlpath, dir, "revoked.krl");
	st_write(krlpath, buf_ptr(krl), buf_len(krl), 0644);
	buf_free(krl);
	memset(&conf, 0, sizeof(conf));
	conf.dir = dir;
	conf.trusted_ca_keys = cafile;
	conf.principals_file = pattern;
	conf.revoked_keys = krlpath;
	cr_assert_eq(sshd_start(&conf, &sshd), 0, "sshd did not start");
}

static void
start_one_ca(void)
{
	start(0);
}

static void
start_all_cas(void)
{
	start(1);
}

static void
stop(void)
{
	sshd_stop(sshd);
	sshd = NULL;
	cakey_free(ca_ed);
	cakey_free(ca_ec);
	cakey_free(ca_rsa);
	ca_ed = ca_ec = ca_rsa = NULL;
	tmpdir_remove(dir);
}

/*
 * New user key of the given type, a certificate for it from ca, then one
 * login: the ssh exit status.
 */
static int
login_with(struct cakey *ca, size_t type, uint64_t serial,
    const char *principal, uint64_t va, uint64_t vb)
{
	char name[64], priv[ST_PATH], pub[ST_PATH], certpath[ST_PATH];
	struct sshkey *key;
	struct buf *cert;
	int rc;

	snprintf(name, sizeof(name), "user%zu-%llu", type,
	    (unsigned long long)serial);
	st_keygen(dir, name, user_types[type].type, user_types[type].bits,
	    priv, pub);
	key = st_load_pub(pub);
	cert = st_sign(ca, key, serial, principal, va, vb);
	cr_assert(snprintf(certpath, sizeof(certpath), "%s-cert.pub", priv) <
	    (int)sizeof(certpath));
	st_write_cert(certpath, cert);
	rc = sshd_try_login(sshd, sshd_login_user(), priv, certpath);
	buf_free(cert);
	sshkey_free(key);
	return rc;
}

static void
now_window(uint64_t *va, uint64_t *vb)
{
	cr_assert_eq(cert_validity((uint64_t)time(NULL), 600, va, vb), 0);
}

/* sshd's log must show the reason we expect for a refusal. */
static void
log_mentions(const char *what)
{
	char path[ST_PATH], *log;

	st_path(path, dir, "sshd.log");
	log = st_slurp(path, NULL);
	cr_assert_not_null(log);
	cr_assert_not_null(strstr(log, what), "sshd.log lacks \"%s\":\n%s",
	    what, log);
	free(log);
}

Test(login, accepted_for_granted_principal_with_every_key_type,
    .init = start_one_ca, .fini = stop)
{
	uint64_t va, vb;
	size_t t;

	now_window(&va, &vb);
	for (t = 0; t < NTYPES; t++)
		cr_assert_eq(login_with(ca_ed, t, 1 + t, GRANTED, va, vb), 0,
		    "%s-%d refused", user_types[t].type, user_types[t].bits);
}

Test(login, accepted_with_ecdsa_and_rsa_ca, .init = start_all_cas,
    .fini = stop)
{
	uint64_t va, vb;

	now_window(&va, &vb);
	cr_assert_eq(login_with(ca_ec, 0, 7, GRANTED, va, vb), 0);
	cr_assert_eq(login_with(ca_rsa, 0, 8, GRANTED, va, vb), 0);
	/* The KRL names the Ed25519 CA only: serial 1000 of another CA
	 * is not revoked. */
	cr_assert_eq(login_with(ca_ec, 0, REVOKED_ONE, GRANTED, va, vb), 0);
}

Test(login, refused_when_principal_not_listed_for_login,
    .init = start_one_ca, .fini = stop)
{
	uint64_t va, vb;
	size_t t;

	now_window(&va, &vb);
	for (t = 0; t < NTYPES; t++)
		cr_assert_eq(login_with(ca_ed, t, 10 + t, "app@prod/other",
		    va, vb), 255, "%s-%d accepted", user_types[t].type,
		    user_types[t].bits);
	log_mentions("Certificate does not contain an authorized principal");
}

Test(login, refused_when_certificate_expired, .init = start_one_ca,
    .fini = stop)
{
	uint64_t now = (uint64_t)time(NULL);
	size_t t;

	for (t = 0; t < NTYPES; t++)
		cr_assert_eq(login_with(ca_ed, t, 20 + t, GRANTED, now - 7200,
		    now - 3600), 255, "%s-%d accepted", user_types[t].type,
		    user_types[t].bits);
	log_mentions("Certificate invalid: expired");
}

Test(login, refused_when_serial_in_krl, .init = start_one_ca, .fini = stop)
{
	uint64_t va, vb;
	size_t t;

	now_window(&va, &vb);
	/* One listed serial, then serials inside the range section. */
	for (t = 0; t < NTYPES; t++)
		cr_assert_eq(login_with(ca_ed, t, t == 0 ? REVOKED_ONE :
		    REVOKED_LO + 2 * t, GRANTED, va, vb), 255,
		    "%s-%d accepted", user_types[t].type, user_types[t].bits);
	cr_assert_eq(login_with(ca_ed, 0, REVOKED_HI, GRANTED, va, vb), 255);
	/* Just outside the range: accepted. */
	cr_assert_eq(login_with(ca_ed, 0, REVOKED_HI + 1, GRANTED, va, vb), 0);
	cr_assert_eq(login_with(ca_ed, 0, REVOKED_LO - 1, GRANTED, va, vb), 0);
	log_mentions("revoked by file");
}
