/*
 * cert: field checks, validity arithmetic, `ssh-keygen -L` on our
 * certificates for every key type and CA type, and a cross-check against
 * certificates `ssh-keygen -s` makes for the same inputs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sshca/cakey.h"
#include "sshca/cert.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/err.h"
#include "sshtest.h"
#include "tmpdir.h"

static char dir[ST_PATH];

static void
setup(void)
{
	st_tmpdir(dir);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(cert, .init = setup, .fini = teardown);

/* 2024-01-01T00:00:00Z .. 01:00:00Z */
#define VA	0x65920080ULL
#define VB	0x65920e90ULL

static const char *principals2[] = { "app@prod/api", "db@prod/db" };
static const char *sources2[] = { "127.0.0.1/32", "10.0.0.0/8" };
/* Deliberately unsorted, with a duplicate: output must be lexical, once. */
static const char *ext_unsorted[] = { "permit-pty", "permit-user-rc",
    "permit-X11-forwarding", "permit-agent-forwarding", "permit-pty",
    "permit-port-forwarding" };

static void
full_request(struct cert_request *req, const struct sshkey *key)
{
	memset(req, 0, sizeof(*req));
	req->key = key;
	req->serial = 42;
	req->username = "alice";
	req->principals = principals2;
	req->nprincipals = 2;
	req->valid_after = VA;
	req->valid_before = VB;
	req->force_command = "/usr/bin/true";
	req->source_address = sources2;
	req->nsource_address = 2;
	req->extensions = ext_unsorted;
	req->nextensions = sizeof(ext_unsorted) / sizeof(ext_unsorted[0]);
}

/* ---- validity ------------------------------------------------------- */

Test(cert, validity_starts_five_minutes_before_now)
{
	uint64_t a, b;

	cr_assert_eq(cert_validity(1000000, 900, &a, &b), 0);
	cr_assert_eq(a, 1000000 - 300);
	cr_assert_eq(b, 1000900);
}

Test(cert, validity_clamps_start_at_zero)
{
	uint64_t a, b;

	cr_assert_eq(cert_validity(100, 60, &a, &b), 0);
	cr_assert_eq(a, 0);
	cr_assert_eq(b, 160);
}

Test(cert, validity_refuses_zero_ttl)
{
	uint64_t a = 1, b = 1;

	cr_assert_eq(cert_validity(1000, 0, &a, &b), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(a, 0);
	cr_assert_eq(b, 0);
}

Test(cert, validity_refuses_overflow)
{
	uint64_t a = 1, b = 1;

	cr_assert_eq(cert_validity(2, UINT64_MAX - 1, &a, &b),
	    TSS_E_OVERFLOW);
	cr_assert_eq(cert_validity(1, UINT64_MAX, &a, &b), TSS_E_OVERFLOW);
	cr_assert_eq(cert_validity(1ULL << 63, 1ULL << 63, &a, &b),
	    TSS_E_OVERFLOW);
	cr_assert_eq(b, 0);
	cr_assert_eq(cert_validity(1, UINT64_MAX - 1, &a, &b), 0);
	cr_assert_eq(b, UINT64_MAX);
}

/* ---- principals and CIDRs ------------------------------------------- */

Test(cert, principal_accepts_login_at_target)
{
	char max[CERT_PRINCIPAL_MAX + 1];

	cr_assert_eq(cert_check_principal("app@prod/api"), 0);
	cr_assert_eq(cert_check_principal("root"), 0);
	memset(max, 'a', CERT_PRINCIPAL_MAX);
	max[CERT_PRINCIPAL_MAX] = '\0';
	cr_assert_eq(cert_check_principal(max), 0);
}

Test(cert, principal_refuses_splittable_or_hidden_bytes)
{
	static const char *bad[] = { "", "a,root", "a\nroot", "a root",
	    " a", "a\t", "a\rb", "a\x7f", "\x1b[31m", "a*", "?" };
	char big[10 * 1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cert_check_principal(bad[i]),
		    TSS_E_INVALID_PRINCIPAL, "accepted [%s]", bad[i]);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(cert_check_principal(big), TSS_E_INVALID_PRINCIPAL);
	big[CERT_PRINCIPAL_MAX + 1] = '\0';
	cr_assert_eq(cert_check_principal(big), TSS_E_INVALID_PRINCIPAL);
	cr_assert_eq(cert_check_principal(NULL), TSS_E_INVALID_PRINCIPAL);
}

Test(cert, cidr_accepts_networks_and_addresses)
{
	static const char *good[] = { "10.0.0.0/8", "127.0.0.1",
	    "127.0.0.1/32", "0.0.0.0/0", "192.168.4.0/22", "::1",
	    "::1/128", "fe80::/10", "2001:db8::/32", "::/0" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(cert_check_cidr(good[i]), 0, "%s", good[i]);
}

Test(cert, cidr_refuses_malformed)
{
	static const char *bad[] = { "", "/8", "10.0.0.1/8", "10.0.0.0/33",
	    "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8/8",
	    "10.0.0.0/8,1.2.3.4", " 10.0.0.0/8", "1.2.3", "1.2.3.256",
	    "abc", "::1/129", "fe80::1/10", "10.0.0.0/1000", "01.2.3.4",
	    "2001:db8::/32 " };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cert_check_cidr(bad[i]), TSS_E_INVALID_CIDR,
		    "accepted [%s]", bad[i]);
	cr_assert_eq(cert_check_cidr(NULL), TSS_E_INVALID_CIDR);
}

/* ---- cert_sign refusals --------------------------------------------- */

struct signfx {
	struct cakey *ca;
	struct sshkey *key;
};

static void
signfx_init(struct signfx *f)
{
	char priv[ST_PATH], pub[ST_PATH];

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &f->ca), 0);
	st_keygen(dir, "u", "ed25519", 0, priv, pub);
	f->key = st_load_pub(pub);
}

static void
signfx_free(struct signfx *f)
{
	cakey_free(f->ca);
	sshkey_free(f->key);
}

static void
expect_refused(struct signfx *f, const struct cert_request *req, int want)
{
	struct buf *cert = (struct buf *)1;
	int r = cert_sign(f->ca, req, &cert);

	cr_assert_eq(r, want, "got %s want %s", tss_errname(r),
	    tss_errname(want));
	cr_assert_null(cert);
}

Test(cert, sign_refuses_empty_principals)
{
	struct signfx f;
	struct cert_request req;

	signfx_init(&f);
	full_request(&req, f.key);
	req.nprincipals = 0;
	expect_refused(&f, &req, TSS_E_INVALID_PRINCIPAL);
	req.principals = NULL;
	req.nprincipals = 1;
	expect_refused(&f, &req, TSS_E_INVALID_PRINCIPAL);
	signfx_free(&f);
}

Test(cert, sign_caps_principals_at_256)
{
	static char names[CERT_MAX_PRINCIPALS + 1][16];
	const char *p[CERT_MAX_PRINCIPALS + 1];
	struct signfx f;
	struct cert_request req;
	struct buf *cert = NULL;
	size_t i;

	for (i = 0; i <= CERT_MAX_PRINCIPALS; i++) {
		snprintf(names[i], sizeof(names[i]), "u%zu@t", i);
		p[i] = names[i];
	}
	signfx_init(&f);
	full_request(&req, f.key);
	req.principals = p;
	req.nprincipals = CERT_MAX_PRINCIPALS + 1;
	expect_refused(&f, &req, TSS_E_TOO_MANY);
	req.nprincipals = CERT_MAX_PRINCIPALS;
	cr_assert_eq(cert_sign(f.ca, &req, &cert), 0);
	buf_free(cert);
	signfx_free(&f);
}

Test(cert, sign_refuses_bad_or_duplicate_principal)
{
	const char *bad[] = { "app@prod/api", "a,root" };
	const char *dup[] = { "app@prod/api", "app@prod/api" };
	struct signfx f;
	struct cert_request req;

	signfx_init(&f);
	full_request(&req, f.key);
	req.principals = bad;
	expect_refused(&f, &req, TSS_E_INVALID_PRINCIPAL);
	req.principals = dup;
	expect_refused(&f, &req, TSS_E_INVALID_PRINCIPAL);
	signfx_free(&f);
}

Test(cert, sign_refuses_bad_source_address)
{
	const char *bad[] = { "10.0.0.0/8", "10.0.0.0/8,1.2.3.4" };
	struct signfx f;
	struct cert_request req;

	signfx_init(&f);
	full_request(&req, f.key);
	req.source_address = bad;
	expect_refused(&f, &req, TSS_E_INVALID_CIDR);
	signfx_free(&f);
}

Test(cert, sign_refuses_bad_fields)
{
	const char *badext[] = { "permit pty" };
	struct signfx f;
	struct cert_request req;

	signfx_init(&f);
	full_request(&req, f.key);
	req.serial = 0;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	full_request(&req, f.key);
	req.valid_before = req.valid_after;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	full_request(&req, f.key);
	req.username = "al\nice";
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	full_request(&req, f.key);
	req.force_command = "true\nrm -rf /";
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	full_request(&req, f.key);
	req.extensions = badext;
	req.nextensions = 1;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	full_request(&req, f.key);
	req.key = NULL;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	signfx_free(&f);
}

Test(cert, same_inputs_and_nonce_give_the_same_ed25519_certificate)
{
	uint8_t nonce[CERT_NONCE_LEN];
	struct signfx f;
	struct cert_request req;
	struct buf *a = NULL, *b = NULL, *c = NULL;

	memset(nonce, 0x5a, sizeof(nonce));
	signfx_init(&f);
	full_request(&req, f.key);
	req.nonce = nonce;
	cr_assert_eq(cert_sign(f.ca, &req, &a), 0);
	cr_assert_eq(cert_sign(f.ca, &req, &b), 0);
	cr_assert_eq(buf_len(a), buf_len(b));
	cr_assert(memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) == 0);
	req.nonce = NULL;	/* drawn from the CSPRNG: differs */
	cr_assert_eq(cert_sign(f.ca, &req, &c), 0);
	cr_assert(memcmp(buf_ptr(a), buf_ptr(c), buf_len(a)) != 0);
	buf_free(a);
	buf_free(b);
	buf_free(c);
	signfx_free(&f);
}

/* ---- ssh-keygen -L -------------------------------------------------- */

static const char *expected_tail =
    "        Key ID: \"alice:42\"\n"
    "        Serial: 42\n"
    "        Valid: from 2024-01-01T00:00:00 to 2024-01-01T01:00:00\n"
    "        Principals: \n"
    "                app@prod/api\n"
    "                db@prod/db\n"
    "        Critical Options: \n"
    "                force-command /usr/bin/true\n"
    "                source-address 127.0.0.1/32,10.0.0.0/8\n"
    "        Extensions: \n"
    "                permit-X11-forwarding\n"
    "                permit-agent-forwarding\n"
    "                permit-port-forwarding\n"
    "                permit-pty\n"
    "                permit-user-rc\n";

static void
check_listed(enum cakey_alg alg, const char *pub)
{
	char certpath[ST_PATH], want[256], *out = NULL;
	const char *argv[] = { "ssh-keygen", "-L", "-f", certpath, NULL };
	struct cakey *ca = NULL;
	struct sshkey *key = st_load_pub(pub);
	struct cert_request req;
	struct buf *cert = NULL;
	int r;

	cr_assert_eq(cakey_generate(alg, 0, &ca), 0);
	full_request(&req, key);
	r = cert_sign(ca, &req, &cert);
	cr_assert_eq(r, 0, "%s", tss_errname(r));
	st_path(certpath, dir, "user-cert.pub");
	st_write_cert(certpath, cert);
	/* ssh-keygen verifies the CA signature while parsing. */
	r = st_run(argv, &out);
	cr_assert_eq(r, 0, "ssh-keygen -L: %s", out);
	snprintf(want, sizeof(want), "Type: %s user certificate\n",
	    sshkey_cert_type_name(key));
	cr_assert_not_null(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "(using %s)\n", cakey_sig_alg(ca));
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, expected_tail), "%s", out);
	free(out);
	buf_free(cert);
	sshkey_free(key);
	cakey_free(ca);
}

static void
check_listed_type(const char *type, int bits)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", type, bits, priv, pub);
	check_listed(CAKEY_ED25519, pub);
}

Test(cert, keygen_lists_ed25519_certificate)
{
	check_listed_type("ed25519", 0);
}

Test(cert, keygen_lists_ecdsa_nistp256_certificate)
{
	check_listed_type("ecdsa", 256);
}

Test(cert, keygen_lists_ecdsa_nistp384_certificate)
{
	check_listed_type("ecdsa", 384);
}

Test(cert, keygen_lists_ecdsa_nistp521_certificate)
{
	check_listed_type("ecdsa", 521);
}

Test(cert, keygen_lists_rsa_certificate)
{
	check_listed_type("rsa", 2048);
}

Test(cert, keygen_lists_sk_ed25519_certificate)
{
	char pub[ST_PATH];

	st_sk_pub(dir, 0, pub);
	check_listed(CAKEY_ED25519, pub);
}

Test(cert, keygen_lists_sk_ecdsa_certificate)
{
	char pub[ST_PATH];

	st_sk_pub(dir, 1, pub);
	check_listed(CAKEY_ED25519, pub);
}

Test(cert, keygen_lists_certificate_signed_by_ecdsa_ca)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", "ed25519", 0, priv, pub);
	check_listed(CAKEY_ECDSA_P256, pub);
}

Test(cert, keygen_lists_certificate_signed_by_rsa_ca)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", "ed25519", 0, priv, pub);
	check_listed(CAKEY_RSA, pub);
}

/* ---- cross-check with ssh-keygen -s --------------------------------- */

static size_t
key_fields(const char *certtype)
{
	if (strncmp(certtype, "sk-ecdsa-", 9) == 0)
		return 3;
	if (strncmp(certtype, "ecdsa-", 6) == 0 ||
	    strncmp(certtype, "ssh-rsa-", 8) == 0 ||
	    strncmp(certtype, "sk-ssh-ed25519", 14) == 0)
		return 2;
	return 1;
}

/* The to-be-signed bytes minus the nonce: type, key .. signature key. */
static struct buf *
tbs_without_nonce(const uint8_t *blob, size_t len)
{
	struct buf *b = buf_from(blob, len), *out = buf_new();
	const uint8_t *p, *nonce_end, *sig_start;
	char *type = NULL;
	size_t l, i;
	uint64_t u64;
	uint32_t u32;

	cr_assert_not_null(b);
	cr_assert_eq(buf_get_cstring(b, &type, &l), 0);
	cr_assert_eq(buf_get_string_direct(b, &p, &l), 0);	/* nonce */
	cr_assert_eq(l, 32);
	nonce_end = buf_ptr(b);
	for (i = 0; i < key_fields(type); i++)
		cr_assert_eq(buf_get_string_direct(b, &p, &l), 0);
	cr_assert_eq(buf_get_u64(b, &u64), 0);		/* serial */
	cr_assert_eq(buf_get_u32(b, &u32), 0);		/* type */
	for (i = 0; i < 2; i++)				/* key id, principals */
		cr_assert_eq(buf_get_string_direct(b, &p, &l), 0);
	cr_assert_eq(buf_get_u64(b, &u64), 0);
	cr_assert_eq(buf_get_u64(b, &u64), 0);
	for (i = 0; i < 4; i++)		/* options, extensions, reserved, CA */
		cr_assert_eq(buf_get_string_direct(b, &p, &l), 0);
	sig_start = buf_ptr(b);
	cr_assert_eq(buf_get_string_direct(b, &p, &l), 0);	/* signature */
	cr_assert_eq(buf_len(b), 0);
	cr_assert_eq(buf_put_cstring(out, type), 0);
	cr_assert_eq(buf_put(out, nonce_end, (size_t)(sig_start - nonce_end)),
	    0);
	free(type);
	buf_free(b);
	return out;
}

/* ours signs the same fields as the certificate ssh-keygen wrote to
 * certpath (the nonce and the signature aside). */
static void
expect_same_tbs(const struct buf *ours, const char *certpath)
{
	struct buf *a, *b;
	uint8_t *theirs;
	size_t tlen;

	theirs = st_pub_blob(certpath, &tlen);
	a = tbs_without_nonce(buf_ptr(ours), buf_len(ours));
	b = tbs_without_nonce(theirs, tlen);
	cr_assert_eq(buf_len(a), buf_len(b), "%zu vs %zu", buf_len(a),
	    buf_len(b));
	cr_assert(memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) == 0,
	    "to-be-signed fields differ from ssh-keygen's");
	buf_free(a);
	buf_free(b);
	free(theirs);
}

static void
cross_check(enum cakey_alg alg, const char *pub)
{
	char capath[ST_PATH], certpath[ST_PATH], *out = NULL;
	const char *argv[] = { "ssh-keygen", "-q", "-s", capath,
	    "-I", "alice:42", "-n", "app@prod/api,db@prod/db", "-z", "42",
	    "-V", "0x65920080:0x65920e90",
	    "-O", "force-command=/usr/bin/true",
	    "-O", "source-address=127.0.0.1/32,10.0.0.0/8",
	    alg == CAKEY_RSA ? "-t" : pub, "rsa-sha2-512", pub, NULL };
	struct cakey *ca = NULL;
	struct sshkey *key = st_load_pub(pub);
	struct cert_request req;
	struct buf *ours = NULL;

	if (alg != CAKEY_RSA)	/* "-t" only for RSA CAs: end argv at pub */
		argv[sizeof(argv) / sizeof(argv[0]) - 3] = NULL;
	char *dot;
	int r;

	cr_assert_eq(cakey_generate(alg, 0, &ca), 0);
	st_path(capath, dir, "ca");
	cr_assert_eq(cakey_save(ca, capath, CAKEY_FORMAT_OPENSSH, NULL), 0);
	r = st_run(argv, &out);
	cr_assert_eq(r, 0, "ssh-keygen -s: %s", out);
	snprintf(certpath, sizeof(certpath), "%s", pub);
	dot = strrchr(certpath, '.');
	cr_assert_not_null(dot);
	snprintf(dot, sizeof(certpath) - (size_t)(dot - certpath),
	    "-cert.pub");
	full_request(&req, key);
	cr_assert_eq(cert_sign(ca, &req, &ours), 0);
	expect_same_tbs(ours, certpath);
	buf_free(ours);
	free(out);
	sshkey_free(key);
	cakey_free(ca);
}

static void
cross_check_type(const char *type, int bits)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", type, bits, priv, pub);
	cross_check(CAKEY_ED25519, pub);
}

Test(cert, matches_ssh_keygen_for_ed25519_key)
{
	cross_check_type("ed25519", 0);
}

Test(cert, matches_ssh_keygen_for_ecdsa_nistp256_key)
{
	cross_check_type("ecdsa", 256);
}

Test(cert, matches_ssh_keygen_for_ecdsa_nistp384_key)
{
	cross_check_type("ecdsa", 384);
}

Test(cert, matches_ssh_keygen_for_ecdsa_nistp521_key)
{
	cross_check_type("ecdsa", 521);
}

Test(cert, matches_ssh_keygen_for_rsa_key)
{
	cross_check_type("rsa", 2048);
}

Test(cert, matches_ssh_keygen_for_sk_ed25519_key)
{
	char pub[ST_PATH];

	st_sk_pub(dir, 0, pub);
	cross_check(CAKEY_ED25519, pub);
}

Test(cert, matches_ssh_keygen_for_sk_ecdsa_key)
{
	char pub[ST_PATH];

	st_sk_pub(dir, 1, pub);
	cross_check(CAKEY_ED25519, pub);
}

Test(cert, matches_ssh_keygen_with_ecdsa_ca)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", "ed25519", 0, priv, pub);
	cross_check(CAKEY_ECDSA_P256, pub);
}

Test(cert, matches_ssh_keygen_with_rsa_ca)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", "ed25519", 0, priv, pub);
	cross_check(CAKEY_RSA, pub);
}

Test(cert, to_line_refuses_non_certificate_blob)
{
	struct signfx f;
	const uint8_t *blob;
	size_t len;
	char *line = (char *)"untouched";

	signfx_init(&f);
	blob = sshkey_blob(f.key, &len);
	cr_assert_eq(cert_to_line(blob, len, NULL, &line),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_null(line);
	signfx_free(&f);
}

/* ---- host certificates ---------------------------------------------- */

static const char *hosts2[] = { "api.internal", "10.0.0.5" };

static void
host_request(struct cert_request *req, const struct sshkey *key)
{
	memset(req, 0, sizeof(*req));
	req->type = CERT_HOST;
	req->key = key;
	req->serial = 42;
	req->username = "prod/api";
	req->principals = hosts2;
	req->nprincipals = 2;
	req->valid_after = VA;
	req->valid_before = VB;
}

Test(cert, host_certificate_matches_ssh_keygen_h)
{
	char priv[ST_PATH], pub[ST_PATH], capath[ST_PATH], certpath[ST_PATH];
	char *out = NULL;
	const char *argv[] = { "ssh-keygen", "-q", "-s", capath, "-h",
	    "-I", "host:prod/api:42", "-n", "api.internal,10.0.0.5",
	    "-z", "42", "-V", "0x65920080:0x65920e90", pub, NULL };
	const char *list[] = { "ssh-keygen", "-L", "-f", certpath, NULL };
	struct cakey *ca = NULL;
	struct sshkey *key;
	struct cert_request req;
	struct buf *ours = NULL;

	st_keygen(dir, "host", "ed25519", 0, priv, pub);
	key = st_load_pub(pub);
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	st_path(capath, dir, "ca");
	cr_assert_eq(cakey_save(ca, capath, CAKEY_FORMAT_OPENSSH, NULL), 0);
	cr_assert_eq(st_run(argv, &out), 0, "ssh-keygen -s -h: %s", out);
	free(out);
	st_path(certpath, dir, "host-cert.pub");
	host_request(&req, key);
	cr_assert_eq(cert_sign(ca, &req, &ours), 0);
	expect_same_tbs(ours, certpath);
	/* And ssh-keygen reads ours as a host certificate. */
	st_write_cert(certpath, ours);
	cr_assert_eq(st_run(list, &out), 0, "%s", out);
	cr_expect_not_null(strstr(out, "host certificate"), "%s", out);
	cr_expect_not_null(strstr(out, "Key ID: \"host:prod/api:42\""), "%s",
	    out);
	free(out);
	buf_free(ours);
	sshkey_free(key);
	cakey_free(ca);
}

Test(cert, host_certificate_refuses_options_extensions_and_bad_type)
{
	const char *ext[] = { "permit-pty" };
	const char *src[] = { "10.0.0.0/8" };
	struct signfx f;
	struct cert_request req;

	signfx_init(&f);
	host_request(&req, f.key);
	req.extensions = ext;
	req.nextensions = 1;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	host_request(&req, f.key);
	req.force_command = "/bin/true";
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	host_request(&req, f.key);
	req.source_address = src;
	req.nsource_address = 1;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	host_request(&req, f.key);
	req.type = (enum cert_type)3;
	expect_refused(&f, &req, TSS_E_INVALID_ARGUMENT);
	signfx_free(&f);
}

/* ---- concurrency ---------------------------------------------------- */

#define SIGNERS		4
#define PER_SIGNER	50

struct signer_arg {
	struct cakey *ca;
	const struct cert_request *req;
	const struct buf *want;
	int mismatches;
};

static void *
signer(void *p)
{
	struct signer_arg *a = p;
	struct buf *cert;
	int i;

	for (i = 0; i < PER_SIGNER; i++) {
		cert = NULL;
		if (cert_sign(a->ca, a->req, &cert) != 0 ||
		    buf_len(cert) != buf_len(a->want) ||
		    memcmp(buf_ptr(cert), buf_ptr(a->want),
		    buf_len(cert)) != 0)
			a->mismatches++;
		buf_free(cert);
	}
	return NULL;
}

Test(cert, concurrent_signers_on_one_ca_make_identical_certificates)
{
	uint8_t nonce[CERT_NONCE_LEN];
	struct signer_arg args[SIGNERS];
	pthread_t th[SIGNERS];
	struct signfx f;
	struct cert_request req;
	struct buf *want = NULL;
	int i;

	memset(nonce, 0x33, sizeof(nonce));
	signfx_init(&f);
	full_request(&req, f.key);
	req.nonce = nonce;
	cr_assert_eq(cert_sign(f.ca, &req, &want), 0);
	/* Ed25519 is deterministic: contended and shared contexts alike
	 * must give the same bytes. */
	for (i = 0; i < SIGNERS; i++) {
		args[i] = (struct signer_arg){ f.ca, &req, want, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, signer, &args[i]), 0);
	}
	for (i = 0; i < SIGNERS; i++) {
		cr_assert_eq(pthread_join(th[i], NULL), 0);
		cr_assert_eq(args[i].mismatches, 0);
	}
	buf_free(want);
	signfx_free(&f);
}
