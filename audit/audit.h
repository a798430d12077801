/*
 * audit: the tamper-evident trail.  Each event is a JSON object stored in
 * the AUDIT database under its seq (big-endian u64 key) and chained:
 * hash = SHA-256(canonical JSON of the event without "hash"), and that
 * JSON holds "prev", the previous event's hash in hex (64 zeros for the
 * first).  The head hash lives in META; signed checkpoints
 * (checkpoint.h) anchor it outside the store.  Events are written inside the
 * caller's write transaction, so an event exists exactly when the change
 * it describes was committed.
 *
 * Never put a password, a TOTP code or secret, a session token or a private
 * key into an event.
 */
#ifndef TSS_AUDIT_H
#define TSS_AUDIT_H

#include <stdint.h>
#include <jansson.h>

struct store;
struct store_txn;

/*
 * Who did something, as the trail records it: the one actor type of every
 * module that writes events (auth's account changes, rbac's policy
 * changes, broker's use cases).  name NULL records "local" (the offline
 * break-glass commands).
 */
struct audit_actor {
	const char *name;
	const char *remote_addr;	/* may be NULL */
	const char *request_id;		/* may be NULL */
};

struct audit_event {
	const char *actor;	/* username, "local", or "-" for anonymous */
	const char *action;	/* "login.ok", "cert.issue", ... */
	const char *object;	/* what it acted on; NULL for none */
	const char *result;	/* "ok", "denied", "error" */
	const char *remote_addr;/* NULL for none */
	const char *request_id;	/* NULL for none */
	json_t *fields;		/* extra fields (borrowed); NULL for none */
};

/*
 * The one way a module records what an actor did: append the event in
 * write transaction t at time now.  by NULL records "local"; fields
 * (borrowed, may be NULL) are the action's own; *seq may be NULL.
 */
int audit_record(struct store_txn *t, const struct audit_actor *by,
    const char *action, const char *object, const char *result,
    json_t *fields, int64_t now, uint64_t *seq);

/*
 * Append ev in write transaction t at time now (Unix seconds); *seq (may
 * be NULL) gets its seq, 0 on failure.  Same as audit_prepare,
 * audit_append_prep and audit_prep_free.
 */
int audit_append(struct store_txn *t, const struct audit_event *ev,
    int64_t now, uint64_t *seq);

/*
 * The append in two steps, so that the costly part runs outside the write
 * transaction.  audit_prepare renders ev at time now into its canonical
 * text, leaving out only what depends on the chain ("prev" and "seq");
 * ev and ev->fields may change or go once it returns.  Errors:
 * TSS_E_INVALID_ARGUMENT for a missing actor, action or result, fields
 * that are not an object or hold "hash", invalid UTF-8, a time gmtime cannot represent,
 * or a value jansson cannot serialise (a cycle); TSS_E_TOO_LONG for an
 * event above BUF_SIZE_MAX; TSS_E_NOMEM.
 *
 * audit_append_prep stores the prepared event in t as the next one of the
 * chain, exactly as audit_append would.  It reads p and never changes it,
 * so one p may be appended again after its transaction was aborted, and
 * may be read by several threads at once.  audit_prep_free(NULL) is
 * harmless.
 */
struct audit_prep;
int audit_prepare(const struct audit_event *ev, int64_t now,
    struct audit_prep **out);
int audit_append_prep(struct store_txn *t, const struct audit_prep *p,
    uint64_t *seq);
void audit_prep_free(struct audit_prep *p);

/* t as an event's "time": RFC 3339 UTC, "2023-11-14T22:13:20Z". */
int audit_time_text(int64_t t, char out[32]);

/* Event seq as a new JSON object (caller json_decref()s). */
int audit_get(struct store_txn *t, uint64_t seq, json_t **out);
/* The same in two steps: event seq's stored text (its canonical JSON,
 * jansson's compact sorted form; caller free()s), for a cheap look before
 * audit_parse makes the object. */
int audit_get_text(struct store_txn *t, uint64_t seq, char **text);
int audit_parse(const char *text, json_t **out);

/*
 * Walk the chain from seq 1.  *count gets the number of events, head (65
 * bytes) the last hash in hex.  On a broken chain returns TSS_E_SIGNATURE
 * with *bad set to the first bad seq; TSS_E_NOMEM is no verdict.
 */
int audit_verify(struct store_txn *t, uint64_t *count, char head[65],
    uint64_t *bad);

/*
 * Sinks stream committed events as JSON lines, in seq order, to a file,
 * stderr ("-") or a syslog socket ("syslog" for AUDIT_SYSLOG_SOCKET,
 * "syslog:/path" for another; datagrams in syslog(3)'s format, sent on a
 * socket of our own so a failure shows).  A file sink resumes after the
 * last seq already in the file, so a restart neither repeats nor skips
 * events; stderr and syslog resume from their cursor file
 * (audit_sink_cursor), or start at the current head.
 *
 * audit_sink_flush delivers every event after the last one delivered
 * (events committed by other processes too).  The cursor only passes an
 * event once it is delivered: a sink that cannot deliver (no socket, a
 * broken pipe, a full disk) keeps it and every later event, returns
 * TSS_E_IO, logs the outage once, and the flushes of the next 1, 2, 4,
 * up to 8 seconds return TSS_E_IO at once (audit_sink_due says when to
 * retry); the outage's end is logged once.  Thread-safe.
 */
#define AUDIT_SYSLOG_SOCKET	"/dev/log"
#define AUDIT_CURSOR_FILE	"audit-sink.cursor"	/* in data_dir */
struct audit_sink;
struct cakey;
int audit_sink_open(const char *spec, struct store *s,
    struct audit_sink **out);
int audit_sink_flush(struct audit_sink *k, struct store *s);
void audit_sink_close(struct audit_sink *k);
/*
 * A stream or syslog sink keeps its cursor in the file at path, so a
 * restart goes on after the last event delivered rather than at the head
 * (a file sink reads its own file instead).  The file is written after
 * a flush that delivered something, at most once a second and at the
 * last flush, synced before its rename: after a
 * crash it may lag (the events after it come again; each carries its seq
 * and hash), never run ahead.  No file yet: the sink starts at the head
 * and makes one.  audit_sink_cursor_start: a new store's file, so its
 * first events are delivered too.
 */
int audit_sink_cursor(struct audit_sink *k, const char *path);
int audit_sink_cursor_start(const char *path);
/* For /metrics: events committed in s but not delivered, and failed
 * delivery attempts since open.  Never waits for a flush in progress. */
void audit_sink_stats(struct audit_sink *k, struct store *s, uint64_t *lag,
    uint64_t *failures);

/*
 * Signed checkpoints (checkpoint.h) in the stream, each after the events
 * it covers: after every `every` events, and at a flush `interval`
 * seconds or more after the last one when events were written since.
 * key (Ed25519) is borrowed until audit_sink_close.  A file sink whose
 * last line is a checkpoint does not sign that event again.
 */
int audit_sink_checkpoints(struct audit_sink *k, struct cakey *key,
    uint64_t every, int64_t interval);
/* audit_sink_flush at time now; AUDIT_SINK_FINAL also signs what is left
 * unsigned (the last flush before stopping). */
#define AUDIT_SINK_FINAL	0x1
int audit_sink_flush_at(struct audit_sink *k, struct store *s, int64_t now,
    unsigned flags);
/* When a timed checkpoint or a retry falls due (Unix seconds);
 * INT64_MAX: none is pending.  The caller flushes then. */
int64_t audit_sink_due(struct audit_sink *k);

#endif
