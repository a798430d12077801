/*
 * oom, the command-line client's offline commands, called in the test
 * process on a data directory `tessera init` made (cli.h's command
 * functions): `tessera --json audit verify --checkpoints FILE`, whose one
 * JSON line says what was verified, walked through every allocation
 * failure and with each allocation refused alone (oom.h).  A command's
 * failure counts as out of memory when it says so; its stdout must then
 * hold nothing.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "common/err.h"
#include "sshca/cakey.h"
#include "store/store.h"
#include "cli.h"
#include "oom.h"
#include "tmpdir.h"

static char dir[PATH_MAX], data[PATH_MAX + 8], ckfile[PATH_MAX + 16];
static char outfile[PATH_MAX + 16], errfile[PATH_MAX + 16];

static void
setup(void)
{
	char *argv[] = { "init", "--data", data, "--dev", "--admin", "root",
	    NULL };
	struct cli c;

	oom_setup();
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(ckfile, sizeof(ckfile), "%s/audit.jsonl", dir);
	snprintf(outfile, sizeof(outfile), "%s/stdout", dir);
	snprintf(errfile, sizeof(errfile), "%s/stderr", dir);
	memset(&c, 0, sizeof(c));
	c.prog = "tessera";
	c.sess_err = 1;
	cr_assert_eq(cmd_init(&c, 6, argv), CLI_OK);
	cli_cleanup(&c);
}

static void
teardown(void)
{
	oom_teardown();
	tmpdir_remove(dir);
}

TestSuite(oom_cli, .init = setup, .fini = teardown, .timeout = 240);

/* The command with stdout and stderr in files; what they got in out
 * and err. */
struct cmdx {
	int (*fn)(struct cli *, int, char **);
	int argc;
	char **argv;
	char out[4096], err[4096];
};

static void
slurp(const char *path, char *buf, size_t len)
{
	FILE *f;
	size_t n;

	cr_assert_not_null(f = fopen(path, "r"));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static int
cmd_run(void *arg)
{
	struct cmdx *x = arg;
	struct cli c;
	int fo, fe, so, se, r;

	memset(&c, 0, sizeof(c));
	c.prog = "tessera";
	c.sess_err = 1;
	c.json = 1;
	fflush(stdout);
	fflush(stderr);
	cr_assert_geq(fo = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    0);
	cr_assert_geq(fe = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    0);
	so = dup(1);
	se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	r = x->fn(&c, x->argc, x->argv);
	cli_cleanup(&c);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	slurp(outfile, x->out, sizeof(x->out));
	slurp(errfile, x->err, sizeof(x->err));
	if (r == CLI_OK)
		return 0;
	cr_assert_not_null(strstr(x->err, "out of memory"), "%s", x->err);
	return TSS_E_NOMEM;
}

/* ---- audit verify ---- */

static void
verify_check(void *arg, int r)
{
	struct cmdx *x = arg;
	json_t *j;

	if (r != 0) {
		cr_assert_str_empty(x->out, "a failed verify printed %s",
		    x->out);
		return;
	}
	cr_assert_not_null(j = json_loads(x->out, 0, NULL), "%s", x->out);
	cr_assert(json_is_true(json_object_get(j, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(j, "checkpoints")), 1,
	    "%s", x->out);
	cr_assert_str_eq(json_string_value(json_object_get(j,
	    "checkpoint_result")), "ok", "%s", x->out);
	json_decref(j);
}

static char *
verify_show(void *arg)
{
	struct cmdx *x = arg;

	return oom_text(x->out);
}

/* One checkpoint over the events init wrote, signed by its audit key. */
static void
write_checkpoint(void)
{
	char key[sizeof(data) + 16], head[65], *line;
	struct store_opts so = { .mode = STORE_OPEN_EXISTING };
	struct store *s;
	struct store_txn *t;
	struct cakey *k;
	uint64_t count, bad;
	FILE *f;

	cr_assert_eq(store_open(data, &so, &s), 0);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(audit_verify(t, &count, head, &bad), 0);
	store_abort(t);
	store_close(s);
	snprintf(key, sizeof(key), "%s/audit.key", data);
	cr_assert_eq(cakey_load(key, &k), 0);
	cr_assert_eq(audit_ckpt_sign(k, count, head, 1700000000, &line), 0);
	cakey_free(k);
	cr_assert_not_null(f = fopen(ckfile, "w"));
	fprintf(f, "%s\n", line);
	fclose(f);
	free(line);
}

Test(oom_cli, audit_verify_checkpoints)
{
	char *argv[] = { "verify", "--data", data, "--checkpoints", ckfile,
	    NULL };
	struct cmdx x = { .fn = cmd_audit_verify, .argc = 5, .argv = argv };

	write_checkpoint();
	oom_walk("tessera --json audit verify --checkpoints", cmd_run,
	    verify_check, &x);
	oom_walk_nth("tessera --json audit verify --checkpoints", cmd_run,
	    verify_check, verify_show, &x);
}
