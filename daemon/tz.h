/*
 * Wall-clock arithmetic in crmd's one configured IANA time zone.  Instants
 * are UTC Unix seconds; local times are what a salesperson reads on the
 * wall.  The zone is process-wide (TZ), set at start and on reload.
 *
 * DST rules, the public contract (docs/time.md):
 *  - a local time in a skipped hour (spring forward) maps to the first
 *    valid instant after it: the transition itself;
 *  - a local time in a repeated hour (fall back) maps to its first, earlier
 *    occurrence, so it fires once.
 */
#ifndef CRMD_TZ_H
#define CRMD_TZ_H

#include <time.h>

struct tz_date {
	int	year;		/* e.g. 2026 */
	int	mon;		/* 1-12 */
	int	day;		/* 1-31 */
};

/* Makes zone (e.g. "Asia/Shanghai") the process zone.  0, or -1. */
int	tz_set(const char *zone);

/* Local wall time to instant, with the DST rules above. */
time_t	tz_local_to_utc(const struct tz_date *d, int minute_of_day);

/* Instant to local date and minute of day (0-1439). */
void	tz_utc_to_local(time_t t, struct tz_date *d, int *minute_of_day);

/* Local calendar helpers. */
int	tz_days_in_month(int year, int mon);
int	tz_is_leap(int year);
int	tz_weekday(const struct tz_date *d);	/* 0 = Sunday */
void	tz_add_days(struct tz_date *d, int days);
int	tz_date_cmp(const struct tz_date *a, const struct tz_date *b);

/* "YYYY-MM-DD" (a real date) -> d.  0, or -1. */
int	tz_parse_date(const char *s, struct tz_date *d);
/* "YYYY-MM-DD HH:MM" local -> instant.  0, or -1. */
int	tz_parse_local(const char *s, time_t *t);
/* "HH:MM" -> minute of day; "24:00" only when allow_24 (an end time). */
int	tz_parse_hhmm(const char *s, int allow_24, int *minute_of_day);
/* Instant -> "YYYY-MM-DD HH:MM" local, into buf (>= 17 bytes). */
char   *tz_format_local(time_t t, char *buf, unsigned long len);

/*
 * Next yearly occurrence strictly after `after` of a birthday given as
 * "YYYY-MM-DD" or "MM-DD", at minute_of_day local.  29 February falls on
 * 28 February in common years.  0, or -1 for a malformed birthday.
 */
int	tz_next_birthday(const char *birthday, int minute_of_day, time_t after,
	    time_t *next);

#endif
