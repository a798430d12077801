/*
 * offline enroll-link: a new enrollment link for a user who has not
 * enrolled yet, from the host of the data directory (in a container:
 * docker exec).  It is for the first admin whose link, shown once in the
 * service log at the first start, was lost; a user who has enrolled is
 * reset by an admin (tessera user reset), never here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token.h"
#include "auth/user.h"
#include "broker/config.h"
#include "common/err.h"
#include "store/store.h"
#include "cli.h"
#include "offline_int.h"

int
cmd_enroll_link(struct cli *c, int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	const struct cli_opt opts[] = {
		{ "config", CLI_OPT_STR, &path },
		{ NULL, 0, NULL }
	};
	const struct audit_actor local = { "local", NULL, NULL };
	const char *pos[CLI_POS_MAX];
	char err[1024], when[32], token[TOKEN_TEXT_LEN + 1];
	struct config cfg;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct user *u = NULL;
	int64_t exp = 0;
	size_t np;
	int r = CLI_FAIL, k;

	explicit_bzero(token, sizeof(token));
	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if (config_load(path, &cfg, err, sizeof(err)) != 0) {
		config_free(&cfg);
		return cli_fail(c, "%s", err);
	}
	if ((r = offline_open_store(c, cfg.data_dir, "enroll-link", &s)) !=
	    CLI_OK)
		goto out;
	r = CLI_FAIL;
	if ((k = store_begin(s, 1, &t)) != 0 ||
	    (k = user_get(t, pos[0], &u)) != 0) {
		r = cli_fail(c, "%s: %s", pos[0], k == TSS_E_NOT_FOUND ?
		    "no such user" : tss_strerror(k));
		goto out;
	}
	if (u->state != USER_PENDING) {
		r = cli_fail(c, "%s has enrolled: an admin resets them with "
		    "`tessera user reset %s`", pos[0], pos[0]);
		goto out;
	}
	if ((k = user_reset(t, pos[0], &local, cli_now(), token, &exp))
	    == 0) {
		k = store_commit(t);
		t = NULL;
	}
	if (k != 0) {
		r = cli_fail(c, "cannot renew the link of %s: %s", pos[0],
		    tss_strerror(k));
		goto out;
	}
	cli_fmt_time(exp, when, sizeof(when));
	if (cfg.public_url == NULL)
		fprintf(stderr, "%s: public_url is not set in %s: the link "
		    "below starts with the listen address\n", c->prog, path);
	printf("Enrollment link for %s (valid until %s; the earlier one no "
	    "longer works; hand it over privately):\n%s%s/enroll#token=%s\n",
	    pos[0], when, cfg.public_url != NULL ? "" : "https://",
	    cfg.public_url != NULL ? cfg.public_url : cfg.listen, token);
	r = CLI_OK;
 out:
	store_abort(t);
	user_free(u);
	store_close(s);
	config_free(&cfg);
	explicit_bzero(token, sizeof(token));
	return r;
}
