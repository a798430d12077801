/*
 * libFuzzer harness for the HTTP edge's path handling (web/router.h): the
 * strict percent-decoding of request paths and the route match, over a
 * table shaped like tesserad's (literal routes, captures with and without
 * a suffix, several methods on one pattern).
 *
 * Input: the first byte picks a method, the rest is the raw path.
 * Invariants: a decoded path starts with '/', holds no control byte and
 * no "." or ".." segment and is no longer than the raw one; a refusal
 * leaves dst empty; a match names a route whose method is the one asked,
 * with a capture inside the path; 405 lists only methods of routes whose
 * pattern matched, never the one asked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "web/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const struct web_route routes[] = {
	{ "GET", "/healthz", NULL, 0 },
	{ "GET", "/v1/me", NULL, 0 },
	{ "POST", "/v1/certs", NULL, 0 },
	{ "GET", "/v1/certs", NULL, 0 },
	{ "POST", "/v1/certs/*/revoke", NULL, 0 },
	{ "GET", "/v1/users/*", NULL, 0 },
	{ "PATCH", "/v1/users/*", NULL, 0 },
	{ "DELETE", "/v1/users/*", NULL, 0 },
	{ "POST", "/v1/users/*/reset", NULL, 0 },
	{ "PUT", "/v1/targets/*", NULL, 0 },
	{ "DELETE", "/v1/targets/*", NULL, 0 },
	{ "GET", "/v1/targets/*/sshd", NULL, 0 },
	{ "GET", "/*", NULL, 0 },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static const char *methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE",
    "HEAD" };

/* No "." or ".." between slashes. */
static int
dot_free(const char *p)
{
	const char *seg = p + 1, *end;
	size_t n;

	for (;;) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (end == NULL)
			return 1;
		seg = end + 1;
	}
}

static void
check_match(const char *method, const char *path)
{
	char allow[WEB_ALLOW_MAX];
	const char *p, *q;
	size_t idx = 999, off = 999, len = 999, plen = strlen(path), i;
	int r;

	allow[0] = '\0';
	r = web_route_match(routes, NROUTES, method, path, &idx, &off, &len,
	    allow, sizeof(allow));
	if (r == 0) {
		CHECK(idx < NROUTES);
		CHECK(strcmp(routes[idx].method, method) == 0);
		CHECK(off <= plen && len <= plen - off);
		CHECK(strchr(routes[idx].pattern, '*') != NULL || len == 0);
	} else if (r == TSS_E_UNSUPPORTED) {
		CHECK(idx == 999 && off == 999 && len == 999);
		CHECK(allow[0] != '\0');
		/* Each listed method is a route's, and not the one asked. */
		for (p = allow; *p != '\0'; p = *q != '\0' ? q + 2 : q) {
			q = strchr(p, ',');
			q = q != NULL ? q : p + strlen(p);
			CHECK((size_t)(q - p) != strlen(method) ||
			    strncmp(p, method, (size_t)(q - p)) != 0);
			for (i = 0; i < NROUTES; i++)
				if (strlen(routes[i].method) == (size_t)(q - p) &&
				    strncmp(routes[i].method, p,
				    (size_t)(q - p)) == 0)
					break;
			CHECK(i < NROUTES);
		}
	} else
		CHECK(r == TSS_E_NOT_FOUND && idx == 999 && off == 999 &&
		    len == 999);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw, dst[WEB_PATH_MAX + 1];
	const char *method;
	size_t i;
	int r;

	if (size < 1)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	if ((raw = malloc(size)) == NULL)
		return 0;
	memcpy(raw, data + 1, size - 1);
	raw[size - 1] = '\0';

	memset(dst, 'x', sizeof(dst));
	r = web_path_decode(raw, dst, sizeof(dst));
	if (r == 0) {
		CHECK(dst[0] == '/');
		CHECK(strlen(dst) <= strlen(raw));
		for (i = 0; dst[i] != '\0'; i++)
			CHECK((unsigned char)dst[i] >= 0x20 &&
			    (unsigned char)dst[i] != 0x7f);
		CHECK(dot_free(dst));
		check_match(method, dst);
	} else {
		CHECK(r == TSS_E_BAD_FORMAT || r == TSS_E_TOO_LONG);
		CHECK(dst[0] == '\0');
	}
	free(raw);
	return 0;
}
