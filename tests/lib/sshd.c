/* Test harness: private sshd and ssh client (see sshd.h). */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "sshd.h"
#include "tmpdir.h"

#define SSHD_PATH	"/usr/sbin/sshd"
#define START_TRIES	5
#define READY_POLLS	500	/* x 20 ms = 10 s */
#define PATH_LEN	4096

struct sshd {
	pid_t pid;
	int port;
	char log[PATH_LEN];
	char clientlog[PATH_LEN];
};

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static pid_t
spawn(const char *const argv[], const char *log, int use_path)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) != 0)
		return pid;
	/* child */
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(log != NULL ? log : "/dev/null",
	    O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	if (use_path)
		execvp(argv[0], exec_argv(argv));
	else
		execv(argv[0], exec_argv(argv));
	_exit(127);
}

int
sshd_run(const char *const argv[], const char *log)
{
	pid_t pid;
	int status;

	if ((pid = spawn(argv, log, 1)) == -1)
		return -1;
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
can_connect(int port)
{
	struct sockaddr_in sa;
	int fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int
write_config(const struct sshd_conf *c, int port, const char *path)
{
	char text[8192];
	int n;

	n = snprintf(text, sizeof(text),
	    "ListenAddress 127.0.0.1:%d\n"
	    "HostKey %s/ssh_host_ed25519_key\n"
	    "PidFile none\n"
	    "UsePAM no\n"
	    "StrictModes no\n"
	    "PermitRootLogin prohibit-password\n"
	    "PubkeyAuthentication yes\n"
	    "AuthorizedKeysFile none\n"
	    "PasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n"
	    "TrustedUserCAKeys %s\n"
	    "AuthorizedPrincipalsFile %s\n"
	    "%s%s%s"
	    "LogLevel VERBOSE\n",
	    port, c->dir, c->trusted_ca_keys, c->principals_file,
	    c->revoked_keys != NULL ? "RevokedKeys " : "",
	    c->revoked_keys != NULL ? c->revoked_keys : "",
	    c->revoked_keys != NULL ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return tmpfile_write(path, text, 0600);
}

static void
reap(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
}

int
sshd_start(const struct sshd_conf *c, struct sshd **out)
{
	char hostkey[PATH_LEN], conf[PATH_LEN];
	struct sshd *s = NULL;
	int tries, polls, port, status;
	pid_t pid;

	*out = NULL;
	if (snprintf(hostkey, sizeof(hostkey), "%s/ssh_host_ed25519_key",
	    c->dir) >= (int)sizeof(hostkey) ||
	    snprintf(conf, sizeof(conf), "%s/sshd_config", c->dir) >=
	    (int)sizeof(conf))
		return -1;
	if (access(hostkey, F_OK) != 0) {
		const char *kg[] = { "ssh-keygen", "-q", "-t", "ed25519",
		    "-N", "", "-f", hostkey, NULL };

		if (sshd_run(kg, NULL) != 0) {
			fprintf(stderr, "sshd harness: host key generation failed\n");
			return -1;
		}
	}
	/* Privilege separation directory, needed when sshd runs as root. */
	if (geteuid() == 0 && mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "sshd harness: mkdir /run/sshd: %s\n",
		    strerror(errno));
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	snprintf(s->log, sizeof(s->log), "%s/sshd.log", c->dir);
	snprintf(s->clientlog, sizeof(s->clientlog), "%s/ssh.log", c->dir);
	for (tries = 0; tries < START_TRIES; tries++) {
		const char *argv[] = { SSHD_PATH, "-D", "-e", "-f", conf, NULL };

		if ((port = free_port()) == -1 || write_config(c, port, conf) != 0)
			break;
		if ((pid = spawn(argv, s->log, 0)) == -1)
			break;
		for (polls = 0; polls < READY_POLLS; polls++) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				pid = -1;	/* exited: port taken? try another */
				break;
			}
			if (can_connect(port)) {
				s->pid = pid;
				s->port = port;
				*out = s;
				return 0;
			}
			pause_ms(20);
		}
		if (pid != -1) {
			reap(pid);
			break;
		}
	}
	fprintf(stderr, "sshd harness: sshd did not start; see %s\n", s->log);
	free(s);
	return -1;
}

int
sshd_port(const struct sshd *s)
{
	return s->port;
}

void
sshd_stop(struct sshd *s)
{
	if (s == NULL)
		return;
	if (s->pid > 0)
		reap(s->pid);
	free(s);
}

const char *
sshd_login_user(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw != NULL ? pw->pw_name : "root";
}

int
sshd_try_login(const struct sshd *s, const char *user, const char *key,
    const char *cert)
{
	char port[16], certopt[PATH_LEN + 32], dest[512];
	const char *argv[] = { "ssh", "-F", "/dev/null",
	    "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
	    "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
	    "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
	    "-i", key, "-o", certopt, "-p", port, dest, "true", NULL };

	snprintf(port, sizeof(port), "%d", s->port);
	if (snprintf(certopt, sizeof(certopt), "CertificateFile=%s", cert) >=
	    (int)sizeof(certopt) ||
	    snprintf(dest, sizeof(dest), "%s@127.0.0.1", user) >=
	    (int)sizeof(dest))
		return -1;
	return sshd_run(argv, s->clientlog);
}
