/*
 * tz.h: the configured zone, wall time <-> instant with the DST rules
 * (skipped hour -> the transition, repeated hour -> the earlier instant),
 * the calendar helpers, the strict parsers and birthdays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "tz.h"

/* An instant from UTC calendar fields. */
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

static void
test_set_zone(void **state)
{
	char buf[32];

	zone("Asia/Shanghai");
	assert_string_equal(tz_format_local(utc(2026, 1, 1, 0, 0), buf,
	    sizeof(buf)), "2026-01-01 08:00");
	assert_int_equal(tz_set("Nowhere/Atlantis"), -1);
	assert_int_equal(tz_set(""), -1);
	assert_int_equal(tz_set(NULL), -1);
	assert_int_equal(tz_set("/etc/localtime"), -1);
	assert_int_equal(tz_set("../zoneinfo/UTC"), -1);
	/* A refused zone leaves the previous one in force. */
	assert_string_equal(tz_format_local(utc(2026, 1, 1, 0, 0), buf,
	    sizeof(buf)), "2026-01-01 08:00");
	zone("UTC");
	assert_string_equal(tz_format_local(utc(2026, 1, 1, 0, 0), buf,
	    sizeof(buf)), "2026-01-01 00:00");
}

static void
test_shanghai_no_dst(void **state)
{
	struct tz_date d;
	int minute, mon;

	zone("Asia/Shanghai");
	/* UTC+8 all year: no gap, no overlap. */
	for (mon = 1; mon <= 12; mon++)
		assert_int_equal(local(2026, mon, 1, 9, 0),
		    utc(2026, mon, 1, 1, 0));
	assert_int_equal(local(2026, 1, 1, 0, 0), utc(2025, 12, 31, 16, 0));
	tz_utc_to_local(utc(2026, 12, 31, 16, 30), &d, &minute);
	assert_int_equal(d.year, 2027);
	assert_int_equal(d.mon, 1);
	assert_int_equal(d.day, 1);
	assert_int_equal(minute, 30);
}

static void
test_utc_zone(void **state)
{
	struct tz_date d;
	int minute;

	zone("UTC");
	assert_int_equal(local(2026, 3, 8, 2, 30), utc(2026, 3, 8, 2, 30));
	assert_int_equal(local(2024, 2, 29, 23, 59), utc(2024, 2, 29, 23, 59));
	tz_utc_to_local(utc(2026, 7, 4, 13, 5), &d, &minute);
	assert_int_equal(d.year, 2026);
	assert_int_equal(d.mon, 7);
	assert_int_equal(d.day, 4);
	assert_int_equal(minute, 13 * 60 + 5);
}

static void
test_new_york_skipped_hour(void **state)
{
	zone("America/New_York");
	/* 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC). */
	assert_int_equal(local(2026, 3, 8, 1, 59), utc(2026, 3, 8, 6, 59));
	assert_int_equal(local(2026, 3, 8, 2, 0), utc(2026, 3, 8, 7, 0));
	assert_int_equal(local(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 0));
	assert_int_equal(local(2026, 3, 8, 2, 59), utc(2026, 3, 8, 7, 0));
	assert_int_equal(local(2026, 3, 8, 3, 0), utc(2026, 3, 8, 7, 0));
	assert_int_equal(local(2026, 3, 8, 3, 30), utc(2026, 3, 8, 7, 30));
}

static void
test_new_york_repeated_hour(void **state)
{
	char buf[32];

	zone("America/New_York");
	/* 2026-11-01 02:00 EDT -> 01:00 EST: 01:xx happens twice. */
	assert_int_equal(local(2026, 11, 1, 0, 59), utc(2026, 11, 1, 4, 59));
	assert_int_equal(local(2026, 11, 1, 1, 0), utc(2026, 11, 1, 5, 0));
	assert_int_equal(local(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30));
	assert_int_equal(local(2026, 11, 1, 1, 59), utc(2026, 11, 1, 5, 59));
	assert_int_equal(local(2026, 11, 1, 2, 0), utc(2026, 11, 1, 7, 0));
	/* Both instants read 01:30 on the wall. */
	assert_string_equal(tz_format_local(utc(2026, 11, 1, 5, 30), buf,
	    sizeof(buf)), "2026-11-01 01:30");
	assert_string_equal(tz_format_local(utc(2026, 11, 1, 6, 30), buf,
	    sizeof(buf)), "2026-11-01 01:30");
}

static void
test_berlin(void **state)
{
	zone("Europe/Berlin");
	/* 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC). */
	assert_int_equal(local(2026, 3, 29, 1, 59), utc(2026, 3, 29, 0, 59));
	assert_int_equal(local(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 0));
	assert_int_equal(local(2026, 3, 29, 3, 0), utc(2026, 3, 29, 1, 0));
	/* 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 is first at 00:30 UTC. */
	assert_int_equal(local(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30));
	assert_int_equal(local(2026, 10, 25, 3, 0), utc(2026, 10, 25, 2, 0));
	assert_int_equal(local(2026, 7, 1, 12, 0), utc(2026, 7, 1, 10, 0));
	assert_int_equal(local(2026, 1, 1, 12, 0), utc(2026, 1, 1, 11, 0));
}

/*
 * Every quarter hour of 2026 in New York and Berlin: the wall time maps
 * back to an instant showing the same wall time, and to the instant itself
 * except in the second pass of a repeated hour (then to the first pass).
 */
static void
test_round_trip_all_year(void **state)
{
	static const char *zones[] = { "America/New_York", "Europe/Berlin" };
	struct tz_date d, back;
	int minute, bminute, repeats;
	time_t t, r;
	size_t z;

	for (z = 0; z < 2; z++) {
		zone(zones[z]);
		repeats = 0;
		for (t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0);
		    t += 900) {
			tz_utc_to_local(t, &d, &minute);
			r = tz_local_to_utc(&d, minute);
			tz_utc_to_local(r, &back, &bminute);
			assert_int_equal(tz_date_cmp(&d, &back), 0);
			assert_int_equal(minute, bminute);
			if (r != t) {
				assert_int_equal(r, t - 3600);
				repeats++;
			}
		}
		/* One repeated hour a year: four quarter hours. */
		assert_int_equal(repeats, 4);
	}
}

static void
test_calendar(void **state)
{
	struct tz_date d, e;

	assert_int_equal(tz_days_in_month(2024, 2), 29);
	assert_int_equal(tz_days_in_month(2026, 2), 28);
	assert_int_equal(tz_days_in_month(1900, 2), 28);
	assert_int_equal(tz_days_in_month(2000, 2), 29);
	assert_int_equal(tz_days_in_month(2026, 4), 30);
	assert_int_equal(tz_days_in_month(2026, 12), 31);
	assert_int_equal(tz_days_in_month(2026, 13), 0);
	assert_true(tz_is_leap(2028));
	assert_false(tz_is_leap(2100));

	d = (struct tz_date){ 2026, 3, 8 };
	assert_int_equal(tz_weekday(&d), 0);		/* Sunday */
	d = (struct tz_date){ 2026, 10, 1 };
	assert_int_equal(tz_weekday(&d), 4);		/* Thursday */
	d = (struct tz_date){ 2000, 1, 1 };
	assert_int_equal(tz_weekday(&d), 6);		/* Saturday */
	d = (struct tz_date){ 1969, 12, 31 };
	assert_int_equal(tz_weekday(&d), 3);		/* Wednesday */

	d = (struct tz_date){ 2028, 2, 28 };
	tz_add_days(&d, 1);
	e = (struct tz_date){ 2028, 2, 29 };
	assert_int_equal(tz_date_cmp(&d, &e), 0);
	tz_add_days(&d, 1);
	e = (struct tz_date){ 2028, 3, 1 };
	assert_int_equal(tz_date_cmp(&d, &e), 0);
	d = (struct tz_date){ 2026, 12, 31 };
	tz_add_days(&d, 1);
	e = (struct tz_date){ 2027, 1, 1 };
	assert_int_equal(tz_date_cmp(&d, &e), 0);
	d = (struct tz_date){ 2026, 3, 1 };
	tz_add_days(&d, -1);
	e = (struct tz_date){ 2026, 2, 28 };
	assert_int_equal(tz_date_cmp(&d, &e), 0);
	tz_add_days(&d, 365 * 2 + 1);			/* onto 2028-02-29 */
	e = (struct tz_date){ 2028, 2, 29 };
	assert_int_equal(tz_date_cmp(&d, &e), 0);

	e = (struct tz_date){ 2028, 3, 1 };
	assert_true(tz_date_cmp(&d, &e) < 0);
	assert_true(tz_date_cmp(&e, &d) > 0);
}

static void
test_parse_date(void **state)
{
	static const char *bad[] = {
		"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
		"2026-1-01", "2026-01-1", "2026/01/01", "2026-01-01x",
		" 2026-01-01", "26-01-01", "0000-01-01", "", "abc",
		"２０２６-01-01", "2026-01-01 09:00",
	};
	struct tz_date d;
	size_t i;

	assert_int_equal(tz_parse_date("2024-02-29", &d), 0);
	assert_int_equal(d.year, 2024);
	assert_int_equal(d.mon, 2);
	assert_int_equal(d.day, 29);
	assert_int_equal(tz_parse_date("2026-10-01", &d), 0);
	assert_int_equal(d.mon, 10);
	assert_int_equal(d.day, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = (struct tz_date){ 1, 2, 3 };
		assert_int_equal(tz_parse_date(bad[i], &d), -1);
		assert_int_equal(d.year, 1);		/* untouched */
	}
	assert_int_equal(tz_parse_date(NULL, &d), -1);
}

static void
test_parse_hhmm(void **state)
{
	static const char *bad[] = {
		"9:00", "09:0", "09:60", "25:00", "24:01", "0900", "09:00 ",
		" 09:00", "09h00", "-1:00", "", "ab:cd", "０９:００",
	};
	int m = -7;
	size_t i;

	assert_int_equal(tz_parse_hhmm("09:00", 0, &m), 0);
	assert_int_equal(m, 540);
	assert_int_equal(tz_parse_hhmm("00:00", 0, &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(tz_parse_hhmm("23:59", 0, &m), 0);
	assert_int_equal(m, 1439);
	assert_int_equal(tz_parse_hhmm("24:00", 1, &m), 0);
	assert_int_equal(m, 1440);
	m = -7;
	assert_int_equal(tz_parse_hhmm("24:00", 0, &m), -1);
	assert_int_equal(m, -7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tz_parse_hhmm(bad[i], 1, &m), -1);
		assert_int_equal(m, -7);
	}
	assert_int_equal(tz_parse_hhmm(NULL, 1, &m), -1);
}

static void
test_parse_local_and_format(void **state)
{
	static const char *bad[] = {
		"2026-03-08T02:30", "2026-03-08 24:00", "2026-03-08 02:30:00",
		"2026-03-08  02:30", "2026-02-30 09:00", "2026-03-08 2:30",
		"2026-03-08", "",
	};
	time_t t = 42;
	char buf[17];
	size_t i;

	zone("America/New_York");
	assert_int_equal(tz_parse_local("2026-03-08 02:30", &t), 0);
	assert_int_equal(t, utc(2026, 3, 8, 7, 0));
	assert_string_equal(tz_format_local(t, buf, sizeof(buf)),
	    "2026-03-08 03:00");
	assert_int_equal(tz_parse_local("2026-07-04 23:59", &t), 0);
	assert_int_equal(t, utc(2026, 7, 5, 3, 59));
	assert_string_equal(tz_format_local(t, buf, sizeof(buf)),
	    "2026-07-04 23:59");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		assert_int_equal(tz_parse_local(bad[i], &t), -1);
		assert_int_equal(t, 42);
	}
}

static void
test_birthday_leap_day(void **state)
{
	time_t next = 0;

	zone("Asia/Shanghai");
	/* 29 February falls on 28 February in common years. */
	assert_int_equal(tz_next_birthday("2000-02-29", 540,
	    utc(2027, 1, 1, 0, 0), &next), 0);
	assert_int_equal(next, local(2027, 2, 28, 9, 0));
	assert_int_equal(tz_next_birthday("2000-02-29", 540,
	    utc(2028, 1, 1, 0, 0), &next), 0);
	assert_int_equal(next, local(2028, 2, 29, 9, 0));
	/* MM-DD form; strictly after: the 2027 one itself is not next. */
	assert_int_equal(tz_next_birthday("02-29", 540,
	    local(2027, 2, 28, 9, 0), &next), 0);
	assert_int_equal(next, local(2028, 2, 29, 9, 0));
	assert_int_equal(tz_next_birthday("02-29", 540,
	    local(2028, 2, 29, 9, 0), &next), 0);
	assert_int_equal(next, local(2029, 2, 28, 9, 0));
}

static void
test_birthday_today_and_year_end(void **state)
{
	time_t next = 0;

	zone("Asia/Shanghai");
	/* Later today, then already passed today. */
	assert_int_equal(tz_next_birthday("05-20", 540,
	    local(2026, 5, 20, 8, 0), &next), 0);
	assert_int_equal(next, local(2026, 5, 20, 9, 0));
	assert_int_equal(tz_next_birthday("1990-05-20", 540,
	    local(2026, 5, 20, 10, 0), &next), 0);
	assert_int_equal(next, local(2027, 5, 20, 9, 0));
	/* 31 December, passed: next year's. */
	assert_int_equal(tz_next_birthday("12-31", 540,
	    local(2026, 12, 31, 9, 0), &next), 0);
	assert_int_equal(next, local(2027, 12, 31, 9, 0));
	assert_int_equal(tz_next_birthday("01-01", 0,
	    local(2026, 12, 31, 23, 59), &next), 0);
	assert_int_equal(next, local(2027, 1, 1, 0, 0));
	/* The configured time can fall in a skipped hour. */
	zone("America/New_York");
	assert_int_equal(tz_next_birthday("03-08", 150,
	    utc(2026, 1, 1, 0, 0), &next), 0);
	assert_int_equal(next, utc(2026, 3, 8, 7, 0));
}

static void
test_birthday_malformed(void **state)
{
	static const char *bad[] = {
		"02-30", "13-01", "00-10", "04-31", "abc", "2024-02-30",
		"2023-02-29", "1-5", "2-29", "05/20", "05-20 ", "", "生日",
		"1990-5-20",
	};
	time_t next = 42;
	size_t i;

	zone("Asia/Shanghai");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tz_next_birthday(bad[i], 540, 0, &next), -1);
		assert_int_equal(next, 42);
	}
	assert_int_equal(tz_next_birthday(NULL, 540, 0, &next), -1);
	assert_int_equal(tz_next_birthday("05-20", 1440, 0, &next), -1);
	assert_int_equal(tz_next_birthday("05-20", -1, 0, &next), -1);
	assert_int_equal(next, 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_zone),
		cmocka_unit_test(test_shanghai_no_dst),
		cmocka_unit_test(test_utc_zone),
		cmocka_unit_test(test_new_york_skipped_hour),
		cmocka_unit_test(test_new_york_repeated_hour),
		cmocka_unit_test(test_berlin),
		cmocka_unit_test(test_round_trip_all_year),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_parse_hhmm),
		cmocka_unit_test(test_parse_local_and_format),
		cmocka_unit_test(test_birthday_leap_day),
		cmocka_unit_test(test_birthday_today_and_year_end),
		cmocka_unit_test(test_birthday_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
