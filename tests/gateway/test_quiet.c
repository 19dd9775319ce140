/*
 * gateway.h, quiet hours: inside the window a customer SMS waits until it
 * ends, outside it goes now; the default 21:00-08:00 wraps midnight;
 * boundaries are [start, end); and the clock is the configured zone's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "gateway.h"
#include "tz.h"

#define START	(21 * 60)
#define END	(8 * 60)

static time_t
local(int y, int mo, int d, int h, int mi, int s)
{
	struct tz_date date = { y, mo, d };

	return tz_local_to_utc(&date, h * 60 + mi) + s;
}

static void
expect(int start, int end, time_t now, int quiet, time_t want)
{
	time_t at = -1;

	assert_int_equal(quiet_hours_next(start, end, now, &at), quiet);
	assert_int_equal(at, want);
}

static void
test_shanghai_wrap(void **state)
{
	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	/* 2026-03-01 21:00 CST is 13:00 UTC. */
	assert_int_equal(local(2026, 3, 1, 21, 0, 0), 1772370000);

	expect(START, END, local(2026, 3, 1, 12, 0, 0), 0,
	    local(2026, 3, 1, 12, 0, 0));
	expect(START, END, local(2026, 3, 1, 20, 59, 59), 0,
	    local(2026, 3, 1, 20, 59, 59));
	/* At 21:00 the window has begun: tomorrow 08:00. */
	expect(START, END, local(2026, 3, 1, 21, 0, 0), 1,
	    local(2026, 3, 2, 8, 0, 0));
	expect(START, END, local(2026, 3, 1, 23, 59, 59), 1,
	    local(2026, 3, 2, 8, 0, 0));
	/* After midnight: this morning 08:00. */
	expect(START, END, local(2026, 3, 2, 0, 0, 0), 1,
	    local(2026, 3, 2, 8, 0, 0));
	expect(START, END, local(2026, 3, 2, 7, 59, 59), 1,
	    local(2026, 3, 2, 8, 0, 0));
	/* At 08:00 it is over. */
	expect(START, END, local(2026, 3, 2, 8, 0, 0), 0,
	    local(2026, 3, 2, 8, 0, 0));
	/* Across a month and a year end. */
	expect(START, END, local(2026, 12, 31, 22, 30, 0), 1,
	    local(2027, 1, 1, 8, 0, 0));
}

static void
test_same_day_window(void **state)
{
	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	/* A lunch break 12:00-13:30. */
	expect(720, 810, local(2026, 3, 1, 11, 59, 0), 0,
	    local(2026, 3, 1, 11, 59, 0));
	expect(720, 810, local(2026, 3, 1, 12, 0, 0), 1,
	    local(2026, 3, 1, 13, 30, 0));
	expect(720, 810, local(2026, 3, 1, 13, 30, 0), 0,
	    local(2026, 3, 1, 13, 30, 0));
	/* Until midnight: "24:00" ends at the next day's 00:00. */
	expect(22 * 60, 1440, local(2026, 3, 1, 23, 0, 0), 1,
	    local(2026, 3, 2, 0, 0, 0));
}

static void
test_none_and_invalid(void **state)
{
	time_t at;

	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	expect(0, 0, local(2026, 3, 1, 3, 0, 0), 0, local(2026, 3, 1, 3, 0, 0));
	assert_int_equal(quiet_hours_next(-1, END, 0, &at), -1);
	assert_int_equal(quiet_hours_next(START, 1441, 0, &at), -1);
	assert_int_equal(quiet_hours_next(1440, END, 0, &at), -1);
}

/* The same instant is quiet in Shanghai and not in New York. */
static void
test_zone_decides(void **state)
{
	time_t now = 1772370000 + 3600;	/* 22:00 Shanghai, 09:00 New York */

	assert_int_equal(tz_set("America/New_York"), 0);
	expect(START, END, now, 0, now);
	assert_int_equal(tz_set("Asia/Shanghai"), 0);
	expect(START, END, now, 1, local(2026, 3, 2, 8, 0, 0));
}

/* New York springs forward 2026-03-08 02:00: the night is an hour shorter. */
static void
test_dst_night(void **state)
{
	assert_int_equal(tz_set("America/New_York"), 0);
	expect(START, END, local(2026, 3, 7, 22, 0, 0), 1,
	    local(2026, 3, 8, 8, 0, 0));
	assert_int_equal(local(2026, 3, 8, 8, 0, 0) - local(2026, 3, 7, 22,
	    0, 0), 9 * 3600);
	/* A window ending in the skipped hour ends at the transition. */
	expect(START, 150, local(2026, 3, 8, 1, 30, 0), 1,
	    local(2026, 3, 8, 3, 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shanghai_wrap),
		cmocka_unit_test(test_same_day_window),
		cmocka_unit_test(test_none_and_invalid),
		cmocka_unit_test(test_zone_decides),
		cmocka_unit_test(test_dst_night),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
