/*
 * record: the versioned header of every stored value ('T', type, version)
 * and the check a reader makes before it decodes fields.  See record.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "record.h"

#define REC_MAGIC	'T'
#define REC_HDR_LEN	3

int
rec_begin(struct buf *b, uint8_t type, uint8_t version)
{
	int r = TSS_E_INTERNAL;

	if (b == NULL || buf_len(b) != 0 || version == 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = buf_put_u8(b, REC_MAGIC)) != 0 ||
	    (r = buf_put_u8(b, type)) != 0 ||
	    (r = buf_put_u8(b, version)) != 0) {
		buf_reset(b);
		return r;
	}
	return 0;
}

int
rec_open(const void *p, size_t len, uint8_t type, uint8_t maxver,
    struct buf **view, uint8_t *version)
{
	struct buf *b = NULL;
	uint8_t magic, t, v;
	int r = TSS_E_INTERNAL;

	if (view != NULL)
		*view = NULL;
	if (version != NULL)
		*version = 0;
	if ((p == NULL && len != 0) || view == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (len < REC_HDR_LEN) {
		r = TSS_E_TRUNCATED;
		goto out;
	}
	if ((b = buf_from(p, len)) == NULL)
		return TSS_E_NOMEM;
	if ((r = buf_get_u8(b, &magic)) != 0 ||
	    (r = buf_get_u8(b, &t)) != 0 ||
	    (r = buf_get_u8(b, &v)) != 0)
		goto out;
	if (magic != REC_MAGIC || t != type || v == 0) {
		log_debug("record: header %02x/%02x/%u, want 'T'/%02x",
		    magic, t, v, type);
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (v > maxver) {
		log_debug("record: type %02x version %u, this program reads "
		    "up to %u", t, v, maxver);
		r = TSS_E_RECORD_VERSION;
		goto out;
	}
	*view = b;
	b = NULL;
	if (version != NULL)
		*version = v;
	r = 0;
 out:
	buf_free(b);
	return r;
}
