/*
 * The target kit's files (agent_files): atomic replacement, the host key
 * against ssh-keygen, principals files, the sshd_config as sshd -t reads
 * it, and the checks that keep a bad answer off the disk; the command's
 * usage errors through the real binary.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "sshca/cakey.h"
#include "sshca/krl.h"
#include "agent_files.h"
#include "clirun.h"
#include "tmpdir.h"

static char dir[1024];

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(cli_agent, .init = setup, .fini = teardown);

static char *
slurp(const char *name)
{
	char path[4300], *data = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(agent_files_read(path, 1 << 20, &data, &len), 0,
	    "read %s", path);
	return data;
}

static struct stat
stat_of(const char *name)
{
	char path[4300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st;
}

/* Files in d other than . and .. */
static int
count_files(const char *d)
{
	struct dirent *de;
	DIR *dp = opendir(d);
	int n = 0;

	cr_assert_not_null(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* Run a shell command, its stdout into out; the wait status. */
static int
run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	cr_assert_not_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

Test(cli_agent, update_writes_replaces_and_skips_unchanged)
{
	struct stat a, b, c;
	char *t;

	cr_assert_eq(agent_files_update(dir, "krl", "one\n", 4, 0644), 1);
	a = stat_of("krl");
	cr_assert_eq(a.st_mode & 07777, 0644);
	cr_assert_eq(agent_files_update(dir, "krl", "one\n", 4, 0644), 0,
	    "same bytes: nothing written");
	b = stat_of("krl");
	cr_assert_eq(a.st_ino, b.st_ino);
	cr_assert_eq(agent_files_update(dir, "krl", "two\n", 4, 0644), 1);
	c = stat_of("krl");
	cr_assert_neq(a.st_ino, c.st_ino, "replaced by rename, not in place");
	t = slurp("krl");
	cr_assert_str_eq(t, "two\n");
	wipe_free(t);
	cr_assert_eq(agent_files_update(dir, "credential", "s\n", 2, 0600), 1);
	cr_assert_eq(stat_of("credential").st_mode & 07777, 0600);
	cr_assert_eq(count_files(dir), 2, "no temporary file left");
}

Test(cli_agent, update_mode_change_rewrites)
{
	cr_assert_eq(agent_files_update(dir, "f", "x", 1, 0644), 1);
	cr_assert_eq(agent_files_update(dir, "f", "x", 1, 0600), 1);
	cr_assert_eq(stat_of("f").st_mode & 07777, 0600);
}

Test(cli_agent, update_in_missing_dir_fails_cleanly)
{
	char d[4300];

	snprintf(d, sizeof(d), "%s/absent", dir);
	cr_assert_eq(agent_files_update(d, "krl", "x", 1, 0644), TSS_E_IO);
	cr_assert_eq(count_files(dir), 0);
}

Test(cli_agent, read_absent_and_too_large)
{
	char path[4300], *data = (char *)1;
	size_t len = 7;

	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(agent_files_read(path, 10, &data, &len),
	    TSS_E_NOT_FOUND);
	cr_assert_null(data);
	cr_assert_eq(len, 0);
	cr_assert_eq(agent_files_update(dir, "big", "0123456789a", 11, 0644),
	    1);
	snprintf(path, sizeof(path), "%s/big", dir);
	cr_assert_eq(agent_files_read(path, 10, &data, &len),
	    TSS_E_TOO_LARGE);
	cr_assert_null(data);
}

Test(cli_agent, hostkey_generated_once_matches_ssh_keygen)
{
	char *line = NULL, *again = NULL, *pub, cmd[4500], out[4096];

	cr_assert_eq(agent_files_hostkey(dir, &line), 0);
	cr_assert_eq(strncmp(line, "ssh-ed25519 ", 12), 0, "%s", line);
	cr_assert_eq(stat_of(AGENT_HOSTKEY).st_mode & 07777, 0600);
	cr_assert_eq(stat_of(AGENT_HOSTKEY_PUB).st_mode & 07777, 0644);
	pub = slurp(AGENT_HOSTKEY_PUB);
	cr_assert_eq(strncmp(pub, line, strlen(line)), 0);
	cr_assert_str_eq(pub + strlen(line), "\n");
	snprintf(cmd, sizeof(cmd), "ssh-keygen -y -f %s/%s", dir,
	    AGENT_HOSTKEY);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0);
	cr_assert_eq(strncmp(out, line, strlen(line)), 0,
	    "ssh-keygen: %s, we: %s", out, line);
	cr_assert_eq(agent_files_hostkey(dir, &again), 0);
	cr_assert_str_eq(again, line, "the second run keeps the key");
	cr_assert_eq(count_files(dir), 2);
	free(line);
	free(again);
	wipe_free(pub);
}

Test(cli_agent, hostkey_readable_by_others_refused_not_replaced)
{
	char path[4300], *line = NULL;
	struct stat a;

	cr_assert_eq(agent_files_hostkey(dir, &line), 0);
	free(line);
	line = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, AGENT_HOSTKEY);
	cr_assert_eq(chmod(path, 0644), 0);
	a = stat_of(AGENT_HOSTKEY);
	cr_assert_eq(agent_files_hostkey(dir, &line), TSS_E_KEY_PERMS);
	cr_assert_null(line);
	cr_assert_eq(stat_of(AGENT_HOSTKEY).st_ino, a.st_ino);
}

Test(cli_agent, principals_written_and_stale_removed)
{
	const char *two[] = { "app", "root" }, *one[] = { "app" };
	char pdir[4300], *t;
	int changed;

	cr_assert_eq(agent_files_principals(dir, "prod/api", two, 2,
	    &changed), 0);
	cr_assert_eq(changed, 2);
	t = slurp("principals/app");
	cr_assert_str_eq(t, "app@prod/api\n");
	wipe_free(t);
	t = slurp("principals/root");
	cr_assert_str_eq(t, "root@prod/api\n");
	wipe_free(t);
	cr_assert_eq(agent_files_principals(dir, "prod/api", two, 2,
	    &changed), 0);
	cr_assert_eq(changed, 0, "unchanged: nothing written");
	cr_assert_eq(agent_files_principals(dir, "prod/api", one, 1,
	    &changed), 0);
	cr_assert_eq(changed, 1);
	snprintf(pdir, sizeof(pdir), "%s/principals", dir);
	cr_assert_eq(count_files(pdir), 1, "root's file removed");
	cr_assert_eq(agent_files_principals(dir, "prod/api", NULL, 0,
	    &changed), 0);
	cr_assert_eq(count_files(pdir), 0);
}

Test(cli_agent, principals_bad_names_change_nothing)
{
	const char *good[] = { "app" }, *bad[] = { "app", "../x" },
	    *comma[] = { "a,root" };
	char pdir[4300], *t;
	int changed;

	cr_assert_eq(agent_files_principals(dir, "prod/api", good, 1,
	    &changed), 0);
	cr_assert_eq(agent_files_principals(dir, "prod/api", bad, 2,
	    &changed), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_principals(dir, "prod/api", comma, 1,
	    &changed), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_principals(dir, "prod/../x", good, 1,
	    &changed), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_principals(dir, "a b", good, 1, &changed),
	    TSS_E_VALIDATION);
	snprintf(pdir, sizeof(pdir), "%s/principals", dir);
	cr_assert_eq(count_files(pdir), 1);
	t = slurp("principals/app");
	cr_assert_str_eq(t, "app@prod/api\n");
	wipe_free(t);
}

/* Write the config for conf into dir and have sshd -t read it. */
static void
sshd_accepts(const struct agent_files_conf *conf, const char *want)
{
	char *text = NULL, *inc = NULL, *line = NULL, cmd[4500], out[8192];
	char include[4200];

	cr_assert_eq(agent_files_hostkey(dir, &line), 0);
	cr_assert_eq(agent_files_sshd_config(conf, 0, &text), 0);
	cr_assert_eq(agent_files_sshd_config(conf, 1, &inc), 0);
	snprintf(include, sizeof(include), "Include %s/%s\n", dir,
	    AGENT_SSHD_INCLUDE);
	cr_assert_not_null(strstr(text, include), "%s", text);
	cr_assert_not_null(strstr(inc, want), "%s", inc);
	cr_assert_eq(agent_files_update(dir, AGENT_SSHD_CONFIG, text,
	    strlen(text), 0644), 1);
	cr_assert_eq(agent_files_update(dir, AGENT_SSHD_INCLUDE, inc,
	    strlen(inc), 0644), 1);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/sshd -t -f %s/%s 2>&1", dir,
	    AGENT_SSHD_CONFIG);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "sshd -t: %s\n%s\n%s",
	    out, text, inc);
	/* The snippet alone, as an sshd_config of the image would take it. */
	snprintf(cmd, sizeof(cmd), "/usr/sbin/sshd -t -f %s/%s 2>&1", dir,
	    AGENT_SSHD_INCLUDE);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "sshd -t: %s\n%s", out,
	    inc);
	free(text);
	free(inc);
	free(line);
}

Test(cli_agent, sshd_config_direct)
{
	struct agent_files_conf cf = { .dir = dir, .port = 2222,
	    .listen = "127.0.0.1" };
	char want[8192], *text = NULL;

	cr_assert_eq(agent_files_sshd_config(&cf, 0, &text), 0);
	cr_assert_not_null(strstr(text, "Port 2222\nListenAddress 127.0.0.1\n"
	    "UsePAM no\nPidFile none\n"), "%s", text);
	free(text);
	snprintf(want, sizeof(want), "HostKey %s/ssh_host_ed25519_key\n"
	    "HostCertificate %s/ssh_host_ed25519_key-cert.pub\n"
	    "TrustedUserCAKeys %s/user_ca.pub\nRevokedKeys %s/krl\n"
	    "AuthorizedKeysFile none\nPasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
	    "AuthorizedPrincipalsFile %s/principals/%%u\n"
	    "PermitRootLogin prohibit-password\n", dir, dir, dir, dir, dir);
	sshd_accepts(&cf, want);
}

Test(cli_agent, sshd_config_gateway)
{
	struct agent_files_conf cf = { .dir = dir, .port = 2222,
	    .gateway = 1, .exe = "/usr/bin/tessera" };
	char *text = NULL;

	sshd_accepts(&cf, "AuthorizedPrincipalsCommand /usr/bin/tessera "
	    "gateway principals %t %k\n"
	    "AuthorizedPrincipalsCommandUser nobody\n"
	    "AllowUsers tessera\nExposeAuthInfo yes\n"
	    "ForceCommand /usr/bin/tessera gateway shell\n"
	    "AcceptEnv TESSERA_TARGET TESSERA_LOGIN\n"
	    "DisableForwarding yes\nPermitTTY yes\nPermitUserRC no\n");
	cr_assert_eq(agent_files_sshd_config(&cf, 1, &text), 0);
	cr_assert_null(strstr(text, "AuthorizedPrincipalsFile"));
	free(text);
	cr_assert_eq(agent_files_sshd_config(&cf, 0, &text), 0);
	cr_assert_null(strstr(text, "ListenAddress"));
	free(text);
}

Test(cli_agent, path_checks)
{
	cr_assert_eq(agent_files_path_ok("/etc/ssh/tessera"), 0);
	cr_assert_eq(agent_files_path_ok("etc/ssh"), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_path_ok("/a b"), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_path_ok("/a%u"), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_path_ok("/a\"b"), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_path_ok("/a\nHostKey /x"), TSS_E_VALIDATION);
	cr_assert_eq(agent_files_path_ok(""), TSS_E_VALIDATION);
}

Test(cli_agent, krl_magic)
{
	struct cakey *ca = NULL;
	struct buf *krl = NULL;
	uint64_t serial = 7;
	struct krl_ca kc;
	uint8_t bytes[64];
	size_t len;

	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &ca), 0);
	kc.ca = cakey_public(ca);
	kc.serials = &serial;
	kc.nserials = 1;
	cr_assert_eq(krl_build(&kc, 1, 1, 1700000000, NULL, &krl), 0);
	len = buf_len(krl);
	cr_assert_eq(agent_files_krl_ok(buf_ptr(krl), len), 0);
	cr_assert_geq(len, 12);
	memcpy(bytes, buf_ptr(krl), 12);
	bytes[0] ^= 1;
	cr_assert_eq(agent_files_krl_ok(bytes, 12), TSS_E_BAD_FORMAT);
	cr_assert_eq(agent_files_krl_ok(buf_ptr(krl), 11), TSS_E_BAD_FORMAT);
	cr_assert_eq(agent_files_krl_ok("<html>not a krl</html>", 22),
	    TSS_E_BAD_FORMAT);
	buf_free(krl);
	cakey_free(ca);
}

Test(cli_agent, ca_text)
{
	static const char two[] =
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILPbLcnrf0dIPw0ckoF5JHOjj1Na5"
	    "ZEhqdAN7Vdkuast tessera-ca\n\n"
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILPbLcnrf0dIPw0ckoF5JHOjj1Na5"
	    "ZEhqdAN7Vdkuast\n";

	cr_assert_eq(agent_files_ca_ok(two, strlen(two)), 0);
	cr_assert_eq(agent_files_ca_ok("", 0), TSS_E_BAD_FORMAT);
	cr_assert_eq(agent_files_ca_ok("\n", 1), TSS_E_BAD_FORMAT);
	cr_assert_eq(agent_files_ca_ok("<html>", 6), TSS_E_BAD_FORMAT);
	cr_assert_eq(agent_files_ca_ok(two, strlen(two) - 20),
	    TSS_E_BAD_FORMAT, "a cut line");
}

Test(cli_agent, cert_validity_of_a_real_host_cert)
{
	char cmd[4500], out[4096], *line = NULL, *cert;
	uint64_t after = 0, before = 0;

	cr_assert_eq(agent_files_hostkey(dir, &line), 0);
	free(line);
	snprintf(cmd, sizeof(cmd), "cd %s && ssh-keygen -q -t ed25519 -N '' "
	    "-f ca && ssh-keygen -q -s ca -h -I h -n api.internal "
	    "-V 20300101000000:20300201000000 -z 5 %s.pub 2>&1", dir,
	    AGENT_HOSTKEY);
	setenv("TZ", "UTC", 1);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
	cert = slurp(AGENT_HOSTCERT);
	cr_assert_eq(agent_files_cert_validity(cert, strlen(cert), &after,
	    &before), 0);
	cr_assert_eq(after, 1893456000ULL, "%llu", (unsigned long long)after);
	cr_assert_eq(before, 1896134400ULL, "%llu",
	    (unsigned long long)before);
	cr_assert_eq(agent_files_cert_validity(cert, 60, &after, &before),
	    TSS_E_BAD_FORMAT, "truncated");
	cr_assert_eq(agent_files_cert_validity("ssh-rsa-cert-v01@openssh.com "
	    "AAAA", 33, &after, &before), TSS_E_UNSUPPORTED);
	cr_assert_eq(agent_files_cert_validity(
	    "ssh-ed25519-cert-v01@openssh.com !!!!", 37, &after, &before),
	    TSS_E_BAD_FORMAT);
	wipe_free(cert);
}

Test(cli_agent, renew_at_two_thirds)
{
	cr_assert_eq(agent_files_renew_due(1000, 1300, 1000), 0);
	cr_assert_eq(agent_files_renew_due(1000, 1300, 1199), 0);
	cr_assert_eq(agent_files_renew_due(1000, 1300, 1200), 1);
	cr_assert_eq(agent_files_renew_due(1000, 1300, 1300), 1, "expired");
	cr_assert_eq(agent_files_renew_due(1000, 1300, 999), 1, "not yet");
	cr_assert_eq(agent_files_renew_due(0, UINT64_MAX, UINT64_MAX / 3),
	    0);
	cr_assert_eq(agent_files_renew_due(0, UINT64_MAX, UINT64_MAX - 1),
	    1);
	cr_assert_eq(agent_files_renew_due(5, 5, 5), 1, "empty life");
}

/* The command line: usage errors (exit 2) before anything is touched. */
static void
usage_error(const char *const *args, const char *want)
{
	struct clirun res;

	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, args), 0);
	cr_assert_eq(res.status, 2, "status %d: %s", res.status, res.err);
	cr_assert_not_null(strstr(res.err, want), "%s", res.err);
	cr_assert_not_null(strstr(res.err, "usage: tessera target agent"));
}

Test(cli_agent, usage_errors)
{
	char d[4300];
	const char *none[] = { "target", "agent", "--dir", d, NULL };
	const char *both[] = { "target", "agent", "--token-file", "f",
	    "--token-env", "T", "--dir", d, NULL };
	const char *once_exec[] = { "target", "agent", "--token-env", "T",
	    "--once", "--exec-sshd", "--dir", d, NULL };
	const char *stray[] = { "target", "agent", "--token-env", "T",
	    "--exec-sshd", "-p", NULL };
	const char *noexec[] = { "target", "agent", "--token-env", "T",
	    "--once", "--", "-p", "22", NULL };
	const char *interval[] = { "target", "agent", "--token-env", "T",
	    "--interval", "0", NULL };
	const char *port[] = { "target", "agent", "--token-env", "T",
	    "--port", "65536", NULL };

	snprintf(d, sizeof(d), "%s/kit", dir);
	usage_error(none, "one of --token-file and --token-env");
	usage_error(both, "one of --token-file and --token-env");
	usage_error(once_exec, "exclude each other");
	usage_error(stray, "unknown option: -p");
	usage_error(noexec, "after --exec-sshd --");
	usage_error(interval, "--interval: a number from 1 to 86400");
	usage_error(port, "--port: a number from 1 to 65535");
	cr_assert_eq(access(d, F_OK), -1, "nothing made");
}

Test(cli_agent, bad_token_refused_before_any_request)
{
	struct clirun res;
	char d[4300], tok[4300];
	const char *env[] = { "TOK=", NULL };
	const char *args[] = { "--server", "https://127.0.0.1:1", "target",
	    "agent", "--token-env", "TOK", "--dir", d, "--once", NULL };
	const char *file[] = { "--server", "https://127.0.0.1:1", "target",
	    "agent", "--token-file", tok, "--dir", d, "--once", NULL };

	snprintf(d, sizeof(d), "%s/kit", dir);
	snprintf(tok, sizeof(tok), "%s/token", dir);
	cr_assert_eq(clirun(&res, dir, env, NULL, 30, args), 0);
	cr_assert_eq(res.status, 1);
	cr_assert_not_null(strstr(res.err, "TOK"), "%s", res.err);
	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, file), 0);
	cr_assert_eq(res.status, 1);
	cr_assert_not_null(strstr(res.err, "cannot read the token file"),
	    "%s", res.err);
	cr_assert_eq(tmpfile_write(tok, "tsj_a b\n", 0600), 0);
	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, file), 0);
	cr_assert_eq(res.status, 1);
	cr_assert_not_null(strstr(res.err, "holds blanks"), "%s",
	    res.err);
}

Test(cli_agent, server_down_first_sync_fails_files_prepared)
{
	struct clirun res;
	char d[4300], tok[4300];
	const char *args[] = { "--server", "https://127.0.0.1:1", "target",
	    "agent", "--token-file", tok, "--dir", d, "--once", NULL };

	snprintf(d, sizeof(d), "%s/kit", dir);
	snprintf(tok, sizeof(tok), "%s/token", dir);
	cr_assert_eq(tmpfile_write(tok, "tsj_abc\n", 0600), 0);
	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, args), 0);
	cr_assert_eq(res.status, 1);
	cr_assert_not_null(strstr(res.err, "keeping the last good files"),
	    "%s", res.err);
	cr_assert_not_null(strstr(res.err, "the first sync"), "%s", res.err);
	cr_assert_null(strstr(res.err, "tsj_abc"), "the token is not logged");
	cr_assert_eq(count_files(d), 4,
	    "key, .pub, sshd_config and its include only");
}
