/*
 * cli: what the `tessera` command files share.  main.c parses the global
 * options (--server, --ca-file, --json, anywhere on the line) and calls one
 * command function; a command returns its exit status: CLI_OK, CLI_FAIL (a
 * refused or failed request, message already printed) or CLI_USAGE (usage
 * line already printed).
 *
 * Everything a command prints that came from the server goes through
 * cli_puts_safe() or the table printer, which replace control bytes, so a
 * username or audit field cannot drive the terminal.
 */
#ifndef TSS_CLI_H
#define TSS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "client.h"
#include "sessfile.h"

#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2

#define CLI_DEFAULT_SERVER	"https://127.0.0.1:8443"

struct cli {
	const char *server;	/* --server, $TESSERA_SERVER, or NULL */
	const char *ca_file;	/* --ca-file or NULL */
	int json;		/* --json: print the server's JSON */
	int info_stderr;	/* stdout is not ours (tessera ssh): status
				 * text goes to stderr */
	const char *usage;	/* usage line of the running command */
	const char *prog;	/* "tessera" */
	struct sessfile *sess;	/* loaded on demand by cli_call() */
	int sess_err;		/* why sess is NULL once tried; 1 untried */
	struct client *cl;	/* made on demand by cli_call() */
	char sessfile_path[4096];
};

/* Command-line options of one command (global ones are already gone). */
enum cli_opt_kind { CLI_OPT_FLAG, CLI_OPT_STR, CLI_OPT_LIST };
#define CLI_LIST_MAX	64
struct cli_list {
	const char *v[CLI_LIST_MAX];
	size_t n;
};
struct cli_opt {
	const char *name;	/* long name without "--" */
	enum cli_opt_kind kind;
	void *dst;		/* int *, const char **, struct cli_list * */
};
#define CLI_POS_MAX	8

/*
 * Parse argv[1..] (argv[0] is the command word): options as --name VALUE or
 * --name=VALUE, in any order with positionals; "--" ends options.  -h and
 * --help print the usage line on stdout and return -1 (exit 0).  A wrong
 * option or a positional count outside [minpos, maxpos] prints the usage
 * line and returns CLI_USAGE.  Values point into argv.
 */
int cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    const char **pos, size_t minpos, size_t maxpos, size_t *npos);
/* cli_parse for a command body: returns from the command on help/usage. */
#define CLI_PARSE(c, argc, argv, opts, pos, minp, maxp, np) do { \
		int parse_r_ = cli_parse((c), (argc), (argv), (opts), (pos), \
		    (minp), (maxp), (np)); \
		if (parse_r_ != 0) \
			return parse_r_ < 0 ? CLI_OK : parse_r_; \
	} while (0)
/* Print "usage: tessera LINE" to stderr; returns CLI_USAGE. */
int cli_usage(const struct cli *c);
/* "tessera: message" to stderr; returns CLI_FAIL. */
int cli_fail(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Status text: stdout normally, stderr under --json (stdout is the JSON)
 * or info_stderr. */
void cli_info(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Load the saved session once: c->sess, or c->sess_err saying why not
 * (TSS_E_NOT_FOUND: there is none). */
void cli_load_session(struct cli *c);
/* Effective server: --server/$TESSERA_SERVER, else the session's, else the
 * default. */
const char *cli_server(struct cli *c);

/* Make the client for cli_server() now (checks the URL and CA file before
 * anything is asked of the user); CLI_OK or CLI_FAIL after a message. */
int cli_connect(struct cli *c);
/*
 * An API request with the saved session (auth != 0) or without.  Loads the
 * session, refuses an expired one or one for another server before sending
 * anything.  On a transport error or a non-2xx status prints the message
 * (the server's error message when there is one) and returns CLI_FAIL,
 * with *resp still filled when the server answered (so a caller may look at
 * a 403).  resp is freed by the caller with client_resp_clear().
 */
int cli_call(struct cli *c, int auth, const char *method, const char *path,
    const json_t *body, struct client_resp *resp);
/* Like cli_call but prints nothing for statuses in quiet (0-terminated). */
int cli_call_quiet(struct cli *c, int auth, const char *method,
    const char *path, const json_t *body, struct client_resp *resp,
    const long *quiet);
/* The response's JSON (new reference) or NULL with a message printed. */
json_t *cli_json(const struct cli *c, const struct client_resp *resp);
/* Print the response body as it came (for --json). */
void cli_print_raw(const struct client_resp *resp);
/* Free the client and the session (wiping the token). */
void cli_cleanup(struct cli *c);

/* fputs with control bytes replaced by '?' (tabs and newlines kept when
 * multiline). */
void cli_puts_safe(FILE *f, const char *s, int multiline);
/* A JSON value as display text (allocated): strings as they are, times
 * (keys ending in _at, valid_after/valid_before/time) as RFC 3339, arrays
 * joined with ", ", objects as k=v. */
char *cli_cell(const char *key, const json_t *v);
/*
 * Print a list of objects as a table.  Columns: the keys of cols present in
 * any row, or when none is, every key met.  Empty list: "(none)".
 */
void cli_table(const json_t *rows, const char *const *cols);
/* The array in a list response: the response itself when it is an array,
 * else member key, else its first array member; NULL if none. */
json_t *cli_list(json_t *resp, const char *key);

/* A JSON time (Unix seconds or an RFC 3339 string) as Unix seconds. */
int cli_json_time(const json_t *v, int64_t *out);
/* RFC 3339 UTC text of t into buf (at least 32 bytes). */
void cli_fmt_time(int64_t t, char *buf, size_t len);
/* "1h59m", "59m", "30s", "expired" into buf (at least 32 bytes). */
void cli_fmt_left(int64_t secs, char *buf, size_t len);
/* URL-escape s into a new allocation; keep_slash leaves '/' as it is. */
char *cli_escape(const char *s, int keep_slash);
/* Expand a leading "~/" with $HOME; allocation. */
char *cli_expand_home(const char *path);
int64_t cli_now(void);

/* Commands (cmd_session.c, cmd_login.c, cmd_admin.c, offline*.c,
 * cmd_health.c). */
int cmd_enroll(struct cli *c, int argc, char **argv);
int cmd_login(struct cli *c, int argc, char **argv);
int cmd_whoami(struct cli *c, int argc, char **argv);
int cmd_logout(struct cli *c, int argc, char **argv);
int cmd_user_add(struct cli *c, int argc, char **argv);
int cmd_user_ls(struct cli *c, int argc, char **argv);
int cmd_user_disable(struct cli *c, int argc, char **argv);
int cmd_user_enable(struct cli *c, int argc, char **argv);
int cmd_user_reset(struct cli *c, int argc, char **argv);
int cmd_user_rm(struct cli *c, int argc, char **argv);
int cmd_target_add(struct cli *c, int argc, char **argv);
int cmd_target_ls(struct cli *c, int argc, char **argv);
int cmd_target_rm(struct cli *c, int argc, char **argv);
int cmd_target_sshd(struct cli *c, int argc, char **argv);
int cmd_target_token(struct cli *c, int argc, char **argv);
int cmd_role_put(struct cli *c, int argc, char **argv);
int cmd_role_ls(struct cli *c, int argc, char **argv);
int cmd_role_rm(struct cli *c, int argc, char **argv);
int cmd_bind(struct cli *c, int argc, char **argv);
int cmd_unbind(struct cli *c, int argc, char **argv);
int cmd_bindings(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_cert_ls(struct cli *c, int argc, char **argv);
int cmd_cert_revoke(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_enroll_link(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);
/* tessera backup --online: POST /v1/admin/backup (cmd_admin.c). */
int cmd_backup_online(struct cli *c);
int cmd_restore(struct cli *c, int argc, char **argv);
int cmd_audit_verify(struct cli *c, int argc, char **argv);
int cmd_healthcheck(struct cli *c, int argc, char **argv);
/* The SSH gateway's sshd commands (cmd_gateway.c, docs/gateway.md). */
int cmd_gateway_principals(struct cli *c, int argc, char **argv);
int cmd_gateway_shell(struct cli *c, int argc, char **argv);
/* tessera target agent (cmd_agent.c). */
int cmd_target_agent(struct cli *c, int argc, char **argv);
/* tessera ssh, tessera ssh-config (cmd_ssh.c). */
int cmd_ssh(struct cli *c, int argc, char **argv);
int cmd_ssh_config(struct cli *c, int argc, char **argv);

#endif
