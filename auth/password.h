/*
 * password: Argon2id password hashing through libargon2, the password rules,
 * and the limiter that bounds how many hashes run at once.
 *
 * Hashes are libargon2's encoded strings
 * ("$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>") with a random 16-byte
 * salt from the OpenSSL CSPRNG and a 32-byte tag.  Verification reads the
 * parameters back from the string (libargon2 compares the tag in constant
 * time), so raising the configured parameters later makes
 * password_verify() report that the hash wants replacing.
 *
 * Memory bound: every hash and verification runs inside a slot of the
 * hasher's limiter; at most max_active run at once, so the process never
 * holds more than max_active x m KiB of Argon2 memory.  A caller that finds
 * every slot taken waits (at most wait_ms, and only while fewer than
 * max_waiters wait) or gets TSS_E_UNAVAILABLE; it never allocates.
 *
 * Unknown users: password_verify_dummy() verifies against a hash of a
 * random password made with the hasher's parameters when it was created,
 * so it costs what a real verification costs.
 *
 * Threading: a hasher is shared by all threads.  Passwords are byte
 * strings (pointer and length); nothing here keeps a copy of one.
 */
#ifndef TSS_AUTH_PASSWORD_H
#define TSS_AUTH_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define PASSWORD_MIN_LEN	12	/* bytes of UTF-8 */
#define PASSWORD_MAX_LEN	1024
#define PASSWORD_SALT_LEN	16
#define PASSWORD_TAG_LEN	32
/* Refuse stored hashes asking for more than this (KiB, 4 GiB). */
#define PASSWORD_M_KIB_MAX	(4u * 1024 * 1024)

#define PASSWORD_DEFAULT_M_KIB	(64u * 1024)	/* 64 MiB */
#define PASSWORD_DEFAULT_T	3
#define PASSWORD_DEFAULT_P	1

struct password_params {
	uint32_t m_kib;		/* memory in KiB; 0 = default */
	uint32_t t_cost;	/* passes; 0 = default */
	uint32_t parallelism;	/* lanes; 0 = default */
};

struct password_limits {
	unsigned max_active;	/* concurrent hashes; 0 = online cores */
	unsigned max_waiters;	/* callers allowed to queue; 0 = 4 x max_active */
	unsigned wait_ms;	/* longest wait for a slot; 0 = never wait */
};

/* Observable counters (tests and metrics). */
struct password_stats {
	unsigned max_active;	/* the bound in force */
	unsigned active;	/* hashes running now */
	unsigned waiting;	/* callers queued now */
	unsigned peak;		/* most hashes ever running at once */
	uint64_t hashes;	/* hash and verify calls that ran, dummy included */
	uint64_t dummy;		/* of which dummy verifications */
	uint64_t refused;	/* callers sent away with TSS_E_UNAVAILABLE */
};

struct password_hasher;

/*
 * New hasher; params and limits may be NULL for the defaults.  Computes the
 * dummy hash with params, so this takes one hash's time.
 */
int password_hasher_new(const struct password_params *params,
    const struct password_limits *limits, struct password_hasher **out);
void password_hasher_free(struct password_hasher *h);	/* NULL is harmless */

/* Parameters the hasher hashes with (defaults filled in). */
void password_hasher_params(const struct password_hasher *h,
    struct password_params *out);
void password_hasher_stats(struct password_hasher *h,
    struct password_stats *out);

/*
 * Test seam: fn runs inside a slot before each hash, with the number of
 * hashes running at that moment.  Set before the hasher is shared.
 */
void password_hasher_set_hook(struct password_hasher *h,
    void (*fn)(void *arg, unsigned active), void *arg);

/*
 * Password rules: 12 to 1024 bytes of valid UTF-8 (shortest forms, no
 * surrogates, no NUL), not equal to username (NULL: no username check).
 * TSS_E_WEAK_PASSWORD otherwise.
 */
int password_check_rules(const char *username, const char *pw, size_t len);

/* Hash pw (rules not checked here) into a new encoded string *out. */
int password_hash(struct password_hasher *h, const char *pw, size_t len,
    char **out);

/*
 * Verify pw against encoded.  0 on a match, TSS_E_INVALID_CREDENTIALS on a
 * mismatch, TSS_E_BAD_FORMAT for an unusable encoded string,
 * TSS_E_UNAVAILABLE when no slot was free.  On a match *rehash (may be
 * NULL) is set to 1 when encoded was made with parameters other than the
 * hasher's.
 */
int password_verify(struct password_hasher *h, const char *encoded,
    const char *pw, size_t len, int *rehash);

/*
 * Verify pw against the dummy hash: the same work as password_verify(),
 * always TSS_E_INVALID_CREDENTIALS (or TSS_E_UNAVAILABLE).
 */
int password_verify_dummy(struct password_hasher *h, const char *pw,
    size_t len);

/* Parse the parameters out of an encoded argon2id string. */
int password_parse_params(const char *encoded, struct password_params *out);

#endif
