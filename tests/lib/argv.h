/* Argument and environment vectors for the exec family and posix_spawn. */
#ifndef TSS_TEST_ARGV_H
#define TSS_TEST_ARGV_H

/*
 * execv, execvp, execve and posix_spawnp take char *const argv[] (and
 * envp) for compatibility with old code, but never write to the strings:
 * POSIX says so.  The tests' vectors are const; this is the one place that
 * drops the const, by a union rather than a cast.
 */
static inline char *const *
exec_argv(const char *const *v)
{
	union { const char *const *c; char *const *m; } u = { .c = v };

	return u.m;
}

#endif
