/*
 * The scheduler (scheduler.h).  One timer is armed for the earliest next
 * event: the first due reminder, snooze or escalation (one indexed query)
 * or the next digest.  When it expires, or when sched_kick() says the data
 * changed, a work pass runs on the next loop turn: handle the change log,
 * fire due reminders, escalate, send digests, each in bounded batches of
 * one short transaction, yielding to the loop between batches so the
 * control socket stays responsive during a burst.
 *
 * The wall clock can step (NTP).  libevent's timers run on the monotonic
 * clock, so a timerfd with TFD_TIMER_CANCEL_ON_SET tells us when the wall
 * clock was set, and the timer is re-armed from the database then.
 * Nothing fires twice because firing is a conditional state change.
 */
#include "scheduler.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "crmd.h"
#include "escalate.h"
#include "fire.h"
#include "log.h"
#include "sources.h"
#include "store.h"
#include "store_reminders.h"
#include "watch.h"

/*
 * Reminders fired per transaction.  A burst dirties the same index pages
 * (per user, per customer) batch after batch, so larger batches write far
 * less: 512 gave 54,000 fires/s at 1M pending, 2048 gives 110,000/s.  At
 * about 10 us a firing that holds the write lock and the loop for ~20 ms,
 * well inside the 50 ms a concurrent CRM writer may wait.
 */
#define FIRE_BATCH		2048
#define BUSY_RETRY_MS		20	/* database locked by another writer */
#define MAX_SLEEP_S		3600	/* re-check at least hourly */
#define LAT_SAMPLES		65536	/* latency ring for percentiles */

struct sched {
	struct crmd	*crmd;
	struct event	*ev_timer;	/* the one timer: next event */
	struct event	*ev_work;	/* a work pass on the next loop turn */
	struct event	*ev_clock;	/* the wall clock was set */
	int		 clockfd;
	int		 work_active;	/* a pass is queued to run now */
	int64_t		 armed_for;	/* instant the timer targets, 0 none */
	char		 digest_day[16];	/* last day fully digested */
	struct sched_stats stats;
	double		*lat;		/* ring of latency samples, ms */
	size_t		 nlat;
	size_t		 lat_pos;
};


static void
record_latency(struct sched *s, const int64_t *due, size_t n, int64_t at_us)
{
	for (size_t i = 0; i < n; i++) {
		double ms = (double)(at_us - due[i] * 1000000) / 1000.0;

		if (ms < 0)
			ms = 0;
		s->lat[s->lat_pos] = ms;
		s->lat_pos = (s->lat_pos + 1) % LAT_SAMPLES;
		if (s->nlat < LAT_SAMPLES)
			s->nlat++;
		if (ms > s->stats.lat_max_ms)
			s->stats.lat_max_ms = ms;
		s->stats.lat_count++;
	}
}

/*
 * A work pass after ms.  Also for 0 a timer, not event_active(): libevent
 * runs events activated while it processes the active queue in the same
 * pass, so a burst continued that way would never let the control socket
 * in; a zero timer goes through epoll first.
 */
static void
kick_in(struct sched *s, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(s->ev_work, &tv);
}

/* From outside a pass: run one in this loop turn, without a sleep. */
void
sched_kick(struct sched *s)
{
	if (s != NULL && !s->work_active) {
		s->work_active = 1;
		event_del(s->ev_work);
		event_active(s->ev_work, EV_TIMEOUT, 0);
	}
}

/* Arms the one timer for the next event, from the database. */
static int
rearm(struct sched *s, int64_t t_us)
{
	struct crmd *crmd = s->crmd;
	int64_t next = 0, digest, delay_us;
	struct timeval tv;
	int rc;

	if ((rc = store_next_event(crmd->store, &next)) != STORE_OK)
		return rc;
	digest = digest_next(crmd, t_us / 1000000, s->digest_day);
	if (next == 0 || digest < next)
		next = digest;
	s->stats.next_event = next;
	/* Microseconds, so the timer never expires just before the due
	 * second and costs a second wake-up. */
	delay_us = next * 1000000 - t_us;
	if (delay_us < 0)
		delay_us = 0;
	if (delay_us > (int64_t)MAX_SLEEP_S * 1000000)
		delay_us = (int64_t)MAX_SLEEP_S * 1000000;
	tv.tv_sec = (time_t)(delay_us / 1000000);
	tv.tv_usec = (suseconds_t)(delay_us % 1000000);
	s->armed_for = next;
	evtimer_add(s->ev_timer, &tv);
	log_debug("scheduler: next event at %lld, in %lld ms",
	    (long long)next, (long long)(delay_us / 1000));
	return STORE_OK;
}

/* Keeps the most urgent of two results: busy (retry soon) over error. */
static int
worst(int a, int b)
{
	if (a == STORE_BUSY || b == STORE_BUSY)
		return STORE_BUSY;
	return a != STORE_OK ? a : b;
}

/*
 * One pass; returns STORE_OK with *more when work remains.  Firing comes
 * first: a change handled after its source's occurrence came due must not
 * replace that occurrence before it fired.  A failing stage does not stop
 * the others (an escalation error must not hold up the digest).
 */
static int
work(struct sched *s, int *more)
{
	struct crmd *crmd = s->crmd;
	struct fire_result fr;
	int64_t t = wall_us() / 1000000;
	int n, m, rc, all;

	*more = 0;
	if ((all = fire_due(crmd, t, FIRE_BATCH, &fr)) == STORE_OK) {
		record_latency(s, fr.due, fr.ndue, wall_us());
		free(fr.due);
		s->stats.fired += (uint64_t)fr.fired;
		s->stats.late += (uint64_t)fr.late;
		s->stats.missed += (uint64_t)fr.missed;
		if (fr.fired || fr.missed)
			log_info("fired %d reminder(s)%s%s", fr.fired,
			    fr.late ? " (some late: catch-up)" : "",
			    fr.missed ? ", some too old or orphaned: not "
			    "sent" : "");
		*more |= fr.more;
	}
	if (all == STORE_OK && !fr.more) {
		all = sources_process(crmd, t, &m);
		*more |= all == STORE_OK && m;
	}
	if ((rc = escalate_due(crmd, t, &n, &m)) == STORE_OK) {
		s->stats.escalated += (uint64_t)n;
		*more |= m;
		if (n)
			log_info("escalated %d unacknowledged reminder(s)", n);
	}
	all = worst(all, rc);
	if ((rc = digest_run(crmd, t, s->digest_day, &n, &m)) == STORE_OK) {
		s->stats.digests += (uint64_t)n;
		*more |= m;
	}
	return worst(all, rc);
}

static void
work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	int more = 0, rc;

	s->work_active = 0;
	if (s->crmd->stopping)
		return;		/* the loop is draining replies to exit */
	s->stats.wakeups++;
	rc = work(s, &more);
	if (rc == STORE_OK && more) {
		kick_in(s, 0);		/* yield to the loop, then go on */
		return;
	}
	if (rc == STORE_OK)
		rc = rearm(s, wall_us());
	watch_own_commits(s->crmd->watch);
	if (rc == STORE_BUSY) {
		kick_in(s, BUSY_RETRY_MS);
		return;
	}
	if (rc == STORE_ERR) {
		/* Logged where it happened; retry, slowly. */
		kick_in(s, 1000);
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	sched_kick(arg);
}

/* Arms the timerfd to report the next wall-clock step. */
static int
arm_clock(struct sched *s)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)1 << 40;	/* never expires */
	return timerfd_settime(s->clockfd, TFD_TIMER_ABSTIME |
	    TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static void
clock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == -1 && errno == ECANCELED) {
		log_info("wall clock was set; re-arming the scheduler");
		sched_kick(s);
	}
	arm_clock(s);
}

struct sched *
sched_new(struct crmd *crmd)
{
	struct sched *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->lat = calloc(LAT_SAMPLES, sizeof(*s->lat))) == NULL) {
		free(s);
		return NULL;
	}
	s->crmd = crmd;
	s->clockfd = -1;
	s->ev_timer = evtimer_new(crmd->base, timer_cb, s);
	s->ev_work = evtimer_new(crmd->base, work_cb, s);
	if (s->ev_timer == NULL || s->ev_work == NULL) {
		sched_free(s);
		return NULL;
	}
	s->clockfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->clockfd == -1 || arm_clock(s) == -1 ||
	    (s->ev_clock = event_new(crmd->base, s->clockfd,
	    EV_READ | EV_PERSIST, clock_cb, s)) == NULL ||
	    event_add(s->ev_clock, NULL) == -1)
		log_warn("cannot watch for wall-clock steps; the scheduler "
		    "re-checks hourly instead");
	sched_kick(s);		/* catch up on what came due while stopped */
	return s;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	if (s->ev_timer)
		event_free(s->ev_timer);
	if (s->ev_work)
		event_free(s->ev_work);
	if (s->ev_clock)
		event_free(s->ev_clock);
	if (s->clockfd != -1)
		close(s->clockfd);
	free(s->lat);
	free(s);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
sched_get_stats(struct sched *s, struct sched_stats *out)
{
	*out = s->stats;
	out->lat_p50_ms = out->lat_p99_ms = 0;
	if (s->nlat == 0)
		return;
	double *sorted = malloc(s->nlat * sizeof(*sorted));
	if (sorted == NULL)
		return;
	memcpy(sorted, s->lat, s->nlat * sizeof(*sorted));
	qsort(sorted, s->nlat, sizeof(*sorted), cmp_double);
	out->lat_p50_ms = sorted[(s->nlat - 1) / 2];
	out->lat_p99_ms = sorted[(size_t)((double)(s->nlat - 1) * 0.99)];
	free(sorted);
}

void
sched_reset_stats(struct sched *s)
{
	int64_t next = s->stats.next_event;

	memset(&s->stats, 0, sizeof(s->stats));
	s->stats.next_event = next;
	s->nlat = s->lat_pos = 0;
}
