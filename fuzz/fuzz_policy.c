/*
 * libFuzzer harness for the RBAC record decoders (rbac/rbac_int.h):
 * targets, roles and bindings as stored in the TARGETS, ROLES and BINDINGS
 * databases.
 *
 * The first input byte chooses: its low two bits the decoder (3: edit a
 * seed record instead), the rest the key the record is decoded under (one
 * of a few target/role names, valid and not, or a binding id), or for 3
 * the seed.  The other bytes are the value; for 3 they are an edit script
 * over the seed's encoding (each triple overwrites or inserts one byte),
 * so the replay driver's random inputs also reach the fields past the
 * header.  On the first call the seed encodings themselves, every
 * truncation, one byte more, every single-byte flip and every key are
 * checked too.
 *
 * Checked whenever a decoder accepts:
 *   - every field keeps the limits rbac.h documents (name syntax, counts,
 *     lengths, TTL range, known extension and permission bits; the empty
 *     string is stored for NULL, so an optional string is never "");
 *   - the record re-encodes to exactly the input (one encoding per
 *     record) and decoding that under the same key gives an equal record.
 * A refusal must be a negative code with *out left NULL.  A broken
 * invariant aborts, which libFuzzer and the replay driver report.
 * A role's source addresses must be the canonical text rbac.h promises
 * ("CIDRs, canonical text"), as the JSON path writes them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


enum kind { K_TARGET, K_ROLE, K_BINDING };

/* ---- equality ---- */

static int
strv_eq(char *const *a, char *const *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fuzz_streq(a[i], b[i]))
			return 0;
	return 1;
}

static int
labels_eq(const struct rbac_label *a, const struct rbac_label *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fuzz_streq(a[i].key, b[i].key) ||
		    !fuzz_streq(a[i].value, b[i].value))
			return 0;
	return 1;
}

static int
target_eq(const struct rbac_target *a, const struct rbac_target *b)
{
	return fuzz_streq(a->name, b->name) && a->n_labels == b->n_labels &&
	    labels_eq(a->labels, b->labels, a->n_labels) &&
	    a->updated_at == b->updated_at &&
	    fuzz_streq(a->updated_by, b->updated_by);
}

static int
role_eq(const struct rbac_role *a, const struct rbac_role *b)
{
	const struct rbac_rule *x, *y;
	size_t i;

	if (!fuzz_streq(a->name, b->name) || a->n_rules != b->n_rules ||
	    a->max_ttl != b->max_ttl || a->extensions != b->extensions ||
	    a->n_source != b->n_source ||
	    !strv_eq(a->source_address, b->source_address, a->n_source) ||
	    !fuzz_streq(a->force_command, b->force_command) ||
	    a->admin != b->admin || a->updated_at != b->updated_at ||
	    !fuzz_streq(a->updated_by, b->updated_by))
		return 0;
	for (i = 0; i < a->n_rules; i++) {
		x = &a->rules[i];
		y = &b->rules[i];
		if (x->n_targets != y->n_targets ||
		    !strv_eq(x->targets, y->targets, x->n_targets) ||
		    x->n_labels != y->n_labels ||
		    !labels_eq(x->labels, y->labels, x->n_labels) ||
		    x->n_logins != y->n_logins ||
		    !strv_eq(x->logins, y->logins, x->n_logins))
			return 0;
	}
	return 1;
}

static int
binding_eq(const struct rbac_binding *a, const struct rbac_binding *b)
{
	return a->id == b->id && fuzz_streq(a->role, b->role) &&
	    fuzz_streq(a->subject, b->subject) && a->expires_at == b->expires_at &&
	    a->created_at == b->created_at &&
	    fuzz_streq(a->created_by, b->created_by);
}

/* ---- limits, written from rbac.h rather than taken from model.c ---- */

static int
lower_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Key [a-z0-9][a-z0-9._/-]{0,62}, value [A-Za-z0-9._-]{1,63}. */
static void
check_labels(const struct rbac_label *l, size_t n)
{
	size_t i, j, kl, vl;
	int c;

	CHECK(n <= RBAC_LABELS_MAX);
	CHECK(n == 0 || l != NULL);
	for (i = 0; i < n; i++) {
		CHECK(l[i].key != NULL && l[i].value != NULL);
		kl = strlen(l[i].key);
		vl = strlen(l[i].value);
		CHECK(kl >= 1 && kl <= RBAC_LABEL_KEY_MAX);
		CHECK(vl >= 1 && vl <= RBAC_LABEL_VALUE_MAX);
		CHECK(lower_digit(l[i].key[0]));
		for (j = 1; j < kl; j++) {
			c = l[i].key[j];
			CHECK(lower_digit(c) || c == '.' || c == '_' ||
			    c == '-' || c == '/');
		}
		for (j = 0; j < vl; j++) {
			c = l[i].value[j];
			CHECK(lower_digit(c) || (c >= 'A' && c <= 'Z') ||
			    c == '.' || c == '_' || c == '-');
		}
		/* Sorted by key, keys unique. */
		CHECK(i == 0 || strcmp(l[i - 1].key, l[i].key) < 0);
	}
}

/* NULL, or a non-empty string (the record stores "" for NULL). */
static void
check_opt(const char *s)
{
	CHECK(s == NULL || s[0] != '\0');
}

static void
check_target(const struct rbac_target *t, const char *name, size_t nlen)
{
	CHECK(t->name != NULL && strlen(t->name) == nlen &&
	    memcmp(t->name, name, nlen) == 0);
	CHECK(nlen <= RBAC_NAME_MAX && rbac_valid_target_name(t->name) == 0);
	check_labels(t->labels, t->n_labels);
	check_opt(t->updated_by);
}

static void
check_role(const struct rbac_role *ro, const char *name, size_t nlen)
{
	const struct rbac_rule *ru;
	struct rbac_cidr c;
	size_t i, j, n;
	int ch;

	CHECK(ro->name != NULL && strlen(ro->name) == nlen &&
	    memcmp(ro->name, name, nlen) == 0);
	CHECK(nlen <= RBAC_ROLE_NAME_MAX &&
	    rbac_valid_role_name(ro->name) == 0);
	CHECK(ro->n_rules <= RBAC_RULES_MAX);
	CHECK(ro->n_rules == 0 || ro->rules != NULL);
	for (i = 0; i < ro->n_rules; i++) {
		ru = &ro->rules[i];
		CHECK(ru->n_targets + ru->n_labels > 0);
		CHECK(ru->n_targets <= RBAC_GLOBS_MAX);
		for (j = 0; j < ru->n_targets; j++)
			CHECK(ru->targets[j] != NULL &&
			    strlen(ru->targets[j]) <= RBAC_NAME_MAX &&
			    rbac_valid_glob(ru->targets[j]) == 0);
		check_labels(ru->labels, ru->n_labels);
		CHECK(ru->n_logins >= 1 && ru->n_logins <= RBAC_LOGINS_MAX);
		for (j = 0; j < ru->n_logins; j++)
			CHECK(ru->logins[j] != NULL &&
			    strlen(ru->logins[j]) <= RBAC_LOGIN_MAX &&
			    rbac_valid_login(ru->logins[j]) == 0);
	}
	CHECK(ro->max_ttl >= 1 && ro->max_ttl <= RBAC_TTL_MAX);
	CHECK((ro->extensions & ~RBAC_EXT_ALL) == 0);
	CHECK((ro->admin & ~(RBAC_PERM_ALL | RBAC_PERM_STAR)) == 0);
	CHECK(ro->n_source <= RBAC_CIDRS_MAX);
	for (i = 0; i < ro->n_source; i++) {
		CHECK(ro->source_address[i] != NULL);
		CHECK(rbac_cidr_parse(ro->source_address[i], &c) == 0);
		{
			char text[64];

			rbac_cidr_format(&c, text, sizeof(text));
			CHECK(strcmp(text, ro->source_address[i]) == 0);
		}
	}
	if (ro->force_command != NULL) {
		n = strlen(ro->force_command);
		CHECK(n >= 1 && n <= RBAC_FORCE_COMMAND_MAX);
		for (i = 0; i < n; i++) {
			ch = (unsigned char)ro->force_command[i];
			CHECK(ch >= 0x20 && ch != 0x7f);
		}
	}
	check_opt(ro->updated_by);
}

static void
check_binding(const struct rbac_binding *b, uint64_t id)
{
	CHECK(b->id == id);
	CHECK(b->role != NULL && strlen(b->role) <= RBAC_ROLE_NAME_MAX &&
	    rbac_valid_role_name(b->role) == 0);
	CHECK(b->subject != NULL && rbac_valid_subject(b->subject) == 0);
	CHECK(strlen(b->subject) <= strlen("group:") + RBAC_SUBJECT_NAME_MAX);
	CHECK(b->expires_at >= 0);
	check_opt(b->created_by);
}

/* ---- decode, check, re-encode, decode again ---- */

static void
same(const struct buf *b, const uint8_t *p, size_t len)
{
	CHECK(buf_len(b) == len && memcmp(buf_ptr(b), p, len) == 0);
}

/* Returns the decoder's code. */
static int
check(int kind, const char *name, size_t nlen, uint64_t id,
    const uint8_t *p, size_t len)
{
	struct rbac_target *t = NULL, *t2 = NULL;
	struct rbac_role *ro = NULL, *ro2 = NULL;
	struct rbac_binding *bi = NULL, *bi2 = NULL;
	struct buf *b = NULL;
	int r;

	switch (kind) {
	case K_TARGET:
		r = rbac__target_decode(name, nlen, p, len, &t);
		if (r != 0)
			break;
		check_target(t, name, nlen);
		CHECK(rbac__target_encode(t, &b) == 0);
		same(b, p, len);
		CHECK(rbac__target_decode(name, nlen, buf_ptr(b), buf_len(b),
		    &t2) == 0);
		CHECK(target_eq(t, t2));
		break;
	case K_ROLE:
		r = rbac__role_decode(name, nlen, p, len, &ro);
		if (r != 0)
			break;
		check_role(ro, name, nlen);
		CHECK(rbac__role_encode(ro, &b) == 0);
		same(b, p, len);
		CHECK(rbac__role_decode(name, nlen, buf_ptr(b), buf_len(b),
		    &ro2) == 0);
		CHECK(role_eq(ro, ro2));
		break;
	default:
		r = rbac__binding_decode(id, p, len, &bi);
		if (r != 0)
			break;
		check_binding(bi, id);
		CHECK(rbac__binding_encode(bi, &b) == 0);
		same(b, p, len);
		CHECK(rbac__binding_decode(id, buf_ptr(b), buf_len(b),
		    &bi2) == 0);
		CHECK(binding_eq(bi, bi2));
		break;
	}
	CHECK(r <= 0);
	CHECK(r == 0 || (t == NULL && ro == NULL && bi == NULL));
	rbac_target_free(t);
	rbac_target_free(t2);
	rbac_role_free(ro);
	rbac_role_free(ro2);
	rbac_binding_free(bi);
	rbac_binding_free(bi2);
	buf_free(b);
	return r;
}

/*
 * The key a fuzzed record is decoded under: valid target and role names,
 * one only a target may have, and names every decoder must refuse.  buf
 * has room for RBAC_NAME_MAX + 2 bytes.
 */
static size_t
key_name(unsigned k, char *buf)
{
	static const char *const fixed[] = {
		"web", "prod/db-1", "ops", "sshd", "Bad", "",
	};
	size_t n;

	k %= 9;
	if (k < sizeof(fixed) / sizeof(fixed[0])) {
		n = strlen(fixed[k]);
		memcpy(buf, fixed[k], n + 1);
		return n;
	}
	if (k == 6 || k == 7) {		/* longest target name, one more */
		n = RBAC_NAME_MAX + (k == 7);
		memset(buf, 'a', n);
		buf[n] = '\0';
		return n;
	}
	memcpy(buf, "ops\0x", 6);	/* an embedded NUL */
	return 5;
}

/* ---- seeds: valid records built with the encoders ---- */

#define NSEEDS		8

struct seed {
	int kind;
	char name[RBAC_NAME_MAX + 2];	/* room for key_name() */
	uint64_t id;
	struct rbac_target t;
	struct rbac_role r;
	struct rbac_binding b;
	struct rbac_label labels[RBAC_LABELS_MAX];
	char keys[RBAC_LABELS_MAX][RBAC_LABEL_KEY_MAX + 1];
	char vals[RBAC_LABELS_MAX][RBAC_LABEL_VALUE_MAX + 1];
	struct rbac_rule rules[2];
	char by[300];
	char subject[80];
};

static char *globs0[] = { "web" };
static char *globs1[] = { "prod/**", "db-*/x", "a*b*c" };
static char *logins0[] = { "root" };
static char *logins1[] = { "deploy", "_svc", "a-b_c" };
static char *sources[] = { "10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32",
    "::/0" };

static void
seed_label(struct seed *s, size_t i, const char *k, const char *v)
{
	(void)snprintf(s->keys[i], sizeof(s->keys[i]), "%s", k);
	(void)snprintf(s->vals[i], sizeof(s->vals[i]), "%s", v);
	s->labels[i].key = s->keys[i];
	s->labels[i].value = s->vals[i];
}

static void
seed_make(int k, struct seed *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->t.name = s->r.name = s->name;
	switch (k) {
	case 0:		/* bare target */
		s->kind = K_TARGET;
		memcpy(s->name, "web", 4);
		break;
	case 1:		/* labelled target */
		s->kind = K_TARGET;
		memcpy(s->name, "prod/db-1", 10);
		seed_label(s, 0, "env", "prod");
		seed_label(s, 1, "team/db", "Core_1.x-y");
		s->t.labels = s->labels;
		s->t.n_labels = 2;
		s->t.updated_at = 1700000000;
		memcpy(s->by, "alice", 6);
		s->t.updated_by = s->by;
		break;
	case 2:		/* at the limits */
		s->kind = K_TARGET;
		memset(s->name, 'a', RBAC_NAME_MAX);
		for (i = 0; i < RBAC_LABELS_MAX; i++) {
			memset(s->keys[i], 'k', RBAC_LABEL_KEY_MAX);
			s->keys[i][1] = (char)('a' + i / 10);
			s->keys[i][2] = (char)('0' + i % 10);
			memset(s->vals[i], 'V', RBAC_LABEL_VALUE_MAX);
			s->labels[i].key = s->keys[i];
			s->labels[i].value = s->vals[i];
		}
		s->t.labels = s->labels;
		s->t.n_labels = RBAC_LABELS_MAX;
		s->t.updated_at = -1;
		memset(s->by, 'x', sizeof(s->by) - 1);
		s->t.updated_by = s->by;
		break;
	case 3:		/* one plain rule */
		s->kind = K_ROLE;
		memcpy(s->name, "ops", 4);
		s->rules[0].targets = globs0;
		s->rules[0].n_targets = 1;
		s->rules[0].logins = logins0;
		s->rules[0].n_logins = 1;
		s->r.rules = s->rules;
		s->r.n_rules = 1;
		s->r.max_ttl = RBAC_DEFAULT_TTL;
		s->r.extensions = RBAC_EXT_DEFAULT;
		break;
	case 4:		/* admin: no rules */
		s->kind = K_ROLE;
		memcpy(s->name, "admin", 6);
		s->r.max_ttl = 1;
		s->r.admin = RBAC_PERM_STAR;
		s->r.updated_at = 1;
		memcpy(s->by, "root", 5);
		s->r.updated_by = s->by;
		break;
	case 5:		/* everything set */
		s->kind = K_ROLE;
		memset(s->name, 'r', RBAC_ROLE_NAME_MAX);
		memcpy(s->name, "9.a_b-", 6);
		seed_label(s, 0, "env", "prod");
		seed_label(s, 1, "tier", "db");
		s->rules[0].labels = s->labels;
		s->rules[0].n_labels = 2;
		s->rules[0].logins = logins1;
		s->rules[0].n_logins = 3;
		s->rules[1].targets = globs1;
		s->rules[1].n_targets = 3;
		s->rules[1].labels = s->labels;
		s->rules[1].n_labels = 1;
		s->rules[1].logins = logins0;
		s->rules[1].n_logins = 1;
		s->r.rules = s->rules;
		s->r.n_rules = 2;
		s->r.max_ttl = RBAC_TTL_MAX;
		s->r.extensions = RBAC_EXT_ALL;
		s->r.source_address = sources;
		s->r.n_source = sizeof(sources) / sizeof(sources[0]);
		(void)snprintf(s->by, sizeof(s->by), "%s",
		    "/usr/bin/rsync --server -e.Lsf . /srv");
		s->r.force_command = s->by;
		s->r.admin = RBAC_PERM_ALL;
		s->r.updated_at = INT64_MAX;
		break;
	case 6:		/* a user's binding */
		s->kind = K_BINDING;
		s->id = 1;
		s->b.role = "ops";
		s->b.subject = "user:alice";
		s->b.created_at = 1700000000;
		memcpy(s->by, "root", 5);
		s->b.created_by = s->by;
		break;
	default:	/* a group's, expiring, longest subject */
		s->kind = K_BINDING;
		s->id = UINT64_MAX;
		s->b.role = "admin";
		memcpy(s->subject, "group:", 6);
		memset(s->subject + 6, 'G', RBAC_SUBJECT_NAME_MAX);
		memcpy(s->subject + 6, "Wheel.ops@corp-1", 16);
		s->b.subject = s->subject;
		s->b.expires_at = INT64_MAX;
		s->b.created_at = INT64_MIN;
		break;
	}
	s->b.id = s->id;
}

static struct buf *
seed_encode(const struct seed *s)
{
	struct buf *b = NULL;

	switch (s->kind) {
	case K_TARGET:
		CHECK(rbac__target_encode(&s->t, &b) == 0);
		break;
	case K_ROLE:
		CHECK(rbac__role_encode(&s->r, &b) == 0);
		break;
	default:
		CHECK(rbac__binding_encode(&s->b, &b) == 0);
		break;
	}
	return b;
}

static int
check_seed(const struct seed *s, const uint8_t *p, size_t len)
{
	return check(s->kind, s->name, strlen(s->name), s->id, p, len);
}

static int
check_cb(void *arg, const uint8_t *p, size_t len)
{
	return check_seed(arg, p, len);
}

static void
run_seeds(void)
{
	char name[RBAC_NAME_MAX + 2];
	struct seed *s;
	struct buf *b;
	uint8_t *p;
	size_t len, nlen, i;
	int k;

	CHECK((s = malloc(sizeof(*s))) != NULL);
	for (k = 0; k < NSEEDS; k++) {
		seed_make(k, s);
		b = seed_encode(s);
		fuzz_seed_checks(b, check_cb, s);
		/* The same value under every other key. */
		len = buf_len(b);
		p = fuzz_copy(b, len);
		for (i = 0; s->kind != K_BINDING && i < 9; i++) {
			nlen = key_name((unsigned)i, name);
			(void)check(s->kind, name, nlen, 0, p, len);
		}
		free(p);
		buf_free(b);
	}
	free(s);
}

/*
 * Seed sel % NSEEDS with the rest of the input as edits (fuzz_mutate),
 * decoded under the seed's own key, or for sel / NSEEDS >= 5 under one
 * from key_name().
 */
static void
run_edited(unsigned sel, const uint8_t *data, size_t size)
{
	struct seed *s;
	struct buf *b;
	uint8_t *p;
	size_t len, nlen;

	CHECK((s = malloc(sizeof(*s))) != NULL);
	seed_make((int)(sel % NSEEDS), s);
	b = seed_encode(s);
	p = fuzz_mutate(b, data, size, &len);
	nlen = strlen(s->name);
	if (sel / NSEEDS >= 5)
		nlen = key_name(sel, s->name);
	(void)check(s->kind, s->name, nlen, s->id, p, len);
	free(p);
	buf_free(b);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int seeded;
	char name[RBAC_NAME_MAX + 2];
	size_t nlen;
	uint8_t op;

	if (!seeded) {
		seeded = 1;
		run_seeds();
	}
	if (size == 0 || size > 1024 * 1024)
		return 0;
	op = data[0];
	if ((op & 3) == 3) {
		run_edited(op >> 2, data + 1, size - 1);
		return 0;
	}
	nlen = key_name(op >> 2, name);
	(void)check(op & 3, name, nlen,
	    (uint64_t)op << 56 | (uint64_t)op * 0x10001, data + 1, size - 1);
	return 0;
}
