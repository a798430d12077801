/*
 * Routing for tesserad: a static table of {method, pattern, handler, flags}
 * and the strict decoding of request paths.  Pure functions, no I/O, no
 * allocation: the server calls them, tests call them directly.
 *
 * Patterns are literal paths with at most one '*'.  The star captures one
 * or more bytes, slashes included ("/v1/targets/ *" captures "prod/api"),
 * and may be followed by a literal suffix ("/v1/targets/ * /sshd",
 * "/v1/certs/ * /revoke", written without the spaces).  When several
 * patterns match a path, only those with the longest literal part count
 * (so "GET /v1/targets/a/sshd" is the sshd route, and "DELETE" on that path
 * is 405, not "delete the target a/sshd"); among those the first route
 * whose method matches wins, in table order.  A path no pattern matches is
 * 404; a path that matches but never with this method is 405, and the
 * methods that would have matched form the Allow header.
 */
#ifndef TSS_WEB_ROUTER_H
#define TSS_WEB_ROUTER_H

#include <stddef.h>

struct web_req;
struct web_resp;

/*
 * A handler gets the decoded request and the server's handler_arg and
 * returns a response built with web_json()/web_error()/web_text()/...
 * NULL means "could not build one" and becomes a 500.  Handlers run on the
 * server's pool threads: they must not block for long.
 */
typedef struct web_resp *(*web_handler)(const struct web_req *req, void *arg);

/* Route flags. */
#define WEB_R_JSON	0x01	/* a JSON object body is required (400 without) */
#define WEB_R_WRITE	0x02	/* state-changing: cookie callers need web_check_csrf() */
#define WEB_R_HTML	0x04	/* an HTML page: page CSP instead of default-src 'none' */
#define WEB_R_CACHEABLE	0x08	/* no automatic Cache-Control: no-store */
#define WEB_R_INLINE	0x10	/* runs on an I/O thread: never waits (else a worker) */
#define WEB_R_CPU	0x20	/* never waits but computes: one thread per CPU */

struct web_route {
	const char *method;	/* "GET", "POST", ... (exact, upper case) */
	const char *pattern;	/* see above */
	web_handler handler;
	unsigned flags;		/* WEB_R_* */
};

#define WEB_PATH_MAX	2048	/* raw request path, bytes */
#define WEB_ALLOW_MAX	128	/* Allow header buffer */

/*
 * Percent-decode the raw path `raw` into dst (dstlen bytes, NUL-terminated).
 * Refused with TSS_E_BAD_FORMAT: not starting with '/', a bad %XX escape,
 * %00 or any control byte (raw or decoded, DEL included), a "." or ".."
 * segment (raw or decoded).  TSS_E_TOO_LONG when it does not fit.
 */
int web_path_decode(const char *raw, char *dst, size_t dstlen);

/*
 * Match `method` + decoded `path` against routes[0..n).  On success returns
 * 0 with *idx the route and the capture as [*cap_off, *cap_off + *cap_len)
 * of path (length 0 when the pattern has no star).  TSS_E_NOT_FOUND when no
 * pattern matches (404); TSS_E_UNSUPPORTED when patterns match but no method
 * does (405), with the comma-separated methods in allow (allowlen bytes,
 * may be NULL).  Outputs are set only on success, except allow on 405.
 */
int web_route_match(const struct web_route *routes, size_t n,
    const char *method, const char *path, size_t *idx,
    size_t *cap_off, size_t *cap_len, char *allow, size_t allowlen);

#endif
