/*
 * Shared by the commands that log in or use a login's certificate
 * (cmd_session.c, cmd_login.c, cmd_ssh.c); each function is defined in the
 * file its name says.
 */
#ifndef TSS_CLI_CMD_SESSION_INT_H
#define TSS_CLI_CMD_SESSION_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

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

#define CMD_PUBKEY_MAX	(16 * 1024)	/* an id.pub or id-cert.pub line */
#define CMD_DEFAULT_ID	"~/.ssh/id_ed25519"	/* the identity by default */

/* Whole small file into a new NUL-terminated string, trailing newlines
 * cut.  0, TSS_E_NOT_FOUND, TSS_E_TOO_LONG (over max bytes), TSS_E_IO or
 * TSS_E_NOMEM. */
int cmd_login_read_small(const char *path, size_t max, char **out);
/*
 * The password and TOTP login (tessera login without --browser): asks
 * what stdin or the terminal must give, saves the session file and makes
 * it c's session.  user NULL: the saved session's, else asked, else $USER.
 * CLI_OK, CLI_FAIL or CLI_USAGE after a message.
 */
int cmd_login_session(struct cli *c, const char *user, int pw_stdin,
    int code_stdin);
/* A POST /v1/certs body; target, login NULL and ttl 0 for "all" and "the
 * server's default".  NULL when out of memory. */
json_t *cmd_login_cert_body(const char *pubkey, const char *target,
    const char *login, int64_t ttl);
/* Write the "certificate" of a POST /v1/certs answer to <id>-cert.pub
 * (0644, atomically).  CLI_OK or CLI_FAIL after a message. */
int cmd_login_save_cert(struct cli *c, const json_t *answer, const char *id);

#endif
