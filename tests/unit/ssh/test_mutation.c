/*
 * Mutation: every truncation of a valid key blob is refused, every bit flip
 * and byte replacement gives a clean answer (a refusal with the key error
 * codes, or a key that re-encodes to exactly the mutant), and so does every
 * character flip of the authorized_keys line.  Run under ASan/valgrind to
 * make "clean" mean no memory error either.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

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

TestSuite(mutation, .init = setup, .fini = teardown);

static void
check_mutant(const uint8_t *m, size_t len)
{
	struct sshkey *k = NULL;
	const uint8_t *again;
	size_t alen;
	int r = sshkey_from_blob(m, len, &k);

	if (r == 0) {
		again = sshkey_blob(k, &alen);
		cr_assert(alen == len && memcmp(again, m, len) == 0);
		sshkey_free(k);
		return;
	}
	cr_assert_null(k);
	cr_assert(r == TSS_E_INVALID_PUBLIC_KEY || r == TSS_E_WEAK_KEY,
	    "unexpected %s", tss_errname(r));
}

static void
mutate_blob(const uint8_t *blob, size_t len)
{
	uint8_t *m = malloc(len);
	struct sshkey *k = NULL;
	size_t i, bit;
	int r;

	cr_assert_not_null(m);
	for (i = 0; i < len; i++) {
		/* Truncation: always refused. */
		memcpy(m, blob, i);
		r = sshkey_from_blob(m, i, &k);
		cr_assert_eq(r, TSS_E_INVALID_PUBLIC_KEY, "truncated at %zu: %s",
		    i, tss_errname(r));
		cr_assert_null(k);
	}
	for (i = 0; i < len; i++) {
		memcpy(m, blob, len);
		for (bit = 0; bit < 8; bit++) {
			m[i] = blob[i] ^ (uint8_t)(1u << bit);
			check_mutant(m, len);
		}
		m[i] = 0x00;
		check_mutant(m, len);
		m[i] = 0xff;
		check_mutant(m, len);
	}
	free(m);
}

static void
mutate_line(const char *line)
{
	static const char subst[] = { 'A', '/', '+', '=', ' ', '\t', '*', 0 };
	size_t len = strlen(line), i, j;
	char *m = malloc(len + 1);
	struct sshkey *k = NULL;
	int r;

	cr_assert_not_null(m);
	for (i = 0; i < len; i++) {
		for (j = 0; j < sizeof(subst); j++) {
			memcpy(m, line, len + 1);
			m[i] = subst[j];
			r = sshkey_parse_line(m, len, &k, NULL);
			if (r == 0) {
				sshkey_free(k);
				k = NULL;
				continue;
			}
			cr_assert_null(k);
			cr_assert(r == TSS_E_INVALID_PUBLIC_KEY ||
			    r == TSS_E_WEAK_KEY, "%s", tss_errname(r));
		}
		/* Truncated line. */
		r = sshkey_parse_line(line, i, &k, NULL);
		if (r == 0)
			sshkey_free(k);
		else
			cr_assert(r == TSS_E_INVALID_PUBLIC_KEY ||
			    r == TSS_E_WEAK_KEY);
		k = NULL;
	}
	free(m);
}

static void
mutate_generated(const char *type, int bits)
{
	char priv[ST_PATH], pub[ST_PATH], *line;
	uint8_t *blob;
	size_t len;

	st_keygen(dir, "m", type, bits, priv, pub);
	blob = st_pub_blob(pub, &len);
	mutate_blob(blob, len);
	line = st_slurp(pub, NULL);
	mutate_line(line);
	free(line);
	free(blob);
}

Test(mutation, ed25519_mutants_are_clean)
{
	mutate_generated("ed25519", 0);
}

Test(mutation, ecdsa_nistp256_mutants_are_clean)
{
	mutate_generated("ecdsa", 256);
}

Test(mutation, ecdsa_nistp384_mutants_are_clean)
{
	mutate_generated("ecdsa", 384);
}

Test(mutation, ecdsa_nistp521_mutants_are_clean)
{
	mutate_generated("ecdsa", 521);
}

Test(mutation, rsa_2048_mutants_are_clean)
{
	mutate_generated("rsa", 2048);
}

Test(mutation, sk_key_mutants_are_clean)
{
	char priv[ST_PATH], pub[ST_PATH];
	const uint8_t *name, *pk;
	size_t len, nlen, pklen;
	uint8_t *blob;
	struct buf *src, *b = buf_new();

	st_keygen(dir, "m", "ed25519", 0, priv, pub);
	blob = st_pub_blob(pub, &len);
	src = buf_from(blob, len);
	cr_assert_eq(buf_get_string_direct(src, &name, &nlen), 0);
	cr_assert_eq(buf_get_string_direct(src, &pk, &pklen), 0);
	cr_assert_eq(buf_put_cstring(b, "sk-ssh-ed25519@openssh.com"), 0);
	cr_assert_eq(buf_put_string(b, pk, pklen), 0);
	cr_assert_eq(buf_put_cstring(b, "ssh:"), 0);
	mutate_blob(buf_ptr(b), buf_len(b));
	buf_free(b);
	buf_free(src);
	free(blob);
}
