#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clirun.h"
#include "tests/lib/argv.h"

extern char **environ;

const char *
clirun_binary(void)
{
	static char path[4096];
	const char *b = getenv("TESSERA_BUILD_DIR");

	snprintf(path, sizeof(path), "%s/tessera", b != NULL ? b : ".");
	return path;
}

static void
drain(int fd, char *buf, size_t cap, size_t *len, int *open_)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t k;

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open_ = 0;
		return;
	}
	k = (size_t)n;
	if (k > cap - 1 - *len)
		k = cap - 1 - *len;
	memcpy(buf + *len, tmp, k);
	*len += k;
	buf[*len] = '\0';
}

int
clirun(struct clirun *res, const char *home, const char *const *extra_env,
    const char *stdin_text, int timeout_s, const char *const *args)
{
	int in[2], out[2], err[2], st, oo = 1, eo = 1;
	size_t olen = 0, elen = 0, n, i, nenv = 0, k;
	const char **argv, **envp;
	char homebuf[4200];
	struct pollfd pf[2];
	time_t deadline;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	for (n = 0; args[n] != NULL; n++)
		;
	for (i = 0; environ[i] != NULL; i++)
		nenv++;
	for (i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
		nenv++;
	if ((argv = calloc(n + 2, sizeof(*argv))) == NULL ||
	    (envp = calloc(nenv + 2, sizeof(*envp))) == NULL)
		return -1;
	argv[0] = clirun_binary();
	for (i = 0; i < n; i++)
		argv[i + 1] = args[i];
	k = 0;
	for (i = 0; environ[i] != NULL; i++) {
		if (home != NULL && strncmp(environ[i], "HOME=", 5) == 0)
			continue;
		/* the tests choose the server themselves */
		if (strncmp(environ[i], "TESSERA_SERVER=", 15) == 0 ||
		    strncmp(environ[i], "SSH_AUTH_SOCK=", 14) == 0)
			continue;
		envp[k++] = environ[i];
	}
	if (home != NULL) {
		snprintf(homebuf, sizeof(homebuf), "HOME=%s", home);
		envp[k++] = homebuf;
	}
	for (i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
		envp[k++] = extra_env[i];
	envp[k] = NULL;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int nul;

		if (stdin_text != NULL)
			dup2(in[0], 0);
		else if ((nul = open("/dev/null", O_RDONLY)) != -1)
			dup2(nul, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		/* no controlling terminal: prompts must not reach one */
		setsid();
		execve(argv[0], exec_argv(argv), exec_argv(envp));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (stdin_text != NULL) {
		signal(SIGPIPE, SIG_IGN);
		/* the child may not read it all */
		ssize_t w = write(in[1], stdin_text, strlen(stdin_text));

		(void)w;
	}
	close(in[1]);
	deadline = time(NULL) + timeout_s;
	while (oo || eo) {
		pf[0].fd = oo ? out[0] : -1;
		pf[0].events = POLLIN;
		pf[1].fd = eo ? err[0] : -1;
		pf[1].events = POLLIN;
		if (time(NULL) > deadline)
			break;
		if (poll(pf, 2, 500) < 0 && errno != EINTR)
			break;
		if (oo && (pf[0].revents & (POLLIN | POLLHUP)))
			drain(out[0], res->out, sizeof(res->out), &olen, &oo);
		if (eo && (pf[1].revents & (POLLIN | POLLHUP)))
			drain(err[0], res->err, sizeof(res->err), &elen, &eo);
	}
	if (oo || eo)
		kill(pid, SIGKILL);
	close(out[0]);
	close(err[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	free(argv);
	free(envp);
	return 0;
}
