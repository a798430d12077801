#include "err.h"

const char *
tss_strerror(int r)
{
	switch (r) {
#define TSS_ERR_MSG(sym, val, name, msg) case (val): return (msg);
	TSS_ERRORS(TSS_ERR_MSG)
#undef TSS_ERR_MSG
	}
	return "unknown error";
}

const char *
tss_errname(int r)
{
	switch (r) {
#define TSS_ERR_NAME(sym, val, name, msg) case (val): return (name);
	TSS_ERRORS(TSS_ERR_NAME)
#undef TSS_ERR_NAME
	}
	return "unknown";
}
