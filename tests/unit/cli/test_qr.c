/* Terminal QR codes: square, quiet zone of 4 modules, dark-on-light, and
 * the drawing decodes back to libqrencode's matrix. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <qrencode.h>

#include "qr.h"

static const char uri[] = "otpauth://totp/Tessera:alice?secret="
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Tessera&algorithm=SHA1"
    "&digits=6&period=30";

#define UPPER	"\xe2\x96\x80"
#define LOWER	"\xe2\x96\x84"
#define FULL	"\xe2\x96\x88"

/* Split a drawing into cells: per line, per column one of ' ', 'U', 'L',
 * 'F'.  Returns the number of lines; widths in w[]. */
static int
cells(const char *s, int ansi, char grid[128][128], int w[128])
{
	int line = 0, col = 0;

	while (*s != '\0') {
		cr_assert_lt(line, 128);
		if (ansi && *s == '\033') {
			s = strchr(s, 'm');
			cr_assert_not_null(s);
			s++;
			continue;
		}
		if (*s == '\n') {
			w[line++] = col;
			col = 0;
			s++;
			continue;
		}
		cr_assert_lt(col, 128);
		if (*s == ' ') {
			grid[line][col++] = ' ';
			s++;
		} else if (strncmp(s, UPPER, 3) == 0) {
			grid[line][col++] = 'U';
			s += 3;
		} else if (strncmp(s, LOWER, 3) == 0) {
			grid[line][col++] = 'L';
			s += 3;
		} else if (strncmp(s, FULL, 3) == 0) {
			grid[line][col++] = 'F';
			s += 3;
		} else
			cr_assert_fail("unexpected byte 0x%02x", *s);
	}
	return line;
}

/* Whether the drawn cell shows ink at the top (half 0) or bottom. */
static int
ink(char cell, int half)
{
	return cell == 'F' || (half == 0 ? cell == 'U' : cell == 'L');
}

static void
check(int ansi)
{
	static char grid[128][128];
	int w[128], lines, n, size, x, y, d, want;
	char *out = NULL;
	QRcode *q;

	cr_assert_eq(qr_render(uri, ansi, &out, &n), 0);
	q = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	cr_assert_not_null(q);
	cr_assert_eq(n, q->width);
	size = n + 2 * QR_QUIET;
	lines = cells(out, ansi, grid, w);
	/* square: size columns, size module rows in (size + 1) / 2 lines */
	cr_assert_eq(lines, (size + 1) / 2);
	for (y = 0; y < lines; y++)
		cr_assert_eq(w[y], size, "line %d is %d wide", y, w[y]);
	for (y = 0; y < size; y++) {
		for (x = 0; x < size; x++) {
			d = x >= QR_QUIET && y >= QR_QUIET &&
			    x < QR_QUIET + n && y < QR_QUIET + n &&
			    (q->data[(y - QR_QUIET) * n + (x - QR_QUIET)] & 1);
			/* with colours the dark modules are inked; without,
			 * the light ones (quiet zone included) */
			want = ansi ? d : !d;
			cr_assert_eq(ink(grid[y / 2][x], y % 2), want,
			    "module %d,%d", x, y);
		}
	}
	QRcode_free(q);
	free(out);
}

Test(cli_qr, plain_drawing_matches_the_matrix)
{
	check(0);
}

Test(cli_qr, ansi_drawing_matches_the_matrix)
{
	check(1);
}

Test(cli_qr, quiet_zone_is_light_on_every_side)
{
	static char grid[128][128];
	int w[128], lines, n, size, x, y;
	char *out = NULL;

	cr_assert_eq(qr_render(uri, 0, &out, &n), 0);
	size = n + 2 * QR_QUIET;
	lines = cells(out, 0, grid, w);
	/* plain mode draws light: the top two lines are full blocks */
	for (y = 0; y < QR_QUIET / 2; y++)
		for (x = 0; x < size; x++)
			cr_assert_eq(grid[y][x], 'F');
	for (y = 0; y < lines; y++)
		for (x = 0; x < QR_QUIET; x++) {
			cr_assert(ink(grid[y][x], 0));
			cr_assert(ink(grid[y][size - 1 - x], 0));
		}
	free(out);
}

Test(cli_qr, ansi_lines_set_black_on_white_and_reset)
{
	char *out = NULL, *line, *save = NULL;

	cr_assert_eq(qr_render("hello", 1, &out, NULL), 0);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		cr_assert(strncmp(line, "\033[30;107m", 9) == 0);
		cr_assert(strcmp(line + strlen(line) - 4, "\033[0m") == 0);
	}
	free(out);
}
