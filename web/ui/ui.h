/*
 * ui: the browser pages of tesserad (login, enrollment, device approval),
 * compiled into the binary.  The files in web/ui/ are turned into byte
 * arrays at build time by scripts/embed.py (ui_assets.c, generated); this
 * module serves them.  Pages are static: every dynamic part comes from the
 * JSON API through app.js, so the CSP can stay script-src 'self' with no
 * inline script or style.
 *
 * Responses carry the asset's ETag and "Cache-Control: no-cache" (a
 * browser revalidates; If-None-Match with the current ETag gets 304), so
 * a new binary is never hidden behind a stale cached app.js.
 */
#ifndef TSS_UI_H
#define TSS_UI_H

#include <stddef.h>

#include "web/router.h"

struct web_req;
struct web_resp;

/* Route flags for the table: pages get the HTML CSP. */
#define UI_PAGE		(WEB_R_HTML | WEB_R_CACHEABLE | WEB_R_INLINE)
#define UI_ASSET	(WEB_R_CACHEABLE | WEB_R_INLINE)

struct ui_asset {
	const char *path;		/* URL path: "/", "/static/app.js" */
	const char *content_type;	/* "text/html; charset=utf-8" */
	const char *etag;		/* quoted, from the content's hash */
	const unsigned char *data;
	size_t len;
};

/* The generated table (ui_assets.c). */
extern const struct ui_asset ui_assets[];
extern const size_t ui_assets_count;

/* The asset served at path, or NULL. */
const struct ui_asset *ui_asset_find(const char *path);

/* GET handler for every asset path; arg is unused. */
struct web_resp *ui_handle(const struct web_req *req, void *arg);

#endif
