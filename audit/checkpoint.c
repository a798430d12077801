/*
 * Signed audit checkpoints (checkpoint.h): the signed byte string, the
 * JSON line, and the check of a stream's checkpoints against a store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit.h"
#include "checkpoint.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"

#define ED25519_PK_LEN	32
#define HASH_LEN	32
#define MSG_LEN		(sizeof(AUDIT_CKPT_DOMAIN) + 8 + 8 + HASH_LEN)

/* 64 lowercase hex digits into 32 bytes. */
static int
hash_bytes(const char *hex, uint8_t out[HASH_LEN])
{
	if (hex == NULL || strlen(hex) != 2 * HASH_LEN)
		return TSS_E_BAD_FORMAT;
	return hex_decode(hex, out, HASH_LEN);
}

/* The signed bytes; time may be negative, it is signed as its u64 image. */
static int
message(uint64_t seq, const char *hash, int64_t time, uint8_t msg[MSG_LEN])
{
	uint8_t *p = msg;

	memcpy(p, AUDIT_CKPT_DOMAIN, sizeof(AUDIT_CKPT_DOMAIN));
	p += sizeof(AUDIT_CKPT_DOMAIN);
	buf_poke_u64(p, seq);
	buf_poke_u64(p + 8, (uint64_t)time);
	return hash_bytes(hash, p + 16);
}

/* The raw 64-byte signature out of an SSH ssh-ed25519 signature blob. */
static int
raw_sig(const struct buf *blob, uint8_t sig[AUDIT_CKPT_SIG_LEN])
{
	struct buf *b = NULL;
	const uint8_t *alg, *s;
	size_t al, sl;
	int r = TSS_E_NOMEM;

	if ((b = buf_from(buf_ptr(blob), buf_len(blob))) == NULL)
		goto out;
	if ((r = buf_get_string_direct(b, &alg, &al)) != 0 ||
	    (r = buf_get_string_direct(b, &s, &sl)) != 0)
		goto out;
	r = TSS_E_CRYPTO;
	if (al != 11 || memcmp(alg, "ssh-ed25519", 11) != 0 ||
	    sl != AUDIT_CKPT_SIG_LEN || buf_len(b) != 0)
		goto out;
	memcpy(sig, s, AUDIT_CKPT_SIG_LEN);
	r = 0;
 out:
	buf_free(b);
	return r;
}

int
audit_ckpt_sign(struct cakey *key, uint64_t seq, const char *hash,
    int64_t time, char **line)
{
	struct buf *blob = NULL;
	uint8_t msg[MSG_LEN], sig[AUDIT_CKPT_SIG_LEN];
	char fp[SSHKEY_FP_MAX], ts[32], *b64 = NULL;
	json_t *o = NULL;
	int r = TSS_E_INVALID_ARGUMENT;

	*line = NULL;
	if (key == NULL || seq == 0)
		goto out;
	r = TSS_E_UNSUPPORTED;
	if (cakey_alg(key) != CAKEY_ED25519)
		goto out;
	if ((r = message(seq, hash, time, msg)) != 0 ||
	    (r = audit_time_text(time, ts)) != 0 ||
	    (r = sshkey_fingerprint(cakey_public(key), fp)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((blob = buf_new()) == NULL)
		goto out;
	if ((r = cakey_sign(key, msg, sizeof(msg), blob)) != 0 ||
	    (r = raw_sig(blob, sig)) != 0 ||
	    (r = b64_encode(sig, sizeof(sig), &b64)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "type",
	    "checkpoint", "seq", (json_int_t)seq, "hash", hash, "time", ts,
	    "key", fp, "sig", b64)) == NULL ||
	    (*line = mem_json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	r = 0;
 out:
	json_decref(o);
	free(b64);
	buf_free(blob);
	return r;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly as audit_time_text writes it. */
static int
parse_time(const char *s, int64_t *out)
{
	static const int at[6] = { 0, 5, 8, 11, 14, 17 };
	static const int len[6] = { 4, 2, 2, 2, 2, 2 };
	int v[6], i, j;
	struct tm tm;
	char again[32];
	time_t t;

	if (s == NULL || strlen(s) != 20)
		return TSS_E_BAD_FORMAT;
	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (j = 0; j < len[i]; j++) {
			if (s[at[i] + j] < '0' || s[at[i] + j] > '9')
				return TSS_E_BAD_FORMAT;
			v[i] = v[i] * 10 + (s[at[i] + j] - '0');
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if ((t = timegm(&tm)) == (time_t)-1)
		return TSS_E_BAD_FORMAT;
	/* Only the canonical spelling: the signature covers the number. */
	if (audit_time_text((int64_t)t, again) != 0 || strcmp(again, s) != 0)
		return TSS_E_BAD_FORMAT;
	*out = (int64_t)t;
	return 0;
}

int
audit_ckpt_parse(const char *line, size_t len, struct audit_ckpt *out)
{
	json_t *o = NULL, *seq;
	const char *type, *hash, *time, *key, *sig;
	uint8_t tmp[HASH_LEN], *raw = NULL;
	size_t rl = 0;
	int r = TSS_E_NOT_FOUND;

	memset(out, 0, sizeof(*out));
	errno = 0;	/* ENOMEM: jansson's allocator refused */
	if ((o = mem_json_loadb(line, len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL && errno == ENOMEM) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (o == NULL || !json_is_object(o) ||
	    (type = json_string_value(json_object_get(o, "type"))) == NULL ||
	    strcmp(type, "checkpoint") != 0)
		goto out;
	r = TSS_E_BAD_FORMAT;
	seq = json_object_get(o, "seq");
	hash = json_string_value(json_object_get(o, "hash"));
	time = json_string_value(json_object_get(o, "time"));
	key = json_string_value(json_object_get(o, "key"));
	sig = json_string_value(json_object_get(o, "sig"));
	if (!json_is_integer(seq) || json_integer_value(seq) <= 0 ||
	    hash_bytes(hash, tmp) != 0 || key == NULL || sig == NULL ||
	    strlen(key) >= sizeof(out->key) ||
	    parse_time(time, &out->time) != 0 ||
	    (r = b64_decode(sig, strlen(sig), &raw, &rl)) != 0 ||
	    rl != AUDIT_CKPT_SIG_LEN) {
		if (r != TSS_E_NOMEM)
			r = TSS_E_BAD_FORMAT;
		goto out;
	}
	out->seq = (uint64_t)json_integer_value(seq);
	memcpy(out->hash, hash, 65);
	memcpy(out->key, key, strlen(key) + 1);
	memcpy(out->sig, raw, AUDIT_CKPT_SIG_LEN);
	r = 0;
 out:
	free(raw);
	json_decref(o);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
audit_ckpt_verify(const struct audit_ckpt *c, const struct sshkey *pub)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	struct buf *b = NULL;
	const uint8_t *body, *raw;
	uint8_t msg[MSG_LEN];
	char fp[SSHKEY_FP_MAX];
	size_t bl, rl;
	int r = TSS_E_UNSUPPORTED;

	if (sshkey_type(pub) != SSHKEY_ED25519)
		goto out;
	/* The key fields after the type name: string pk (32 bytes). */
	body = sshkey_cert_body(pub, &bl);
	r = TSS_E_NOMEM;
	if ((b = buf_from(body, bl)) == NULL)
		goto out;
	r = TSS_E_INVALID_PUBLIC_KEY;
	if (buf_get_string_direct(b, &raw, &rl) != 0 || rl != ED25519_PK_LEN)
		goto out;
	if ((r = sshkey_fingerprint(pub, fp)) != 0)
		goto out;
	r = TSS_E_SIGNATURE;
	if (strcmp(fp, c->key) != 0 ||
	    message(c->seq, c->hash, c->time, msg) != 0)
		goto out;
	r = TSS_E_CRYPTO;
	if ((pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
	    rl)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1)
		goto out;
	r = EVP_DigestVerify(ctx, c->sig, AUDIT_CKPT_SIG_LEN, msg,
	    sizeof(msg)) == 1 ? 0 : TSS_E_SIGNATURE;
 out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	buf_free(b);
	return r;
}

/* The stored hash of event seq, which the chain walk found intact. */
static int
stored_hash(struct store_txn *t, uint64_t seq, char hash[65])
{
	json_t *e = NULL;
	const char *h;
	int r;

	if ((r = audit_get(t, seq, &e)) != 0)
		return r;
	h = json_string_value(json_object_get(e, "hash"));
	r = h != NULL && strlen(h) == 64 ? 0 : TSS_E_BAD_FORMAT;
	if (r == 0)
		memcpy(hash, h, 65);
	json_decref(e);
	return r;
}

int
audit_ckpt_check(struct store_txn *t, const struct sshkey *pub,
    const struct audit_ckpt *c, size_t n, struct audit_ckpt_report *rep)
{
	char hash[65];
	size_t i;
	int r;

	memset(rep, 0, sizeof(*rep));
	for (i = 0; i < n; i++) {
		if (c[i].seq > rep->newest)
			rep->newest = c[i].seq;
		if ((r = audit_ckpt_verify(&c[i], pub)) == TSS_E_SIGNATURE) {
			rep->verdict = AUDIT_CKPT_BAD_SIG;
			rep->which = i;
			return 0;
		}
		if (r != 0)
			return r;
	}
	r = audit_verify(t, &rep->count, rep->head, &rep->bad);
	if (r == TSS_E_SIGNATURE) {
		/* Everything before the first bad event is intact. */
		rep->count = rep->bad - 1;
		rep->head[0] = '\0';
	} else if (r != 0)
		return r;
	for (i = 0; i < n; i++) {
		rep->which = i;
		if (rep->bad != 0 && c[i].seq >= rep->bad) {
			rep->verdict = AUDIT_CKPT_BROKEN;
			return 0;
		}
		if (c[i].seq > rep->count) {
			rep->verdict = AUDIT_CKPT_MISSING;
			return 0;
		}
		if ((r = stored_hash(t, c[i].seq, hash)) != 0)
			return r;
		if (strcmp(hash, c[i].hash) != 0) {
			rep->verdict = AUDIT_CKPT_CHANGED;
			return 0;
		}
	}
	rep->which = 0;
	rep->verdict = AUDIT_CKPT_OK;
	return 0;
}
