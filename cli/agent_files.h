/*
 * agent_files: what `tessera target agent` keeps on disk in its directory
 * (the target kit), without the network: atomic replacement, the host key,
 * the principals files, the sshd_config, and the checks that keep a bad
 * answer from the server off the disk (a KRL without its magic, a CA file
 * without a key).
 *
 * Every file is replaced atomically: written to a temporary file in the
 * same directory, fsynced, renamed over the old one, the directory synced.
 * sshd refuses every key while its RevokedKeys file is unreadable, so a
 * reader must always see the old file or the new one, never a gap or a
 * partial file.
 */
#ifndef TSS_CLI_AGENT_FILES_H
#define TSS_CLI_AGENT_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_HOSTKEY		"ssh_host_ed25519_key"
#define AGENT_HOSTKEY_PUB	"ssh_host_ed25519_key.pub"
#define AGENT_HOSTCERT		"ssh_host_ed25519_key-cert.pub"
#define AGENT_USER_CA		"user_ca.pub"
#define AGENT_KRL		"krl"
#define AGENT_CREDENTIAL	"credential"
#define AGENT_PRINCIPALS	"principals"
#define AGENT_SSHD_CONFIG	"sshd_config"
#define AGENT_SSHD_INCLUDE	"tessera.conf"	/* what sshd_config includes */
#define AGENT_MAX_LOGINS	256

struct agent_files_conf {
	const char *dir;	/* absolute, checked by agent_files_dir_ok */
	int gateway;		/* the gateway's sshd_config */
	const char *exe;	/* tessera's absolute path (gateway mode) */
	unsigned int port;	/* 1..65535 */
	const char *listen;	/* ListenAddress, NULL for none */
};

/*
 * 0 when s can stand in an sshd_config line as a path: absolute, no
 * blank, quote, '%', '#' or control byte; else TSS_E_VALIDATION.
 */
int agent_files_path_ok(const char *s);

/*
 * Replace dir/name with data unless it already holds exactly data with
 * this mode.  Returns 1 when written, 0 when unchanged, or TSS_E_IO /
 * TSS_E_NOMEM (errno kept for the message); the old file is untouched on
 * failure and no temporary file is left behind.
 */
int agent_files_update(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode);

/*
 * Read the regular file path (at most max bytes) into a new NUL-terminated
 * buffer, which the caller frees with wipe_free (it may hold a secret).
 * TSS_E_NOT_FOUND when absent, TSS_E_TOO_LARGE, TSS_E_IO.
 */
int agent_files_read(const char *path, size_t max, char **datap,
    size_t *lenp);

/*
 * The host key: loaded from dir/AGENT_HOSTKEY, or generated (Ed25519,
 * OpenSSH format, 0600) and saved atomically when the file is absent;
 * dir/AGENT_HOSTKEY_PUB is (re)written from it.  *linep gets the public
 * key line.  A key file that exists but cannot be used is an error
 * (TSS_E_KEY_PERMS, TSS_E_BAD_FORMAT, ...), never replaced.
 */
int agent_files_hostkey(const char *dir, char **linep);

/*
 * dir/principals/<login> holding "login@target\n" for each login, and
 * no other file in dir/principals.  Every name is checked first
 * (TSS_E_VALIDATION: nothing written).  *changedp counts files written or
 * removed.
 */
int agent_files_principals(const char *dir, const char *target,
    const char *const *logins, size_t n, int *changedp);

/*
 * The sshd configuration for conf (a new string): with include, the
 * AGENT_SSHD_INCLUDE snippet (keys, CAs, KRL, principals or the gateway's
 * lines) that any sshd_config can Include; without, the AGENT_SSHD_CONFIG
 * that `sshd -f` runs (port, listen address, then the Include).
 */
int agent_files_sshd_config(const struct agent_files_conf *conf,
    int include, char **textp);

/* 0 when data starts like an OpenSSH KRL (magic, format version 1). */
int agent_files_krl_ok(const void *data, size_t len);
/* 0 when text is one or more public key lines (blank lines allowed). */
int agent_files_ca_ok(const char *text, size_t len);

/*
 * valid_after and valid_before of the certificate in an OpenSSH
 * "<type>-cert-v01@openssh.com base64 [comment]" line (Ed25519 host
 * certificates; other types are TSS_E_UNSUPPORTED).
 */
int agent_files_cert_validity(const char *line, size_t len,
    uint64_t *afterp, uint64_t *beforep);
/* Whether a certificate valid from after to before is due for renewal at
 * now: two thirds of its life are over (or it is not valid). */
int agent_files_renew_due(uint64_t after, uint64_t before, uint64_t now);

#endif
