/*
 * prompt: reading passwords, codes and answers.
 *
 * Terminal prompts go to and come from /dev/tty, so they work while stdout
 * is piped; secrets are read with echo off, and the terminal mode is put
 * back also when SIGINT, SIGTERM, SIGHUP or SIGQUIT arrive mid-read.
 * stdin lines are read a byte at a time, so nothing past the line is
 * consumed (a later line stays for the next read or for a child) and no
 * copy of a secret is left in a stdio buffer.  Callers wipe buf.
 */
#ifndef TSS_CLI_PROMPT_H
#define TSS_CLI_PROMPT_H

#include <stddef.h>

#define PROMPT_LINE_MAX	4100	/* 1024 characters of 4-byte UTF-8, + */

/* Whether /dev/tty can be opened. */
int prompt_have_tty(void);
/*
 * Print prompt on the terminal and read one line into buf (NUL-terminated,
 * newline removed).  echo 0 turns echo off.  TSS_E_UNAVAILABLE without a
 * terminal, TSS_E_TOO_LONG for a line that does not fit (buf wiped),
 * TSS_E_TRUNCATED on end of input.
 */
int prompt_tty(const char *prompt, int echo, char *buf, size_t len);
/* One line from fd 0 (newline, and a CR before it, removed); errors as
 * prompt_tty. */
int prompt_stdin_line(char *buf, size_t len);
/* Ask a yes/no question on the terminal; def when the answer is empty.
 * Returns 1 yes, 0 no, or a negative error. */
int prompt_yesno(const char *question, int def);

#endif
