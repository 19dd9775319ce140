/*
 * Stale-customer flags (docs/rules.md, "Stale flags"): a customer whose
 * status has a `stale` entry and whose last follow-up (or creation) is
 * `days` old gets an open 'stale' row in customer_flags; its owner is
 * told once, its owner's manager once more after `escalate_after`; the
 * flag clears when the condition ends (a follow-up, a status change).
 *
 * The sweep runs every rules_interval and on `crmctl stale sweep`, in
 * steps that each hold the loop and the write lock for milliseconds;
 * between steps it yields to the loop.  The event handler clears flags
 * within seconds of a follow-up with stale_recheck().
 */
#ifndef CRMD_STALE_H
#define CRMD_STALE_H

#include <stdint.h>

struct crmd;
struct stale;

struct stale	*stale_new(struct crmd *);
void		 stale_free(struct stale *);

/* The config was reloaded: rules_interval and the entries may differ. */
void		 stale_reconfigure(struct stale *);

/* What a sweep did. */
struct stale_sweep {
	int64_t		 id;		/* 1, 2, ... since start */
	int64_t		 started_at;
	int64_t		 finished_at;	/* 0: still running */
	int64_t		 flagged;
	int64_t		 cleared;
	int64_t		 notified;
	int64_t		 escalated;
};

/*
 * Asks for a sweep that starts now or, when one is running, right after
 * it; returns that sweep's id.
 */
int64_t		 stale_sweep_request(struct stale *);

/*
 * The sweep with that id: 1 with *out filled when it has finished, 0
 * when it has not (yet), -1 when it is unknown (too old, or never asked).
 */
int		 stale_sweep_result(const struct stale *, int64_t id,
		    struct stale_sweep *out);

/*
 * In the caller's transaction: clears customer_id's open stale flag if
 * its condition no longer holds (audited, with cause).  *cleared 0 or 1.
 */
int		 stale_recheck(struct crmd *, int64_t customer_id, int64_t now,
		    const char *cause, int *cleared);

/*
 * The reason written on a flag: "30 天未跟进（潜在客户）".  buf of len
 * bytes; returns buf.
 */
char		*stale_reason(const char *status, int days, char *buf,
		    unsigned long len);

#endif
