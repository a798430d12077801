/* Temporary directories for tests: made under $TMPDIR, removed with all
 * their contents. */
#ifndef TSS_TEST_TMPDIR_H
#define TSS_TEST_TMPDIR_H

#include <stddef.h>

/* mkdtemp under $TMPDIR (or /tmp); path receives the directory. */
int tmpdir_make(char *path, size_t len);
/* Remove dir and everything below it. */
void tmpdir_remove(const char *path);
/* Write a whole file (mode as given); 0 or -1. */
int tmpfile_write(const char *path, const char *text, unsigned mode);

#endif
