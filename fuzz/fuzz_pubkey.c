/*
 * libFuzzer target: public key blobs and authorized_keys lines.  Any input
 * must give a clean error or a key that re-encodes to the same blob and
 * parses back from its own line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sshca/sshkey.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey *k = NULL, *back = NULL;
	char fp[SSHKEY_FP_MAX], *line = NULL, *comment = NULL;
	const uint8_t *blob;
	size_t len;

	if (sshkey_from_blob(data, size, &k) == 0) {
		blob = sshkey_blob(k, &len);
		if (len != size || memcmp(blob, data, size) != 0)
			abort();
		if (sshkey_fingerprint(k, fp) != 0 ||
		    sshkey_to_line(k, "fuzz", &line) != 0 ||
		    sshkey_parse_line(line, strlen(line), &back, NULL) != 0 ||
		    !sshkey_equal(k, back))
			abort();
	}
	sshkey_free(back);
	sshkey_free(k);
	free(line);
	k = NULL;
	if (sshkey_parse_line((const char *)data, size, &k, &comment) == 0 &&
	    comment == NULL)
		abort();
	sshkey_free(k);
	free(comment);
	return 0;
}
