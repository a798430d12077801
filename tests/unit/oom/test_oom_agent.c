/*
 * oom, the target kit's files (cli/agent_files.h): the principals files,
 * the host key, the sshd_config text and the host certificate's validity,
 * walked through every allocation failure and with each allocation refused
 * alone (oom.h).  A refused run leaves no temporary file, and every file
 * it did write is whole (each is replaced atomically on its own).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "common/mem.h"
#include "agent_files.h"
#include "oom.h"
#include "tmpdir.h"

static char dir[PATH_MAX - 64];

static void
setup(void)
{
	oom_setup();
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
}

static void
teardown(void)
{
	oom_teardown();
	tmpdir_remove(dir);
}

TestSuite(oom_agent, .init = setup, .fini = teardown, .timeout = 240);

static char *
text_of(const char *path)
{
	char *data = NULL;
	size_t len;

	if (agent_files_read(path, 1 << 16, &data, &len) != 0)
		return NULL;
	return data;
}

/* No temporary file (".name.XXXXXX") in d. */
static void
no_temp(const char *d)
{
	struct dirent *de;
	DIR *dp;

	if ((dp = opendir(d)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL)
		cr_assert(de->d_name[0] != '.' ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0, "left behind: %s/%s", d,
		    de->d_name);
	closedir(dp);
}

/* ---- principals ---- */

static const char *const logins[] = { "app", "root" };

static int
principals_run(void *arg)
{
	int changed;

	(void)arg;
	return agent_files_principals(dir, "prod/api", logins, 2, &changed);
}

static void
principals_check(void *arg, int r)
{
	char path[PATH_MAX], want[64], *t;
	size_t i;

	(void)arg;
	snprintf(path, sizeof(path), "%s/principals", dir);
	no_temp(path);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/principals/%s", dir,
		    logins[i]);
		snprintf(want, sizeof(want), "%s@prod/api\n", logins[i]);
		t = text_of(path);
		if (r == 0)
			cr_assert_not_null(t, "%s missing", path);
		if (t != NULL)
			cr_assert_str_eq(t, want);
		wipe_free(t);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/principals/old", dir);
	if (r == 0)
		cr_assert_eq(access(path, F_OK), -1, "stale file kept");
	cr_assert_eq(tmpfile_write(path, "old@prod/api\n", 0644), 0);
}

Test(oom_agent, principals)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/principals", dir);
	cr_assert_eq(mkdir(p, 0755), 0);
	principals_check(NULL, 1);
	oom_walk("agent_files_principals", principals_run, principals_check,
	    NULL);
	oom_walk_nth("agent_files_principals", principals_run,
	    principals_check, NULL, NULL);
}

/* ---- host key ---- */

struct hostkey {
	char *line;
};

static int
hostkey_run(void *arg)
{
	struct hostkey *h = arg;

	return agent_files_hostkey(dir, &h->line);
}

static void
hostkey_check(void *arg, int r)
{
	struct hostkey *h = arg;
	char key[PATH_MAX], pub[PATH_MAX], *t;

	no_temp(dir);
	snprintf(key, sizeof(key), "%s/%s", dir, AGENT_HOSTKEY);
	snprintf(pub, sizeof(pub), "%s/%s", dir, AGENT_HOSTKEY_PUB);
	if (r == 0) {
		cr_assert_not_null(h->line);
		cr_assert_not_null(t = text_of(pub));
		cr_assert_eq(strncmp(t, h->line, strlen(h->line)), 0);
		wipe_free(t);
	} else
		cr_assert_null(h->line);
	free(h->line);
	h->line = NULL;
	unlink(key);
	unlink(pub);
}

Test(oom_agent, hostkey)
{
	struct hostkey h = { NULL };

	oom_walk("agent_files_hostkey", hostkey_run, hostkey_check, &h);
	oom_walk_nth("agent_files_hostkey", hostkey_run, hostkey_check, NULL,
	    &h);
}

/* ---- sshd_config ---- */

struct conf {
	struct agent_files_conf cf;
	char *text;
};

static int
conf_run(void *arg)
{
	struct conf *c = arg;

	return agent_files_sshd_config(&c->cf, 1, &c->text);
}

static void
conf_check(void *arg, int r)
{
	struct conf *c = arg;

	if (r == 0)
		cr_assert_not_null(strstr(c->text, "PermitUserRC no\n"));
	else
		cr_assert_null(c->text);
	free(c->text);
	c->text = NULL;
}

static char *
conf_show(void *arg)
{
	struct conf *c = arg;

	return oom_text(c->text);
}

Test(oom_agent, sshd_config)
{
	struct conf c = { .cf = { .dir = "/etc/ssh/tessera", .gateway = 1,
	    .exe = "/usr/bin/tessera", .port = 2222 } };

	oom_walk("agent_files_sshd_config", conf_run, conf_check, &c);
	oom_walk_nth("agent_files_sshd_config", conf_run, conf_check,
	    conf_show, &c);
}
