/*
 * admin_api: the admin request bodies decoded into typed use-case calls.
 * JSON from the network stops here: broker/ takes names, vectors and
 * policy structs.  Each returns the broker's result (or TSS_E_VALIDATION
 * with errmsg naming the field) and its JSON answer in *out.
 */
#ifndef TSS_TESSERAD_ADMIN_API_H
#define TSS_TESSERAD_ADMIN_API_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct broker;
struct caller;

/* TSS_E_VALIDATION ("x: unknown field") for a member of body outside
 * allowed (NULL-terminated). */
int admin_api_fields(const json_t *body, const char *const *allowed,
    char *errmsg, size_t len);

int admin_api_user_create(struct broker *b, const struct caller *c,
    const json_t *body, int64_t now, json_t **out, char *errmsg, size_t len);
int admin_api_user_patch(struct broker *b, const struct caller *c,
    const char *name, const json_t *body, int64_t now, json_t **out,
    char *errmsg, size_t len);
int admin_api_target_put(struct broker *b, const struct caller *c,
    const char *name, const json_t *body, int64_t now, json_t **out,
    char *errmsg, size_t len);
int admin_api_role_put(struct broker *b, const struct caller *c,
    const char *name, const json_t *body, int64_t now, json_t **out,
    char *errmsg, size_t len);
int admin_api_binding_create(struct broker *b, const struct caller *c,
    const json_t *body, int64_t now, json_t **out, char *errmsg, size_t len);

#endif
