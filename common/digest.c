/* SHA-256 with the implementation fetched once.  See digest.h. */
#include <pthread.h>

#include "digest.h"
#include "err.h"

static EVP_MD *fetched;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
fetch(void)
{
	fetched = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

const EVP_MD *
sha256_md(void)
{
	pthread_once(&once, fetch);
	return fetched != NULL ? fetched : EVP_sha256();
}

int
sha256(const void *p, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(p, len, out, &n, sha256_md(), NULL) != 1 ||
	    n != SHA256_LEN)
		return TSS_E_CRYPTO;
	return 0;
}
