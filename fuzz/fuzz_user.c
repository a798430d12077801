/*
 * libFuzzer harness for the USER record decoder (auth/user.h).
 *
 * Every input goes to user_decode() twice: as it is, and as an edit
 * script applied to a valid encoding (the first byte picks the seed user,
 * each following triple overwrites or inserts one byte), so the replay
 * driver's random inputs also reach the fields past the header.  On the
 * first call the seed encodings themselves, every truncation, one byte
 * more and every single-byte flip are checked too.
 *
 * Checked whenever the decoder accepts:
 *   - the fields keep the limits user.h documents (name syntax, group and
 *     recovery-code counts, flags 0/1, lengths agree with pointers);
 *   - user_encode() gives back exactly the input (the record format has
 *     one encoding per user), and decoding that gives an equal user.
 * A refusal must be a negative code with *out left NULL.  A broken
 * invariant aborts, which libFuzzer and the replay driver report.
 * Group names are held to the syntax user.h documents and must be
 * unique.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/user.h"
#include "common/buf.h"
#include "common/err.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSEEDS		4
#define LONG_PW		512	/* user.c's cap on the password hash */
#define LONG_BOX	256	/* and on the sealed TOTP secret */

static int
user_equal(const struct user *a, const struct user *b)
{
	size_t i;

	if (!fuzz_streq(a->name, b->name) || a->ngroups != b->ngroups ||
	    a->disabled != b->disabled || a->state != b->state ||
	    a->locked != b->locked || !fuzz_streq(a->pw_hash, b->pw_hash) ||
	    a->totp_box_len != b->totp_box_len ||
	    a->last_step != b->last_step || a->failures != b->failures ||
	    a->throttle_until != b->throttle_until ||
	    a->nrecovery != b->nrecovery || a->has_enroll != b->has_enroll ||
	    a->created != b->created || a->last_login != b->last_login)
		return 0;
	for (i = 0; i < a->ngroups; i++)
		if (!fuzz_streq(a->groups[i], b->groups[i]))
			return 0;
	if (a->totp_box_len != 0 &&
	    memcmp(a->totp_box, b->totp_box, a->totp_box_len) != 0)
		return 0;
	for (i = 0; i < a->nrecovery; i++)
		if (memcmp(a->recovery[i], b->recovery[i], USER_HASH_LEN) != 0)
			return 0;
	return !a->has_enroll ||
	    memcmp(a->enroll_key, b->enroll_key, USER_HASH_LEN) == 0;
}

static void
check_limits(const struct user *u)
{
	size_t i, j;

	CHECK(u->name != NULL && user_name_valid(u->name) == 0);
	CHECK(strlen(u->name) <= USER_NAME_MAX);
	CHECK(u->ngroups <= USER_GROUPS_MAX);
	CHECK(u->ngroups == 0 || u->groups != NULL);
	for (i = 0; i < u->ngroups; i++) {
		CHECK(u->groups[i] != NULL);
		(void)strlen(u->groups[i]);	/* terminated (ASan) */
		CHECK(user_name_valid(u->groups[i]) == 0);
		for (j = 0; j < i; j++)
			CHECK(strcmp(u->groups[i], u->groups[j]) != 0);
	}
	CHECK(u->disabled == 0 || u->disabled == 1);
	CHECK(u->state == USER_PENDING || u->state == USER_ACTIVE);
	CHECK(u->locked == 0 || u->locked == 1);
	/* An empty hash is stored as none. */
	CHECK(u->pw_hash == NULL ||
	    (u->pw_hash[0] != '\0' && strlen(u->pw_hash) <= LONG_PW));
	CHECK((u->totp_box == NULL) == (u->totp_box_len == 0));
	CHECK(u->totp_box_len <= LONG_BOX);
	CHECK(u->nrecovery <= USER_RECOVERY_CODES);
	CHECK(u->has_enroll == 0 || u->has_enroll == 1);
}

/* Decode p; on success check it as above.  Returns the decoder's code. */
static int
check(const uint8_t *p, size_t len)
{
	struct user *u = NULL, *again = NULL;
	struct buf *b = NULL;
	int r;

	r = user_decode(p, len, &u);
	if (r != 0) {
		CHECK(r < 0 && u == NULL);
		return r;
	}
	CHECK(u != NULL);
	check_limits(u);
	CHECK(user_encode(u, &b) == 0);
	CHECK(buf_len(b) == len && memcmp(buf_ptr(b), p, len) == 0);
	CHECK(user_decode(buf_ptr(b), buf_len(b), &again) == 0);
	CHECK(user_equal(u, again));
	user_free(again);
	user_free(u);
	buf_free(b);
	return 0;
}

/* Storage for the seed users' strings; the struct points into it. */
struct seed {
	struct user u;
	char name[USER_NAME_MAX + 1];
	char gname[USER_GROUPS_MAX][24];
	char *groups[USER_GROUPS_MAX];
	char pw[LONG_PW + 1];
	uint8_t box[LONG_BOX];
};

/* Seed k: plain, typical, and two at the documented limits. */
static void
seed_make(int k, struct seed *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->u.name = s->name;
	s->u.groups = s->groups;
	for (i = 0; i < USER_GROUPS_MAX; i++) {
		(void)snprintf(s->gname[i], sizeof(s->gname[i]), "g%02zu", i);
		s->groups[i] = s->gname[i];
	}
	switch (k) {
	case 0:		/* just created */
		memcpy(s->name, "a", 2);
		s->u.created = 1;
		break;
	case 1:		/* enrolled, in use */
		memcpy(s->name, "alice", 6);
		s->u.ngroups = 2;
		memcpy(s->gname[0], "ops", 4);
		memcpy(s->gname[1], "dev", 4);
		s->u.state = USER_ACTIVE;
		(void)snprintf(s->pw, sizeof(s->pw), "%s",
		    "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaA");
		s->u.pw_hash = s->pw;
		for (i = 0; i < 40; i++)
			s->box[i] = (uint8_t)(i * 7 + 1);
		s->u.totp_box = s->box;
		s->u.totp_box_len = 40;
		s->u.last_step = 56666666;
		s->u.failures = 2;
		s->u.throttle_until = 1700000030;
		s->u.nrecovery = 3;
		for (i = 0; i < 3; i++)
			memset(s->u.recovery[i], 0x30 + (int)i, USER_HASH_LEN);
		s->u.created = 1700000000;
		s->u.last_login = 1700000600;
		break;
	case 2:		/* disabled, locked, pending with a token */
		memset(s->name, 'z', USER_NAME_MAX);
		s->name[0] = '_';
		s->u.ngroups = USER_GROUPS_MAX;
		s->u.disabled = 1;
		s->u.locked = 1;
		s->u.failures = UINT32_MAX;
		s->u.throttle_until = -1;
		s->u.last_step = UINT64_MAX;
		memset(s->u.enroll_key, 0xa5, USER_HASH_LEN);
		s->u.has_enroll = 1;
		s->u.created = INT64_MIN;
		s->u.last_login = INT64_MIN;
		break;
	default:	/* largest hash, box and recovery list */
		memcpy(s->name, "bob.smith-2", 12);
		s->u.ngroups = 1;
		s->u.state = USER_ACTIVE;
		memset(s->pw, 'h', LONG_PW);
		s->u.pw_hash = s->pw;
		memset(s->box, 0, LONG_BOX);
		s->u.totp_box = s->box;
		s->u.totp_box_len = LONG_BOX;
		s->u.nrecovery = USER_RECOVERY_CODES;
		for (i = 0; i < USER_RECOVERY_CODES; i++)
			memset(s->u.recovery[i], (int)i, USER_HASH_LEN);
		s->u.created = INT64_MAX;
		s->u.last_login = INT64_MAX;
		break;
	}
}

static int
check_cb(void *arg, const uint8_t *p, size_t len)
{
	(void)arg;
	return check(p, len);
}

static void
run_seeds(void)
{
	struct seed *s;
	struct buf *b;
	int k;

	CHECK((s = malloc(sizeof(*s))) != NULL);
	for (k = 0; k < NSEEDS; k++) {
		seed_make(k, s);
		CHECK(user_encode(&s->u, &b) == 0);
		fuzz_seed_checks(b, check_cb, NULL);
		buf_free(b);
	}
	free(s);
}

/* data[0] picks a seed, the rest edits its encoding (fuzz_mutate). */
static void
run_edited(const uint8_t *data, size_t size)
{
	struct seed *s;
	struct buf *b;
	uint8_t *p;
	size_t len;

	if (size == 0)
		return;
	CHECK((s = malloc(sizeof(*s))) != NULL);
	seed_make(data[0] % NSEEDS, s);
	CHECK(user_encode(&s->u, &b) == 0);
	p = fuzz_mutate(b, data + 1, size - 1, &len);
	(void)check(p, len);
	free(p);
	buf_free(b);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int seeded;

	if (!seeded) {
		seeded = 1;
		run_seeds();
	}
	if (size > 1024 * 1024)
		return 0;
	(void)check(data, size);
	run_edited(data, size);
	return 0;
}
