#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config.h"
#include "common/err.h"
#include "tmpdir.h"

static char dir[256], path[300];
static const char *required =
    "tls_cert = /x/cert.pem\ntls_key = /x/key.pem\n"
    "ca_key = /x/ca\nmaster_key = /x/master\n";

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/tesserad.conf", dir);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

/* Load text as a config file; returns the config_load result. */
static int
load(const char *text, struct config *c, char *err, size_t errlen)
{
	cr_assert_eq(tmpfile_write(path, text, 0600), 0);
	return config_load(path, c, err, errlen);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults_when_only_required_keys)
{
	struct config c;
	char err[512] = "";

	cr_assert_eq(load(required, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.listen, "127.0.0.1:8443");
	cr_expect_str_eq(c.data_dir, "/var/lib/tessera");
	cr_expect_str_eq(c.issuer, "Tessera");
	cr_expect_str_eq(c.audit_log, "-");
	cr_expect_null(c.public_url);
	cr_expect_eq(c.cert_default_ttl, 3600);
	cr_expect_eq(c.cert_max_ttl, 8 * 3600);
	cr_expect_eq(c.session_idle, 1800);
	cr_expect_eq(c.session_max, 12 * 3600);
	cr_expect_eq(c.totp_window, 1);
	cr_expect_eq(c.max_connections, 1024);
	cr_expect_null(c.backup_dir);		/* no backups */
	cr_expect_eq(c.backup_interval, 86400);
	cr_expect_eq(c.backup_keep, 7);
	cr_expect_null(c.host_ca_key);		/* no host CA */
	cr_expect_str_eq(c.host_ca_pattern, "*");
	cr_expect_eq(c.host_cert_ttl, 30 * 86400);
	config_free(&c);
}

Test(config, host_ca_keys_checked)
{
	struct config c;
	char text[512], err[512] = "";

	snprintf(text, sizeof(text), "%shost_ca_key = /x/host_ca\n"
	    "host_ca_pattern = *.internal,10.0.0.*\nhost_cert_ttl = 7d\n",
	    required);
	cr_assert_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.host_ca_key, "/x/host_ca");
	cr_expect_str_eq(c.host_ca_pattern, "*.internal,10.0.0.*");
	cr_expect_eq(c.host_cert_ttl, 7 * 86400);
	config_free(&c);

	snprintf(text, sizeof(text), "%shost_cert_ttl = 59s\n", required);
	cr_expect_eq(load(text, &c, err, sizeof(err)), TSS_E_CONFIG);
	cr_expect_not_null(strstr(err, "host_cert_ttl"), "%s", err);
	snprintf(text, sizeof(text), "%shost_cert_ttl = 366d\n", required);
	cr_expect_eq(load(text, &c, err, sizeof(err)), TSS_E_CONFIG);
	/* A space would end the pattern field of the known_hosts line. */
	snprintf(text, sizeof(text), "%shost_ca_pattern = a b\n", required);
	cr_expect_eq(load(text, &c, err, sizeof(err)), TSS_E_CONFIG);
	cr_expect_not_null(strstr(err, "host_ca_pattern"), "%s", err);
}

Test(config, comments_blanks_spaces_and_values)
{
	struct config c;
	char err[512] = "", text[1024];

	snprintf(text, sizeof(text), "# a comment\n\n  %s"
	    "listen=[::1]:0\n\tissuer =  Acme Corp  \ncert_max_ttl = 1d\n"
	    "totp_window = 2\r\n", required);
	cr_assert_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.listen, "[::1]:0");
	cr_expect_str_eq(c.issuer, "Acme Corp");
	cr_expect_eq(c.cert_max_ttl, 86400);
	cr_expect_eq(c.totp_window, 2);
	config_free(&c);
	snprintf(text, sizeof(text), "%sbackup_dir = /b\nbackup_interval = 6h\n"
	    "backup_keep = 30\n", required);
	cr_assert_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.backup_dir, "/b");
	cr_expect_eq(c.backup_interval, 6 * 3600);
	cr_expect_eq(c.backup_keep, 30);
	config_free(&c);
}

struct bad_case {
	const char *line;
	const char *want;	/* substring of the error */
};

Test(config, bad_lines_name_file_line_and_key)
{
	static const struct bad_case cases[] = {
		{ "bogus = 1", ":5: bogus: unknown key" },
		{ "cert_max_ttl = 8x", ":5: cert_max_ttl: expected a duration" },
		{ "cert_max_ttl = -1h", ":5: cert_max_ttl: expected a duration" },
		{ "cert_max_ttl = 99999999999999999999d", ":5: cert_max_ttl: duration too large" },
		{ "session_idle = 1s", ":5: session_idle: duration out of range" },
		{ "totp_window = 11", ":5: totp_window: number out of range" },
		{ "totp_window = one", ":5: totp_window: expected a non-negative integer" },
		{ "totp_window = 1 2", ":5: totp_window: expected a non-negative integer" },
		{ "max_connections = 0", ":5: max_connections: number out of range" },
		{ "listen = 127.0.0.1", ":5: listen: expected host:port" },
		{ "listen = 127.0.0.1:70000", ":5: listen: expected host:port" },
		{ "listen = ::1:8443", ":5: listen: expected host:port" },
		{ "log_level = loud", ":5: log_level: expected debug" },
		{ "issuer =", ":5: issuer: empty value" },
		{ "backup_keep = 0", ":5: backup_keep: number out of range" },
		{ "backup_interval = 0s", ":5: backup_interval: duration out of range" },
		{ "backup_interval = daily", ":5: backup_interval: expected a duration" },
		{ "just words", ":5: expected key = value" },
	};
	char text[1024], err[512], want[600];
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s\n", required, cases[i].line);
		err[0] = '\0';
		cr_expect_eq(load(text, &c, err, sizeof(err)), TSS_E_CONFIG,
		    "accepted: %s", cases[i].line);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
		cr_expect(strstr(err, want) != NULL, "line %s: got '%s', "
		    "want '%s'", cases[i].line, err, want);
	}
}

Test(config, missing_required_key)
{
	struct config c;
	char err[512] = "";

	cr_expect_eq(load("tls_cert = a\ntls_key = b\nca_key = c\n", &c, err,
	    sizeof(err)), TSS_E_CONFIG);
	cr_expect(strstr(err, "master_key: required key missing") != NULL,
	    "%s", err);
}

Test(config, unreadable_file_is_named)
{
	struct config c;
	char err[512] = "", missing[320];

	snprintf(missing, sizeof(missing), "%s/nope.conf", dir);
	cr_expect_eq(config_load(missing, &c, err, sizeof(err)), TSS_E_CONFIG);
	cr_expect(strstr(err, missing) != NULL && strstr(err, "cannot read"),
	    "%s", err);
}

Test(config, default_ttl_above_max_refused)
{
	struct config c;
	char err[512] = "", text[512];

	snprintf(text, sizeof(text), "%scert_default_ttl = 9h\n", required);
	cr_expect_eq(load(text, &c, err, sizeof(err)), TSS_E_CONFIG);
	cr_expect(strstr(err, "cert_default_ttl: larger than cert_max_ttl"),
	    "%s", err);
}

Test(config, environment_overrides_file)
{
	struct config c;
	char err[512] = "", text[512];

	snprintf(text, sizeof(text), "%sissuer = FromFile\n", required);
	setenv("TESSERA_ISSUER", "FromEnv", 1);
	setenv("TESSERA_CERT_DEFAULT_TTL", "15m", 1);
	cr_assert_eq(load(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.issuer, "FromEnv");
	cr_expect_eq(c.cert_default_ttl, 900);
	config_free(&c);

	setenv("TESSERA_TOTP_WINDOW", "x", 1);
	cr_expect_eq(load(text, &c, err, sizeof(err)), TSS_E_CONFIG);
	cr_expect(strstr(err, "environment TESSERA_TOTP_WINDOW: totp_window:"),
	    "%s", err);
	unsetenv("TESSERA_ISSUER");
	unsetenv("TESSERA_CERT_DEFAULT_TTL");
	unsetenv("TESSERA_TOTP_WINDOW");
}

Test(config, parse_listen_forms)
{
	char host[64];
	uint16_t port;

	cr_assert_eq(config_parse_listen("127.0.0.1:8443", host, sizeof(host),
	    &port), 0);
	cr_expect_str_eq(host, "127.0.0.1");
	cr_expect_eq(port, 8443);
	cr_assert_eq(config_parse_listen("[::1]:0", host, sizeof(host), &port), 0);
	cr_expect_str_eq(host, "::1");
	cr_expect_eq(port, 0);
	cr_expect_eq(config_parse_listen("[::1]8443", host, sizeof(host), &port),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(config_parse_listen(":8443", host, sizeof(host), &port),
	    TSS_E_BAD_FORMAT);
	cr_expect_neq(config_parse_listen("h:", host, sizeof(host), &port), 0);
}

Test(config, changed_keys_in_table_order)
{
	struct config a, b;
	char err[512] = "", text[1024];
	const char *k;
	size_t i = 0;

	cr_assert_eq(load(required, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(load(required, &b, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(config_changed(&a, &b, &i), "identical configs");
	config_free(&b);
	/* A string, a duration, a number, and a string set only in one. */
	snprintf(text, sizeof(text), "%slog_level = debug\ncert_max_ttl = 2h\n"
	    "max_connections = 10\npublic_url = https://a.example\n",
	    required);
	cr_assert_eq(load(text, &b, err, sizeof(err)), 0, "%s", err);
	i = 0;
	cr_expect_str_eq(config_changed(&a, &b, &i), "public_url");
	cr_expect_str_eq(config_changed(&a, &b, &i), "log_level");
	cr_expect_str_eq(config_changed(&a, &b, &i), "cert_max_ttl");
	cr_expect_str_eq(config_changed(&a, &b, &i), "max_connections");
	k = config_changed(&a, &b, &i);
	cr_expect_null(k, "unexpected change %s", k != NULL ? k : "");
	cr_expect_null(config_changed(&a, &b, &i), "stays at the end");
	config_free(&a);
	config_free(&b);
}
