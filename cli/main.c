/*
 * tessera: the command-line client (CONTRACT §5).  Global options may come
 * before or after the command; the command table below holds every
 * command's usage line, which a usage error prints (exit 2).
 */
#include <stdlib.h>
#include <string.h>


#include "common/mem.h"
#include "cli.h"

struct command {
	const char *name;
	const char *sub;	/* second word, NULL for none */
	int (*fn)(struct cli *, int, char **);
	const char *usage;	/* after "tessera " */
};

static const struct command commands[] = {
	{ "enroll", NULL, cmd_enroll,
	    "enroll LINK [--password-stdin] [--code-stdin]" },
	{ "login", NULL, cmd_login,
	    "login [--user U] [--identity FILE] [--target T] [--login L] "
	    "[--ttl D] [--browser] [--password-stdin] [--code-stdin]" },
	{ "whoami", NULL, cmd_whoami, "whoami" },
	{ "logout", NULL, cmd_logout, "logout" },
	{ "user", "add", cmd_user_add, "user add NAME [--group G]..." },
	{ "user", "ls", cmd_user_ls, "user ls" },
	{ "user", "disable", cmd_user_disable, "user disable NAME" },
	{ "user", "enable", cmd_user_enable, "user enable NAME" },
	{ "user", "reset", cmd_user_reset, "user reset NAME" },
	{ "user", "rm", cmd_user_rm, "user rm NAME" },
	{ "target", "add", cmd_target_add, "target add NAME [--label K=V]... "
	    "[--host H]... [--port N] [--gateway H:P]" },
	{ "target", "ls", cmd_target_ls, "target ls" },
	{ "target", "rm", cmd_target_rm, "target rm NAME" },
	{ "target", "sshd-config", cmd_target_sshd, "target sshd-config NAME" },
	{ "target", "token", cmd_target_token, "target token NAME [--ttl D]" },
	{ "target", "agent", cmd_target_agent,
	    "target agent (--token-file F | --token-env VAR) [--dir DIR] "
	    "[--interval SEC] [--port N] [--listen ADDR] [--gateway] "
	    "[--once | --exec-sshd [-- SSHD_ARGS...]]" },
	{ "role", "put", cmd_role_put, "role put NAME FILE.json" },
	{ "role", "ls", cmd_role_ls, "role ls" },
	{ "role", "rm", cmd_role_rm, "role rm NAME" },
	{ "bind", NULL, cmd_bind, "bind ROLE SUBJECT [--expires D]" },
	{ "unbind", NULL, cmd_unbind, "unbind ID" },
	{ "bindings", NULL, cmd_bindings, "bindings" },
	{ "check", NULL, cmd_check, "check USER TARGET LOGIN" },
	{ "cert", "ls", cmd_cert_ls, "cert ls [--user U]" },
	{ "cert", "revoke", cmd_cert_revoke, "cert revoke SERIAL" },
	{ "audit", "verify", cmd_audit_verify, "audit verify --data DIR|URI "
	    "[--checkpoints FILE [--audit-pubkey FILE]]" },
	{ "audit", NULL, cmd_audit, "audit [--follow]" },
	{ "init", NULL, cmd_init, "init --data DIR [--store URI] [--dev] "
	    "[--admin NAME]" },
	{ "enroll-link", NULL, cmd_enroll_link,
	    "enroll-link [--config FILE] USER" },
	{ "backup", NULL, cmd_backup, "backup --data DIR|URI FILE | backup --online" },
	{ "restore", NULL, cmd_restore, "restore --data DIR|URI FILE" },
	{ "healthcheck", NULL, cmd_healthcheck,
	    "healthcheck [--config FILE | --url URL]" },
	{ "gateway", "principals", cmd_gateway_principals,
	    "gateway principals TYPE CERT" },
	{ "gateway", "shell", cmd_gateway_shell, "gateway shell" },
	{ "ssh", NULL, cmd_ssh,
	    "ssh TARGET [-l LOGIN] [-i IDENTITY] [--dry-run] [-- COMMAND...]" },
	{ "ssh-config", NULL, cmd_ssh_config, "ssh-config [--identity ID]" },
	{ NULL, NULL, NULL, NULL }
};

#define GLOBAL_USAGE	"[--server URL] [--ca-file PEM] [--json] COMMAND ..."

static void
print_all(FILE *f, const char *prog)
{
	const struct command *k;

	fprintf(f, "usage: %s %s\n\ncommands:\n", prog, GLOBAL_USAGE);
	for (k = commands; k->name != NULL; k++)
		fprintf(f, "  %s %s\n", prog, k->usage);
	fprintf(f, "\nThe server defaults to $TESSERA_SERVER, else the saved "
	    "session's, else %s.\nExit status: 0 success, 1 refused or "
	    "failed, 2 usage error.  See tessera(1).\n", CLI_DEFAULT_SERVER);
}

/* Usage lines of every command whose first word is name. */
static int
group_usage(const char *prog, const char *name)
{
	const struct command *k;

	for (k = commands; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			fprintf(stderr, "usage: %s %s\n", prog, k->usage);
	return CLI_USAGE;
}

/*
 * Take the global options out of argv wherever they are (up to a "--"),
 * compacting the rest.  Returns 0, or CLI_USAGE after a message.
 */
static int
take_globals(struct cli *c, int *argcp, char **argv)
{
	int argc = *argcp, i, o = 1, rest = 0;
	const char *a, **dst;
	size_t nl;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (rest) {
			argv[o++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			rest = 1;
			argv[o++] = argv[i];
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = 1;
			continue;
		}
		dst = NULL;
		nl = 0;
		if (strncmp(a, "--server", 8) == 0 &&
		    (a[8] == '\0' || a[8] == '=')) {
			dst = &c->server;
			nl = 8;
		} else if (strncmp(a, "--ca-file", 9) == 0 &&
		    (a[9] == '\0' || a[9] == '=')) {
			dst = &c->ca_file;
			nl = 9;
		}
		if (dst == NULL) {
			argv[o++] = argv[i];
			continue;
		}
		if (a[nl] == '=')
			*dst = a + nl + 1;
		else if (i + 1 < argc)
			*dst = argv[++i];
		else {
			fprintf(stderr, "%s: option %s needs a value\n",
			    c->prog, a);
			fprintf(stderr, "usage: %s %s\n", c->prog,
			    GLOBAL_USAGE);
			return CLI_USAGE;
		}
		if (**dst == '\0') {
			fprintf(stderr, "%s: option %.*s needs a value\n",
			    c->prog, (int)nl, a);
			return CLI_USAGE;
		}
	}
	argv[o] = NULL;
	*argcp = o;
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli c;
	const struct command *k, *hit = NULL;
	const char *env;
	int r, skip;

	/* jansson holds passwords, tokens and TOTP secrets of requests and
	 * answers: wipe its allocations when freed. */
	mem_json_setup();
	memset(&c, 0, sizeof(c));
	c.prog = "tessera";
	c.sess_err = 1;
	if ((env = getenv("TESSERA_SERVER")) != NULL && *env != '\0')
		c.server = env;
	if ((r = take_globals(&c, &argc, argv)) != 0)
		return r;
	if (argc < 2) {
		print_all(stderr, c.prog);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_all(stdout, c.prog);
		return CLI_OK;
	}
	/* Two-word commands first ("audit verify" before "audit"). */
	for (k = commands; k->name != NULL && hit == NULL; k++)
		if (k->sub != NULL && argc > 2 &&
		    strcmp(k->name, argv[1]) == 0 &&
		    strcmp(k->sub, argv[2]) == 0)
			hit = k;
	for (k = commands; k->name != NULL && hit == NULL; k++)
		if (k->sub == NULL && strcmp(k->name, argv[1]) == 0)
			hit = k;
	if (hit == NULL) {
		for (k = commands; k->name != NULL; k++)
			if (strcmp(k->name, argv[1]) == 0) {
				fprintf(stderr, "%s: %s needs a subcommand\n",
				    c.prog, argv[1]);
				return group_usage(c.prog, argv[1]);
			}
		fprintf(stderr, "%s: unknown command: %s\n", c.prog, argv[1]);
		fprintf(stderr, "usage: %s %s\n(run `%s help` for the list)\n",
		    c.prog, GLOBAL_USAGE, c.prog);
		return CLI_USAGE;
	}
	c.usage = hit->usage;
	skip = hit->sub != NULL ? 2 : 1;
	r = hit->fn(&c, argc - skip, argv + skip);
	cli_cleanup(&c);
	if (fflush(stdout) != 0 && r == CLI_OK)
		r = CLI_FAIL;
	return r;
}
