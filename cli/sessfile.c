/*
 * sessfile: the saved login (see sessfile.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/err.h"
#include "common/mem.h"
#include "sessfile.h"

#define SESSION_FILE_MAX	(64 * 1024)

void
sessfile_free(struct sessfile *s)
{
	if (s == NULL)
		return;
	free(s->server);
	wipe_free(s->token);
	free(s->username);
	free(s);
}

int
sessfile_path(char *buf, size_t len)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (home == NULL || *home == '\0') {
		if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir == NULL)
			return TSS_E_NOT_FOUND;
		home = pw->pw_dir;
	}
	n = snprintf(buf, len, "%s/.config/tessera/session", home);
	if (n < 0 || (size_t)n >= len)
		return TSS_E_TOO_LONG;
	return 0;
}

int
sessfile_load(const char *path, struct sessfile **out)
{
	struct sessfile *s = NULL;
	struct stat st;
	char *text = NULL;
	json_t *j = NULL, *v;
	const char *server, *token, *user;
	ssize_t n;
	size_t len = 0;
	int fd = -1, r = TSS_E_INTERNAL;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		r = errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		r = TSS_E_PERMISSION;
		goto out;
	}
	if (st.st_size > SESSION_FILE_MAX) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((text = mem_calloc(1, (size_t)st.st_size + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	errno = 0;
	if ((j = mem_json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL && errno == ENOMEM) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (j == NULL || !json_is_object(j) ||
	    (server = json_string_value(json_object_get(j, "server"))) == NULL ||
	    (token = json_string_value(json_object_get(j, "token"))) == NULL ||
	    (v = json_object_get(j, "expires_at")) == NULL ||
	    !json_is_integer(v)) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	user = json_string_value(json_object_get(j, "username"));
	if ((s = mem_calloc(1, sizeof(*s))) == NULL ||
	    (s->server = mem_strdup(server)) == NULL ||
	    (s->token = mem_strdup(token)) == NULL ||
	    (s->username = mem_strdup(user != NULL ? user : "")) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	s->expires_at = json_integer_value(v);
	*out = s;
	s = NULL;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	json_decref(j);		/* jansson's allocator wipes (see main.c) */
	sessfile_free(s);
	return r;
}

int
sessfile_write_file(const char *path, const void *data, size_t len,
    unsigned mode)
{
	char tmp[4096];
	const char *p = data;
	size_t off = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_INTERNAL, made = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return TSS_E_TOO_LONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		r = TSS_E_IO;
		goto out;
	}
	made = 1;
	if (fchmod(fd, (mode_t)mode) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = TSS_E_IO;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		r = TSS_E_IO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = TSS_E_IO;
		goto out;
	}
	made = 0;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	return r;
}

/* mkdir -p of the parents of path; the last directory made 0700. */
static int
make_parent(const char *path)
{
	char dir[4096];
	char *sl;
	size_t i;
	int n;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return TSS_E_TOO_LONG;
	if ((sl = strrchr(dir, '/')) == NULL || sl == dir)
		return 0;
	*sl = '\0';
	for (i = 1; dir[i] != '\0'; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return TSS_E_IO;
		dir[i] = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return TSS_E_IO;
	return 0;
}

int
sessfile_save(const char *path, const struct sessfile *s)
{
	json_t *j = NULL;
	char *text = NULL;
	int r = TSS_E_INTERNAL;

	if ((r = make_parent(path)) != 0)
		goto out;
	if ((j = json_pack("{s:s, s:s, s:I, s:s}", "server", s->server,
	    "token", s->token, "expires_at", (json_int_t)s->expires_at,
	    "username", s->username != NULL ? s->username : "")) == NULL ||
	    (text = mem_json_dumps(j, JSON_INDENT(2))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = sessfile_write_file(path, text, strlen(text), 0600);
 out:
	if (text != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_decref(j);
	return r;
}

int
sessfile_remove(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return TSS_E_IO;
	return 0;
}
