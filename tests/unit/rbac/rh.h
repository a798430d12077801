/* Shared fixtures for the rbac suite: policies written as compact JSON and
 * compiled to snapshots, and real LMDB stores in temp dirs. */
#ifndef TSS_TEST_RBAC_HELPERS_H
#define TSS_TEST_RBAC_HELPERS_H

#include <limits.h>
#include <stdint.h>

#include "rbac/rbac.h"
#include "store/store.h"

/*
 * {"targets":{"prod/api":{"env":"prod"}, ...},
 *  "roles":{"ops":{<PUT /v1/roles body>}, ...},
 *  "bindings":[{"id":1,"role":"ops","subject":"user:alice",
 *               "expires_at":0}, ...]}
 * Asserts that everything parses and compiles.
 */
struct rbac_snap *rh_compile(const char *policy_json, int64_t cert_max_ttl);

/* Decide and return the reason (RBAC_ALLOW or a deny). */
enum rbac_reason rh_decide(const struct rbac_snap *s, const char *user,
    const char *groups_csv, const char *target, const char *login,
    int64_t now, struct rbac_decision *d);

extern char rh_dir[PATH_MAX];
void rh_setup(void);		/* makes rh_dir */
void rh_teardown(void);		/* removes rh_dir */
struct store *rh_open(void);	/* store in rh_dir, asserting success */

#endif
