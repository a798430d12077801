/*
 * tessera ssh without the network: the route answer's checks (nothing that
 * could start an ssh option or split a config line gets through), the
 * exact argv of the system ssh for a direct and a gateway route, the
 * known_hosts file with its ETag, and the ssh_config block; the real
 * binary's refusals that come before any request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "common/mem.h"
#include "sshca/certinfo.h"
#include "clirun.h"
#include "cmd_ssh_int.h"
#include "tmpdir.h"

static json_t *
route_json(const char *text)
{
	json_t *j = mem_json_loadb(text, strlen(text), 0, NULL);

	cr_assert_not_null(j, "bad test JSON: %s", text);
	return j;
}

/* Parse text; the result code, err naming the field. */
static int
parse(const char *text, struct cmd_ssh_route *rt, char *err)
{
	json_t *j = route_json(text);
	int r = cmd_ssh_route_parse(j, rt, err, 32);

	json_decref(j);
	return r;
}

Test(cli_ssh, route_direct_with_defaults)
{
	struct cmd_ssh_route rt;
	char err[32];
	long port = 0;

	cr_assert_eq(parse("{\"target\":\"prod/api\",\"hosts\":[\"api.internal\","
	    "\"10.0.0.5\"],\"gateway\":null,\"logins\":[\"app\",\"root\"]}", &rt,
	    err), 0);
	cr_assert_str_eq(rt.target, "prod/api");
	cr_assert_eq(rt.nhosts, 2);
	cr_assert_eq(rt.port, 22);
	cr_assert_null(rt.gw_host);
	cr_assert_eq(rt.nlogins, 2);
	cr_assert_str_eq(cmd_ssh_dest(&rt, &port), "api.internal");
	cr_assert_eq(port, 22);
	cmd_ssh_route_clear(&rt);
}

Test(cli_ssh, route_gateway_names_and_v6)
{
	struct cmd_ssh_route rt;
	char err[32];
	long port = 0;

	cr_assert_eq(parse("{\"target\":\"demo/app\",\"hosts\":[],\"port\":22,"
	    "\"gateway\":\"gw1.example:2222\",\"logins\":[\"app\"]}", &rt, err),
	    0);
	cr_assert_str_eq(cmd_ssh_dest(&rt, &port), "gw1.example");
	cr_assert_eq(port, 2222);
	cmd_ssh_route_clear(&rt);
	cr_assert_eq(parse("{\"target\":\"demo/app\",\"gateway\":\"[::1]:2200\","
	    "\"logins\":[\"app\"]}", &rt, err), 0);
	cr_assert_str_eq(cmd_ssh_dest(&rt, &port), "::1");
	cr_assert_eq(port, 2200);
	cmd_ssh_route_clear(&rt);
	/* Neither hosts nor a gateway: nowhere to go. */
	cr_assert_eq(parse("{\"target\":\"demo/app\",\"hosts\":[],\"logins\":"
	    "[\"app\"]}", &rt, err), 0);
	cr_assert_null(cmd_ssh_dest(&rt, &port));
	cmd_ssh_route_clear(&rt);
}

Test(cli_ssh, route_refuses_what_could_become_an_option_or_a_line)
{
	static const struct { const char *json, *field; } bad[] = {
		{ "{\"target\":\"t\",\"hosts\":[\"-oProxyCommand=x\"]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":[\"a b\"]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":[\"a\\nHost *\"]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":[\".x\"]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":[\"\"]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":[\"a\\\"b\"]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":[7]}", "hosts" },
		{ "{\"target\":\"t\",\"hosts\":\"a\"}", "hosts" },
		{ "{\"target\":\"t\",\"logins\":[\"-l\"]}", "logins" },
		{ "{\"target\":\"t\",\"logins\":[\"Root\"]}", "logins" },
		{ "{\"target\":\"t\",\"logins\":[\"a b\"]}", "logins" },
		{ "{\"target\":\"T x\"}", "target" },
		{ "{\"target\":\"t\",\"port\":0}", "port" },
		{ "{\"target\":\"t\",\"port\":65536}", "port" },
		{ "{\"target\":\"t\",\"port\":\"22\"}", "port" },
		{ "{\"target\":\"t\",\"gateway\":\"gw\"}", "gateway" },
		{ "{\"target\":\"t\",\"gateway\":\"gw:0\"}", "gateway" },
		{ "{\"target\":\"t\",\"gateway\":\"gw:22x\"}", "gateway" },
		{ "{\"target\":\"t\",\"gateway\":\"-o:22\"}", "gateway" },
		{ "{\"target\":\"t\",\"gateway\":\":22\"}", "gateway" },
		{ "{\"target\":\"t\",\"gateway\":\"a b:22\"}", "gateway" },
		{ "{\"target\":\"t\",\"gateway\":5}", "gateway" },
	};
	struct cmd_ssh_route rt;
	char err[32];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i].json, &rt, err), TSS_E_BAD_FORMAT,
		    "accepted: %s", bad[i].json);
		cr_assert_str_eq(err, bad[i].field, "%s: blamed %s",
		    bad[i].json, err);
		cmd_ssh_route_clear(&rt);
	}
}

Test(cli_ssh, route_refuses_more_than_32_hosts)
{
	char text[2048];
	struct cmd_ssh_route rt;
	char err[32];
	size_t n = 0;
	int i;

	n += (size_t)snprintf(text, sizeof(text), "{\"target\":\"t\",\"hosts\":[");
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"h%d\"",
		    i > 0 ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "]}");
	cr_assert_eq(parse(text, &rt, err), TSS_E_BAD_FORMAT);
	cmd_ssh_route_clear(&rt);
}

static void
assert_argv(char **got, const char *const *want)
{
	size_t i;

	cr_assert_not_null(got);
	for (i = 0; want[i] != NULL; i++) {
		cr_assert_not_null(got[i], "argv ends at %zu, wanted %s", i,
		    want[i]);
		cr_assert_str_eq(got[i], want[i], "argv[%zu]", i);
	}
	cr_assert_null(got[i], "argv goes on: %s", got[i]);
}

static const struct cmd_ssh_call base_call = {
	.ssh = "ssh", .identity = "/h/.ssh/id_ed25519",
	.cert = "/h/.ssh/id_ed25519-cert.pub",
	.known_hosts = "/h/.config/tessera/known_hosts", .login = "app",
};

Test(cli_ssh, argv_direct_as_the_spec_writes_it)
{
	static const char *const want[] = { "ssh", "-i", "/h/.ssh/id_ed25519",
	    "-o", "CertificateFile=/h/.ssh/id_ed25519-cert.pub",
	    "-o", "IdentitiesOnly=yes",
	    "-o", "UserKnownHostsFile=/h/.config/tessera/known_hosts",
	    "-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=api.internal",
	    "-p", "2022", "-t", "app@api.internal", NULL };
	static const char *const want_cmd_tail[] = { "app@api.internal", "--",
	    "id", "-un", NULL };
	struct cmd_ssh_route rt;
	struct cmd_ssh_call call = base_call;
	char err[32], *cmd[] = { "id", "-un" }, **av;

	cr_assert_eq(parse("{\"target\":\"prod/api\",\"hosts\":[\"api.internal\""
	    "],\"port\":2022,\"logins\":[\"app\"]}", &rt, err), 0);
	call.tty = 1;
	av = cmd_ssh_argv(&rt, &call);
	assert_argv(av, want);
	cmd_ssh_argv_free(av);
	call.tty = 0;
	call.command = cmd;
	call.ncommand = 2;
	av = cmd_ssh_argv(&rt, &call);
	cr_assert_not_null(av);
	assert_argv(av + 15, want_cmd_tail);
	cmd_ssh_argv_free(av);
	cmd_ssh_route_clear(&rt);
}

Test(cli_ssh, argv_gateway_sends_target_and_login_as_env)
{
	static const char *const want[] = { "/usr/bin/ssh", "-i",
	    "/h/.ssh/id_ed25519",
	    "-o", "CertificateFile=/h/.ssh/id_ed25519-cert.pub",
	    "-o", "IdentitiesOnly=yes",
	    "-o", "UserKnownHostsFile=/h/.config/tessera/known_hosts",
	    "-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=gw1.example",
	    "-p", "2222", "-o", "SetEnv=TESSERA_TARGET=demo/app TESSERA_LOGIN=app",
	    "tessera@gw1.example", NULL };
	struct cmd_ssh_route rt;
	struct cmd_ssh_call call = base_call;
	char err[32], **av;

	cr_assert_eq(parse("{\"target\":\"demo/app\",\"hosts\":[\"ignored.host\""
	    "],\"gateway\":\"gw1.example:2222\",\"logins\":[\"app\"]}", &rt,
	    err), 0);
	call.ssh = "/usr/bin/ssh";
	av = cmd_ssh_argv(&rt, &call);
	assert_argv(av, want);
	cmd_ssh_argv_free(av);
	cmd_ssh_route_clear(&rt);
}

Test(cli_ssh, argv_quotes_a_file_name_with_a_space)
{
	struct cmd_ssh_route rt;
	struct cmd_ssh_call call = base_call;
	char err[32], **av;

	cr_assert_eq(parse("{\"target\":\"t\",\"hosts\":[\"h\"]}", &rt, err), 0);
	call.cert = "/My Keys/id-cert.pub";
	av = cmd_ssh_argv(&rt, &call);
	cr_assert_not_null(av);
	cr_assert_str_eq(av[4], "CertificateFile=\"/My Keys/id-cert.pub\"");
	cmd_ssh_argv_free(av);
	cmd_ssh_route_clear(&rt);
}

#define CA_LINE "@cert-authority * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"

Test(cli_ssh, known_hosts_keeps_the_etag_of_its_server)
{
	char *text = NULL, etag[130];

	cr_assert_eq(cmd_ssh_kh_make("https://t.example:8443", "\"abc123\"",
	    CA_LINE "\n", strlen(CA_LINE) + 1, &text), 0);
	cr_assert_str_eq(text, "# tessera host CA of https://t.example:8443 "
	    "etag \"abc123\"\n" CA_LINE "\n");
	cmd_ssh_kh_etag(text, "https://t.example:8443", etag, sizeof(etag));
	cr_assert_str_eq(etag, "\"abc123\"");
	cmd_ssh_kh_etag(text, "https://other:8443", etag, sizeof(etag));
	cr_assert_str_eq(etag, "", "another server's ETag is not sent");
	cmd_ssh_kh_etag(text, "https://t.example:84", etag, sizeof(etag));
	cr_assert_str_eq(etag, "", "a prefix of the server is another one");
	free(text);
	/* No ETag from the server: the next GET is unconditional. */
	cr_assert_eq(cmd_ssh_kh_make("https://t", "", CA_LINE, strlen(CA_LINE),
	    &text), 0);
	cr_assert_str_eq(text, "# tessera host CA of https://t etag -\n"
	    CA_LINE "\n");
	cmd_ssh_kh_etag(text, "https://t", etag, sizeof(etag));
	cr_assert_str_eq(etag, "");
	free(text);
	cmd_ssh_kh_etag("", "https://t", etag, sizeof(etag));
	cr_assert_str_eq(etag, "");
	/* An ETag that would not survive the comment line is not kept. */
	cr_assert_eq(cmd_ssh_kh_make("https://t", "\"a b\"", CA_LINE,
	    strlen(CA_LINE), &text), 0);
	cr_assert_str_eq(text, "# tessera host CA of https://t etag -\n"
	    CA_LINE "\n");
	free(text);
}

/* 2024-01-01T00:00:00Z .. 01:00:00Z */
#define VA	0x65920080LL
#define VB	0x65920e90LL

Test(cli_ssh, a_certificate_serves_its_principals_inside_the_margin)
{
	char *pr[] = { "app@prod/api", "db@prod/db" };
	struct certinfo ci;

	memset(&ci, 0, sizeof(ci));
	ci.type = CERTINFO_USER;
	ci.principals = pr;
	ci.nprincipals = 2;
	ci.valid_after = VA;
	ci.valid_before = VB;
	cr_assert(cmd_ssh_cert_serves(&ci, "app@prod/api", VA, 60));
	cr_assert(cmd_ssh_cert_serves(&ci, "db@prod/db", VB - 60, 60));
	cr_assert_not(cmd_ssh_cert_serves(&ci, "app@prod/api", VB - 59, 60),
	    "less than the margin left");
	cr_assert_not(cmd_ssh_cert_serves(&ci, "app@prod/api", VB + 1, 60));
	cr_assert_not(cmd_ssh_cert_serves(&ci, "app@prod/api", VA - 1, 60),
	    "not yet valid");
	cr_assert_not(cmd_ssh_cert_serves(&ci, "root@prod/api", VA + 10, 60));
	cr_assert_not(cmd_ssh_cert_serves(&ci, "app@prod/ap", VA + 10, 60),
	    "a prefix is not the principal");
}

Test(cli_ssh, known_hosts_refuses_anything_but_cert_authority_lines)
{
	static const char *const bad[] = {
		"",
		"\n\n",
		"api.internal ssh-ed25519 AAAA\n",
		CA_LINE "\napi.internal ssh-ed25519 AAAA\n",
		CA_LINE "\x1b[2J\n",
		"@cert-authority \n",
		"@revoked * ssh-ed25519 AAAA\n",
	};
	char *text = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cmd_ssh_kh_make("https://t", "", bad[i],
		    strlen(bad[i]), &text), TSS_E_BAD_FORMAT, "accepted: %s",
		    bad[i]);
		cr_assert_null(text);
	}
	cr_assert_eq(cmd_ssh_kh_make("https://t\nx", "", CA_LINE,
	    strlen(CA_LINE), &text), TSS_E_BAD_FORMAT);
}

static char *
block(const char *json, const char *login, const char *alias)
{
	struct cmd_ssh_route rt;
	char err[32], *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(parse(json, &rt, err), 0);
	cmd_ssh_config_block(f, &rt, login, alias, &base_call);
	fclose(f);
	cmd_ssh_route_clear(&rt);
	return out;
}

Test(cli_ssh, config_block_direct_and_gateway)
{
	char *out;

	out = block("{\"target\":\"prod/api\",\"hosts\":[\"10.0.0.5\"],"
	    "\"port\":2022,\"logins\":[\"app\"]}", "app", "prod-api");
	cr_assert_str_eq(out, "Host prod-api\n"
	    "    HostName 10.0.0.5\n"
	    "    Port 2022\n"
	    "    User app\n"
	    "    IdentityFile /h/.ssh/id_ed25519\n"
	    "    CertificateFile /h/.ssh/id_ed25519-cert.pub\n"
	    "    IdentitiesOnly yes\n"
	    "    UserKnownHostsFile /h/.config/tessera/known_hosts\n"
	    "    StrictHostKeyChecking yes\n"
	    "    HostKeyAlias 10.0.0.5\n");
	free(out);
	out = block("{\"target\":\"demo/app\",\"gateway\":\"gw1:2222\","
	    "\"logins\":[\"app\",\"root\"]}", "root", "demo-app-root");
	cr_assert_str_eq(out, "Host demo-app-root\n"
	    "    HostName gw1\n"
	    "    Port 2222\n"
	    "    User tessera\n"
	    "    IdentityFile /h/.ssh/id_ed25519\n"
	    "    CertificateFile /h/.ssh/id_ed25519-cert.pub\n"
	    "    IdentitiesOnly yes\n"
	    "    UserKnownHostsFile /h/.config/tessera/known_hosts\n"
	    "    StrictHostKeyChecking yes\n"
	    "    HostKeyAlias gw1\n"
	    "    SetEnv TESSERA_TARGET=demo/app TESSERA_LOGIN=root\n");
	free(out);
}

/* ---- the binary, before any request ---------------------------------- */

static char home[4096];
static struct clirun res;

static void
home_setup(void)
{
	cr_assert_eq(tmpdir_make(home, sizeof(home)), 0);
}

static void
home_teardown(void)
{
	tmpdir_remove(home);
}

#define RUN(...) do { \
		const char *const a_[] = { __VA_ARGS__, NULL }; \
		cr_assert_eq(clirun(&res, home, NULL, NULL, 20, a_), 0); \
	} while (0)

Test(cli_ssh_run, usage_errors_exit_2, .init = home_setup,
    .fini = home_teardown)
{
	RUN("ssh");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "usage: tessera ssh TARGET") != NULL, "%s",
	    res.err);
	RUN("ssh", "Prod/API");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "bad target name: Prod/API") != NULL, "%s",
	    res.err);
	RUN("ssh", "prod/api", "-l", "-oProxyCommand=x");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "bad login name") != NULL, "%s", res.err);
	/* Without "--" a command is an extra argument, not a guess. */
	RUN("ssh", "prod/api", "id");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "unexpected argument: id") != NULL, "%s",
	    res.err);
	RUN("ssh-config", "extra");
	cr_assert_eq(res.status, 2);
	RUN("ssh", "--help");
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, "usage: tessera ssh TARGET") != NULL);
}

Test(cli_ssh_run, missing_key_names_the_file_and_ssh_keygen,
    .init = home_setup, .fini = home_teardown)
{
	char want[4200];

	RUN("ssh", "prod/api", "--", "id", "-un");
	cr_assert_eq(res.status, 1);
	snprintf(want, sizeof(want), "no SSH key at %s/.ssh/id_ed25519", home);
	cr_assert(strstr(res.err, want) != NULL, "%s", res.err);
	cr_assert(strstr(res.err, "ssh-keygen -t ed25519") != NULL, "%s",
	    res.err);
	cr_assert_str_eq(res.out, "");
}

Test(cli_ssh_run, a_path_ssh_would_read_specially_is_refused,
    .init = home_setup, .fini = home_teardown)
{
	RUN("ssh", "prod/api", "-i", "/tmp/%d/key", "--", "true");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "reads specially") != NULL, "%s", res.err);
}
