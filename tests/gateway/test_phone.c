/*
 * gateway.h, phone numbers: E.164 accepted as written (spaces, hyphens,
 * dots and parentheses removed), anything else refused with a reason, and
 * a configured national format (Chinese mobiles) given its country code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway.h"

static void
good(const char *in, const struct phone_national *nat, const char *want)
{
	const char *why = NULL;
	char *out = NULL;

	if (phone_validate(in, nat, &out, &why) != 0)
		fail_msg("\"%s\" refused: %s", in, why);
	assert_string_equal(out, want);
	free(out);
}

static void
bad(const char *in, const struct phone_national *nat)
{
	const char *why = NULL;
	char *out = (char *)"unset";

	if (phone_validate(in, nat, &out, &why) != -1)
		fail_msg("\"%s\" accepted as %s", in, out);
	assert_null(out);
	assert_non_null(why);
}

static void
test_e164(void **state)
{
	good("+8613800138000", NULL, "+8613800138000");
	good("+1 (202) 555-0123", NULL, "+12025550123");
	good("+44 20.7946.0958", NULL, "+442079460958");
	good("+1234567", NULL, "+1234567");		/* 7 digits */
	good("+123456789012345", NULL, "+123456789012345");	/* 15 */

	bad("", NULL);
	bad("+", NULL);
	bad("+0123456789", NULL);		/* no country code 0 */
	bad("+123456", NULL);			/* 6 digits */
	bad("+1234567890123456", NULL);		/* 16 digits */
	bad("13800138000", NULL);		/* national, none configured */
	bad("+86 138 0013 8000 ext 5", NULL);
	bad("+8613800138000\n", NULL);
	bad("+8613800138000\r\nX: y", NULL);
	bad("++8613800138000", NULL);
	bad("+86１３８00138000", NULL);		/* fullwidth digits */
	bad("+86138001380001234567890123456789012345678901234567890", NULL);
}

static void
test_national(void **state)
{
	struct phone_national cn;
	char *err = NULL;

	assert_int_equal(phone_national_compile("1[3-9][0-9]{9}", "86", &cn,
	    &err), 0);
	good("13800138000", &cn, "+8613800138000");
	good("138-0013-8000", &cn, "+8613800138000");
	good("+12025550123", &cn, "+12025550123");	/* E.164 still */
	bad("12800138000", &cn);		/* 12x is not a mobile */
	bad("1380013800", &cn);			/* 10 digits */
	bad("138001380001", &cn);		/* anchored: 12 digits */
	bad("x13800138000", &cn);
	bad("013800138000", &cn);
	phone_national_free(&cn);

	assert_int_equal(phone_national_compile("1[3-9", "86", &cn, &err),
	    -1);
	assert_non_null(strstr(err, "national format"));
	free(err);
	assert_int_equal(phone_national_compile("1[3-9][0-9]{9}", "+86", &cn,
	    &err), -1);
	free(err);
	assert_int_equal(phone_national_compile("1[3-9][0-9]{9}", "0", &cn,
	    &err), -1);
	free(err);

	/* A regex that lets a non-digit through is still refused. */
	assert_int_equal(phone_national_compile(".+", "86", &cn, &err), 0);
	bad("1380013800a", &cn);
	phone_national_free(&cn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e164),
		cmocka_unit_test(test_national),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
