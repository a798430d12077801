/*
 * sessfile: the CLI's saved login, ~/.config/tessera/session.
 *
 * A JSON object {"server","token","expires_at","username"} (expires_at in
 * Unix seconds), written atomically (temporary file, fsync, rename) with
 * mode 0600 in a directory made 0700.  A session file that others may read
 * or that another user owns is refused.  The token is a secret: it is
 * wiped by sessfile_free().
 */
#ifndef TSS_CLI_SESSFILE_H
#define TSS_CLI_SESSFILE_H

#include <stddef.h>
#include <stdint.h>

struct sessfile {
	char *server;
	char *token;
	int64_t expires_at;
	char *username;
};

/* $HOME/.config/tessera/session into buf. */
int sessfile_path(char *buf, size_t len);
/* TSS_E_NOT_FOUND when there is no file, TSS_E_PERMISSION when its mode
 * or owner is unsafe, TSS_E_BAD_FORMAT when it is not a session. */
int sessfile_load(const char *path, struct sessfile **out);
/* Creates the parent directory (0700) if missing, then the file (0600). */
int sessfile_save(const char *path, const struct sessfile *s);
/* 0 also when there was no file. */
int sessfile_remove(const char *path);
void sessfile_free(struct sessfile *s);		/* NULL is harmless */

/* Write data to path atomically with the given mode (a temporary file
 * beside it, fsync, rename); the mode is set whatever the umask. */
int sessfile_write_file(const char *path, const void *data, size_t len,
    unsigned mode);

#endif
