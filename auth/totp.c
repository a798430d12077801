/*
 * TOTP through liboath, Key URI, QR SVG.  See totp.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <qrencode.h>

#include "common/err.h"
#include "common/mem.h"
#include "auth/totp.h"

#define TOTP_SECRET_MAX		64
#define TOTP_URI_FIELD_MAX	256	/* issuer / account bytes */
#define QR_SVG_MAX		(1024 * 1024)

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ready;

static void
oath_setup(void)
{
	oath_ready = oath_init() == OATH_OK;
}

static int
oath_ok(void)
{
	pthread_once(&oath_once, oath_setup);
	return oath_ready ? 0 : TSS_E_CRYPTO;
}

int
totp_secret_new(uint8_t secret[TOTP_SECRET_LEN])
{
	if (RAND_bytes(secret, TOTP_SECRET_LEN) != 1)
		return TSS_E_CRYPTO;
	return 0;
}

uint64_t
totp_step(int64_t now)
{
	return now < 0 ? 0 : (uint64_t)now / TOTP_PERIOD;
}

int
totp_generate(const uint8_t *secret, size_t len, int64_t now,
    unsigned digits, char *out)
{
	int r;

	if (secret == NULL || len == 0 || len > TOTP_SECRET_MAX ||
	    (digits != 6 && digits != 8) || now < 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = oath_ok()) != 0)
		return r;
	if (oath_totp_generate((const char *)secret, len, (time_t)now,
	    TOTP_PERIOD, OATH_TOTP_DEFAULT_START_TIME, digits, out) != OATH_OK)
		return TSS_E_CRYPTO;
	return 0;
}

int
totp_code_syntax_ok(const char *code)
{
	size_t i;

	if (code == NULL)
		return 0;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[TOTP_DIGITS] == '\0';
}

/* liboath's comparison callback: 0 on a match, in constant time. */
static int
code_cmp(void *handle, const char *test_otp)
{
	const char *code = handle;

	if (strlen(test_otp) != TOTP_DIGITS)
		return 1;
	return CRYPTO_memcmp(code, test_otp, TOTP_DIGITS) != 0;
}

int
totp_verify(const uint8_t *secret, size_t len, const char *code,
    int64_t now, unsigned window, uint64_t *step)
{
	char cbuf[TOTP_DIGITS + 1];
	uint64_t counter = 0;
	int r, pos = 0, rc;

	*step = 0;
	if (secret == NULL || len == 0 || len > TOTP_SECRET_MAX ||
	    window > TOTP_WINDOW_MAX || now < 0)
		return TSS_E_INVALID_ARGUMENT;
	if (!totp_code_syntax_ok(code))
		return TSS_E_INVALID_CREDENTIALS;
	if ((r = oath_ok()) != 0)
		return r;
	memcpy(cbuf, code, sizeof(cbuf));
	rc = oath_totp_validate3_callback((const char *)secret, len,
	    (time_t)now, TOTP_PERIOD, OATH_TOTP_DEFAULT_START_TIME,
	    TOTP_DIGITS, window, &pos, &counter, code_cmp, cbuf);
	OPENSSL_cleanse(cbuf, sizeof(cbuf));
	if (rc == OATH_INVALID_OTP)
		return TSS_E_INVALID_CREDENTIALS;
	if (rc < 0)
		return TSS_E_CRYPTO;
	/* Belt and braces: the step liboath reports must be in the window. */
	if (counter + window < totp_step(now) ||
	    counter > totp_step(now) + window)
		return TSS_E_INTERNAL;
	*step = counter;
	return 0;
}

/* Append percent-encoded s to out at *off; cap is out's size. */
static int
pct_append(char *out, size_t cap, size_t *off, const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (cap - *off < 2)
				return TSS_E_TOO_LONG;
			out[(*off)++] = (char)c;
		} else {
			if (cap - *off < 4)
				return TSS_E_TOO_LONG;
			out[(*off)++] = '%';
			out[(*off)++] = hx[c >> 4];
			out[(*off)++] = hx[c & 0xf];
		}
	}
	out[*off] = '\0';
	return 0;
}

static int
raw_append(char *out, size_t cap, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap - *off)
		return TSS_E_TOO_LONG;
	memcpy(out + *off, s, n + 1);
	*off += n;
	return 0;
}

int
totp_key_uri(const char *issuer, const char *account,
    const char *secret_b32, char **out)
{
	char *u = NULL;
	size_t cap, off = 0, il, al, sl;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (issuer == NULL || account == NULL || secret_b32 == NULL)
		return TSS_E_INVALID_ARGUMENT;
	il = strlen(issuer);
	al = strlen(account);
	sl = strlen(secret_b32);
	if (il == 0 || il > TOTP_URI_FIELD_MAX || al == 0 ||
	    al > TOTP_URI_FIELD_MAX || sl == 0 || sl > 2 * TOTP_SECRET_MAX)
		return TSS_E_INVALID_ARGUMENT;
	/* Worst case every byte of issuer (twice) and account is escaped. */
	cap = 3 * (2 * il + al) + sl + 128;
	if ((u = mem_malloc(cap)) == NULL)
		return TSS_E_NOMEM;
	u[0] = '\0';
	if ((r = raw_append(u, cap, &off, "otpauth://totp/")) != 0 ||
	    (r = pct_append(u, cap, &off, issuer)) != 0 ||
	    (r = raw_append(u, cap, &off, ":")) != 0 ||
	    (r = pct_append(u, cap, &off, account)) != 0 ||
	    (r = raw_append(u, cap, &off, "?secret=")) != 0 ||
	    (r = pct_append(u, cap, &off, secret_b32)) != 0 ||
	    (r = raw_append(u, cap, &off, "&issuer=")) != 0 ||
	    (r = pct_append(u, cap, &off, issuer)) != 0 ||
	    (r = raw_append(u, cap, &off,
	    "&algorithm=SHA1&digits=6&period=30")) != 0)
		goto out;
	*out = u;
	u = NULL;
	r = 0;
 out:
	if (u != NULL)
		OPENSSL_clear_free(u, cap);	/* holds the secret */
	return r;
}

int
totp_qr_svg(const char *text, char **out)
{
	/* The SVG namespace name is required for a standalone document. */
	static const char head[] =
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>"
	    "<path fill=\"#000000\" d=\"";
	static const char tail[] = "\"/></svg>";
	QRcode *qr = NULL;
	char *svg = NULL;
	size_t cap = 0, off = 0;
	int r = TSS_E_INTERNAL, n, x, y, w, full, px;

	*out = NULL;
	if (text == NULL || *text == '\0')
		return TSS_E_INVALID_ARGUMENT;
	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL) {
		r = TSS_E_INVALID_ARGUMENT;	/* too long for a QR code */
		goto out;
	}
	w = qr->width;
	full = w + 8;
	px = full * 4;
	/* Each module is at most "M%d %dh1v1h-1z" with 3-digit numbers. */
	cap = sizeof(head) + 64 + (size_t)w * (size_t)w * 24 + sizeof(tail);
	if (w <= 0 || w > 200 || cap > QR_SVG_MAX) {
		r = TSS_E_TOO_LONG;
		goto out;
	}
	if ((svg = mem_malloc(cap)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	n = snprintf(svg, cap, head, full, full, px, px, full, full);
	if (n < 0 || (size_t)n >= cap) {
		r = TSS_E_TOO_LONG;
		goto out;
	}
	off = (size_t)n;
	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x++) {
			if ((qr->data[y * w + x] & 1) == 0)
				continue;
			n = snprintf(svg + off, cap - off, "M%d %dh1v1h-1z",
			    x + 4, y + 4);
			if (n < 0 || (size_t)n >= cap - off) {
				r = TSS_E_TOO_LONG;
				goto out;
			}
			off += (size_t)n;
		}
	}
	if ((r = raw_append(svg, cap, &off, tail)) != 0)
		goto out;
	*out = svg;
	svg = NULL;
	r = 0;
 out:
	free(svg);
	QRcode_free(qr);
	return r;
}
