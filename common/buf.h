/*
 * Bounds-checked byte buffer for SSH wire data and stored records
 * (RFC 4251 §5 types).  Modelled on OpenSSH's sshbuf.
 *
 * A buffer holds bytes [off, size): getters read from the front and consume
 * exactly what they read, or fail with a negative TSS_E_* code and leave the
 * buffer unchanged.  Putters append at the end.  Nothing here aborts.
 *
 * Buffers made with buf_new_secret() are wiped (explicit_bzero) whenever
 * their memory is released or moved, so they may hold keys and passwords.
 * buf_from() makes a read-only view of caller memory, which must outlive
 * the buffer; putters on it fail with TSS_E_INVALID_ARGUMENT.
 *
 * Errors: TSS_E_TRUNCATED reading past the end; TSS_E_TOO_LONG for a
 * string length field above BUF_SIZE_MAX - 4 (checked first) or growth
 * past the cap; TSS_E_EMBEDDED_NUL in a cstring or name-list;
 * TSS_E_BAD_FORMAT for a negative or non-minimal mpint or a bad name-list;
 * TSS_E_INVALID_ARGUMENT for writes to a view.  Output pointers may be
 * NULL ("skip") and are cleared on entry.
 *
 * Not thread-safe: one buffer, one thread at a time.
 */
#ifndef TSS_BUF_H
#define TSS_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_SIZE_MAX	(16u * 1024 * 1024)	/* hard cap on any buffer */

struct buf;

struct buf *buf_new(void);
struct buf *buf_new_secret(void);
struct buf *buf_from(const void *p, size_t len);
void buf_free(struct buf *b);			/* NULL is harmless */

size_t buf_len(const struct buf *b);		/* unread bytes */
const uint8_t *buf_ptr(const struct buf *b);	/* first unread byte */
void buf_reset(struct buf *b);			/* empty; wipes a secret buffer */
int buf_set_max(struct buf *b, size_t max);	/* lower the size cap */
int buf_consume(struct buf *b, size_t n);	/* skip n bytes */

/* Readers. */
int buf_get(struct buf *b, void *dst, size_t n);
int buf_get_u8(struct buf *b, uint8_t *v);
int buf_get_u32(struct buf *b, uint32_t *v);
int buf_get_u64(struct buf *b, uint64_t *v);
/* string: pointer into the buffer, valid until the buffer is changed. */
int buf_get_string_direct(struct buf *b, const uint8_t **p, size_t *len);
/* string copied to a fresh allocation (caller frees; NUL-terminated). */
int buf_get_string(struct buf *b, uint8_t **p, size_t *len);
/* string that must hold no NUL byte; *s is NUL-terminated, caller frees. */
int buf_get_cstring(struct buf *b, char **s, size_t *len);
/* mpint (RFC 4251): positive only, minimal encoding; leading zero stripped. */
int buf_get_bignum2_direct(struct buf *b, const uint8_t **p, size_t *len);
/* string whose contents become a read-only view (*sub freed by caller). */
int buf_get_stringb(struct buf *b, struct buf **sub);

/* Big-endian u64 at p (no bounds: p holds 8 bytes); for keys and counters
 * outside a buffer. */
uint64_t buf_peek_u64(const uint8_t p[8]);
void buf_poke_u64(uint8_t p[8], uint64_t v);

/* Writers. */
int buf_put(struct buf *b, const void *src, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
int buf_put_string(struct buf *b, const void *p, size_t len);
int buf_put_cstring(struct buf *b, const char *s);	/* NULL = empty */
int buf_put_stringb(struct buf *b, const struct buf *v);
/* mpint from big-endian unsigned magnitude (leading zeros skipped). */
int buf_put_bignum2_bytes(struct buf *b, const void *p, size_t len);
/* Reserve n bytes at the end; *dst is valid until the next change. */
int buf_reserve(struct buf *b, size_t n, uint8_t **dst);

/*
 * name-list (RFC 4251 §5): a comma-separated string of non-empty names of
 * printable ASCII without comma.  Get checks every name, returns a
 * NUL-terminated copy.
 */
int buf_get_namelist(struct buf *b, char **s);
int buf_put_namelist(struct buf *b, const char *const *names, size_t n);

#endif
