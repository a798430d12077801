/* See mem.h. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}
