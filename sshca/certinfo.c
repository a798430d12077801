/*
 * certinfo: the fields after the certified key, read through common/buf
 * in the order PROTOCOL.certkeys fixes: serial, type, key ID, principals,
 * validity, critical options, extensions, reserved, signature key,
 * signature.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"

#include "cert.h"
#include "certinfo.h"
#include "sshkey.h"

#define FORCE_COMMAND	"force-command"

static int
bad(const char *why)
{
	log_debug("certinfo: %s", why);
	return TSS_E_INVALID_PUBLIC_KEY;
}

/* Buffer errors other than memory are one class for callers. */
static int
wire(int r)
{
	return r == TSS_E_NOMEM ? r : r != 0 ? bad("malformed field") : 0;
}

static int
get_principals(struct buf *b, struct certinfo *ci)
{
	struct buf *list = NULL;
	char *s = NULL;
	size_t len;
	int r = TSS_E_INTERNAL;

	if ((r = wire(buf_get_stringb(b, &list))) != 0)
		goto out;
	while (buf_len(list) > 0) {
		if (ci->nprincipals >= CERT_MAX_PRINCIPALS) {
			r = bad("too many principals");
			goto out;
		}
		if ((r = wire(buf_get_cstring(list, &s, &len))) != 0)
			goto out;
		if (len == 0 || len > CERT_PRINCIPAL_MAX) {
			r = bad("principal length");
			goto out;
		}
		if ((ci->nprincipals & 7) == 0) {
			char **v = mem_reallocarray(ci->principals,
			    ci->nprincipals + 8, sizeof(*v));

			if (v == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
			ci->principals = v;
		}
		ci->principals[ci->nprincipals++] = s;
		s = NULL;	/* transferred */
	}
	r = 0;
 out:
	free(s);
	buf_free(list);
	return r;
}

static int
get_options(struct buf *b, struct certinfo *ci)
{
	struct buf *opts = NULL, *data = NULL;
	char *name = NULL;
	size_t len;
	int r = TSS_E_INTERNAL;

	if ((r = wire(buf_get_stringb(b, &opts))) != 0)
		goto out;
	while (buf_len(opts) > 0) {
		free(name);
		name = NULL;
		buf_free(data);
		data = NULL;
		if ((r = wire(buf_get_cstring(opts, &name, &len))) != 0 ||
		    (r = wire(buf_get_stringb(opts, &data))) != 0)
			goto out;
		if (strcmp(name, FORCE_COMMAND) != 0)
			continue;	/* sshd has judged the others */
		if (ci->force_command != NULL) {
			r = bad("force-command twice");
			goto out;
		}
		if ((r = wire(buf_get_cstring(data, &ci->force_command,
		    &len))) != 0)
			goto out;
		if (buf_len(data) != 0 || len > CERT_FORCE_COMMAND_MAX) {
			r = bad("force-command");
			goto out;
		}
	}
	r = 0;
 out:
	free(name);
	buf_free(data);
	buf_free(opts);
	return r;
}

int
certinfo_parse(const uint8_t *blob, size_t len, struct certinfo **cip)
{
	struct certinfo *ci = NULL;
	struct sshkey *key = NULL;
	struct buf *b = NULL;
	size_t off, idlen;
	int r = TSS_E_INTERNAL;

	if (cip != NULL)
		*cip = NULL;
	if (blob == NULL || cip == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (len > SSHKEY_LINE_MAX) {
		r = bad("certificate too long");
		goto out;
	}
	if ((r = sshkey_from_cert(blob, len, &key, &off)) != 0)
		goto out;
	if ((ci = mem_calloc(1, sizeof(*ci))) == NULL ||
	    (b = buf_from(blob + off, len - off)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	ci->key = key;
	key = NULL;	/* transferred */
	if ((r = sshkey_fingerprint(ci->key, ci->fingerprint)) != 0 ||
	    (r = wire(buf_get_u64(b, &ci->serial))) != 0 ||
	    (r = wire(buf_get_u32(b, &ci->type))) != 0 ||
	    (r = wire(buf_get_cstring(b, &ci->key_id, &idlen))) != 0 ||
	    (r = get_principals(b, ci)) != 0 ||
	    (r = wire(buf_get_u64(b, &ci->valid_after))) != 0 ||
	    (r = wire(buf_get_u64(b, &ci->valid_before))) != 0 ||
	    (r = get_options(b, ci)) != 0 ||
	    (r = wire(buf_get_string_direct(b, NULL, NULL))) != 0 ||
	    (r = wire(buf_get_string_direct(b, NULL, NULL))) != 0 ||
	    (r = wire(buf_get_string_direct(b, NULL, NULL))) != 0 ||
	    (r = wire(buf_get_string_direct(b, NULL, NULL))) != 0)
		goto out;
	if (buf_len(b) != 0) {
		r = bad("trailing bytes");
		goto out;
	}
	if ((ci->type != CERTINFO_USER && ci->type != CERTINFO_HOST) ||
	    idlen > CERTINFO_KEY_ID_MAX) {
		r = bad("certificate type or key ID");
		goto out;
	}
	*cip = ci;
	ci = NULL;	/* transferred */
	r = 0;
 out:
	buf_free(b);
	sshkey_free(key);
	certinfo_free(ci);
	return r;
}

int
certinfo_from_text(const char *type, const char *b64, struct certinfo **cip)
{
	uint8_t *blob = NULL;
	struct buf *b = NULL;
	const uint8_t *name;
	size_t len, namelen;
	int r = TSS_E_INTERNAL;

	if (cip != NULL)
		*cip = NULL;
	if (type == NULL || b64 == NULL || cip == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (strlen(b64) > SSHKEY_LINE_MAX) {
		r = bad("certificate text too long");
		goto out;
	}
	if ((r = b64_decode(b64, strlen(b64), &blob, &len)) != 0) {
		r = r == TSS_E_NOMEM ? r : bad("base64");
		goto out;
	}
	if ((b = buf_from(blob, len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = wire(buf_get_string_direct(b, &name, &namelen))) != 0)
		goto out;
	if (namelen != strlen(type) || memcmp(name, type, namelen) != 0) {
		r = bad("type is not the blob's");
		goto out;
	}
	r = certinfo_parse(blob, len, cip);
 out:
	buf_free(b);
	free(blob);
	return r;
}

void
certinfo_free(struct certinfo *ci)
{
	size_t i;

	if (ci == NULL)
		return;
	for (i = 0; i < ci->nprincipals; i++)
		free(ci->principals[i]);
	free(ci->principals);
	free(ci->key_id);
	free(ci->force_command);
	sshkey_free(ci->key);
	free(ci);
}
