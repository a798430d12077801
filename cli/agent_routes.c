/*
 * agent_routes: the targets on this node, for a gateway's route report
 * (see agent_routes.h).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "broker/routes.h"
#include "common/err.h"
#include "common/log.h"
#include "rbac/rbac.h"
#include "agent_routes.h"
#include "docker.h"

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The report's body: valid names, sorted, each once, at most ROUTES_MAX. */
static json_t *
body(char **v, size_t n)
{
	json_t *j = json_array();
	size_t i;

	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; j != NULL && i < n; i++) {
		if (rbac_valid_target_name(v[i]) != 0) {
			log_warn("agent: label %s=%s is not a target name; "
			    "not reported", AGENT_ROUTE_LABEL, v[i]);
			continue;
		}
		if ((i > 0 && strcmp(v[i], v[i - 1]) == 0))
			continue;
		if (json_array_size(j) == ROUTES_MAX) {
			log_warn("agent: more than %d targets on this node; "
			    "%s and after not reported", ROUTES_MAX, v[i]);
			break;
		}
		if (json_array_append_new(j, json_string(v[i])) != 0) {
			json_decref(j);
			j = NULL;
		}
	}
	return j != NULL ? json_pack("{s:o}", "targets", j) : NULL;
}

int
agent_routes_json(const char *sock, json_t **out)
{
	struct sigaction ign, old;
	char err[DOCKER_ERR_MAX] = "", **v = NULL;
	size_t n = 0, i;
	int r;

	*out = NULL;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);	/* docker.h: a daemon gone mid-way */
	r = docker_label_values(sock, AGENT_ROUTE_LABEL, &v, &n, err);
	sigaction(SIGPIPE, &old, NULL);
	if (r != 0) {
		log_warn("agent: Docker at %s: %s; no routes reported this "
		    "round", sock, err[0] != '\0' ? err : tss_strerror(r));
		return r;
	}
	*out = body(v, n);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	if (*out == NULL) {
		log_error("agent: out of memory");
		return TSS_E_NOMEM;
	}
	return 0;
}
