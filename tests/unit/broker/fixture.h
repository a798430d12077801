/*
 * A real broker in a temp dir for use-case tests (broker, device): CA key,
 * host CA key, master key and a store made as tessera init makes them, then one small
 * world: target lab/box (env=lab), role dev (app on any lab target, max_ttl as
 * asked) bound to group:dev, enrolled users alice (in dev), bob (no
 * access) and root (the full admin), and an Ed25519 key from ssh-keygen.
 */
#ifndef TSS_TEST_BROKER_FIXTURE_H
#define TSS_TEST_BROKER_FIXTURE_H

#include <pthread.h>
#include <stdint.h>

struct broker;
struct store_txn;

struct fixture {
	char dir[256];
	char pubkey[1024];		/* id.pub, one line */
	char fingerprint[128];		/* "SHA256:..." as ssh-keygen prints */
	struct broker *b;
	int64_t now;			/* base time of the test */
	uint64_t dev_binding;		/* id of dev -> group:dev */
};

/* extra: NULL-terminated config key, value pairs (may be NULL). */
void fixture_open(struct fixture *f, const char *const *extra,
    int64_t role_ttl);
void fixture_close(struct fixture *f);

/* dir/name into out, asserting it fits. */
void fixture_path(const struct fixture *f, char *out, size_t len,
    const char *name);
/* A new Ed25519 key dir/name from ssh-keygen: its public line into line,
 * without the newline. */
void fixture_host_key(const struct fixture *f, const char *name, char *line,
    size_t len);
/* Target name with the fields of the JSON text, put by root through the
 * broker (as PUT /v1/targets/<name> does). */
void fixture_target(struct fixture *f, const char *name, const char *text);
/* An enrolled user (the enrollment itself is auth's business). */
void fixture_user(struct store_txn *t, const char *name, const char *group,
    int64_t now);

/*
 * The commit half of issuance, waited for: issue_submit(..., fixture_woken,
 * &w) with w = FIXTURE_WAIT_INIT, then fixture_waited(&w) returns the
 * commit's result.
 */
struct fixture_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, r;
};
#define FIXTURE_WAIT_INIT \
	{ PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 }
void fixture_woken(void *arg, int r);
int fixture_waited(struct fixture_wait *w);

/* Stop the audit sink's thread as broker_close would, so that nothing
 * else allocates meanwhile (the oom suite's budgets are process-wide). */
void fixture_stop_sink(struct fixture *f);

#endif
