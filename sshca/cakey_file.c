/*
 * cakey: key files.  cakey_parse tells openssh-key-v1 (cakey_openssh.c)
 * from PEM (OpenSSL's decoders), cakey_load adds the permission check,
 * cakey_save writes either.  Every copy of the file's bytes is wiped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"

#include "cakey.h"
#include "cakey_int.h"

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;	/* encrypted PEM keys are refused */
}

int
cakey_parse(const void *data, size_t len, struct cakey **cap)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	const char *text = data;
	int r = TSS_E_INTERNAL;

	if (cap != NULL)
		*cap = NULL;
	if (data == NULL || cap == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (len > CAKEY_FILE_MAX)
		return TSS_E_TOO_LARGE;
	if (len >= strlen(OPENSSH_BEGIN) &&
	    memcmp(text, OPENSSH_BEGIN, strlen(OPENSSH_BEGIN)) == 0) {
		r = cakey_openssh_parse(text, len, cap);
		goto out;
	} else {
		if (memmem(text, len, "ENCRYPTED", 9) != NULL) {
			r = TSS_E_UNSUPPORTED;
			goto out;
		}
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password,
		    NULL)) == NULL) {
			r = TSS_E_BAD_FORMAT;
			goto out;
		}
	}
	r = cakey__from_pkey(pkey, cap);
	pkey = NULL;	/* consumed */
 out:
	if (r != 0)
		ERR_clear_error();	/* the reason is r; drop OpenSSL's queue */
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

int
cakey_load(const char *path, struct cakey **cap)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, cap_len = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_INTERNAL;

	if (cap != NULL)
		*cap = NULL;
	if (path == NULL || cap == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		r = (errno == ENOENT) ? TSS_E_NOT_FOUND :
		    (errno == EACCES) ? TSS_E_PERMISSION : TSS_E_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("CA key %s is accessible by group or others", path);
		r = TSS_E_KEY_PERMS;
		goto out;
	}
	if (st.st_size > CAKEY_FILE_MAX) {
		r = TSS_E_TOO_LARGE;
		goto out;
	}
	cap_len = (size_t)st.st_size + 1;
	if ((data = mem_malloc(cap_len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	while (len < cap_len) {
		n = read(fd, data + len, cap_len - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = TSS_E_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap_len) {	/* grew while we read */
		r = TSS_E_IO;
		goto out;
	}
	r = cakey_parse(data, len, cap);
 out:
	if (data != NULL)
		OPENSSL_cleanse(data, cap_len);
	free(data);
	if (fd != -1)
		close(fd);
	return r;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return TSS_E_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
cakey_save(const struct cakey *ca, const char *path, enum cakey_format fmt,
    const char *comment)
{
	struct buf *text = NULL;
	BIO *bio = NULL;
	int fd = -1, created = 0, r = TSS_E_INTERNAL;

	if (ca == NULL || path == NULL ||
	    (fmt != CAKEY_FORMAT_OPENSSH && fmt != CAKEY_FORMAT_PEM))
		return TSS_E_INVALID_ARGUMENT;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		r = (errno == EEXIST) ? TSS_E_CONFLICT :
		    (errno == EACCES) ? TSS_E_PERMISSION : TSS_E_IO;
		goto out;
	}
	created = 1;
	if (fchmod(fd, 0600) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	if (fmt == CAKEY_FORMAT_OPENSSH) {
		if ((text = buf_new_secret()) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = cakey_openssh_text(ca, comment, text)) != 0 ||
		    (r = write_all(fd, buf_ptr(text), buf_len(text))) != 0)
			goto out;
	} else {
		if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if (PEM_write_bio_PrivateKey(bio, ca->pkey, NULL, NULL, 0,
		    NULL, NULL) != 1 || BIO_flush(bio) != 1) {
			r = TSS_E_IO;
			goto out;
		}
	}
	if (fsync(fd) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	r = 0;
 out:
	BIO_free(bio);
	buf_free(text);
	if (fd != -1 && close(fd) != 0 && r == 0)
		r = TSS_E_IO;
	if (r != 0 && created)
		unlink(path);
	return r;
}
