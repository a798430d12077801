/*
 * Internals of cakey, shared by cakey.c (the key, its public half,
 * signing), cakey_openssh.c (the openssh-key-v1 format) and cakey_file.c
 * (key files) only.
 */
#ifndef TSS_SSHCA_CAKEY_INT_H
#define TSS_SSHCA_CAKEY_INT_H

#include <pthread.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "cakey.h"

struct buf;

/* The armour's first line: cakey_parse tells the two formats apart by it. */
#define OPENSSH_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define ED25519_LEN	32

struct cakey {
	enum cakey_alg alg;
	EVP_PKEY *pkey;
	struct sshkey *pub;
	size_t rsa_len;			/* RSA: modulus bytes */
	pthread_mutex_t lock;		/* guards spare */
	EVP_MD_CTX *spare;		/* one reusable signing context */
};

/* cakey.c */
/* Wrap pkey (ownership taken, also on failure) into a cakey. */
int cakey__from_pkey(EVP_PKEY *pkey, struct cakey **cap);
/* Append an EVP_PKEY parameter as an SSH mpint, the public point as a
 * string. */
int cakey__put_bn_param(struct buf *b, const EVP_PKEY *pkey,
    const char *name);
int cakey__put_ec_point(struct buf *b, const EVP_PKEY *pkey);

/* cakey_openssh.c */
/* Parse an armoured openssh-key-v1 text (unencrypted, one key). */
int cakey_openssh_parse(const char *text, size_t len, struct cakey **cap);
/* Build the armoured openssh-key-v1 text into a secret buffer. */
int cakey_openssh_text(const struct cakey *ca, const char *comment,
    struct buf *out);

#endif
