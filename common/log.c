/*
 * Logging to stderr, or to stdout when the audit stream has stderr (see
 * log.h).  One line per message, written with a single write(2)
 * so lines from threads do not interleave.  Text form:
 *   2026-11-28T13:53:05Z INFO message
 * JSON form: {"time":"...","level":"info","msg":"..."}
 * Control bytes in the message are escaped in both forms.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

/* Atomic: SIGHUP may change the level while other threads log. */
static _Atomic int log_min = LOGL_INFO;
static _Atomic int log_json;
static _Atomic int log_fd = STDERR_FILENO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_setup(enum log_level min, int json)
{
	atomic_store_explicit(&log_min, (int)min, memory_order_relaxed);
	atomic_store_explicit(&log_json, json, memory_order_relaxed);
}

void
log_to(int fd)
{
	atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return TSS_E_INVALID_ARGUMENT;
}

/* Append src to dst[*off..cap) escaping what could forge a line. */
static void
append_escaped(char *dst, size_t *off, size_t cap, const char *src, int json)
{
	const unsigned char *p;
	char esc[8];
	size_t n;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || (json && (*p == '"' || *p == '\\'))) {
			if (*p == '\n')
				memcpy(esc, "\\n", 3);
			else if (*p == '\r')
				memcpy(esc, "\\r", 3);
			else if (*p == '\t')
				memcpy(esc, "\\t", 3);
			else if (*p == '"' || *p == '\\')
				snprintf(esc, sizeof(esc), "\\%c", *p);
			else
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
			n = strlen(esc);
		} else {
			esc[0] = (char)*p;
			esc[1] = '\0';
			n = 1;
		}
		if (*off + n >= cap)
			return;
		memcpy(dst + *off, esc, n);
		*off += n;
	}
	dst[*off] = '\0';
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[2048], line[4096 + 64], ts[32];
	size_t off;
	struct tm tm;
	time_t now;
	va_list ap;
	int n, json;

	if ((int)lvl < atomic_load_explicit(&log_min, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json = atomic_load_explicit(&log_json, memory_order_relaxed);
	if (json)
		n = snprintf(line, sizeof(line),
		    "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
		    level_names[lvl]);
	else
		n = snprintf(line, sizeof(line), "%s %s ", ts, level_names[lvl]);
	if (n < 0)
		return;
	off = (size_t)n;
	append_escaped(line, &off, sizeof(line) - 4, msg, json);
	if (json)
		line[off++] = '"', line[off++] = '}';
	line[off++] = '\n';
	(void)!write(atomic_load_explicit(&log_fd, memory_order_relaxed), line,
	    off);
}
