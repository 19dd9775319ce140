/*
 * Recurrence rules through libical.  The series is generated in floating
 * (zone-less) wall-clock time from dtstart's local wall time, so libical
 * never sees a zone and "every day at 09:00" stays 09:00 across DST; each
 * wall time becomes an instant with tz_local_to_utc(), which owns the
 * skipped/repeated-hour rules.
 *
 * UNTIL is taken out of the rule and applied here, to instants: libical
 * would compare a UTC UNTIL against floating times as if they were UTC.
 *
 * Catching up after a long downtime: for rules without COUNT whose period
 * is a fixed length of wall time (SECONDLY to WEEKLY), dtstart is moved
 * forward by whole INTERVAL periods to just before `after`, which yields
 * the same series without replaying years of it.  MONTHLY and YEARLY
 * rules are replayed from dtstart: a few hundred steps for decades.  With
 * COUNT every occurrence must be counted from the start; COUNT bounds
 * that work.  libical's icalrecur_iterator_set_start() is not used: in
 * 3.0.16 it loses the INTERVAL phase of sub-daily rules and misplaces
 * BYWEEKNO occurrences (tests/time/test_recur.c compares both paths).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libical/ical.h>

#include "recur.h"
#include "tz.h"

/* Occurrences looked at per call before giving up on a rule. */
#define RECUR_MAX_STEPS	1000000
#define QUOTE_MAX	120

static void
set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) == -1)
		*err = NULL;
	va_end(ap);
}

/* The rule for a message: printable, bounded, never a cut UTF-8 char. */
static const char *
quoted(const char *s, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && n + 4 < len && i < QUOTE_MAX; i++)
		buf[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
		    '?' : s[i];
	if (s[i] != '\0') {
		/* Cut before the character the next byte belongs to. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static void	rule_free(struct icalrecurrencetype *);

/* Rules longer than this are refused: every occurrence up to `after`
 * may be stepped on the event loop. */
#define RECUR_MAX_COUNT		10000

static int
has(const short *by)
{
	return by[0] != ICAL_RECURRENCE_ARRAY_MAX;
}

/*
 * Refuses rules libical would search forever, or long enough to stall the
 * event loop, for an occurrence that never comes: a sub-daily rule with a
 * calendar filter steps every second, minute or hour through the years
 * (FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30 never ends), and BYMONTHDAY
 * days that none of the BYMONTH months has.
 */
static const char *
infeasible(const struct icalrecurrencetype *r)
{
	static const int mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };

	if (r->freq == ICAL_SECONDLY_RECURRENCE ||
	    r->freq == ICAL_MINUTELY_RECURRENCE ||
	    r->freq == ICAL_HOURLY_RECURRENCE) {
		if (has(r->by_month) || has(r->by_month_day) ||
		    has(r->by_year_day) || has(r->by_week_no) ||
		    has(r->by_set_pos))
			return "an hourly, minutely or secondly rule cannot be "
			    "limited by BYMONTH, BYMONTHDAY, BYYEARDAY, "
			    "BYWEEKNO or BYSETPOS; use FREQ=DAILY or longer";
	}
	if (r->count > RECUR_MAX_COUNT)
		return "COUNT is over 10000";
	if (has(r->by_month) && has(r->by_month_day)) {
		for (int i = 0; i < ICAL_BY_MONTHDAY_SIZE && r->by_month_day[i] !=
		    ICAL_RECURRENCE_ARRAY_MAX; i++) {
			int d = abs(r->by_month_day[i]);

			for (int j = 0; j < ICAL_BY_MONTH_SIZE && r->by_month[j]
			    != ICAL_RECURRENCE_ARRAY_MAX; j++) {
				int m = icalrecurrencetype_month_month(
				    r->by_month[j]);

				if (m >= 1 && m <= 12 && d <= mdays[m])
					return NULL;
			}
		}
		return "none of the BYMONTH months has the BYMONTHDAY day";
	}
	return NULL;
}

static int
parse_rule(const char *rrule, struct icalrecurrencetype *r, char **err)
{
	char q[QUOTE_MAX + 8];

	if (rrule == NULL || rrule[strspn(rrule, " \t")] == '\0') {
		set_err(err, "empty recurrence rule (expected e.g. "
		    "\"FREQ=WEEKLY;BYDAY=MO\")");
		return -1;
	}
	*r = icalrecurrencetype_from_string(rrule);
	if (r->freq != ICAL_NO_RECURRENCE) {
		const char *why = infeasible(r);

		if (why == NULL)
			return 0;
		set_err(err, "recurrence rule \"%s\" is refused: %s",
		    quoted(rrule, q, sizeof(q)), why);
		rule_free(r);
		return -1;
	}
	if (strcasestr(rrule, "FREQ=") == NULL)
		set_err(err, "recurrence rule \"%s\" has no FREQ (expected e.g. "
		    "\"FREQ=WEEKLY;BYDAY=MO\")", quoted(rrule, q, sizeof(q)));
	else
		set_err(err, "recurrence rule \"%s\" is not a valid RFC 5545 "
		    "RRULE", quoted(rrule, q, sizeof(q)));
	return -1;
}

static void
rule_free(struct icalrecurrencetype *r)
{
	free(r->rscale);
	r->rscale = NULL;
}

/* A floating wall time from a struct tm. */
static struct icaltimetype
floating_tm(const struct tm *tm)
{
	struct icaltimetype it = icaltime_null_time();

	it.year = tm->tm_year + 1900;
	it.month = tm->tm_mon + 1;
	it.day = tm->tm_mday;
	it.hour = tm->tm_hour;
	it.minute = tm->tm_min;
	it.second = tm->tm_sec > 59 ? 59 : tm->tm_sec;
	it.is_date = 0;
	it.zone = NULL;
	return it;
}

/* Instant t's local wall time. */
static struct icaltimetype
floating_local(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return icaltime_null_time();
	return floating_tm(&tm);
}

/* A floating time as seconds on a zone-less (UTC-like) clock. */
static time_t
floating_seconds(struct icaltimetype it)
{
	struct tm tm = { 0 };

	tm.tm_year = it.year - 1900;
	tm.tm_mon = it.month - 1;
	tm.tm_mday = it.day;
	tm.tm_hour = it.hour;
	tm.tm_min = it.minute;
	tm.tm_sec = it.second;
	return timegm(&tm);
}

static struct icaltimetype
floating_from_seconds(time_t s)
{
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL)
		return icaltime_null_time();
	return floating_tm(&tm);
}

/* A wall time in the configured zone to its instant, DST rules applied. */
static time_t
wall_to_instant(struct icaltimetype it)
{
	struct tz_date d = { it.year, it.month, it.day }, shown;
	int minute = it.hour * 60 + it.minute, shown_minute;
	time_t t;

	t = tz_local_to_utc(&d, minute);
	tz_utc_to_local(t, &shown, &shown_minute);
	/* In a skipped hour t is the transition: seconds do not apply. */
	if (tz_date_cmp(&shown, &d) == 0 && shown_minute == minute)
		t += it.second;
	return t;
}

/* UNTIL as an instant: UTC as given, floating as local, a DATE inclusive. */
static time_t
until_instant(struct icaltimetype u)
{
	struct tz_date d = { u.year, u.month, u.day };

	if (u.is_date) {
		tz_add_days(&d, 1);
		return tz_local_to_utc(&d, 0) - 1;
	}
	if (icaltime_is_utc(u))
		return floating_seconds(u);
	return wall_to_instant(u);
}

/* Length of one INTERVAL in wall-clock seconds, or 0 if it varies. */
static time_t
fixed_period(const struct icalrecurrencetype *r)
{
	time_t unit, n = r->interval > 0 ? r->interval : 1;

	switch (r->freq) {
	case ICAL_SECONDLY_RECURRENCE:
		unit = 1;
		break;
	case ICAL_MINUTELY_RECURRENCE:
		unit = 60;
		break;
	case ICAL_HOURLY_RECURRENCE:
		unit = 3600;
		break;
	case ICAL_DAILY_RECURRENCE:
		unit = 86400;
		break;
	case ICAL_WEEKLY_RECURRENCE:
		unit = 7 * 86400;
		break;
	default:
		return 0;
	}
	return unit * n;
}

/*
 * The iterator for the series, started as late as is safe for `after`:
 * dtstart moved forward by whole periods to at least a day before it.
 * Weekday, time of day and INTERVAL phase are unchanged, and BY* parts
 * only filter or expand within a period, so later occurrences are too.
 */
static icalrecur_iterator *
iterator_near(struct icalrecurrencetype r, time_t dtstart, time_t after)
{
	struct icaltimetype start = floating_local(dtstart);
	time_t from, to, period = fixed_period(&r);

	if (r.count == 0 && period != 0) {
		from = floating_seconds(start);
		to = floating_seconds(floating_local(after)) - 86400;
		if (to > from)
			start = floating_from_seconds(from +
			    (to - from) / period * period);
	}
	return icalrecur_iterator_new(r, start);
}

int
recur_validate(const char *rrule, char **err)
{
	struct icalrecurrencetype r;
	struct icaltimetype start = icaltime_null_time();
	icalrecur_iterator *it;
	char q[QUOTE_MAX + 8];
	int rc = 0;

	if (err != NULL)
		*err = NULL;
	if (parse_rule(rrule, &r, err) == -1)
		return -1;
	/* Whether the rule can ever fire, regardless of its end. */
	r.count = 0;
	r.until = icaltime_null_time();
	start.year = 2000;
	start.month = start.day = 1;
	if ((it = icalrecur_iterator_new(r, start)) == NULL) {
		set_err(err, "recurrence rule \"%s\" combines parts that "
		    "cannot be used together", quoted(rrule, q, sizeof(q)));
		rc = -1;
	} else if (icaltime_is_null_time(icalrecur_iterator_next(it))) {
		set_err(err, "recurrence rule \"%s\" never occurs",
		    quoted(rrule, q, sizeof(q)));
		rc = -1;
	}
	if (it != NULL)
		icalrecur_iterator_free(it);
	rule_free(&r);
	return rc;
}

/* Steps the iterator to the first instant after `after`; as recur_next. */
static int
walk(icalrecur_iterator *it, time_t limit, time_t after, time_t *next)
{
	struct icaltimetype o;
	time_t t;
	long i;

	for (i = 0; i < RECUR_MAX_STEPS; i++) {
		o = icalrecur_iterator_next(it);
		if (icaltime_is_null_time(o))
			return 1;
		t = wall_to_instant(o);
		if (limit != 0 && t > limit)
			return 1;
		if (t > after) {
			*next = t;
			return 0;
		}
	}
	return -1;
}

int
recur_next(const char *rrule, time_t dtstart, time_t until, time_t after,
    time_t *next, char **err)
{
	struct icalrecurrencetype r;
	icalrecur_iterator *it;
	char q[QUOTE_MAX + 8], when[32];
	time_t limit = until, u;
	int rc;

	if (err != NULL)
		*err = NULL;
	if (parse_rule(rrule, &r, err) == -1)
		return -1;
	if (!icaltime_is_null_time(r.until)) {
		u = until_instant(r.until);
		if (limit == 0 || u < limit)
			limit = u;
		r.until = icaltime_null_time();
	}
	if (limit != 0 && (after >= limit || dtstart > limit)) {
		rule_free(&r);
		return 1;
	}
	if ((it = iterator_near(r, dtstart, after)) == NULL) {
		set_err(err, "recurrence rule \"%s\" cannot start at %s",
		    quoted(rrule, q, sizeof(q)),
		    tz_format_local(dtstart, when, sizeof(when)));
		rule_free(&r);
		return -1;
	}
	rc = walk(it, limit, after, next);
	icalrecur_iterator_free(it);
	rule_free(&r);
	if (rc == -1)
		set_err(err, "recurrence rule \"%s\" has no occurrence after %s "
		    "within %d steps", quoted(rrule, q, sizeof(q)),
		    tz_format_local(after, when, sizeof(when)),
		    RECUR_MAX_STEPS);
	return rc;
}
