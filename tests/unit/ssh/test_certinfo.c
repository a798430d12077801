/*
 * certinfo: certificates made by `ssh-keygen -s` for every key type read
 * back field by field (serial, type, key ID, principals, validity,
 * force-command, the certified key's fingerprint), a host certificate,
 * one of cert_sign's, and the refusals: every truncation, trailing bytes,
 * a type that is not the blob's, a plain key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sshca/cakey.h"
#include "sshca/cert.h"
#include "sshca/certinfo.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "sshtest.h"
#include "tmpdir.h"

static char dir[ST_PATH], capriv[ST_PATH], capub[ST_PATH];

static void
setup(void)
{
	st_tmpdir(dir);
	st_keygen(dir, "ca", "ed25519", 0, capriv, capub);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(certinfo, .init = setup, .fini = teardown);

/* ssh-keygen -s ca over a fresh key of type; the cert file's blob. */
static uint8_t *
keygen_cert(const char *type, int bits, const char *const *opts,
    char fp[SSHKEY_FP_MAX], size_t *lenp)
{
	char priv[ST_PATH], pub[ST_PATH], certf[ST_PATH + 32], name[32];
	const char *argv[24] = { "ssh-keygen", "-q", "-s", capriv };
	char *out = NULL;
	size_t n = 4;
	int rc;

	snprintf(name, sizeof(name), "%s%d", type, bits);
	st_keygen(dir, name, type, bits, priv, pub);
	for (; *opts != NULL; opts++)
		argv[n++] = *opts;
	argv[n++] = pub;
	argv[n] = NULL;
	rc = st_run(argv, &out);
	cr_assert_eq(rc, 0, "ssh-keygen -s: %s", out ? out : "");
	free(out);
	st_keygen_fp(pub, fp, SSHKEY_FP_MAX);
	cr_assert_lt((size_t)snprintf(certf, sizeof(certf), "%s/%s-cert.pub",
	    dir, name), sizeof(certf));
	return st_pub_blob(certf, lenp);
}

static const char *user_opts[] = { "-I", "alice:42", "-z", "42", "-n",
    "root@demo/app,nobody@demo/app", "-V", "20240101:20250101",
    "-O", "force-command=id -un; exit 3",
    "-O", "source-address=127.0.0.1/32", NULL };

Test(certinfo, every_key_type)
{
	static const struct { const char *type; int bits;
	    const char *name; } types[] = {
		{ "ed25519", 0, "ssh-ed25519" },
		{ "ecdsa", 256, "ecdsa-sha2-nistp256" },
		{ "ecdsa", 384, "ecdsa-sha2-nistp384" },
		{ "ecdsa", 521, "ecdsa-sha2-nistp521" },
		{ "rsa", 2048, "ssh-rsa" },
	};
	char fp[SSHKEY_FP_MAX];
	struct certinfo *ci;
	uint8_t *blob;
	size_t i, len;
	int r;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		blob = keygen_cert(types[i].type, types[i].bits, user_opts, fp,
		    &len);
		r = certinfo_parse(blob, len, &ci);
		cr_assert_eq(r, 0, "%s: %s", types[i].type, tss_errname(r));
		cr_assert_eq(ci->type, CERTINFO_USER);
		cr_assert_eq(ci->serial, 42);
		cr_assert_str_eq(ci->key_id, "alice:42");
		cr_assert_eq(ci->nprincipals, 2);
		cr_assert_str_eq(ci->principals[0], "root@demo/app");
		cr_assert_str_eq(ci->principals[1], "nobody@demo/app");
		cr_assert_str_eq(ci->force_command, "id -un; exit 3");
		cr_assert_str_eq(ci->fingerprint, fp);
		cr_assert_str_eq(sshkey_type_name(ci->key), types[i].name);
		cr_assert_lt(ci->valid_after, ci->valid_before);
		certinfo_free(ci);
		free(blob);
	}
}

Test(certinfo, sk_key_and_no_force_command)
{
	const char *opts[] = { "-I", "k", "-n", "app@prod/api", NULL };
	char pub[ST_PATH], certf[ST_PATH + 16];
	const char *argv[] = { "ssh-keygen", "-q", "-s", capriv, "-I", "sk",
	    "-n", "app@prod/api", pub, NULL };
	char fp[SSHKEY_FP_MAX], *out = NULL;
	struct certinfo *ci;
	uint8_t *blob;
	size_t len;

	blob = keygen_cert("ed25519", 0, opts, fp, &len);
	cr_assert_eq(certinfo_parse(blob, len, &ci), 0);
	cr_assert_null(ci->force_command);
	cr_assert_eq(ci->nprincipals, 1);
	certinfo_free(ci);
	free(blob);

	st_sk_pub(dir, 0, pub);
	cr_assert_eq(st_run(argv, &out), 0, "%s", out ? out : "");
	free(out);
	cr_assert_lt((size_t)snprintf(certf, sizeof(certf), "%.*s-cert.pub",
	    (int)(strlen(pub) - 4), pub), sizeof(certf));
	blob = st_pub_blob(certf, &len);
	cr_assert_eq(certinfo_parse(blob, len, &ci), 0);
	cr_assert_str_eq(ci->principals[0], "app@prod/api");
	certinfo_free(ci);
	free(blob);
}

Test(certinfo, host_certificate)
{
	const char *opts[] = { "-h", "-I", "host:demo:9", "-z", "9", "-n",
	    "api.internal,10.0.0.5", NULL };
	char fp[SSHKEY_FP_MAX];
	struct certinfo *ci;
	uint8_t *blob;
	size_t len;

	blob = keygen_cert("ed25519", 0, opts, fp, &len);
	cr_assert_eq(certinfo_parse(blob, len, &ci), 0);
	cr_assert_eq(ci->type, CERTINFO_HOST);
	cr_assert_eq(ci->serial, 9);
	cr_assert_str_eq(ci->principals[1], "10.0.0.5");
	certinfo_free(ci);
	free(blob);
}

Test(certinfo, ours_and_text_form)
{
	char priv[ST_PATH], pub[ST_PATH], *b64 = NULL;
	struct cakey *ca = NULL;
	struct sshkey *key;
	struct certinfo *ci;
	struct buf *cert;

	cr_assert_eq(cakey_load(capriv, &ca), 0);
	st_keygen(dir, "u", "ed25519", 0, priv, pub);
	key = st_load_pub(pub);
	cert = st_sign(ca, key, 77, "app@prod/api", 1000, 2000);
	cr_assert_eq(b64_encode(buf_ptr(cert), buf_len(cert), &b64), 0);
	cr_assert_eq(certinfo_from_text("ssh-ed25519-cert-v01@openssh.com",
	    b64, &ci), 0);
	cr_assert_eq(ci->serial, 77);
	cr_assert_str_eq(ci->key_id, "alice:77");
	cr_assert_eq(ci->valid_after, 1000);
	cr_assert_eq(ci->valid_before, 2000);
	cr_assert(sshkey_equal(ci->key, key));
	certinfo_free(ci);
	/* The type given must be the blob's own. */
	cr_assert_eq(certinfo_from_text("ssh-rsa-cert-v01@openssh.com", b64,
	    &ci), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_null(ci);
	cr_assert_eq(certinfo_from_text("ssh-ed25519-cert-v01@openssh.com",
	    "not base64!", &ci), TSS_E_INVALID_PUBLIC_KEY);
	free(b64);
	buf_free(cert);
	sshkey_free(key);
	cakey_free(ca);
}

Test(certinfo, truncated_trailing_and_plain_refused)
{
	char fp[SSHKEY_FP_MAX], priv[ST_PATH], pub[ST_PATH];
	struct certinfo *ci = NULL;
	uint8_t *blob, *longer, *plain;
	size_t len, n, plen;

	blob = keygen_cert("ed25519", 0, user_opts, fp, &len);
	for (n = 0; n < len; n++) {
		cr_assert_eq(certinfo_parse(blob, n, &ci),
		    TSS_E_INVALID_PUBLIC_KEY, "prefix of %zu bytes", n);
		cr_assert_null(ci);
	}
	longer = malloc(len + 1);
	cr_assert_not_null(longer);
	memcpy(longer, blob, len);
	longer[len] = 0;
	cr_assert_eq(certinfo_parse(longer, len + 1, &ci),
	    TSS_E_INVALID_PUBLIC_KEY);
	st_keygen(dir, "plain", "ed25519", 0, priv, pub);
	plain = st_pub_blob(pub, &plen);
	cr_assert_eq(certinfo_parse(plain, plen, &ci),
	    TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(certinfo_parse(NULL, 0, &ci), TSS_E_INVALID_ARGUMENT);
	certinfo_free(NULL);
	free(plain);
	free(longer);
	free(blob);
}

/* Any single flipped byte: refused or read, never a crash or a leak
 * (no signature check here: sshd has made it before us). */
Test(certinfo, mutants_never_crash)
{
	char fp[SSHKEY_FP_MAX];
	struct certinfo *ci;
	uint8_t *blob;
	size_t len, i;
	int r;

	blob = keygen_cert("ecdsa", 256, user_opts, fp, &len);
	for (i = 0; i < len; i++) {
		blob[i] ^= 0x80;
		r = certinfo_parse(blob, len, &ci);
		cr_assert(r == 0 || r == TSS_E_INVALID_PUBLIC_KEY,
		    "byte %zu: %s", i, tss_errname(r));
		certinfo_free(ci);
		blob[i] ^= 0x80;
	}
	free(blob);
}
