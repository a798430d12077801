/*
 * session: the CLI's saved login, ~/.config/tessera/session.
 *
 * A JSON object {"server","token","expires_at","username"} (expires_at in
 * Unix seconds), written atomically (temporary file, fsync, rename) with
 * mode 0600 in a directory made 0700.  A session file that others may read
 * or that another user owns is refused.  The token is a secret: it is
 * wiped by session_free().
 */
#ifndef TSS_CLI_SESSION_H
#define TSS_CLI_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct session {
	char *server;
	char *token;
	int64_t expires_at;
	char *username;
};

/* $HOME/.config/tessera/session into buf. */
int session_path(char *buf, size_t len);
/* TSS_E_NOT_FOUND when there is no file, TSS_E_PERMISSION when its mode
 * or owner is unsafe, TSS_E_BAD_FORMAT when it is not a session. */
int session_load(const char *path, struct session **out);
/* Creates the parent directory (0700) if missing, then the file (0600). */
int session_save(const char *path, const struct session *s);
/* 0 also when there was no file. */
int session_remove(const char *path);
void session_free(struct session *s);		/* NULL is harmless */

/* Write data to path atomically with the given mode (a temporary file
 * beside it, fsync, rename); the mode is set whatever the umask. */
int session_write_file(const char *path, const void *data, size_t len,
    unsigned mode);

#endif
