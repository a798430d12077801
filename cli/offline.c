/*
 * offline: root's break-glass commands on a data directory, without the
 * service: init, backup, restore, audit verify.  They call store/, auth/,
 * rbac/ and broker/ directly; every change they make is audited with the
 * actor "local" in the same transaction.
 *
 * --data names the store: a data directory or, for the PostgreSQL
 * backend, its postgresql:// URI (the password from PGPASSWORD or a
 * PGPASSFILE, never the command line).
 *
 * A data directory holds the LMDB environment (data.mdb), tesserad.conf,
 * ca.key, master.key and, with --dev, tls.crt and tls.key.  A backup is the
 * environment only: the key files are backed up separately (they are what
 * makes a stolen backup harmless).
 *
 * This file holds backup, restore and the helpers the others share
 * (offline_int.h); init is in offline_init.c, audit verify in
 * offline_verify.c.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "common/err.h"
#include "store/store.h"
#include "audit/audit.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "cli.h"
#include "offline_int.h"

const char *
offline_name(const char *loc)
{
	return store_location_is_pg(loc) ? "the PostgreSQL database" : loc;
}

/* 0 missing, 1 empty directory, 2 anything else; negative on error. */
int
offline_dir_state(const char *dir)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r = 1;

	if (stat(dir, &st) != 0)
		return errno == ENOENT ? 0 : TSS_E_IO;
	if (!S_ISDIR(st.st_mode))
		return 2;
	if ((d = opendir(dir)) == NULL)
		return TSS_E_IO;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = 2;
	closedir(d);
	return r;
}

int
offline_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? TSS_E_TOO_LONG : 0;
}

/*
 * Exit status for a store failure: tesserad's for a store that is there
 * but damaged (tessera(1)); CLI_FAIL, as ever, for the rest: no store, a
 * file that is no store.
 */
int
offline_store_status(int r)
{
	if (r == TSS_E_NO_STORE || r == TSS_E_NOT_A_STORE ||
	    r == TSS_E_SCHEMA_TOO_NEW)
		return CLI_FAIL;
	return broker_exit_status(r, CLI_FAIL);
}

int
offline_open_failed(struct cli *c, const char *dir, int k, const char *cmd)
{
	if (k != TSS_E_IN_USE)
		cli_fail(c, "cannot open the store in %s: %s",
		    offline_name(dir), tss_strerror(k));
	else
		cli_fail(c, "data_dir %s is in use by a running tesserad (in "
		    "another container?) or a tessera command in another PID "
		    "namespace, and LMDB cannot share it across PID "
		    "namespaces; use `tessera backup --online`, or run the "
		    "command in tesserad's container: `docker exec "
		    "<container> tessera %s ...`", dir, cmd);
	return offline_store_status(k);
}

/* Fail unless dir holds a store (so no command creates one by mistake). */
int
offline_need_store(struct cli *c, const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	if (store_location_is_pg(dir))
		return CLI_OK;		/* store_open says what is wrong */
	if (offline_join(p, sizeof(p), dir, "data.mdb") != 0)
		return cli_fail(c, "path too long: %s", dir);
	if (stat(p, &st) != 0)
		return cli_fail(c, "%s holds no Tessera store (no data.mdb)",
		    dir);
	return CLI_OK;
}

/* Append one event with actor "local" in its own write transaction. */
static int
audit_local(struct store *s, const char *action, const char *object,
    const char *result, json_t *fields)
{
	struct store_txn *t = NULL;
	int r;

	if ((r = store_begin(s, 1, &t)) != 0)
		return r;
	if ((r = audit_record(t, NULL, action, object, result, fields,
	    cli_now(), NULL)) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

/* Open the store of dir for cmd ("backup"), never creating one; message
 * printed on failure. */
int
offline_open_store(struct cli *c, const char *dir, const char *cmd,
    struct store **s)
{
	struct store_opts so;
	char owner[32];
	int r;

	if ((r = offline_need_store(c, dir)) != CLI_OK)
		return r;
	snprintf(owner, sizeof(owner), "tessera %s", cmd);
	memset(&so, 0, sizeof(so));
	so.mode = STORE_OPEN_EXISTING;
	so.lock_owner = owner;
	if ((r = store_open(dir, &so, s)) != 0)
		return offline_open_failed(c, dir, r, cmd);
	return CLI_OK;
}

/* --------------------------------------------------------------- backup */

int
cmd_backup(struct cli *c, int argc, char **argv)
{
	const char *data = NULL;
	int online = 0;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ "online", CLI_OPT_FLAG, &online },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct stat st;
	size_t np;
	int r, k;

	CLI_PARSE(c, argc, argv, opts, pos, 0, 1, &np);
	if (online && (data != NULL || np != 0)) {
		fprintf(stderr, "%s: --online takes neither --data nor FILE: "
		    "tesserad writes the backup into its backup_dir\n",
		    c->prog);
		return cli_usage(c);
	}
	if (online)
		return cmd_backup_online(c);
	if (data == NULL || np != 1) {
		fprintf(stderr, "%s: --data DIR and FILE are required\n",
		    c->prog);
		return cli_usage(c);
	}
	if ((r = offline_open_store(c, data, "backup", &s)) != CLI_OK)
		return r;
	if ((k = store_backup(s, pos[0])) != 0) {
		r = cli_fail(c, "cannot back up %s to %s: %s",
		    offline_name(data), pos[0],
		    k == TSS_E_CONFLICT ? "the file exists" : tss_strerror(k));
		goto out;
	}
	if ((k = audit_local(s, "store.backup", pos[0], "ok", NULL)) != 0) {
		r = cli_fail(c, "backup written, but it could not be audited: "
		    "%s", tss_strerror(k));
		goto out;
	}
	if (stat(pos[0], &st) == 0)
		cli_info(c, "Backup of %s written to %s (%lld bytes).\n"
		    "It holds the store only: keep ca.key, master.key and "
		    "tesserad.conf safe separately.\n", offline_name(data), pos[0],
		    (long long)st.st_size);
	r = CLI_OK;
 out:
	store_close(s);
	return r;
}

/* -------------------------------------------------------------- restore */

int
cmd_restore(struct cli *c, int argc, char **argv)
{
	const char *data = NULL;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct store_txn *t = NULL;
	uint64_t max = 0, cur = 0;
	json_t *fields = NULL;
	size_t np;
	int r = CLI_FAIL, k;

	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if (data == NULL) {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if (store_in_use(data) == TSS_E_IN_USE)
		return cli_fail(c, "%s is in use by a running tesserad or "
		    "tessera command: stop it first; restore needs an empty or "
		    "missing directory", data);
	if ((k = offline_dir_state(data)) == 2)
		return cli_fail(c, "%s is not empty: restore needs an empty or "
		    "missing directory", data);
	if ((k = store_restore(pos[0], data)) != 0) {
		cli_fail(c, "cannot restore %s into %s: %s", pos[0],
		    offline_name(data),
		    tss_strerror(k));
		return offline_store_status(k);
	}
	if ((r = offline_open_store(c, data, "restore", &s)) != CLI_OK)
		goto out;
	/*
	 * Serials must never repeat: the counter goes at least to the
	 * highest serial in the ledger.  Serials issued after the backup was
	 * taken are covered by the issuer, which reserves serials above a
	 * clock-derived floor (broker/certs.h).
	 */
	if ((k = store_begin(s, 1, &t)) != 0 ||
	    (k = certs_max_serial(t, &max)) != 0 ||
	    (k = store_counter_get(t, STORE_CTR_SERIAL, &cur)) != 0 ||
	    (max > cur && (k = store_counter_raise(t, STORE_CTR_SERIAL, max))
	    != 0)) {
		r = cli_fail(c, "cannot raise the serial counter: %s",
		    tss_strerror(k));
		goto out;
	}
	if ((fields = json_pack("{s:I, s:I}", "max_serial", (json_int_t)max,
	    "serial_counter", (json_int_t)(max > cur ? max : cur))) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((k = audit_record(t, NULL, "store.restore", pos[0], "ok", fields,
	    cli_now(), NULL)) != 0) {
		r = cli_fail(c, "cannot audit the restore: %s",
		    tss_strerror(k));
		goto out;
	}
	k = store_commit(t);
	t = NULL;
	if (k != 0) {
		r = cli_fail(c, "cannot commit: %s", tss_strerror(k));
		goto out;
	}
	cli_info(c, "Restored %s into %s; certificate serials continue above "
	    "%llu.\nPut tesserad.conf, ca.key, master.key and the TLS files "
	    "back before starting tesserad.\n", pos[0], offline_name(data),
	    (unsigned long long)(max > cur ? max : cur));
	r = CLI_OK;
 out:
	store_abort(t);
	store_close(s);
	json_decref(fields);
	return r;
}
