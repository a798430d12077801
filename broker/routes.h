/*
 * routes: which gateway reaches a target that has neither sshd hosts nor
 * a `gateway` of its own.  Each gateway's agent (`tessera target agent
 * --gateway`, joined as a target of its own) reports the targets whose
 * containers run on its node; META keeps one record per (target,
 * gateway) under "route." + target + NUL + gateway, holding the time of
 * the report.  A report replaces its gateway's set in one transaction,
 * drops every record older than ROUTES_TTL, and is audited
 * (`host.routes`) only when the gateway's set changed.
 */
#ifndef TSS_ROUTES_H
#define TSS_ROUTES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct broker;
struct store_txn;

#define ROUTES_TTL	90	/* seconds: three agent rounds of 30 s */
#define ROUTES_MAX	256	/* targets in one report */

/*
 * POST /v1/hosts/routes: credential is the gateway's host credential,
 * targets n valid target names (n <= ROUTES_MAX).  Names that are not
 * targets are not kept.  *out: {gateway, targets, unknown}.
 */
int routes_report(struct broker *b, const char *credential,
    const char *const *targets, size_t n, const char *remote_addr,
    const char *request_id, int64_t now, json_t **out, char *errmsg,
    size_t len);

/*
 * The reported gateway of target as "host:port" (the reporting gateway
 * target's first host and its port) into *gw, or NULL when no gateway
 * with hosts reported it within ROUTES_TTL.  Two gateways reporting it:
 * TSS_E_CONFLICT naming both.
 */
int routes_gateway(struct store_txn *t, const char *target, int64_t now,
    char **gw, char *errmsg, size_t len);

/* In the transaction that deletes name: the routes to it and those it
 * reported as a gateway go. */
int routes_target_gone(struct store_txn *t, const char *name);

#endif
