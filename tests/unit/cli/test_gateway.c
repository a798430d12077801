/*
 * gateway: the decisions of `tessera gateway` (principal split, choice of
 * login@target, the command, container count) and the certificate read
 * back from an ExposeAuthInfo text; `tessera gateway principals` run as
 * sshd runs it, on certificates from `ssh-keygen -s`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "sshca/certinfo.h"
#include "gateway.h"
#include "clirun.h"
#include "sshtest.h"
#include "tmpdir.h"

static char dir[ST_PATH], capriv[ST_PATH], capub[ST_PATH];

static void
setup(void)
{
	st_tmpdir(dir);
	st_keygen(dir, "ca", "ed25519", 0, capriv, capub);
}

static void
teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(gateway, .init = setup, .fini = teardown);

Test(gateway, split)
{
	char l[RBAC_LOGIN_MAX + 1], t[RBAC_NAME_MAX + 1];

	cr_assert_eq(gateway_split("app@prod/api", l, t), 0);
	cr_assert_str_eq(l, "app");
	cr_assert_str_eq(t, "prod/api");
	cr_assert_eq(gateway_split("root@demo/app", l, t), 0);
	static const char *bad[] = { "app", "@prod/api", "app@", "App@prod",
	    "app@prod//api", "app@prod/sshd", "a b@prod", "app@prod@x",
	    "abcdefghijabcdefghijabcdefghijabc@prod", "app@Prod", NULL };
	for (const char **p = bad; *p != NULL; p++) {
		cr_assert_eq(gateway_split(*p, l, t), TSS_E_VALIDATION, "%s",
		    *p);
		cr_assert_str_empty(l);
		cr_assert_str_empty(t);
	}
}

static struct certinfo *
fake(char **principals, size_t n, char *force)
{
	static struct certinfo ci;

	memset(&ci, 0, sizeof(ci));
	ci.type = CERTINFO_USER;
	ci.principals = principals;
	ci.nprincipals = n;
	ci.force_command = force;
	return &ci;
}

Test(gateway, choose_one_and_the_command)
{
	char *one[] = { "root@demo/app", "not a principal", "app" };
	char force[] = "id -un", err[GATEWAY_ERR_MAX];
	struct gateway_choice ch;

	cr_assert_eq(gateway_choose(fake(one, 3, NULL), NULL, "", NULL, &ch,
	    err), 0);
	cr_assert_str_eq(ch.login, "root");
	cr_assert_str_eq(ch.target, "demo/app");
	cr_assert_str_eq(ch.argv[0], "/bin/sh");
	cr_assert_str_eq(ch.argv[1], "-l");
	cr_assert_null(ch.argv[2]);
	cr_assert_eq(gateway_choose(fake(one, 3, NULL), "demo/app", "root",
	    "cat; exit 3", &ch, err), 0);
	cr_assert_str_eq(ch.argv[1], "-c");
	cr_assert_str_eq(ch.argv[2], "cat; exit 3");
	cr_assert_null(ch.argv[3]);
	cr_assert_eq(ch.forced, 0);
	/* The certificate's force-command wins over the requested one. */
	cr_assert_eq(gateway_choose(fake(one, 3, force), NULL, NULL,
	    "cat", &ch, err), 0);
	cr_assert_str_eq(ch.argv[2], "id -un");
	cr_assert_eq(ch.forced, 1);
}

Test(gateway, choose_among_several)
{
	char *two[] = { "root@demo/app", "nobody@demo/app", "app@prod/api" };
	char err[GATEWAY_ERR_MAX];
	struct gateway_choice ch;

	cr_assert_eq(gateway_choose(fake(two, 3, NULL), NULL, NULL, NULL, &ch,
	    err), TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "certificate grants 3 login@target principals: "
	    "set TESSERA_TARGET and TESSERA_LOGIN to choose one");
	cr_assert_str_empty(ch.login);
	cr_assert_eq(gateway_choose(fake(two, 3, NULL), "demo/app", NULL,
	    NULL, &ch, err), TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "certificate grants 2 login@target principals "
	    "on demo/app: set TESSERA_TARGET and TESSERA_LOGIN to choose one");
	cr_assert_eq(gateway_choose(fake(two, 3, NULL), "prod/api", NULL,
	    NULL, &ch, err), 0);
	cr_assert_str_eq(ch.login, "app");
	cr_assert_eq(gateway_choose(fake(two, 3, NULL), "demo/app", "nobody",
	    NULL, &ch, err), 0);
	cr_assert_str_eq(ch.login, "nobody");
	cr_assert_str_eq(ch.target, "demo/app");
}

Test(gateway, refusals)
{
	char *two[] = { "root@demo/app", "nobody@demo/app" };
	char *none[] = { "root", "demo/app", "Root@demo/app" };
	char err[GATEWAY_ERR_MAX];
	struct gateway_choice ch;

	/* A principal for another target. */
	cr_assert_eq(gateway_choose(fake(two, 2, NULL), "prod/api", "root",
	    NULL, &ch, err), TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "certificate does not grant root@prod/api");
	cr_assert_eq(gateway_choose(fake(two, 2, NULL), "prod/api", NULL,
	    NULL, &ch, err), TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "certificate does not grant *@prod/api");
	cr_assert_eq(gateway_choose(fake(two, 2, NULL), NULL, "app", NULL,
	    &ch, err), TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "certificate does not grant app@*");
	cr_assert_eq(gateway_choose(fake(none, 3, NULL), NULL, NULL, NULL,
	    &ch, err), TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "certificate grants no login@target");
	cr_assert_eq(gateway_choose(fake(two, 2, NULL), "demo/app;rm", NULL,
	    NULL, &ch, err), TSS_E_VALIDATION);
	cr_assert_str_eq(err, "TESSERA_TARGET is not a valid target name");
	cr_assert_eq(gateway_choose(fake(two, 2, NULL), NULL, "$(id)", NULL,
	    &ch, err), TSS_E_VALIDATION);
	cr_assert_str_eq(err, "TESSERA_LOGIN is not a valid login name");
	cr_assert_str_empty(ch.login);
	cr_assert_null(ch.argv[0]);
}

Test(gateway, one_container)
{
	char err[GATEWAY_ERR_MAX];

	cr_assert_eq(gateway_one_container(1, "demo/app", err), 0);
	cr_assert_str_empty(err);
	cr_assert_eq(gateway_one_container(0, "demo/app", err),
	    TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "no container for target demo/app on this node");
	cr_assert_eq(gateway_one_container(2, "demo/app", err),
	    TSS_E_FORBIDDEN);
	cr_assert_str_eq(err, "target demo/app is ambiguous on this node: "
	    "2 containers");
}

/* "TYPE BASE64" of a certificate ssh-keygen -s makes (no newline). */
static char *
cert_text(const char *name, const char *principals, char *pub_text)
{
	char priv[ST_PATH], pub[ST_PATH], certf[ST_PATH + 16];
	const char *argv[] = { "ssh-keygen", "-q", "-s", capriv, "-I",
	    "alice:5", "-z", "5", "-n", principals, pub, NULL };
	char *out = NULL, *text, *sp;

	st_keygen(dir, name, "ed25519", 0, priv, pub);
	cr_assert_eq(st_run(argv, &out), 0, "%s", out ? out : "");
	free(out);
	text = st_slurp(pub, NULL);
	cr_assert_not_null(text);
	sp = strchr(strchr(text, ' ') + 1, ' ');
	*sp = '\0';
	snprintf(pub_text, 1024, "%s", text);
	free(text);
	cr_assert_lt((size_t)snprintf(certf, sizeof(certf), "%s/%s-cert.pub",
	    dir, name), sizeof(certf));
	text = st_slurp(certf, NULL);
	cr_assert_not_null(text);
	sp = strchr(strchr(text, ' ') + 1, ' ');
	if (sp != NULL)
		*sp = '\0';
	text[strcspn(text, "\n")] = '\0';
	return text;
}

Test(gateway, auth_cert_from_expose_auth_info)
{
	char plain[1024], plain2[1024], info[8192];
	char *c1 = cert_text("u1", "root@demo/app", plain);
	char *c2 = cert_text("u2", "app@prod/api", plain2);
	struct certinfo *ci = NULL;

	snprintf(info, sizeof(info), "password\npublickey %s\n"
	    "publickey %s\nkeyboard-interactive\n", plain, c1);
	cr_assert_eq(gateway_auth_cert(info, strlen(info), &ci), 0);
	cr_assert_str_eq(ci->principals[0], "root@demo/app");
	cr_assert_str_eq(ci->key_id, "alice:5");
	certinfo_free(ci);
	snprintf(info, sizeof(info), "publickey %s\npublickey %s", c1, c2);
	cr_assert_eq(gateway_auth_cert(info, strlen(info), &ci),
	    TSS_E_TOO_MANY);
	cr_assert_null(ci);
	snprintf(info, sizeof(info), "publickey %s\n", plain);
	cr_assert_eq(gateway_auth_cert(info, strlen(info), &ci),
	    TSS_E_NOT_FOUND);
	cr_assert_eq(gateway_auth_cert("", 0, &ci), TSS_E_NOT_FOUND);
	snprintf(info, sizeof(info), "publickey %.60s\n", c1);
	cr_assert_eq(gateway_auth_cert(info, strlen(info), &ci),
	    TSS_E_INVALID_PUBLIC_KEY);
	cr_assert_null(ci);
	free(c1);
	free(c2);
}

Test(gateway, principals_command)
{
	char plain[1024], *type, *b64;
	char *c = cert_text("u3", "root@demo/app,bad one,x,app@prod/api",
	    plain);
	struct clirun res;

	type = c;
	b64 = strchr(c, ' ');
	*b64++ = '\0';
	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, (const char *[]){
	    "gateway", "principals", type, b64, NULL }), 0);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_str_eq(res.out, "root@demo/app\napp@prod/api\n");
	/* A plain key: nothing printed, exit 0, a line for sshd's log. */
	*strchr(plain, ' ') = '\0';
	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, (const char *[]){
	    "gateway", "principals", plain, plain + strlen(plain) + 1,
	    NULL }), 0);
	cr_assert_eq(res.status, 0);
	cr_assert_str_empty(res.out);
	cr_assert(strstr(res.err, "not a certificate we can read") != NULL,
	    "%s", res.err);
	cr_assert_eq(clirun(&res, dir, NULL, NULL, 30, (const char *[]){
	    "gateway", "principals", type, NULL }), 0);
	cr_assert_eq(res.status, 2);
	free(c);
}
