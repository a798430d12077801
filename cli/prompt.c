/*
 * prompt: terminal and stdin input (see prompt.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/err.h"
#include "prompt.h"

/* Terminal state to restore from a signal handler. */
static volatile sig_atomic_t saved_valid;
static int saved_fd = -1;
static struct termios saved_tio;

static const int restore_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSIGS	(sizeof(restore_sigs) / sizeof(restore_sigs[0]))

static void
tty_write(int fd, const char *s, size_t n)
{
	ssize_t k = write(fd, s, n);	/* best effort: a prompt or a newline */

	(void)k;
}

static void
on_signal(int sig)
{
	if (saved_valid) {
		(void)tcsetattr(saved_fd, TCSAFLUSH, &saved_tio);
		tty_write(saved_fd, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int
prompt_have_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

/* Read one line from fd, a byte at a time.  Returns 0, or TSS_E_*. */
static int
read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t k;
	char ch;
	int over = 0;

	if (len == 0)
		return TSS_E_INVALID_ARGUMENT;
	for (;;) {
		k = read(fd, &ch, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			explicit_bzero(buf, len);
			return TSS_E_IO;
		}
		if (k == 0) {
			if (n == 0 && !over) {
				explicit_bzero(buf, len);
				return TSS_E_TRUNCATED;
			}
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 >= len) {
			over = 1;	/* keep reading to the line's end */
			continue;
		}
		buf[n++] = ch;
	}
	explicit_bzero(&ch, sizeof(ch));
	if (over) {
		explicit_bzero(buf, len);
		return TSS_E_TOO_LONG;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

int
prompt_stdin_line(char *buf, size_t len)
{
	return read_line(STDIN_FILENO, buf, len);
}

int
prompt_tty(const char *prompt, int echo, char *buf, size_t len)
{
	struct sigaction sa, old[NSIGS];
	struct termios tio;
	size_t i;
	int fd = -1, r = TSS_E_INTERNAL, changed = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1)
		return TSS_E_UNAVAILABLE;
	tty_write(fd, prompt, strlen(prompt));
	if (!echo && tcgetattr(fd, &tio) == 0) {
		saved_fd = fd;
		saved_tio = tio;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < NSIGS; i++)
			sigaction(restore_sigs[i], &sa, &old[i]);
		saved_valid = 1;
		tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tio.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &tio) == 0)
			changed = 1;
	}
	r = read_line(fd, buf, len);
	if (changed) {
		(void)tcsetattr(fd, TCSAFLUSH, &saved_tio);
		tty_write(fd, "\n", 1);
	}
	if (saved_valid) {
		saved_valid = 0;
		for (i = 0; i < NSIGS; i++)
			sigaction(restore_sigs[i], &old[i], NULL);
	}
	saved_fd = -1;
	close(fd);
	return r;
}

int
prompt_yesno(const char *question, int def)
{
	char ans[16];
	int r;

	for (;;) {
		if ((r = prompt_tty(question, 1, ans, sizeof(ans))) != 0 &&
		    r != TSS_E_TOO_LONG)
			return r;
		if (r == 0 && ans[0] == '\0')
			return def;
		if (r == 0 && (strcmp(ans, "y") == 0 || strcmp(ans, "Y") == 0 ||
		    strcmp(ans, "yes") == 0))
			return 1;
		if (r == 0 && (strcmp(ans, "n") == 0 || strcmp(ans, "N") == 0 ||
		    strcmp(ans, "no") == 0))
			return 0;
	}
}
