/* Serving the embedded UI assets.  See ui.h. */
#include <string.h>

#include "web/server.h"
#include "web/ui/ui.h"

const struct ui_asset *
ui_asset_find(const char *path)
{
	size_t i;

	if (path == NULL)
		return NULL;
	for (i = 0; i < ui_assets_count; i++)
		if (strcmp(ui_assets[i].path, path) == 0)
			return &ui_assets[i];
	return NULL;
}

/* Does an If-None-Match list name etag (or "*")? */
static int
etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;

	if (inm == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '*' || (strncmp(p, etag, el) == 0 &&
		    (p[el] == '\0' || p[el] == ',' || p[el] == ' ')))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

struct web_resp *
ui_handle(const struct web_req *req, void *arg)
{
	const struct ui_asset *as = ui_asset_find(web_req_path(req));
	struct web_resp *resp;

	(void)arg;
	if (as == NULL)
		return web_error(404, "not_found", "no such page");
	if (etag_matches(web_req_header(req, "If-None-Match"), as->etag))
		resp = web_empty(304);
	else
		resp = web_text(200, as->content_type, as->data, as->len);
	if (resp != NULL &&
	    (web_resp_header(resp, "ETag", as->etag) != 0 ||
	    web_resp_header(resp, "Cache-Control", "no-cache") != 0)) {
		web_resp_free(resp);
		return NULL;
	}
	return resp;
}
