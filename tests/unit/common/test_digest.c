/* SHA-256 with the fetched implementation: FIPS 180-2 vectors, from
 * several threads at once, and the EVP_MD usable for streaming. */
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "common/digest.h"
#include "common/enc.h"

static const char abc_hex[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char empty_hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void
check(const void *p, size_t len, const char *want)
{
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	cr_assert_eq(sha256(p, len, d), 0);
	hex_encode(d, sizeof(d), hex);
	cr_assert_str_eq(hex, want);
}

Test(digest, fips_vectors)
{
	check("abc", 3, abc_hex);
	check("", 0, empty_hex);
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void *
hash_many(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 2000; i++)
		check("abc", 3, abc_hex);
	return NULL;
}

Test(digest, threads_share_one_fetch)
{
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hash_many, NULL), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(sha256_md(), sha256_md());
}

Test(digest, md_streams_like_the_one_shot)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t d[SHA256_LEN];
	unsigned int n = 0;
	char hex[2 * SHA256_LEN + 1];

	cr_assert_not_null(c);
	cr_assert_eq(EVP_DigestInit_ex(c, sha256_md(), NULL), 1);
	cr_assert_eq(EVP_DigestUpdate(c, "a", 1), 1);
	cr_assert_eq(EVP_DigestUpdate(c, "bc", 2), 1);
	cr_assert_eq(EVP_DigestFinal_ex(c, d, &n), 1);
	cr_assert_eq(n, SHA256_LEN);
	hex_encode(d, sizeof(d), hex);
	cr_assert_str_eq(hex, abc_hex);
	EVP_MD_CTX_free(c);
}
