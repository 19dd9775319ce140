/*
 * workhours.h: which instants are working time, the next working start,
 * and adding working time (escalation).  Working time is [start, end) on
 * working days that are not holidays.
 *
 * Dates used (Asia/Shanghai unless noted): 2026-03-09 is a Monday,
 * 2026-03-13 a Friday, 2026-10-01 (a holiday here) a Thursday.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "tz.h"
#include "workhours.h"

#define HOUR	3600

static struct tz_date holidays[] = {
	{ 2026, 5, 1 }, { 2026, 10, 1 },
};

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

/* Mon-Fri 09:00-18:00 with the holidays above, in Shanghai. */
static int
office(void **state)
{
	static struct workhours wh;

	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	workhours_default(&wh);
	wh.holidays = holidays;
	wh.nholidays = sizeof(holidays) / sizeof(holidays[0]);
	*state = &wh;
	return 0;
}

static void
test_default(void **state)
{
	struct workhours wh;

	workhours_default(&wh);
	assert_int_equal(wh.days, 0x3e);	/* Mon..Fri */
	assert_int_equal(wh.start, 9 * 60);
	assert_int_equal(wh.end, 18 * 60);
	assert_int_equal(wh.nholidays, 0);
	assert_false(workhours_always_open(&wh));
	wh.days = 0x7f;
	wh.start = 0;
	wh.end = 1440;
	assert_true(workhours_always_open(&wh));
	/* A holiday closes a day even around the clock. */
	wh.holidays = holidays;
	wh.nholidays = 2;
	assert_false(workhours_always_open(&wh));
}

static void
test_holidays(void **state)
{
	struct workhours *wh = *state;
	struct tz_date d = { 2026, 10, 1 };

	assert_true(workhours_is_holiday(wh, &d));
	d = (struct tz_date){ 2026, 5, 1 };
	assert_true(workhours_is_holiday(wh, &d));
	d = (struct tz_date){ 2026, 10, 2 };
	assert_false(workhours_is_holiday(wh, &d));
	d = (struct tz_date){ 2027, 10, 1 };
	assert_false(workhours_is_holiday(wh, &d));
}

static void
test_is_open(void **state)
{
	struct workhours *wh = *state;

	/* Start inclusive, end exclusive. */
	assert_false(workhours_is_open(wh, local(2026, 3, 9, 9, 0) - 1));
	assert_true(workhours_is_open(wh, local(2026, 3, 9, 9, 0)));
	assert_true(workhours_is_open(wh, local(2026, 3, 9, 13, 0)));
	assert_true(workhours_is_open(wh, local(2026, 3, 9, 18, 0) - 1));
	assert_false(workhours_is_open(wh, local(2026, 3, 9, 18, 0)));
	assert_false(workhours_is_open(wh, local(2026, 3, 9, 3, 0)));
	/* Weekend and holiday. */
	assert_false(workhours_is_open(wh, local(2026, 3, 14, 12, 0)));
	assert_false(workhours_is_open(wh, local(2026, 3, 15, 12, 0)));
	assert_false(workhours_is_open(wh, local(2026, 10, 1, 12, 0)));
	assert_true(workhours_is_open(wh, local(2026, 10, 2, 12, 0)));
	/* Local, not UTC: Monday 09:30 Shanghai is Monday 01:30 UTC. */
	assert_true(workhours_is_open(wh, utc(2026, 3, 9, 1, 30)));
	assert_false(workhours_is_open(wh, utc(2026, 3, 9, 10, 30)));
}

static void
test_next_open(void **state)
{
	struct workhours *wh = *state;

	/* Friday evening -> Monday 09:00. */
	assert_int_equal(workhours_next_open(wh, local(2026, 3, 13, 19, 0)),
	    local(2026, 3, 16, 9, 0));
	assert_int_equal(workhours_next_open(wh, local(2026, 3, 13, 18, 0)),
	    local(2026, 3, 16, 9, 0));
	assert_int_equal(workhours_next_open(wh, local(2026, 3, 14, 10, 0)),
	    local(2026, 3, 16, 9, 0));
	/* Before start the same day. */
	assert_int_equal(workhours_next_open(wh, local(2026, 3, 9, 7, 15)),
	    local(2026, 3, 9, 9, 0));
	/* Open: itself. */
	assert_int_equal(workhours_next_open(wh, local(2026, 3, 9, 10, 7)),
	    local(2026, 3, 9, 10, 7));
	/* From a holiday, and from the evening before one. */
	assert_int_equal(workhours_next_open(wh, local(2026, 10, 1, 11, 0)),
	    local(2026, 10, 2, 9, 0));
	assert_int_equal(workhours_next_open(wh, local(2026, 9, 30, 18, 0)),
	    local(2026, 10, 2, 9, 0));
	/* A holiday on Friday 2026-05-01: Thursday evening -> Monday. */
	assert_int_equal(workhours_next_open(wh, local(2026, 4, 30, 20, 0)),
	    local(2026, 5, 4, 9, 0));
}

static void
test_add(void **state)
{
	struct workhours *wh = *state;
	time_t mon10 = local(2026, 3, 9, 10, 0);

	/* Mon 10-18 = 8h, Tue 9-18 = 9h, Wed 9:00 + 7h = 16:00. */
	assert_int_equal(workhours_add(wh, mon10, 24 * HOUR),
	    local(2026, 3, 11, 16, 0));
	/* Used up exactly at closing time: closing time. */
	assert_int_equal(workhours_add(wh, mon10, 8 * HOUR),
	    local(2026, 3, 9, 18, 0));
	assert_int_equal(workhours_add(wh, mon10, 8 * HOUR + 1),
	    local(2026, 3, 10, 9, 0) + 1);
	assert_int_equal(workhours_add(wh, mon10, 0), mon10);
	/* Across a weekend. */
	assert_int_equal(workhours_add(wh, local(2026, 3, 13, 17, 0), 2 * HOUR),
	    local(2026, 3, 16, 10, 0));
	/* Starting outside working time counts from the next start. */
	assert_int_equal(workhours_add(wh, local(2026, 3, 14, 12, 0), HOUR),
	    local(2026, 3, 16, 10, 0));
	assert_int_equal(workhours_add(wh, local(2026, 3, 9, 20, 0), HOUR),
	    local(2026, 3, 10, 10, 0));
	/* Across the Thursday holiday. */
	assert_int_equal(workhours_add(wh, local(2026, 9, 30, 17, 0), 2 * HOUR),
	    local(2026, 10, 2, 10, 0));
	/* 24 working hours from Wednesday 17:00 over holiday and weekend:
	 * Wed 1h, Fri 9h, Mon 9h, Tue 5h -> Tue 14:00. */
	assert_int_equal(workhours_add(wh, local(2026, 9, 30, 17, 0),
	    24 * HOUR), local(2026, 10, 6, 14, 0));
}

static void
test_always_open(void **state)
{
	struct workhours wh = { .days = 0x7f, .start = 0, .end = 1440 };
	time_t t = local(2026, 3, 14, 3, 33);

	assert_true(workhours_always_open(&wh));
	assert_true(workhours_is_open(&wh, t));
	assert_int_equal(workhours_next_open(&wh, t), t);
	assert_int_equal(workhours_add(&wh, t, 24 * HOUR), t + 24 * HOUR);
	assert_int_equal(workhours_add(&wh, t, 90 * 86400), t + 90 * 86400);
}

static void
test_end_of_day(void **state)
{
	struct workhours wh = { .days = 0x3e, .start = 9 * 60, .end = 1440 };

	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	assert_true(workhours_is_open(&wh, local(2026, 3, 13, 23, 59)));
	assert_false(workhours_is_open(&wh, local(2026, 3, 14, 0, 0)));
	assert_int_equal(workhours_next_open(&wh, local(2026, 3, 14, 0, 0)),
	    local(2026, 3, 16, 9, 0));
	/* Fri 23:00 + 2h: 1h Friday, then Monday 09:00 + 1h. */
	assert_int_equal(workhours_add(&wh, local(2026, 3, 13, 23, 0),
	    2 * HOUR), local(2026, 3, 16, 10, 0));
}

static void
test_never_open_terminates(void **state)
{
	/* Refused by the config, but must not hang if it ever got here. */
	struct workhours wh = { .days = 0, .start = 9 * 60, .end = 18 * 60 };
	time_t t = local(2026, 3, 9, 10, 0);

	assert_false(workhours_is_open(&wh, t));
	assert_int_equal(workhours_next_open(&wh, t), t);
	assert_int_equal(workhours_add(&wh, t, HOUR), t + HOUR);
	assert_int_equal(workhours_add(&wh, t, INT64_MAX), INT64_MAX);
}

/* Every Monday a holiday for five years: the search gives up, returns t. */
static void
test_next_open_bounded(void **state)
{
	static struct tz_date mondays[5 * 53];
	struct workhours wh = { .days = 1u << 1, .start = 9 * 60,
	    .end = 18 * 60, .holidays = mondays };
	struct tz_date d = { 2026, 3, 9 };
	time_t t;

	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	for (wh.nholidays = 0; wh.nholidays < 5 * 53; wh.nholidays++) {
		mondays[wh.nholidays] = d;
		tz_add_days(&d, 7);
	}
	t = local(2026, 3, 9, 10, 0);
	assert_int_equal(workhours_next_open(&wh, t), t);
	/* One Monday fewer at the start: that Monday opens. */
	wh.holidays = mondays + 1;
	wh.nholidays--;
	assert_int_equal(workhours_next_open(&wh, local(2026, 3, 9, 10, 0)),
	    local(2026, 3, 9, 10, 0));
	assert_int_equal(workhours_next_open(&wh, local(2026, 3, 2, 19, 0)),
	    local(2026, 3, 9, 9, 0));
}

/* Working time is real elapsed time: the spring-forward day is 23h long. */
static void
test_dst_day_is_shorter(void **state)
{
	static struct tz_date none[] = { { 2000, 1, 1 } };
	struct workhours wh = { .days = 0x7f, .start = 0, .end = 1440,
	    .holidays = none, .nholidays = 1 };

	assert_int_equal(tz_set("America/New_York"), 0);
	assert_false(workhours_always_open(&wh));
	assert_int_equal(workhours_add(&wh, local(2026, 3, 8, 0, 0), 24 * HOUR),
	    local(2026, 3, 9, 1, 0));
	/* The fall-back day is 25h long. */
	assert_int_equal(workhours_add(&wh, local(2026, 11, 1, 0, 0),
	    24 * HOUR), local(2026, 11, 1, 23, 0));

	/* 9-18 office hours keep their local times across the change. */
	workhours_default(&wh);
	assert_int_equal(workhours_next_open(&wh, local(2026, 3, 6, 18, 0)),
	    utc(2026, 3, 9, 13, 0));		/* 09:00 EDT */
	assert_int_equal(workhours_next_open(&wh, local(2026, 10, 30, 18, 0)),
	    utc(2026, 11, 2, 14, 0));		/* 09:00 EST */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test_setup(test_holidays, office),
		cmocka_unit_test_setup(test_is_open, office),
		cmocka_unit_test_setup(test_next_open, office),
		cmocka_unit_test_setup(test_add, office),
		cmocka_unit_test_setup(test_always_open, office),
		cmocka_unit_test(test_end_of_day),
		cmocka_unit_test_setup(test_never_open_terminates, office),
		cmocka_unit_test(test_next_open_bounded),
		cmocka_unit_test(test_dst_day_is_shorter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
