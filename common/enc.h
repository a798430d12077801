/*
 * Text encodings: base64 (RFC 4648 §4, padded, as in authorized_keys and
 * PEM) through OpenSSL, base32 (RFC 4648 §6, as in TOTP secrets) through
 * liboath, lowercase hex.  Decoders refuse whitespace, bad characters,
 * bad padding and non-canonical trailing bits; base32 is upper case only
 * and its padding is optional on input.
 */
#ifndef TSS_ENC_H
#define TSS_ENC_H

#include <stddef.h>
#include <stdint.h>

/* Encoders return a NUL-terminated allocation (caller frees) in *out. */
int b64_encode(const void *p, size_t len, char **out);
/* Decoders allocate *out (caller frees; wipe if secret). */
int b64_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen);
/* base32 without padding ("GEZDGNBV..."), as authenticator apps take. */
int b32_encode(const void *p, size_t len, char **out);
int b32_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen);
/* hex into dst of 2*len+1 bytes. */
void hex_encode(const void *p, size_t len, char *dst);
/* Exactly 2*len lowercase hex digits of s into len bytes at out (a NUL
 * before them is an error): TSS_E_BAD_FORMAT, out then undefined. */
int hex_decode(const char *s, uint8_t *out, size_t len);
/* The value of one hex digit of either case, -1 for anything else (for
 * percent-decoding, where RFC 3986 allows both cases). */
int hex_value(char c);

#endif
