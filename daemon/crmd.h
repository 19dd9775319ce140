/*
 * The daemon's top-level state and the few calls its modules make on it.
 * Modules talk to each other through the database and these functions,
 * not through globals.
 */
#ifndef CRMD_CRMD_H
#define CRMD_CRMD_H

#include <stdint.h>
#include <time.h>

struct event_base;
struct event;
struct crmd_conf;
struct store;
struct control;
struct sched;
struct watch;
struct outbox;
struct rules_engine;
struct events;
struct stale;
struct assign;

/* How long a statement on the event loop may wait for another process's
 * lock before giving up with STORE_BUSY: the loop must never stall. */
#define CRMD_LOOP_BUSY_TIMEOUT_MS	5

struct crmd {
	struct event_base	*base;
	struct crmd_conf	*conf;
	struct store		*store;
	struct control		*control;
	struct audit		*audit;
	struct sched		*sched;		/* reminders: scheduler.c */
	struct watch		*watch;		/* change detection: watch.c */
	struct outbox		*outbox;	/* delivery: outbox.c */
	struct rules_engine	*rules;		/* tagging: rules_engine.c */
	struct events		*events;	/* event rules: events.c */
	struct stale		*stale;		/* stale flags: stale.c */
	struct assign		*assign;	/* lead assignment: assign.c */
	struct event		*ev_sighup;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	char			*conf_path;	/* absolute */
	int			 debug;		/* -d given */
	int			 foreground;	/* -d or -F given */
	time_t			 started_at;
	int64_t			 started_mono;	/* CLOCK_MONOTONIC s: uptime */
	time_t			 last_reload_at;	/* 0: never */
	int			 stopping;
};

/*
 * Re-reads the config file into a fresh config and swaps it in; on any
 * error keeps the running one.  Returns 0, or -1 with *errors (malloc'd
 * "FILE:LINE: message" lines).  *restart_needed lists restart-only keys
 * that changed and were not applied (malloc'd, or NULL).
 */
int	crmd_reload(struct crmd *, char **errors, char **restart_needed);

/* Starts a clean stop: stop accepting, finish the current work, exit 0. */
void	crmd_stop(struct crmd *, const char *why);

/* daemon.c: set up everything after the config is loaded; run the loop. */
int	crmd_run(struct crmd *);

/* Seconds of CLOCK_MONOTONIC: durations a wall-clock step cannot bend. */
static inline int64_t
crmd_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

#endif
