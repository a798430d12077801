/*
 * Test harness: a private sshd on 127.0.0.1 and a real ssh client.
 *
 * sshd runs from /usr/sbin/sshd with its own config in the caller's temp
 * dir (host key generated there, no PAM, port chosen by binding port 0),
 * certificate logins only (TrustedUserCAKeys, AuthorizedPrincipalsFile,
 * optional RevokedKeys).  As root the login account is root
 * (PermitRootLogin prohibit-password); otherwise sshd runs unprivileged and
 * only the current user can log in.  Readiness is polled with a bound.
 * sshd's log goes to <dir>/sshd.log, the clients' to <dir>/ssh.log.
 */
#ifndef TSS_TEST_SSHD_H
#define TSS_TEST_SSHD_H

struct sshd;

struct sshd_conf {
	const char *dir;		/* existing private directory */
	const char *trusted_ca_keys;	/* file of CA authorized_keys lines */
	const char *principals_file;	/* pattern, e.g. "<dir>/principals-%u" */
	const char *revoked_keys;	/* KRL file, or NULL */
};

/* 0, or -1 with the reason on stderr. */
int sshd_start(const struct sshd_conf *conf, struct sshd **out);
int sshd_port(const struct sshd *s);
/* Kill by pid, reap, free.  NULL is harmless. */
void sshd_stop(struct sshd *s);

/* The account tests log in as (the current user). */
const char *sshd_login_user(void);
/*
 * `ssh -i key -o CertificateFile=cert user@127.0.0.1 true`: the client's
 * exit status (0 logged in, 255 refused), -1 if it could not run.
 */
int sshd_try_login(const struct sshd *s, const char *user, const char *key,
    const char *cert);

/* Run argv (argv[0] looked up in PATH), stdout/stderr appended to log
 * (NULL: /dev/null); the exit status, or -1. */
int sshd_run(const char *const argv[], const char *log);

#endif
