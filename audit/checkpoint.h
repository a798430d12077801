/*
 * checkpoint: signed anchors for the audit chain.  The chain's head lives
 * in the store, so whoever owns the disk can rewrite the chain with
 * recomputed hashes, or drop the newest events and reset the head, and the
 * chain still verifies.  A checkpoint is the head (seq, hash, time) signed
 * with the audit key, an Ed25519 key kept outside the store, and sent to
 * the audit stream (which should live off the broker's disk, in a SIEM).
 * Checking a stream's checkpoints against a store proves that every event
 * up to the newest checkpoint is still there, unchanged; it proves nothing
 * about events after it, and the audit key's holder can forge checkpoints.
 *
 * A checkpoint is one JSON line:
 *   {"type":"checkpoint","seq":N,"hash":"<64 hex>","time":"RFC 3339",
 *    "key":"SHA256:<fingerprint>","sig":"<base64 of 64 bytes>"}
 * sig is Ed25519 over AUDIT_CKPT_DOMAIN (its NUL included), then seq and
 * time as big-endian u64, then the 32 bytes of hash: a byte string no
 * other Tessera signature (certificates, KRLs) can be.
 */
#ifndef TSS_CHECKPOINT_H
#define TSS_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_CKPT_DOMAIN	"tessera audit checkpoint v1"
#define AUDIT_CKPT_SIG_LEN	64
#define AUDIT_CKPT_KEYID_MAX	64	/* "SHA256:" + 43 + NUL fits */

struct cakey;
struct sshkey;
struct store_txn;

struct audit_ckpt {
	uint64_t seq;
	char hash[65];
	int64_t time;
	char key[AUDIT_CKPT_KEYID_MAX];
	uint8_t sig[AUDIT_CKPT_SIG_LEN];
};

/*
 * The signed checkpoint line for event seq with hash (64 lowercase hex) at
 * time, without a newline, into *line (caller frees).  key must be an
 * Ed25519 key (TSS_E_UNSUPPORTED otherwise).
 */
int audit_ckpt_sign(struct cakey *key, uint64_t seq, const char *hash,
    int64_t time, char **line);

/*
 * Parse one line of an audit stream (len bytes, no NUL needed).
 * TSS_E_NOT_FOUND when it is not a checkpoint (not a JSON object, or no
 * "type":"checkpoint"): streams mix events, checkpoints and log lines.
 * TSS_E_BAD_FORMAT for a checkpoint with a missing or malformed field.
 * TSS_E_NOMEM says nothing about the line.
 */
int audit_ckpt_parse(const char *line, size_t len, struct audit_ckpt *out);

/*
 * 0 when c was signed by pub; TSS_E_SIGNATURE when the signature or the
 * key id does not match; TSS_E_UNSUPPORTED when pub is not ssh-ed25519.
 */
int audit_ckpt_verify(const struct audit_ckpt *c, const struct sshkey *pub);

enum audit_ckpt_verdict {
	AUDIT_CKPT_OK = 0,
	AUDIT_CKPT_BAD_SIG,	/* not signed by the audit key */
	AUDIT_CKPT_MISSING,	/* the store ends before the event */
	AUDIT_CKPT_CHANGED,	/* the event is there with another hash */
	AUDIT_CKPT_BROKEN,	/* the chain breaks at or before the event */
};

struct audit_ckpt_report {
	enum audit_ckpt_verdict verdict;
	size_t which;		/* index into the checkpoints of the failure */
	uint64_t count;		/* events in the store's intact chain */
	uint64_t bad;		/* first bad seq of a broken chain; 0 intact */
	char head[65];		/* head of an intact chain */
	uint64_t newest;	/* highest checkpointed seq */
};

/*
 * Check n checkpoints against the store in t (a read transaction does):
 * every signature first, then the chain, then each checkpointed event.
 * Returns 0 with the verdict in *rep (AUDIT_CKPT_OK also when the chain is
 * broken after the newest checkpoint: rep->bad says so), or an error
 * reading the store.
 */
int audit_ckpt_check(struct store_txn *t, const struct sshkey *pub,
    const struct audit_ckpt *c, size_t n, struct audit_ckpt_report *rep);

#endif
