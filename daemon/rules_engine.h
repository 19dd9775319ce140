/*
 * The tagging rules engine (docs/rules.md, "Tagging rules"): a full sweep
 * of every rule over every customer at start and every rules_interval,
 * and, within seconds of a change, the customers the rule_changes feed
 * names.  Work is cut into short transactions on the event loop, one per
 * loop turn, so neither the loop nor the CRM application's writers wait
 * long.  The database holds the state (tags, audit_log, the feed's
 * cursor "rules.cursor" in crmd_state); the engine holds timers and
 * statistics.
 */
#ifndef CRMD_RULES_ENGINE_H
#define CRMD_RULES_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct crmd;
struct rules_engine;

struct rules_engine	*rules_new(struct crmd *);
void			 rules_free(struct rules_engine *);

/*
 * Rule inputs may have changed (a commit seen by watch.c, or crmd's own
 * write to customers, tags, orders, ...): read the feed soon.  Cheap to
 * call often; calls coalesce.  NULL is ignored.
 */
void			 rules_kick(struct rules_engine *);

/*
 * The backstop for feed rows nobody kicked for (crmd's own writes, which
 * watch.c cannot see): kicks if the feed has rows past the cursor.  Run
 * by watch.c's idle poll, so it costs no wake-up of its own.
 */
void			 rules_backstop(struct rules_engine *);

/* The rules were replaced (reload): forget the old ones, sweep again. */
void			 rules_reconfigure(struct rules_engine *);

/*
 * Starts a full sweep now, of the tagging rule called name or of all
 * (name NULL), restarting one in progress.  Returns the sweep's number,
 * or -1 when no tagging rule has that name.
 */
int64_t			 rules_run(struct rules_engine *, const char *name);

struct rules_sweep_info {
	int		 running;
	int64_t		 started;	/* number of the last sweep started */
	int64_t		 completed;	/* and of the last one finished */
	int64_t		 started_at;	/* Unix seconds; 0: none yet */
	int64_t		 finished_at;
	int64_t		 duration_ms;	/* of the last finished sweep */
	uint64_t	 added;		/* tags added since crmd started */
	uint64_t	 removed;
	uint64_t	 customers_rechecked;	/* through the feed */
	uint64_t	 flipflops;	/* changes held back (see docs) */
	int64_t		 cursor;	/* last rule_changes.id evaluated */
	int64_t		 feed_change_us;	/* the last feed step that
						   changed tags: how long it
						   took, from reading the
						   feed to the commit */
};
void			 rules_sweep_info(struct rules_engine *,
			    struct rules_sweep_info *);

/* Customers the rule matched in the last sweep that covered it; -1: none
 * yet since start or reload. */
int64_t			 rules_matches(struct rules_engine *, const char *name);

#endif
