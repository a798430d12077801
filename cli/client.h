/*
 * client: the CLI's HTTPS client for the Tessera API, on libcurl.
 *
 * Only https:// URLs; the server certificate is always verified, against
 * the system store or the given CA file (or, with client_pin_cert, by its
 * key), and a failure is an error, never a retry without verification.
 * No redirects are followed.  Request and response bodies may hold secrets
 * (passwords, tokens, TOTP secrets), so both are wiped when released; the
 * bearer token is wiped with the client.
 */
#ifndef TSS_CLI_CLIENT_H
#define TSS_CLI_CLIENT_H

#include <stddef.h>
#include <jansson.h>

#define CLIENT_BODY_MAX	(32u * 1024 * 1024)	/* response body cap */

struct client;

struct client_resp {
	long status;		/* HTTP status; 0 before an answer */
	char *body;		/* NUL-terminated, wiped by client_resp_clear */
	size_t len;
	size_t cap;
	char ctype[128];	/* Content-Type, "" when none */
	long retry_after;	/* Retry-After seconds, -1 when absent */
	char etag[136];		/* ETag as sent (quotes kept), "" when none
				 * or too long */
};

/*
 * server: "https://host[:port]" (a trailing '/' is ignored); ca_file NULL
 * for the system store.  TSS_E_INVALID_ARGUMENT for a URL that is not
 * https, TSS_E_IO for an unreadable CA file; errbuf gets the message.
 */
int client_new(const char *server, const char *ca_file, struct client **out,
    char *errbuf, size_t errlen);
void client_free(struct client *c);		/* NULL is harmless */
/* Use this bearer token from now on (copied; NULL for none). */
int client_set_token(struct client *c, const char *token);
const char *client_server(const struct client *c);
/* Give up on a request after secs seconds (default 60, connect 10). */
void client_set_timeout(struct client *c, long secs);
/*
 * Trust only a server that proves it holds the key of the (first)
 * certificate in cert_file, whatever its name or issuer (for the health
 * check, which reaches tesserad on an address it derived itself).  0, or
 * TSS_E_IO / TSS_E_BAD_FORMAT with errbuf saying why.
 */
int client_pin_cert(struct client *c, const char *cert_file, char *errbuf,
    size_t errlen);

/*
 * method path (starting with '/') with an optional JSON body.  Returns 0
 * once an HTTP answer arrived, whatever its status (resp filled; the caller
 * clears it), or TSS_E_UNAVAILABLE / TSS_E_IO / TSS_E_TOO_LARGE with a
 * message naming the cause (connection refused, TLS verification, bad CA
 * file, timeout) in client_errmsg().
 */
int client_request(struct client *c, const char *method, const char *path,
    const json_t *body, struct client_resp *resp);
/*
 * client_request with "If-None-Match: etag" (a conditional GET; a 304 is
 * an answer like any other).  etag NULL or "" sends none.  An etag with a
 * CR, LF or other control byte is TSS_E_INVALID_ARGUMENT.
 */
int client_request_if(struct client *c, const char *method, const char *path,
    const json_t *body, const char *etag, struct client_resp *resp);
const char *client_errmsg(const struct client *c);

/* Wipe and free the body; the struct is reset for reuse. */
void client_resp_clear(struct client_resp *r);
/* Whether the response is JSON by its Content-Type. */
int client_resp_is_json(const struct client_resp *r);
/*
 * The server's error as "message (code)" into buf, or "HTTP <status>"
 * when the body is not the API's error shape.  code (may be NULL) gets the
 * snake_case code or "".
 */
void client_resp_error(const struct client_resp *r, char *buf, size_t len,
    char *code, size_t codelen);

#endif
