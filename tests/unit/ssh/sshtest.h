/* Helpers shared by the ssh unit tests: real ssh-keygen, temp files. */
#ifndef TSS_TEST_SSHTEST_H
#define TSS_TEST_SSHTEST_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cakey;
struct sshkey;

#define ST_PATH	512

/* Make a temp dir (asserts); TZ=UTC for ssh-keygen's dates. */
void st_tmpdir(char dir[ST_PATH]);
void st_path(char out[ST_PATH], const char *dir, const char *name);
/* Run argv; stdout+stderr into *outp (NUL-terminated, may be NULL).  Exit
 * status, -1 if abnormal. */
int st_run(const char *const argv[], char **outp);
/* Whole file, NUL-terminated; NULL if unreadable. */
char *st_slurp(const char *path, size_t *lenp);
void st_write(const char *path, const void *p, size_t len, unsigned mode);
/* ssh-keygen -t type [-b bits] -N "" -f dir/name; asserts. */
void st_keygen(const char *dir, const char *name, const char *type,
    int bits, char priv[ST_PATH], char pub[ST_PATH]);
/* Parse an authorized_keys file's first line; asserts. */
struct sshkey *st_load_pub(const char *path);
/* Write a certificate blob as "<type> <b64>" to path; asserts. */
void st_write_cert(const char *path, const struct buf *cert);
/* One-principal certificate with permit-pty; asserts on error. */
struct buf *st_sign(struct cakey *ca, const struct sshkey *key,
    uint64_t serial, const char *principal, uint64_t va, uint64_t vb);
/* First line of `ssh-keygen -l -E sha256 -f path`, field 2. */
void st_keygen_fp(const char *path, char *fp, size_t len);
/* Raw blob of an authorized_keys line file (decoded base64); asserts. */
uint8_t *st_pub_blob(const char *path, size_t *lenp);

/* An sk-* public key file (from a fresh ed25519 or P-256 key, application
 * "ssh:"); path into pub. */
void st_sk_pub(const char *dir, int ecdsa, char pub[ST_PATH]);

#endif
