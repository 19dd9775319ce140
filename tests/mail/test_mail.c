/*
 * Email construction, the pure parts: address validation, the cleaning
 * of header and body text, RFC 2047 encoding (decoded back here by a
 * small independent decoder), Message-ID escaping and the Date format.
 * What reaches an SMTP server is tested end to end by test_smtp_wire.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail.h"

#define S(lit)	((struct mail_str){ (lit), sizeof(lit) - 1 })

static const char *
invalid_reason(struct mail_str a)
{
	const char	*why = NULL;

	if (mail_validate_address(a, &why) == 0)
		return NULL;
	assert_non_null(why);
	return why;
}

static void
test_address_accepts_ordinary(void **state)
{
	static const char *const good[] = {
		"zhang.wei@example.cn", "a+tag@example.com", "x@localhost",
		"o'brien@ex.com", "a!#$%&'*+-/=?^_`{|}~@ex.com", "1@2.3",
		"UPPER@EXAMPLE.COM", "a@xn--fiqs8s.cn",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(invalid_reason(mail_cstr(good[i])));
}

static void
test_address_refuses_with_reason(void **state)
{
	static const struct {
		struct mail_str	 a;
		const char	*why;
	} bad[] = {
		{ S("a\r@b.c"), "address contains CR" },
		{ S("a@b.c\r\nRCPT TO:<x@evil>"), "address contains CR" },
		{ S("a@b.c\nDATA"), "address contains LF" },
		{ S("a\0@b.c"), "address contains NUL" },
		{ S("<a@b.c>"), "address contains '<'" },
		{ S("a@b.c>"), "address contains '>'" },
		{ S(""), "address is empty" },
		{ { NULL, 0 }, "address is empty" },
		{ S("a b@c.d"), "address contains a space or control "
		    "character" },
		{ S("\xe5\xbc\xa0@b.c"), "address contains non-ASCII octets" },
		{ S("b.c"), "address has no '@'" },
		{ S("@b.c"), "address has an empty local part" },
		{ S("a@"), "address has an empty domain" },
		{ S("a..b@c.d"), "address local part contains '..'" },
		{ S(".a@c.d"), "address local part starts or ends with '.'" },
		{ S("a@@b.c"), "address local part has a character outside "
		    "RFC 5322 atext" },
		{ S("a@b..c"), "address domain has an empty or over-long "
		    "label" },
		{ S("a@-b.c"), "address domain label starts or ends with '-'" },
		{ S("a@b_c.d"), "address domain is not a host name "
		    "(letters, digits, '-', '.')" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(invalid_reason(bad[i].a), bad[i].why);
}

static void
test_address_length_limits(void **state)
{
	char	 a[300];

	memset(a, 'a', 64);
	strcpy(a + 64, "@example.com");
	assert_null(invalid_reason(mail_cstr(a)));
	memset(a, 'a', 65);
	strcpy(a + 65, "@example.com");
	assert_string_equal(invalid_reason(mail_cstr(a)),
	    "address local part is longer than 64 octets");
	strcpy(a, "a@");
	memset(a + 2, 'b', 253);
	a[255] = '\0';
	assert_string_equal(invalid_reason(mail_cstr(a)),
	    "address is longer than 254 octets");
}

static void
expect_clean(struct mail_str in, const char *want)
{
	size_t	 n;
	char	*out = mail_clean_header_text(in, &n);

	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	free(out);
}

static void
test_header_text_cleaning(void **state)
{
	expect_clean(S("a\r\nBcc: x"), "a Bcc: x");
	expect_clean(S("a\rb\nc\td"), "a b c d");
	expect_clean(S("a\r\r\nb"), "a  b");
	expect_clean(S("a\0b\x1b\x7f"), "a\xef\xbf\xbd" "b\xef\xbf\xbd"
	    "\xef\xbf\xbd");
	/* One U+FFFD per maximal ill-formed subpart, as Python does. */
	expect_clean(S("\xe4\xb8x"), "\xef\xbf\xbdx");
	expect_clean(S("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
	expect_clean(S("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd");
	expect_clean(S("\xf0\x9f\x98"), "\xef\xbf\xbd");
	expect_clean(S("\xe5\xbc\xa0\xe4\xbc\x9f"), "\xe5\xbc\xa0\xe4\xbc\x9f");
	expect_clean((struct mail_str){ NULL, 0 }, "");
}

static void
expect_body(struct mail_str in, const char *want, unsigned want_flags)
{
	size_t		 n;
	unsigned	 flags;
	char		*out = mail_normalize_body(in, &n, &flags);

	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(flags, want_flags);
	free(out);
}

static void
test_body_normalisation(void **state)
{
	char	*long_line;

	expect_body(S("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd", 0);
	expect_body(S("\n.\n"), "\r\n.\r\n", 0);
	expect_body(S("\r\r\n\n"), "\r\n\r\n\r\n", 0);
	expect_body(S("a\0b"), "a\xef\xbf\xbd" "b", MAIL_BODY_8BIT);
	expect_body(S("\xe5\x90\x88"), "\xe5\x90\x88", MAIL_BODY_8BIT);
	long_line = malloc(1001);
	memset(long_line, 'x', 998);
	long_line[998] = '\0';
	expect_body(mail_cstr(long_line), long_line, 0);
	long_line[998] = 'x';
	long_line[999] = '\0';
	expect_body(mail_cstr(long_line), long_line, MAIL_BODY_LONG);
	free(long_line);
}

/* ---- An independent RFC 2047 decoder for the checks ---- */

static int
b64val(char c)
{
	const char	*t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	const char	*p = strchr(t, c);

	return c != '\0' && p != NULL ? (int)(p - t) : -1;
}

/* Appends the decoding of base64 s[0..n) to out; asserts it is valid. */
static size_t
b64decode(const char *s, size_t n, char *out)
{
	size_t		 i, o = 0;
	uint32_t	 v;
	int		 k;

	assert_int_equal(n % 4, 0);
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++)
			v = v << 6 | (s[i + k] == '=' ? 0 :
			    (uint32_t)b64val(s[i + k]));
		out[o++] = (char)(v >> 16);
		if (s[i + 2] != '=')
			out[o++] = (char)(v >> 8);
		if (s[i + 3] != '=')
			out[o++] = (char)v;
	}
	return o;
}

/* Whether w[0..n) is well-formed UTF-8 on its own (cleaning keeps it). */
static int
whole_utf8(const char *w, size_t n)
{
	size_t	 cn;
	char	*c = mail_clean_header_text((struct mail_str){ w, n }, &cn);
	int	 ok = c != NULL && cn == n && memcmp(c, w, n) == 0;

	free(c);
	return ok;
}

/*
 * Decodes the value of header h ("Name: value"), checking the shape as
 * it goes: physical lines at most 78 characters, encoded-words at most
 * 75 and each a whole UTF-8 string.  Returns a malloc'd string.
 */
static char *
decode_header(const char *h, const char *name)
{
	char		*out = calloc(1, strlen(h) + 1), *w;
	const char	*p, *line, *end, *q;
	size_t		 o = 0, wl, n;

	assert_memory_equal(h, name, strlen(name));
	for (line = h; (end = strstr(line, "\r\n")) != NULL; line = end + 3) {
		assert_true(end - line <= 78);
		assert_int_equal(end[2], ' ');
	}
	assert_true(strlen(line) <= 78);
	p = h + strlen(name);
	if (strstr(p, "=?") == NULL) {	/* plain text */
		assert_int_equal(*p, ' ');
		strcpy(out, p + 1);
		return out;
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		assert_memory_equal(p, "=?UTF-8?B?", 10);
		q = strstr(p + 10, "?=");
		assert_non_null(q);
		wl = (size_t)(q + 2 - p);
		assert_true(wl <= 75);
		w = calloc(1, wl);
		n = b64decode(p + 10, (size_t)(q - p - 10), w);
		assert_true(whole_utf8(w, n));
		memcpy(out + o, w, n);
		o += n;
		free(w);
		p = q + 2;
	}
	return out;
}

static void
expect_roundtrip(struct mail_str value)
{
	char	*h = mail_header_unstructured("Subject", value);
	char	*clean = mail_clean_header_text(value, NULL);
	char	*dec;

	assert_non_null(h);
	dec = decode_header(h, "Subject:");
	assert_string_equal(dec, clean);
	free(dec);
	free(clean);
	free(h);
}

static void
test_rfc2047_roundtrip(void **state)
{
	char	*big;
	size_t	 i;

	expect_roundtrip(S("Renewal reminder"));
	expect_roundtrip(S("\xe7\xbb\xad\xe7\xba\xa6\xe6\x8f\x90\xe9\x86\x92"));
	expect_roundtrip(S("a\r\nBcc: x@evil.example"));
	expect_roundtrip(S("=?UTF-8?B?DQpCY2M6IHg=?="));
	expect_roundtrip(S("\xf0\x9f\x8e\x89 \xf0\x9f\x9a\x80"));
	expect_roundtrip(S("\xff\xfe\xe4\xb8"));
	expect_roundtrip(S(""));
	big = malloc(30001);
	for (i = 0; i < 30000; i += 3)
		memcpy(big + i, "\xe9\x95\xbf", 3);	/* 长 */
	big[30000] = '\0';
	expect_roundtrip(mail_cstr(big));
	memset(big, 'a', 10000);
	big[10000] = '\0';
	expect_roundtrip(mail_cstr(big));
	free(big);
}

static void
test_rfc2047_no_raw_line_break(void **state)
{
	char	*h = mail_header_unstructured("Subject",
	    S("x\r\nBcc: y@evil.example\n.\r\nQUIT"));
	const char	*p;

	assert_non_null(h);
	/* every CRLF in the header is a fold: followed by a space */
	for (p = h; (p = strchr(p, '\n')) != NULL; p++) {
		assert_int_equal(p[-1], '\r');
		assert_int_equal(p[1], ' ');
	}
	assert_null(strstr(h, "\nBcc:"));
	free(h);
}

static void
test_mailbox_header(void **state)
{
	char	*h, *dec;

	h = mail_header_mailbox("From", S("Zhang Wei"), S("z@example.cn"));
	assert_string_equal(h, "From: Zhang Wei <z@example.cn>");
	free(h);
	h = mail_header_mailbox("To", (struct mail_str){ NULL, 0 },
	    S("z@example.cn"));
	assert_string_equal(h, "To: <z@example.cn>");
	free(h);
	/* specials in a name force encoding, so no second address */
	h = mail_header_mailbox("To", S("x@evil.example, y"), S("z@ex.cn"));
	assert_null(strstr(h, "evil"));
	free(h);
	h = mail_header_mailbox("From", S("\xe5\xbc\xa0\xe4\xbc\x9f"),
	    S("z@example.cn"));
	assert_string_equal(h, "From: =?UTF-8?B?5byg5Lyf?= <z@example.cn>");
	*strstr(h, " <") = '\0';
	dec = decode_header(h, "From:");
	assert_string_equal(dec, "\xe5\xbc\xa0\xe4\xbc\x9f");
	free(dec);
	free(h);
}

static void
test_message_id(void **state)
{
	const char	*why = NULL;
	char		*id;

	id = mail_message_id(S("outbox.42-7f3a"), &why);
	assert_string_equal(id, "<outbox.42-7f3a@crmd>");
	free(id);
	id = mail_message_id(S(".a..b. c%\r\n<>@"), &why);
	assert_string_equal(id, "<%2Ea.%2Eb.%20c%25%0D%0A%3C%3E%40@crmd>");
	free(id);
	/* distinct keys, distinct ids: '%' is itself escaped */
	id = mail_message_id(S("%20"), &why);
	assert_string_equal(id, "<%2520@crmd>");
	free(id);
	assert_null(mail_message_id(S(""), &why));
	assert_string_equal(why, "idempotency key is empty");
}

static void
test_date(void **state)
{
	char	 buf[40];

	mail_format_date(1772528400, buf, sizeof(buf));
	assert_string_equal(buf, "Tue, 03 Mar 2026 09:00:00 +0000");
	mail_format_date(0, buf, sizeof(buf));
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static void
test_build_refuses_before_libcurl(void **state)
{
	CURL			*easy = curl_easy_init();
	struct mail_msg		 m = { 0 };
	struct mail_built	*mb;
	const char		*why = NULL;

	m.from_addr = S("crm@example.com");
	m.to_addr = S("a@example.com\r\nRCPT TO:<x@evil.example>");
	m.text = S("hi");
	m.idempotency_key = S("k1");
	assert_null(mail_build(easy, &m, &why));
	assert_string_equal(why, "recipient address contains CR");
	m.to_addr = S("a@example.com");
	m.from_addr = S("<crm@example.com>");
	assert_null(mail_build(easy, &m, &why));
	assert_string_equal(why, "sender address contains '<'");
	m.from_addr = S("crm@example.com");
	m.idempotency_key = S("");
	assert_null(mail_build(easy, &m, &why));
	assert_string_equal(why, "idempotency key is empty");
	m.idempotency_key = S("k1");
	m.text.ptr = NULL;
	assert_null(mail_build(easy, &m, &why));
	assert_string_equal(why, "message has no text body");
	m.text = S("hi");
	assert_non_null(mb = mail_build(easy, &m, &why));
	mail_built_free(mb);
	curl_easy_cleanup(easy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_accepts_ordinary),
		cmocka_unit_test(test_address_refuses_with_reason),
		cmocka_unit_test(test_address_length_limits),
		cmocka_unit_test(test_header_text_cleaning),
		cmocka_unit_test(test_body_normalisation),
		cmocka_unit_test(test_rfc2047_roundtrip),
		cmocka_unit_test(test_rfc2047_no_raw_line_break),
		cmocka_unit_test(test_mailbox_header),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_build_refuses_before_libcurl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
