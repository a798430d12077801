#include <criterion/criterion.h>
#include <stdint.h>

#include "common/duration.h"
#include "common/err.h"

Test(duration, good_inputs)
{
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "0", 0 }, { "90", 90 }, { "90s", 90 }, { "15m", 900 },
		{ "8h", 28800 }, { "1d", 86400 }, { "36500d", DURATION_MAX },
	};
	size_t i;
	int64_t v;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		cr_expect_eq(duration_parse(ok[i].s, &v), 0, "%s", ok[i].s);
		cr_expect_eq(v, ok[i].v, "%s: %lld", ok[i].s, (long long)v);
	}
}

Test(duration, bad_inputs_leave_output_alone)
{
	static const struct { const char *s; int r; } bad[] = {
		{ "", TSS_E_DURATION }, { "s", TSS_E_DURATION },
		{ "-1s", TSS_E_DURATION }, { "+1s", TSS_E_DURATION },
		{ " 1s", TSS_E_DURATION }, { "1s ", TSS_E_DURATION },
		{ "1w", TSS_E_DURATION }, { "1ss", TSS_E_DURATION },
		{ "1.5h", TSS_E_DURATION }, { "1e9", TSS_E_DURATION },
		{ "36501d", TSS_E_OVERFLOW },
		{ "9223372036854775807", TSS_E_OVERFLOW },
		{ "18446744073709551616s", TSS_E_OVERFLOW },
		{ "99999999999999999999999999d", TSS_E_OVERFLOW },
	};
	size_t i;
	int64_t v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		cr_expect_eq(duration_parse(bad[i].s, &v), bad[i].r, "'%s'",
		    bad[i].s);
		cr_expect_eq(v, 42, "'%s' changed output", bad[i].s);
	}
	cr_expect_eq(duration_parse(NULL, &v), TSS_E_DURATION);
}

Test(duration, format_round_trips)
{
	static const int64_t vals[] = { 0, 1, 59, 60, 90, 3600, 5400, 86400,
	    90000, DURATION_MAX };
	char buf[24];
	int64_t back;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		duration_format(vals[i], buf, sizeof(buf));
		cr_assert_eq(duration_parse(buf, &back), 0, "%s", buf);
		cr_expect_eq(back, vals[i], "%s", buf);
	}
	duration_format(5400, buf, sizeof(buf));
	cr_expect_str_eq(buf, "90m");
	duration_format(86400, buf, sizeof(buf));
	cr_expect_str_eq(buf, "1d");
}
