/*
 * Pacing the outbox sender, as pure logic with the clock passed in: a
 * token bucket for a channel's rate, the "down" state that keeps crmd
 * from hammering a destination that does not answer (one probe per retry
 * interval, docs/delivery.md), and a message's retry backoff.
 */
#ifndef CRMD_PACE_H
#define CRMD_PACE_H

#include <stdint.h>

/* A token bucket: rate tokens a second, at most burst saved up. */
struct pace_bucket {
	double		 rate;		/* 0: unlimited */
	double		 burst;
	double		 tokens;
	int64_t		 at_ms;		/* tokens is as of this instant */
	int		 set;		/* pace_bucket_set() was called */
};

/*
 * (Re)configures b.  burst < 1 means max(1, rate).  A new bucket starts
 * full; a reconfigured one keeps its tokens, capped at the new burst.
 */
void	pace_bucket_set(struct pace_bucket *b, double rate, int burst,
	    int64_t now_ms);
/* Whole tokens available at now_ms; INT32_MAX when unlimited. */
int	pace_bucket_avail(struct pace_bucket *b, int64_t now_ms);
/* Takes n tokens (after pace_bucket_avail() said they are there). */
void	pace_bucket_spend(struct pace_bucket *b, int n);
/* The instant a whole token is there: now_ms if one is. */
int64_t	pace_bucket_ready_at(struct pace_bucket *b, int64_t now_ms);

/* Whether a destination answers. */
struct pace_dest {
	int		 down;
	int		 failures;	/* consecutive, since it went down */
	int		 probing;	/* a probe is claimed or in flight */
	int64_t		 until_ms;	/* down: no probe before this */
};

/* What may be claimed for the destination now. */
enum pace_allow {
	PACE_ANY,		/* up: as much as rate and concurrency allow */
	PACE_PROBE,		/* down, probe due: exactly one message */
	PACE_NONE,		/* down, waiting */
};
enum pace_allow pace_dest_allow(const struct pace_dest *d, int64_t now_ms);

/* A probe was claimed (after PACE_PROBE). */
void	pace_dest_probe(struct pace_dest *d);

/* The destination answered (even "no such user"): up.  1 if it was down. */
int	pace_dest_ok(struct pace_dest *d);

/*
 * A transfer got no useful answer (refused, timed out, SMTP 4xx, HTTP
 * 5xx or 429).  probe says whether it was the probe.  The destination is
 * down until now + backoff(failures), and not before retry_at_ms (the
 * server's Retry-After; 0: none).  A failure of a transfer that started
 * before the destination went down changes nothing.  Returns 1 if the
 * destination just went down.
 */
int	pace_dest_failed(struct pace_dest *d, int probe, int64_t now_ms,
	    int64_t retry_at_ms, int64_t backoff_min_s, int64_t backoff_max_s,
	    double r);

/* The probe ended without reaching the destination (it was never sent):
 * another may be claimed at once. */
void	pace_dest_probe_lost(struct pace_dest *d);

/*
 * Seconds to wait after the n-th failed attempt (n >= 1): min * 2^(n-1),
 * capped at max, plus up to a quarter more as jitter (r in [0, 1)),
 * never below min nor above max.
 */
int64_t	pace_backoff(int64_t n, int64_t min_s, int64_t max_s, double r);

#endif
