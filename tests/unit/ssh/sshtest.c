/* Helpers shared by the ssh unit tests. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sshca/cert.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "argv.h"
#include "sshtest.h"
#include "tmpdir.h"

void
st_tmpdir(char dir[ST_PATH])
{
	setenv("TZ", "UTC", 1);
	cr_assert_eq(tmpdir_make(dir, ST_PATH), 0);
}

void
st_path(char out[ST_PATH], const char *dir, const char *name)
{
	int n = snprintf(out, ST_PATH, "%s/%s", dir, name);

	cr_assert(n > 0 && n < ST_PATH);
}

int
st_run(const char *const argv[], char **outp)
{
	char *out = NULL, chunk[4096];
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	if (outp != NULL)
		*outp = NULL;
	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull != -1)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], exec_argv(argv));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		n = read(fds[0], chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out = realloc(out, len + (size_t)n + 1);
		cr_assert_not_null(out);
		memcpy(out + len, chunk, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			free(out);
			return -1;
		}
	}
	if (out == NULL)
		out = strdup("");
	if (outp != NULL)
		*outp = out;
	else
		free(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *
st_slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long sz;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)sz + 1)) != NULL) {
		if (fread(p, 1, (size_t)sz, f) != (size_t)sz) {
			free(p);
			p = NULL;
		} else {
			p[sz] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)sz;
		}
	}
	fclose(f);
	return p;
}

void
st_write(const char *path, const void *p, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert(fd != -1, "open %s", path);
	cr_assert_eq(write(fd, p, len), (ssize_t)len);
	cr_assert_eq(close(fd), 0);
}

void
st_keygen(const char *dir, const char *name, const char *type, int bits,
    char priv[ST_PATH], char pub[ST_PATH])
{
	char b[16], *out = NULL;
	const char *argv[] = { "ssh-keygen", "-q", "-t", type, "-N", "",
	    "-C", name, "-f", priv, bits > 0 ? "-b" : NULL, b, NULL };
	int rc;

	st_path(priv, dir, name);
	snprintf(pub, ST_PATH, "%s.pub", priv);
	snprintf(b, sizeof(b), "%d", bits);
	rc = st_run(argv, &out);
	cr_assert_eq(rc, 0, "ssh-keygen %s: %s", type, out);
	free(out);
}

struct sshkey *
st_load_pub(const char *path)
{
	struct sshkey *k = NULL;
	size_t len = 0;
	char *line = st_slurp(path, &len);
	int r;

	cr_assert_not_null(line, "read %s", path);
	r = sshkey_parse_line(line, len, &k, NULL);
	cr_assert_eq(r, 0, "parse %s: %s", path, tss_errname(r));
	free(line);
	return k;
}

void
st_write_cert(const char *path, const struct buf *cert)
{
	char *line = NULL;
	int r = cert_to_line(buf_ptr(cert), buf_len(cert), NULL, &line);

	cr_assert_eq(r, 0, "cert_to_line: %s", tss_errname(r));
	st_write(path, line, strlen(line), 0644);
	free(line);
}

struct buf *
st_sign(struct cakey *ca, const struct sshkey *key, uint64_t serial,
    const char *principal, uint64_t va, uint64_t vb)
{
	const char *principals[] = { principal };
	const char *ext[] = { "permit-pty" };
	struct cert_request req = {
		.key = key, .serial = serial, .username = "alice",
		.principals = principals, .nprincipals = 1,
		.valid_after = va, .valid_before = vb,
		.extensions = ext, .nextensions = 1,
	};
	struct buf *cert = NULL;
	int r = cert_sign(ca, &req, &cert);

	cr_assert_eq(r, 0, "cert_sign: %s", tss_errname(r));
	return cert;
}

void
st_keygen_fp(const char *path, char *fp, size_t len)
{
	const char *argv[] = { "ssh-keygen", "-l", "-E", "sha256", "-f",
	    path, NULL };
	char *out = NULL, *sp, *end;
	int rc = st_run(argv, &out);

	cr_assert_eq(rc, 0, "ssh-keygen -l %s: %s", path, out);
	sp = strchr(out, ' ');
	cr_assert_not_null(sp);
	end = strchr(sp + 1, ' ');
	cr_assert_not_null(end);
	cr_assert((size_t)(end - sp - 1) < len);
	memcpy(fp, sp + 1, (size_t)(end - sp - 1));
	fp[end - sp - 1] = '\0';
	free(out);
}

uint8_t *
st_pub_blob(const char *path, size_t *lenp)
{
	char *line = st_slurp(path, NULL), *sp, *end;
	uint8_t *blob = NULL;

	cr_assert_not_null(line);
	sp = strchr(line, ' ');
	cr_assert_not_null(sp);
	sp++;
	for (end = sp; *end != '\0' && *end != ' ' && *end != '\n'; end++)
		;
	cr_assert_eq(b64_decode(sp, (size_t)(end - sp), &blob, lenp), 0);
	free(line);
	return blob;
}

void
st_sk_pub(const char *dir, int ecdsa, char pub[ST_PATH])
{
	char priv[ST_PATH], base[ST_PATH], *b64 = NULL, line[2048];
	const uint8_t *name, *f1, *f2;
	size_t len, nlen, l1, l2;
	uint8_t *blob;
	struct buf *src, *b = buf_new();
	const char *type = ecdsa ? "sk-ecdsa-sha2-nistp256@openssh.com" :
	    "sk-ssh-ed25519@openssh.com";
	int n;

	st_keygen(dir, "skbase", ecdsa ? "ecdsa" : "ed25519", ecdsa ? 256 : 0,
	    priv, base);
	blob = st_pub_blob(base, &len);
	src = buf_from(blob, len);
	cr_assert_not_null(src);
	cr_assert_not_null(b);
	cr_assert_eq(buf_get_string_direct(src, &name, &nlen), 0);
	cr_assert_eq(buf_get_string_direct(src, &f1, &l1), 0);
	cr_assert_eq(buf_put_cstring(b, type), 0);
	cr_assert_eq(buf_put_string(b, f1, l1), 0);
	if (ecdsa) {
		cr_assert_eq(buf_get_string_direct(src, &f2, &l2), 0);
		cr_assert_eq(buf_put_string(b, f2, l2), 0);
	}
	cr_assert_eq(buf_put_cstring(b, "ssh:"), 0);
	cr_assert_eq(b64_encode(buf_ptr(b), buf_len(b), &b64), 0);
	n = snprintf(line, sizeof(line), "%s %s sk\n", type, b64);
	cr_assert(n > 0 && (size_t)n < sizeof(line));
	st_path(pub, dir, "sk.pub");
	st_write(pub, line, (size_t)n, 0644);
	free(b64);
	buf_free(b);
	buf_free(src);
	free(blob);
}
