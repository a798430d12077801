/*
 * oom, broker/ on a bare store: the config file parse, the certificate
 * ledger's records (put, get, list as JSON, revoke, the revoked serials)
 * and the device flow's records (create, the pending request, the
 * decision), each walked through every allocation failure and with each
 * allocation refused alone (oom.h).
 * Issuance on a whole broker is test_oom_issue.c's.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "broker/certs.h"
#include "broker/config.h"
#include "broker/device.h"
#include "common/err.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "store/store.h"
#include "oom.h"
#include "tmpdir.h"
#include "fixture_text.h"

#define NOW	1700000000LL

TestSuite(oom_broker, .init = oom_store_setup, .fini = oom_store_teardown);

/* ---- config ---- */

struct cfgx {
	char path[PATH_MAX + 16];
	struct config c;
};

static int
cfg_run(void *arg)
{
	struct cfgx *x = arg;
	char err[512];

	memset(&x->c, 0xa5, sizeof(x->c));
	return config_load(x->path, &x->c, err, sizeof(err));
}

static void
cfg_check(void *arg, int r)
{
	struct cfgx *x = arg;

	if (r != 0) {
		/* Freed on failure: no string left behind. */
		cr_assert(x->c.listen == NULL && x->c.data_dir == NULL &&
		    x->c.ca_key == NULL && x->c.issuer == NULL &&
		    x->c.log_level == NULL, "config_load failed, strings left");
		return;
	}
	cr_assert_str_eq(x->c.listen, "[::1]:9443");
	cr_assert_str_eq(x->c.ca_key, "/etc/tessera/ca");
	cr_assert_str_eq(x->c.issuer, "Lab");
	cr_assert_eq(x->c.cert_max_ttl, 4 * 3600);
	config_free(&x->c);
}

static char *
cfg_show(void *arg)
{
	struct cfgx *x = arg;
	const struct config *c = &x->c;
	json_t *j;

	cr_assert_not_null(j = json_pack("[s, s?, s, s, s, s, s, s, s, s?, "
	    "s, I, I, I]", c->listen, c->public_url, c->data_dir, c->tls_cert,
	    c->tls_key, c->ca_key, c->master_key, c->issuer, c->audit_log,
	    c->audit_key, c->log_level, (json_int_t)c->cert_default_ttl,
	    (json_int_t)c->cert_max_ttl, (json_int_t)c->argon2_memory_kib));
	return oom_json(j, NULL);
}

Test(oom_broker, config_load)
{
	struct cfgx x;

	snprintf(x.path, sizeof(x.path), "%s/tesserad.conf", oom_dir);
	cr_assert_eq(tmpfile_write(x.path,
	    "# a config\n"
	    "listen = [::1]:9443\n"
	    "data_dir = /var/lib/tessera\n"
	    "tls_cert = /etc/tessera/tls.crt\n"
	    "tls_key = /etc/tessera/tls.key\n"
	    "ca_key = /etc/tessera/ca\n"
	    "master_key = /etc/tessera/master.key\n"
	    "issuer = Lab\n"
	    "audit_log = syslog\n"
	    "log_level = debug\n"
	    "cert_max_ttl = 4h\n"
	    "argon2_memory_kib = 1024\n", 0600), 0);
	oom_walk("config_load", cfg_run, cfg_check, &x);
	oom_walk_nth("config_load", cfg_run, cfg_check, cfg_show, &x);
}

/* ---- the certificate ledger ---- */

static const char *const principals[] = { "app@lab/box", "db@lab/box",
    "app@lab/db" };

static void
record(struct cert_record *c, uint64_t serial, const char *user)
{
	memset(c, 0, sizeof(*c));
	c->serial = serial;
	c->username = fixture_text(user);
	c->fingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
	c->target = "lab/box";
	c->principals = fixture_textv(principals);
	c->n_principals = 3;
	c->valid_after = NOW - 300;
	c->valid_before = NOW + 3600;
	c->issued_at = NOW;
	c->certificate = "ssh-ed25519-cert-v01@openssh.com AAAA alice:1";
}

static uint64_t
ledger_size(void)
{
	struct store_txn *t;
	uint64_t n, m;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(store_count(t, STORE_DB_CERTS, &n), 0);
	cr_assert_eq(store_count(t, STORE_DB_CERTS_BY_USER, &m), 0);
	store_abort(t);
	cr_assert_eq(n, m);
	return n;
}

struct ledgerx {
	uint64_t next;		/* serial the next put takes */
	uint64_t before;
	struct cert_record got;
	json_t *list;
	uint64_t *revoked;
	size_t nrevoked;
	int step;
};

static int
put_run(void *arg)
{
	struct ledgerx *x = arg;
	struct cert_record c;
	struct store_txn *t;
	int r;

	record(&c, x->next, "alice");
	if ((r = store_begin(oom_store, 1, &t)) != 0)
		return r;
	if ((r = certs_put(t, &c)) != 0 ||
	    (r = certs_revoke(t, x->next, NOW + 1)) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

static void
put_check(void *arg, int r)
{
	struct ledgerx *x = arg;

	cr_assert_eq(ledger_size(), x->before + (r == 0));
	if (r == 0) {
		x->before++;	/* the next run puts the next serial */
		x->next++;
	}
}

/* One read per walk: a read that ends the walk's run must be whole. */
static int
read_run(void *arg)
{
	struct ledgerx *x = arg;
	uint64_t nx;
	struct store_txn *t;
	int r;

	if ((r = store_begin(oom_store, 0, &t)) != 0)
		return r;
	switch (x->step) {
	case 0:
		if ((r = certs_get(t, 1, &x->got)) != 0)
			cr_assert_null(x->got.username);
		break;
	case 1:
		x->list = (json_t *)1;
		if ((r = certs_list(t, &(struct certs_filter){ .username =
		    "alice", .state = "revoked", .target = "lab/db" }, NOW,
		    &x->list, &nx)) != 0)
			cr_assert_null(x->list);
		break;
	default:
		x->revoked = (uint64_t *)1;
		x->nrevoked = 99;
		if ((r = certs_revoked_serials(t, NOW, &x->revoked,
		    &x->nrevoked, NULL)) != 0)
			cr_assert(x->revoked == NULL && x->nrevoked == 0);
		break;
	}
	store_abort(t);
	return r;
}

static json_t *
record_json(const struct cert_record *c)
{
	json_t *p;
	size_t i;

	cr_assert_not_null(p = json_array());
	for (i = 0; i < c->n_principals; i++)
		cr_assert_eq(json_array_append_new(p,
		    json_string(c->principals[i])), 0);
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:s}",
	    "serial", (json_int_t)c->serial, "username", c->username,
	    "fingerprint", c->fingerprint, "target", c->target,
	    "principals", p, "valid_after", (json_int_t)c->valid_after,
	    "valid_before", (json_int_t)c->valid_before, "issued_at",
	    (json_int_t)c->issued_at, "revoked_at", (json_int_t)c->revoked_at,
	    "certificate", c->certificate);
}

static char *
read_show(void *arg)
{
	struct ledgerx *x = arg;
	json_t *j;
	size_t i;

	if (x->step == 0)
		j = record_json(&x->got);
	else if (x->step == 1)
		j = json_incref(x->list);
	else {
		cr_assert_not_null(j = json_array());
		for (i = 0; i < x->nrevoked; i++)
			cr_assert_eq(json_array_append_new(j,
			    json_integer((json_int_t)x->revoked[i])), 0);
	}
	cr_assert_not_null(j);
	return oom_json(j, NULL);
}

static void
read_check(void *arg, int r)
{
	struct ledgerx *x = arg;
	json_t *e;
	size_t i;

	if (r == 0 && x->step == 0) {
		cr_assert_str_eq(x->got.username, "alice");
		cr_assert_eq(x->got.n_principals, 3);
		cr_assert_str_eq(x->got.principals[2], "app@lab/db");
	} else if (r == 0 && x->step == 1) {
		cr_assert_eq(json_array_size(x->list), 2);
		json_array_foreach(x->list, i, e) {
			cr_assert_eq(json_array_size(json_object_get(e,
			    "principals")), 3, "a listed certificate lost "
			    "principals");
			cr_assert_not_null(json_object_get(e, "revoked_at"),
			    "a revoked certificate listed without revoked_at");
		}
	} else if (r == 0) {
		cr_assert_eq(x->nrevoked, 2);
		cr_assert_eq(x->revoked[1], 2);
	}
	cert_record_free(&x->got);
	json_decref(x->list);
	x->list = NULL;
	free(x->revoked);
	x->revoked = NULL;
}

Test(oom_broker, certificate_ledger)
{
	static const char *const what[] = { "certs_get", "certs_list (2)",
	    "certs_revoked_serials" };
	struct ledgerx x;

	memset(&x, 0, sizeof(x));
	x.next = 1;
	while (x.next <= 2) {
		x.before = ledger_size();
		oom_walk("certs_put + certs_revoke + commit", put_run,
		    put_check, &x);
	}
	for (x.step = 0; x.step < 3; x.step++) {
		oom_walk(what[x.step], read_run, read_check, &x);
		oom_walk_nth(what[x.step], read_run, read_check, read_show,
		    &x);
	}
	/* Last, as its runs add certificates. */
	x.before = ledger_size();
	oom_walk_nth("certs_put + certs_revoke + commit", put_run, put_check,
	    NULL, &x);
}

/* ---- the device flow's records ---- */

struct devx {
	char key[1024];
	struct device_grant g;
	struct device_pending p;
	uint64_t before;
};

static int
create_run(void *arg)
{
	struct devx *x = arg;
	struct device_request rq = { .public_key = x->key, .target = "lab/box",
	    .login = "app", .ttl = 600, .remote_addr = "192.0.2.9" };
	char err[256];

	memset(&x->g, 0, sizeof(x->g));
	return device_create(oom_store, &rq, NOW, &x->g, err, sizeof(err));
}

static void
create_check(void *arg, int r)
{
	struct devx *x = arg;

	/* A request and its user code index, or nothing. */
	cr_assert_eq(oom_count(oom_store, STORE_DB_DEVICE), x->before + (r == 0 ? 2 : 0));
	if (r == 0) {
		cr_assert_eq(strlen(x->g.user_code), 9);
		x->before += 2;
	} else
		cr_assert_eq(x->g.user_code[0], '\0');
}

/* The request as stored, less its codes. */
static char *
create_show(void *arg)
{
	struct devx *x = arg;
	struct device_pending p;
	json_t *j;

	cr_assert_eq(device_pending_get(oom_store, x->g.user_code, NOW + 1,
	    &p), 0);
	cr_assert_not_null(j = json_pack("[s, s, s?, s?, I, I, s]",
	    p.fingerprint, p.key_type, p.target, p.login, (json_int_t)p.ttl,
	    (json_int_t)p.expires_at, p.remote_addr));
	device_pending_clear(&p);
	return oom_json(j, NULL);
}

static int
pending_run(void *arg)
{
	struct devx *x = arg;
	const struct audit_actor alice = { .name = "alice" };
	int r;

	memset(&x->p, 0xa5, sizeof(x->p));
	if ((r = device_pending_get(oom_store, x->g.user_code, NOW + 5,
	    &x->p)) != 0) {
		cr_assert(x->p.fingerprint == NULL && x->p.target == NULL,
		    "device_pending_get failed, output left");
		return r;
	}
	return device_decide(oom_store, x->g.user_code, 1, &alice, NOW + 6);
}

static void
pending_check(void *arg, int r)
{
	struct devx *x = arg;

	if (x->p.fingerprint != NULL) {
		cr_assert_str_eq(x->p.target, "lab/box");
		cr_assert_str_eq(x->p.key_type, "ssh-ed25519");
	}
	device_pending_clear(&x->p);
	/* Decided: a new request for the next run. */
	if (r == 0)
		cr_assert_eq(create_run(x), 0);
}

Test(oom_broker, device_records)
{
	struct cakey *k;
	struct devx x;
	char *line;

	memset(&x, 0, sizeof(x));
	cr_assert_eq(cakey_generate(CAKEY_ED25519, 0, &k), 0);
	cr_assert_eq(sshkey_to_line(cakey_public(k), "dev", &line), 0);
	snprintf(x.key, sizeof(x.key), "%s", line);
	free(line);
	cakey_free(k);
	x.before = oom_count(oom_store, STORE_DB_DEVICE);
	oom_walk("device_create", create_run, create_check, &x);
	oom_walk_nth("device_create", create_run, create_check, create_show,
	    &x);
	oom_walk("device_pending_get + device_decide", pending_run,
	    pending_check, &x);
	oom_walk_nth("device_pending_get + device_decide", pending_run,
	    pending_check, NULL, &x);
}
