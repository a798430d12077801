/*
 * policy_json: the bodies of PUT /v1/targets/<name>, PUT /v1/roles/<name>
 * and POST /v1/bindings (CONTRACT §3) decoded into rbac's model structs,
 * so that JSON from the network stops in tesserad/ (SECURITY.md's trust
 * boundary).  Unknown fields are refused.  On TSS_E_VALIDATION errmsg (of
 * errlen bytes) names the field ("rules[0].logins[1]: ...").  name is
 * taken from the path; a "name" in the body must agree.  A role without
 * "extensions" gets permit-pty; without "max_ttl" RBAC_DEFAULT_TTL.
 * *out is set only on success; the caller frees it with rbac_*_free().
 */
#ifndef TSS_TESSERAD_POLICY_JSON_H
#define TSS_TESSERAD_POLICY_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct rbac_target;
struct rbac_role;

/* TSS_E_VALIDATION ("<where>x: unknown field") for a member of j outside
 * allowed (NULL-terminated). */
int policy_json_fields(const json_t *j, const char *const *allowed,
    const char *where, char *errmsg, size_t errlen);

/* j must be an array of at most max strings each valid() accepts; *out
 * gets copies (rbac_strv_free).  errmsg names field[i] and says what. */
int policy_json_strv(const char *field, const json_t *j, size_t max,
    int (*valid)(const char *), const char *what, char ***out, size_t *nout,
    char *errmsg, size_t errlen);

int policy_json_target(const char *name, const json_t *j,
    struct rbac_target **out, char *errmsg, size_t errlen);
int policy_json_role(const char *name, const json_t *j,
    struct rbac_role **out, char *errmsg, size_t errlen);
/* *role and *subject (the caller frees them) are valid names;
 * *expires_at 0 for none; a past expires_at is refused. */
int policy_json_binding(const json_t *j, int64_t now, char **role,
    char **subject, int64_t *expires_at, char *errmsg, size_t errlen);

#endif
