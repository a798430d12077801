/* The saved session: file 0600 in a directory 0700 whatever the umask,
 * round trip, refusals of unsafe or damaged files. */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "sessfile.h"
#include "tmpdir.h"

static char dir[4096], path[4300];

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/cfg/tessera/session", dir);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(cli_session, .init = setup, .fini = teardown);

static const struct sessfile sample = {
	.server = "https://127.0.0.1:8443",
	.token = "secret-token",
	.expires_at = 1700000000,
	.username = "alice",
};

Test(cli_session, saved_file_0600_dir_0700_despite_umask)
{
	char d[4300];
	struct stat st;
	mode_t old = umask(0);

	cr_assert_eq(sessfile_save(path, &sample), 0);
	umask(old);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	snprintf(d, sizeof(d), "%s/cfg/tessera", dir);
	cr_assert_eq(stat(d, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700, "mode %o", st.st_mode & 07777);
}

Test(cli_session, round_trip)
{
	struct sessfile *s = NULL;

	cr_assert_eq(sessfile_save(path, &sample), 0);
	cr_assert_eq(sessfile_load(path, &s), 0);
	cr_assert_str_eq(s->server, sample.server);
	cr_assert_str_eq(s->token, sample.token);
	cr_assert_str_eq(s->username, sample.username);
	cr_assert_eq(s->expires_at, sample.expires_at);
	sessfile_free(s);
}

Test(cli_session, overwrite_keeps_mode)
{
	struct sessfile other = sample;
	struct sessfile *s = NULL;
	struct stat st;

	cr_assert_eq(sessfile_save(path, &sample), 0);
	other.token = "second";
	cr_assert_eq(sessfile_save(path, &other), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(sessfile_load(path, &s), 0);
	cr_assert_str_eq(s->token, "second");
	sessfile_free(s);
}

Test(cli_session, missing_is_not_found)
{
	struct sessfile *s = (struct sessfile *)1;

	cr_assert_eq(sessfile_load(path, &s), TSS_E_NOT_FOUND);
	cr_assert_null(s);
}

Test(cli_session, readable_by_group_refused)
{
	struct sessfile *s = (struct sessfile *)1;

	cr_assert_eq(sessfile_save(path, &sample), 0);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(sessfile_load(path, &s), TSS_E_PERMISSION);
	cr_assert_null(s);
}

Test(cli_session, damaged_refused)
{
	struct sessfile *s = (struct sessfile *)1;
	char d[4300];

	snprintf(d, sizeof(d), "%s/cfg", dir);
	cr_assert_eq(mkdir(d, 0700), 0);
	snprintf(d, sizeof(d), "%s/cfg/tessera", dir);
	cr_assert_eq(mkdir(d, 0700), 0);
	cr_assert_eq(tmpfile_write(path, "{\"server\": \"x\"}", 0600), 0);
	cr_assert_eq(sessfile_load(path, &s), TSS_E_BAD_FORMAT);
	cr_assert_null(s);
	cr_assert_eq(tmpfile_write(path, "not json", 0600), 0);
	cr_assert_eq(sessfile_load(path, &s), TSS_E_BAD_FORMAT);
}

Test(cli_session, remove_is_idempotent)
{
	struct stat st;

	cr_assert_eq(sessfile_save(path, &sample), 0);
	cr_assert_eq(sessfile_remove(path), 0);
	cr_assert_neq(stat(path, &st), 0);
	cr_assert_eq(sessfile_remove(path), 0);
}

Test(cli_session, write_file_sets_mode_0644_for_certificates)
{
	char p[4300];
	struct stat st;
	mode_t old = umask(077);

	snprintf(p, sizeof(p), "%s/id-cert.pub", dir);
	cr_assert_eq(sessfile_write_file(p, "cert\n", 5, 0644), 0);
	umask(old);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(st.st_size, 5);
}
