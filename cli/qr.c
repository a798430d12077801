/*
 * qr: terminal QR codes (see qr.h).
 */
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "common/err.h"
#include "common/mem.h"
#include "qr.h"

#define ANSI_ON		"\033[30;107m"	/* black on bright white */
#define ANSI_OFF	"\033[0m"
#define UPPER		"\xe2\x96\x80"	/* U+2580 */
#define LOWER		"\xe2\x96\x84"	/* U+2584 */
#define FULL		"\xe2\x96\x88"	/* U+2588 */

/* Whether module (x, y) of the padded symbol is dark; outside is light. */
static int
dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[(size_t)y * (size_t)q->width + (size_t)x] & 1;
}

int
qr_render(const char *text, int ansi, char **out, int *modules)
{
	QRcode *q = NULL;
	char *buf = NULL, *p;
	const char *cell;
	size_t cap, linecap;
	int w, x, y, top, bot, r = TSS_E_INTERNAL;

	*out = NULL;
	if (modules != NULL)
		*modules = 0;
	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1))
	    == NULL) {
		r = TSS_E_TOO_LONG;
		goto out;
	}
	w = q->width + 2 * QR_QUIET;
	linecap = (size_t)w * 3 + sizeof(ANSI_ON) + sizeof(ANSI_OFF) + 1;
	cap = linecap * (size_t)((w + 1) / 2) + 1;
	if ((buf = mem_malloc(cap)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	p = buf;
	for (y = 0; y < w; y += 2) {
		if (ansi) {
			memcpy(p, ANSI_ON, sizeof(ANSI_ON) - 1);
			p += sizeof(ANSI_ON) - 1;
		}
		for (x = 0; x < w; x++) {
			top = dark(q, x, y);
			/* Past the last row: the ground (light), or with no
			 * colours the terminal's own background. */
			bot = y + 1 < w ? dark(q, x, y + 1) : !ansi;
			if (!ansi) {
				/* draw the light modules */
				top = !top;
				bot = !bot;
			}
			cell = top && bot ? FULL : top ? UPPER : bot ? LOWER :
			    " ";
			memcpy(p, cell, strlen(cell));
			p += strlen(cell);
		}
		if (ansi) {
			memcpy(p, ANSI_OFF, sizeof(ANSI_OFF) - 1);
			p += sizeof(ANSI_OFF) - 1;
		}
		*p++ = '\n';
	}
	*p = '\0';
	if (modules != NULL)
		*modules = q->width;
	*out = buf;
	buf = NULL;
	r = 0;
 out:
	free(buf);
	QRcode_free(q);
	return r;
}
