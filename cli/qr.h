/*
 * qr: a QR code drawn in a terminal, for the TOTP enrollment URI.
 *
 * libqrencode makes the matrix (error correction level M); each text line
 * holds two module rows drawn with the UTF-8 half blocks U+2580 (upper),
 * U+2584 (lower) and U+2588 (full), one column per module, with a quiet
 * zone of QR_QUIET modules on every side, so a phone camera reads it.
 *
 * A camera wants dark modules on a light ground.  With ansi != 0 every line
 * sets black on bright white and draws the dark modules, which is right on
 * any terminal theme.  Without colours the light modules (quiet zone
 * included) are the ones drawn, which is dark-on-light on the usual dark
 * terminal background.
 */
#ifndef TSS_CLI_QR_H
#define TSS_CLI_QR_H

#define QR_QUIET	4

/* *out: the drawing, lines ending in '\n' (caller frees).  *modules (may
 * be NULL) gets the symbol's width in modules, without the quiet zone. */
int qr_render(const char *text, int ansi, char **out, int *modules);

#endif
