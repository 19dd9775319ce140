/*
 * Change detection (watch.h).  Cost when idle: one PRAGMA data_version per
 * poll interval.  Cost per external commit: the inotify wake-up plus,
 * usually, one re-check.  The WAL is written before the writer's fsync
 * and before the commit is published in the wal-index, so how long a
 * commit takes to become visible depends on the writer's disk; the first
 * re-check waits as long as the last commits took, learned as they come,
 * so it rarely looks too early and costs a wake-up for nothing.
 */
#include "watch.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crmd.h"
#include "events.h"
#include "log.h"
#include "outbox.h"
#include "rules_engine.h"
#include "scheduler.h"
#include "store.h"
#include "store_reminders.h"

/*
 * The fallback: a commit is seen within 1 s.  The poll is due POLL_MS after
 * the last look at data_version, whatever caused that look, so a daemon
 * that looks anyway (a CRM writing every second) never wakes just to poll.
 */
#define POLL_MS		1000

/* The first re-check's delay, in microseconds: learned, within bounds.
 * Later re-checks double it until RECHECK_SPAN_US has passed. */
#define LAG_MIN_US	2000	/* also the first guess */
#define LAG_MAX_US	25000
#define RECHECK_SPAN_US	100000

struct watch {
	struct crmd	*crmd;
	int		 ifd;
	struct event	*ev_inotify;
	struct event	*ev_recheck;
	struct event	*ev_poll;
	int64_t		 version;
	int64_t		 lag_us;	/* first re-check after the wake-up */
	int64_t		 woke_us;	/* monotonic instant of the wake-up */
	int64_t		 first_us;	/* ... of the first window's, if chained */
	int64_t		 step_us;	/* current re-check interval */
	int		 rechecks;	/* re-checks in this window */
	int64_t		 wall_mono_us;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

static void
recheck_in(struct watch *w, int64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };

	w->step_us = us;
	evtimer_add(w->ev_recheck, &tv);
}

/*
 * A commit became visible `seen` us after the wake-up.  Found by the first
 * re-check: the delay is long enough, so drift back towards the usual one.
 * Found later: the writer is slower than we thought; wait that long.
 */
static void
learn(struct watch *w, int64_t seen)
{
	if (w->rechecks <= 1)
		w->lag_us -= (w->lag_us - LAG_MIN_US) / 64;
	else
		w->lag_us = seen + seen / 8;
	if (w->lag_us < LAG_MIN_US)
		w->lag_us = LAG_MIN_US;
	if (w->lag_us > LAG_MAX_US)
		w->lag_us = LAG_MAX_US;
}

static int64_t
wall_minus_mono_us(void)
{
	return wall_us() - mono_us();
}

/*
 * The scheduler hears of wall-clock steps from a timerfd; where that is
 * unavailable (or under a time faker), every look at data_version, the
 * 1 s poll at the latest, notices the step itself.
 */
static void
clock_step_check(struct watch *w)
{
	int64_t off = wall_minus_mono_us();

	if (llabs(off - w->wall_mono_us) > 500000) {
		w->wall_mono_us = off;
		sched_kick(w->crmd->sched);
	}
}

/* 1 if another connection committed since the last look. */
static int
changed(struct watch *w)
{
	struct timeval poll = { POLL_MS / 1000, (POLL_MS % 1000) * 1000 };
	int64_t v;

	evtimer_add(w->ev_poll, &poll);		/* counts from this look */
	clock_step_check(w);
	if (store_data_version(w->crmd->store, &v) != STORE_OK)
		return 0;	/* busy or broken: the poll tries again */
	if (v == w->version)
		return 0;
	w->version = v;
	return 1;
}

/* Reads and discards pending inotify events: 1 if there were any. */
static int
drain(struct watch *w)
{
	char buf[4096];
	int any = 0;

	while (read(w->ifd, buf, sizeof(buf)) > 0)
		any = 1;
	return any;
}

/* The re-check window is over: listen to the WAL again. */
static void
resume_inotify(struct watch *w)
{
	drain(w);
	event_add(w->ev_inotify, NULL);
}

static void
recheck_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	int64_t elapsed = mono_us() - w->woke_us;

	w->rechecks++;
	if (changed(w)) {
		if (w->first_us == w->woke_us)	/* a later window says little */
			learn(w, elapsed);
		resume_inotify(w);
		sched_kick(w->crmd->sched);
		outbox_kick(w->crmd->outbox);
		rules_kick(w->crmd->rules);	/* rule inputs */
		events_kick(w->crmd->events);	/* event rules */
		return;
	}
	/* Not a commit yet: a slow one, or a long transaction spilling
	 * pages.  While the writer goes on writing the WAL, a new window
	 * follows it, so that its commit is seen within the window's doubled
	 * steps of becoming visible, not at the next poll; crmd's own writes
	 * meanwhile were drained as they came (watch_own_commits()), so they
	 * do not count.  Once the writer stops, or after POLL_MS of windows,
	 * inotify listens again and the poll is the backstop. */
	if (elapsed + 2 * w->step_us <= RECHECK_SPAN_US)
		recheck_in(w, 2 * w->step_us);
	else if (mono_us() - w->first_us < POLL_MS * 1000 && drain(w)) {
		w->woke_us = mono_us();
		w->rechecks = 0;
		recheck_in(w, w->lag_us);
	} else
		resume_inotify(w);
}

static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	drain(w);	/* one check serves every event */
	if (changed(w)) {
		sched_kick(w->crmd->sched);
		outbox_kick(w->crmd->outbox);
		rules_kick(w->crmd->rules);	/* rule inputs */
		events_kick(w->crmd->events);	/* event rules */
		return;
	}
	/*
	 * The commit is not visible yet.  The writer's remaining WAL writes
	 * would wake us again and again; the timed re-checks cover them, so
	 * stop listening until they are done.
	 */
	event_del(w->ev_inotify);
	w->woke_us = w->first_us = mono_us();
	w->rechecks = 0;
	recheck_in(w, w->lag_us);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	if (changed(w)) {		/* re-arms the poll */
		sched_kick(w->crmd->sched);
		outbox_kick(w->crmd->outbox);	/* rows the CRM queued */
		rules_kick(w->crmd->rules);	/* rule inputs */
		events_kick(w->crmd->events);	/* event rules */
	}
	rules_backstop(w->crmd->rules);	/* crmd's own feed rows */
}

static void
watch_wal(struct watch *w)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s-wal", store_database(w->crmd->store));
	if ((w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(w->ifd, path, IN_MODIFY) == -1) {
		log_warn("inotify on %s; relying on polling every %d ms", path,
		    POLL_MS);
		if (w->ifd != -1)
			close(w->ifd);
		w->ifd = -1;
		return;
	}
	w->ev_inotify = event_new(w->crmd->base, w->ifd, EV_READ | EV_PERSIST,
	    inotify_cb, w);
	if (w->ev_inotify == NULL || event_add(w->ev_inotify, NULL) == -1)
		log_warnx("cannot watch %s; relying on polling", path);
}

struct watch *
watch_new(struct crmd *crmd)
{
	struct watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->crmd = crmd;
	w->ifd = -1;
	w->lag_us = LAG_MIN_US;
	w->wall_mono_us = wall_minus_mono_us();
	store_data_version(crmd->store, &w->version);
	w->ev_recheck = evtimer_new(crmd->base, recheck_cb, w);
	w->ev_poll = evtimer_new(crmd->base, poll_cb, w);
	if (w->ev_recheck == NULL || w->ev_poll == NULL) {
		watch_free(w);
		return NULL;
	}
	changed(w);		/* arms the poll */
	watch_wal(w);
	return w;
}

void
watch_own_commits(struct watch *w)
{
	if (w == NULL || w->ifd == -1)
		return;
	/* In a re-check window: the pending re-check looks at data_version
	 * anyway; what is drained now is not a writer still writing. */
	if (evtimer_pending(w->ev_recheck, NULL)) {
		drain(w);
		return;
	}
	/*
	 * Our own commits queued IN_MODIFY events just now.  Consuming them
	 * before the loop sleeps saves a wake-up and the re-checks per
	 * commit; an external commit among them is caught by the
	 * data_version check that follows.
	 */
	drain(w);
	if (changed(w)) {
		sched_kick(w->crmd->sched);
		outbox_kick(w->crmd->outbox);	/* rows the CRM queued */
		rules_kick(w->crmd->rules);	/* rule inputs */
		events_kick(w->crmd->events);	/* event rules */
	}
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->ev_inotify)
		event_free(w->ev_inotify);
	if (w->ev_recheck)
		event_free(w->ev_recheck);
	if (w->ev_poll)
		event_free(w->ev_poll);
	if (w->ifd != -1)
		close(w->ifd);
	free(w);
}
