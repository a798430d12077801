/*
 * AES-256-GCM boxes and the master key file.  See secretbox.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/digest.h"
#include "common/err.h"
#include "common/mem.h"
#include "auth/secretbox.h"

#define KEY_CHECK_LABEL	"tessera master key check"

int
secretbox_key_load(const char *path, uint8_t key[SECRETBOX_KEY_LEN])
{
	struct stat st;
	uint8_t extra;
	size_t got = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_INTERNAL;

	OPENSSL_cleanse(key, SECRETBOX_KEY_LEN);
	if (path == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != SECRETBOX_KEY_LEN) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = TSS_E_KEY_PERMS;
		goto out;
	}
	while (got < SECRETBOX_KEY_LEN) {
		n = read(fd, key + got, SECRETBOX_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n == 0 ? TSS_E_BAD_FORMAT : TSS_E_IO;
			goto out;
		}
		got += (size_t)n;
	}
	/* The file may have grown since fstat. */
	if (read(fd, &extra, 1) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		OPENSSL_cleanse(key, SECRETBOX_KEY_LEN);
	if (fd >= 0)
		close(fd);
	return r;
}

int
secretbox_key_check(const uint8_t key[SECRETBOX_KEY_LEN],
    uint8_t out[SECRETBOX_CHECK_LEN])
{
	unsigned int len = 0;

	if (key == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (HMAC(sha256_md(), key, SECRETBOX_KEY_LEN,
	    (const unsigned char *)KEY_CHECK_LABEL, sizeof(KEY_CHECK_LABEL) - 1,
	    out, &len) == NULL || len != SECRETBOX_CHECK_LEN) {
		OPENSSL_cleanse(out, SECRETBOX_CHECK_LEN);
		return TSS_E_CRYPTO;
	}
	return 0;
}

int
secretbox_key_create(const char *path)
{
	uint8_t key[SECRETBOX_KEY_LEN];
	size_t put = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_INTERNAL, created = 0;

	if (path == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (RAND_bytes(key, sizeof(key)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
		r = errno == EEXIST ? TSS_E_CONFLICT : TSS_E_IO;
		goto out;
	}
	created = 1;
	/* The umask may not have removed what 0600 already excludes. */
	if (fchmod(fd, 0600) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	while (put < sizeof(key)) {
		n = write(fd, key + put, sizeof(key) - put);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = TSS_E_IO;
			goto out;
		}
		put += (size_t)n;
	}
	if (fsync(fd) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	r = 0;
 out:
	OPENSSL_cleanse(key, sizeof(key));
	if (fd >= 0 && close(fd) != 0 && r == 0)
		r = TSS_E_IO;
	if (r != 0 && created)
		unlink(path);
	return r;
}

int
secretbox_seal(const uint8_t key[SECRETBOX_KEY_LEN],
    const void *aad, size_t aadlen, const void *pt, size_t ptlen,
    uint8_t **out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *box = NULL;
	size_t len = 0;
	int r = TSS_E_CRYPTO, n = 0, fin = 0;

	*out = NULL;
	*outlen = 0;
	if (ptlen > SECRETBOX_MAX || aadlen > INT_MAX ||
	    (pt == NULL && ptlen != 0) || (aad == NULL && aadlen != 0))
		return TSS_E_INVALID_ARGUMENT;
	len = ptlen + SECRETBOX_OVERHEAD;
	if ((box = mem_malloc(len)) == NULL)
		return TSS_E_NOMEM;
	if (RAND_bytes(box, SECRETBOX_NONCE_LEN) != 1)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, box) != 1 ||
	    (aadlen > 0 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_EncryptUpdate(ctx, box + SECRETBOX_NONCE_LEN, &n, pt,
	    (int)ptlen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, box + SECRETBOX_NONCE_LEN + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != ptlen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SECRETBOX_TAG_LEN,
	    box + SECRETBOX_NONCE_LEN + ptlen) != 1)
		goto out;
	*out = box;
	*outlen = len;
	box = NULL;
	r = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	if (box != NULL)
		OPENSSL_clear_free(box, len);
	return r;
}

int
secretbox_open(const uint8_t key[SECRETBOX_KEY_LEN],
    const void *aad, size_t aadlen, const uint8_t *box, size_t boxlen,
    uint8_t **pt, size_t *ptlen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tag[SECRETBOX_TAG_LEN];
	uint8_t *p = NULL;
	size_t len = 0;
	int r = TSS_E_DECRYPT, n = 0, fin = 0;

	*pt = NULL;
	*ptlen = 0;
	if (box == NULL || boxlen < SECRETBOX_OVERHEAD)
		return TSS_E_TRUNCATED;
	if (boxlen - SECRETBOX_OVERHEAD > SECRETBOX_MAX || aadlen > INT_MAX ||
	    (aad == NULL && aadlen != 0))
		return TSS_E_INVALID_ARGUMENT;
	len = boxlen - SECRETBOX_OVERHEAD;
	/* One spare byte so an empty plaintext still gets an allocation. */
	if ((p = mem_malloc(len + 1)) == NULL)
		return TSS_E_NOMEM;
	memcpy(tag, box + boxlen - SECRETBOX_TAG_LEN, sizeof(tag));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, box) != 1 ||
	    (aadlen > 0 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_DecryptUpdate(ctx, p, &n, box + SECRETBOX_NONCE_LEN,
	    (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SECRETBOX_TAG_LEN,
	    tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, p + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != len)
		goto out;
	*pt = p;
	*ptlen = len;
	p = NULL;
	r = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	if (p != NULL)
		OPENSSL_clear_free(p, len + 1);
	return r;
}
