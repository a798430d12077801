/*
 * Shared between audit/ source files only; not part of the public API.
 */
#ifndef TSS_AUDIT_INTERNAL_H
#define TSS_AUDIT_INTERNAL_H

#include <stddef.h>

/* A stored event record's canonical JSON text (allocated; caller frees). */
int audit__record_text(const void *v, size_t vl, char **text);

#endif
