/*
 * CIDRs: parsing (host bits zero, as sshd wants them), formatting, and the
 * set arithmetic roles' source_address lists are compiled with.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "common/err.h"

static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0') ||
	    strlen(s) > 3)
		return TSS_E_INVALID_CIDR;
	v = strtoull(s, &end, 10);
	if (end == NULL || *end != '\0' || v > max)
		return TSS_E_INVALID_CIDR;
	*out = (unsigned)v;
	return 0;
}

int
rbac_cidr_parse(const char *s, struct rbac_cidr *c)
{
	char tmp[64];
	const char *slash;
	size_t alen, nbytes, i;
	unsigned prefix, max;
	int fam;

	memset(c, 0, sizeof(*c));
	if (s == NULL || strlen(s) >= sizeof(tmp))
		return TSS_E_INVALID_CIDR;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (strchr(tmp, ':') != NULL) {
		fam = AF_INET6;
		max = 128;
		c->family = 6;
	} else {
		fam = AF_INET;
		max = 32;
		c->family = 4;
	}
	if (inet_pton(fam, tmp, c->addr) != 1)
		goto bad;
	prefix = max;
	if (slash != NULL && parse_prefix(slash + 1, max, &prefix) != 0)
		goto bad;
	c->prefix = (uint8_t)prefix;
	/* Host bits must be zero, as sshd wants them. */
	nbytes = max / 8;
	for (i = 0; i < nbytes; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 :
		    prefix > i * 8 ? prefix - i * 8 : 0;
		uint8_t mask = keep == 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if ((c->addr[i] & (uint8_t)~mask) != 0)
			goto bad;
	}
	return 0;
 bad:
	memset(c, 0, sizeof(*c));
	return TSS_E_INVALID_CIDR;
}

void
rbac_cidr_format(const struct rbac_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (inet_ntop(c->family == 6 ? AF_INET6 : AF_INET, c->addr, a,
	    sizeof(a)) == NULL)
		return;
	(void)snprintf(buf, len, "%s/%u", a, (unsigned)c->prefix);
}

int
rbac__cidr_within(const struct rbac_cidr *a, const struct rbac_cidr *b)
{
	unsigned full, rem;

	if (a->family != b->family || a->prefix < b->prefix)
		return 0;
	full = b->prefix / 8;
	rem = b->prefix % 8;
	if (memcmp(a->addr, b->addr, full) != 0)
		return 0;
	if (rem != 0 && ((a->addr[full] ^ b->addr[full]) &
	    (uint8_t)(0xff << (8 - rem))) != 0)
		return 0;
	return 1;
}

int
rbac__cidr_cmp(const struct rbac_cidr *a, const struct rbac_cidr *b)
{
	int d;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((d = memcmp(a->addr, b->addr, sizeof(a->addr))) != 0)
		return d;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return 0;
}

/* Insertion sort: at most a few dozen entries, no allocation. */
static void
cidr_sort(struct rbac_cidr *c, size_t n)
{
	struct rbac_cidr t;
	size_t i, j;

	for (i = 1; i < n; i++) {
		t = c[i];
		for (j = i; j > 0 && rbac__cidr_cmp(&c[j - 1], &t) > 0; j--)
			c[j] = c[j - 1];
		c[j] = t;
	}
}

size_t
rbac__cidr_normalize(struct rbac_cidr *c, size_t n)
{
	size_t i, j, k = 0;
	int drop;

	for (i = 0; i < n; i++) {
		drop = 0;
		for (j = 0; j < n && !drop; j++) {
			if (j == i || !rbac__cidr_within(&c[i], &c[j]))
				continue;
			/* Equal entries: keep the first only. */
			if (rbac__cidr_within(&c[j], &c[i]))
				drop = j < i;
			else
				drop = 1;
		}
		if (!drop)
			c[k++] = c[i];
	}
	cidr_sort(c, k);
	return k;
}

size_t
rbac__cidr_intersect(const struct rbac_cidr *a, size_t na,
    const struct rbac_cidr *b, size_t nb, struct rbac_cidr *out)
{
	size_t i, j, k = 0;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && k < RBAC_CIDRS_MAX; j++) {
			if (rbac__cidr_within(&a[i], &b[j]))
				out[k++] = a[i];
			else if (rbac__cidr_within(&b[j], &a[i]))
				out[k++] = b[j];
		}
	}
	cidr_sort(out, k);
	return k;
}
