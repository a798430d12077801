/* cakey: generation, key files both ways with ssh-keygen, permissions. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sshca/cakey.h"
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

TestSuite(cakey, .init = setup, .fini = teardown);

/* `ssh-keygen -y -f path` must print our public line (type and base64). */
static void
check_keygen_reads(const struct cakey *ca, const char *path)
{
	const char *argv[] = { "ssh-keygen", "-y", "-f", path, NULL };
	char *out = NULL, *ours = NULL;
	int rc;

	cr_assert_eq(sshkey_to_line(cakey_public(ca), NULL, &ours), 0);
	rc = st_run(argv, &out);
	cr_assert_eq(rc, 0, "ssh-keygen -y: %s", out);
	cr_assert(strncmp(out, ours, strlen(ours)) == 0, "%s\nvs\n%s", out,
	    ours);
	free(out);
	free(ours);
}

static void
save_load(enum cakey_alg alg, enum cakey_format fmt, const char *file,
    const char *want_type)
{
	struct cakey *ca = NULL, *back = NULL;
	char path[ST_PATH];
	struct stat st;
	int r;

	r = cakey_generate(alg, 0, &ca);
	cr_assert_eq(r, 0, "%s", tss_errname(r));
	cr_assert_eq(cakey_alg(ca), alg);
	cr_assert_str_eq(sshkey_type_name(cakey_public(ca)), want_type);
	st_path(path, dir, file);
	r = cakey_save(ca, path, fmt, "tessera-ca");
	cr_assert_eq(r, 0, "%s", tss_errname(r));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	r = cakey_load(path, &back);
	cr_assert_eq(r, 0, "%s", tss_errname(r));
	cr_assert(sshkey_equal(cakey_public(ca), cakey_public(back)));
	if (fmt == CAKEY_FORMAT_OPENSSH || alg != CAKEY_ED25519)
		check_keygen_reads(ca, path);
	cakey_free(back);
	cakey_free(ca);
}

Test(cakey, ed25519_openssh_file_round_trips_and_ssh_keygen_reads_it)
{
	save_load(CAKEY_ED25519, CAKEY_FORMAT_OPENSSH, "ca", "ssh-ed25519");
}

Test(cakey, ecdsa_openssh_file_round_trips_and_ssh_keygen_reads_it)
{
	save_load(CAKEY_ECDSA_P256, CAKEY_FORMAT_OPENSSH, "ca",
	    "ecdsa-sha2-nistp256");
}

Test(cakey, rsa_openssh_file_round_trips_and_ssh_keygen_reads_it)
{
	save_load(CAKEY_RSA, CAKEY_FORMAT_OPENSSH, "ca", "ssh-rsa");
}

Test(cakey, ed25519_pem_file_round_trips)
{
	save_load(CAKEY_ED25519, CAKEY_FORMAT_PEM, "ca.pem", "ssh-ed25519");
}

Test(cakey, ecdsa_pem_file_round_trips_and_ssh_keygen_reads_it)
{
	save_load(CAKEY_ECDSA_P256, CAKEY_FORMAT_PEM, "ca.pem",
	    "ecdsa-sha2-nistp256");
}

Test(cakey, rsa_generation_refuses_under_3072_bits)
{
	struct cakey *ca = NULL;

	cr_assert_eq(cakey_generate(CAKEY_RSA, 2048, &ca), TSS_E_WEAK_KEY);
	cr_assert_null(ca);
}

static void
load_keygen_key(const char *type, int bits, const char *pkcs8, int want)
{
	char priv[ST_PATH], pub[ST_PATH];
	struct cakey *ca = NULL;
	struct sshkey *k;
	int r;

	if (pkcs8 != NULL) {
		const char *argv[] = { "ssh-keygen", "-q", "-t", type, "-b",
		    pkcs8, "-m", "PKCS8", "-N", "", "-f", priv, NULL };
		char *out = NULL;

		st_path(priv, dir, "k");
		st_path(pub, dir, "k.pub");
		cr_assert_eq(st_run(argv, &out), 0, "%s", out);
		free(out);
	} else
		st_keygen(dir, "k", type, bits, priv, pub);
	r = cakey_load(priv, &ca);
	cr_assert_eq(r, want, "%s %d: %s", type, bits, tss_errname(r));
	if (want != 0) {
		cr_assert_null(ca);
		return;
	}
	k = st_load_pub(pub);
	cr_assert(sshkey_equal(k, cakey_public(ca)));
	sshkey_free(k);
	cakey_free(ca);
}

Test(cakey, loads_ssh_keygen_ed25519_key)
{
	load_keygen_key("ed25519", 0, NULL, 0);
}

Test(cakey, loads_ssh_keygen_ecdsa_key)
{
	load_keygen_key("ecdsa", 256, NULL, 0);
}

Test(cakey, loads_ssh_keygen_rsa_3072_key)
{
	load_keygen_key("rsa", 3072, NULL, 0);
}

Test(cakey, loads_ssh_keygen_pkcs8_ecdsa_key)
{
	load_keygen_key("ecdsa", 0, "256", 0);
}

Test(cakey, refuses_rsa_2048_ca_as_weak)
{
	load_keygen_key("rsa", 2048, NULL, TSS_E_WEAK_KEY);
}

Test(cakey, refuses_ecdsa_nistp384_ca)
{
	load_keygen_key("ecdsa", 384, NULL, TSS_E_UNSUPPORTED);
}

Test(cakey, refuses_encrypted_key)
{
	char priv[ST_PATH];
	const char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N",
	    "secret-passphrase", "-f", priv, NULL };
	struct cakey *ca = NULL;

	st_path(priv, dir, "enc");
	cr_assert_eq(st_run(argv, NULL), 0);
	cr_assert_eq(cakey_load(priv, &ca), TSS_E_UNSUPPORTED);
	cr_assert_null(ca);
}

Test(cakey, refuses_group_or_other_accessible_file)
{
	struct cakey *ca = NULL, *back = NULL;
	char path[ST_PATH];
	static const mode_t modes[] = { 0640, 0604, 0620, 0602, 0660 };
	size_t i;

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	st_path(path, dir, "ca");
	cr_assert_eq(cakey_save(ca, path, CAKEY_FORMAT_OPENSSH, NULL), 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		cr_assert_eq(chmod(path, modes[i]), 0);
		cr_assert_eq(cakey_load(path, &back), TSS_E_KEY_PERMS,
		    "mode %o", (unsigned)modes[i]);
		cr_assert_null(back);
	}
	cr_assert_eq(chmod(path, 0400), 0);
	cr_assert_eq(cakey_load(path, &back), 0);
	cakey_free(back);
	cakey_free(ca);
}

Test(cakey, save_never_overwrites)
{
	struct cakey *ca = NULL;
	char path[ST_PATH], *before, *after;

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	st_path(path, dir, "ca");
	st_write(path, "keep me\n", 8, 0600);
	before = st_slurp(path, NULL);
	cr_assert_eq(cakey_save(ca, path, CAKEY_FORMAT_OPENSSH, NULL),
	    TSS_E_CONFLICT);
	after = st_slurp(path, NULL);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	cakey_free(ca);
}

Test(cakey, load_missing_file_is_not_found)
{
	struct cakey *ca = NULL;
	char path[ST_PATH];

	st_path(path, dir, "absent");
	cr_assert_eq(cakey_load(path, &ca), TSS_E_NOT_FOUND);
	cr_assert_null(ca);
}

Test(cakey, refuses_corrupt_openssh_key)
{
	struct cakey *ca = NULL, *back = NULL;
	char path[ST_PATH], *text;
	size_t len, cut;

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	st_path(path, dir, "ca");
	cr_assert_eq(cakey_save(ca, path, CAKEY_FORMAT_OPENSSH, NULL), 0);
	text = st_slurp(path, &len);
	/* Every truncation of the text is refused cleanly. */
	for (cut = 0; cut < len - 1; cut++) {
		int r = cakey_parse(text, cut, &back);

		cr_assert_neq(r, 0, "truncated at %zu accepted", cut);
		cr_assert_null(back);
	}
	/* A flipped base64 character in the private section. */
	text[len - 60] = text[len - 60] == 'A' ? 'B' : 'A';
	cr_assert_neq(cakey_parse(text, len, &back), 0);
	cr_assert_null(back);
	cr_assert_eq(cakey_parse("garbage", 7, &back), TSS_E_BAD_FORMAT);
	free(text);
	cakey_free(ca);
}

Test(cakey, ed25519_signature_blob_has_ssh_wire_shape)
{
	struct cakey *ca = NULL;
	struct buf *sig = buf_new();
	const uint8_t *name, *s;
	size_t nlen, slen;

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	cr_assert_str_eq(cakey_sig_alg(ca), "ssh-ed25519");
	cr_assert_eq(cakey_sign(ca, "hello", 5, sig), 0);
	cr_assert_eq(buf_get_string_direct(sig, &name, &nlen), 0);
	cr_assert(nlen == 11 && memcmp(name, "ssh-ed25519", 11) == 0);
	cr_assert_eq(buf_get_string_direct(sig, &s, &slen), 0);
	cr_assert_eq(slen, 64);
	cr_assert_eq(buf_len(sig), 0);
	buf_free(sig);
	cakey_free(ca);
}
