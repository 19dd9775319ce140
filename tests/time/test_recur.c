/*
 * recur.h: RFC 5545 rules through libical, as wall-clock series in the
 * configured zone.  Each test passes fixed instants (dtstart, after,
 * until) and checks the exact next occurrence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "recur.h"
#include "tz.h"

static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi };

	return timegm(&tm);
}

static time_t
local(int y, int mo, int d, int h, int mi)
{
	struct tz_date date = { y, mo, d };

	return tz_local_to_utc(&date, h * 60 + mi);
}

static void
zone(const char *name)
{
	assert_int_equal(tz_set(name), 0);
}

/* recur_next that must succeed. */
static time_t
next_of(const char *rule, time_t dtstart, time_t until, time_t after)
{
	char *err = NULL;
	time_t next = 0;

	if (recur_next(rule, dtstart, until, after, &next, &err) != 0)
		fail_msg("%s after %lld: %s", rule, (long long)after,
		    err != NULL ? err : "ended");
	assert_null(err);
	return next;
}

/* recur_next that must report the end of the series. */
static void
assert_ended(const char *rule, time_t dtstart, time_t until, time_t after)
{
	char *err = NULL;
	time_t next = 0;

	assert_int_equal(recur_next(rule, dtstart, until, after, &next, &err),
	    1);
	assert_null(err);
}

static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n;

	while (*p != '\0') {
		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xe0) == 0xc0)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0)
			n = 3;
		else
			return 0;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static void
test_validate_good(void **state)
{
	static const char *good[] = {
		"FREQ=WEEKLY;BYDAY=MO", "FREQ=DAILY", "freq=daily",
		"FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYDAY=-1FR",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=DAILY;COUNT=3",
		"FREQ=DAILY;UNTIL=20200101T000000Z", "FREQ=WEEKLY;INTERVAL=2",
		"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1", "FREQ=HOURLY;INTERVAL=4",
	};
	char *err = NULL;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (recur_validate(good[i], &err) != 0)
			fail_msg("%s: %s", good[i], err);
		assert_null(err);
	}
}

static void
test_validate_bad(void **state)
{
	static const struct { const char *rule, *why; } bad[] = {
		{ "", "empty" },
		{ "   ", "empty" },
		{ "FREQ=SOMETIMES", "not a valid" },
		{ "BYDAY=MO", "has no FREQ" },
		{ "garbage", "has no FREQ" },
		{ "FREQ=DAILY;FOO=1", "not a valid" },
		{ "FREQ=DAILY;COUNT=x", "not a valid" },
		{ "FREQ=DAILY;BYDAY=XX", "not a valid" },
		{ "FREQ=DAILY;COUNT=3;UNTIL=20260101", "not a valid" },
		{ "RRULE:FREQ=DAILY", "not a valid" },
		{ "FREQ=WEEKLY;BYMONTHDAY=1", "cannot be used together" },
		{ "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
		    "none of the BYMONTH months has the BYMONTHDAY day" },
		{ "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31",
		    "none of the BYMONTH months has the BYMONTHDAY day" },
		{ "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=-31",
		    "none of the BYMONTH months has the BYMONTHDAY day" },
		/* libical would step minute by minute for ever. */
		{ "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
		    "cannot be limited by BYMONTH" },
		{ "FREQ=HOURLY;BYYEARDAY=100", "cannot be limited by BYMONTH" },
		{ "FREQ=SECONDLY;BYSETPOS=1", "cannot be limited by BYMONTH" },
		{ "FREQ=SECONDLY;COUNT=100000000", "COUNT is over 10000" },
	};
	char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(recur_validate(bad[i].rule, &err), -1);
		assert_non_null(err);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: %s", bad[i].rule, err);
		/* The message quotes the rule (blank ones excepted). */
		if (*bad[i].rule != ' ' && *bad[i].rule != '\0')
			assert_non_null(strstr(err, bad[i].rule));
		free(err);
	}
	err = NULL;
	assert_int_equal(recur_validate(NULL, &err), -1);
	assert_non_null(err);
	free(err);
	/* err may be NULL when the caller only wants the verdict. */
	assert_int_equal(recur_validate("FREQ=SOMETIMES", NULL), -1);
}

static void
test_validate_message_utf8(void **state)
{
	char rule[400], *err = NULL;
	size_t i;

	assert_int_equal(recur_validate("FREQ=每周", &err), -1);
	assert_non_null(strstr(err, "\"FREQ=每周\""));
	free(err);
	/* A long rule is cut, but never inside a character. */
	for (i = 0; i < 3; i++) {
		size_t n;

		memset(rule, 'x', i);
		for (n = i; n + 3 < sizeof(rule) - 1; n += 3)
			memcpy(rule + n, "每", 3);
		rule[n] = '\0';
		err = NULL;
		assert_int_equal(recur_validate(rule, &err), -1);
		assert_true(valid_utf8(err));
		assert_non_null(strstr(err, "...\""));
		assert_true(strlen(err) < 250);
		free(err);
	}
}

static void
test_weekly_monday(void **state)
{
	time_t wed;

	zone("Asia/Shanghai");
	wed = local(2026, 1, 7, 9, 0);			/* a Wednesday */
	assert_int_equal(next_of("FREQ=WEEKLY;BYDAY=MO", wed, 0, wed),
	    local(2026, 1, 12, 9, 0));
	assert_int_equal(next_of("FREQ=WEEKLY;BYDAY=MO", wed, 0,
	    local(2026, 1, 12, 9, 0)), local(2026, 1, 19, 9, 0));
	/* Strictly after: a second before it gives the occurrence itself. */
	assert_int_equal(next_of("FREQ=WEEKLY;BYDAY=MO", wed, 0,
	    local(2026, 1, 19, 9, 0) - 1), local(2026, 1, 19, 9, 0));
	/* dtstart is the first occurrence when it matches. */
	assert_int_equal(next_of("FREQ=DAILY", wed, 0, wed - 1), wed);
}

/* libical follows RFC 5545: months without a 31st are skipped. */
static void
test_monthly_from_31st(void **state)
{
	static const int months[] = { 3, 5, 7, 8, 10, 12 };
	time_t start, t;
	size_t i;

	zone("Asia/Shanghai");
	start = t = local(2026, 1, 31, 10, 0);
	for (i = 0; i < sizeof(months) / sizeof(months[0]); i++) {
		t = next_of("FREQ=MONTHLY;INTERVAL=1", start, 0, t);
		assert_int_equal(t, local(2026, months[i], 31, 10, 0));
	}
}

static void
test_monthly_last_day(void **state)
{
	static const struct tz_date want[] = {
		{ 2027, 12, 31 }, { 2028, 1, 31 }, { 2028, 2, 29 },
		{ 2028, 3, 31 }, { 2028, 4, 30 },
	};
	time_t start, t;
	size_t i;

	zone("Asia/Shanghai");
	start = t = local(2027, 12, 31, 9, 0);
	t--;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		t = next_of("FREQ=MONTHLY;BYMONTHDAY=-1", start, 0, t);
		assert_int_equal(t, tz_local_to_utc(&want[i], 9 * 60));
	}
}

static void
test_leap_day_yearly(void **state)
{
	time_t start;

	zone("Asia/Shanghai");
	start = local(2024, 2, 29, 9, 0);
	assert_int_equal(next_of("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start,
	    0, start), local(2028, 2, 29, 9, 0));
	assert_int_equal(next_of("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start,
	    0, local(2028, 2, 29, 9, 0)), local(2032, 2, 29, 9, 0));
	/* From a date that is not one: the first leap day after it. */
	start = local(2026, 1, 1, 9, 0);
	assert_int_equal(next_of("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start,
	    0, start), local(2028, 2, 29, 9, 0));
}

static void
test_count(void **state)
{
	time_t start;

	zone("Asia/Shanghai");
	start = local(2026, 1, 1, 9, 0);
	assert_int_equal(next_of("FREQ=DAILY;COUNT=3", start, 0, start - 1),
	    start);
	assert_int_equal(next_of("FREQ=DAILY;COUNT=3", start, 0, start),
	    local(2026, 1, 2, 9, 0));
	assert_int_equal(next_of("FREQ=DAILY;COUNT=3", start, 0,
	    local(2026, 1, 2, 9, 0)), local(2026, 1, 3, 9, 0));
	assert_ended("FREQ=DAILY;COUNT=3", start, 0, local(2026, 1, 3, 9, 0));
	/* `after` far in the future with COUNT. */
	assert_ended("FREQ=DAILY;COUNT=10", start, 0, utc(2040, 1, 1, 0, 0));
	assert_int_equal(next_of("FREQ=YEARLY;COUNT=10", start, 0,
	    local(2030, 6, 1, 0, 0)), local(2031, 1, 1, 9, 0));
	assert_ended("FREQ=YEARLY;COUNT=10", start, 0,
	    local(2035, 1, 1, 9, 0));
}

static void
test_until_in_rule(void **state)
{
	time_t start;

	zone("Asia/Shanghai");
	start = local(2026, 1, 1, 9, 0);	/* 01:00 UTC */
	/* UTC UNTIL, inclusive: Jan 3 09:00 Shanghai is 01:00Z. */
	assert_int_equal(next_of("FREQ=DAILY;UNTIL=20260103T010000Z", start,
	    0, local(2026, 1, 2, 9, 0)), local(2026, 1, 3, 9, 0));
	assert_ended("FREQ=DAILY;UNTIL=20260103T010000Z", start, 0,
	    local(2026, 1, 3, 9, 0));
	assert_ended("FREQ=DAILY;UNTIL=20260103T005959Z", start, 0,
	    local(2026, 1, 2, 9, 0));
	/* Floating UNTIL is local wall time; a DATE includes its day. */
	assert_int_equal(next_of("FREQ=DAILY;UNTIL=20260103T090000", start, 0,
	    local(2026, 1, 2, 9, 0)), local(2026, 1, 3, 9, 0));
	assert_ended("FREQ=DAILY;UNTIL=20260103T085959", start, 0,
	    local(2026, 1, 2, 9, 0));
	assert_int_equal(next_of("FREQ=DAILY;UNTIL=20260103", start, 0,
	    local(2026, 1, 2, 9, 0)), local(2026, 1, 3, 9, 0));
	assert_ended("FREQ=DAILY;UNTIL=20260103", start, 0,
	    local(2026, 1, 3, 9, 0));
	/* A series whose UNTIL is before its start never fires. */
	assert_ended("FREQ=DAILY;UNTIL=20251231T000000Z", start, 0, 0);
}

static void
test_until_parameter(void **state)
{
	time_t start, until;

	zone("Asia/Shanghai");
	start = local(2026, 1, 1, 9, 0);
	until = local(2026, 1, 2, 9, 0);
	assert_int_equal(next_of("FREQ=DAILY", start, until, start),
	    local(2026, 1, 2, 9, 0));
	assert_ended("FREQ=DAILY", start, until, local(2026, 1, 2, 9, 0));
	assert_ended("FREQ=DAILY", start, until - 1, start);
	/* The earlier of the parameter and the rule's UNTIL wins. */
	assert_ended("FREQ=DAILY;UNTIL=20260101T120000Z", start,
	    local(2026, 6, 1, 0, 0), start);
	assert_ended("FREQ=DAILY;UNTIL=20270101T000000Z", start,
	    until - 1, start);
}

/* After a long downtime: the next occurrence, not a replay. */
static void
test_daily_from_years_ago(void **state)
{
	time_t start;

	zone("Asia/Shanghai");
	start = local(2021, 3, 10, 9, 0);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 3, 10, 10, 0)), local(2026, 3, 11, 9, 0));
	/* 1826 days on, 2026-03-08 was the 609th third day. */
	assert_int_equal(next_of("FREQ=DAILY;INTERVAL=3", start, 0,
	    local(2026, 3, 10, 10, 0)), local(2026, 3, 11, 9, 0));
	/* Across ten DST changes, still 09:00 on the wall. */
	zone("America/New_York");
	start = local(2021, 3, 10, 9, 0);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 7, 1, 12, 0)), utc(2026, 7, 1, 13, 0));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 12, 1, 12, 0)), utc(2026, 12, 1, 14, 0));
}

/*
 * Without COUNT the iterator starts near `after`; with a COUNT that is
 * never reached it must replay from dtstart.  Both must agree.
 */
static void
test_catch_up_matches_replay(void **state)
{
	static const struct { const char *rule; int days_back; } rules[] = {
		{ "FREQ=DAILY", 2000 },
		{ "FREQ=DAILY;INTERVAL=3", 2000 },
		{ "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", 2000 },
		{ "FREQ=WEEKLY;INTERVAL=3", 2000 },
		{ "FREQ=MONTHLY;INTERVAL=5", 2000 },
		{ "FREQ=MONTHLY;BYDAY=-1FR", 2000 },
		{ "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1", 2000 },
		{ "FREQ=YEARLY;INTERVAL=3", 4000 },
		{ "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", 2000 },
		/* COUNT is capped at 10000: keep the replays under it. */
		{ "FREQ=HOURLY;INTERVAL=5", 400 },
		{ "FREQ=HOURLY;INTERVAL=7;BYDAY=SA", 1000 },
		{ "FREQ=MINUTELY;INTERVAL=7", 40 },
		{ "FREQ=SECONDLY;INTERVAL=7", 0 },
	};
	static const char *zones[] = { "America/New_York", "Asia/Shanghai" };
	time_t afters[4], start, a, b;
	char counted[128];
	size_t i, j, z;

	for (z = 0; z < 2; z++) {
		zone(zones[z]);
		afters[0] = local(2026, 3, 8, 1, 17);
		afters[1] = local(2026, 11, 1, 1, 45);
		afters[2] = local(2026, 2, 28, 23, 59);
		afters[3] = local(2026, 7, 15, 0, 0);
		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			snprintf(counted, sizeof(counted), "%s;COUNT=10000",
			    rules[i].rule);
			for (j = 0; j < 4; j++) {
				start = afters[j] - rules[i].days_back * 86400L
				    - 12345;
				a = next_of(rules[i].rule, start, 0, afters[j]);
				b = next_of(counted, start, 0, afters[j]);
				if (a != b)
					fail_msg("%s in %s after %lld: %lld != "
					    "%lld", rules[i].rule, zones[z],
					    (long long)afters[j], (long long)a,
					    (long long)b);
				assert_true(a > afters[j]);
			}
		}
	}
}

/* A daily 09:00 plan keeps 09:00 local through both changes. */
static void
test_dst_daily_nine(void **state)
{
	time_t start;

	zone("America/New_York");
	start = local(2026, 3, 1, 9, 0);
	assert_int_equal(start, utc(2026, 3, 1, 14, 0));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 3, 7, 9, 0)), utc(2026, 3, 8, 13, 0));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 3, 8, 13, 0)), utc(2026, 3, 9, 13, 0));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 10, 31, 9, 0)), utc(2026, 11, 1, 14, 0));

	zone("Europe/Berlin");
	start = local(2026, 3, 1, 9, 0);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 3, 28, 9, 0)), utc(2026, 3, 29, 7, 0));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 10, 24, 9, 0)), utc(2026, 10, 25, 8, 0));
}

/* Counts the plan's occurrences in [from, to). */
static int
count_between(const char *rule, time_t start, time_t from, time_t to)
{
	time_t t = from - 1;
	int n = 0;

	while ((t = next_of(rule, start, 0, t)) < to)
		n++;
	return n;
}

/* 02:30 daily: skipped on spring-forward day -> once at 03:00. */
static void
test_dst_daily_in_skipped_hour(void **state)
{
	time_t start;

	zone("America/New_York");
	start = local(2026, 3, 1, 2, 30);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 3, 7, 2, 30)), utc(2026, 3, 8, 7, 0));	/* 03:00 EDT */
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 3, 8, 7, 0)), utc(2026, 3, 9, 6, 30));	/* 02:30 EDT */
	assert_int_equal(count_between("FREQ=DAILY", start,
	    local(2026, 3, 8, 0, 0), local(2026, 3, 9, 0, 0)), 1);

	zone("Europe/Berlin");
	start = local(2026, 3, 1, 2, 30);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 3, 28, 2, 30)), utc(2026, 3, 29, 1, 0));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 3, 29, 1, 0)), utc(2026, 3, 30, 0, 30));

	/* Hourly through the gap: 02:00 becomes 03:00, which fires once. */
	zone("America/New_York");
	start = local(2026, 3, 7, 0, 0);
	assert_int_equal(count_between("FREQ=HOURLY", start,
	    local(2026, 3, 8, 0, 0), local(2026, 3, 9, 0, 0)), 23);
}

/* 01:30 daily: repeated on fall-back day -> once, the first 01:30. */
static void
test_dst_daily_in_repeated_hour(void **state)
{
	time_t start;

	zone("America/New_York");
	start = local(2026, 10, 1, 1, 30);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 10, 31, 1, 30)), utc(2026, 11, 1, 5, 30));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 11, 1, 5, 30)), utc(2026, 11, 2, 6, 30));
	assert_int_equal(count_between("FREQ=DAILY", start,
	    local(2026, 11, 1, 0, 0), local(2026, 11, 2, 0, 0)), 1);

	zone("Europe/Berlin");
	start = local(2026, 10, 1, 2, 30);
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    local(2026, 10, 24, 2, 30)), utc(2026, 10, 25, 0, 30));
	assert_int_equal(next_of("FREQ=DAILY", start, 0,
	    utc(2026, 10, 25, 0, 30)), utc(2026, 10, 26, 1, 30));
}

static void
test_next_errors(void **state)
{
	char *err = NULL;
	time_t next = 42;

	zone("UTC");
	assert_int_equal(recur_next("FREQ=SOMETIMES", 0, 0, 0, &next, &err),
	    -1);
	assert_non_null(strstr(err, "\"FREQ=SOMETIMES\""));
	assert_int_equal(next, 42);
	free(err);
	err = NULL;
	assert_int_equal(recur_next("", 0, 0, 0, &next, &err), -1);
	assert_non_null(err);
	free(err);
	/* A rule that cannot occur is refused before libical searches. */
	err = NULL;
	assert_int_equal(recur_next("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31",
	    utc(2026, 1, 1, 9, 0), 0, utc(2026, 1, 1, 9, 0), &next, &err), -1);
	assert_non_null(strstr(err, "BYMONTHDAY"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_good),
		cmocka_unit_test(test_validate_bad),
		cmocka_unit_test(test_validate_message_utf8),
		cmocka_unit_test(test_weekly_monday),
		cmocka_unit_test(test_monthly_from_31st),
		cmocka_unit_test(test_monthly_last_day),
		cmocka_unit_test(test_leap_day_yearly),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_until_in_rule),
		cmocka_unit_test(test_until_parameter),
		cmocka_unit_test(test_daily_from_years_ago),
		cmocka_unit_test(test_catch_up_matches_replay),
		cmocka_unit_test(test_dst_daily_nine),
		cmocka_unit_test(test_dst_daily_in_skipped_hour),
		cmocka_unit_test(test_dst_daily_in_repeated_hour),
		cmocka_unit_test(test_next_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
