/*
 * backup: tesserad's own backups of its store into backup_dir, in the
 * format of `tessera backup` (store_backup_fd), so that a container needs
 * no second process on the store: on a schedule (backup_interval, a
 * thread of its own) and when an admin asks (POST /v1/admin/backup).
 *
 * Each is written to a hidden temporary name, synced, renamed to
 * tessera-backup-YYYYMMDDTHHMMSS.mmmZ.mdb (UTC: the names sort by time)
 * and the directory synced; then every file of that pattern but the
 * newest backup_keep is removed, with temporary files a crash left.
 * One backup runs at a time.  The schedule counts from the newest backup
 * already there, so restarts neither skip nor repeat one; a failed one is
 * retried after backup_interval or 5 minutes, whichever is sooner.
 */
#ifndef TSS_BROKER_BACKUP_H
#define TSS_BROKER_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct broker;
struct caller;

#define BACKUP_NAME_MAX		64

/*
 * Told after every attempt, on the thread that made it: r 0 and the time
 * of a backup made (also once at start for the newest one already there),
 * or the failure, which is logged already.
 */
typedef void (*backup_done_fn)(void *arg, int r, int64_t at);

/* Set up b's backups; the schedule starts when backup_dir is set. */
int backup_start(struct broker *b, backup_done_fn done, void *arg);
/* End the schedule (a backup in progress finishes first); idempotent. */
void backup_stop(struct broker *b);
/* backup_stop, wait for an admin's backup in progress, free (broker_close). */
void backup_free(struct broker *b);

/*
 * POST /v1/admin/backup (backups:create): a backup now, audited as
 * backup.create with its file name; *out is {"file","bytes","dir"}.
 * TSS_E_CONFLICT when backup_dir is not set, TSS_E_UNAVAILABLE when the
 * backup could not be written (errmsg says where and why).
 */
int broker_backup_now(struct broker *b, const struct caller *c, int64_t now,
    json_t **out, char *errmsg, size_t len);

#endif
