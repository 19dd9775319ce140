/*
 * Token bucket, destination state and backoff (pace.h).  No clock is read
 * here: the sender passes the time, and the tests pass whatever they like.
 */
#include "pace.h"

#include <math.h>

/* Brings tokens up to now; a clock that went back adds nothing. */
static void
refill(struct pace_bucket *b, int64_t now_ms)
{
	if (now_ms <= b->at_ms) {
		b->at_ms = now_ms;
		return;
	}
	b->tokens += b->rate * (double)(now_ms - b->at_ms) / 1000.0;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->at_ms = now_ms;
}

void
pace_bucket_set(struct pace_bucket *b, double rate, int burst, int64_t now_ms)
{
	if (b->set)
		refill(b, now_ms);	/* what the old rate earned so far */
	if (rate < 0)
		rate = 0;
	b->rate = rate;
	b->burst = burst >= 1 ? burst : (rate > 1 ? ceil(rate) : 1);
	if (!b->set || b->tokens > b->burst)
		b->tokens = b->burst;
	b->at_ms = now_ms;
	b->set = 1;
}

int
pace_bucket_avail(struct pace_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return INT32_MAX;
	refill(b, now_ms);
	return (int)floor(b->tokens);
}

void
pace_bucket_spend(struct pace_bucket *b, int n)
{
	if (b->rate > 0)
		b->tokens -= n;
}

int64_t
pace_bucket_ready_at(struct pace_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return now_ms;
	refill(b, now_ms);
	if (b->tokens >= 1)
		return now_ms;
	return now_ms + (int64_t)ceil((1 - b->tokens) * 1000.0 / b->rate);
}

enum pace_allow
pace_dest_allow(const struct pace_dest *d, int64_t now_ms)
{
	if (!d->down)
		return PACE_ANY;
	if (d->probing || now_ms < d->until_ms)
		return PACE_NONE;
	return PACE_PROBE;
}

void
pace_dest_probe(struct pace_dest *d)
{
	d->probing = 1;
}

int
pace_dest_ok(struct pace_dest *d)
{
	int was = d->down;

	d->down = d->failures = d->probing = 0;
	d->until_ms = 0;
	return was;
}

int
pace_dest_failed(struct pace_dest *d, int probe, int64_t now_ms,
    int64_t retry_at_ms, int64_t backoff_min_s, int64_t backoff_max_s,
    double r)
{
	int went_down = !d->down;

	if (d->down && !probe)
		return 0;	/* started before it went down: known news */
	d->down = 1;
	d->probing = 0;
	d->failures = went_down ? 1 : d->failures + 1;
	d->until_ms = now_ms + 1000 * pace_backoff(d->failures, backoff_min_s,
	    backoff_max_s, r);
	if (retry_at_ms > d->until_ms)
		d->until_ms = retry_at_ms;
	return went_down;
}

void
pace_dest_probe_lost(struct pace_dest *d)
{
	d->probing = 0;
}

int64_t
pace_backoff(int64_t n, int64_t min_s, int64_t max_s, double r)
{
	int64_t d = min_s > 0 ? min_s : 1;

	if (max_s < d)
		max_s = d;
	/* Doubling, stopped at max before it can overflow. */
	for (int64_t i = 1; i < n && d < max_s; i++)
		d = d > max_s / 2 ? max_s : d * 2;
	if (r > 0 && r < 1)
		d += (int64_t)((double)d * r / 4);
	return d > max_s ? max_s : d;
}
