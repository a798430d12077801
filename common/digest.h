/*
 * SHA-256 through OpenSSL with the implementation fetched once: OpenSSL 3
 * looks EVP_sha256() (and SHA256()) up again on every use, which costs
 * more than hashing a short input.  Thread-safe.
 */
#ifndef TSS_DIGEST_H
#define TSS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SHA256_LEN	32

/* The fetched SHA-256, for EVP_DigestInit_ex and HMAC; never NULL. */
const EVP_MD *sha256_md(void);
/* out = SHA-256(p); 0 or TSS_E_CRYPTO. */
int sha256(const void *p, size_t len, uint8_t out[SHA256_LEN]);

#endif
