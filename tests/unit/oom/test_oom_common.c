/*
 * oom, common/: the text decoders and encoders, the wire buffer's
 * allocating readers and writers, and jsonw, each walked through every
 * allocation failure and with each allocation refused alone (oom.h).
 * duration_parse and hex_decode allocate nothing; their walks prove it
 * (0 allocations).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/duration.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/mem.h"
#include "oom.h"

TestSuite(oom_common, .init = oom_setup, .fini = oom_teardown);

/* ---- enc ---- */

struct dec {
	int (*fn)(const char *, size_t, uint8_t **, size_t *);
	const char *in;
	const char *want;	/* NUL-terminated expected bytes */
	uint8_t *out;
	size_t outlen;
};

static int
dec_run(void *arg)
{
	struct dec *d = arg;

	d->out = (uint8_t *)"stale";
	d->outlen = 99;
	return d->fn(d->in, strlen(d->in), &d->out, &d->outlen);
}

static void
dec_check(void *arg, int r)
{
	struct dec *d = arg;

	if (r != 0) {
		cr_assert_null(d->out);
		cr_assert_eq(d->outlen, 0);
		return;
	}
	cr_assert_eq(d->outlen, strlen(d->want));
	cr_assert_eq(memcmp(d->out, d->want, d->outlen), 0);
	free(d->out);
}

Test(oom_common, b64_decode)
{
	struct dec d = { .fn = b64_decode, .in = "aGVsbG8sIHdvcmxkIQ==",
	    .want = "hello, world!" };

	oom_walk("b64_decode", dec_run, dec_check, &d);
	oom_walk_nth("b64_decode", dec_run, dec_check, NULL, &d);
}

Test(oom_common, b32_decode)
{
	struct dec d = { .fn = b32_decode, .in = "NBSWY3DPFQQHO33SNRSCC",
	    .want = "hello, world!" };

	oom_walk("b32_decode", dec_run, dec_check, &d);
	oom_walk_nth("b32_decode", dec_run, dec_check, NULL, &d);
}

Test(oom_common, b32_decode_empty)
{
	struct dec d = { .fn = b32_decode, .in = "", .want = "" };

	oom_walk("b32_decode (empty)", dec_run, dec_check, &d);
}

struct encx {
	int (*fn)(const void *, size_t, char **);
	const char *in, *want;
	char *out;
};

static int
enc_run(void *arg)
{
	struct encx *e = arg;

	e->out = "stale";
	return e->fn(e->in, strlen(e->in), &e->out);
}

static void
enc_check(void *arg, int r)
{
	struct encx *e = arg;

	if (r != 0) {
		cr_assert_null(e->out);
		return;
	}
	cr_assert_str_eq(e->out, e->want);
	free(e->out);
}

Test(oom_common, b64_encode)
{
	struct encx e = { .fn = b64_encode, .in = "hello, world!",
	    .want = "aGVsbG8sIHdvcmxkIQ==" };

	oom_walk("b64_encode", enc_run, enc_check, &e);
	oom_walk_nth("b64_encode", enc_run, enc_check, NULL, &e);
}

Test(oom_common, b32_encode)
{
	struct encx e = { .fn = b32_encode, .in = "hello, world!",
	    .want = "NBSWY3DPFQQHO33SNRSCC" };

	oom_walk("b32_encode", enc_run, enc_check, &e);
	oom_walk_nth("b32_encode", enc_run, enc_check, NULL, &e);
}

struct nofail {
	uint8_t hex[4];
	int64_t secs;
};

static int
nofail_run(void *arg)
{
	struct nofail *x = arg;
	int r;

	if ((r = hex_decode("00ff10ab", x->hex, 4)) != 0)
		return r;
	return duration_parse("15m", &x->secs);
}

static void
nofail_check(void *arg, int r)
{
	struct nofail *x = arg;

	cr_assert_eq(r, 0);
	cr_assert_eq(x->hex[1], 0xff);
	cr_assert_eq(x->secs, 900);
}

Test(oom_common, hex_and_duration_allocate_nothing)
{
	struct nofail x;

	cr_assert_eq(oom_walk("hex_decode, duration_parse", nofail_run,
	    nofail_check, &x), 0);
}

/* ---- buf ---- */

/* A record as the stores write them, built from nothing, read back. */
struct bufrt {
	int secret;
	struct buf *b;
	char *cs, *names;
	uint8_t *s;
	size_t slen;
	struct buf *sub;
};

static const char *const names3[] = { "ssh-ed25519", "rsa-sha2-512",
    "ecdsa-sha2-nistp256" };

static int
bufrt_run(void *arg)
{
	struct bufrt *x = arg;
	uint8_t big[3000];
	size_t i;
	int r;

	memset(big, 0xa5, sizeof(big));
	x->cs = x->names = NULL;
	x->s = NULL;
	x->sub = NULL;
	if ((x->b = x->secret ? buf_new_secret() : buf_new()) == NULL)
		return TSS_E_NOMEM;
	/* Grows from nothing past several reallocations. */
	for (i = 0; i < 4; i++)
		if ((r = buf_put_string(x->b, big, sizeof(big))) != 0)
			return r;
	if ((r = buf_put_cstring(x->b, "alice")) != 0 ||
	    (r = buf_put_u64(x->b, 42)) != 0 ||
	    (r = buf_put_namelist(x->b, names3, 3)) != 0 ||
	    (r = buf_put_bignum2_bytes(x->b, big, 300)) != 0)
		return r;
	for (i = 0; i < 4; i++) {
		free(x->s);
		x->s = NULL;
		if ((r = buf_get_string(x->b, &x->s, &x->slen)) != 0)
			return r;
	}
	if ((r = buf_get_cstring(x->b, &x->cs, NULL)) != 0 ||
	    (r = buf_consume(x->b, 8)) != 0 ||
	    (r = buf_get_namelist(x->b, &x->names)) != 0 ||
	    (r = buf_get_stringb(x->b, &x->sub)) != 0)
		return r;
	return 0;
}

static void
bufrt_check(void *arg, int r)
{
	struct bufrt *x = arg;

	if (r == 0) {
		cr_assert_eq(x->slen, 3000);
		cr_assert_eq(x->s[2999], 0xa5);
		cr_assert_str_eq(x->cs, "alice");
		cr_assert_str_eq(x->names,
		    "ssh-ed25519,rsa-sha2-512,ecdsa-sha2-nistp256");
		cr_assert_eq(buf_len(x->sub), 301);	/* 0x00 + 300 */
		cr_assert_eq(buf_len(x->b), 0);
	}
	free(x->s);
	free(x->cs);
	free(x->names);
	buf_free(x->sub);
	buf_free(x->b);
	x->b = NULL;
}

Test(oom_common, buf_round_trip)
{
	struct bufrt x = { .secret = 0 };

	oom_walk("buf writers and readers", bufrt_run, bufrt_check, &x);
	oom_walk_nth("buf writers and readers", bufrt_run, bufrt_check, NULL,
	    &x);
}

Test(oom_common, buf_round_trip_secret)
{
	struct bufrt x = { .secret = 1 };

	oom_walk("buf writers and readers (secret)", bufrt_run, bufrt_check,
	    &x);
	oom_walk_nth("buf writers and readers (secret)", bufrt_run,
	    bufrt_check, NULL, &x);
}

/*
 * A failed getter or putter leaves the buffer as it was: the same unread
 * bytes, still usable.
 */
struct bufkeep {
	int secret, alias;
	struct buf *b;
	uint8_t *got;
	size_t before;
	uint8_t first[16];
};

static void
bufkeep_init(struct bufkeep *x)
{
	uint8_t junk[100];

	memset(junk, 'j', sizeof(junk));
	cr_assert_not_null(x->b = x->secret ? buf_new_secret() : buf_new());
	cr_assert_eq(buf_put(x->b, junk, 10), 0);
	cr_assert_eq(buf_put_string(x->b, "payload", 7), 0);
	/* Fill the allocation so the next put must grow, after a consume
	 * so growth compacts first. */
	cr_assert_eq(buf_consume(x->b, 10), 0);
	x->before = buf_len(x->b);
	memcpy(x->first, buf_ptr(x->b), 11);
}

static int
putgrow_run(void *arg)
{
	struct bufkeep *x = arg;
	static uint8_t big[64 * 1024];

	/* Self-aliasing put: the source is copied aside first. */
	if (x->alias)
		return buf_put_stringb(x->b, x->b);
	return buf_put(x->b, big, sizeof(big));
}

static void
putgrow_check(void *arg, int r)
{
	struct bufkeep *x = arg;

	cr_assert_eq(memcmp(buf_ptr(x->b), x->first, 11), 0);
	if (r != 0) {
		cr_assert_eq(buf_len(x->b), x->before,
		    "a failed put left %zu bytes of %zu", buf_len(x->b),
		    x->before);
		return;
	}
	cr_assert_eq(buf_len(x->b), x->before + (x->alias ? 4 + x->before :
	    64 * 1024));
	/* As it was, for the next run. */
	buf_free(x->b);
	bufkeep_init(x);
}

static void
putgrow_test(int secret, int alias, const char *what)
{
	struct bufkeep x = { .secret = secret, .alias = alias };

	bufkeep_init(&x);
	oom_walk(what, putgrow_run, putgrow_check, &x);
	oom_walk_nth(what, putgrow_run, putgrow_check, NULL, &x);
	buf_free(x.b);
}

Test(oom_common, buf_failed_put_keeps_contents)
{
	putgrow_test(0, 0, "buf_put (growing)");
	putgrow_test(0, 1, "buf_put_stringb (aliased)");
}

Test(oom_common, buf_failed_put_keeps_contents_secret)
{
	putgrow_test(1, 0, "buf_put (growing, secret)");
	putgrow_test(1, 1, "buf_put_stringb (aliased, secret)");
}

static int
getstr_run(void *arg)
{
	struct bufkeep *x = arg;
	size_t len = 99;
	int r;

	x->got = (uint8_t *)"stale";
	if ((r = buf_get_string(x->b, &x->got, &len)) != 0)
		cr_assert_eq(len, 0);
	return r;
}

static void
getstr_check(void *arg, int r)
{
	struct bufkeep *x = arg;

	if (r != 0) {
		cr_assert_null(x->got);
		cr_assert_eq(buf_len(x->b), x->before);
		cr_assert_eq(memcmp(buf_ptr(x->b), x->first, 11), 0);
		return;
	}
	cr_assert_str_eq((char *)x->got, "payload");
	cr_assert_eq(buf_len(x->b), 0);
	free(x->got);
	/* As it was, for the next run. */
	buf_free(x->b);
	bufkeep_init(x);
}

Test(oom_common, buf_failed_get_keeps_contents)
{
	struct bufkeep x = { .secret = 0 };

	bufkeep_init(&x);
	oom_walk("buf_get_string", getstr_run, getstr_check, &x);
	oom_walk_nth("buf_get_string", getstr_run, getstr_check, NULL, &x);
	buf_free(x.b);
}

/* ---- jsonw ---- */

struct jw {
	json_t *v;
	char *want;
	struct jsonw w;
};

static int
jw_run(void *arg)
{
	struct jw *x = arg;

	memset(&x->w, 0, sizeof(x->w));
	return jsonw_value(&x->w, x->v, 1);
}

static void
jw_check(void *arg, int r)
{
	struct jw *x = arg;

	if (r == 0) {
		cr_assert_eq(x->w.len, strlen(x->want));
		cr_assert_eq(memcmp(x->w.p, x->want, x->w.len), 0);
	}
	jsonw_free(&x->w);	/* the writer's buffer is the caller's */
	cr_assert_null(x->w.p);
}

Test(oom_common, jsonw_value)
{
	struct jw x;
	char key[16], text[2048];
	json_t *o;
	size_t i;

	/* More members than jsonw sorts on the stack, escapes, a real
	 * (written by jansson), nesting past JSONW_DEPTH, and enough text
	 * for the buffer to grow. */
	cr_assert_not_null(x.v = json_object());
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%02zu\t\"", 39 - i);
		memset(text, 'a' + (int)(i % 26), 100);
		text[100] = '\0';
		cr_assert_eq(json_object_set_new(x.v, key, json_string(text)),
		    0);
	}
	cr_assert_eq(json_object_set_new(x.v, "real", json_real(2.5)), 0);
	o = json_pack("[[[[[[[[[[{s:s}]]]]]]]]]]", "deep", "é\n");
	cr_assert_not_null(o);
	cr_assert_eq(json_object_set_new(x.v, "nest", o), 0);
	cr_assert_not_null(x.want = json_dumps(x.v, JSON_COMPACT |
	    JSON_SORT_KEYS));
	oom_walk("jsonw_value", jw_run, jw_check, &x);
	oom_walk_nth("jsonw_value", jw_run, jw_check, NULL, &x);
	free(x.want);
	json_decref(x.v);
}
