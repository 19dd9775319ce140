/* Duration strings: the shared parser used by crmd.conf and crmctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "duration.h"

static void
test_valid(void **state)
{
	static const struct { const char *in; int64_t secs; } cases[] = {
		{ "0", 0 }, { "45", 45 }, { "30s", 30 }, { "5m", 300 },
		{ "2h", 7200 }, { "1d", 86400 }, { "1w", 604800 },
		{ "1h30m", 5400 }, { "1d12h", 129600 }, { "24h", 86400 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t s = -1;
		assert_int_equal(duration_parse(cases[i].in, &s), 0);
		assert_int_equal(s, cases[i].secs);
	}
}

static void
test_invalid(void **state)
{
	static const char *bad[] = {
		"", "-5m", "5x", "m", "1.5h", " 5m", "5m ", "5 m", "h1",
		"99999999999999999999", "36600000d",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t s = 42;
		assert_int_equal(duration_parse(bad[i], &s), -1);
		assert_int_equal(s, 42);	/* untouched on error */
	}
	int64_t s;
	assert_int_equal(duration_parse(NULL, &s), -1);
}

static void
test_format(void **state)
{
	char buf[32];
	assert_string_equal(duration_format(0, buf, sizeof(buf)), "0s");
	assert_string_equal(duration_format(45, buf, sizeof(buf)), "45s");
	assert_string_equal(duration_format(93784, buf, sizeof(buf)), "1d2h3m4s");
	assert_string_equal(duration_format(7200, buf, sizeof(buf)), "2h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
