/*
 * offline audit verify: the audit chain of a data directory's store, and
 * optionally the signed checkpoints tesserad wrote, checked read-only.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"
#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "broker/config.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "cli.h"
#include "offline_int.h"

/*
 * Exit statuses of audit verify beyond CLI_FAIL (a broken chain, or a
 * failure to read): one per way checkpoints can fail (tessera(1)).
 */
#define VERIFY_EXIT_BAD_SIG	3
#define VERIFY_EXIT_MISSING	4
#define VERIFY_EXIT_CHANGED	5

/*
 * A checkpoint line is about 300 bytes: a longer line is some event's and
 * is skipped unread, so memory stays bounded whatever the stream holds.
 */
#define CKPT_LINE_MAX		4096
#define CKPT_COUNT_MAX		(16 * 1024 * 1024)

/*
 * The checkpoints in the JSON-lines stream file, with their line numbers;
 * other lines (events, log lines) are skipped.  Message printed on failure.
 */
static int
read_checkpoints(struct cli *c, const char *file, struct audit_ckpt **out,
    size_t **lines, size_t *n)
{
	struct audit_ckpt *v = NULL, *nv;
	size_t *ln = NULL, *nl, have = 0, cap = 0, lineno = 0, len;
	char line[CKPT_LINE_MAX];
	FILE *f;
	int r = CLI_FAIL, k, skip = 0;

	*out = NULL;
	*lines = NULL;
	*n = 0;
	if ((f = fopen(file, "r")) == NULL)
		return cli_fail(c, "cannot read %s: %s", file, strerror(errno));
	errno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strlen(line);
		if (skip) {		/* the rest of a long line */
			skip = len > 0 && line[len - 1] != '\n';
			continue;
		}
		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			skip = 1;
			continue;
		}
		if (have == cap) {
			cap = cap == 0 ? 64 : 2 * cap;
			if (cap > CKPT_COUNT_MAX) {
				r = cli_fail(c, "%s: more than %d checkpoints",
				    file, CKPT_COUNT_MAX);
				goto out;
			}
			if ((nv = mem_reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = cli_fail(c, "out of memory");
				goto out;
			}
			v = nv;
			if ((nl = mem_reallocarray(ln, cap, sizeof(*ln))) == NULL) {
				r = cli_fail(c, "out of memory");
				goto out;
			}
			ln = nl;
		}
		if ((k = audit_ckpt_parse(line, len, &v[have])) ==
		    TSS_E_NOT_FOUND)
			continue;
		if (k == TSS_E_NOMEM) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		if (k != 0) {
			cli_fail(c, "%s:%zu: malformed checkpoint (a field is "
			    "missing or not in its format): it cannot be "
			    "verified", file, lineno);
			r = VERIFY_EXIT_BAD_SIG;
			goto out;
		}
		ln[have++] = lineno;
	}
	if (ferror(f)) {
		r = cli_fail(c, "cannot read %s: %s", file, strerror(errno));
		goto out;
	}
	if (have == 0) {
		r = cli_fail(c, "%s holds no audit checkpoint: nothing to "
		    "verify the store against", file);
		goto out;
	}
	*out = v;
	*lines = ln;
	*n = have;
	v = NULL;
	ln = NULL;	/* transferred */
	r = CLI_OK;
 out:
	free(v);
	free(ln);
	fclose(f);
	return r;
}

/*
 * The audit public key: from file (an OpenSSH public key line, as
 * `ssh-keygen -y -f audit.key` prints it), else derived from the audit_key
 * that data/tesserad.conf names.  Message printed on failure.
 */
static int
audit_pubkey(struct cli *c, const char *data, const char *file,
    struct sshkey **out)
{
	char conf[PATH_MAX], err[1024], text[SSHKEY_LINE_MAX];
	const uint8_t *blob;
	struct config cfg;
	struct cakey *ca = NULL;
	size_t len = 0;
	FILE *f;
	int r = CLI_FAIL, k, have_cfg = 0;

	*out = NULL;
	if (file != NULL) {
		if ((f = fopen(file, "r")) == NULL)
			return cli_fail(c, "cannot read %s: %s", file,
			    strerror(errno));
		len = fread(text, 1, sizeof(text), f);
		k = ferror(f) || !feof(f);
		fclose(f);
		if (k)
			return cli_fail(c, "cannot read %s: unreadable, or "
			    "longer than a public key line", file);
		if (sshkey_parse_line(text, len, out, NULL) != 0)
			return cli_fail(c, "%s: not an OpenSSH public key "
			    "line", file);
		goto check;
	}
	if (offline_join(conf, sizeof(conf), data, "tesserad.conf") != 0)
		return cli_fail(c, "path too long: %s", data);
	if (config_load(conf, &cfg, err, sizeof(err)) != 0)
		return cli_fail(c, "no audit public key: pass --audit-pubkey "
		    "FILE (%s)", err);
	have_cfg = 1;
	if (cfg.audit_key == NULL) {
		r = cli_fail(c, "no audit public key: %s names no audit_key; "
		    "pass --audit-pubkey FILE", conf);
		goto out;
	}
	if ((k = cakey_load(cfg.audit_key, &ca)) != 0) {
		r = cli_fail(c, "cannot load the audit key %s: %s (or pass "
		    "--audit-pubkey FILE)", cfg.audit_key, tss_strerror(k));
		goto out;
	}
	blob = sshkey_blob(cakey_public(ca), &len);
	if ((k = sshkey_from_blob(blob, len, out)) != 0) {
		r = cli_fail(c, "audit key %s: %s", cfg.audit_key,
		    tss_strerror(k));
		goto out;
	}
 check:
	if (sshkey_type(*out) != SSHKEY_ED25519) {
		r = cli_fail(c, "the audit key is %s, not ssh-ed25519",
		    sshkey_type_name(*out));
		sshkey_free(*out);
		*out = NULL;
		goto out;
	}
	r = CLI_OK;
 out:
	cakey_free(ca);
	if (have_cfg)
		config_free(&cfg);
	return r;
}

/* The failure a checkpoint check found, as a message and exit status. */
static int
ckpt_failure(struct cli *c, const char *file, const struct audit_ckpt *ck,
    size_t line, const struct audit_ckpt_report *rep, const char *fp)
{
	char when[32];
	unsigned long long seq = (unsigned long long)ck->seq;

	cli_fmt_time(ck->time, when, sizeof(when));
	switch (rep->verdict) {
	case AUDIT_CKPT_BAD_SIG:
		cli_fail(c, "%s:%zu: checkpoint at event %llu has a bad "
		    "signature: not signed by the audit key %s (key %s named)",
		    file, line, seq, fp, ck->key);
		return VERIFY_EXIT_BAD_SIG;
	case AUDIT_CKPT_MISSING:
		cli_fail(c, "%s:%zu: event %llu is missing: the store ends at "
		    "event %llu, below the checkpoint signed at %s (the newest "
		    "events were dropped and the head reset)", file, line,
		    seq, (unsigned long long)rep->count, when);
		return VERIFY_EXIT_MISSING;
	case AUDIT_CKPT_CHANGED:
		cli_fail(c, "%s:%zu: event %llu was changed: its hash differs "
		    "from the one signed at %s (the chain was rewritten)",
		    file, line, seq, when);
		return VERIFY_EXIT_CHANGED;
	case AUDIT_CKPT_BROKEN:
		cli_fail(c, "audit chain broken at event %llu, at or before "
		    "event %llu of the checkpoint at %s:%zu: it was altered, or "
		    "an event before it was removed",
		    (unsigned long long)rep->bad, seq, file, line);
		return CLI_FAIL;
	case AUDIT_CKPT_OK:
		break;
	}
	return CLI_OK;
}

/*
 * Read-only: one read transaction on a store opened without write
 * access.  The verification is not itself audited: a verifier that
 * writes changes what it verifies (and the head it reports).
 */
int
cmd_audit_verify(struct cli *c, int argc, char **argv)
{
	const char *data = NULL, *ckfile = NULL, *pubfile = NULL;
	const struct cli_opt opts[] = {
		{ "data", CLI_OPT_STR, &data },
		{ "checkpoints", CLI_OPT_STR, &ckfile },
		{ "audit-pubkey", CLI_OPT_STR, &pubfile },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct store_opts so;
	struct sshkey *pub = NULL;
	struct audit_ckpt *ck = NULL;
	struct audit_ckpt_report rep;
	size_t *lines = NULL, nck = 0, np;
	json_t *fields = NULL;
	uint64_t count = 0, bad = 0;
	char head[65], fp[SSHKEY_FP_MAX];
	int r, k, v = 0;

	memset(head, 0, sizeof(head));
	memset(&rep, 0, sizeof(rep));
	fp[0] = '\0';
	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if (data == NULL) {
		fprintf(stderr, "%s: --data DIR is required\n", c->prog);
		return cli_usage(c);
	}
	if (pubfile != NULL && ckfile == NULL) {
		fprintf(stderr, "%s: --audit-pubkey needs --checkpoints FILE\n",
		    c->prog);
		return cli_usage(c);
	}
	if ((r = offline_need_store(c, data)) != CLI_OK)
		return r;
	if (ckfile != NULL &&
	    ((r = audit_pubkey(c, data, pubfile, &pub)) != CLI_OK ||
	    (r = read_checkpoints(c, ckfile, &ck, &lines, &nck)) != CLI_OK))
		goto out;
	if (pub != NULL && (k = sshkey_fingerprint(pub, fp)) != 0) {
		r = cli_fail(c, "audit key: %s", tss_strerror(k));
		goto out;
	}
	/* open_store's checks, without write access. */
	memset(&so, 0, sizeof(so));
	so.mode = STORE_OPEN_EXISTING;
	so.read_only = 1;
	so.lock_owner = "tessera audit verify";
	if ((k = store_open(data, &so, &s)) != 0) {
		r = offline_open_failed(c, data, k, "audit verify");
		goto out;
	}
	if ((k = store_begin(s, 0, &t)) != 0) {
		r = cli_fail(c, "cannot read the store: %s", tss_strerror(k));
		goto out;
	}
	if (ck != NULL) {
		if ((k = audit_ckpt_check(t, pub, ck, nck, &rep)) != 0) {
			r = cli_fail(c, "cannot verify the checkpoints: %s",
			    tss_strerror(k));
			goto out;
		}
		count = rep.count;
		bad = rep.bad;
		memcpy(head, rep.head, sizeof(head));
		v = bad != 0 ? TSS_E_SIGNATURE : 0;
	} else if ((v = audit_verify(t, &count, head, &bad)) != 0 &&
	    v != TSS_E_SIGNATURE) {
		r = cli_fail(c, "cannot verify the audit chain: %s",
		    tss_strerror(v));
		goto out;
	}
	store_abort(t);
	t = NULL;
	if (c->json) {
		fields = v == 0 ? json_pack("{s:b, s:I, s:s}", "ok",
		    rep.verdict == AUDIT_CKPT_OK, "events", (json_int_t)count,
		    "head", head) : json_pack("{s:b, s:I, s:I}", "ok", 0,
		    "events", (json_int_t)count, "first_bad", (json_int_t)bad);
		if (fields != NULL && ck != NULL) {
			static const char *const names[] = { "ok",
			    "bad_signature", "event_missing", "event_changed",
			    "chain_broken" };

			if (json_object_set_new(fields, "checkpoints",
			    json_integer((json_int_t)nck)) != 0 ||
			    json_object_set_new(fields, "newest_checkpoint",
			    json_integer((json_int_t)rep.newest)) != 0 ||
			    json_object_set_new(fields, "checkpoint_result",
			    json_string(names[rep.verdict])) != 0) {
				json_decref(fields);
				fields = NULL;
			}
		}
		/* The line whole, or none and a failure. */
		if (fields == NULL ||
		    mem_json_dumpf(fields, stdout, JSON_COMPACT) != 0) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		fputc('\n', stdout);
	}
	if (rep.verdict != AUDIT_CKPT_OK) {
		r = ckpt_failure(c, ckfile, &ck[rep.which], lines[rep.which],
		    &rep, fp);
		goto out;
	}
	if (!c->json && v == 0) {
		printf("audit chain intact: %llu events, head %s\n",
		    (unsigned long long)count, head);
		if (ck != NULL)
			printf("checkpoints: %zu signed by %s verified; every "
			    "event up to %llu is present and unchanged\n", nck,
			    fp, (unsigned long long)rep.newest);
	}
	if (v != 0) {
		r = cli_fail(c, "audit chain broken at event %llu: it was "
		    "altered, or an event before it was removed",
		    (unsigned long long)bad);
		goto out;
	}
	r = CLI_OK;
 out:
	json_decref(fields);
	store_abort(t);
	store_close(s);
	sshkey_free(pub);
	free(ck);
	free(lines);
	return r;
}
