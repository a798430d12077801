/*
 * agent_files: the target kit's files (see agent_files.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "agent_files.h"

#define KRL_MAGIC	"SSHKRL\n"	/* and a NUL: 8 bytes */
#define CERT_LINE_MAX	16384

int
agent_files_path_ok(const char *s)
{
	const unsigned char *p;

	if (s == NULL || s[0] != '/')
		return TSS_E_VALIDATION;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' ||
		    *p == '%' || *p == '#' || *p == '\\')
			return TSS_E_VALIDATION;
	return 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return TSS_E_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Whether path holds exactly data with mode (and is a regular file). */
static int
same_file(const char *path, const void *data, size_t len, mode_t mode)
{
	struct stat st;
	char *have = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, same = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 07777) != mode || (size_t)st.st_size != len ||
	    (have = mem_malloc(len + 1)) == NULL)
		goto out;
	while (got < len + 1) {
		if ((n = read(fd, have + got, len + 1 - got)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	same = got == len && memcmp(have, data, len) == 0;
 out:
	if (have != NULL) {
		explicit_bzero(have, len + 1);
		free(have);
	}
	close(fd);
	return same;
}

static int
sync_dir(const char *dir)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return TSS_E_IO;
	if (fsync(fd) != 0 && errno != EINVAL)
		r = TSS_E_IO;
	close(fd);
	return r;
}

/* Rename dir/tmp over dir/name after syncing it, then sync dir. */
static int
install(const char *dir, const char *tmp, const char *path)
{
	int fd, r = TSS_E_IO;

	if ((fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return TSS_E_IO;
	if (fsync(fd) == 0 && rename(tmp, path) == 0)
		r = sync_dir(dir);
	close(fd);
	return r;
}

int
agent_files_update(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode)
{
	char *path = NULL, *tmp = NULL;
	int fd = -1, r = TSS_E_IO, saved = 0, made = 0;

	if (mem_asprintf(&path, "%s/%s", dir, name) < 0 ||
	    mem_asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (same_file(path, data, len, mode)) {
		r = 0;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		goto out;
	made = 1;
	if (fchmod(fd, mode) != 0 || (r = write_all(fd, data, len)) != 0 ||
	    close(fd) != 0) {
		fd = -1;
		r = TSS_E_IO;
		goto out;
	}
	fd = -1;
	if ((r = install(dir, tmp, path)) != 0)
		goto out;
	r = 1;
 out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (r < 0 && made)
		unlink(tmp);
	free(path);
	free(tmp);
	errno = saved;
	return r;
}

int
agent_files_read(const char *path, size_t max, char **datap, size_t *lenp)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	ssize_t n;
	int fd = -1, r = TSS_E_IO;

	*datap = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		r = errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((size_t)st.st_size > max) {
		r = TSS_E_TOO_LARGE;
		goto out;
	}
	if ((p = mem_malloc((size_t)st.st_size + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		if ((n = read(fd, p + got, (size_t)st.st_size - got)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	p[got] = '\0';
	*datap = p;
	*lenp = got;
	p = NULL;	/* transferred */
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	wipe_free(p);
	return r;
}

int
agent_files_hostkey(const char *dir, char **linep)
{
	struct cakey *key = NULL;
	char *path = NULL, *tmp = NULL, *line = NULL, *text = NULL;
	int r = TSS_E_INTERNAL, made = 0;

	*linep = NULL;
	if (mem_asprintf(&path, "%s/%s", dir, AGENT_HOSTKEY) < 0 ||
	    mem_asprintf(&tmp, "%s/.%s.new", dir, AGENT_HOSTKEY) < 0) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = access(path, F_OK) == 0 ? cakey_load(path, &key) :
	    (errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO);
	if (r == TSS_E_NOT_FOUND) {
		/* A leftover from a run killed half-way is ours to drop. */
		if ((unlink(tmp) != 0 && errno != ENOENT) ||
		    (r = cakey_generate(CAKEY_ED25519, 0, &key)) != 0 ||
		    (r = cakey_save(key, tmp, CAKEY_FORMAT_OPENSSH,
		    "tessera-target")) != 0)
			goto out;
		made = 1;
		if ((r = install(dir, tmp, path)) != 0)
			goto out;
		made = 0;
	}
	if (r != 0)
		goto out;
	if ((r = sshkey_to_line(cakey_public(key), NULL, &line)) != 0)
		goto out;
	if (mem_asprintf(&text, "%s\n", line) < 0) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = agent_files_update(dir, AGENT_HOSTKEY_PUB, text, strlen(text),
	    0644)) < 0)
		goto out;
	*linep = line;
	line = NULL;	/* transferred */
	r = 0;
 out:
	if (made)
		unlink(tmp);
	cakey_free(key);
	free(path);
	free(tmp);
	free(line);
	free(text);
	return r;
}

static int
listed(const char *name, const char *const *logins, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, logins[i]) == 0)
			return 1;
	return 0;
}

int
agent_files_principals(const char *dir, const char *target,
    const char *const *logins, size_t n, int *changedp)
{
	struct dirent *de;
	DIR *d = NULL;
	char *pdir = NULL, *text = NULL, *stale = NULL;
	size_t i;
	int r = TSS_E_INTERNAL;

	*changedp = 0;
	if (rbac_valid_target_name(target) != 0 || n > AGENT_MAX_LOGINS)
		return TSS_E_VALIDATION;
	for (i = 0; i < n; i++)
		if (rbac_valid_login(logins[i]) != 0)
			return TSS_E_VALIDATION;
	if (mem_asprintf(&pdir, "%s/%s", dir, AGENT_PRINCIPALS) < 0)
		return TSS_E_NOMEM;
	if (mkdir(pdir, 0755) != 0 && errno != EEXIST) {
		r = TSS_E_IO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(text);
		if (mem_asprintf(&text, "%s@%s\n", logins[i], target) < 0) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = agent_files_update(pdir, logins[i], text,
		    strlen(text), 0644)) < 0)
			goto out;
		*changedp += r;
	}
	if ((d = opendir(pdir)) == NULL) {
		r = TSS_E_IO;
		goto out;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    listed(de->d_name, logins, n))
			continue;
		free(stale);
		if (mem_asprintf(&stale, "%s/%s", pdir, de->d_name) < 0) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if (unlink(stale) != 0 && errno != ENOENT) {
			r = TSS_E_IO;
			goto out;
		}
		(*changedp)++;
	}
	if (errno != 0 || (*changedp > 0 && sync_dir(pdir) != 0)) {
		r = TSS_E_IO;
		goto out;
	}
	r = 0;
 out:
	if (d != NULL)
		closedir(d);
	free(pdir);
	free(text);
	free(stale);
	return r;
}

int
agent_files_sshd_config(const struct agent_files_conf *cf, int include,
    char **textp)
{
	char *t = NULL, listen[300] = "";
	const char *d = cf->dir, *by = cf->gateway ? " --gateway" : "";
	int n;

	*textp = NULL;
	if (!include) {
		if (cf->listen != NULL)
			snprintf(listen, sizeof(listen), "ListenAddress %s\n",
			    cf->listen);
		n = mem_asprintf(textp,
		    "# Written by `tessera target agent`%s: every start "
		    "rewrites it.\n"
		    "Port %u\n"
		    "%s"
		    "UsePAM no\n"
		    "PidFile none\n"
		    "Include %s/" AGENT_SSHD_INCLUDE "\n", by, cf->port, listen,
		    d);
		return n < 0 ? TSS_E_NOMEM : 0;
	}
	if (cf->gateway)
		n = mem_asprintf(&t,
		    "AuthorizedPrincipalsCommand %s gateway principals "
		    "%%t %%k\n"
		    "AuthorizedPrincipalsCommandUser nobody\n"
		    "AllowUsers tessera\n"
		    "ExposeAuthInfo yes\n"
		    "ForceCommand %s gateway shell\n"
		    "AcceptEnv TESSERA_TARGET TESSERA_LOGIN\n"
		    "DisableForwarding yes\n"
		    "PermitTTY yes\n"
		    "PermitUserRC no\n"
		    "PermitRootLogin no\n", cf->exe, cf->exe);
	else
		n = mem_asprintf(&t,
		    "AuthorizedPrincipalsFile %s/" AGENT_PRINCIPALS "/%%u\n"
		    "PermitRootLogin prohibit-password\n", d);
	if (n < 0)
		return TSS_E_NOMEM;
	n = mem_asprintf(textp,
	    "# Written by `tessera target agent`%s: every start rewrites it.\n"
	    "# An sshd_config of your own can take it with\n"
	    "#   Include %s/" AGENT_SSHD_INCLUDE "\n"
	    "# before its own settings (sshd keeps the first value it reads).\n"
	    "HostKey %s/" AGENT_HOSTKEY "\n"
	    "HostCertificate %s/" AGENT_HOSTCERT "\n"
	    "TrustedUserCAKeys %s/" AGENT_USER_CA "\n"
	    "RevokedKeys %s/" AGENT_KRL "\n"
	    "AuthorizedKeysFile none\n"
	    "PasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n"
	    "PubkeyAuthentication yes\n"
	    "%s", by, d, d, d, d, d, t);
	free(t);
	return n < 0 ? TSS_E_NOMEM : 0;
}

int
agent_files_krl_ok(const void *data, size_t len)
{
	const uint8_t *p = data;

	/* magic (8 bytes), then uint32 format version 1 */
	if (len < 12 || memcmp(p, KRL_MAGIC, 8) != 0 ||
	    p[8] != 0 || p[9] != 0 || p[10] != 0 || p[11] != 1)
		return TSS_E_BAD_FORMAT;
	return 0;
}

int
agent_files_ca_ok(const char *text, size_t len)
{
	struct sshkey *k = NULL;
	const char *p = text, *end = text + len, *nl;
	size_t keys = 0, ll;

	if (memchr(text, '\0', len) != NULL)
		return TSS_E_BAD_FORMAT;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = (nl != NULL ? (size_t)(nl - p) : (size_t)(end - p));
		if (ll > 0 && !(ll == 1 && p[0] == '\r')) {
			if (sshkey_parse_line(p, ll, &k, NULL) != 0)
				return TSS_E_BAD_FORMAT;
			sshkey_free(k);
			k = NULL;
			keys++;
		}
		p += ll + (nl != NULL);
	}
	return keys > 0 ? 0 : TSS_E_BAD_FORMAT;
}

int
agent_files_cert_validity(const char *line, size_t len, uint64_t *afterp,
    uint64_t *beforep)
{
	static const char type[] = "ssh-ed25519-cert-v01@openssh.com";
	struct buf *b = NULL;
	uint8_t *blob = NULL;
	const uint8_t *s;
	size_t blen, slen, i;
	uint64_t serial, after, before;
	uint32_t kind;
	int r = TSS_E_BAD_FORMAT;

	if (len > CERT_LINE_MAX)
		return TSS_E_TOO_LARGE;
	if (len < sizeof(type) || memcmp(line, type, sizeof(type) - 1) != 0 ||
	    line[sizeof(type) - 1] != ' ')
		return TSS_E_UNSUPPORTED;
	line += sizeof(type);
	len -= sizeof(type);
	for (i = 0; i < len && line[i] != ' ' && line[i] != '\n' &&
	    line[i] != '\r'; i++)
		;
	if ((r = b64_decode(line, i, &blob, &blen)) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((b = buf_from(blob, blen)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	/* type, nonce, pk, serial, type, key id, principals, validity */
	if ((r = buf_get_string_direct(b, &s, &slen)) != 0 ||
	    slen != sizeof(type) - 1 || memcmp(s, type, slen) != 0 ||
	    (r = buf_get_string_direct(b, &s, &slen)) != 0 ||
	    (r = buf_get_string_direct(b, &s, &slen)) != 0 ||
	    (r = buf_get_u64(b, &serial)) != 0 ||
	    (r = buf_get_u32(b, &kind)) != 0 ||
	    (r = buf_get_string_direct(b, &s, &slen)) != 0 ||
	    (r = buf_get_string_direct(b, &s, &slen)) != 0 ||
	    (r = buf_get_u64(b, &after)) != 0 ||
	    (r = buf_get_u64(b, &before)) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	*afterp = after;
	*beforep = before;
	r = 0;
 out:
	buf_free(b);
	free(blob);
	return r;
}

int
agent_files_renew_due(uint64_t after, uint64_t before, uint64_t now)
{
	uint64_t life;

	if (before <= after || now < after || now >= before)
		return 1;
	life = before - after;
	return now - after >= life / 3 * 2 + (life % 3) * 2 / 3;
}
