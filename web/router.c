/*
 * Route matching and path decoding; see router.h.
 */
#include <stddef.h>
#include <string.h>

#include "common/enc.h"
#include "common/err.h"
#include "web/router.h"

/* A "." or ".." segment ending at dst[end] (exclusive), starting at seg. */
static int
dot_segment(const char *dst, size_t seg, size_t end)
{
	size_t n = end - seg;

	if (n == 1 && dst[seg] == '.')
		return 1;
	if (n == 2 && dst[seg] == '.' && dst[seg + 1] == '.')
		return 1;
	return 0;
}

static int
path_decode(const char *raw, char *dst, size_t dstlen)
{
	size_t i, o = 0, seg = 1, rawlen;
	int hi, lo;
	unsigned char c;

	rawlen = strnlen(raw, WEB_PATH_MAX + 1);
	if (rawlen > WEB_PATH_MAX)
		return TSS_E_TOO_LONG;
	if (raw[0] != '/')
		return TSS_E_BAD_FORMAT;
	for (i = 0; i < rawlen; i++) {
		c = (unsigned char)raw[i];
		if (c == '%') {
			if (i + 2 >= rawlen)
				return TSS_E_BAD_FORMAT;
			if ((hi = hex_value(raw[i + 1])) < 0 ||
			    (lo = hex_value(raw[i + 2])) < 0)
				return TSS_E_BAD_FORMAT;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return TSS_E_BAD_FORMAT;
		if (o + 1 >= dstlen)
			return TSS_E_TOO_LONG;
		if (c == '/' && o > 0) {
			if (dot_segment(dst, seg, o))
				return TSS_E_BAD_FORMAT;
			seg = o + 1;
		}
		dst[o++] = (char)c;
	}
	if (dot_segment(dst, seg, o))
		return TSS_E_BAD_FORMAT;
	dst[o] = '\0';
	return 0;
}

int
web_path_decode(const char *raw, char *dst, size_t dstlen)
{
	int r;

	if (raw == NULL || dst == NULL || dstlen == 0)
		return TSS_E_INVALID_ARGUMENT;
	/* A refused path leaves no partial decoding behind. */
	if ((r = path_decode(raw, dst, dstlen)) != 0)
		dst[0] = '\0';
	return r;
}

/*
 * Does `path` match `pattern`?  Returns the literal length of the pattern
 * (+1, so a match is always > 0) and the capture, or 0 for no match.
 */
static size_t
pattern_match(const char *pattern, const char *path, size_t *cap_off,
    size_t *cap_len)
{
	const char *star = strchr(pattern, '*');
	size_t plen = strlen(path), pre, suf;

	if (star == NULL) {
		if (strcmp(pattern, path) != 0)
			return 0;
		*cap_off = 0;
		*cap_len = 0;
		return strlen(pattern) + 1;
	}
	pre = (size_t)(star - pattern);
	suf = strlen(star + 1);
	/* The star captures at least one byte. */
	if (plen < pre + suf + 1)
		return 0;
	if (strncmp(pattern, path, pre) != 0 ||
	    strcmp(star + 1, path + plen - suf) != 0)
		return 0;
	*cap_off = pre;
	*cap_len = plen - pre - suf;
	return pre + suf + 1;
}

/* Append ", m" (or "m") to allow unless already there; truncation is safe. */
static void
allow_add(char *allow, size_t allowlen, const char *m)
{
	size_t used, mlen = strlen(m);
	const char *p;

	if (allow == NULL || allowlen == 0)
		return;
	/* Already listed?  Methods are whole tokens separated by ", ". */
	for (p = allow; (p = strstr(p, m)) != NULL; p += mlen) {
		if ((p == allow || p[-1] == ' ') &&
		    (p[mlen] == '\0' || p[mlen] == ','))
			return;
	}
	used = strlen(allow);
	if (used + (used ? 2 : 0) + mlen + 1 > allowlen)
		return;
	if (used) {
		memcpy(allow + used, ", ", 2);
		used += 2;
	}
	memcpy(allow + used, m, mlen + 1);
}

int
web_route_match(const struct web_route *routes, size_t n,
    const char *method, const char *path, size_t *idx,
    size_t *cap_off, size_t *cap_len, char *allow, size_t allowlen)
{
	size_t i, best = 0, lit, off = 0, len = 0, found = n, f_off = 0, f_len = 0;

	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	if (routes == NULL || method == NULL || path == NULL || idx == NULL ||
	    cap_off == NULL || cap_len == NULL)
		return TSS_E_INVALID_ARGUMENT;
	/* Pass 1: the most specific matching pattern length. */
	for (i = 0; i < n; i++) {
		lit = pattern_match(routes[i].pattern, path, &off, &len);
		if (lit > best)
			best = lit;
	}
	if (best == 0)
		return TSS_E_NOT_FOUND;
	/* Pass 2: among those, the first with this method; collect Allow. */
	for (i = 0; i < n; i++) {
		if (pattern_match(routes[i].pattern, path, &off, &len) != best)
			continue;
		allow_add(allow, allowlen, routes[i].method);
		if (found == n && strcmp(routes[i].method, method) == 0) {
			found = i;
			f_off = off;
			f_len = len;
		}
	}
	if (found == n)
		return TSS_E_UNSUPPORTED;
	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	*idx = found;
	*cap_off = f_off;
	*cap_len = f_len;
	return 0;
}
