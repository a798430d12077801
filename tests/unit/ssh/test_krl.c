/* krl: encoding, compression, and agreement with `ssh-keygen -Q`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sshca/cakey.h"
#include "sshca/cert.h"
#include "sshca/krl.h"
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

TestSuite(krl, .init = setup, .fini = teardown);

struct krlfx {
	struct cakey *ca;
	struct sshkey *key;
	char krl[ST_PATH];
};

static void
fx_init(struct krlfx *f)
{
	char priv[ST_PATH], pub[ST_PATH];

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &f->ca), 0);
	st_keygen(dir, "u", "ed25519", 0, priv, pub);
	f->key = st_load_pub(pub);
	st_path(f->krl, dir, "krl");
}

static void
fx_free(struct krlfx *f)
{
	cakey_free(f->ca);
	sshkey_free(f->key);
}

static void
write_krl(struct krlfx *f, const struct krl_ca *cas, size_t n)
{
	struct buf *krl = NULL;
	int r = krl_build(cas, n, 7, 1700000000, "tessera test", &krl);

	cr_assert_eq(r, 0, "%s", tss_errname(r));
	st_write(f->krl, buf_ptr(krl), buf_len(krl), 0644);
	buf_free(krl);
}

/* ssh-keygen -Q: 0 not revoked, 1 revoked. */
static int
keygen_revoked(struct krlfx *f, struct cakey *ca, uint64_t serial)
{
	char certpath[ST_PATH], *out = NULL;
	const char *argv[] = { "ssh-keygen", "-Q", "-f", f->krl, certpath,
	    NULL };
	struct buf *cert = st_sign(ca, f->key, serial, "app@prod/api", 0,
	    UINT64_MAX);
	int rc;

	st_path(certpath, dir, "c-cert.pub");
	st_write_cert(certpath, cert);
	rc = st_run(argv, &out);
	cr_assert(rc == 0 || rc == 1, "ssh-keygen -Q: %d %s", rc, out);
	free(out);
	buf_free(cert);
	return rc == 1;
}

Test(krl, ssh_keygen_agrees_on_serials_and_ranges)
{
	/* singles, a pair, runs of 3 and 100, the top serial; shuffled. */
	static const uint64_t revoked[] = { 500, 5, 1, 7, 8, 9, 1000, 1001,
	    UINT64_MAX, 300, 301, 302 };
	static const struct { uint64_t serial; int revoked; } probe[] = {
		{ 1, 1 }, { 2, 0 }, { 4, 0 }, { 5, 1 }, { 6, 0 }, { 7, 1 },
		{ 8, 1 }, { 9, 1 }, { 10, 0 }, { 299, 0 }, { 300, 1 },
		{ 301, 1 }, { 302, 1 }, { 303, 0 }, { 499, 0 }, { 500, 1 },
		{ 501, 0 }, { 999, 0 }, { 1000, 1 }, { 1001, 1 }, { 1002, 0 },
		{ 10000, 1 }, { 10099, 1 }, { 9999, 0 }, { 10100, 0 },
		{ UINT64_MAX - 1, 0 }, { UINT64_MAX, 1 },
	};
	uint64_t all[sizeof(revoked) / sizeof(revoked[0]) + 100];
	struct krlfx f;
	struct krl_ca c;
	size_t i, n = 0;

	for (i = 0; i < sizeof(revoked) / sizeof(revoked[0]); i++)
		all[n++] = revoked[i];
	for (i = 0; i < 100; i++)
		all[n++] = 10099 - i;
	fx_init(&f);
	c.ca = cakey_public(f.ca);
	c.serials = all;
	c.nserials = n;
	write_krl(&f, &c, 1);
	for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		cr_assert_eq(keygen_revoked(&f, f.ca, probe[i].serial),
		    probe[i].revoked, "serial %llu",
		    (unsigned long long)probe[i].serial);
	fx_free(&f);
}

Test(krl, revocation_is_per_ca)
{
	static const uint64_t revoked[] = { 42 };
	struct krlfx f;
	struct cakey *other = NULL;
	struct krl_ca c;

	fx_init(&f);
	cr_assert_eq(cakey_generate(CAKEY_ECDSA_P256, 0, &other), 0);
	c.ca = cakey_public(f.ca);
	c.serials = revoked;
	c.nserials = 1;
	write_krl(&f, &c, 1);
	cr_assert_eq(keygen_revoked(&f, f.ca, 42), 1);
	cr_assert_eq(keygen_revoked(&f, other, 42), 0);
	cakey_free(other);
	fx_free(&f);
}

Test(krl, empty_krl_is_valid_and_revokes_nothing)
{
	struct krlfx f;
	struct krl_ca c;

	fx_init(&f);
	write_krl(&f, NULL, 0);
	cr_assert_eq(keygen_revoked(&f, f.ca, 1), 0);
	c.ca = cakey_public(f.ca);
	c.serials = NULL;
	c.nserials = 0;
	write_krl(&f, &c, 1);
	cr_assert_eq(keygen_revoked(&f, f.ca, 1), 0);
	fx_free(&f);
}

static size_t
krl_size(const struct sshkey *ca, const uint64_t *s, size_t n)
{
	struct krl_ca c = { ca, s, n };
	struct buf *krl = NULL;
	size_t len;

	cr_assert_eq(krl_build(&c, 1, 1, 0, NULL, &krl), 0);
	len = buf_len(krl);
	buf_free(krl);
	return len;
}

Test(krl, long_runs_become_ranges)
{
	static uint64_t run[100000];
	struct krlfx f;
	size_t i, base, one;

	fx_init(&f);
	for (i = 0; i < sizeof(run) / sizeof(run[0]); i++)
		run[i] = i + 1;
	base = krl_size(cakey_public(f.ca), NULL, 0);
	one = krl_size(cakey_public(f.ca), run, 1);
	/*
	 * One serial: a list section of 1 + 4 + 8 bytes.  100000 consecutive
	 * serials: one range section of 1 + 4 + 16 bytes instead.
	 */
	cr_assert_eq(krl_size(cakey_public(f.ca), run, 100000), one - 13 + 21,
	    "range not used");
	/* A pair stays in the list: 8 bytes more than one serial. */
	cr_assert_eq(krl_size(cakey_public(f.ca), run, 2) - one, 8);
	cr_assert(one > base);
	fx_free(&f);
}

Test(krl, refuses_serial_zero)
{
	static const uint64_t s[] = { 3, 0 };
	struct krlfx f;
	struct krl_ca c;
	struct buf *krl = (struct buf *)1;

	fx_init(&f);
	c.ca = cakey_public(f.ca);
	c.serials = s;
	c.nserials = 2;
	cr_assert_eq(krl_build(&c, 1, 1, 0, NULL, &krl),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_null(krl);
	fx_free(&f);
}

Test(krl, header_carries_version_date_and_comment)
{
	struct buf *krl = NULL;
	uint64_t magic, v, date, flags;
	uint32_t fmt;
	char *s = NULL;
	size_t l;

	cr_assert_eq(krl_build(NULL, 0, 12, 1700000000, "hello", &krl), 0);
	cr_assert_eq(buf_get_u64(krl, &magic), 0);
	cr_assert_eq(magic, 0x5353484b524c0a00ULL);
	cr_assert_eq(buf_get_u32(krl, &fmt), 0);
	cr_assert_eq(fmt, 1);
	cr_assert_eq(buf_get_u64(krl, &v), 0);
	cr_assert_eq(v, 12);
	cr_assert_eq(buf_get_u64(krl, &date), 0);
	cr_assert_eq(date, 1700000000);
	cr_assert_eq(buf_get_u64(krl, &flags), 0);
	cr_assert_eq(flags, 0);
	cr_assert_eq(buf_get_cstring(krl, &s, &l), 0);
	cr_assert_eq(l, 0);
	free(s);
	cr_assert_eq(buf_get_cstring(krl, &s, &l), 0);
	cr_assert_str_eq(s, "hello");
	free(s);
	cr_assert_eq(buf_len(krl), 0);
	buf_free(krl);
}
