/*
 * Replay driver for libFuzzer harnesses built without libFuzzer (gcc).
 *
 * With arguments, feeds each named file (or every file in a named
 * directory) to LLVMFuzzerTestOneInput once: this replays a crash or a
 * corpus.  Without arguments, feeds built-in seeds: a few fixed shapes
 * (empty, zeros, 0xff runs, SSH length fields near the limits) and a
 * deterministic pseudo-random stream, so `meson test --suite fuzz`
 * exercises every harness on every build.
 *
 * A harness aborts (or trips a sanitizer) on a broken invariant; the exit
 * status is then non-zero.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_FILE_MAX	(16u * 1024 * 1024)
#define REPLAY_RANDOM	4000
#define REPLAY_RANDLEN	300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_one(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	/* A private heap copy, so ASan sees reads past the end. */
	if ((copy = calloc(1, size == 0 ? 1 : size)) == NULL)
		return -1;
	if (size != 0)
		memcpy(copy, data, size);
	(void)LLVMFuzzerTestOneInput(copy, size);
	free(copy);
	return 0;
}

static int
run_file(const char *path)
{
	FILE *f;
	uint8_t *d = NULL, *nd;
	size_t len = 0, cap = 0, n;
	int r = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= REPLAY_FILE_MAX) {
				fprintf(stderr, "replay: %s: too large\n", path);
				goto out;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nd = realloc(d, cap)) == NULL)
				goto out;
			d = nd;
		}
		n = fread(d + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	r = run_one(d, len);
 out:
	free(d);
	fclose(f);
	return r;
}

static int
run_path(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *dir;
	char sub[4096];
	int r = 0, n;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub) ||
		    stat(sub, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(sub) != 0)
			r = -1;
	}
	closedir(dir);
	return r;
}

static uint64_t
next(uint64_t *s)
{
	/* xorshift64: fixed seed, same stream on every run. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int
run_builtin(void)
{
	static const uint32_t lens[] = {
		0, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xff, 0x100, 0x7fffffff,
		0x80000000, 0xfffffffb, 0xfffffffc, 0xffffffff,
		16u * 1024 * 1024 - 4, 16u * 1024 * 1024 - 3,
	};
	uint8_t d[REPLAY_RANDLEN] = { 0 };
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	size_t i, j, n;
	int r = 0;

	r |= run_one(d, 0);
	for (n = 1; n <= 64; n++) {
		memset(d, 0, n);
		r |= run_one(d, n);
		memset(d, 0xff, n);
		r |= run_one(d, n);
		memset(d, 'A', n);
		r |= run_one(d, n);
	}
	/* A length field, then that many (or fewer) bytes, after each lead. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (j = 0; j < 16; j++) {
			memset(d, 0, sizeof(d));
			d[0] = (uint8_t)j;
			put32(d + 1, lens[i]);
			n = lens[i] < 64 ? 5 + lens[i] : 64;
			memset(d + 5, 'a' + (int)j, n - 5);
			r |= run_one(d, n);
			r |= run_one(d, n > 6 ? n - 1 : n);
		}
	}
	for (i = 0; i < REPLAY_RANDOM; i++) {
		n = (size_t)(next(&st) % REPLAY_RANDLEN);
		for (j = 0; j < n; j++) {
			d[j] = (uint8_t)next(&st);
			/* Bias toward small length fields and printable text. */
			if (j % 7 == 1 || j % 7 == 2)
				d[j] = 0;
			else if (j % 5 == 3)
				d[j] = (uint8_t)(0x21 + d[j] % 0x5e);
		}
		r |= run_one(d, n);
	}
	return r;
}

int
main(int argc, char **argv)
{
	int i, r = 0;

	if (argc < 2)
		r = run_builtin();
	for (i = 1; i < argc; i++)
		if (run_path(argv[i]) != 0)
			r = 1;
	if (r != 0)
		return 1;
	printf("replay: ok\n");
	return 0;
}
