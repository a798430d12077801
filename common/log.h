/*
 * Process-wide logging to stderr, as text or JSON lines.  log_to moves it
 * to another descriptor (tesserad: stdout when the audit stream is on
 * stderr, so log lines and audit events never share a stream).  Messages are
 * escaped (CR, LF, control bytes) so a caller-supplied string cannot forge
 * a line.  Never pass a secret: passwords, codes, tokens, keys.
 */
#ifndef TSS_LOG_H
#define TSS_LOG_H

/* LOGL_, not LOG_: syslog.h owns those names. */
enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

void log_setup(enum log_level min, int json);
void log_to(int fd);
int log_level_parse(const char *s, enum log_level *out);
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...)	log_msg(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOGL_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOGL_WARN, __VA_ARGS__)
#define log_error(...)	log_msg(LOGL_ERROR, __VA_ARGS__)

#endif
