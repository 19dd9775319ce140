/*
 * Where reminders come from besides direct inserts: contracts (renewal),
 * birthdays of customers and contacts, follow-ups' next_followup_at, and
 * follow-up plans (RRULE).  Each source writes reminders with a dedup_key,
 * so an occurrence is never created twice:
 *   renewal:<contract>:<end_date>     birthday:<customers|contacts>:<id>:<year>
 *   followup:<followup>:<instant>     plan:<plan>:<instant>
 */
#ifndef CRMD_SOURCES_H
#define CRMD_SOURCES_H

#include <stdint.h>

struct crmd;

/*
 * Turns up to a batch of change_log rows into reminders, in one write
 * transaction that also deletes the rows it handled (exactly once).
 * STORE_OK with *more = 1 when rows remain; STORE_BUSY; STORE_ERR.
 */
int	sources_process(struct crmd *, int64_t now, int *more);

/*
 * Inside the caller's transaction: gives plan_id exactly one pending
 * occurrence, the first after `after` (none when the plan is paused or
 * its series has ended), cancelling any other pending one.
 */
int	sources_plan_schedule(struct crmd *, int64_t plan_id, int64_t after,
	    int64_t now);

/* Inside the caller's transaction: next year's birthday reminder. */
int	sources_birthday_next(struct crmd *, const char *tbl, int64_t id,
	    int64_t after, int64_t now);

#endif
