/*
 * rbac internals shared by its source files (model*, snap*, admin*, guard);
 * not for other modules.
 */
#ifndef TSS_RBAC_INT_H
#define TSS_RBAC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rbac.h"

struct buf;

#define RBAC_REC_TARGET		't'
#define RBAC_REC_ROLE		'r'
#define RBAC_REC_BINDING	'b'
#define RBAC_REC_VERSION	1
#define RBAC_REC_TARGET_V	2	/* 2: hosts, port, gateway */

/* a lies inside b. */
int rbac__cidr_within(const struct rbac_cidr *a, const struct rbac_cidr *b);
int rbac__cidr_cmp(const struct rbac_cidr *a, const struct rbac_cidr *b);
/*
 * Drop entries inside another entry and sort: the form every role's list is
 * compiled to, so intersections stay small and comparable.  Returns the
 * new count.
 */
size_t rbac__cidr_normalize(struct rbac_cidr *c, size_t n);
/* out = a ∩ b (both normalized); at most RBAC_CIDRS_MAX kept (keeping
 * fewer only narrows).  out may alias neither input. */
size_t rbac__cidr_intersect(const struct rbac_cidr *a, size_t na,
    const struct rbac_cidr *b, size_t nb, struct rbac_cidr *out);

/* Record encoding; *out allocated by the caller's buf_free. */
int rbac__target_encode(const struct rbac_target *t, struct buf **out);
int rbac__target_decode(const char *name, size_t nlen, const void *p,
    size_t len, struct rbac_target **out);
int rbac__role_encode(const struct rbac_role *r, struct buf **out);
int rbac__role_decode(const char *name, size_t nlen, const void *p,
    size_t len, struct rbac_role **out);
int rbac__binding_encode(const struct rbac_binding *b, struct buf **out);
int rbac__binding_decode(uint64_t id, const void *p, size_t len,
    struct rbac_binding **out);

/*
 * BINDINGS_BY_SUBJ keys: the subject, a NUL, then the binding id (be64)
 * when with_id; *klen gets the length.  TSS_E_VALIDATION when too long.
 */
#define RBAC_SUBJ_KEY_MAX	(6 + RBAC_SUBJECT_NAME_MAX + 1 + 8)
int rbac__subj_key(const char *subject, uint64_t id, int with_id,
    uint8_t k[RBAC_SUBJ_KEY_MAX], size_t *klen);
/* Ids of a subject's bindings, from the index (admin_read.c).  *ids
 * allocated (caller frees) even when empty. */
int rbac__subject_ids(struct store_txn *t, const char *subject,
    uint64_t **ids, size_t *n);

/* Match on model structs (admin checks; not the decision path). */
int rbac__glob_match(const char *glob, const char *name);
int rbac__rule_matches(const struct rbac_rule *ru,
    const struct rbac_target *t);

/* Copies (deep).  NULL on allocation failure. */
struct rbac_role *rbac__role_dup(const struct rbac_role *r);
struct rbac_target *rbac__target_dup(const struct rbac_target *t);

/* Bounded formatting into errmsg (NULL harmless). */
void rbac__err(char *errmsg, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The name of one permission bit, "*" for STAR (model.c); the first
 * permission in want that have lacks, STAR its own, a :write implying its
 * :read (guard.c). */
const char *rbac__perm_label(uint32_t bit);
uint32_t rbac__perm_lacking(uint32_t have, uint32_t want);

/* One glob segment against one name segment: '*' matches any run inside
 * the segment; iterative, no recursion.  Inline: decisions call it. */
static inline int
rbac__seg_wild(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < sl) {
		if (pi < pl && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pl && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else
			return 0;
	}
	while (pi < pl && p[pi] == '*')
		pi++;
	return pi == pl;
}

#endif
