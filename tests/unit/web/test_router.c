/*
 * Router: pattern matching, specificity, 404/405 with Allow, strict path
 * decoding.  Pure functions, no server.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "web/router.h"

static const struct web_route routes[] = {
	{ "GET", "/healthz", NULL, 0 },
	{ "GET", "/v1/targets", NULL, 0 },
	{ "GET", "/v1/targets/*", NULL, 0 },
	{ "PUT", "/v1/targets/*", NULL, WEB_R_JSON | WEB_R_WRITE },
	{ "DELETE", "/v1/targets/*", NULL, WEB_R_WRITE },
	{ "GET", "/v1/targets/*/sshd", NULL, 0 },
	{ "POST", "/v1/certs", NULL, WEB_R_JSON | WEB_R_WRITE },
	{ "GET", "/v1/certs", NULL, 0 },
	{ "POST", "/v1/certs/*/revoke", NULL, WEB_R_WRITE },
};
#define NR (sizeof(routes) / sizeof(routes[0]))

static int
match(const char *m, const char *p, size_t *idx, char *cap, char *allow)
{
	size_t off = 99, len = 99;
	int r;

	r = web_route_match(routes, NR, m, p, idx, &off, &len, allow,
	    WEB_ALLOW_MAX);
	if (r == 0 && cap != NULL) {
		memcpy(cap, p + off, len);
		cap[len] = '\0';
	}
	return r;
}

Test(web_router, exact_match)
{
	size_t idx = 77;
	char cap[64];

	cr_assert_eq(match("GET", "/healthz", &idx, cap, NULL), 0);
	cr_assert_eq(idx, 0);
	cr_assert_str_eq(cap, "");
}

Test(web_router, wildcard_captures_slashes)
{
	size_t idx = 77;
	char cap[64];

	cr_assert_eq(match("PUT", "/v1/targets/prod/api", &idx, cap, NULL), 0);
	cr_assert_eq(idx, 3);
	cr_assert_str_eq(cap, "prod/api");
}

Test(web_router, wildcard_needs_one_byte)
{
	size_t idx = 77;
	char allow[WEB_ALLOW_MAX];

	cr_assert_eq(match("GET", "/v1/targets/", &idx, NULL, allow),
	    TSS_E_NOT_FOUND);
	cr_assert_eq(idx, 77);
}

Test(web_router, suffix_route_wins)
{
	size_t idx = 77;
	char cap[64];

	cr_assert_eq(match("GET", "/v1/targets/prod/api/sshd", &idx, cap,
	    NULL), 0);
	cr_assert_eq(idx, 5);
	cr_assert_str_eq(cap, "prod/api");
}

Test(web_router, suffix_route_wrong_method_is_405)
{
	size_t idx = 77;
	char allow[WEB_ALLOW_MAX];

	cr_assert_eq(match("DELETE", "/v1/targets/a/sshd", &idx, NULL, allow),
	    TSS_E_UNSUPPORTED);
	cr_assert_str_eq(allow, "GET");
	cr_assert_eq(idx, 77);
}

Test(web_router, revoke_capture)
{
	size_t idx = 77;
	char cap[64];

	cr_assert_eq(match("POST", "/v1/certs/42/revoke", &idx, cap, NULL), 0);
	cr_assert_eq(idx, 8);
	cr_assert_str_eq(cap, "42");
}

Test(web_router, unknown_path_404)
{
	size_t idx = 77;
	char allow[WEB_ALLOW_MAX];

	cr_assert_eq(match("GET", "/nope", &idx, NULL, allow),
	    TSS_E_NOT_FOUND);
	cr_assert_str_eq(allow, "");
	cr_assert_eq(match("GET", "/healthz/", &idx, NULL, allow),
	    TSS_E_NOT_FOUND);
}

Test(web_router, wrong_method_405_lists_allow)
{
	size_t idx = 77;
	char allow[WEB_ALLOW_MAX];

	cr_assert_eq(match("PATCH", "/v1/targets/x", &idx, NULL, allow),
	    TSS_E_UNSUPPORTED);
	cr_assert_str_eq(allow, "GET, PUT, DELETE");
	cr_assert_eq(match("DELETE", "/v1/certs", &idx, NULL, allow),
	    TSS_E_UNSUPPORTED);
	cr_assert_str_eq(allow, "POST, GET");
}

Test(web_router, method_is_case_sensitive)
{
	size_t idx = 77;
	char allow[WEB_ALLOW_MAX];

	cr_assert_eq(match("get", "/healthz", &idx, NULL, allow),
	    TSS_E_UNSUPPORTED);
	cr_assert_str_eq(allow, "GET");
}

static int
dec(const char *raw, char *out)
{
	return web_path_decode(raw, out, WEB_PATH_MAX + 1);
}

Test(web_path, decodes_percent)
{
	char out[WEB_PATH_MAX + 1];

	cr_assert_eq(dec("/v1/targets/prod%2Fapi%20x", out), 0);
	cr_assert_str_eq(out, "/v1/targets/prod/api x");
}

Test(web_path, refuses_nul)
{
	char out[WEB_PATH_MAX + 1] = "unchanged";

	cr_assert_eq(dec("/v1/a%00b", out), TSS_E_BAD_FORMAT);
	cr_assert_str_eq(out, "");
}

Test(web_path, refuses_control_bytes)
{
	char out[WEB_PATH_MAX + 1];

	cr_assert_eq(dec("/v1/a%0Ab", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/a%0db", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/a%7Fb", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/a\tb", out), TSS_E_BAD_FORMAT);
}

Test(web_path, refuses_dot_segments)
{
	char out[WEB_PATH_MAX + 1];

	cr_assert_eq(dec("/v1/../etc", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/%2e%2e/etc", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/targets/a/..", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/targets/a%2F..", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/./x", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/..", out), TSS_E_BAD_FORMAT);
}

Test(web_path, allows_dots_inside_names)
{
	char out[WEB_PATH_MAX + 1];

	cr_assert_eq(dec("/v1/targets/a..b/.c/d.", out), 0);
	cr_assert_str_eq(out, "/v1/targets/a..b/.c/d.");
}

Test(web_path, refuses_bad_escapes)
{
	char out[WEB_PATH_MAX + 1];

	cr_assert_eq(dec("/v1/a%", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/a%4", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("/v1/a%zz", out), TSS_E_BAD_FORMAT);
	cr_assert_eq(dec("v1/a", out), TSS_E_BAD_FORMAT);
}

Test(web_path, refuses_too_long)
{
	char raw[WEB_PATH_MAX + 8], out[WEB_PATH_MAX + 1];

	memset(raw, 'a', sizeof(raw) - 1);
	raw[0] = '/';
	raw[sizeof(raw) - 1] = '\0';
	cr_assert_eq(dec(raw, out), TSS_E_TOO_LONG);
	cr_assert_eq(web_path_decode("/abcdef", out, 4), TSS_E_TOO_LONG);
}
