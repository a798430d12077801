/*
 * docker: the few Docker Engine API calls the gateway makes, as HTTP over
 * the daemon's unix socket (DOCKER_HOST=unix://PATH, else
 * /var/run/docker.sock).  Requests are HTTP/1.0 with a whole-body answer
 * of at most DOCKER_BODY_MAX bytes, each bounded by DOCKER_TIMEOUT_S;
 * exec start is HTTP/1.1 with "Upgrade: tcp" and hands back the hijacked
 * socket.  Errors: TSS_E_UNAVAILABLE (cannot reach the daemon; err says
 * why), TSS_E_IO (the daemon refused; err holds its message), TSS_E_NOMEM,
 * TSS_E_BAD_FORMAT (an answer we cannot read).  Nothing here runs a shell.
 * Callers ignore SIGPIPE (a daemon gone mid-request is an error return).
 */
#ifndef TSS_CLI_DOCKER_H
#define TSS_CLI_DOCKER_H

#include <stddef.h>

#define DOCKER_BODY_MAX		(1024 * 1024)
#define DOCKER_TIMEOUT_S	30
#define DOCKER_ID_MAX		64	/* hex digits of a container/exec ID */
#define DOCKER_ERR_MAX		512

struct docker_exec {
	const char *user;		/* login in the container */
	const char *const *argv;	/* NULL-terminated */
	const char *const *env;		/* "K=V", NULL-terminated, or NULL */
	int tty;
	unsigned rows, cols;		/* tty size, 0 unknown (API 1.42+;
					 * older daemons ignore it) */
};

/* write(2) all of p (EINTR retried); 0 or -1 with errno. */
int docker_write_all(int fd, const void *p, size_t n);

/* The socket path from docker_host (DOCKER_HOST; NULL or "" for the
 * default) into path; TSS_E_CONFIG for anything but unix://PATH. */
int docker_socket_path(const char *docker_host, char *path, size_t len);

/* IDs of the running containers with label key=value; *idsp is an array
 * of *np strings (free each, then the array). */
int docker_find(const char *sock, const char *key, const char *value,
    char ***idsp, size_t *np, char err[DOCKER_ERR_MAX]);
/* The values of label key on the running containers that carry it, one
 * per container (a value twice when two containers carry it). */
int docker_label_values(const char *sock, const char *key, char ***valuesp,
    size_t *np, char err[DOCKER_ERR_MAX]);
/* Create an exec in container id; its ID into exec_id. */
int docker_exec_create(const char *sock, const char *id,
    const struct docker_exec *x, char exec_id[DOCKER_ID_MAX + 1],
    char err[DOCKER_ERR_MAX]);
/* Start it attached: *fdp is the hijacked stream (raw with a tty, else
 * multiplexed frames); the caller closes it. */
int docker_exec_start(const char *sock, const char *exec_id, int tty,
    int *fdp, char err[DOCKER_ERR_MAX]);
int docker_exec_resize(const char *sock, const char *exec_id,
    unsigned rows, unsigned cols, char err[DOCKER_ERR_MAX]);
/* The exit code once the exec has stopped running (waits at most
 * DOCKER_TIMEOUT_S for it). */
int docker_exec_exit(const char *sock, const char *exec_id, int *codep,
    char err[DOCKER_ERR_MAX]);

#endif
