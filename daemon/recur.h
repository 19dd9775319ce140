/*
 * RFC 5545 recurrence rules for follow-up plans, via libical.  A plan's
 * series keeps the local wall-clock time of its dtstart in crmd's zone
 * (09:00 stays 09:00 across DST); each occurrence is converted to an
 * instant with tz_local_to_utc().
 */
#ifndef CRMD_RECUR_H
#define CRMD_RECUR_H

#include <time.h>

/* 0 if rrule parses (e.g. "FREQ=WEEKLY;BYDAY=MO"), else -1 with *err. */
int	recur_validate(const char *rrule, char **err);

/*
 * First occurrence strictly after `after` of rrule starting at dtstart
 * (an instant, read as local wall time), ending at until (0 = none; an
 * instant, inclusive) and at the rule's own COUNT/UNTIL.
 * Returns 0 with *next set, 1 when the series has ended, -1 with *err.
 */
int	recur_next(const char *rrule, time_t dtstart, time_t until,
	    time_t after, time_t *next, char **err);

#endif
