/* AES-256-GCM boxes and the master key file. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "auth/secretbox.h"
#include "tmpdir.h"

static char dir[4096];

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(auth_secretbox, .init = setup, .fini = teardown);

static void
path(char *out, size_t len, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	cr_assert(n > 0 && (size_t)n < len);
}

Test(auth_secretbox, seal_open_roundtrip)
{
	uint8_t key[32], *box = NULL, *pt = NULL;
	size_t bl = 0, pl = 0;

	cr_assert_eq(RAND_bytes(key, sizeof(key)), 1);
	cr_assert_eq(secretbox_seal(key, "alice", 5, "0123456789abcdefghij",
	    20, &box, &bl), 0);
	cr_assert_eq(bl, 20 + SECRETBOX_OVERHEAD);
	cr_assert_eq(secretbox_open(key, "alice", 5, box, bl, &pt, &pl), 0);
	cr_assert_eq(pl, 20);
	cr_assert_eq(memcmp(pt, "0123456789abcdefghij", 20), 0);
	free(pt);
	free(box);
}

Test(auth_secretbox, every_flipped_byte_refused)
{
	uint8_t key[32], *box = NULL, *pt = NULL;
	size_t bl = 0, pl = 0, i;

	cr_assert_eq(RAND_bytes(key, sizeof(key)), 1);
	cr_assert_eq(secretbox_seal(key, "alice", 5, "0123456789abcdefghij",
	    20, &box, &bl), 0);
	for (i = 0; i < bl; i++) {
		box[i] ^= 0x01;
		cr_assert_eq(secretbox_open(key, "alice", 5, box, bl, &pt,
		    &pl), TSS_E_DECRYPT, "byte %zu", i);
		cr_assert_null(pt);
		cr_assert_eq(pl, 0);
		box[i] ^= 0x01;
	}
	free(box);
}

Test(auth_secretbox, other_aad_or_key_refused)
{
	uint8_t key[32], key2[32], *box = NULL, *pt = NULL;
	size_t bl = 0, pl = 0;

	cr_assert_eq(RAND_bytes(key, sizeof(key)), 1);
	memcpy(key2, key, sizeof(key));
	key2[31] ^= 0x80;
	cr_assert_eq(secretbox_seal(key, "alice", 5, "secret", 6, &box, &bl),
	    0);
	cr_assert_eq(secretbox_open(key, "bob", 3, box, bl, &pt, &pl),
	    TSS_E_DECRYPT);
	cr_assert_eq(secretbox_open(key, "alice", 4, box, bl, &pt, &pl),
	    TSS_E_DECRYPT);
	cr_assert_eq(secretbox_open(key2, "alice", 5, box, bl, &pt, &pl),
	    TSS_E_DECRYPT);
	cr_assert_eq(secretbox_open(key, "alice", 5, box, bl - 1, &pt, &pl),
	    TSS_E_DECRYPT);
	cr_assert_eq(secretbox_open(key, "alice", 5, box,
	    SECRETBOX_OVERHEAD - 1, &pt, &pl), TSS_E_TRUNCATED);
	cr_assert_null(pt);
	free(box);
}

Test(auth_secretbox, nonces_differ)
{
	uint8_t key[32] = { 0 }, *a = NULL, *b = NULL;
	size_t al, bl;

	cr_assert_eq(secretbox_seal(key, "u", 1, "same", 4, &a, &al), 0);
	cr_assert_eq(secretbox_seal(key, "u", 1, "same", 4, &b, &bl), 0);
	cr_assert_neq(memcmp(a, b, al), 0);
	free(a);
	free(b);
}

Test(auth_secretbox, key_create_then_load)
{
	uint8_t key[32];
	struct stat st;
	char p[4200];

	path(p, sizeof(p), "master.key");
	cr_assert_eq(secretbox_key_create(p), 0);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 32);
	cr_assert_eq(secretbox_key_load(p, key), 0);
	cr_assert_eq(secretbox_key_create(p), TSS_E_CONFLICT);
}

Test(auth_secretbox, key_load_refusals)
{
	uint8_t key[32];
	char p[4200];
	const char k32[] = "0123456789abcdef0123456789abcdef";

	path(p, sizeof(p), "k");
	cr_assert_eq(secretbox_key_load(p, key), TSS_E_NOT_FOUND);
	cr_assert_eq(tmpfile_write(p, k32, 0640), 0);
	cr_assert_eq(chmod(p, 0640), 0);
	cr_assert_eq(secretbox_key_load(p, key), TSS_E_KEY_PERMS);
	cr_assert_eq(chmod(p, 0604), 0);
	cr_assert_eq(secretbox_key_load(p, key), TSS_E_KEY_PERMS);
	cr_assert_eq(chmod(p, 0600), 0);
	cr_assert_eq(secretbox_key_load(p, key), 0);
	cr_assert_eq(memcmp(key, k32, 32), 0);
	path(p, sizeof(p), "short");
	cr_assert_eq(tmpfile_write(p, "0123456789abcdef0123456789abcde",
	    0600), 0);
	cr_assert_eq(secretbox_key_load(p, key), TSS_E_BAD_FORMAT);
	path(p, sizeof(p), "long");
	cr_assert_eq(tmpfile_write(p, "0123456789abcdef0123456789abcdefX",
	    0600), 0);
	cr_assert_eq(secretbox_key_load(p, key), TSS_E_BAD_FORMAT);
	cr_assert_eq(secretbox_key_load(dir, key), TSS_E_BAD_FORMAT);
}
