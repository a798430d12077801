/*
 * agent_routes: what a gateway's agent reports to POST /v1/hosts/routes,
 * the values of label AGENT_ROUTE_LABEL on the running containers of its
 * node, read from the Docker socket.
 */
#ifndef TSS_CLI_AGENT_ROUTES_H
#define TSS_CLI_AGENT_ROUTES_H

#include <jansson.h>

#define AGENT_ROUTE_LABEL	"tessera.target"

/*
 * {"targets": [...]} into *out: the valid target names, sorted, each once,
 * at most ROUTES_MAX (the others logged and left out).  A Docker error is
 * logged and returned (*out NULL); TSS_E_NOMEM likewise.
 */
int agent_routes_json(const char *sock, json_t **out);

#endif
