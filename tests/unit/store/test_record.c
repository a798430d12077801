/* Record header: round trip and every refusal. */
#include <string.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/err.h"
#include "store/record.h"

Test(store_record, round_trip)
{
	struct buf *b = buf_new(), *view = NULL;
	uint8_t ver = 0;
	uint32_t x = 0;

	cr_assert_not_null(b);
	cr_assert_eq(rec_begin(b, 'U', 2), 0);
	cr_assert_eq(buf_put_u32(b, 0xdeadbeef), 0);
	cr_assert_eq(buf_len(b), 7);
	cr_assert_eq(memcmp(buf_ptr(b), "TU\x02", 3), 0);
	cr_assert_eq(rec_open(buf_ptr(b), buf_len(b), 'U', 3, &view, &ver), 0);
	cr_assert_eq(ver, 2);
	cr_assert_eq(buf_get_u32(view, &x), 0);
	cr_assert_eq(x, 0xdeadbeef);
	cr_assert_eq(buf_len(view), 0);
	buf_free(view);
	buf_free(b);
}

Test(store_record, header_only_gives_an_empty_view)
{
	struct buf *view = NULL;
	uint8_t ver;

	cr_assert_eq(rec_open("TA\x01", 3, 'A', 1, &view, &ver), 0);
	cr_assert_eq(buf_len(view), 0);
	cr_assert_eq(ver, 1);
	buf_free(view);
}

Test(store_record, wrong_magic_is_bad_format)
{
	struct buf *view = (struct buf *)1;
	uint8_t ver = 9;

	cr_assert_eq(rec_open("XU\x01" "abc", 6, 'U', 1, &view, &ver),
	    TSS_E_BAD_FORMAT);
	cr_assert_null(view);
	cr_assert_eq(ver, 0);
}

Test(store_record, wrong_type_is_bad_format)
{
	struct buf *view = NULL;
	uint8_t ver;

	cr_assert_eq(rec_open("TS\x01" "abc", 6, 'U', 1, &view, &ver),
	    TSS_E_BAD_FORMAT);
	cr_assert_null(view);
}

Test(store_record, version_zero_is_bad_format)
{
	struct buf *view = NULL;
	uint8_t ver;

	cr_assert_eq(rec_open("TU\x00", 3, 'U', 1, &view, &ver),
	    TSS_E_BAD_FORMAT);
	cr_assert_null(view);
}

Test(store_record, newer_version_is_refused)
{
	struct buf *view = NULL;
	uint8_t ver;

	cr_assert_eq(rec_open("TU\x03" "abc", 6, 'U', 2, &view, &ver),
	    TSS_E_RECORD_VERSION);
	cr_assert_null(view);
	cr_assert_eq(ver, 0);
}

Test(store_record, truncated_header_is_refused)
{
	struct buf *view = NULL;
	uint8_t ver;
	size_t len;

	for (len = 0; len < 3; len++) {
		cr_assert_eq(rec_open("TU\x01", len, 'U', 1, &view, &ver),
		    TSS_E_TRUNCATED, "len %zu", len);
		cr_assert_null(view);
	}
	cr_assert_eq(rec_open(NULL, 0, 'U', 1, &view, &ver),
	    TSS_E_TRUNCATED);
}

Test(store_record, begin_needs_an_empty_buffer)
{
	struct buf *b = buf_new();

	cr_assert_eq(buf_put_u8(b, 1), 0);
	cr_assert_eq(rec_begin(b, 'U', 1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_len(b), 1);
	buf_reset(b);
	cr_assert_eq(rec_begin(b, 'U', 0), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(buf_len(b), 0);
	cr_assert_eq(rec_begin(NULL, 'U', 1), TSS_E_INVALID_ARGUMENT);
	buf_free(b);
}
