/*
 * hostca: the host CA, a key of its own that signs the certificates
 * targets present to ssh clients (known_hosts "@cert-authority"), and what
 * tesserad publishes of it.  Loaded from host_ca_key by broker_open(),
 * checked the same way by a first start and by tessera init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "common/err.h"
#include "common/mem.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"

int
broker_host_ca_load(const char *path, const struct cakey *user_ca,
    struct cakey **out, char *err, size_t errlen)
{
	struct cakey *ca = NULL;
	int r;

	*out = NULL;
	if ((r = broker_keyfile_check("host_ca_key", path, err, errlen)) != 0)
		return r;
	if ((r = cakey_load(path, &ca)) != 0) {
		snprintf(err, errlen, "host_ca_key = %s: %s", path,
		    tss_strerror(r));
		return r;
	}
	/* Two roots of trust, two keys: a leak or a rotation of one must
	 * leave the other standing. */
	if (user_ca != NULL &&
	    sshkey_equal(cakey_public(ca), cakey_public(user_ca))) {
		snprintf(err, errlen, "host_ca_key = %s is the same key as "
		    "ca_key: the host CA must be a key of its own "
		    "(tessera init makes one)", path);
		cakey_free(ca);
		return TSS_E_CONFIG;
	}
	*out = ca;
	return 0;
}

int
broker_ca_host_text(struct broker *b, char **out, char *errmsg, size_t len)
{
	char *line = NULL, *text = NULL;
	size_t n;
	int r;

	*out = NULL;
	if (b->host_ca == NULL) {
		snprintf(errmsg, len, BROKER_NO_HOST_CA);
		return TSS_E_NOT_FOUND;
	}
	if ((r = sshkey_to_line(cakey_public(b->host_ca), "tessera-host-ca",
	    &line)) != 0)
		return r;
	n = sizeof("@cert-authority  \n") + strlen(b->cfg.host_ca_pattern) +
	    strlen(line);
	if ((text = mem_malloc(n)) == NULL) {
		free(line);
		return TSS_E_NOMEM;
	}
	snprintf(text, n, "@cert-authority %s %s\n", b->cfg.host_ca_pattern,
	    line);
	free(line);
	*out = text;
	return 0;
}
