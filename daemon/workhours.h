/*
 * Working days, working hours and holidays (config key working_hours).
 * A reminder due outside them reaches email and SMS at the next working
 * start; escalation counts working time.  All times local, via tz.h.
 */
#ifndef CRMD_WORKHOURS_H
#define CRMD_WORKHOURS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tz.h"

struct workhours {
	unsigned	 days;		/* bit 0 = Sunday ... bit 6 = Saturday */
	int		 start;		/* minute of day, 0-1439 */
	int		 end;		/* minute of day, 1-1440; > start */
	struct tz_date	*holidays;	/* sorted ascending */
	size_t		 nholidays;
};

/* Mon-Fri 09:00-18:00, no holidays. */
void	workhours_default(struct workhours *);
/* All seven days and 00:00-24:00 (or no working_hours at all). */
int	workhours_always_open(const struct workhours *);

int	workhours_is_holiday(const struct workhours *, const struct tz_date *);
/* Is instant t inside working time? */
int	workhours_is_open(const struct workhours *, time_t t);
/* t itself when open, else the start of the next working period. */
time_t	workhours_next_open(const struct workhours *, time_t t);
/*
 * The instant when `secs` of working time have passed since t ("24
 * working hours" = three 8-hour days).  With always-open hours this is
 * t + secs.
 */
time_t	workhours_add(const struct workhours *, time_t t, int64_t secs);

#endif
