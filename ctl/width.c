/*
 * Display width of UTF-8 text, and the one place that makes data safe to
 * print on a terminal.  The width tables are crmctl's own (width_table.h),
 * so columns of Chinese text line up whatever LANG the admin has, and
 * nothing here depends on setlocale().
 *
 * Data shown by crmctl comes from the CRM database, which anyone able to
 * type a customer name fills: control characters are shown as escapes
 * ("\n", "\x1b", "\u202e") and bytes that are not UTF-8 as U+FFFD, so
 * neither a terminal escape nor a bidi override reaches the terminal.
 */
#include "crmctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct width_range {
	uint32_t	first;
	uint32_t	last;
};

#include "width_table.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define CP_INVALID	0xffffffffU
#define ESCAPE_MAX	8		/* "\u202e" and its NUL */

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/*
 * Decodes one code point from s (len bytes available).  Returns the bytes
 * used, at least 1 when len > 0; *cp is CP_INVALID for a byte that does not
 * start a well-formed sequence (overlong forms and surrogates included), and
 * then exactly that one byte is consumed.
 */
int
utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c, min;
	size_t n;

	*cp = CP_INVALID;
	if (len == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2; c = u[0] & 0x1f; min = 0x80;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3; c = u[0] & 0x0f; min = 0x800;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4; c = u[0] & 0x07; min = 0x10000;
	} else
		return 1;
	if (len < n)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 1;
		c = (c << 6) | (u[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 1;
	*cp = c;
	return (int)n;
}

static int
in_ranges(uint32_t cp, const struct width_range *r, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < r[mid].first)
			hi = mid;
		else if (cp > r[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* Characters a terminal acts on instead of drawing. */
static int
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    cp == 0x2028 || cp == 0x2029 ||		/* line/para separator */
	    (cp >= 0x202a && cp <= 0x202e) ||		/* bidi embeddings */
	    (cp >= 0x2066 && cp <= 0x2069);		/* bidi isolates */
}

/* Columns cp takes: 0, 1 or 2; -1 for a control character. */
int
codepoint_width(uint32_t cp)
{
	if (cp == CP_INVALID)
		return 1;			/* drawn as U+FFFD */
	if (is_control(cp))
		return -1;
	if (in_ranges(cp, width_zero, NITEMS(width_zero)))
		return 0;
	if (in_ranges(cp, width_wide, NITEMS(width_wide)))
		return 2;
	return 1;
}

/* The visible escape crmctl prints for control character cp. */
static size_t
control_escape(uint32_t cp, char *buf)
{
	switch (cp) {
	case '\n':
		return (size_t)snprintf(buf, ESCAPE_MAX, "\\n");
	case '\r':
		return (size_t)snprintf(buf, ESCAPE_MAX, "\\r");
	case '\t':
		return (size_t)snprintf(buf, ESCAPE_MAX, "\\t");
	}
	if (cp < 0x80)
		return (size_t)snprintf(buf, ESCAPE_MAX, "\\x%02x", cp);
	return (size_t)snprintf(buf, ESCAPE_MAX, "\\u%04x", cp);
}

/* Columns s takes once cleaned by text_clean(); any bytes accepted. */
size_t
text_width(const char *s)
{
	size_t len = strlen(s), w = 0;
	char esc[ESCAPE_MAX];
	uint32_t cp;
	int n, cw;

	while (len > 0) {
		n = utf8_decode(s, len, &cp);
		if ((cw = codepoint_width(cp)) < 0)
			w += control_escape(cp, esc);
		else
			w += (size_t)cw;
		s += n;
		len -= (size_t)n;
	}
	return w;
}

/*
 * Returns a malloc'd copy of s that is valid UTF-8 free of control
 * characters, fit to print on a terminal; NULL if out of memory.
 */
char *
text_clean(const char *s)
{
	size_t len = strlen(s), used = 0;
	char *out, *p;
	uint32_t cp;
	int n;

	/* Worst case: one byte becomes "\x1b" (4). */
	if ((out = malloc(len * 4 + 1)) == NULL)
		return NULL;
	p = out;
	while (len > 0) {
		n = utf8_decode(s, len, &cp);
		if (cp == CP_INVALID) {
			memcpy(p + used, replacement, 3);
			used += 3;
		} else if (is_control(cp))
			used += control_escape(cp, p + used);
		else {
			memcpy(p + used, s, (size_t)n);
			used += (size_t)n;
		}
		s += n;
		len -= (size_t)n;
	}
	out[used] = '\0';
	return out;
}
