/*
 * broker/hostca and broker/hosts on the fixture's real broker: the host
 * CA's checks, join tokens, joins, renewals and what a host may read.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bh.h"
#include "broker/broker.h"
#include "common/err.h"
#include "fixture.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"

static struct fixture fx;

static void
setup(void)
{
	fixture_open(&fx, NULL, 8 * 3600);
}

static void
teardown(void)
{
	fixture_close(&fx);
}

TestSuite(hosts, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the host CA ---- */

Test(hosts, host_ca_must_not_be_the_user_ca)
{
	struct cakey *k = (struct cakey *)1;
	char p[512], err[512] = "";

	fixture_path(&fx, p, sizeof(p), "ca.key");
	cr_expect_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    TSS_E_CONFIG);
	cr_expect_null(k);
	cr_expect_not_null(strstr(err, "the same key as ca_key"), "%s", err);
	fixture_path(&fx, p, sizeof(p), "host_ca.key");
	cr_assert_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    0, "%s", err);
	cr_expect(sshkey_equal(cakey_public(k), cakey_public(fx.b->host_ca)));
	cakey_free(k);
}

Test(hosts, host_ca_key_file_is_checked_like_ca_key)
{
	struct cakey *k = NULL;
	char p[512], err[512] = "";

	fixture_path(&fx, p, sizeof(p), "host_ca.key");
	cr_assert_eq(chmod(p, 0644), 0);
	cr_expect_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    TSS_E_KEY_PERMS);
	cr_expect_not_null(strstr(err, "host_ca_key"), "%s", err);
	cr_expect_null(k);
	fixture_path(&fx, p, sizeof(p), "missing.key");
	cr_expect_eq(broker_host_ca_load(p, fx.b->ca, &k, err, sizeof(err)),
	    TSS_E_NOT_FOUND);
}

Test(hosts, ca_host_text_is_one_cert_authority_line)
{
	char *text = NULL, errmsg[256] = "";
	struct cakey *hca = fx.b->host_ca;

	cr_assert_eq(broker_ca_host_text(fx.b, &text, errmsg, sizeof(errmsg)),
	    0);
	cr_expect_eq(strncmp(text, "@cert-authority * ssh-ed25519 ", 30), 0,
	    "%s", text);
	cr_expect_eq(text[strlen(text) - 1], '\n');
	free(text);
	fx.b->host_ca = NULL;
	cr_expect_eq(broker_ca_host_text(fx.b, &text, errmsg, sizeof(errmsg)),
	    TSS_E_NOT_FOUND);
	fx.b->host_ca = hca;
	cr_expect_null(text);
	cr_expect_str_eq(errmsg, BROKER_NO_HOST_CA);
}
