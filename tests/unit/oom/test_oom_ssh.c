/*
 * oom, tessera ssh's pieces without the network (cli/cmd_ssh_int.h): the
 * route answer's decoder, the system ssh's argv and the known_hosts text,
 * walked through every allocation failure and with each allocation
 * refused alone (oom.h).  A refused run answers out of memory and leaves
 * nothing the caller could take for a result.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/err.h"
#include "common/mem.h"
#include "cmd_ssh_int.h"
#include "oom.h"

TestSuite(oom_ssh, .init = oom_setup, .fini = oom_teardown, .timeout = 240);

static const char route_text[] = "{\"target\":\"demo/app\",\"hosts\":"
    "[\"api.internal\",\"10.0.0.5\"],\"port\":2022,\"gateway\":"
    "\"gw1.example:2222\",\"logins\":[\"app\",\"root\"]}";

struct route_walk {
	json_t *j;
	struct cmd_ssh_route rt;
};

static int
route_run(void *arg)
{
	struct route_walk *w = arg;
	char err[32];

	return cmd_ssh_route_parse(w->j, &w->rt, err, sizeof(err));
}

static void
route_check(void *arg, int r)
{
	struct route_walk *w = arg;

	if (r == 0) {
		cr_assert_str_eq(w->rt.target, "demo/app");
		cr_assert_eq(w->rt.nhosts, 2);
		cr_assert_str_eq(w->rt.hosts[1], "10.0.0.5");
		cr_assert_eq(w->rt.port, 2022);
		cr_assert_str_eq(w->rt.gw_host, "gw1.example");
		cr_assert_eq(w->rt.gw_port, 2222);
		cr_assert_eq(w->rt.nlogins, 2);
		cr_assert_str_eq(w->rt.logins[1], "root");
	}
	cmd_ssh_route_clear(&w->rt);
}

Test(oom_ssh, route_parse)
{
	struct route_walk w;

	memset(&w, 0, sizeof(w));
	w.j = mem_json_loadb(route_text, strlen(route_text), 0, NULL);
	cr_assert_not_null(w.j);
	oom_walk("cmd_ssh_route_parse", route_run, route_check, &w);
	oom_walk_nth("cmd_ssh_route_parse", route_run, route_check, NULL, &w);
	json_decref(w.j);
}

struct argv_walk {
	struct cmd_ssh_route rt;
	struct cmd_ssh_call call;
	char **av;
};

static int
argv_run(void *arg)
{
	struct argv_walk *w = arg;

	w->av = cmd_ssh_argv(&w->rt, &w->call);
	return w->av != NULL ? 0 : TSS_E_NOMEM;
}

static void
argv_check(void *arg, int r)
{
	struct argv_walk *w = arg;
	size_t n;

	if (r != 0) {
		cr_assert_null(w->av);
		return;
	}
	for (n = 0; w->av[n] != NULL; n++)
		;
	cr_assert_eq(n, 21, "argv of %zu words", n);
	cr_assert_str_eq(w->av[17], "tessera@gw1.example");
	cr_assert_str_eq(w->av[20], "-un");
	cmd_ssh_argv_free(w->av);
	w->av = NULL;
}

Test(oom_ssh, argv)
{
	char *cmd[] = { "id", "-un" };
	struct argv_walk w;
	json_t *j;
	char err[32];

	memset(&w, 0, sizeof(w));
	j = mem_json_loadb(route_text, strlen(route_text), 0, NULL);
	cr_assert_not_null(j);
	cr_assert_eq(cmd_ssh_route_parse(j, &w.rt, err, sizeof(err)), 0);
	json_decref(j);
	w.call.ssh = "ssh";
	w.call.identity = "/h/id";
	w.call.cert = "/h/id-cert.pub";
	w.call.known_hosts = "/h/known_hosts";
	w.call.login = "app";
	w.call.command = cmd;
	w.call.ncommand = 2;
	oom_walk("cmd_ssh_argv", argv_run, argv_check, &w);
	oom_walk_nth("cmd_ssh_argv", argv_run, argv_check, NULL, &w);
	cmd_ssh_route_clear(&w.rt);
}

#define CA_LINE "@cert-authority * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"

static int
kh_run(void *arg)
{
	return cmd_ssh_kh_make("https://t", "\"e1\"", CA_LINE, strlen(CA_LINE),
	    arg);
}

static void
kh_check(void *arg, int r)
{
	char **text = arg;

	if (r != 0) {
		cr_assert_null(*text);
		return;
	}
	cr_assert_str_eq(*text, "# tessera host CA of https://t etag \"e1\"\n"
	    CA_LINE "\n");
	free(*text);
	*text = NULL;
}

Test(oom_ssh, known_hosts)
{
	char *text = NULL;

	oom_walk("cmd_ssh_kh_make", kh_run, kh_check, &text);
	oom_walk_nth("cmd_ssh_kh_make", kh_run, kh_check, NULL, &text);
}
