/*
 * Wall-clock arithmetic in crmd's configured zone.  The calendar helpers
 * are proleptic Gregorian day counting and never look at TZ; only
 * tz_local_to_utc() and tz_utc_to_local() do, through localtime_r().
 *
 * mktime() is deliberately not used: for a wall time in a DST gap or
 * overlap its answer depends on tm_isdst guesses.  tz_local_to_utc()
 * instead asks which instants t satisfy t + utcoffset(t) == wall, and
 * resolves "none" (a gap) and "two" (an overlap) by the rules in tz.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tz.h"

#define DAY	86400L

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long z, struct tz_date *out)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	out->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	out->year = (int)(yoe + era * 400 + (out->mon <= 2));
}

int
tz_set(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], tzval[PATH_MAX];
	int n;

	/* A name, not a path: conf.c gives the friendly message. */
	if (zone == NULL || *zone == '\0' || *zone == '/' ||
	    strstr(zone, "..") != NULL)
		return -1;
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, zone);
	if (n < 0 || (size_t)n >= sizeof(path) || access(path, R_OK) == -1)
		return -1;
	/* Without the file glibc would silently fall back to UTC. */
	n = snprintf(tzval, sizeof(tzval), ":%s", zone);
	if (n < 0 || (size_t)n >= sizeof(tzval))
		return -1;
	if (setenv("TZ", tzval, 1) == -1)
		return -1;
	tzset();
	return 0;
}

/* UTC offset in seconds at instant t. */
static long
utcoff(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/*
 * Wall time as "seconds since the epoch if the zone were UTC"; the instant
 * t shows wall time w exactly when t + utcoff(t) == w.
 */
static time_t
wall_seconds(const struct tz_date *d, int minute_of_day)
{
	return (time_t)days_from_civil(d->year, d->mon, d->day) * DAY +
	    (time_t)minute_of_day * 60;
}

/* First instant in [lo, hi] whose wall time is >= w: the gap's end. */
static time_t
gap_end(time_t w, time_t lo, time_t hi)
{
	time_t mid;

	if (hi + utcoff(hi) < w)
		return hi;	/* offsets not as sampled; best effort */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mid + utcoff(mid) >= w)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

time_t
tz_local_to_utc(const struct tz_date *d, int minute_of_day)
{
	time_t w = wall_seconds(d, minute_of_day), t, best = 0;
	long offs[3], omin, omax;
	int found = 0;
	size_t i;

	/*
	 * The offsets in force a day either side cover every candidate; an
	 * offset o is right when the instant w - o really has offset o.
	 */
	offs[0] = utcoff(w - DAY);
	offs[1] = utcoff(w);
	offs[2] = utcoff(w + DAY);
	omin = omax = offs[0];
	for (i = 0; i < 3; i++) {
		if (offs[i] < omin)
			omin = offs[i];
		if (offs[i] > omax)
			omax = offs[i];
		t = w - offs[i];
		if (utcoff(t) != offs[i])
			continue;
		/* Two candidates: a repeated hour; the earlier one wins. */
		if (!found || t < best)
			best = t;
		found = 1;
	}
	if (found)
		return best;
	/* Skipped: the first valid instant after it, the transition. */
	return gap_end(w, w - omax, w - omin);
}

void
tz_utc_to_local(time_t t, struct tz_date *d, int *minute_of_day)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL) {
		d->year = 1970;
		d->mon = d->day = 1;
		*minute_of_day = 0;
		return;
	}
	d->year = tm.tm_year + 1900;
	d->mon = tm.tm_mon + 1;
	d->day = tm.tm_mday;
	*minute_of_day = tm.tm_hour * 60 + tm.tm_min;
}

int
tz_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
tz_days_in_month(int year, int mon)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (mon < 1 || mon > 12)
		return 0;
	if (mon == 2 && tz_is_leap(year))
		return 29;
	return days[mon - 1];
}

int
tz_weekday(const struct tz_date *d)
{
	long n = days_from_civil(d->year, d->mon, d->day);

	/* 1970-01-01 was a Thursday. */
	return (int)(((n % 7) + 7 + 4) % 7);
}

void
tz_add_days(struct tz_date *d, int days)
{
	civil_from_days(days_from_civil(d->year, d->mon, d->day) + days, d);
}

int
tz_date_cmp(const struct tz_date *a, const struct tz_date *b)
{
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->mon != b->mon)
		return a->mon < b->mon ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

/* Exactly n ASCII digits at s. */
static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DD" at the start of s; the caller checks what follows. */
static int
parse_date_prefix(const char *s, struct tz_date *d)
{
	struct tz_date v;

	if (strnlen(s, 10) < 10 || digits(s, 4, &v.year) == -1 ||
	    s[4] != '-' || digits(s + 5, 2, &v.mon) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &v.day) == -1)
		return -1;
	if (v.year < 1 || v.day < 1 || v.day > tz_days_in_month(v.year, v.mon))
		return -1;
	*d = v;
	return 0;
}

int
tz_parse_date(const char *s, struct tz_date *d)
{
	if (s == NULL || strlen(s) != 10)
		return -1;
	return parse_date_prefix(s, d);
}

int
tz_parse_hhmm(const char *s, int allow_24, int *minute_of_day)
{
	int h, m;

	/* Strictly "HH:MM": "9:00" is refused rather than guessed at. */
	if (s == NULL || strlen(s) != 5 || digits(s, 2, &h) == -1 ||
	    s[2] != ':' || digits(s + 3, 2, &m) == -1)
		return -1;
	if (h == 24 && m == 0 && allow_24) {
		*minute_of_day = 1440;
		return 0;
	}
	if (h > 23 || m > 59)
		return -1;
	*minute_of_day = h * 60 + m;
	return 0;
}

int
tz_parse_local(const char *s, time_t *t)
{
	struct tz_date d;
	int minute;

	if (s == NULL || strlen(s) != 16 || parse_date_prefix(s, &d) == -1 ||
	    s[10] != ' ' || tz_parse_hhmm(s + 11, 0, &minute) == -1)
		return -1;
	*t = tz_local_to_utc(&d, minute);
	return 0;
}

char *
tz_format_local(time_t t, char *buf, unsigned long len)
{
	struct tz_date d;
	int minute;

	tz_utc_to_local(t, &d, &minute);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", d.year, d.mon, d.day,
	    minute / 60, minute % 60);
	return buf;
}

/* "YYYY-MM-DD" (a real date) or "MM-DD" (29 February allowed). */
static int
parse_birthday(const char *s, int *mon, int *day)
{
	struct tz_date d;

	if (s == NULL)
		return -1;
	if (strlen(s) == 10) {
		if (tz_parse_date(s, &d) == -1)
			return -1;
		*mon = d.mon;
		*day = d.day;
		return 0;
	}
	if (strlen(s) != 5 || digits(s, 2, mon) == -1 || s[2] != '-' ||
	    digits(s + 3, 2, day) == -1)
		return -1;
	/* 2000 is a leap year, so 02-29 passes and 02-30 does not. */
	if (*day < 1 || *day > tz_days_in_month(2000, *mon))
		return -1;
	return 0;
}

int
tz_next_birthday(const char *birthday, int minute_of_day, time_t after,
    time_t *next)
{
	struct tz_date now, d;
	int mon, day, minute, i;
	time_t t;

	if (minute_of_day < 0 || minute_of_day > 1439 ||
	    parse_birthday(birthday, &mon, &day) == -1)
		return -1;
	tz_utc_to_local(after, &now, &minute);
	/* This year's may be past; next year's is always after `after`. */
	for (i = 0; i < 2; i++) {
		d.year = now.year + i;
		d.mon = mon;
		d.day = day;
		if (mon == 2 && day == 29 && !tz_is_leap(d.year))
			d.day = 28;
		t = tz_local_to_utc(&d, minute_of_day);
		if (t > after) {
			*next = t;
			return 0;
		}
	}
	return -1;
}
