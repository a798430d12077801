/*
 * gateway: what `tessera gateway` decides, apart from the I/O (so unit
 * tests reach every refusal).  A principal "login@target" names a POSIX
 * login and a target (rbac_valid_login, rbac_valid_target_name); any other
 * principal is ignored.  Refusals are TSS_E_FORBIDDEN with the message for
 * the engineer in err (no secret, only names already validated).
 */
#ifndef TSS_CLI_GATEWAY_H
#define TSS_CLI_GATEWAY_H

#include <stddef.h>

#include "rbac/rbac.h"

struct certinfo;

#define GATEWAY_LABEL	"tessera.target"
#define GATEWAY_ERR_MAX	512

struct gateway_choice {
	char login[RBAC_LOGIN_MAX + 1];
	char target[RBAC_NAME_MAX + 1];
	/* For the exec, pointing into the certificate or the environment:
	 * argv[0..2] ("/bin/sh" "-c" command, or "/bin/sh" "-l"), NULL-ended. */
	const char *argv[4];
	int forced;		/* the certificate's force-command won */
};

/* 0 and the parts when p is "login@target" with valid names, else
 * TSS_E_VALIDATION (parts left empty). */
int gateway_split(const char *p, char login[RBAC_LOGIN_MAX + 1],
    char target[RBAC_NAME_MAX + 1]);

/*
 * The certificate that authenticated, from the text of sshd's ExposeAuthInfo
 * file (lines "publickey TYPE BASE64", other methods' lines ignored):
 * exactly one certificate must be there.  TSS_E_NOT_FOUND (none),
 * TSS_E_TOO_MANY, TSS_E_INVALID_PUBLIC_KEY, TSS_E_NOMEM.
 */
int gateway_auth_cert(const char *text, size_t len, struct certinfo **cip);

/*
 * Choose login@target among the certificate's principals: want_target and
 * want_login (TESSERA_TARGET, TESSERA_LOGIN; NULL or "" when unset)
 * narrow them, and must leave exactly one.  Then the command: the
 * certificate's force-command, else command (SSH_ORIGINAL_COMMAND, NULL
 * when none), both through /bin/sh -c in the container, else a login
 * shell.  0, TSS_E_FORBIDDEN with err set, TSS_E_VALIDATION for a bad
 * TESSERA_TARGET/TESSERA_LOGIN (err set).
 */
int gateway_choose(const struct certinfo *ci, const char *want_target,
    const char *want_login, const char *command, struct gateway_choice *out,
    char err[GATEWAY_ERR_MAX]);

/* n running containers labelled for target: 0 when n is 1, else
 * TSS_E_FORBIDDEN with the message in err. */
int gateway_one_container(size_t n, const char *target,
    char err[GATEWAY_ERR_MAX]);

#endif
