/*
 * Versioned record encoding.  Every stored value is: u8 magic 'T', u8
 * record type, u8 version, then fields written with the buf putters.
 * A reader checks magic and type, and refuses versions newer than it knows
 * (TSS_E_RECORD_VERSION) so an old binary never misreads a new record.
 */
#ifndef TSS_RECORD_H
#define TSS_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Start a record in b (which should be empty). */
int rec_begin(struct buf *b, uint8_t type, uint8_t version);
/*
 * Open bytes as a record of the given type with version at most maxver.
 * *view reads the fields after the header; it points into p, which must
 * outlive it; the caller frees it with buf_free().
 */
int rec_open(const void *p, size_t len, uint8_t type, uint8_t maxver,
    struct buf **view, uint8_t *version);

#endif
