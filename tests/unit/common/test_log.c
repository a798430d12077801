#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

/* Run one log call with stderr sent to a pipe; return what was written. */
static void
capture(enum log_level min, int json, const char *msg, char *out, size_t len)
{
	int fds[2], saved;
	ssize_t n;

	cr_assert_eq(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	log_setup(min, json);
	log_info("%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
}

Test(log, text_line_escapes_cr_lf_and_controls)
{
	char out[4096];

	capture(LOGL_DEBUG, 0, "user alice\r\n2026-01-01T00:00:00Z info forged\x01", out,
	    sizeof(out));
	cr_expect(strstr(out, " info user alice\\r\\n2026") != NULL, "%s", out);
	cr_expect(strstr(out, "forged\\u0001\n") != NULL, "%s", out);
	/* Exactly one line. */
	cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "%s", out);
}

Test(log, json_line_is_one_valid_object)
{
	char out[4096];

	capture(LOGL_DEBUG, 1, "say \"hi\" \\ bye\n", out, sizeof(out));
	cr_expect(strncmp(out, "{\"time\":\"", 9) == 0, "%s", out);
	cr_expect(strstr(out, "\"level\":\"info\",\"msg\":\"say \\\"hi\\\" \\\\ bye\\n\"}\n")
	    != NULL, "%s", out);
}

Test(log, below_minimum_level_is_silent)
{
	char out[256];

	capture(LOGL_WARN, 0, "quiet", out, sizeof(out));
	cr_expect_str_eq(out, "");
}

Test(log, level_names_parse)
{
	enum log_level l;

	cr_expect_eq(log_level_parse("debug", &l), 0);
	cr_expect_eq(l, LOGL_DEBUG);
	cr_expect_eq(log_level_parse("ERROR", &l), 0);
	cr_expect_eq(l, LOGL_ERROR);
	cr_expect_eq(log_level_parse("loud", &l), TSS_E_INVALID_ARGUMENT);
}
