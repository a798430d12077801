/*
 * certinfo: read an OpenSSH certificate (PROTOCOL.certkeys) back: the
 * fields the gateway decides on.  The signature is NOT verified: the
 * callers hold a certificate that sshd has already checked against
 * TrustedUserCAKeys, its validity, source-address and the KRL (the
 * AuthorizedPrincipalsCommand's %k, the ExposeAuthInfo file).  The parse
 * is still strict: every length bounded, every string free of NUL, no
 * trailing bytes, at most CERT_MAX_PRINCIPALS principals of
 * CERT_PRINCIPAL_MAX bytes; any failure is TSS_E_INVALID_PUBLIC_KEY (or
 * TSS_E_NOMEM), the reason in the debug log.
 */
#ifndef TSS_CERTINFO_H
#define TSS_CERTINFO_H

#include <stddef.h>
#include <stdint.h>

#include "sshkey.h"

#define CERTINFO_USER	1
#define CERTINFO_HOST	2
#define CERTINFO_KEY_ID_MAX	1024

struct certinfo {
	uint32_t type;			/* CERTINFO_USER or CERTINFO_HOST */
	uint64_t serial;
	char *key_id;
	char **principals;		/* nprincipals NUL-terminated names */
	size_t nprincipals;
	uint64_t valid_after, valid_before;
	char *force_command;		/* critical option; NULL: none */
	struct sshkey *key;		/* the certified key */
	char fingerprint[SSHKEY_FP_MAX];	/* its SHA256: fingerprint */
};

/* Parse a certificate blob; *cip (freed with certinfo_free) on success. */
int certinfo_parse(const uint8_t *blob, size_t len, struct certinfo **cip);
/*
 * The same from its text form: type (e.g. ssh-ed25519-cert-v01@openssh.com,
 * which must be the blob's own) and base64, each NUL-terminated.
 */
int certinfo_from_text(const char *type, const char *b64,
    struct certinfo **cip);
void certinfo_free(struct certinfo *ci);	/* NULL is harmless */

#endif
