/*
 * Keeping a secret out of a failure's reason (send.h).  A server may echo
 * what it was sent: the password itself, percent-encoded, or inside a
 * base64 blob (HTTP basic auth, SMTP AUTH PLAIN).  In base64 a secret
 * shows at one of three alignments; for each, the characters that depend
 * only on the secret's own bytes are found and masked, which covers every
 * blob that contains it, whatever comes before or after.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "send.h"

#define MASK		"***"
#define MIN_FORM	4	/* shorter forms would mask innocent text */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of len bytes, without padding; malloc'd. */
static char *
base64(const unsigned char *p, size_t len)
{
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[p[i] >> 2];
		*o++ = b64[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = b64[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*o++ = b64[p[i + 2] & 63];
	}
	if (len - i == 1) {
		*o++ = b64[p[i] >> 2];
		*o++ = b64[(p[i] & 3) << 4];
	} else if (len - i == 2) {
		*o++ = b64[p[i] >> 2];
		*o++ = b64[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*o++ = b64[(p[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

/* Percent-encoding of everything but unreserved characters; with plus,
 * a space is '+' (forms).  malloc'd. */
static char *
percent(const char *s, int plus)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			*o++ = (char)c;
		else if (c == ' ' && plus)
			*o++ = '+';
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Replaces every occurrence of form in text with MASK, in place. */
static void
mask(char *text, const char *form, int nocase)
{
	size_t n = strlen(form), m = strlen(MASK);
	char *p;

	if (n < MIN_FORM)
		return;
	while ((p = nocase ? strcasestr(text, form) : strstr(text, form)) !=
	    NULL) {
		memcpy(p, MASK, m);
		memmove(p + m, p + n, strlen(p + n) + 1);
	}
}

/* The base64 characters that depend on secret alone, at alignment k. */
static void
mask_base64(char *text, const char *secret, size_t k)
{
	size_t len = strlen(secret);
	unsigned char *buf = calloc(1, len + 3);
	char *enc;
	size_t n;

	if (buf == NULL)
		return;
	memcpy(buf + k, secret, len);
	if ((enc = base64(buf, len + k)) != NULL) {
		/* The first group mixes in the k zero bytes; the last one may
		 * mix in what follows. */
		n = strlen(enc);
		if (n > 8) {
			enc[n - 4] = '\0';
			mask(text, enc + (k ? 4 : 0), 0);
		}
		free(enc);
	}
	free(buf);
}

void
send_mask_secret(char *text, const char *secret)
{
	char *f;

	if (text == NULL || secret == NULL || *secret == '\0')
		return;
	for (size_t k = 0; k < 3; k++)
		mask_base64(text, secret, k);
	if ((f = percent(secret, 0)) != NULL) {
		mask(text, f, 1);
		free(f);
	}
	if ((f = percent(secret, 1)) != NULL) {
		mask(text, f, 1);
		free(f);
	}
	mask(text, secret, 0);
}
