/*
 * krl: OpenSSH key revocation lists (PROTOCOL.krl), as sshd's RevokedKeys
 * and `ssh-keygen -Q` read them.  Owns the encoding only: which serials are
 * revoked is the caller's (the store's) business.
 *
 * Serials are revoked per CA.  Runs of three or more consecutive serials
 * become range sections, everything else goes into one serial list, which
 * is never larger than the alternative.  KRLs are unsigned (OpenSSH 9.4
 * refuses signed ones): serve them over an authenticated channel and
 * replace the file atomically, since sshd refuses every key while its
 * RevokedKeys file is unreadable.
 */
#ifndef TSS_KRL_H
#define TSS_KRL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct sshkey;

#define KRL_MAX_SERIALS	(1024 * 1024)	/* per CA */

struct krl_ca {
	const struct sshkey *ca;	/* the CA's public key */
	const uint64_t *serials;	/* any order, duplicates allowed */
	size_t nserials;		/* 0: no section for this CA */
};

/*
 * Encode a KRL.  *krlp receives a new buffer.  Serial 0 (which OpenSSH
 * cannot revoke and would make sshd reject the file) is
 * TSS_E_INVALID_ARGUMENT; more than KRL_MAX_SERIALS is TSS_E_TOO_MANY.
 * comment may be NULL.
 */
int krl_build(const struct krl_ca *cas, size_t ncas, uint64_t krl_version,
    uint64_t generated, const char *comment, struct buf **krlp);

#endif
