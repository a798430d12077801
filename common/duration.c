/* Duration parsing and formatting for config values and CLI flags. */
#include <stdio.h>

#include "duration.h"
#include "err.h"

int
duration_parse(const char *s, int64_t *out)
{
	int64_t v = 0, mult = 1;
	size_t i = 0;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return TSS_E_DURATION;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (DURATION_MAX - (s[i] - '0')) / 10)
			return TSS_E_OVERFLOW;
		v = v * 10 + (s[i] - '0');
	}
	switch (s[i]) {
	case '\0': mult = 1; break;
	case 's': mult = 1; i++; break;
	case 'm': mult = 60; i++; break;
	case 'h': mult = 3600; i++; break;
	case 'd': mult = 86400; i++; break;
	default: return TSS_E_DURATION;
	}
	if (s[i] != '\0')
		return TSS_E_DURATION;
	if (v > DURATION_MAX / mult)
		return TSS_E_OVERFLOW;
	*out = v * mult;
	return 0;
}

void
duration_format(int64_t secs, char *buf, size_t len)
{
	static const struct { int64_t n; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs != 0 && secs % units[i].n == 0) {
			snprintf(buf, len, "%lld%c",
			    (long long)(secs / units[i].n), units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%llds", (long long)secs);
}
