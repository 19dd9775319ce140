/*
 * The reminder scheduler: one timer armed for the earliest next event
 * (found with an indexed query), a batch loop that fires what is due, and
 * the glue that runs change processing, escalation and the digest.  The
 * database is the truth; the scheduler holds only the timer.
 */
#ifndef CRMD_SCHED_H
#define CRMD_SCHED_H

#include <stdint.h>

struct crmd;
struct sched;

struct sched	*sched_new(struct crmd *);
void		 sched_free(struct sched *);

/*
 * What is due may have changed (a write by crmd itself, or one detected
 * by watch.c): process the change log and re-arm, on the next loop turn.
 * Cheap to call often; calls coalesce.
 */
void		 sched_kick(struct sched *);

/* Firing statistics, for `crmctl status` and the benchmark. */
struct sched_stats {
	uint64_t	fired;		/* reminders fired since start */
	uint64_t	late;		/* of which fired late (catch-up) */
	uint64_t	missed;
	uint64_t	escalated;
	uint64_t	digests;
	uint64_t	wakeups;	/* timer and change wakeups */
	double		lat_p50_ms;	/* due instant -> commit, fired on time */
	double		lat_p99_ms;
	double		lat_max_ms;
	uint64_t	lat_count;
	int64_t		next_event;	/* unix seconds, 0 if none */
};
void		 sched_get_stats(struct sched *, struct sched_stats *);
void		 sched_reset_stats(struct sched *);

#endif
