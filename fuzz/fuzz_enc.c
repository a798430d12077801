/*
 * libFuzzer harness for common/enc decoders.
 *
 * The decoders accept only canonical text, so whatever they accept must
 * encode back to the very same text (base32 compared without its optional
 * padding), and whatever they refuse must leave the outputs cleared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/enc.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/*
 * Decode text as base64 and as base32; whatever is accepted must re-encode
 * to itself.  Returns whether base32 accepted it.
 */
static int
check_text(const char *s, size_t size)
{
	uint8_t *out;
	size_t olen, n;
	char *again;
	int r;

	r = b64_decode(s, size, &out, &olen);
	if (r == 0) {
		CHECK(olen <= size / 4 * 3);
		CHECK(b64_encode(out, olen, &again) == 0);
		CHECK(strlen(again) == size && memcmp(again, s, size) == 0);
		free(again);
		free(out);
	} else
		CHECK(r == TSS_E_BASE64 && out == NULL && olen == 0);

	r = b32_decode(s, size, &out, &olen);
	if (r == 0) {
		for (n = size; n > 0 && s[n - 1] == '='; n--)
			;
		CHECK(b32_encode(out, olen, &again) == 0);
		CHECK(strlen(again) == n && memcmp(again, s, n) == 0);
		free(again);
		free(out);
	} else
		CHECK(r == TSS_E_BASE32 && out == NULL && olen == 0);

	return r == 0;
}

/*
 * Encode raw bytes, decode them back, then change one character of the
 * text (position and value taken from the input) and check the mutant.
 */
static void
round_trip(const uint8_t *data, size_t size, int b32)
{
	uint8_t *out;
	size_t olen, tlen;
	char *text;

	CHECK((b32 ? b32_encode(data, size, &text) :
	    b64_encode(data, size, &text)) == 0);
	tlen = strlen(text);
	CHECK((b32 ? b32_decode(text, tlen, &out, &olen) :
	    b64_decode(text, tlen, &out, &olen)) == 0);
	CHECK(olen == size && (size == 0 || memcmp(out, data, size) == 0));
	free(out);
	if (tlen > 0 && size >= 2) {
		text[data[0] % tlen] = (char)data[1];
		(void)check_text(text, tlen);
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[2 * 64 + 1];
	size_t n;

	if (size > 1024 * 1024)
		return 0;
	(void)check_text((const char *)data, size);
	round_trip(data, size, 0);
	round_trip(data, size, 1);
	n = size < 64 ? size : 64;
	hex_encode(data, n, hex);
	CHECK(strlen(hex) == 2 * n);
	return 0;
}
