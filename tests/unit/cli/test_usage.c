/* tessera command line: usage errors exit 2 with the usage line; help
 * exits 0; global options work before and after the command. */
#include <string.h>

#include <criterion/criterion.h>

#include "clirun.h"
#include "tmpdir.h"

static char home[4096];

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(home, sizeof(home)), 0);
}

static void
teardown(void)
{
	tmpdir_remove(home);
}

TestSuite(cli_usage, .init = setup, .fini = teardown, .timeout = 60);

#define RUN(res, ...) do { \
		const char *const a_[] = { __VA_ARGS__, NULL }; \
		cr_assert_eq(clirun(&(res), home, NULL, NULL, 20, a_), 0); \
	} while (0)

static struct clirun res;

Test(cli_usage, no_arguments_exit_2_with_usage)
{
	const char *const a[] = { NULL };

	cr_assert_eq(clirun(&res, home, NULL, NULL, 20, a), 0);
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "usage: tessera") != NULL, "%s", res.err);
}

Test(cli_usage, help_exits_0_listing_commands)
{
	RUN(res, "--help");
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, "tessera user add NAME") != NULL);
	cr_assert(strstr(res.out, "tessera audit verify --data DIR") != NULL);
}

Test(cli_usage, unknown_command_exit_2)
{
	RUN(res, "frobnicate");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "unknown command: frobnicate") != NULL);
	cr_assert(strstr(res.err, "usage: tessera") != NULL);
}

Test(cli_usage, missing_argument_prints_the_command_usage)
{
	RUN(res, "user", "add");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "usage: tessera user add NAME [--group G]...")
	    != NULL, "%s", res.err);
}

Test(cli_usage, extra_argument_exit_2)
{
	RUN(res, "whoami", "extra");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "usage: tessera whoami") != NULL);
}

Test(cli_usage, unknown_option_exit_2)
{
	RUN(res, "login", "--bogus");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "unknown option: --bogus") != NULL);
	cr_assert(strstr(res.err, "usage: tessera login") != NULL);
}

Test(cli_usage, option_without_value_exit_2)
{
	RUN(res, "cert", "ls", "--user");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "--user needs a value") != NULL);
}

Test(cli_usage, global_option_without_value_exit_2)
{
	RUN(res, "whoami", "--server");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "--server needs a value") != NULL);
}

Test(cli_usage, group_without_subcommand_lists_its_usages)
{
	RUN(res, "target");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "usage: tessera target add NAME") != NULL);
	cr_assert(strstr(res.err, "usage: tessera target sshd-config NAME")
	    != NULL);
}

Test(cli_usage, command_help_exit_0)
{
	RUN(res, "bind", "--help");
	cr_assert_eq(res.status, 0);
	cr_assert_str_eq(res.out,
	    "usage: tessera bind ROLE SUBJECT [--expires D]\n");
}

Test(cli_usage, bad_ttl_exit_2)
{
	RUN(res, "login", "--ttl", "ten minutes");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "bad --ttl") != NULL);
}

Test(cli_usage, bad_binding_subject_exit_2)
{
	RUN(res, "bind", "admin", "alice");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "user:NAME or group:NAME") != NULL);
}

Test(cli_usage, bad_serial_exit_2)
{
	RUN(res, "cert", "revoke", "12abc");
	cr_assert_eq(res.status, 2);
	RUN(res, "cert", "revoke", "-3");
	cr_assert_eq(res.status, 2);
}

Test(cli_usage, bad_label_exit_2)
{
	RUN(res, "target", "add", "prod/api", "--label", "novalue");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "KEY=VALUE") != NULL);
}

Test(cli_usage, enroll_needs_an_enrollment_link)
{
	RUN(res, "enroll", "https://127.0.0.1:8443/somewhere");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "not an enrollment link") != NULL);
}

Test(cli_usage, global_options_after_the_command)
{
	/* --server after the command is taken as global: an http URL is
	 * refused before anything is sent (exit 1, not a usage error). */
	RUN(res, "login", "--user", "alice", "--server", "http://127.0.0.1:1",
	    "--password-stdin", "--code-stdin");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "https://") != NULL, "%s", res.err);
}

Test(cli_usage, healthcheck_help_and_its_exclusive_options)
{
	RUN(res, "healthcheck", "--help");
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, "usage: tessera healthcheck [--config FILE "
	    "| --url URL]") != NULL, "%s", res.out);
	RUN(res, "healthcheck", "--config", "/x.conf", "--url",
	    "https://127.0.0.1:1");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "--config and --url exclude each other")
	    != NULL, "%s", res.err);
}
