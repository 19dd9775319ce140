/*
 * HTTP gateways (SMS, webhooks): request building and reply
 * classification, phone numbers and quiet hours.  Pure functions of their
 * arguments and the process zone, so the tests need no network.
 *
 * Body templates reuse template.c, so a value is escaped by exactly the
 * rules docs/templates.md states: the gateway's placeholders ({to},
 * {text}, ...) are rewritten to internal template fields before
 * tmpl_compile(), and rendered with TE_FORM or TE_JSON.
 */
#include "gateway.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "template.h"
#include "tz.h"

#define REASON_MAX	240	/* bytes of server text kept in a reason */
#define SCAN_MAX	65536	/* bytes of a reply body looked at */
#define KEY_MAX		200	/* bytes of an idempotency key */
#define RETRY_MAX	(400L * 86400)	/* a Retry-After beyond is clamped */

/* The gateway placeholders and the template fields that carry them. */
static const struct {
	const char	*name;
	enum tmpl_field	 field;
} placeholders[] = {
	{ "to",		TF_CUSTOMER_PHONE },
	{ "text",	TF_REMINDER_NOTE },
	{ "subject",	TF_CONTRACT_TITLE },
	{ "key",	TF_REMINDER_ID },
};
#define NPLACEHOLDERS	(sizeof(placeholders) / sizeof(placeholders[0]))

static char *
xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

static void
set_err(char **err, char *msg)
{
	if (err != NULL)
		*err = msg;
	else
		free(msg);
}

/* -- configuration ---------------------------------------------------- */

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
gw_conf_free(struct gw_conf *c)
{
	size_t i;

	free(c->url);
	free(c->method);
	for (i = 0; i < c->nheaders; i++)
		free(c->headers[i]);
	free(c->headers);
	tmpl_free(c->body);
	free(c->json_field);
	for (i = 0; i < c->njson_ok; i++)
		free(c->json_ok[i]);
	for (i = 0; i < c->njson_retry; i++)
		free(c->json_retry[i]);
	free(c->auth_user);
	free_secret(c->auth_secret);
	memset(c, 0, sizeof(*c));
}

/* Index of placeholder name (len bytes), or -1. */
static int
placeholder_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NPLACEHOLDERS; i++)
		if (strlen(placeholders[i].name) == len &&
		    memcmp(placeholders[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* The error for the '{' at p, which starts no known placeholder. */
static char *
placeholder_error(const char *p)
{
	size_t n = strcspn(p + 1, "{}\n");

	if (p[1 + n] != '}')
		return xprintf("unclosed '{' (write '{{' for a brace)");
	return xprintf("unknown placeholder {%.*s} (use {to}, {text}, "
	    "{subject} or {key})", (int)(n > 48 ? 48 : n), p + 1);
}

/*
 * Rewrites the gateway placeholders of text into template fields, in a
 * malloc'd copy; line numbers are kept, since no newline is added.
 */
static char *
body_translate(const char *text, char **err, int *line)
{
	size_t n = 0, len;
	const char *p = text;
	char *out;
	int ln = 1, i;

	if ((out = malloc(strlen(text) * 4 + 1)) == NULL)	/* {to}: 4x */
		return NULL;
	while (*p != '\0') {
		if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
			out[n++] = *p++;
			out[n++] = *p++;
			continue;
		}
		if (*p != '{') {
			ln += *p == '\n';
			out[n++] = *p++;
			continue;
		}
		len = strcspn(p + 1, "{}\n");
		i = p[1 + len] == '}' ? placeholder_find(p + 1, len) : -1;
		if (i < 0) {
			*line = ln;
			set_err(err, placeholder_error(p));
			free(out);
			return NULL;
		}
		n += (size_t)sprintf(out + n, "{%s}",
		    tmpl_field_name(placeholders[i].field));
		p += len + 2;
	}
	out[n] = '\0';
	return out;
}

struct tmpl *
gw_body_compile(const char *text, char **err, int *line)
{
	struct tmpl *t;
	char *tr;

	*line = 0;
	if ((tr = body_translate(text, err, line)) == NULL) {
		if (*line == 0)
			set_err(err, xprintf("out of memory"));
		return NULL;
	}
	t = tmpl_compile(tr, err, line);
	free(tr);
	return t;
}

static void
msg_vars(const struct gw_msg *m, struct tmpl_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->v[placeholders[0].field] = m->to;
	v->v[placeholders[1].field] = m->text;
	v->v[placeholders[2].field] = m->subject;
	v->v[placeholders[3].field] = m->key;
}

static int
is_token_char(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value" with a token name and no control character but TAB. */
static int
header_ok(const char *h)
{
	const unsigned char *p = (const unsigned char *)h;

	while (*p != '\0' && is_token_char(*p))
		p++;
	if (p == (const unsigned char *)h || *p != ':')
		return 0;
	for (; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

static int
header_is(const char *h, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

static int
url_ok(const char *u)
{
	const unsigned char *p = (const unsigned char *)u;

	if (strncasecmp(u, "http://", 7) != 0 &&
	    strncasecmp(u, "https://", 8) != 0)
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int
method_ok(const char *m)
{
	size_t n = strlen(m);

	return n > 0 && n <= 16 && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

static int
codes_ok(const struct gw_codes *c)
{
	size_t i;

	for (i = 0; i < c->n && i < GW_CODES_MAX; i++)
		if (c->code[i] < 100 || c->code[i] > 599)
			return 0;
	return c->n <= GW_CODES_MAX;
}

/*
 * A JSON body must stay JSON whatever the values are: render it with
 * hostile ones and parse the result.
 */
static char *
json_body_check(const struct tmpl *body)
{
	static const struct gw_msg hostile = {
		"+8613800138000", "\"}\\\n\t\x01 张三 😀 </script>",
		"a\"b", "k\"ey"
	};
	struct tmpl_vars v;
	json_error_t je;
	json_t *j;
	char *s, *msg = NULL;

	msg_vars(&hostile, &v);
	if ((s = tmpl_render(body, &v, TE_JSON)) == NULL)
		return xprintf("out of memory");
	if ((j = json_loads(s, JSON_DECODE_ANY, &je)) == NULL)
		msg = xprintf("body is not JSON once rendered (line %d, "
		    "column %d: %s); is each placeholder inside a string, and "
		    "each brace doubled?", je.line, je.column, je.text);
	json_decref(j);
	free(s);
	return msg;
}

static char *
conf_problem(const struct gw_conf *c)
{
	size_t i;

	if (c->url == NULL || !url_ok(c->url))
		return xprintf("url must be an http:// or https:// URL "
		    "without spaces");
	if (c->method != NULL && !method_ok(c->method))
		return xprintf("method must be an HTTP method such as POST");
	for (i = 0; i < c->nheaders; i++) {
		if (!header_ok(c->headers[i]))
			return xprintf("header %zu is not \"Name: value\" on "
			    "one line", i + 1);
		if (header_is(c->headers[i], "Idempotency-Key"))
			return xprintf("header %zu: crmd sets Idempotency-Key "
			    "itself", i + 1);
	}
	if (c->format == GW_FORM && c->body == NULL)
		return xprintf("a form gateway needs a body template");
	if (!codes_ok(&c->sent) || !codes_ok(&c->retry) || !codes_ok(&c->dead))
		return xprintf("status codes must be 100-599, at most %d",
		    GW_CODES_MAX);
	if (c->json_field == NULL && (c->njson_ok > 0 || c->njson_retry > 0))
		return xprintf("JSON success values need a JSON field");
	if (c->json_field != NULL && c->njson_ok == 0)
		return xprintf("a JSON field needs at least one success value");
	if ((c->auth_user == NULL) != (c->auth_secret == NULL))
		return xprintf("basic auth needs both a user and a secret");
	if (c->format == GW_JSON && c->body != NULL)
		return json_body_check(c->body);
	return NULL;
}

int
gw_conf_check(const struct gw_conf *c, char **err)
{
	char *msg;

	if ((msg = conf_problem(c)) == NULL)
		return 0;
	set_err(err, msg);
	return -1;
}

/* -- presets ---------------------------------------------------------- */

/* v escaped by esc, through the same code as every template value. */
static char *
escape_value(const char *v, enum tmpl_escape esc)
{
	struct tmpl_vars vars = { 0 };
	struct tmpl *t;
	char *err = NULL, *s;
	int line;

	if ((t = tmpl_compile("{reminder.note}", &err, &line)) == NULL) {
		free(err);
		return NULL;
	}
	vars.v[TF_REMINDER_NOTE] = v;
	s = tmpl_render(t, &vars, esc);
	tmpl_free(t);
	return s;
}

static const char *const twilio_ok[] = {
	"queued", "accepted", "scheduled", "sending", "sent"
};

static char *
twilio(const struct gw_preset_args *a, struct gw_conf *c)
{
	char *from, *text, *msg = NULL;
	int line;
	size_t i;

	if (a == NULL || a->account == NULL || *a->account == '\0' ||
	    strspn(a->account, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(a->account))
		return xprintf("twilio: account must be the Account SID");
	if (a->from == NULL || *a->from == '\0' || a->secret == NULL ||
	    *a->secret == '\0')
		return xprintf("twilio: from and the auth token are needed");
	if ((from = escape_value(a->from, TE_FORM)) == NULL)
		return xprintf("out of memory");
	text = xprintf("To={to}&From=%s&Body={text}", from);
	free(from);
	c->url = xprintf("https://api.twilio.com/2010-04-01/Accounts/%s/"
	    "Messages.json", a->account);
	c->method = strdup("POST");
	c->format = GW_FORM;
	c->auth_user = strdup(a->account);
	c->auth_secret = strdup(a->secret);
	c->json_field = strdup("status");
	for (i = 0; i < sizeof(twilio_ok) / sizeof(twilio_ok[0]); i++)
		c->json_ok[c->njson_ok++] = strdup(twilio_ok[i]);
	if (text != NULL)
		c->body = gw_body_compile(text, &msg, &line);
	free(text);
	if (msg != NULL)
		return msg;
	if (c->url == NULL || c->method == NULL || c->auth_user == NULL ||
	    c->auth_secret == NULL || c->json_field == NULL || c->body == NULL)
		return xprintf("out of memory");
	for (i = 0; i < c->njson_ok; i++)
		if (c->json_ok[i] == NULL)
			return xprintf("out of memory");
	return NULL;
}

int
gw_preset(const char *name, const struct gw_preset_args *a,
    struct gw_conf *out, char **err)
{
	char *msg;

	memset(out, 0, sizeof(*out));
	if (strcmp(name, "twilio") == 0)
		msg = twilio(a, out);
	else
		msg = xprintf("unknown preset \"%.32s\" (known: twilio)", name);
	if (msg == NULL)
		return 0;
	gw_conf_free(out);
	set_err(err, msg);
	return -1;
}

/* -- requests --------------------------------------------------------- */

void
gw_request_free(struct gw_request *r)
{
	size_t i;

	free(r->url);
	free(r->method);
	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Printable ASCII without spaces: safe in a header, as the key is. */
static int
key_ok(const char *k)
{
	const unsigned char *p = (const unsigned char *)k;

	if (*p == '\0' || strlen(k) > KEY_MAX)
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

static char *
render_body(const struct gw_conf *c, const struct gw_msg *m, char **body)
{
	struct tmpl_vars v;
	json_error_t je;
	json_t *j;

	if (c->body != NULL) {
		msg_vars(m, &v);
		*body = tmpl_render(c->body, &v,
		    c->format == GW_FORM ? TE_FORM : TE_JSON);
		return *body == NULL ? xprintf("out of memory") : NULL;
	}
	/* A raw body was rendered as JSON by message.c; check it stayed so. */
	if (m->text == NULL ||
	    (j = json_loads(m->text, JSON_DECODE_ANY, &je)) == NULL)
		return xprintf("the message is not JSON (line %d, column %d)",
		    m->text == NULL ? 0 : je.line,
		    m->text == NULL ? 0 : je.column);
	json_decref(j);
	if ((*body = strdup(m->text)) == NULL)
		return xprintf("out of memory");
	return NULL;
}

static char *
build_headers(const struct gw_conf *c, const struct gw_msg *m,
    struct gw_request *r)
{
	int has_type = 0;
	size_t i;

	if ((r->headers = calloc(c->nheaders + 2, sizeof(char *))) == NULL)
		return xprintf("out of memory");
	for (i = 0; i < c->nheaders; i++) {
		has_type |= header_is(c->headers[i], "Content-Type");
		if ((r->headers[r->nheaders++] = strdup(c->headers[i])) == NULL)
			return xprintf("out of memory");
	}
	if (!has_type && (r->headers[r->nheaders++] = strdup(c->format ==
	    GW_FORM ? "Content-Type: application/x-www-form-urlencoded" :
	    "Content-Type: application/json; charset=utf-8")) == NULL)
		return xprintf("out of memory");
	if (m->key != NULL && (r->headers[r->nheaders++] =
	    xprintf("Idempotency-Key: %s", m->key)) == NULL)
		return xprintf("out of memory");
	return NULL;
}

int
gw_build(const struct gw_conf *c, const struct gw_msg *m,
    struct gw_request *r, char **err)
{
	char *msg = NULL;

	memset(r, 0, sizeof(*r));
	if (m->key != NULL && !key_ok(m->key))
		msg = xprintf("the idempotency key is not header-safe");
	else if ((r->url = strdup(c->url)) == NULL || (r->method =
	    strdup(c->method != NULL ? c->method : "POST")) == NULL)
		msg = xprintf("out of memory");
	if (msg == NULL)
		msg = render_body(c, m, &r->body);
	if (msg == NULL)
		msg = build_headers(c, m, r);
	if (msg != NULL) {
		gw_request_free(r);
		set_err(err, msg);
		return -1;
	}
	r->body_len = strlen(r->body);
	r->auth_user = c->auth_user;
	r->auth_secret = c->auth_secret;
	return 0;
}

/* -- replies ---------------------------------------------------------- */

static int
codes_have(const struct gw_codes *c, long code)
{
	size_t i;

	for (i = 0; i < c->n && i < GW_CODES_MAX; i++)
		if (c->code[i] == code)
			return 1;
	return 0;
}

static enum gw_verdict
status_class(const struct gw_conf *c, long s)
{
	if (codes_have(&c->sent, s))
		return GW_SENT;
	if (codes_have(&c->dead, s))
		return GW_DEAD;
	if (codes_have(&c->retry, s))
		return GW_RETRY;
	if (s >= 200 && s <= 299)
		return GW_SENT;
	if (s == 408 || s == 429)
		return GW_RETRY;
	if (s >= 400 && s <= 499)
		return GW_DEAD;
	return GW_RETRY;	/* 5xx, 1xx, 3xx, no reply */
}

/* Length of the well-formed UTF-8 sequence at p (avail bytes), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * The server's text made one safe line: controls (C0, DEL, C1) become
 * spaces, runs of spaces one, bytes that are not UTF-8 '?'.
 */
static char *
flatten(const char *body, size_t len)
{
	const unsigned char *p = (const unsigned char *)body;
	size_t i = 0, n = 0, k;
	char *out;

	if (len > SCAN_MAX)
		len = SCAN_MAX;
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		k = utf8_seq(p + i, len - i);
		if (k == 0) {
			out[n++] = '?';
			i++;
			continue;
		}
		if (p[i] <= 0x20 || p[i] == 0x7f ||
		    (k == 2 && p[i] == 0xc2 && p[i + 1] <= 0x9f)) {
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
			i += k;
			continue;
		}
		memcpy(out + n, p + i, k);
		n += k;
		i += k;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

/* Replaces every occurrence of secret in s by "***" (never longer). */
static void
mask(char *s, const char *secret)
{
	size_t sl;
	char *p = s;

	if (secret == NULL || (sl = strlen(secret)) < 3)
		return;
	while ((p = strstr(p, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + sl, strlen(p + sl) + 1);
		p += 3;
	}
}

/* The secret percent-encoded as a URL or form would carry it. */
static char *
url_encoded(const char *secret, int lower, int plus)
{
	const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
	size_t n = strlen(secret);
	char *out = malloc(3 * n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)secret; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p) != NULL)
			*o++ = (char)*p;
		else if (*p == ' ' && plus)
			*o++ = '+';
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/*
 * The part of base64(x || secret || y) that depends on the secret alone,
 * for a secret starting at byte offset `shift` (0-2) within its 3-byte
 * group: an echoed "Authorization: Basic" value holds the secret at some
 * such offset after "user:".
 */
static char *
base64_inner(const char *secret, int shift)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t sl = strlen(secret), n = (size_t)shift + sl, groups = n / 3;
	unsigned char *in = calloc(n + 3, 1);
	char *out = calloc(groups * 4 + 1, 1);
	size_t o = 0, first, last;

	if (in == NULL || out == NULL) {
		free(in);
		free(out);
		return NULL;
	}
	memcpy(in + shift, secret, sl);
	for (size_t g = 0; g < groups; g++) {
		unsigned v = (unsigned)in[3 * g] << 16 |
		    (unsigned)in[3 * g + 1] << 8 | in[3 * g + 2];
		for (int k = 3; k >= 0; k--)
			out[o++] = b64[(v >> (6 * k)) & 63];
	}
	free(in);
	/* Characters touching the unknown bytes before the secret: with a
	 * shift of 1 the first two (8 + 4 bits), of 2 the first three. */
	first = shift == 0 ? 0 : (size_t)shift + 1;
	last = o;	/* whole groups only: the tail mixes with what follows */
	if (last <= first + 3) {
		free(out);
		return NULL;	/* too short to recognise safely */
	}
	memmove(out, out + first, last - first);
	out[last - first] = '\0';
	return out;
}

/*
 * A gateway may echo the request in its error reply: mask the secret in
 * clear, percent-encoded and base64-encoded (at each alignment) before
 * the text reaches outbox.last_error or the log.
 */
static void
mask_secret(char *s, const char *secret)
{
	char *v;

	if (secret == NULL || strlen(secret) < 3)
		return;
	mask(s, secret);
	for (int i = 0; i < 4; i++) {
		if ((v = url_encoded(secret, i & 1, i & 2)) != NULL &&
		    strcmp(v, secret) != 0)
			mask(s, v);
		free(v);
	}
	for (int shift = 0; shift < 3; shift++) {
		if ((v = base64_inner(secret, shift)) != NULL)
			mask(s, v);
		free(v);
	}
}

/* Cuts s to at most max bytes on a character boundary, marking the cut. */
static void
truncate_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max - 3;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(s + n, "...", 4);
}

static char *
server_text(const struct gw_conf *c, const char *body, size_t len)
{
	char *t;

	if (body == NULL || len == 0)
		return strdup("");
	if ((t = flatten(body, len)) == NULL)
		return NULL;
	mask_secret(t, c->auth_secret);
	truncate_utf8(t, REASON_MAX);
	return t;
}

static char *
make_reason(const struct gw_conf *c, long status, const char *what,
    const char *body, size_t len)
{
	char *t = server_text(c, body, len), *r;

	if (t == NULL)
		return NULL;
	if (status == 0)
		r = xprintf("no reply from the gateway%s%s", *t ? ": " : "", t);
	else
		r = xprintf("HTTP %ld%s%s%s", status, what != NULL ? what : "",
		    *t ? ": " : "", t);
	free(t);
	return r;
}

/* The JSON value as text: strings as they are, numbers as written. */
static char *
json_text(const json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v))
		return xprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xprintf("%g", json_real_value(v));
	if (json_is_true(v))
		return strdup("true");
	if (json_is_false(v))
		return strdup("false");
	if (json_is_null(v))
		return strdup("null");
	return NULL;	/* an object or array is never a status */
}

/* The reply's field at the dotted path, as text, or NULL. */
static char *
json_field(const char *body, size_t len, const char *path)
{
	char name[128];
	const char *p = path, *dot;
	json_t *root, *v;
	char *out;
	size_t n;

	if (body == NULL || (root = json_loadb(body, len, 0, NULL)) == NULL)
		return NULL;
	for (v = root; v != NULL && *p != '\0'; p = *dot ? dot + 1 : dot) {
		dot = p + strcspn(p, ".");
		if ((n = (size_t)(dot - p)) >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, p, n);
		name[n] = '\0';
		v = json_is_object(v) ? json_object_get(v, name) : NULL;
	}
	out = v != NULL ? json_text(v) : NULL;
	json_decref(root);
	return out;
}

static int
in_list(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* A 2xx with a JSON check: the field decides, and says why. */
static enum gw_verdict
json_verdict(const struct gw_conf *c, long status, const char *body,
    size_t len, char **reason)
{
	char *v = json_field(body, len, c->json_field), *what;
	enum gw_verdict verdict;

	if (v != NULL && in_list(c->json_ok, c->njson_ok, v)) {
		free(v);
		return GW_SENT;
	}
	verdict = v != NULL && in_list(c->json_retry, c->njson_retry, v) ?
	    GW_RETRY : GW_DEAD;
	if (v != NULL) {
		char *safe = server_text(c, v, strlen(v));

		what = xprintf(", %s %s", c->json_field, safe ? safe : "?");
		free(safe);
	} else
		what = xprintf(", no JSON field %s", c->json_field);
	*reason = make_reason(c, status, what, body, len);
	free(what);
	free(v);
	return verdict;
}

enum gw_verdict
gw_classify(const struct gw_conf *c, long status, const char *retry_after,
    const char *body, size_t len, int64_t now, int64_t *retry_at,
    char **reason)
{
	enum gw_verdict v = status_class(c, status);

	*retry_at = 0;
	*reason = NULL;
	/* An override (409 for a repeated key) is final; a 2xx is checked. */
	if (v == GW_SENT && c->json_field != NULL && status / 100 == 2)
		v = json_verdict(c, status, body, len, reason);
	else if (v != GW_SENT)
		*reason = make_reason(c, status, NULL, body, len);
	if (v == GW_RETRY && retry_after != NULL &&
	    gw_retry_after(retry_after, now, retry_at) == -1)
		*retry_at = 0;
	return v;
}

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* The three HTTP-date forms of RFC 9110 section 5.6.7, as a UTC tm. */
static int
http_date(const char *s, struct tm *tm)
{
	char wd[16], mon[4];
	int n = -1, i;

	memset(tm, 0, sizeof(*tm));
	if (sscanf(s, "%15[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n",
	    wd, &tm->tm_mday, mon, &tm->tm_year, &tm->tm_hour, &tm->tm_min,
	    &tm->tm_sec, &n) == 7 && s[n] == '\0')
		;
	else if (n = -1, sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d "
	    "%2d:%2d:%2d GMT%n", wd, &tm->tm_mday, mon, &tm->tm_year,
	    &tm->tm_hour, &tm->tm_min, &tm->tm_sec, &n) == 7 && s[n] == '\0')
		tm->tm_year += tm->tm_year < 70 ? 2000 : 1900;
	else if (n = -1, sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d "
	    "%4d%n", wd, mon, &tm->tm_mday, &tm->tm_hour, &tm->tm_min,
	    &tm->tm_sec, &tm->tm_year, &n) == 7 && s[n] == '\0')
		;
	else
		return -1;
	for (i = 0; i < 12 && strcmp(mon, months[i]) != 0; i++)
		;
	if (i == 12 || tm->tm_mday < 1 || tm->tm_mday > 31 ||
	    tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60 ||
	    tm->tm_year < 1970 || tm->tm_year > 9999)
		return -1;
	tm->tm_mon = i;
	tm->tm_year -= 1900;
	return 0;
}

int
gw_retry_after(const char *value, int64_t now, int64_t *at)
{
	const char *s = value + strspn(value, " \t");
	size_t digits = strspn(s, "0123456789");
	struct tm tm;
	int64_t t;

	if (digits > 0 && s[digits + strspn(s + digits, " \t")] == '\0') {
		t = digits > 10 ? RETRY_MAX : strtoll(s, NULL, 10);
		*at = now + (t > RETRY_MAX ? RETRY_MAX : t);
		return 0;
	}
	if (http_date(s, &tm) == -1)
		return -1;
	t = (int64_t)timegm(&tm);
	*at = t < now ? now : t > now + RETRY_MAX ? now + RETRY_MAX : t;
	return 0;
}

char *
gw_url_redacted(const char *url)
{
	const char *a = strstr(url, "://"), *host, *end;
	size_t hl;

	if (a == NULL)
		return strdup("...");
	host = a + 3;
	end = host + strcspn(host, "/?#");
	/* user info before '@' may hold a password */
	for (a = host; a < end && *a != '@'; a++)
		;
	if (a < end)
		host = a + 1;
	hl = (size_t)(end - host);
	return xprintf("%.*s://%.*s%s", (int)(strstr(url, "://") - url), url,
	    (int)hl, host, *end != '\0' ? "/..." : "");
}

/* -- phone numbers ---------------------------------------------------- */

int
phone_national_compile(const char *regex, const char *country,
    struct phone_national *nat, char **err)
{
	char *anchored, buf[128];
	int rc;

	memset(nat, 0, sizeof(*nat));
	if (country == NULL || *country < '1' || *country > '9' ||
	    strlen(country) > 3 || strspn(country, "0123456789") !=
	    strlen(country)) {
		set_err(err, xprintf("country code must be 1-3 digits, "
		    "such as 86"));
		return -1;
	}
	if ((anchored = xprintf("^(%s)$", regex)) == NULL) {
		set_err(err, xprintf("out of memory"));
		return -1;
	}
	rc = regcomp(&nat->re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc != 0) {
		regerror(rc, &nat->re, buf, sizeof(buf));
		set_err(err, xprintf("national format: %s", buf));
		return -1;
	}
	if ((nat->country = strdup(country)) == NULL) {
		regfree(&nat->re);
		set_err(err, xprintf("out of memory"));
		return -1;
	}
	return 0;
}

void
phone_national_free(struct phone_national *nat)
{
	if (nat->country != NULL) {
		regfree(&nat->re);
		free(nat->country);
		nat->country = NULL;
	}
}

static int
e164(const char *s)
{
	size_t n = strlen(s + 1);

	return s[0] == '+' && s[1] >= '1' && s[1] <= '9' && n >= 7 &&
	    n <= 15 && strspn(s + 1, "0123456789") == n;
}

int
phone_validate(const char *phone, const struct phone_national *nat,
    char **normalised, const char **why)
{
	char buf[40];
	size_t n = 0;
	const char *p;

	*normalised = NULL;
	for (p = phone; *p != '\0'; p++) {
		if (strchr(" -.()", *p) != NULL)
			continue;
		if (n + 1 >= sizeof(buf)) {
			*why = "too long for a phone number";
			return -1;
		}
		buf[n++] = *p;
	}
	buf[n] = '\0';
	if (n == 0) {
		*why = "empty phone number";
		return -1;
	}
	if (buf[0] == '+') {
		if (!e164(buf)) {
			*why = "not an E.164 number: + then 7 to 15 digits";
			return -1;
		}
		*normalised = strdup(buf);
	} else if (nat != NULL && nat->country != NULL &&
	    regexec(&nat->re, buf, 0, NULL, 0) == 0 &&
	    strspn(buf, "0123456789") == n) {
		*normalised = xprintf("+%s%s", nat->country, buf);
		if (*normalised != NULL && !e164(*normalised)) {
			free(*normalised);
			*normalised = NULL;
			*why = "national number too long for E.164";
			return -1;
		}
	} else {
		*why = nat != NULL ? "neither E.164 (+ and country code) nor "
		    "the national format" : "not E.164: + and the country code "
		    "are needed";
		return -1;
	}
	if (*normalised == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/* -- quiet hours ------------------------------------------------------ */

int
quiet_hours_next(int start, int end, time_t now, time_t *send_at)
{
	struct tz_date d;
	int m, quiet;

	*send_at = now;
	if (start < 0 || start >= 1440 || end < 0 || end > 1440)
		return -1;
	if (start == end)
		return 0;
	tz_utc_to_local(now, &d, &m);
	if (start < end)
		quiet = m >= start && m < end;
	else {
		quiet = m >= start || m < end;
		if (m >= start)
			tz_add_days(&d, 1);	/* ends tomorrow morning */
	}
	if (!quiet)
		return 0;
	if (end == 1440) {
		tz_add_days(&d, 1);
		end = 0;
	}
	*send_at = tz_local_to_utc(&d, end);
	if (*send_at < now)	/* only a zone change could do this */
		*send_at = now;
	return 1;
}
