/*
 * Escalation: a fired reminder not acknowledged within escalation.after
 * (working time) notifies the user's manager, once.  Digest: each user's
 * 今日待办 at digest.time, once per local day.
 */
#ifndef CRMD_ESCALATE_H
#define CRMD_ESCALATE_H

#include <stdint.h>

struct crmd;

/* One batch; *n escalated, *more when the batch was full.  STORE_*. */
int	escalate_due(struct crmd *, int64_t now, int *n, int *more);

/* The next instant the digest runs (today's if not yet done, else
 * tomorrow's), given the day it last completed. */
int64_t	digest_next(struct crmd *, int64_t now, const char *done_day);

/*
 * Sends due digests for today (a batch of users per transaction).
 * *done_day is set to today's date once every user has had it.  *n sent.
 */
int	digest_run(struct crmd *, int64_t now, char done_day[16], int *n,
	    int *more);

#endif
