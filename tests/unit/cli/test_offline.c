/*
 * Offline commands through the real binary on real data directories:
 * init (files, modes, the enrollment link, refusals), backup while the store
 * is open elsewhere, restore (serials continue), audit verify (intact,
 * altered, removed).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "store/store.h"
#include "broker/certs.h"
#include "broker/config.h"
#include "clirun.h"
#include "tmpdir.h"

static char dir[4096], data[4200], p[4400];
static struct clirun res;

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(data, sizeof(data), "%s/data", dir);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(cli_offline, .init = setup, .fini = teardown, .timeout = 120);

#define RUN(...) do { \
		const char *const a_[] = { __VA_ARGS__, NULL }; \
		cr_assert_eq(clirun(&res, dir, NULL, NULL, 60, a_), 0); \
	} while (0)

static const char *
in(const char *d, const char *name)
{
	snprintf(p, sizeof(p), "%s/%s", d, name);
	return p;
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s missing", path);
	return st.st_mode & 07777;
}

static void
init_data(void)
{
	RUN("init", "--data", data, "--dev", "--admin", "root-admin");
	cr_assert_eq(res.status, 0, "%s", res.err);
}

Test(cli_offline, init_makes_store_keys_config_and_link)
{
	struct config cfg;
	char err[512], *line, *save = NULL;
	int found = 0;

	init_data();
	cr_assert_eq(mode_of(data), 0700);
	cr_assert_eq(mode_of(in(data, "ca.key")), 0600);
	cr_assert_eq(mode_of(in(data, "master.key")), 0600);
	cr_assert_eq(mode_of(in(data, "tls.key")), 0600);
	cr_assert_eq(mode_of(in(data, "tls.crt")), 0644);
	mode_of(in(data, "data.mdb"));
	/* the config is ready for tesserad */
	cr_assert_eq(config_load(in(data, "tesserad.conf"), &cfg, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.ca_key, in(data, "ca.key"));
	cr_assert_str_eq(cfg.master_key, in(data, "master.key"));
	cr_assert_str_eq(cfg.tls_cert, in(data, "tls.crt"));
	config_free(&cfg);
	/* the enrollment link on a line of its own */
	for (line = strtok_r(res.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "https://127.0.0.1:8443/enroll#token=", 36)
		    == 0 && strlen(line) == 36 + 64)
			found = 1;
	cr_assert(found, "no link line in:\n%s", res.out);
}

Test(cli_offline, dev_certificate_verifies_for_127_0_0_1_and_localhost)
{
	char cmd[20000], crt[4400];

	init_data();
	snprintf(crt, sizeof(crt), "%s", in(data, "tls.crt"));
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile '%s' "
	    "-verify_ip 127.0.0.1 '%s' >/dev/null 2>&1 && openssl verify "
	    "-CAfile '%s' -verify_hostname localhost '%s' >/dev/null 2>&1",
	    crt, crt, crt, crt);
	cr_assert_eq(system(cmd), 0);
}

Test(cli_offline, init_refuses_a_non_empty_directory)
{
	cr_assert_eq(mkdir(data, 0700), 0);
	cr_assert_eq(tmpfile_write(in(data, "keep"), "x", 0600), 0);
	RUN("init", "--data", data);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "not an empty directory") != NULL, "%s",
	    res.err);
	/* nothing was written */
	cr_assert_neq(access(in(data, "data.mdb"), F_OK), 0);
	cr_assert_neq(access(in(data, "ca.key"), F_OK), 0);
}

Test(cli_offline, init_twice_refused)
{
	init_data();
	RUN("init", "--data", data);
	cr_assert_eq(res.status, 1);
}

Test(cli_offline, init_needs_data)
{
	RUN("init", "--dev");
	cr_assert_eq(res.status, 2);
	cr_assert(strstr(res.err, "usage: tessera init --data DIR") != NULL);
}

Test(cli_offline, audit_verify_intact_chain)
{
	init_data();
	RUN("audit", "verify", "--data", data);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert(strstr(res.out, "audit chain intact: ") != NULL, "%s",
	    res.out);
	cr_assert(strstr(res.out, " events, head ") != NULL);
	/* the verification was audited: one more event the next time */
	RUN("--json", "audit", "verify", "--data", data);
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, "\"ok\":true") != NULL, "%s", res.out);
}

/* Change or delete audit event seq in the store of data. */
static void
tamper(uint64_t seq, int remove)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	uint8_t key[8], *copy;
	const void *v;
	size_t vl;
	int i;

	for (i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	cr_assert_eq(store_open(data, NULL, &s), 0);
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_AUDIT, key, 8, &v, &vl), 0);
	if (remove)
		cr_assert_eq(store_del(t, STORE_DB_AUDIT, key, 8), 0);
	else {
		copy = malloc(vl);
		memcpy(copy, v, vl);
		copy[vl / 2] ^= 0x01;
		cr_assert_eq(store_put(t, STORE_DB_AUDIT, key, 8, copy, vl, 0),
		    0);
		free(copy);
	}
	cr_assert_eq(store_commit(t), 0);
	store_close(s);
}

Test(cli_offline, audit_verify_names_an_altered_event)
{
	init_data();
	tamper(2, 0);
	RUN("audit", "verify", "--data", data);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "audit chain broken at event 2") != NULL,
	    "%s", res.err);
}

Test(cli_offline, audit_verify_names_a_removed_event)
{
	init_data();
	tamper(1, 1);
	RUN("audit", "verify", "--data", data);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "audit chain broken at event 1") != NULL,
	    "%s", res.err);
}

Test(cli_offline, audit_verify_without_store)
{
	cr_assert_eq(mkdir(data, 0700), 0);
	RUN("audit", "verify", "--data", data);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "holds no Tessera store") != NULL);
	cr_assert_neq(access(in(data, "data.mdb"), F_OK), 0);
}

/* A certificate record with serial in the store of d. */
static void
put_cert(const char *d, uint64_t serial)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct cert_record c;
	char *pr[] = { "app@prod/api" };

	memset(&c, 0, sizeof(c));
	c.serial = serial;
	c.username = "root-admin";
	c.fingerprint = "SHA256:x";
	c.target = "prod/api";
	c.principals = pr;
	c.n_principals = 1;
	c.valid_after = 1;
	c.valid_before = 2;
	c.issued_at = 1;
	c.certificate = "ssh-ed25519-cert-v01@openssh.com AAAA";
	cr_assert_eq(store_open(d, NULL, &s), 0);
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(certs_put(t, &c), 0);
	cr_assert_eq(store_commit(t), 0);
	store_close(s);
}

Test(cli_offline, backup_while_open_then_restore_keeps_serials_above)
{
	char file[4300], back[4300];
	struct store *s = NULL, *held = NULL;
	struct store_txn *t = NULL;
	uint64_t ctr = 0;

	init_data();
	put_cert(data, 5000);
	/* another process (this one) has the store open, as tesserad would */
	cr_assert_eq(store_open(data, NULL, &held), 0);
	snprintf(file, sizeof(file), "%s/backup.mdb", dir);
	RUN("backup", "--data", data, file);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_eq(mode_of(file), 0600);
	store_close(held);
	/* an existing file is not overwritten */
	RUN("backup", "--data", data, file);
	cr_assert_eq(res.status, 1);

	snprintf(back, sizeof(back), "%s/restored", dir);
	RUN("restore", "--data", back, file);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert(strstr(res.out, "serials continue above 5000") != NULL,
	    "%s", res.out);
	cr_assert_eq(store_open(back, NULL, &s), 0);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_SERIAL, &ctr), 0);
	cr_assert_geq(ctr, 5000);
	store_abort(t);
	store_close(s);
	/* the restored trail is intact (restore event included) */
	RUN("audit", "verify", "--data", back);
	cr_assert_eq(res.status, 0, "%s", res.err);
}

Test(cli_offline, restore_refuses_a_non_empty_directory)
{
	char file[4300];

	init_data();
	snprintf(file, sizeof(file), "%s/backup.mdb", dir);
	RUN("backup", "--data", data, file);
	cr_assert_eq(res.status, 0, "%s", res.err);
	RUN("restore", "--data", data, file);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "is not empty") != NULL, "%s", res.err);
}

Test(cli_offline, restore_refuses_a_file_that_is_no_backup)
{
	char file[4300], back[4300];

	snprintf(file, sizeof(file), "%s/junk", dir);
	cr_assert_eq(tmpfile_write(file, "not a store at all", 0600), 0);
	snprintf(back, sizeof(back), "%s/restored", dir);
	RUN("restore", "--data", back, file);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "cannot restore") != NULL, "%s", res.err);
}
