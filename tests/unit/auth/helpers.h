/* Shared fixtures for the auth suite: a real store in a temp dir, an
 * auth context with fast Argon2 parameters, enrolled users, oathtool. */
#ifndef TSS_TEST_AUTH_HELPERS_H
#define TSS_TEST_AUTH_HELPERS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/login.h"

#define AH_NOW		1700000000LL	/* a fixed, step-aligned-ish time */
#define AH_PASSWORD	"correct horse battery"

extern char ah_dir[PATH_MAX];
extern struct store *ah_store;
extern struct auth_ctx *ah_ctx;
extern uint8_t ah_key[32];

/* Criterion init/fini: temp dir, store, key, context with fast params. */
void ah_setup(void);
void ah_teardown(void);
/* Fast config: m=1024 KiB, t=1, p=1; big rate bucket. */
void ah_config(struct auth_config *c);
/* Replace ah_ctx with one made from c. */
void ah_reconfigure(const struct auth_config *c);
/* Close and reopen the store and context (persistence checks). */
void ah_reopen(void);

/* Create, start and finish a user at AH_NOW; secret (20 bytes) returned
 * in secret, base32 in b32 (64 bytes), recovery codes in codes (may be
 * NULL, else 10 x 20 bytes). */
void ah_enroll(const char *name, uint8_t secret[20], char b32[64],
    char codes[10][20]);
/* Create a pending user; token gets 65 bytes. */
void ah_create(const char *name, char *token);

/* auth_login from 192.0.2.7, request id req-1. */
int ah_login(const char *user, const char *pw, const char *code, int64_t now,
    struct auth_login_result *res);

/* Code from `oathtool --totp -b b32 -N @t`, 6 digits, into out[7]. */
void ah_oathtool(const char *b32, int64_t t, char out[7]);
/* Code from the library. */
void ah_code(const uint8_t secret[20], int64_t t, char out[7]);

/* Copy of the user record (caller user_free()s). */
struct user *ah_user(const char *name);
/* Overwrite the raw stored user record bytes. */
void ah_user_raw_get(const char *name, uint8_t **p, size_t *len);
void ah_user_raw_put(const char *name, const uint8_t *p, size_t len);

/* Last audit event (caller json_decref()s), and total event count. */
json_t *ah_audit_last(void);
uint64_t ah_audit_count(void);
/* Every audit event as one JSON text (caller frees). */
char *ah_audit_dump(void);
/* Number of events of an action. */
size_t ah_audit_actions(const char *action);

#endif
