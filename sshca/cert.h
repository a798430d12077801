/*
 * cert: OpenSSH user and host certificates (PROTOCOL.certkeys), built and
 * signed by a cakey.  Owns the field checks (principals, key ID, critical options,
 * extensions), their canonical order and the validity arithmetic.
 *
 * The request is taken as given: the caller (the issuance use case) has
 * already decided principals, TTL and options.  Time and the nonce are
 * inputs, so a test can make a byte-exact certificate.
 */
#ifndef TSS_CERT_H
#define TSS_CERT_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cakey;
struct sshkey;

#define CERT_MAX_PRINCIPALS	256
#define CERT_PRINCIPAL_MAX	255	/* bytes */
#define CERT_MAX_EXTENSIONS	32
#define CERT_MAX_SOURCES	64	/* source-address entries */
#define CERT_FORCE_COMMAND_MAX	4096
#define CERT_USERNAME_MAX	255
#define CERT_NONCE_LEN		32
#define CERT_SKEW		300	/* seconds valid before issue */

enum cert_type {
	CERT_USER = 1,
	CERT_HOST = 2,
};

/*
 * A host certificate (type CERT_HOST) names the target in username, has
 * the key ID "host:<target>:<serial>" and its host names as principals;
 * it carries no critical options and no extensions (a request with any
 * is TSS_E_INVALID_ARGUMENT).
 */
struct cert_request {
	enum cert_type type;			/* 0 is CERT_USER */
	const struct sshkey *key;		/* the user's or host's key */
	uint64_t serial;			/* from the store counter; > 0 */
	const char *username;			/* key ID is "<username>:<serial>" */
	const char *const *principals;		/* 1..CERT_MAX_PRINCIPALS */
	size_t nprincipals;
	uint64_t valid_after, valid_before;	/* see cert_validity() */
	const char *force_command;		/* NULL: none */
	const char *const *source_address;	/* CIDRs; 0 entries: none */
	size_t nsource_address;
	const char *const *extensions;		/* names, any order */
	size_t nextensions;
	const uint8_t *nonce;		/* CERT_NONCE_LEN bytes; NULL: CSPRNG */
};

/*
 * valid_after = now - CERT_SKEW (0 if now is smaller), valid_before =
 * now + ttl.  ttl 0 is TSS_E_INVALID_ARGUMENT; a sum past 2^64-1 is
 * TSS_E_OVERFLOW.
 */
int cert_validity(uint64_t now, uint64_t ttl, uint64_t *afterp,
    uint64_t *beforep);

/* 0 or TSS_E_INVALID_PRINCIPAL: 1..255 bytes; no comma, space, control
 * byte, '*' or '?'. */
int cert_check_principal(const char *p);
/*
 * 0 or TSS_E_INVALID_CIDR: "a.b.c.d[/n]" or an IPv6 address with optional
 * "/n", host bits zero (sshd's own rule for source-address).
 */
int cert_check_cidr(const char *s);

/*
 * Build and sign.  *certp receives a new buffer holding the certificate
 * blob.  Errors: TSS_E_INVALID_PRINCIPAL (empty list, a bad or duplicate
 * name), TSS_E_TOO_MANY, TSS_E_INVALID_CIDR, TSS_E_INVALID_ARGUMENT (other
 * fields, validity not increasing), TSS_E_CRYPTO.  Duplicate extensions
 * are merged.  Thread-safe for distinct requests.
 */
int cert_sign(struct cakey *ca, const struct cert_request *req,
    struct buf **certp);

/* "<cert type> <base64>[ comment]" for an id-cert.pub file (no newline). */
int cert_to_line(const uint8_t *cert, size_t len, const char *comment,
    char **linep);

#endif
