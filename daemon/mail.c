/*
 * Email construction for libcurl's SMTP upload (see mail.h for the
 * guarantees).  The pieces: counted-string cleaning (UTF-8 repair, line
 * endings), address validation, RFC 2047 header encoding with folding,
 * the Message-ID, and mail_build() which hands the result to libcurl's
 * MIME API.  Nothing here does I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"

#define HDR_SOFT	78	/* RFC 5322 "SHOULD" line length */
#define EW_MAX		75	/* RFC 2047 encoded-word maximum */
#define EW_PREFIX	"=?UTF-8?B?"
#define EW_OVERHEAD	12	/* "=?UTF-8?B?" + "?=" */
#define KEY_MAX		200
#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */

struct mail_built {
	curl_mime		*mime;
	struct curl_slist	*rcpt;
	struct curl_slist	*headers;
	char			*from;	/* libcurl copies it; freed here */
};

/* A growable byte buffer that remembers an allocation failure. */
struct buf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
buf_add(struct buf *b, const void *data, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* The buffer's string, or NULL (and nothing leaked) after a failure. */
static char *
buf_finish(struct buf *b, size_t *lenp)
{
	if (!b->oom && b->p == NULL)
		buf_add(b, "", 0);
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (lenp != NULL)
		*lenp = b->len;
	return b->p;
}

struct mail_str
mail_cstr(const char *s)
{
	struct mail_str	 m = { s, s != NULL ? strlen(s) : 0 };

	return m;
}

/*
 * Length of the well-formed UTF-8 character at p (1-4), or 0 if the
 * bytes there are ill-formed; then *bad is the length of the maximal
 * ill-formed subpart to replace by one U+FFFD.
 */
static size_t
utf8_char(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char	 c = p[0], lo = 0x80, hi = 0xbf;
	size_t		 need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*bad = 1;
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

char *
mail_clean_header_text(struct mail_str in, size_t *lenp)
{
	const unsigned char	*p = (const unsigned char *)in.ptr;
	struct buf		 b = { 0 };
	size_t			 i = 0, n, bad;

	buf_add(&b, "", 0);
	while (p != NULL && i < in.len) {
		if (p[i] == '\r' && i + 1 < in.len && p[i + 1] == '\n') {
			buf_add(&b, " ", 1);
			i += 2;
		} else if (p[i] == '\r' || p[i] == '\n' || p[i] == '\t') {
			buf_add(&b, " ", 1);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			buf_adds(&b, REPLACEMENT);
			i++;
		} else if ((n = utf8_char(p + i, in.len - i, &bad)) == 0) {
			buf_adds(&b, REPLACEMENT);
			i += bad;
		} else {
			buf_add(&b, p + i, n);
			i += n;
		}
	}
	return buf_finish(&b, lenp);
}

char *
mail_normalize_body(struct mail_str in, size_t *lenp, unsigned *flags)
{
	const unsigned char	*p = (const unsigned char *)in.ptr;
	struct buf		 b = { 0 };
	size_t			 i = 0, n, bad, line = 0;

	*flags = 0;
	buf_add(&b, "", 0);
	while (p != NULL && i < in.len) {
		if (p[i] == '\r' || p[i] == '\n') {
			i += (p[i] == '\r' && i + 1 < in.len &&
			    p[i + 1] == '\n') ? 2 : 1;
			buf_add(&b, "\r\n", 2);
			line = 0;
			continue;
		}
		if (p[i] == '\0') {
			buf_adds(&b, REPLACEMENT);
			n = 3;
			i++;
		} else if ((n = utf8_char(p + i, in.len - i, &bad)) == 0) {
			buf_adds(&b, REPLACEMENT);
			n = 3;
			i += bad;
		} else {
			buf_add(&b, p + i, n);
			i += n;
		}
		if (n > 1)
			*flags |= MAIL_BODY_8BIT;
		if ((line += n) > MAIL_MAX_LINE)
			*flags |= MAIL_BODY_LONG;
	}
	return buf_finish(&b, lenp);
}

/* ---- Addresses ---- */

/* RFC 5322 atext: ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~". */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * Every reason exists in three spellings, so mail_build() can say whose
 * address it was while the reason stays a static string.
 */
enum addr_role { ROLE_ANY, ROLE_SENDER, ROLE_RECIPIENT };
#define REASON(s) { "address " s, "sender address " s, "recipient address " s }
enum addr_err {
	AE_EMPTY, AE_CR, AE_LF, AE_NUL, AE_LT, AE_GT, AE_LONG, AE_NONASCII,
	AE_CTRL, AE_NOAT, AE_LOCAL_EMPTY, AE_LOCAL_LONG, AE_LOCAL_DOT,
	AE_LOCAL_DOTDOT, AE_LOCAL_CHAR, AE_DOM_EMPTY, AE_DOM_LONG,
	AE_DOM_LABEL, AE_DOM_HYPHEN, AE_DOM_CHAR, AE_OK
};
static const char *const addr_reasons[][3] = {
	[AE_EMPTY] = REASON("is empty"),
	[AE_CR] = REASON("contains CR"),
	[AE_LF] = REASON("contains LF"),
	[AE_NUL] = REASON("contains NUL"),
	[AE_LT] = REASON("contains '<'"),
	[AE_GT] = REASON("contains '>'"),
	[AE_LONG] = REASON("is longer than 254 octets"),
	[AE_NONASCII] = REASON("contains non-ASCII octets"),
	[AE_CTRL] = REASON("contains a space or control character"),
	[AE_NOAT] = REASON("has no '@'"),
	[AE_LOCAL_EMPTY] = REASON("has an empty local part"),
	[AE_LOCAL_LONG] = REASON("local part is longer than 64 octets"),
	[AE_LOCAL_DOT] = REASON("local part starts or ends with '.'"),
	[AE_LOCAL_DOTDOT] = REASON("local part contains '..'"),
	[AE_LOCAL_CHAR] = REASON("local part has a character outside "
	    "RFC 5322 atext"),
	[AE_DOM_EMPTY] = REASON("has an empty domain"),
	[AE_DOM_LONG] = REASON("domain is longer than 253 octets"),
	[AE_DOM_LABEL] = REASON("domain has an empty or over-long label"),
	[AE_DOM_HYPHEN] = REASON("domain label starts or ends with '-'"),
	[AE_DOM_CHAR] = REASON("domain is not a host name "
	    "(letters, digits, '-', '.')"),
};

/* The characters refused with their own reason, in this order. */
static enum addr_err
forbidden_char(struct mail_str a)
{
	static const struct {
		char		c;
		enum addr_err	e;
	} tab[] = {
		{ '\r', AE_CR }, { '\n', AE_LF }, { '\0', AE_NUL },
		{ '<', AE_LT }, { '>', AE_GT },
	};
	size_t	 i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (memchr(a.ptr, tab[i].c, a.len) != NULL)
			return tab[i].e;
	return AE_OK;
}

static enum addr_err
check_octets(const unsigned char *p, size_t n)
{
	size_t	 i;

	if (n > 254)
		return AE_LONG;
	for (i = 0; i < n; i++) {
		if (p[i] >= 0x80)
			return AE_NONASCII;
		if (p[i] <= 0x20 || p[i] == 0x7f)
			return AE_CTRL;
	}
	return AE_OK;
}

static enum addr_err
check_local(const unsigned char *p, size_t n)
{
	size_t	 i;

	if (n == 0)
		return AE_LOCAL_EMPTY;
	if (n > 64)
		return AE_LOCAL_LONG;
	if (p[0] == '.' || p[n - 1] == '.')
		return AE_LOCAL_DOT;
	for (i = 0; i < n; i++) {
		if (p[i] == '.' && p[i + 1] == '.')
			return AE_LOCAL_DOTDOT;
		if (p[i] != '.' && !is_atext(p[i]))
			return AE_LOCAL_CHAR;
	}
	return AE_OK;
}

static enum addr_err
check_domain(const unsigned char *p, size_t n)
{
	size_t	 i, label = 0;

	if (n == 0)
		return AE_DOM_EMPTY;
	if (n > 253)
		return AE_DOM_LONG;
	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (label == 0 || label > 63)
				return AE_DOM_LABEL;
			if (p[i - 1] == '-' || p[i - label] == '-')
				return AE_DOM_HYPHEN;
			label = 0;
		} else if (!is_ldh(p[i]))
			return AE_DOM_CHAR;
		else
			label++;
	}
	return AE_OK;
}

static enum addr_err
check_address(struct mail_str a)
{
	const unsigned char	*p = (const unsigned char *)a.ptr;
	const unsigned char	*at;
	enum addr_err		 e;

	if (p == NULL || a.len == 0)
		return AE_EMPTY;
	if ((e = forbidden_char(a)) != AE_OK ||
	    (e = check_octets(p, a.len)) != AE_OK)
		return e;
	if ((at = memrchr(p, '@', a.len)) == NULL)
		return AE_NOAT;
	if ((e = check_local(p, at - p)) != AE_OK)
		return e;
	return check_domain(at + 1, a.len - (size_t)(at - p) - 1);
}

static int
validate_as(struct mail_str a, enum addr_role role, const char **why)
{
	enum addr_err	 e = check_address(a);

	*why = e == AE_OK ? NULL : addr_reasons[e][role];
	return e == AE_OK ? 0 : -1;
}

int
mail_validate_address(struct mail_str a, const char **why)
{
	return validate_as(a, ROLE_ANY, why);
}

/* ---- Headers ---- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
buf_base64(struct buf *b, const unsigned char *p, size_t n)
{
	char		 out[4];
	uint32_t	 v;
	size_t		 i;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[0] = b64[v >> 18 & 63];
		out[1] = b64[v >> 12 & 63];
		out[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[3] = i + 2 < n ? b64[v & 63] : '=';
		buf_add(b, out, 4);
	}
}

/*
 * Octets of s (clean UTF-8) that fit in an encoded-word of at most
 * `room' characters, ending on a character boundary; 0 if none fit.
 */
static size_t
ew_take(const unsigned char *s, size_t n, size_t room)
{
	size_t	 max, take = 0, c, bad;

	if (room > EW_MAX)
		room = EW_MAX;
	if (room < EW_OVERHEAD + 4)
		return 0;
	max = (room - EW_OVERHEAD) / 4 * 3;
	while (take < n) {
		if ((c = utf8_char(s + take, n - take, &bad)) == 0)
			c = 1;	/* cannot happen on cleaned text */
		if (take + c > max)
			break;
		take += c;
	}
	return take;
}

/*
 * Appends clean UTF-8 text as encoded-words, each preceded by a space or
 * by CRLF SP when the line would pass 78 characters.  *col is the
 * current line's length.
 */
static void
put_encoded(struct buf *b, const unsigned char *s, size_t n, size_t *col)
{
	size_t	 take, before;

	while (n > 0) {
		take = *col + 1 < HDR_SOFT ?
		    ew_take(s, n, HDR_SOFT - *col - 1) : 0;
		if (take == 0) {
			buf_add(b, "\r\n", 2);
			*col = 0;
			continue;
		}
		before = b->len;
		buf_adds(b, " " EW_PREFIX);
		buf_base64(b, s, take);
		buf_adds(b, "?=");
		*col += b->len - before;
		s += take;
		n -= take;
	}
}

/* Appends one token with a space, folding first if it would not fit. */
static void
put_token(struct buf *b, const char *tok, size_t n, size_t *col)
{
	if (*col + 1 + n > HDR_SOFT && *col > 1) {
		buf_add(b, "\r\n", 2);
		*col = 0;
	}
	buf_add(b, " ", 1);
	buf_add(b, tok, n);
	*col += 1 + n;
}

/* Plain printable ASCII with no encoded-word look-alike, and short. */
static int
plain_unstructured(const char *s, size_t n, size_t col)
{
	size_t	 i;

	if (col + 1 + n > HDR_SOFT || strstr(s, "=?") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return n == 0 || (s[0] != ' ' && s[n - 1] != ' ');
}

/* A phrase of atoms separated by single spaces (RFC 5322 3.2.5). */
static int
plain_phrase(const char *s, size_t n, size_t col)
{
	size_t	 i;

	if (n == 0 || !plain_unstructured(s, n, col))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ' ? s[i + 1] == ' ' :
		    !is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

char *
mail_header_unstructured(const char *name, struct mail_str value)
{
	struct buf	 b = { 0 };
	char		*v;
	size_t		 n, col;

	if ((v = mail_clean_header_text(value, &n)) == NULL)
		return NULL;
	buf_adds(&b, name);
	buf_add(&b, ":", 1);
	col = b.len;
	if (plain_unstructured(v, n, col)) {
		buf_add(&b, " ", 1);
		buf_add(&b, v, n);
	} else
		put_encoded(&b, (unsigned char *)v, n, &col);
	free(v);
	return buf_finish(&b, NULL);
}

/* Trims a cleaned display name and squeezes its runs of spaces. */
static size_t
squeeze_spaces(char *s, size_t n)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' || (o > 0 && s[o - 1] != ' '))
			s[o++] = s[i];
	if (o > 0 && s[o - 1] == ' ')
		o--;
	s[o] = '\0';
	return o;
}

char *
mail_header_mailbox(const char *name, struct mail_str display,
    struct mail_str addr)
{
	struct buf	 b = { 0 }, angle = { 0 };
	char		*v = NULL;
	size_t		 n = 0, col;

	if (display.ptr != NULL &&
	    (v = mail_clean_header_text(display, &n)) == NULL)
		return NULL;
	if (v != NULL)
		n = squeeze_spaces(v, n);
	buf_adds(&b, name);
	buf_add(&b, ":", 1);
	col = b.len;
	if (n > 0 && plain_phrase(v, n, col))
		put_token(&b, v, n, &col);
	else if (n > 0)
		put_encoded(&b, (unsigned char *)v, n, &col);
	free(v);
	buf_add(&angle, "<", 1);
	buf_add(&angle, addr.ptr, addr.len);
	buf_add(&angle, ">", 1);
	if (angle.oom)
		b.oom = 1;
	else
		put_token(&b, angle.p, angle.len, &col);
	free(angle.p);
	return buf_finish(&b, NULL);
}

char *
mail_message_id(struct mail_str key, const char **why)
{
	const unsigned char	*p = (const unsigned char *)key.ptr;
	struct buf		 b = { 0 };
	char			 hex[4];
	size_t			 i;
	int			 dot_ok;

	if (p == NULL || key.len == 0) {
		*why = "idempotency key is empty";
		return NULL;
	}
	if (key.len > KEY_MAX) {
		*why = "idempotency key is longer than 200 octets";
		return NULL;
	}
	buf_add(&b, "<", 1);
	for (i = 0; i < key.len; i++) {
		dot_ok = p[i] == '.' && i > 0 && i + 1 < key.len &&
		    p[i - 1] != '.';
		if ((is_atext(p[i]) && p[i] != '%') || dot_ok)
			buf_add(&b, p + i, 1);
		else {
			snprintf(hex, sizeof(hex), "%%%02X", p[i]);
			buf_add(&b, hex, 3);
		}
	}
	buf_adds(&b, "@crmd>");
	*why = "out of memory";
	return buf_finish(&b, NULL);
}

void
mail_format_date(time_t t, char *buf, size_t size)
{
	static const char	 days[][4] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char	 months[][4] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm		 tm;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- Assembly ---- */

void
mail_built_free(struct mail_built *mb)
{
	if (mb == NULL)
		return;
	curl_mime_free(mb->mime);
	curl_slist_free_all(mb->rcpt);
	curl_slist_free_all(mb->headers);
	free(mb->from);
	free(mb);
}

/* Appends a malloc'd header (consumed); -1 if out of memory. */
static int
add_header(struct curl_slist **list, char *h)
{
	struct curl_slist	*n;

	if (h == NULL)
		return -1;
	n = curl_slist_append(*list, h);
	free(h);
	if (n == NULL)
		return -1;
	*list = n;
	return 0;
}

static int
build_headers(struct mail_built *mb, const struct mail_msg *m,
    const char **why)
{
	char	 date[40], *h, *id;

	if ((id = mail_message_id(m->idempotency_key, why)) == NULL)
		return -1;
	*why = "out of memory";
	mail_format_date(m->date, date, sizeof(date));
	if (add_header(&mb->headers, mail_header_mailbox("From", m->from_name,
	    m->from_addr)) == -1 ||
	    add_header(&mb->headers, mail_header_mailbox("To", m->to_name,
	    m->to_addr)) == -1 ||
	    add_header(&mb->headers, mail_header_unstructured("Subject",
	    m->subject)) == -1) {
		free(id);
		return -1;
	}
	if (asprintf(&h, "Date: %s", date) == -1)
		h = NULL;
	if (add_header(&mb->headers, h) == -1) {
		free(id);
		return -1;
	}
	if (asprintf(&h, "Message-ID: %s", id) == -1)
		h = NULL;
	free(id);
	return add_header(&mb->headers, h);
}

/* One text part: 7bit when safe, else base64 (lines of 76). */
static int
add_text_part(curl_mime *mime, struct mail_str in, const char *type)
{
	curl_mimepart	*part;
	char		*body;
	size_t		 len;
	unsigned	 flags;
	int		 rc = -1;

	if ((body = mail_normalize_body(in, &len, &flags)) == NULL)
		return -1;
	if ((part = curl_mime_addpart(mime)) != NULL &&
	    curl_mime_data(part, body, len) == CURLE_OK &&
	    curl_mime_type(part, type) == CURLE_OK &&
	    curl_mime_encoder(part, flags ? "base64" : "7bit") == CURLE_OK)
		rc = 0;
	free(body);	/* curl_mime_data() copied it */
	return rc;
}

static int
build_body(struct mail_built *mb, CURL *easy, const struct mail_msg *m)
{
	if ((mb->mime = curl_mime_init(easy)) == NULL)
		return -1;
	if (add_text_part(mb->mime, m->text, "text/plain; charset=UTF-8") ==
	    -1)
		return -1;
	if (m->html.ptr == NULL)
		return 0;
	if (add_text_part(mb->mime, m->html, "text/html; charset=UTF-8") ==
	    -1)
		return -1;
	/* libcurl takes the root Content-Type from the user headers and
	 * adds the boundary itself. */
	return add_header(&mb->headers,
	    strdup("Content-Type: multipart/alternative"));
}

static int
set_options(struct mail_built *mb, CURL *easy, const struct mail_msg *m)
{
	if ((mb->from = strndup(m->from_addr.ptr, m->from_addr.len)) == NULL ||
	    add_header(&mb->rcpt, strndup(m->to_addr.ptr, m->to_addr.len)) ==
	    -1)
		return -1;
	if (curl_easy_setopt(easy, CURLOPT_MAIL_FROM, mb->from) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, mb->rcpt) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, mb->headers) !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_MIMEPOST, mb->mime) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_CRLF, 0L) != CURLE_OK)
		return -1;
	return 0;
}

struct mail_built *
mail_build(CURL *easy, const struct mail_msg *m, const char **why)
{
	struct mail_built	*mb;

	if (validate_as(m->from_addr, ROLE_SENDER, why) == -1 ||
	    validate_as(m->to_addr, ROLE_RECIPIENT, why) == -1)
		return NULL;
	if (m->text.ptr == NULL) {
		*why = "message has no text body";
		return NULL;
	}
	if ((mb = calloc(1, sizeof(*mb))) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (build_headers(mb, m, why) == -1)
		goto fail;
	*why = "out of memory";
	if (build_body(mb, easy, m) == -1 || set_options(mb, easy, m) == -1)
		goto fail;
	*why = NULL;
	return mb;
fail:
	mail_built_free(mb);
	return NULL;
}
