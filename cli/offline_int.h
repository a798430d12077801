/*
 * Shared by the offline command files only (offline.c, offline_init.c,
 * offline_verify.c, offline_link.c); defined in offline.c.
 */
#ifndef TSS_CLI_OFFLINE_INT_H
#define TSS_CLI_OFFLINE_INT_H

#include <stddef.h>

struct cli;
struct store;

/* 0 missing, 1 empty directory, 2 anything else; negative on error. */
int offline_dir_state(const char *dir);
/* How messages name a store: dir, or never a URI (it may hold a
 * password). */
const char *offline_name(const char *loc);
/* "dir/name" into buf; TSS_E_TOO_LONG when it does not fit. */
int offline_join(char *buf, size_t len, const char *dir, const char *name);
/* Exit status for a store error r (CLI_FAIL or tesserad's, tessera(1)). */
int offline_store_status(int r);
/* Say why the store in dir did not open (store_open's k, for command
 * cmd: "backup"); the exit status. */
int offline_open_failed(struct cli *c, const char *dir, int k,
    const char *cmd);
/* CLI_OK when dir holds a store, else CLI_FAIL after a message. */
int offline_need_store(struct cli *c, const char *dir);
/* Open the store of dir for cmd ("backup"), never creating one; message
 * printed on failure. */
int offline_open_store(struct cli *c, const char *dir, const char *cmd,
    struct store **s);

#endif
