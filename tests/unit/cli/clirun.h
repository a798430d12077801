/* Running the real tessera binary from a test: arguments, environment
 * (HOME pointed at a temp dir), stdin text; exit status and output. */
#ifndef TSS_TEST_CLIRUN_H
#define TSS_TEST_CLIRUN_H

#include <stddef.h>

struct clirun {
	int status;		/* exit status; -1 when killed or not run */
	char out[65536];	/* stdout, NUL-terminated (truncated) */
	char err[65536];	/* stderr, NUL-terminated (truncated) */
};

/* Path of build/tessera (from TESSERA_BUILD_DIR). */
const char *clirun_binary(void);
/*
 * Run tessera with args (NULL-terminated, without argv[0]) and HOME=home
 * (NULL keeps the environment's); extra_env "K=V" strings (NULL-terminated,
 * may be NULL) are added; stdin_text may be NULL (then /dev/null).  The run
 * is bounded: a child still alive after timeout_s is killed.
 */
int clirun(struct clirun *res, const char *home, const char *const *extra_env,
    const char *stdin_text, int timeout_s, const char *const *args);

#endif
