/*
 * totp: RFC 6238 time-based codes through liboath (HMAC-SHA1, 6 digits,
 * 30-second steps from the Unix epoch), the otpauth:// Key URI and its QR
 * code as SVG (libqrencode).
 *
 * liboath keeps no state: totp_verify() returns the time step a code
 * matched, and the caller refuses any step at or before the last one it
 * accepted (replay).  Codes are compared in constant time.
 *
 * Secrets are raw bytes; callers wipe them.  Thread-safe.
 */
#ifndef TSS_AUTH_TOTP_H
#define TSS_AUTH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN		20	/* 160 bits */
#define TOTP_DIGITS		6
#define TOTP_PERIOD		30
#define TOTP_WINDOW_MAX		10

/* A fresh secret from the OpenSSL CSPRNG. */
int totp_secret_new(uint8_t secret[TOTP_SECRET_LEN]);

/* Time step of a Unix time (floor(now / 30)); negative times are step 0. */
uint64_t totp_step(int64_t now);

/*
 * Code for time now, digits 6 or 8 (8 only for the RFC vectors), into
 * out (digits + 1 bytes).
 */
int totp_generate(const uint8_t *secret, size_t len, int64_t now,
    unsigned digits, char *out);

/*
 * Check a 6-digit code against steps step(now) - window .. step(now) +
 * window (window at most TOTP_WINDOW_MAX).  0 and the matched step in
 * *step; TSS_E_INVALID_CREDENTIALS when no step matches or code is not six
 * ASCII digits.
 */
int totp_verify(const uint8_t *secret, size_t len, const char *code,
    int64_t now, unsigned window, uint64_t *step);

/* "123456": six ASCII digits and nothing else. */
int totp_code_syntax_ok(const char *code);

/*
 * Key URI: otpauth://totp/<issuer>:<account>?secret=<b32>&issuer=<issuer>
 * &algorithm=SHA1&digits=6&period=30, issuer and account percent-encoded
 * (everything but RFC 3986 unreserved characters).  *out is allocated.
 */
int totp_key_uri(const char *issuer, const char *account,
    const char *secret_b32, char **out);

/*
 * QR code of text (error correction M) as a standalone SVG document, one
 * path of unit squares with a 4-module quiet zone.  *out is allocated.
 */
int totp_qr_svg(const char *text, char **out);

#endif
