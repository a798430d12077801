/*
 * mem: freeing memory that may have held a secret.  wipe_free() zeroes
 * the whole allocation (malloc_usable_size, so bytes past a string's NUL
 * too) before free(); NULL is harmless.  Also the free function of the
 * wiping allocator jansson is given (json_set_alloc_funcs).
 */
#ifndef TSS_COMMON_MEM_H
#define TSS_COMMON_MEM_H

void wipe_free(void *p);

#endif
