/*
 * Shared by cmd_session.c and cmd_login.c only; defined in cmd_session.c.
 */
#ifndef TSS_CLI_CMD_SESSION_INT_H
#define TSS_CLI_CMD_SESSION_INT_H

#include <stddef.h>

struct cli;

#define CODE_MAX	128	/* a TOTP or recovery code as typed */

/*
 * Read a secret (what, e.g. "password") into buf: from stdin when
 * from_stdin, else from the terminal without echo after prompt.  CLI_OK,
 * or CLI_FAIL after a message (one that names flag when there is no
 * terminal); an empty answer is refused.
 */
int cmd_session_read_secret(struct cli *c, int from_stdin, const char *prompt,
    const char *what, const char *flag, char *buf, size_t len);

#endif
