/*
 * cmd_ssh internals, shared with the unit tests (tests/unit/cli): the
 * route answer, the argv of the system ssh, the known_hosts file of the
 * host CA and the ssh_config block, all without the network.
 */
#ifndef TSS_CLI_CMD_SSH_INT_H
#define TSS_CLI_CMD_SSH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "rbac/rbac.h"

#define CMD_SSH_LOGINS_MAX	64

/* GET /v1/targets/<name>/route, checked as the server checks what it
 * stores (rbac_valid_*), so every name is safe on an ssh command line and
 * in an ssh_config line. */
struct cmd_ssh_route {
	char *target;
	char *hosts[RBAC_HOSTS_MAX];
	size_t nhosts;
	long port;
	char *gw_host;			/* NULL: direct */
	long gw_port;
	char *logins[CMD_SSH_LOGINS_MAX];
	size_t nlogins;
};

/* What the user chose and where the files are. */
struct cmd_ssh_call {
	const char *ssh;		/* the ssh binary */
	const char *identity;		/* private key file */
	const char *cert;		/* <identity>-cert.pub */
	const char *known_hosts;
	const char *login;
	int tty;			/* -t */
	char **command;			/* after "--"; ncommand words */
	size_t ncommand;
};

/*
 * Fill rt from a route answer.  0, or TSS_E_BAD_FORMAT with err naming the
 * field (a host that is not a host name or address, a login or target
 * name the server would not make, a port outside 1..65535, a gateway not
 * "host:port"), or TSS_E_NOMEM.  rt is cleared first; clear it with
 * cmd_ssh_route_clear whatever the result.
 */
int cmd_ssh_route_parse(const json_t *j, struct cmd_ssh_route *rt,
    char *err, size_t errlen);
void cmd_ssh_route_clear(struct cmd_ssh_route *rt);
/* The host ssh connects to (hosts[0], or the gateway) and its port;
 * NULL when the target has neither. */
const char *cmd_ssh_dest(const struct cmd_ssh_route *rt, long *portp);

/* A NULL-terminated argv for execvp (free with cmd_ssh_argv_free), or NULL
 * when out of memory or the route has no destination. */
char **cmd_ssh_argv(const struct cmd_ssh_route *rt,
    const struct cmd_ssh_call *call);
void cmd_ssh_argv_free(char **argv);

/*
 * known_hosts as tessera writes it: a comment "# tessera host CA of
 * <server> etag <etag>" then the server's @cert-authority lines.
 * cmd_ssh_kh_make refuses (TSS_E_BAD_FORMAT) a body with any other line or
 * a control byte (an ETag that is not printable ASCII without blanks is
 * kept as none); cmd_ssh_kh_etag copies the ETag of a file written for
 * server into etag ("" when there is none).
 */
int cmd_ssh_kh_make(const char *server, const char *etag, const char *body,
    size_t len, char **out);
void cmd_ssh_kh_etag(const char *text, const char *server, char *etag,
    size_t len);

struct certinfo;
/* Whether the certificate names principal p and, at time now, stays valid
 * for at least margin more seconds. */
int cmd_ssh_cert_serves(const struct certinfo *ci, const char *p,
    int64_t now, int64_t margin);

/* One ssh_config "Host" block for login on rt (alias as given). */
void cmd_ssh_config_block(FILE *f, const struct cmd_ssh_route *rt,
    const char *login, const char *alias, const struct cmd_ssh_call *call);

#endif
