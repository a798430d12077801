/*
 * krl: KRL encoding.  Sorted serials are walked once; each maximal run of
 * consecutive serials is either appended to the serial list or written as
 * a range, whichever is smaller.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"

#include "krl.h"
#include "sshkey.h"

#define KRL_MAGIC		0x5353484b524c0a00ULL	/* "SSHKRL\n\0" */
#define KRL_FORMAT_VERSION	1
#define KRL_SECTION_CERTIFICATES	1
#define KRL_SECTION_CERT_SERIAL_LIST	0x20
#define KRL_SECTION_CERT_SERIAL_RANGE	0x21
/*
 * A range section costs 1 + 4 + 16 bytes, a serial in the list 8: from
 * three consecutive serials on, a range is smaller.
 */
#define KRL_RANGE_MIN_RUN	3

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int
put_ca_section(struct buf *krl, const struct krl_ca *c)
{
	struct buf *sect = NULL, *list = NULL, *ranges = NULL;
	uint64_t *s = NULL;
	const uint8_t *blob;
	size_t i, j, n = 0, bloblen;
	int r = TSS_E_INTERNAL;

	if (c->ca == NULL || (c->nserials > 0 && c->serials == NULL))
		return TSS_E_INVALID_ARGUMENT;
	if (c->nserials > KRL_MAX_SERIALS)
		return TSS_E_TOO_MANY;
	if (c->nserials == 0)
		return 0;
	if ((s = mem_malloc(c->nserials * sizeof(*s))) == NULL ||
	    (sect = buf_new()) == NULL || (list = buf_new()) == NULL ||
	    (ranges = buf_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	memcpy(s, c->serials, c->nserials * sizeof(*s));
	qsort(s, c->nserials, sizeof(*s), cmp_u64);
	for (i = 0; i < c->nserials; i++) {
		if (s[i] == 0) {
			r = TSS_E_INVALID_ARGUMENT;
			goto out;
		}
		if (n == 0 || s[n - 1] != s[i])
			s[n++] = s[i];
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && s[j] == s[j - 1] + 1; j++)
			;
		if (j - i >= KRL_RANGE_MIN_RUN) {
			if ((r = buf_put_u8(ranges,
			    KRL_SECTION_CERT_SERIAL_RANGE)) != 0 ||
			    (r = buf_put_u32(ranges, 16)) != 0 ||
			    (r = buf_put_u64(ranges, s[i])) != 0 ||
			    (r = buf_put_u64(ranges, s[j - 1])) != 0)
				goto out;
			continue;
		}
		for (; i < j; i++) {
			if ((r = buf_put_u64(list, s[i])) != 0)
				goto out;
		}
	}
	blob = sshkey_blob(c->ca, &bloblen);
	if ((r = buf_put_string(sect, blob, bloblen)) != 0 ||
	    (r = buf_put_cstring(sect, "")) != 0)	/* reserved */
		goto out;
	if (buf_len(list) > 0 &&
	    ((r = buf_put_u8(sect, KRL_SECTION_CERT_SERIAL_LIST)) != 0 ||
	    (r = buf_put_stringb(sect, list)) != 0))
		goto out;
	if ((r = buf_put(sect, buf_ptr(ranges), buf_len(ranges))) != 0 ||
	    (r = buf_put_u8(krl, KRL_SECTION_CERTIFICATES)) != 0 ||
	    (r = buf_put_stringb(krl, sect)) != 0)
		goto out;
	r = 0;
 out:
	free(s);
	buf_free(sect);
	buf_free(list);
	buf_free(ranges);
	return r;
}

int
krl_build(const struct krl_ca *cas, size_t ncas, uint64_t krl_version,
    uint64_t generated, const char *comment, struct buf **krlp)
{
	struct buf *krl = NULL;
	size_t i;
	int r = TSS_E_INTERNAL;

	if (krlp != NULL)
		*krlp = NULL;
	if (krlp == NULL || (ncas > 0 && cas == NULL))
		return TSS_E_INVALID_ARGUMENT;
	if ((krl = buf_new()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = buf_put_u64(krl, KRL_MAGIC)) != 0 ||
	    (r = buf_put_u32(krl, KRL_FORMAT_VERSION)) != 0 ||
	    (r = buf_put_u64(krl, krl_version)) != 0 ||
	    (r = buf_put_u64(krl, generated)) != 0 ||
	    (r = buf_put_u64(krl, 0)) != 0 ||		/* flags */
	    (r = buf_put_cstring(krl, "")) != 0 ||	/* reserved */
	    (r = buf_put_cstring(krl, comment)) != 0)
		goto out;
	for (i = 0; i < ncas; i++) {
		if ((r = put_ca_section(krl, &cas[i])) != 0)
			goto out;
	}
	*krlp = krl;
	krl = NULL;	/* transferred */
	r = 0;
 out:
	buf_free(krl);
	return r;
}
