/*
 * Firing due reminders.  One batch is one write transaction: for each
 * reminder the in-app notification, its outbox rows, the state change,
 * the plan's or birthday's next occurrence and the audit row commit
 * together, and the state change is conditional (pending/snoozed ->
 * fired), so nothing fires twice: not after a crash, not with two crmds.
 */
#ifndef CRMD_FIRE_H
#define CRMD_FIRE_H

#include <stddef.h>
#include <stdint.h>

struct crmd;

/* Reminders older than this when fired count as late (catch-up). */
#define FIRE_LATE_AFTER	60

struct fire_result {
	int	fired;
	int	late;
	int	missed;
	int	more;		/* the batch was full: call again */
	int64_t	*due;		/* due instants of those fired on time,
				   for latency statistics; caller frees */
	size_t	 ndue;
};

/* One batch of at most limit.  STORE_OK, STORE_BUSY or STORE_ERR. */
int	fire_due(struct crmd *, int64_t now, int limit, struct fire_result *);

#endif
