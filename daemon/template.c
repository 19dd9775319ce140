/*
 * Message templates.  A template is compiled once, at config load, into a
 * list of segments: literal text (with "{{" and "}}" already reduced to
 * one brace) and fields.  Rendering, which runs for every fired reminder,
 * is then two passes over that list: one to size the result, one to fill
 * it, with each field's value escaped for where the text lands.  The
 * template's own text is never escaped: the admin wrote it for its channel
 * (a webhook body is JSON), and only the values come from the database.
 */
#include "template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX	48	/* bytes of a bad placeholder echoed back */

static const char *const field_names[TF_MAX] = {
	[TF_CUSTOMER_NAME] =	"customer.name",
	[TF_CUSTOMER_CODE] =	"customer.code",
	[TF_CUSTOMER_LEVEL] =	"customer.level",
	[TF_CUSTOMER_STATUS] =	"customer.status",
	[TF_CUSTOMER_PHONE] =	"customer.phone",
	[TF_CUSTOMER_EMAIL] =	"customer.email",
	[TF_CONTACT_NAME] =	"contact.name",
	[TF_CONTACT_PHONE] =	"contact.phone",
	[TF_USER_NAME] =	"user.name",
	[TF_USER_EMAIL] =	"user.email",
	[TF_USER_PHONE] =	"user.phone",
	[TF_MANAGER_NAME] =	"manager.name",
	[TF_REMINDER_ID] =	"reminder.id",
	[TF_REMINDER_KIND] =	"reminder.kind",
	[TF_REMINDER_DUE] =	"reminder.due",
	[TF_REMINDER_NOTE] =	"reminder.note",
	[TF_REMINDER_LATE] =	"reminder.late",
	[TF_CONTRACT_TITLE] =	"contract.title",
	[TF_CONTRACT_END] =	"contract.end_date",
	[TF_DIGEST_ITEMS] =	"digest.items",
	[TF_DIGEST_COUNTS] =	"digest.counts",
};

#define SEG_LITERAL	(-1)

struct seg {
	int		 field;		/* enum tmpl_field, or SEG_LITERAL */
	size_t		 off, len;	/* literal: bytes of tmpl->lit */
};

struct tmpl {
	struct seg	*segs;
	size_t		 nsegs, cap;
	char		*lit;		/* all literal text, back to back */
	size_t		 litlen;
};

const char *
tmpl_field_name(enum tmpl_field f)
{
	return (unsigned)f < TF_MAX ? field_names[f] : "?";
}

/* -- UTF-8 ------------------------------------------------------------ */

static int
cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.  Reads at most
 * avail bytes.
 */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (!cont(s[i]))
			return 0;
	return n;
}

int
tmpl_utf8_check(const char *s, size_t len, int *line)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	*line = 1;
	while (i < len) {
		if (p[i] == '\0' || (n = utf8_len(p + i, len - i)) == 0)
			return -1;
		if (p[i] == '\n')
			(*line)++;
		i += n;
	}
	return 0;
}

/* -- compiling -------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void
set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) == -1)
		*err = NULL;
	va_end(ap);
}

/* Placeholder text as shown in an error: bounded, no control bytes. */
static const char *
shown(const char *s, size_t len, char *buf, size_t size)
{
	size_t i;

	if (len > size - 4)
		len = size - 4;
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	if (len == size - 4)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

static struct seg *
new_seg(struct tmpl *t)
{
	if (t->nsegs == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct seg *s = reallocarray(t->segs, cap, sizeof(*s));

		if (s == NULL)
			return NULL;
		t->segs = s;
		t->cap = cap;
	}
	return &t->segs[t->nsegs++];
}

/* Appends literal bytes, growing the last literal segment if there is one. */
static int
add_literal(struct tmpl *t, const char *s, size_t len)
{
	struct seg *g = t->nsegs > 0 ? &t->segs[t->nsegs - 1] : NULL;

	if (g == NULL || g->field != SEG_LITERAL) {
		if ((g = new_seg(t)) == NULL)
			return -1;
		g->field = SEG_LITERAL;
		g->off = t->litlen;
		g->len = 0;
	}
	memcpy(t->lit + t->litlen, s, len);
	t->litlen += len;
	g->len += len;
	return 0;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/*
 * The field named by name[0..len), or -1 with *err saying why not.  A
 * name with JSON punctuation in it is almost always a brace that was
 * meant literally, so say how to write one.
 */
static int
lookup_field(const char *name, size_t len, char **err)
{
	char buf[SHOWN_MAX + 4];
	size_t i, blank = 0;
	int f;

	for (i = 0; i < len; i++)
		if (name[i] == ' ' || name[i] == '\t')
			blank++;
	shown(name, len, buf, sizeof(buf));
	if (blank == len) {
		set_err(err, "empty placeholder {%s}", buf);
		return -1;
	}
	if (blank > 0) {
		set_err(err, "spaces in placeholder {%s}", buf);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!is_name_char(name[i])) {
			set_err(err, "'{' that does not start a "
			    "placeholder must be written '{{'");
			return -1;
		}
	}
	for (f = 0; f < TF_MAX; f++)
		if (strlen(field_names[f]) == len &&
		    memcmp(field_names[f], name, len) == 0)
			return f;
	set_err(err, "unknown placeholder {%s}", buf);
	return -1;
}

/* Compiles the placeholder at *pp ('{'); advances past its '}'. */
static int
add_field(struct tmpl *t, const char **pp, char **err)
{
	const char *name = *pp + 1;
	size_t len = strcspn(name, "}\n");
	struct seg *g;
	int f;

	if (name[len] != '}') {
		set_err(err, "unterminated placeholder: '{' without '}' "
		    "(write '{{' for a literal brace)");
		return -1;
	}
	if ((f = lookup_field(name, len, err)) == -1)
		return -1;
	if ((g = new_seg(t)) == NULL) {
		set_err(err, "out of memory");
		return -1;
	}
	g->field = f;
	g->off = g->len = 0;
	*pp = name + len + 1;
	return 0;
}

static int
compile_into(struct tmpl *t, const char *text, char **err, int *line)
{
	const char *p = text;

	*line = 1;
	while (*p != '\0') {
		size_t n = strcspn(p, "{}\n");

		if (n > 0) {
			if (add_literal(t, p, n) == -1)
				goto oom;
			p += n;
			continue;
		}
		if (*p == '\n') {
			(*line)++;
			if (add_literal(t, p++, 1) == -1)
				goto oom;
		} else if (p[1] == *p) {	/* "{{" or "}}" */
			if (add_literal(t, p, 1) == -1)
				goto oom;
			p += 2;
		} else if (*p == '}') {
			set_err(err, "'}' that does not end a "
			    "placeholder must be written '}}'");
			return -1;
		} else if (add_field(t, &p, err) == -1)
			return -1;
	}
	return 0;
oom:
	set_err(err, "out of memory");
	return -1;
}

struct tmpl *
tmpl_compile(const char *text, char **err, int *line)
{
	struct tmpl *t;

	*err = NULL;
	*line = 0;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->lit = malloc(strlen(text) + 1)) == NULL) {
		free(t);
		set_err(err, "out of memory");
		return NULL;
	}
	if (compile_into(t, text, err, line) == -1) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->segs);
	free(t->lit);
	free(t);
}

/* -- rendering -------------------------------------------------------- */

static const char hex[] = "0123456789ABCDEF";

/*
 * Each escaper writes the escaped form of v to out and returns its length;
 * with out NULL it only measures.
 */
static size_t
esc_text(char *out, const char *v)
{
	size_t n = strlen(v);

	if (out != NULL)
		memcpy(out, v, n);
	return n;
}

/*
 * Header-safe: C0 controls (CR and LF above all), DEL and the C1 controls
 * (U+0080-U+009F, which include NEL) become one space each, so no value
 * can start a new header line.
 */
static size_t
esc_header(char *out, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = 0;

	while (*p != '\0') {
		unsigned char c = *p;

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && p[1] >= 0x80 &&
		    p[1] <= 0x9f)) {
			if (out != NULL)
				out[n] = ' ';
			p += c == 0xc2 ? 2 : 1;
		} else {
			if (out != NULL)
				out[n] = (char)c;
			p++;
		}
		n++;
	}
	return n;
}

/* application/x-www-form-urlencoded, as the WHATWG URL standard has it. */
static size_t
esc_form(char *out, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = 0;

	for (; *p != '\0'; p++) {
		if (is_name_char((char)*p) || *p == '*') {
			if (out != NULL)
				out[n] = (char)*p;
			n++;
		} else if (*p == ' ') {
			if (out != NULL)
				out[n] = '+';
			n++;
		} else {
			if (out != NULL) {
				out[n] = '%';
				out[n + 1] = hex[*p >> 4];
				out[n + 2] = hex[*p & 0xf];
			}
			n += 3;
		}
	}
	return n;
}

/* The JSON escape of one ASCII byte, into e (>= 7 bytes); its length. */
static size_t
json_ascii(unsigned char c, char *e)
{
	const char *named = NULL;

	switch (c) {
	case '"':	named = "\\\"";	break;
	case '\\':	named = "\\\\";	break;
	case '\n':	named = "\\n";	break;
	case '\r':	named = "\\r";	break;
	case '\t':	named = "\\t";	break;
	case '\b':	named = "\\b";	break;
	case '\f':	named = "\\f";	break;
	}
	if (named != NULL) {
		memcpy(e, named, 2);
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		memcpy(e, "\\u00", 4);
		e[4] = hex[c >> 4];
		e[5] = hex[c & 0xf];
		return 6;
	}
	e[0] = (char)c;
	return 1;
}

/*
 * Inside a JSON string.  Valid UTF-8 is copied as is; a byte that is not
 * part of a well-formed sequence becomes U+FFFD, so the document stays
 * valid JSON whatever the database holds.
 */
static size_t
esc_json(char *out, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = 0, len;
	char e[8];

	while (*p != '\0') {
		if (*p < 0x80) {
			len = json_ascii(*p++, e);
			if (out != NULL)
				memcpy(out + n, e, len);
			n += len;
		} else if ((len = utf8_len(p, 4)) == 0) {
			if (out != NULL)
				memcpy(out + n, "\\ufffd", 6);
			n += 6;
			p++;
		} else {
			if (out != NULL)
				memcpy(out + n, p, len);
			n += len;
			p += len;
		}
	}
	return n;
}

/*
 * HTML text, or an attribute value in either quotes: the five characters
 * that could end or open markup become character references, so a name
 * like <script> or a quote is shown, never obeyed.
 */
static size_t
esc_html(char *out, const char *v)
{
	size_t n = 0, len;
	const char *e;

	for (; *v != '\0'; v++) {
		switch (*v) {
		case '&':	e = "&amp;";	break;
		case '<':	e = "&lt;";	break;
		case '>':	e = "&gt;";	break;
		case '"':	e = "&quot;";	break;
		case '\'':	e = "&#39;";	break;
		default:	e = NULL;	break;
		}
		len = e != NULL ? strlen(e) : 1;
		if (out != NULL)
			memcpy(out + n, e != NULL ? e : v, len);
		n += len;
	}
	return n;
}

static size_t
escape(char *out, const char *v, enum tmpl_escape esc)
{
	switch (esc) {
	case TE_HTML:	return esc_html(out, v);
	case TE_HEADER:	return esc_header(out, v);
	case TE_FORM:	return esc_form(out, v);
	case TE_JSON:	return esc_json(out, v);
	case TE_TEXT:
	default:	return esc_text(out, v);
	}
}

char *
tmpl_render(const struct tmpl *t, const struct tmpl_vars *vars,
    enum tmpl_escape esc)
{
	size_t i, n = 0;
	char *buf;

	for (i = 0; i < t->nsegs; i++) {
		const struct seg *g = &t->segs[i];
		const char *v;

		if (g->field == SEG_LITERAL)
			n += g->len;
		else if ((v = vars->v[g->field]) != NULL)
			n += escape(NULL, v, esc);
	}
	if ((buf = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, n = 0; i < t->nsegs; i++) {
		const struct seg *g = &t->segs[i];
		const char *v;

		if (g->field == SEG_LITERAL) {
			memcpy(buf + n, t->lit + g->off, g->len);
			n += g->len;
		} else if ((v = vars->v[g->field]) != NULL)
			n += escape(buf + n, v, esc);
	}
	buf[n] = '\0';
	return buf;
}
