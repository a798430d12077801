/* Const test data placed in records whose string fields are char *. */
#ifndef TSS_TEST_FIXTURE_TEXT_H
#define TSS_TEST_FIXTURE_TEXT_H

/*
 * rbac's and broker's records have char * fields because a decoded record
 * owns its strings; a test that builds one from literals only hands it to
 * a writer or an encoder, which never write through it.  This is the one
 * place the tests' const strings lose their const, by a union rather than
 * a cast; never free what goes through it.
 */
static inline char *
fixture_text(const char *s)
{
	union { const char *c; char *m; } u = { .c = s };

	return u.m;
}

static inline char **
fixture_textv(const char *const *v)
{
	union { const char *const *c; char **m; } u = { .c = v };

	return u.m;
}

#endif
