/* sshkey: accepted key types against ssh-keygen, and every refused case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/rand.h>

#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/enc.h"
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

TestSuite(sshkey, .init = setup, .fini = teardown);

/* Parse the line, compare fingerprint with ssh-keygen, round-trip it. */
static struct sshkey *
check_line_file(const char *pub, enum sshkey_type type, unsigned int bits)
{
	char fp[SSHKEY_FP_MAX], want[SSHKEY_FP_MAX], *line, *comment = NULL;
	char *again = NULL;
	struct sshkey *k = NULL;
	size_t len = 0, tl;
	int r;

	line = st_slurp(pub, &len);
	cr_assert_not_null(line);
	r = sshkey_parse_line(line, len, &k, &comment);
	cr_assert_eq(r, 0, "%s: %s", pub, tss_errname(r));
	cr_assert_eq(sshkey_type(k), type);
	cr_assert_eq(sshkey_bits(k), bits, "bits %u want %u",
	    sshkey_bits(k), bits);
	cr_assert_eq(sshkey_fingerprint(k, fp), 0);
	st_keygen_fp(pub, want, sizeof(want));
	cr_assert_str_eq(fp, want);
	/* Re-encoding gives the same "type base64 comment" line. */
	cr_assert_eq(sshkey_to_line(k, comment, &again), 0);
	tl = strlen(again);
	cr_assert(len >= tl && memcmp(line, again, tl) == 0,
	    "%s\nvs\n%s", line, again);
	free(again);
	free(comment);
	free(line);
	return k;
}

static void
check_generated(const char *type, int kbits, enum sshkey_type want,
    unsigned int bits)
{
	char priv[ST_PATH], pub[ST_PATH];

	st_keygen(dir, "user", type, kbits, priv, pub);
	sshkey_free(check_line_file(pub, want, bits));
}

Test(sshkey, accepts_ed25519_as_ssh_keygen_prints_it)
{
	check_generated("ed25519", 0, SSHKEY_ED25519, 256);
}

Test(sshkey, accepts_ecdsa_nistp256)
{
	check_generated("ecdsa", 256, SSHKEY_ECDSA_P256, 256);
}

Test(sshkey, accepts_ecdsa_nistp384)
{
	check_generated("ecdsa", 384, SSHKEY_ECDSA_P384, 384);
}

Test(sshkey, accepts_ecdsa_nistp521)
{
	check_generated("ecdsa", 521, SSHKEY_ECDSA_P521, 521);
}

Test(sshkey, accepts_rsa_2048)
{
	check_generated("rsa", 2048, SSHKEY_RSA, 2048);
}

/* Write "<name> <b64(blob)> comment" into dir/file. */
static void
write_line(const char *file, const char *name, const struct buf *blob,
    char path[ST_PATH])
{
	char *b64 = NULL, line[65536];
	int n;

	cr_assert_eq(b64_encode(buf_ptr(blob), buf_len(blob), &b64), 0);
	n = snprintf(line, sizeof(line), "%s %s crafted\n", name, b64);
	cr_assert(n > 0 && (size_t)n < sizeof(line));
	st_path(path, dir, file);
	st_write(path, line, (size_t)n, 0644);
	free(b64);
}

/* Fields of an ssh-keygen key after its type name, as a view. */
static struct buf *
generated_body(const char *type, int bits, uint8_t **blobp,
    size_t *lenp)
{
	char priv[ST_PATH], pub[ST_PATH];
	const uint8_t *name;
	size_t namelen;
	struct buf *b;

	st_keygen(dir, "base", type, bits, priv, pub);
	*blobp = st_pub_blob(pub, lenp);
	b = buf_from(*blobp, *lenp);
	cr_assert_not_null(b);
	cr_assert_eq(buf_get_string_direct(b, &name, &namelen), 0);
	return b;
}

Test(sshkey, accepts_sk_ed25519_with_application)
{
	const uint8_t *pk;
	uint8_t *blob;
	size_t len, pklen;
	struct buf *src = generated_body("ed25519", 0, &blob, &len);
	struct buf *b = buf_new();
	char path[ST_PATH];
	struct sshkey *k;

	cr_assert_eq(buf_get_string_direct(src, &pk, &pklen), 0);
	cr_assert_eq(buf_put_cstring(b, "sk-ssh-ed25519@openssh.com"), 0);
	cr_assert_eq(buf_put_string(b, pk, pklen), 0);
	cr_assert_eq(buf_put_cstring(b, "ssh:"), 0);
	write_line("sk.pub", "sk-ssh-ed25519@openssh.com", b, path);
	k = check_line_file(path, SSHKEY_SK_ED25519, 256);
	cr_assert_str_eq(sshkey_sk_application(k), "ssh:");
	cr_assert_str_eq(sshkey_cert_type_name(k),
	    "sk-ssh-ed25519-cert-v01@openssh.com");
	sshkey_free(k);
	buf_free(b);
	buf_free(src);
	free(blob);
}

Test(sshkey, accepts_sk_ecdsa_nistp256_with_application)
{
	const uint8_t *curve, *q;
	uint8_t *blob;
	size_t len, clen, qlen;
	struct buf *src = generated_body("ecdsa", 256, &blob, &len);
	struct buf *b = buf_new();
	char path[ST_PATH];
	struct sshkey *k;

	cr_assert_eq(buf_get_string_direct(src, &curve, &clen), 0);
	cr_assert_eq(buf_get_string_direct(src, &q, &qlen), 0);
	cr_assert_eq(buf_put_cstring(b, "sk-ecdsa-sha2-nistp256@openssh.com"), 0);
	cr_assert_eq(buf_put_string(b, curve, clen), 0);
	cr_assert_eq(buf_put_string(b, q, qlen), 0);
	cr_assert_eq(buf_put_cstring(b, "ssh:tessera"), 0);
	write_line("sk.pub", "sk-ecdsa-sha2-nistp256@openssh.com", b, path);
	k = check_line_file(path, SSHKEY_SK_ECDSA_P256, 256);
	cr_assert_str_eq(sshkey_sk_application(k), "ssh:tessera");
	sshkey_free(k);
	buf_free(b);
	buf_free(src);
	free(blob);
}

/* An RSA public blob with a random odd modulus of nbits and exponent e. */
static struct buf *
rsa_blob(unsigned int nbits, const uint8_t *e, size_t elen)
{
	size_t nlen = (nbits + 7) / 8;
	uint8_t *n = malloc(nlen);
	struct buf *b = buf_new();

	cr_assert_not_null(n);
	cr_assert_eq(RAND_bytes(n, (int)nlen), 1);
	n[0] &= (uint8_t)(0xff >> ((8 - nbits % 8) % 8));
	n[0] |= (uint8_t)(1 << ((nbits - 1) % 8));
	n[nlen - 1] |= 1;
	cr_assert_eq(buf_put_cstring(b, "ssh-rsa"), 0);
	cr_assert_eq(buf_put_bignum2_bytes(b, e, elen), 0);
	cr_assert_eq(buf_put_bignum2_bytes(b, n, nlen), 0);
	free(n);
	return b;
}

static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };

static int
parse_blob(const struct buf *b)
{
	struct sshkey *k = NULL;
	int r = sshkey_from_blob(buf_ptr(b), buf_len(b), &k);

	if (r != 0)
		cr_assert_null(k);
	sshkey_free(k);
	return r;
}

Test(sshkey, accepts_rsa_16384_crafted)
{
	struct buf *b = rsa_blob(16384, e65537, sizeof(e65537));
	char path[ST_PATH];

	/* No 16384-bit key generation in tests: the parser checks shape. */
	write_line("big.pub", "ssh-rsa", b, path);
	sshkey_free(check_line_file(path, SSHKEY_RSA, 16384));
	buf_free(b);
}

Test(sshkey, refuses_rsa_over_16384_bits)
{
	struct buf *b = rsa_blob(16385, e65537, sizeof(e65537));

	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, refuses_rsa_2047_bits_as_weak)
{
	struct buf *b = rsa_blob(2047, e65537, sizeof(e65537));

	cr_assert_eq(parse_blob(b), TSS_E_WEAK_KEY);
	buf_free(b);
}

Test(sshkey, refuses_rsa_1023_bits_as_weak)
{
	struct buf *b = rsa_blob(1023, e65537, sizeof(e65537));

	cr_assert_eq(parse_blob(b), TSS_E_WEAK_KEY);
	buf_free(b);
}

Test(sshkey, refuses_rsa_even_exponent)
{
	static const uint8_t e[] = { 0x01, 0x00, 0x02 };
	struct buf *b = rsa_blob(2048, e, sizeof(e));

	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, refuses_rsa_exponent_one_as_weak)
{
	static const uint8_t e[] = { 0x01 };
	struct buf *b = rsa_blob(2048, e, sizeof(e));

	cr_assert_eq(parse_blob(b), TSS_E_WEAK_KEY);
	buf_free(b);
}

Test(sshkey, refuses_rsa_exponent_over_64_bits)
{
	uint8_t e[9] = { 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01 };
	struct buf *b = rsa_blob(2048, e, sizeof(e));

	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

static int
parse_text(const char *line)
{
	struct sshkey *k = NULL;
	char *comment = NULL;
	int r = sshkey_parse_line(line, strlen(line), &k, &comment);

	if (r != 0) {
		cr_assert_null(k);
		cr_assert_null(comment);
	}
	sshkey_free(k);
	free(comment);
	return r;
}

/* "type b64(blob)" for a blob built in b. */
static char *
line_for(const char *type, const struct buf *b, const char *tail)
{
	char *b64 = NULL, *line;
	size_t need;

	cr_assert_eq(b64_encode(buf_ptr(b), buf_len(b), &b64), 0);
	need = strlen(type) + strlen(b64) + strlen(tail) + 3;
	line = malloc(need);
	cr_assert_not_null(line);
	snprintf(line, need, "%s %s%s", type, b64, tail);
	free(b64);
	return line;
}

static struct buf *
ed25519_blob(const char *name)
{
	uint8_t pk[32];
	struct buf *b = buf_new();

	cr_assert_eq(RAND_bytes(pk, sizeof(pk)), 1);
	cr_assert_eq(buf_put_cstring(b, name), 0);
	cr_assert_eq(buf_put_string(b, pk, sizeof(pk)), 0);
	return b;
}

Test(sshkey, refuses_ssh_dss_as_weak)
{
	struct buf *b = buf_new();
	uint8_t v[20] = { 1 };
	char *line;

	buf_put_cstring(b, "ssh-dss");
	buf_put_bignum2_bytes(b, v, sizeof(v));
	buf_put_bignum2_bytes(b, v, sizeof(v));
	buf_put_bignum2_bytes(b, v, sizeof(v));
	buf_put_bignum2_bytes(b, v, sizeof(v));
	line = line_for("ssh-dss", b, "");
	cr_assert_eq(parse_text(line), TSS_E_WEAK_KEY);
	cr_assert_eq(parse_blob(b), TSS_E_WEAK_KEY);
	free(line);
	buf_free(b);
}

Test(sshkey, refuses_certificate_offered_as_key)
{
	char ca[ST_PATH], capub[ST_PATH], u[ST_PATH], upub[ST_PATH];
	char certpath[ST_PATH], *line;
	const char *argv[] = { "ssh-keygen", "-q", "-s", ca, "-I", "id",
	    "-n", "p", upub, NULL };
	uint8_t *blob;
	size_t len;
	struct buf *b;
	char *ed_line;

	st_keygen(dir, "ca", "ed25519", 0, ca, capub);
	st_keygen(dir, "u", "ed25519", 0, u, upub);
	cr_assert_eq(st_run(argv, NULL), 0);
	st_path(certpath, dir, "u-cert.pub");
	line = st_slurp(certpath, NULL);
	cr_assert_eq(parse_text(line), TSS_E_WEAK_KEY);
	/* The same blob under a plain key type name. */
	blob = st_pub_blob(certpath, &len);
	b = buf_from(blob, len);
	ed_line = line_for("ssh-ed25519", b, "");
	cr_assert_eq(parse_text(ed_line), TSS_E_WEAK_KEY);
	cr_assert_eq(parse_blob(b), TSS_E_WEAK_KEY);
	free(ed_line);
	buf_free(b);
	free(blob);
	free(line);
}

Test(sshkey, refuses_line_type_differing_from_blob_type)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	char *line = line_for("ecdsa-sha2-nistp256", b, "");

	cr_assert_eq(parse_text(line), TSS_E_INVALID_PUBLIC_KEY);
	free(line);
	buf_free(b);
}

Test(sshkey, refuses_trailing_bytes_in_blob)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	char *line;

	buf_put_u8(b, 0);
	line = line_for("ssh-ed25519", b, "");
	cr_assert_eq(parse_text(line), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	free(line);
	buf_free(b);
}

Test(sshkey, refuses_inner_length_past_end)
{
	struct buf *b = buf_new();
	uint8_t pk[32] = { 0 };
	char *line;

	buf_put_cstring(b, "ssh-ed25519");
	buf_put_u32(b, 64);		/* claims 64 bytes, has 32 */
	buf_put(b, pk, sizeof(pk));
	line = line_for("ssh-ed25519", b, "");
	cr_assert_eq(parse_text(line), TSS_E_INVALID_PUBLIC_KEY);
	free(line);
	buf_free(b);
}

Test(sshkey, refuses_wrong_ed25519_length)
{
	struct buf *b = buf_new();
	uint8_t pk[31] = { 0 };

	buf_put_cstring(b, "ssh-ed25519");
	buf_put_string(b, pk, sizeof(pk));
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, refuses_bad_base64)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	char *line = line_for("ssh-ed25519", b, "");
	char *p = strchr(line, ' ') + 5;

	*p = '*';
	cr_assert_eq(parse_text(line), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"),
	    TSS_E_INVALID_PUBLIC_KEY);
	free(line);
	buf_free(b);
}

Test(sshkey, refuses_oversized_line)
{
	size_t len = SSHKEY_LINE_MAX + 1;
	char *line = malloc(len + 1);
	struct sshkey *k = NULL;

	memset(line, 'A', len);
	memcpy(line, "ssh-rsa ", 8);
	line[len] = '\0';
	cr_assert_eq(sshkey_parse_line(line, len, &k, NULL),
	    TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_null(k);
	free(line);
}

Test(sshkey, refuses_unknown_type)
{
	struct buf *b = ed25519_blob("ssh-foo");
	char *line = line_for("ssh-foo", b, "");

	cr_assert_eq(parse_text(line), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	free(line);
	buf_free(b);
}

Test(sshkey, refuses_empty_and_one_field_lines)
{
	cr_assert_eq(parse_text(""), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_text("ssh-ed25519"), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_text("   \n"), TSS_E_INVALID_PUBLIC_KEY);
}

Test(sshkey, refuses_key_options_and_control_bytes)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	char *opt = line_for("command=\"x\" ssh-ed25519", b, "");
	char *nl = line_for("ssh-ed25519", b, " a\nb");
	char *bell = line_for("ssh-ed25519", b, " a\ab");

	cr_assert_eq(parse_text(opt), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_text(nl), TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_eq(parse_text(bell), TSS_E_INVALID_PUBLIC_KEY);
	free(opt);
	free(nl);
	free(bell);
	buf_free(b);
}

Test(sshkey, refuses_embedded_nul_in_line)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	char *line = line_for("ssh-ed25519", b, " ab");
	struct sshkey *k = NULL;
	size_t len = strlen(line);

	line[len - 1] = '\0';	/* "a\0" inside the given length */
	cr_assert_eq(sshkey_parse_line(line, len, &k, NULL),
	    TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_null(k);
	free(line);
	buf_free(b);
}

Test(sshkey, keeps_comment_and_accepts_crlf)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	char *line = line_for("ssh-ed25519", b, "  alice@laptop  work \r\n");
	struct sshkey *k = NULL;
	char *comment = NULL;

	cr_assert_eq(sshkey_parse_line(line, strlen(line), &k, &comment), 0);
	cr_assert_str_eq(comment, "alice@laptop  work");
	sshkey_free(k);
	free(comment);
	free(line);
	buf_free(b);
}

/* ECDSA P-256 blob pieces from a generated key. */
static void
ecdsa_parts(uint8_t q[65])
{
	const uint8_t *curve, *qp;
	uint8_t *blob;
	size_t len, clen, qlen;
	struct buf *src = generated_body("ecdsa", 256, &blob, &len);

	cr_assert_eq(buf_get_string_direct(src, &curve, &clen), 0);
	cr_assert_eq(buf_get_string_direct(src, &qp, &qlen), 0);
	cr_assert_eq(qlen, 65);
	memcpy(q, qp, 65);
	buf_free(src);
	free(blob);
}

static struct buf *
ecdsa_blob(const char *name, const char *curve, const uint8_t *q, size_t qlen)
{
	struct buf *b = buf_new();

	buf_put_cstring(b, name);
	buf_put_cstring(b, curve);
	buf_put_string(b, q, qlen);
	return b;
}

Test(sshkey, refuses_ecdsa_point_off_the_curve)
{
	uint8_t q[65];
	struct buf *b;

	ecdsa_parts(q);
	q[64] ^= 0x01;
	b = ecdsa_blob("ecdsa-sha2-nistp256", "nistp256", q, sizeof(q));
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, refuses_ecdsa_curve_not_matching_name)
{
	uint8_t q[65];
	struct buf *b;

	ecdsa_parts(q);
	b = ecdsa_blob("ecdsa-sha2-nistp256", "nistp384", q, sizeof(q));
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
	b = ecdsa_blob("ecdsa-sha2-nistp384", "nistp384", q, sizeof(q));
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, refuses_ecdsa_compressed_point_and_infinity)
{
	uint8_t q[65], zero = 0;
	struct buf *b;

	ecdsa_parts(q);
	q[0] = 0x02 | (q[64] & 1);
	b = ecdsa_blob("ecdsa-sha2-nistp256", "nistp256", q, 33);
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
	b = ecdsa_blob("ecdsa-sha2-nistp256", "nistp256", &zero, 1);
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, refuses_sk_key_without_application)
{
	uint8_t pk[32] = { 1 };
	struct buf *b = buf_new();

	buf_put_cstring(b, "sk-ssh-ed25519@openssh.com");
	buf_put_string(b, pk, sizeof(pk));
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_put_cstring(b, "");
	cr_assert_eq(parse_blob(b), TSS_E_INVALID_PUBLIC_KEY);
	buf_free(b);
}

Test(sshkey, to_line_refuses_control_bytes_in_comment)
{
	struct buf *b = ed25519_blob("ssh-ed25519");
	struct sshkey *k = NULL;
	char *line = (char *)"untouched";

	cr_assert_eq(sshkey_from_blob(buf_ptr(b), buf_len(b), &k), 0);
	cr_assert_eq(sshkey_to_line(k, "a\nb", &line), TSS_E_INVALID_ARGUMENT);
	cr_assert_null(line);
	sshkey_free(k);
	buf_free(b);
}
