/*
 * send_mask_secret(): a gateway or mail server that echoes what it was
 * sent must not get the secret into outbox.last_error or the log, in
 * clear, percent-encoded, or inside base64 (HTTP basic auth, SMTP AUTH
 * PLAIN) at any alignment; and text without the secret is left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "send.h"

#define SECRET	"S3ntinel/SMS+tok=&%b4e1 d0aa"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Reference base64 with padding, independent of send_mask.c's. */
static void
encode(const unsigned char *p, size_t len, char *out)
{
	size_t i;
	unsigned v;

	for (i = 0; i < len; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*out++ = b64[v >> 18 & 63];
		*out++ = b64[v >> 12 & 63];
		*out++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*out++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*out = '\0';
}

/* "reply: <prefix + SECRET + suffix, base64> end", masked. */
static char *
masked_blob(const char *prefix, size_t plen, const char *suffix)
{
	unsigned char raw[256];
	char enc[400], *text = malloc(512);
	size_t n = 0;

	memcpy(raw, prefix, plen);
	n = plen;
	memcpy(raw + n, SECRET, strlen(SECRET));
	n += strlen(SECRET);
	memcpy(raw + n, suffix, strlen(suffix));
	n += strlen(suffix);
	encode(raw, n, enc);
	snprintf(text, 512, "reply: %s end", enc);
	send_mask_secret(text, SECRET);
	return text;
}

static void
assert_no_secret_core(const char *text)
{
	/* The secret alone, at each alignment: its inner characters. */
	for (size_t k = 0; k < 3; k++) {
		unsigned char raw[64] = { 0 };
		char enc[128];
		size_t n;

		memcpy(raw + k, SECRET, strlen(SECRET));
		encode(raw, k + strlen(SECRET), enc);
		n = strlen(enc);
		while (n > 0 && enc[n - 1] == '=')
			n--;
		enc[n - 4] = '\0';
		assert_null(strstr(text, enc + (k ? 4 : 0)));
	}
	assert_null(strstr(text, SECRET));
}

static void
test_clear_secret_is_masked(void **state)
{
	char text[] = "HTTP 401: password=" SECRET " rejected";

	send_mask_secret(text, SECRET);
	assert_string_equal(text, "HTTP 401: password=*** rejected");
}

static void
test_percent_encoded_forms_are_masked(void **state)
{
	char a[] = "q=S3ntinel%2FSMS%2Btok%3D%26%25b4e1%20d0aa&x=1";
	char b[] = "q=S3ntinel%2FSMS%2Btok%3D%26%25b4e1+d0aa&x=1";
	char c[] = "q=s3ntinel%2fsms%2btok%3d%26%25b4e1%20d0aa";

	send_mask_secret(a, SECRET);
	send_mask_secret(b, SECRET);
	assert_string_equal(a, "q=***&x=1");
	assert_string_equal(b, "q=***&x=1");
	/* Hex digits in either case; the letters of the secret too, since
	 * the search ignores case for these forms. */
	send_mask_secret(c, SECRET);
	assert_string_equal(c, "q=***");
}

static void
test_basic_auth_blob_is_masked(void **state)
{
	char *t = masked_blob("ACsentinel:", 11, "");

	assert_no_secret_core(t);
	assert_non_null(strstr(t, "***"));
	free(t);
}

static void
test_auth_plain_blob_at_every_alignment_is_masked(void **state)
{
	for (size_t plen = 0; plen < 9; plen++) {
		char *t = masked_blob("\0user\0\0\0\0", plen, "tail");

		assert_no_secret_core(t);
		assert_non_null(strstr(t, "***"));
		free(t);
	}
}

static void
test_text_without_secret_is_unchanged(void **state)
{
	char text[] = "SMTP 550 5.1.1 <li@example.com>: no such user 用户";

	send_mask_secret(text, SECRET);
	assert_string_equal(text,
	    "SMTP 550 5.1.1 <li@example.com>: no such user 用户");
}

static void
test_no_secret_or_no_text_is_fine(void **state)
{
	char text[] = "HTTP 500";

	send_mask_secret(NULL, SECRET);
	send_mask_secret(text, NULL);
	send_mask_secret(text, "");
	assert_string_equal(text, "HTTP 500");
}

static void
test_short_secret_only_in_clear(void **state)
{
	/* Its encodings are too short to tell from innocent text. */
	char text[] = "pw=abcd ok";

	send_mask_secret(text, "abcd");
	assert_string_equal(text, "pw=*** ok");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clear_secret_is_masked),
		cmocka_unit_test(test_percent_encoded_forms_are_masked),
		cmocka_unit_test(test_basic_auth_blob_is_masked),
		cmocka_unit_test(
		    test_auth_plain_blob_at_every_alignment_is_masked),
		cmocka_unit_test(test_text_without_secret_is_unchanged),
		cmocka_unit_test(test_no_secret_or_no_text_is_fine),
		cmocka_unit_test(test_short_secret_only_in_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
