/* Display width of UTF-8 text, independent of the locale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crmctl.h"

static void
test_ascii(void **state)
{
	assert_int_equal(text_width(""), 0);
	assert_int_equal(text_width("a"), 1);
	assert_int_equal(text_width("status"), 6);
	assert_int_equal(text_width("/var/lib/crm.db"), 15);
}

static void
test_chinese_is_two_columns(void **state)
{
	assert_int_equal(text_width("中"), 2);
	assert_int_equal(text_width("中文"), 4);
	assert_int_equal(text_width("张三"), 4);
	assert_int_equal(text_width("上海市浦东新区"), 14);
	assert_int_equal(text_width("，。"), 4);		/* fullwidth punctuation */
	assert_int_equal(text_width("ＡＢ"), 4);		/* fullwidth Latin */
	assert_int_equal(text_width("カナ"), 4);
	assert_int_equal(text_width("한국"), 4);
	assert_int_equal(text_width("\xf0\xa0\x80\x80"), 2);	/* U+20000, ext. B */
}

static void
test_mixed(void **state)
{
	assert_int_equal(text_width("王 Li"), 5);
	assert_int_equal(text_width("客户 #12"), 8);
	assert_int_equal(text_width("café"), 4);		/* precomposed é */
	assert_int_equal(text_width("ｱ"), 1);		/* halfwidth katakana */
}

static void
test_combining_marks_are_zero(void **state)
{
	assert_int_equal(text_width("e\xcc\x81"), 1);	/* e + U+0301 */
	assert_int_equal(text_width("a\xcc\x80\xcc\x81"), 1);
	assert_int_equal(codepoint_width(0x0301), 0);
	assert_int_equal(codepoint_width(0x200b), 0);	/* zero width space */
	assert_int_equal(codepoint_width(0xfe0f), 0);	/* variation sel. */
	assert_int_equal(codepoint_width(0x00ad), 1);	/* soft hyphen */
	assert_int_equal(codepoint_width(0x1160), 0);	/* Hangul medial */
}

static void
test_emoji(void **state)
{
	assert_int_equal(text_width("\xf0\x9f\x98\x80"), 2);	/* U+1F600 */
	assert_int_equal(text_width("ok\xf0\x9f\x91\x8d"), 4);	/* 👍 */
	assert_int_equal(text_width("\xe2\x9c\x85"), 2);	/* U+2705 */
}

static void
test_invalid_utf8_counts_one_per_byte(void **state)
{
	uint32_t cp;

	assert_int_equal(text_width("\xff"), 1);
	assert_int_equal(text_width("a\xc3"), 2);		/* truncated */
	assert_int_equal(text_width("\xe4\xb8"), 2);		/* half of 中 */
	assert_int_equal(text_width("\xc0\xaf"), 2);		/* overlong '/' */
	assert_int_equal(text_width("\xed\xa0\x80"), 3);	/* surrogate */
	assert_int_equal(text_width("\xf4\x90\x80\x80"), 4);	/* > U+10FFFF */
	assert_int_equal(utf8_decode("\xe4\xb8", 2, &cp), 1);
	assert_int_equal(cp, 0xffffffffU);
	assert_int_equal(utf8_decode("\xe4\xb8\xad", 3, &cp), 3);
	assert_int_equal(cp, 0x4e2d);
	assert_int_equal(utf8_decode("", 0, &cp), 0);
}

static void
test_clean_invalid_becomes_replacement(void **state)
{
	char *s = text_clean("a\xff" "b\xe4\xb8");

	assert_string_equal(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(text_width(s), 5);
	free(s);
}

static void
test_clean_neutralises_controls(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "line1\nline2", "line1\\nline2" },
		{ "\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07" },
		{ "tab\there\r", "tab\\there\\r" },
		{ "del\x7f", "del\\x7f" },
		{ "c1\xc2\x9b" "31m", "c1\\u009b31m" },	/* 8-bit CSI */
		{ "\xe2\x80\xae" "evil", "\\u202eevil" },	/* RLO */
		{ "\xe2\x81\xa6x", "\\u2066x" },		/* LRI */
		{ "张三\n", "张三\\n" },
		{ "plain 中文", "plain 中文" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = text_clean(cases[i].in);

		assert_string_equal(s, cases[i].out);
		/* width is that of what is printed */
		assert_int_equal(text_width(cases[i].in), text_width(s));
		for (const char *p = s; *p != '\0'; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
		free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_chinese_is_two_columns),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_combining_marks_are_zero),
		cmocka_unit_test(test_emoji),
		cmocka_unit_test(test_invalid_utf8_counts_one_per_byte),
		cmocka_unit_test(test_clean_invalid_becomes_replacement),
		cmocka_unit_test(test_clean_neutralises_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
