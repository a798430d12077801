/*
 * oom, sshca/: public keys from an authorized_keys line and from a blob,
 * the CA key file (openssh-key-v1 and PEM), CA key generation,
 * certificate signing and its text line, a certificate read back
 * (certinfo), and KRL building, each walked
 * through every allocation failure and with each allocation refused alone
 * (oom.h).  Keys are made here, with
 * cakey_generate, outside the budget.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "sshca/cakey.h"
#include "sshca/cert.h"
#include "sshca/certinfo.h"
#include "sshca/krl.h"
#include "sshca/sshkey.h"
#include "oom.h"
#include "tmpdir.h"

TestSuite(oom_sshca, .init = oom_setup, .fini = oom_teardown);

static struct cakey *
gen(enum cakey_alg alg)
{
	struct cakey *ca = NULL;

	cr_assert_eq(cakey_generate(alg, 0, &ca), 0);
	return ca;
}

/* ---- public keys ---- */

struct keyline {
	const char *what;
	char *line;
	const struct sshkey *want;
	struct sshkey *key;
	char *comment;
};

static int
line_run(void *arg)
{
	struct keyline *x = arg;

	x->key = (struct sshkey *)1;
	x->comment = "stale";
	return sshkey_parse_line(x->line, strlen(x->line), &x->key,
	    &x->comment);
}

static void
line_check(void *arg, int r)
{
	struct keyline *x = arg;

	if (r != 0) {
		cr_assert_null(x->key);
		cr_assert_null(x->comment);
		return;
	}
	cr_assert(sshkey_equal(x->key, x->want));
	cr_assert_str_eq(x->comment, "alice@laptop");
	sshkey_free(x->key);
	free(x->comment);
}

static int
blob_run(void *arg)
{
	struct keyline *x = arg;
	const uint8_t *blob;
	size_t len;

	x->key = (struct sshkey *)1;
	blob = sshkey_blob(x->want, &len);
	return sshkey_from_blob(blob, len, &x->key);
}

static void
blob_check(void *arg, int r)
{
	struct keyline *x = arg;

	if (r != 0) {
		cr_assert_null(x->key);
		return;
	}
	cr_assert(sshkey_equal(x->key, x->want));
	sshkey_free(x->key);
}

static int
toline_run(void *arg)
{
	struct keyline *x = arg;

	x->line = "stale";
	return sshkey_to_line(x->want, "alice@laptop", &x->line);
}

static void
toline_check(void *arg, int r)
{
	struct keyline *x = arg;

	if (r != 0) {
		cr_assert_null(x->line);
		return;
	}
	free(x->line);
}

static char *
toline_show(void *arg)
{
	struct keyline *x = arg;

	return oom_text(x->line);
}

static void
key_walks(const char *type, const struct sshkey *k)
{
	struct keyline x = { .want = k };
	char what[128];

	cr_assert_eq(sshkey_to_line(k, "alice@laptop", &x.line), 0);
	snprintf(what, sizeof(what), "sshkey_parse_line (%s)", type);
	oom_walk(what, line_run, line_check, &x);
	oom_walk_nth(what, line_run, line_check, NULL, &x);
	snprintf(what, sizeof(what), "sshkey_from_blob (%s)", type);
	oom_walk(what, blob_run, blob_check, &x);
	oom_walk_nth(what, blob_run, blob_check, NULL, &x);
	free(x.line);
	snprintf(what, sizeof(what), "sshkey_to_line (%s)", type);
	oom_walk(what, toline_run, toline_check, &x);
	oom_walk_nth(what, toline_run, toline_check, toline_show, &x);
}

Test(oom_sshca, public_keys)
{
	static const struct { enum cakey_alg alg; const char *name; } a[] = {
		{ CAKEY_ED25519, "ed25519" },
		{ CAKEY_ECDSA_P256, "ecdsa-p256" },
		{ CAKEY_RSA, "rsa-3072" },
	};
	struct cakey *ca;
	size_t i;

	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		ca = gen(a[i].alg);
		key_walks(a[i].name, cakey_public(ca));
		cakey_free(ca);
	}
}

Test(oom_sshca, sk_public_key)
{
	struct sshkey *k = NULL;
	struct buf *b;
	uint8_t pk[32];

	/* sk-ssh-ed25519@openssh.com: the point and the application. */
	memset(pk, 0x42, sizeof(pk));
	cr_assert_not_null(b = buf_new());
	cr_assert_eq(buf_put_cstring(b, "sk-ssh-ed25519@openssh.com"), 0);
	cr_assert_eq(buf_put_string(b, pk, sizeof(pk)), 0);
	cr_assert_eq(buf_put_cstring(b, "ssh:"), 0);
	cr_assert_eq(sshkey_from_blob(buf_ptr(b), buf_len(b), &k), 0);
	buf_free(b);
	key_walks("sk-ed25519", k);
	sshkey_free(k);
}

/* ---- the CA key ---- */

struct keyfile {
	char *text;
	size_t len;
	const struct cakey *want;
	struct cakey *ca;
};

static int
parse_run(void *arg)
{
	struct keyfile *x = arg;

	x->ca = (struct cakey *)1;
	return cakey_parse(x->text, x->len, &x->ca);
}

static void
parse_check(void *arg, int r)
{
	struct keyfile *x = arg;

	if (r != 0) {
		cr_assert_null(x->ca);
		return;
	}
	cr_assert(sshkey_equal(cakey_public(x->ca), cakey_public(x->want)));
	cakey_free(x->ca);
}

static char *
slurp(const char *path, size_t *len)
{
	char *p;
	FILE *f;
	long n;

	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	cr_assert_gt(n = ftell(f), 0);
	rewind(f);
	cr_assert_not_null(p = malloc((size_t)n + 1));
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

static void
keyfile_walk(enum cakey_alg alg, enum cakey_format fmt, const char *what)
{
	struct keyfile x;
	struct cakey *ca = gen(alg);
	char dir[256], path[300];

	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/ca", dir);
	cr_assert_eq(cakey_save(ca, path, fmt, "test-ca"), 0);
	x.text = slurp(path, &x.len);
	x.want = ca;
	oom_walk(what, parse_run, parse_check, &x);
	oom_walk_nth(what, parse_run, parse_check, NULL, &x);
	free(x.text);
	tmpdir_remove(dir);
	cakey_free(ca);
}

Test(oom_sshca, cakey_parse_openssh)
{
	keyfile_walk(CAKEY_ED25519, CAKEY_FORMAT_OPENSSH,
	    "cakey_parse (openssh-key-v1, ed25519)");
	keyfile_walk(CAKEY_ECDSA_P256, CAKEY_FORMAT_OPENSSH,
	    "cakey_parse (openssh-key-v1, ecdsa-p256)");
	keyfile_walk(CAKEY_RSA, CAKEY_FORMAT_OPENSSH,
	    "cakey_parse (openssh-key-v1, rsa-3072)");
}

Test(oom_sshca, cakey_parse_pem)
{
	keyfile_walk(CAKEY_ED25519, CAKEY_FORMAT_PEM,
	    "cakey_parse (PEM PKCS#8, ed25519)");
}

static int
generate_run(void *arg)
{
	struct keyfile *x = arg;

	x->ca = (struct cakey *)1;
	return cakey_generate(CAKEY_ED25519, 0, &x->ca);
}

static void
generate_check(void *arg, int r)
{
	struct keyfile *x = arg;

	if (r != 0) {
		cr_assert_null(x->ca);
		return;
	}
	cr_assert_eq(cakey_alg(x->ca), CAKEY_ED25519);
	cakey_free(x->ca);
}

Test(oom_sshca, cakey_generate)
{
	struct keyfile x;

	oom_walk("cakey_generate (ed25519)", generate_run, generate_check, &x);
	oom_walk_nth("cakey_generate (ed25519)", generate_run, generate_check,
	    NULL, &x);
}

/* ---- certificates ---- */

static const char *const principals[] = { "app@lab/box", "db@lab/box",
    "app@lab/db", "root@lab/gw" };
static const char *const sources[] = { "10.0.0.0/8", "192.168.1.0/24",
    "2001:db8::/32" };
static const char *const exts[] = { "permit-pty", "permit-user-rc",
    "permit-X11-forwarding", "permit-agent-forwarding", "permit-pty",
    "permit-port-forwarding" };
static const uint8_t nonce[CERT_NONCE_LEN];

struct certx {
	struct cakey *ca;
	struct cert_request req;
	struct buf *cert;
	char *line;
	int signed_ok;
};

static int
sign_run(void *arg)
{
	struct certx *x = arg;
	int r;

	x->cert = (struct buf *)1;
	x->line = NULL;
	x->signed_ok = 0;
	if ((r = cert_sign(x->ca, &x->req, &x->cert)) != 0)
		return r;
	x->signed_ok = 1;
	x->line = "stale";
	return cert_to_line(buf_ptr(x->cert), buf_len(x->cert), "alice:42",
	    &x->line);
}

static void
sign_check(void *arg, int r)
{
	struct certx *x = arg;

	if (r != 0) {
		/* Either step may have failed: the first leaves no blob,
		 * the second no line. */
		cr_assert_null(x->line);
		if (!x->signed_ok)
			cr_assert_null(x->cert);
		buf_free(x->cert);
		return;
	}
	cr_assert_gt(buf_len(x->cert), 100);
	cr_assert_eq(strncmp(x->line, "ssh-ed25519-cert-v01@openssh.com ",
	    33), 0, "%s", x->line);
	buf_free(x->cert);
	free(x->line);
}

/* The line (ed25519 and RSA signatures are deterministic). */
static char *
sign_show(void *arg)
{
	struct certx *x = arg;

	return oom_text(x->line);
}

static void
cert_walk(enum cakey_alg ca_alg, const char *what)
{
	struct cakey *user = gen(CAKEY_ED25519);
	struct certx x;

	memset(&x, 0, sizeof(x));
	x.ca = gen(ca_alg);
	x.req.key = cakey_public(user);
	x.req.serial = 42;
	x.req.username = "alice";
	x.req.principals = principals;
	x.req.nprincipals = sizeof(principals) / sizeof(principals[0]);
	x.req.valid_after = 1700000000;
	x.req.valid_before = 1700003600;
	x.req.force_command = "/usr/bin/true";
	x.req.source_address = sources;
	x.req.nsource_address = sizeof(sources) / sizeof(sources[0]);
	x.req.extensions = exts;
	x.req.nextensions = sizeof(exts) / sizeof(exts[0]);
	x.req.nonce = nonce;
	oom_walk(what, sign_run, sign_check, &x);
	oom_walk_nth(what, sign_run, sign_check, ca_alg == CAKEY_ECDSA_P256 ?
	    NULL : sign_show, &x);
	cakey_free(x.ca);
	cakey_free(user);
}

Test(oom_sshca, cert_sign)
{
	cert_walk(CAKEY_ED25519, "cert_sign + cert_to_line (ed25519 CA)");
	cert_walk(CAKEY_ECDSA_P256, "cert_sign + cert_to_line (ecdsa CA)");
	cert_walk(CAKEY_RSA, "cert_sign + cert_to_line (rsa CA)");
}

/* ---- a certificate read back (the gateway's certinfo) ---- */

struct readx {
	char *b64;
	struct certinfo *ci;
};

static int
read_run(void *arg)
{
	struct readx *x = arg;

	x->ci = (struct certinfo *)1;
	return certinfo_from_text("ssh-ed25519-cert-v01@openssh.com", x->b64,
	    &x->ci);
}

static void
read_check(void *arg, int r)
{
	struct readx *x = arg;

	if (r != 0) {
		cr_assert_null(x->ci);
		return;
	}
	cr_assert_eq(x->ci->nprincipals, 4);
	cr_assert_str_eq(x->ci->force_command, "/usr/bin/true");
	certinfo_free(x->ci);
	x->ci = NULL;
}

static char *
read_show(void *arg)
{
	struct readx *x = arg;
	char *t = NULL;

	cr_assert_geq(mem_asprintf(&t, "%s %llu %s %s %s %s %s", x->ci->key_id,
	    (unsigned long long)x->ci->serial, x->ci->principals[0],
	    x->ci->principals[3], x->ci->force_command, x->ci->fingerprint,
	    x->ci->principals[1]), 0);
	return t;
}

Test(oom_sshca, certinfo_from_text)
{
	struct cakey *user = gen(CAKEY_ED25519), *ca = gen(CAKEY_ED25519);
	struct cert_request req;
	struct buf *cert = NULL;
	struct readx x;
	char *line = NULL;

	memset(&req, 0, sizeof(req));
	req.key = cakey_public(user);
	req.serial = 42;
	req.username = "alice";
	req.principals = principals;
	req.nprincipals = sizeof(principals) / sizeof(principals[0]);
	req.valid_after = 1700000000;
	req.valid_before = 1700003600;
	req.force_command = "/usr/bin/true";
	req.source_address = sources;
	req.nsource_address = sizeof(sources) / sizeof(sources[0]);
	req.extensions = exts;
	req.nextensions = sizeof(exts) / sizeof(exts[0]);
	req.nonce = nonce;
	cr_assert_eq(cert_sign(ca, &req, &cert), 0);
	cr_assert_eq(cert_to_line(buf_ptr(cert), buf_len(cert), NULL, &line),
	    0);
	memset(&x, 0, sizeof(x));
	x.b64 = strchr(line, ' ') + 1;
	oom_walk("certinfo_from_text", read_run, read_check, &x);
	oom_walk_nth("certinfo_from_text", read_run, read_check, read_show,
	    &x);
	free(line);
	buf_free(cert);
	cakey_free(ca);
	cakey_free(user);
}

/* ---- KRL ---- */

struct krlx {
	struct krl_ca cas[2];
	struct buf *krl;
	size_t want;
};

static int
krl_run(void *arg)
{
	struct krlx *x = arg;

	x->krl = (struct buf *)1;
	return krl_build(x->cas, 2, 7, 1700000000, "tessera oom", &x->krl);
}

static char *
krl_show(void *arg)
{
	struct krlx *x = arg;

	return oom_hex(buf_ptr(x->krl), buf_len(x->krl));
}

static void
krl_check(void *arg, int r)
{
	struct krlx *x = arg;

	if (r != 0) {
		cr_assert_null(x->krl);
		return;
	}
	if (x->want != 0)
		cr_assert_eq(buf_len(x->krl), x->want);
	x->want = buf_len(x->krl);
	buf_free(x->krl);
}

Test(oom_sshca, krl_build)
{
	/* Runs (ranges) and singles, unsorted, with duplicates. */
	static const uint64_t s1[] = { 9, 3, 100, 101, 102, 103, 7, 3, 50,
	    104, 2000 };
	static const uint64_t s2[] = { 5, 6, 7, 1, 99 };
	struct cakey *a = gen(CAKEY_ED25519), *b = gen(CAKEY_ECDSA_P256);
	struct krlx x;

	memset(&x, 0, sizeof(x));
	x.cas[0].ca = cakey_public(a);
	x.cas[0].serials = s1;
	x.cas[0].nserials = sizeof(s1) / sizeof(s1[0]);
	x.cas[1].ca = cakey_public(b);
	x.cas[1].serials = s2;
	x.cas[1].nserials = sizeof(s2) / sizeof(s2[0]);
	/* The length of a KRL built without a budget, to compare with. */
	cr_assert_eq(krl_run(&x), 0);
	krl_check(&x, 0);
	oom_walk("krl_build (2 CAs)", krl_run, krl_check, &x);
	oom_walk_nth("krl_build (2 CAs)", krl_run, krl_check, krl_show, &x);
	cakey_free(a);
	cakey_free(b);
}
