/*
 * docker: a minimal Docker Engine API client over AF_UNIX.  Each call is
 * one connection: HTTP/1.0 (so the answer is never chunked and ends at
 * close) except exec start, which asks for the connection upgrade and
 * keeps the socket as the exec's stream.  Headers are read a byte at a
 * time so not one byte of the stream that follows them is taken.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/err.h"
#include "common/mem.h"
#include "docker.h"

#define DEFAULT_SOCK	"/var/run/docker.sock"
#define HEAD_MAX	16384
#define EXIT_POLL_NS	20000000L	/* 20 ms between exec inspections */

struct answer {
	int status;
	json_t *json;		/* the body when it is JSON, else NULL */
};

int
docker_socket_path(const char *docker_host, char *path, size_t len)
{
	const char *p = DEFAULT_SOCK;

	if (docker_host != NULL && *docker_host != '\0') {
		if (strncmp(docker_host, "unix://", 7) != 0 ||
		    docker_host[7] != '/')
			return TSS_E_CONFIG;
		p = docker_host + 7;
	}
	if (strlen(p) >= len ||
	    strlen(p) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return TSS_E_CONFIG;
	memcpy(path, p, strlen(p) + 1);
	return 0;
}

/* The daemon's text, with control bytes made harmless. */
static void
set_err(char err[DOCKER_ERR_MAX], const char *prefix, const char *msg)
{
	size_t i, n;

	n = (size_t)snprintf(err, DOCKER_ERR_MAX, "%s%s", prefix, msg);
	for (i = 0; i < n && i < DOCKER_ERR_MAX - 1; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
}

static int
connect_sock(const char *sock, char err[DOCKER_ERR_MAX])
{
	struct sockaddr_un sa;
	struct timeval tv = { DOCKER_TIMEOUT_S, 0 };
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		set_err(err, "Docker socket path too long: ", sock);
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, DOCKER_ERR_MAX, "cannot reach the Docker daemon "
		    "at %s: %s", sock, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
docker_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Value of header name in the head text (NUL-terminated), or NULL. */
static const char *
header(const char *head, const char *name)
{
	const char *p = head;
	size_t nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			return p;
		}
	}
	return NULL;
}

/* Read the status line and headers; the status into *statusp, the
 * Content-Length (or -1) into *clp. */
static int
read_head(int fd, int *statusp, long *clp, char err[DOCKER_ERR_MAX])
{
	char head[HEAD_MAX + 1], *end;
	const char *v;
	size_t n = 0;
	ssize_t got;
	long st;

	*clp = -1;
	while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
		if (n == HEAD_MAX) {
			snprintf(err, DOCKER_ERR_MAX, "Docker answer headers "
			    "too long");
			return TSS_E_BAD_FORMAT;
		}
		if ((got = recv(fd, head + n, 1, 0)) < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			snprintf(err, DOCKER_ERR_MAX, "Docker daemon closed the "
			    "connection%s%s", got < 0 ? ": " : "",
			    got < 0 ? strerror(errno) : "");
			return TSS_E_UNAVAILABLE;
		}
		n++;
	}
	head[n] = '\0';
	if (strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' ||
	    (st = strtol(head + 9, &end, 10)) < 100 || st > 599 ||
	    *end != ' ') {
		snprintf(err, DOCKER_ERR_MAX, "not an HTTP answer from the "
		    "Docker socket");
		return TSS_E_BAD_FORMAT;
	}
	*statusp = (int)st;
	if ((v = header(head, "Transfer-Encoding")) != NULL) {
		snprintf(err, DOCKER_ERR_MAX, "unexpected chunked answer");
		return TSS_E_BAD_FORMAT;
	}
	if ((v = header(head, "Content-Length")) != NULL) {
		errno = 0;
		*clp = strtol(v, &end, 10);
		if (errno != 0 || *clp < 0 || *clp > DOCKER_BODY_MAX ||
		    (*end != '\r' && *end != ' ')) {
			snprintf(err, DOCKER_ERR_MAX, "Docker answer too large");
			return TSS_E_BAD_FORMAT;
		}
	}
	return 0;
}

static int
read_body(int fd, long cl, json_t **jp, char err[DOCKER_ERR_MAX])
{
	char *body = NULL;
	size_t n = 0, want = cl < 0 ? DOCKER_BODY_MAX + 1 : (size_t)cl;
	ssize_t got;
	int r = TSS_E_INTERNAL;

	*jp = NULL;
	if ((body = mem_malloc(want + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	while (n < want) {
		if ((got = recv(fd, body + n, want - n, 0)) < 0 &&
		    errno == EINTR)
			continue;
		if (got < 0 || (got == 0 && cl >= 0)) {
			snprintf(err, DOCKER_ERR_MAX, "Docker answer cut short");
			r = TSS_E_UNAVAILABLE;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > DOCKER_BODY_MAX) {
		snprintf(err, DOCKER_ERR_MAX, "Docker answer too large");
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if (n > 0)
		*jp = mem_json_loadb(body, n, 0, NULL);
	r = 0;
 out:
	free(body);
	return r;
}

/*
 * One request.  upgrade: HTTP/1.1 with the upgrade asked; a 101 or 200
 * then leaves the socket in *fdp and reads no body.
 */
static int
request(const char *sock, const char *method, const char *path,
    const json_t *body, int upgrade, int *fdp, struct answer *a,
    char err[DOCKER_ERR_MAX])
{
	char *text = NULL, *head = NULL;
	json_t *msg;
	long cl;
	int fd = -1, r = TSS_E_INTERNAL;

	memset(a, 0, sizeof(*a));
	if (fdp != NULL)
		*fdp = -1;
	if (body != NULL && (text = mem_json_dumps(body, JSON_COMPACT)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (mem_asprintf(&head, "%s %s HTTP/1.%d\r\nHost: docker\r\n%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, upgrade ? 1 : 0,
	    upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "",
	    text != NULL ? strlen(text) : 0) < 0) {
		head = NULL;
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((fd = connect_sock(sock, err)) == -1) {
		r = TSS_E_UNAVAILABLE;
		goto out;
	}
	if (docker_write_all(fd, head, strlen(head)) != 0 ||
	    (text != NULL && docker_write_all(fd, text, strlen(text)) != 0)) {
		snprintf(err, DOCKER_ERR_MAX, "writing to the Docker socket: "
		    "%s", strerror(errno));
		r = TSS_E_UNAVAILABLE;
		goto out;
	}
	if ((r = read_head(fd, &a->status, &cl, err)) != 0)
		goto out;
	if (upgrade && (a->status == 101 || a->status == 200)) {
		*fdp = fd;
		fd = -1;	/* transferred */
		r = 0;
		goto out;
	}
	if ((r = read_body(fd, cl, &a->json, err)) != 0)
		goto out;
	if (a->status / 100 != 2) {
		msg = json_object_get(a->json, "message");
		set_err(err, "Docker: ", json_is_string(msg) ?
		    json_string_value(msg) : "request refused");
		r = TSS_E_IO;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		json_decref(a->json);
		a->json = NULL;
	}
	if (fd != -1)
		close(fd);
	free(text);
	free(head);
	return r;
}

static int
valid_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= DOCKER_ID_MAX || !isxdigit((unsigned char)s[i]))
			return 0;
	return i > 0;
}

/* s percent-encoded (everything but RFC 3986's unreserved) into *outp. */
static int
urlencode(const char *s, char **outp)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	char *out;

	if ((out = mem_malloc(strlen(s) * 3 + 1)) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	*outp = out;
	return 0;
}

/*
 * The running containers with label key (=value unless value is NULL):
 * each one's Id, or with values its value of the label, into *outp.
 */
static int
containers(const char *sock, const char *key, const char *value, int values,
    char ***outp, size_t *np, char err[DOCKER_ERR_MAX])
{
	json_t *filters = NULL, *c;
	struct answer a = { 0, NULL };
	char *ftext = NULL, *fenc = NULL, *path = NULL, *label = NULL;
	char **ids = NULL;
	const char *id;
	size_t i, n = 0;
	int r = TSS_E_INTERNAL;

	*outp = NULL;
	*np = 0;
	if ((value != NULL ? mem_asprintf(&label, "%s=%s", key, value) :
	    mem_asprintf(&label, "%s", key)) < 0) {
		label = NULL;
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((filters = json_pack("{s:[s],s:[s]}", "label", label, "status",
	    "running")) == NULL ||
	    (ftext = mem_json_dumps(filters, JSON_COMPACT)) == NULL ||
	    (r = urlencode(ftext, &fenc)) != 0 ||
	    mem_asprintf(&path, "/containers/json?filters=%s", fenc) < 0) {
		path = NULL;
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = request(sock, "GET", path, NULL, 0, NULL, &a, err)) != 0)
		goto out;
	if (!json_is_array(a.json)) {
		snprintf(err, DOCKER_ERR_MAX, "Docker container list is not "
		    "a list");
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((ids = mem_calloc(json_array_size(a.json) + 1,
	    sizeof(*ids))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	json_array_foreach(a.json, i, c) {
		id = json_string_value(values ? json_object_get(json_object_get(
		    c, "Labels"), key) : json_object_get(c, "Id"));
		if (id == NULL || (!values && !valid_id(id))) {
			snprintf(err, DOCKER_ERR_MAX, "Docker container "
			    "without a valid %s", values ? key : "Id");
			r = TSS_E_BAD_FORMAT;
			goto out;
		}
		if ((ids[n] = mem_strdup(id)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		n++;
	}
	*outp = ids;
	*np = n;
	ids = NULL;	/* transferred */
	r = 0;
 out:
	for (i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	free(ids);
	json_decref(a.json);
	json_decref(filters);
	free(label);
	free(ftext);
	free(fenc);
	free(path);
	return r;
}

int
docker_find(const char *sock, const char *key, const char *value,
    char ***idsp, size_t *np, char err[DOCKER_ERR_MAX])
{
	return containers(sock, key, value, 0, idsp, np, err);
}

int
docker_label_values(const char *sock, const char *key, char ***valuesp,
    size_t *np, char err[DOCKER_ERR_MAX])
{
	return containers(sock, key, NULL, 1, valuesp, np, err);
}

static json_t *
strv_json(const char *const *v)
{
	json_t *arr = json_array();

	for (; arr != NULL && v != NULL && *v != NULL; v++)
		if (json_array_append_new(arr, json_string(*v)) != 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

int
docker_exec_create(const char *sock, const char *id,
    const struct docker_exec *x, char exec_id[DOCKER_ID_MAX + 1],
    char err[DOCKER_ERR_MAX])
{
	struct answer a = { 0, NULL };
	json_t *body = NULL;
	char *path = NULL;
	const char *eid;
	int r = TSS_E_INTERNAL;

	exec_id[0] = '\0';
	if (!valid_id(id))
		return TSS_E_INVALID_ARGUMENT;
	if ((body = json_pack("{s:b,s:b,s:b,s:b,s:s,s:o,s:o}",
	    "AttachStdin", 1, "AttachStdout", 1, "AttachStderr", 1,
	    "Tty", x->tty, "User", x->user, "Cmd", strv_json(x->argv),
	    "Env", strv_json(x->env))) == NULL ||
	    (x->tty && x->rows > 0 && x->cols > 0 &&
	    json_object_set_new(body, "ConsoleSize", json_pack("[I,I]",
	    (json_int_t)x->rows, (json_int_t)x->cols)) != 0) ||
	    mem_asprintf(&path, "/containers/%s/exec", id) < 0) {
		path = NULL;
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = request(sock, "POST", path, body, 0, NULL, &a, err)) != 0)
		goto out;
	eid = json_string_value(json_object_get(a.json, "Id"));
	if (eid == NULL || !valid_id(eid)) {
		snprintf(err, DOCKER_ERR_MAX, "Docker exec without a valid Id");
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	memcpy(exec_id, eid, strlen(eid) + 1);
	r = 0;
 out:
	json_decref(a.json);
	json_decref(body);
	free(path);
	return r;
}

int
docker_exec_start(const char *sock, const char *exec_id, int tty, int *fdp,
    char err[DOCKER_ERR_MAX])
{
	struct answer a = { 0, NULL };
	struct timeval none = { 0, 0 };
	json_t *body = NULL;
	char path[sizeof("/exec//start") + DOCKER_ID_MAX];
	int r = TSS_E_INTERNAL;

	*fdp = -1;
	if (!valid_id(exec_id))
		return TSS_E_INVALID_ARGUMENT;
	snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	if ((body = json_pack("{s:b,s:b}", "Detach", 0, "Tty", tty)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = request(sock, "POST", path, body, 1, fdp, &a, err)) != 0)
		goto out;
	/* The session may idle for hours: no timeout on the stream. */
	if (setsockopt(*fdp, SOL_SOCKET, SO_RCVTIMEO, &none,
	    sizeof(none)) != 0 ||
	    setsockopt(*fdp, SOL_SOCKET, SO_SNDTIMEO, &none,
	    sizeof(none)) != 0) {
		snprintf(err, DOCKER_ERR_MAX, "setsockopt: %s",
		    strerror(errno));
		close(*fdp);
		*fdp = -1;
		r = TSS_E_IO;
		goto out;
	}
	r = 0;
 out:
	json_decref(a.json);
	json_decref(body);
	return r;
}

int
docker_exec_resize(const char *sock, const char *exec_id, unsigned rows,
    unsigned cols, char err[DOCKER_ERR_MAX])
{
	struct answer a = { 0, NULL };
	char path[sizeof("/exec//resize?h=&w=") + DOCKER_ID_MAX + 24];
	int r;

	if (!valid_id(exec_id))
		return TSS_E_INVALID_ARGUMENT;
	snprintf(path, sizeof(path), "/exec/%s/resize?h=%u&w=%u", exec_id,
	    rows, cols);
	r = request(sock, "POST", path, NULL, 0, NULL, &a, err);
	json_decref(a.json);
	return r;
}

int
docker_exec_exit(const char *sock, const char *exec_id, int *codep,
    char err[DOCKER_ERR_MAX])
{
	struct answer a = { 0, NULL };
	struct timespec start, now, pause = { 0, EXIT_POLL_NS };
	char path[sizeof("/exec//json") + DOCKER_ID_MAX];
	json_t *code;
	int r = TSS_E_INTERNAL;

	*codep = -1;
	if (!valid_id(exec_id))
		return TSS_E_INVALID_ARGUMENT;
	snprintf(path, sizeof(path), "/exec/%s/json", exec_id);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		json_decref(a.json);
		if ((r = request(sock, "GET", path, NULL, 0, NULL, &a,
		    err)) != 0)
			goto out;
		code = json_object_get(a.json, "ExitCode");
		if (!json_is_true(json_object_get(a.json, "Running")) &&
		    json_is_integer(code)) {
			*codep = (int)json_integer_value(code);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > DOCKER_TIMEOUT_S) {
			snprintf(err, DOCKER_ERR_MAX, "the exec has not "
			    "stopped after the stream ended");
			r = TSS_E_UNAVAILABLE;
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	r = 0;
 out:
	json_decref(a.json);
	return r;
}
