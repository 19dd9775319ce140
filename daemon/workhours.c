/*
 * Working time.  A working day is one whose weekday is in `days` and which
 * is not a holiday; its working period is the instants from its local
 * `start` up to, not including, its local `end` ("24:00" is the next
 * midnight).  Everything here is a walk over those periods, one local day
 * at a time, bounded so that a configuration with no working day at all
 * still returns.
 */
#include <stdint.h>
#include <stdlib.h>

#include "workhours.h"

#define ALL_DAYS	0x7fu
#define MON_FRI		0x3eu
#define NEXT_OPEN_DAYS	(3 * 366 + 1)	/* a holiday list cannot close more */
#define ADD_DAYS	(10 * 366)	/* escalations are days, not decades */

void
workhours_default(struct workhours *wh)
{
	wh->days = MON_FRI;
	wh->start = 9 * 60;
	wh->end = 18 * 60;
	wh->holidays = NULL;
	wh->nholidays = 0;
}

/* Holidays close a day even when every weekday is open around the clock. */
int
workhours_always_open(const struct workhours *wh)
{
	return (wh->days & ALL_DAYS) == ALL_DAYS && wh->start <= 0 &&
	    wh->end >= 1440 && wh->nholidays == 0;
}

static int
date_cmp(const void *a, const void *b)
{
	return tz_date_cmp(a, b);
}

int
workhours_is_holiday(const struct workhours *wh, const struct tz_date *d)
{
	if (wh->nholidays == 0)
		return 0;
	return bsearch(d, wh->holidays, wh->nholidays, sizeof(*wh->holidays),
	    date_cmp) != NULL;
}

static int
is_working_day(const struct workhours *wh, const struct tz_date *d)
{
	return (wh->days & (1u << tz_weekday(d))) != 0 &&
	    !workhours_is_holiday(wh, d);
}

/* The instants [*from, *to) of day d's working period. */
static void
period(const struct workhours *wh, const struct tz_date *d, time_t *from,
    time_t *to)
{
	struct tz_date next;

	*from = tz_local_to_utc(d, wh->start);
	if (wh->end >= 1440) {
		next = *d;
		tz_add_days(&next, 1);
		*to = tz_local_to_utc(&next, 0);
	} else
		*to = tz_local_to_utc(d, wh->end);
}

static time_t
add_saturated(time_t t, int64_t secs)
{
	if (secs > 0 && t > INT64_MAX - secs)
		return INT64_MAX;
	return t + secs;
}

int
workhours_is_open(const struct workhours *wh, time_t t)
{
	struct tz_date d;
	time_t from, to;
	int minute;

	if (workhours_always_open(wh))
		return 1;
	tz_utc_to_local(t, &d, &minute);
	if (!is_working_day(wh, &d))
		return 0;
	period(wh, &d, &from, &to);
	return from <= t && t < to;
}

time_t
workhours_next_open(const struct workhours *wh, time_t t)
{
	struct tz_date d;
	time_t from, to;
	int minute, i;

	if (workhours_always_open(wh))
		return t;
	if ((wh->days & ALL_DAYS) == 0)
		return t;	/* never open: do not hold anything back */
	tz_utc_to_local(t, &d, &minute);
	for (i = 0; i < NEXT_OPEN_DAYS; i++, tz_add_days(&d, 1)) {
		if (!is_working_day(wh, &d))
			continue;
		period(wh, &d, &from, &to);
		if (t < from)
			return from;
		if (t < to)
			return t;
	}
	return t;
}

time_t
workhours_add(const struct workhours *wh, time_t t, int64_t secs)
{
	struct tz_date d;
	time_t from, to;
	int64_t left = secs;
	int minute, i;

	if (secs <= 0)
		return t;
	if (workhours_always_open(wh) || (wh->days & ALL_DAYS) == 0)
		return add_saturated(t, secs);
	tz_utc_to_local(t, &d, &minute);
	for (i = 0; i < ADD_DAYS; i++, tz_add_days(&d, 1)) {
		if (!is_working_day(wh, &d))
			continue;
		period(wh, &d, &from, &to);
		if (from < t)
			from = t;
		if (from >= to)
			continue;
		/* Exactly used up at closing time means closing time. */
		if (left <= to - from)
			return from + left;
		left -= to - from;
	}
	return add_saturated(t, secs);
}
