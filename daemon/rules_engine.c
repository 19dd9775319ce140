/*
 * The tagging rules engine (rules_engine.h).  One zero-delay timer runs
 * one step per loop turn: a batch of the change feed, then a batch of the
 * full sweep, each one short transaction, so a change is handled within
 * a loop turn or two even while a long sweep runs.
 *
 * A sweep batch is planned first without the write lock; most batches of
 * a sweep change nothing and never take it.  A batch with changes is
 * planned again inside BEGIN IMMEDIATE and applied there, so what is
 * written is what the committed data says.  Its size follows the time
 * the last batch took, to stay near BATCH_TARGET_US.
 *
 * The engine's own tag changes enter the feed too (the triggers cannot
 * tell them apart), so a customer is evaluated once more after them:
 * this settles at once unless a rule's condition reads the tag it sets.
 * A (customer, tag) that keeps changing within one pass of the feed is
 * held back after FLIP_LIMIT changes and logged, until the next sweep.
 */
#include "rules_engine.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "rules.h"
#include "rules_guard.h"
#include "store.h"
#include "store_rules.h"
#include "tz.h"
#include "watch.h"

#define BATCH_TARGET_US	8000	/* one step's work */
#define LOCKED_TARGET_US 5000	/* of which under the write lock */
#define SPAN_MIN	256	/* customer ids per sweep batch */
#define SPAN_MAX	(1 << 20)
#define SPAN_FIRST	512
#define FEED_FIRST	256	/* rule_changes rows per step, adapted */
#define FEED_MIN	16
#define FEED_MAX	4096
#define CURSOR_SAVE_ROWS 20000	/* rows read before the cursor is saved */
/*
 * After a step that took the write lock, the next waits this long: SQLite
 * has no queue for its lock, and another program's writer polls for it
 * (sqlite3_busy_timeout: after 1, 3, 8, 18, 33, 53 ms, ...).  Our
 * transactions are kept near BATCH_TARGET_US, so a gap this long lets
 * such a writer in within about 20 ms, never starved by back-to-back
 * batches.
 */
#define WRITE_GAP_MS	25
#define BUSY_RETRY_MS	20	/* after STORE_BUSY */
#define FLIP_LIMIT	4	/* changes of one (customer, tag) per pass */

struct rules_engine {
	struct crmd	*crmd;
	struct store_rules *sr;
	struct event	*ev_step;
	struct event	*ev_sweep;	/* next full sweep */
	int		 step_pending;

	/* The feed. */
	int		 feed_pending;
	int64_t		 cursor;	/* last rule_changes.id evaluated */
	int64_t		 saved_cursor;	/* rules.cursor as committed */
	int		 wrote;		/* this step took the write lock */
	int64_t		 locked_us;	/* for how long */
	int64_t		 feed_rows;	/* rows per feed step */
	int		 have_cursor;
	struct rules_guard *guard;	/* flip-flops in this pass */

	/* The sweep in progress. */
	int		 sweeping;
	ssize_t		 only;		/* one rule's index, or -1 */
	int64_t		 lo, max_id, span;
	int64_t		*acc;		/* matches per rule, this sweep */
	int64_t		*step_acc;	/* and in this step */
	struct timespec	 sweep_t0;

	/* Results. */
	int64_t		*matches;	/* per rule, last sweep; -1 none */
	size_t		 nrules;	/* of matches[] and acc[] */
	int		 resize;	/* new rules: results start over */
	struct rules_sweep_info info;
	struct tag_plan	 plan;
	struct scope_tags *tags;	/* the step's scope's tags */
};

static void	schedule(struct rules_engine *, int delay_ms);

/* -- time ---------------------------------------------------------------- */

static void
make_env(struct rule_env *env, char today[16])
{
	struct tz_date d;
	int minute;

	memset(env, 0, sizeof(*env));
	env->now = (int64_t)time(NULL);
	tz_utc_to_local((time_t)env->now, &d, &minute);
	snprintf(today, 16, "%04d-%02d-%02d", d.year, d.mon, d.day);
	env->today = today;
}

/*
 * The next step's size (ids of the sweep, rows of the feed) from how long
 * this one took, in all and under the write lock: as much as
 * BATCH_TARGET_US and LOCKED_TARGET_US allow, growing at most 4 times.
 */
static int64_t
adapt(int64_t size, int64_t took_us, int64_t locked_us, int64_t min,
    int64_t max)
{
	int64_t next;

	if (locked_us * BATCH_TARGET_US / LOCKED_TARGET_US > took_us)
		took_us = locked_us * BATCH_TARGET_US / LOCKED_TARGET_US;
	if (took_us < 1)
		took_us = 1;
	next = size * BATCH_TARGET_US / took_us;
	if (next > size * 4)
		next = size * 4;
	return next < min ? min : next > max ? max : next;
}

static const struct conf_rules *
rules_of(struct rules_engine *e)
{
	return &e->crmd->conf->rules;
}

/* -- flip-flop guard ------------------------------------------------------ */

/*
 * Marks in skip[] the changes of plan whose (customer, tag) changed too
 * often in this pass.  Only customers of the feed are counted: a sweep
 * changes each pair at most once.  NULL when nothing is held back.
 */
static unsigned char *
hold_back(struct rules_engine *e, const struct conf_tag_rule *r, int feed)
{
	unsigned char *skip = NULL;
	size_t i;
	int n;

	if (!feed)
		return NULL;
	for (i = 0; i < e->plan.n; i++) {
		const struct tag_change *c = &e->plan.v[i];

		if ((n = guard_count(e->guard, c->customer_id, c->tag)) == -1 ||
		    n <= FLIP_LIMIT)
			continue;
		if (skip == NULL && (skip = calloc(e->plan.n, 1)) == NULL)
			return NULL;
		skip[i] = 1;
		e->info.flipflops++;
		if (n == FLIP_LIMIT + 1)
			log_warnx("rule %s: tag %s of customer %lld changed %d "
			    "times in a row; does the condition depend on the "
			    "tag itself? Left as it is until the next sweep",
			    r->name, c->tag, (long long)c->customer_id,
			    FLIP_LIMIT);
	}
	return skip;
}

/* -- one batch ------------------------------------------------------------- */

/*
 * A batch is a scope (an id range of the sweep, or the customers of some
 * rows of the feed) under every rule of the step: its tags are read once
 * (store_rules_load), then each rule is planned over it.  It is probed
 * without the lock first; only when a rule would change something is the
 * scope read again under the lock, and each rule planned again and
 * applied in turn.
 */

/* The rules a step covers: all, or the one `rule run NAME` asked for. */
static int
in_step(struct rules_engine *e, size_t i, ssize_t only)
{
	return only == -1 || (size_t)only == i;
}

/* Plans rule ri over sc into e->plan; *matched: the customers matching. */
static int
plan_rule(struct rules_engine *e, size_t ri, const struct rules_scope *sc,
    const struct rule_env *env, int64_t *matched)
{
	int rc;

	tag_plan_clear(&e->plan);
	rc = store_rules_plan(e->sr, rules_of(e), ri, sc, env, e->tags,
	    &e->plan);
	*matched = (int64_t)e->plan.matched;
	return rc;
}

/* Every rule of the step over sc, read only: 1 in *changes when any
 * would change something.  Matches per rule in e->step_acc. */
static int
probe(struct rules_engine *e, const struct rules_scope *sc,
    const struct rule_env *env, ssize_t only, int *changes)
{
	size_t i;
	int rc;

	*changes = 0;
	if ((rc = store_rules_load(e->sr, rules_of(e), sc, e->tags)) !=
	    STORE_OK)
		return rc;
	for (i = 0; i < rules_of(e)->ntag_rules; i++) {
		if (!in_step(e, i, only))
			continue;
		if ((rc = plan_rule(e, i, sc, env, &e->step_acc[i])) !=
		    STORE_OK)
			return rc;
		*changes |= e->plan.n > 0;
	}
	return STORE_OK;
}

/* Plans rule ri again and applies it, inside the open transaction;
 * *changed when it added or removed a tag. */
static int
apply_rule(struct rules_engine *e, size_t ri, const struct rules_scope *sc,
    const struct rule_env *env, int feed, int *changed)
{
	const struct conf_tag_rule *r = &rules_of(e)->tag_rules[ri];
	unsigned char *skip;
	size_t added, removed;
	int rc;

	*changed = 0;
	if ((rc = plan_rule(e, ri, sc, env, &e->step_acc[ri])) != STORE_OK ||
	    e->plan.n == 0)
		return rc;
	skip = hold_back(e, r, feed);
	rc = store_rules_apply(e->sr, r, &e->plan, skip, env->now, &added,
	    &removed);
	free(skip);
	if (rc != STORE_OK)
		return rc;
	e->info.added += added;
	e->info.removed += removed;
	if ((*changed = added + removed > 0)) {
		log_debug("rule %s: %zu tags added, %zu removed", r->name,
		    added, removed);
		e->feed_pending = 1;	/* our own changes enter the feed */
	}
	return STORE_OK;
}

/* Under the lock: the scope read again, every rule of the step applied
 * in turn (after a rule changed tags, the next reads them afresh). */
static int
apply_all(struct rules_engine *e, const struct rules_scope *sc,
    const struct rule_env *env, ssize_t only, int feed)
{
	size_t i;
	int rc, changed = 0;

	e->wrote = 1;
	if ((rc = store_rules_load(e->sr, rules_of(e), sc, e->tags)) !=
	    STORE_OK)
		return rc;
	for (i = 0; i < rules_of(e)->ntag_rules; i++) {
		if (!in_step(e, i, only))
			continue;
		if (changed && (rc = store_rules_load(e->sr, rules_of(e), sc,
		    e->tags)) != STORE_OK)
			return rc;
		if ((rc = apply_rule(e, i, sc, env, feed, &changed)) !=
		    STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* Commits, or rolls back after a failure; returns the first failure. */
static int
finish(struct store *s, int rc)
{
	if (rc == STORE_OK)
		return store_commit(s);
	store_rollback(s);
	return rc;
}

/* A sweep batch: the rules of the sweep over the id range sc. */
static int
sweep_batch(struct rules_engine *e, const struct rules_scope *sc)
{
	struct store *s = e->crmd->store;
	struct rule_env env;
	char today[16];
	int rc, changes;

	make_env(&env, today);
	if ((rc = probe(e, sc, &env, e->only, &changes)) != STORE_OK ||
	    !changes)
		return rc;
	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	e->locked_us = mono_us();
	rc = finish(s, apply_all(e, sc, &env, e->only, 0));
	e->locked_us = mono_us() - e->locked_us;
	return rc;
}

/* -- the feed -------------------------------------------------------------- */

/* The feed is drained: the pass is over.  (The event handler, the
 * feed's other reader, deletes the rows both are past: events.c.) */
static void
pass_over(struct rules_engine *e)
{
	e->feed_pending = 0;
	guard_reset(e->guard);
}

static int
load_cursor(struct rules_engine *e)
{
	int64_t head;
	int rc, found;

	if (e->have_cursor)
		return STORE_OK;
	if ((rc = store_rules_cursor(e->crmd->store, "rules.cursor",
	    &e->cursor, &found)) != STORE_OK)
		return rc;
	if (!found) {
		/* A first start: the sweep at start covers the past. */
		if ((rc = store_rules_feed_head(e->crmd->store, &head)) !=
		    STORE_OK || (rc = store_rules_set_cursor(e->crmd->store,
		    "rules.cursor", head)) != STORE_OK)
			return rc;
		e->cursor = head;
	}
	e->saved_cursor = e->cursor;
	e->have_cursor = 1;
	return STORE_OK;
}

/* Writes the cursor when it moved: after a batch that only read, it is
 * kept in memory a while (a crash re-reads those rows, harmlessly). */
static int
save_cursor(struct rules_engine *e)
{
	struct store *s = e->crmd->store;
	int rc;

	if (e->saved_cursor == e->cursor)
		return STORE_OK;
	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	rc = store_rules_set_cursor(s, "rules.cursor", e->cursor);
	if ((rc = finish(s, rc)) == STORE_OK) {
		e->saved_cursor = e->cursor;
		e->wrote = 1;
	}
	return rc;
}

/*
 * The customers of the next rows of the feed, under every rule.  Probed
 * without the lock; when something changes, planned again and applied
 * under it with the cursor past those rows, in one transaction, so a
 * crash redoes the batch or none of it.  A batch that changes nothing
 * only moves the cursor in memory.
 */
static int
feed_batch(struct rules_engine *e, const int64_t *ids, size_t n,
    int64_t last)
{
	struct store *s = e->crmd->store;
	struct rules_scope sc = { .ids = ids, .nids = n };
	struct rule_env env;
	char today[16];
	int rc, changes;

	make_env(&env, today);
	if ((rc = probe(e, &sc, &env, -1, &changes)) != STORE_OK)
		return rc;
	if (!changes) {
		e->cursor = last;
		e->info.customers_rechecked += n;
		return STORE_OK;
	}
	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	e->locked_us = mono_us();
	rc = apply_all(e, &sc, &env, -1, 1);
	if (rc == STORE_OK)
		rc = store_rules_set_cursor(s, "rules.cursor", last);
	rc = finish(s, rc);
	e->locked_us = mono_us() - e->locked_us;
	if (rc == STORE_OK) {
		e->cursor = e->saved_cursor = last;
		e->info.customers_rechecked += n;
	}
	return rc;
}

static int
feed_step(struct rules_engine *e)
{
	int64_t head, last, *ids, t0;
	size_t n;
	int rc;

	if ((rc = load_cursor(e)) != STORE_OK ||
	    (rc = store_rules_feed_head(e->crmd->store, &head)) != STORE_OK)
		return rc;
	if (head < e->cursor) {
		/* Ids start again below the cursor only when every row was
		 * deleted: evaluating from the start again is harmless. */
		log_warnx("rules: rule_changes restarted at id %lld, below "
		    "rules.cursor %lld; reading it from the start",
		    (long long)head, (long long)e->cursor);
		e->cursor = 0;
	}
	if (head == e->cursor) {
		if ((rc = save_cursor(e)) == STORE_OK)
			pass_over(e);
		return rc;
	}
	if ((rc = store_rules_feed(e->crmd->store, e->cursor,
	    (int)e->feed_rows, &ids, &n, &last)) != STORE_OK)
		return rc;
	t0 = mono_us();
	e->locked_us = 0;
	rc = feed_batch(e, ids, n, last);
	free(ids);
	if (rc == STORE_OK && e->locked_us > 0)
		e->info.feed_change_us = mono_us() - t0;
	e->feed_rows = adapt(e->feed_rows, mono_us() - t0, e->locked_us,
	    FEED_MIN, FEED_MAX);
	/* A long backlog: save where we are now and then. */
	if (rc == STORE_OK && e->cursor - e->saved_cursor >= CURSOR_SAVE_ROWS)
		rc = save_cursor(e);
	return rc;
}

/* -- the sweep ------------------------------------------------------------- */

static void
arm_next_sweep(struct rules_engine *e)
{
	struct timeval tv = { (time_t)rules_of(e)->interval, 0 };

	evtimer_add(e->ev_sweep, &tv);
}

static int
resize_results(struct rules_engine *e)
{
	size_t n = rules_of(e)->ntag_rules, i;
	int64_t *m, *a = NULL, *sa = NULL;

	if ((m = calloc(n + 1, sizeof(*m))) == NULL ||
	    (a = calloc(n + 1, sizeof(*a))) == NULL ||
	    (sa = calloc(n + 1, sizeof(*sa))) == NULL) {
		free(m);
		free(a);
		return -1;
	}
	for (i = 0; i < n; i++)
		m[i] = -1;
	free(e->matches);
	free(e->acc);
	free(e->step_acc);
	e->matches = m;
	e->acc = a;
	e->step_acc = sa;
	e->nrules = n;
	e->resize = 0;
	return 0;
}

/*
 * Changes before this instant are covered by the sweep (it reads every
 * customer after it): move the cursor past them, so a backlog from a
 * long stop is not evaluated twice.
 */
static void
skip_covered_feed(struct rules_engine *e)
{
	struct store *s = e->crmd->store;
	int64_t head;

	if (load_cursor(e) != STORE_OK || store_begin(s) != STORE_OK)
		return;
	if (store_rules_feed_head(s, &head) == STORE_OK && head > e->cursor &&
	    store_rules_set_cursor(s, "rules.cursor", head) == STORE_OK &&
	    store_commit(s) == STORE_OK) {
		e->cursor = e->saved_cursor = head;
		return;
	}
	store_rollback(s);
}

static void
sweep_start(struct rules_engine *e, ssize_t only)
{
	if ((e->resize || e->nrules != rules_of(e)->ntag_rules) &&
	    resize_results(e) == -1) {
		log_warnx("rules: out of memory; sweep skipped");
		arm_next_sweep(e);
		return;
	}
	if (store_rules_max_customer(e->crmd->store, &e->max_id) != STORE_OK) {
		log_warnx("rules: cannot start a sweep: %s",
		    store_errmsg(e->crmd->store));
		arm_next_sweep(e);
		return;
	}
	if (only == -1)
		skip_covered_feed(e);
	memset(e->acc, 0, (e->nrules + 1) * sizeof(*e->acc));
	e->sweeping = 1;
	e->only = only;
	e->lo = 0;
	e->span = SPAN_FIRST;
	e->info.running = 1;
	e->info.started++;
	e->info.started_at = (int64_t)time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &e->sweep_t0);
	evtimer_del(e->ev_sweep);
	schedule(e, 0);
}

static void
sweep_done(struct rules_engine *e)
{
	struct timespec t1;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < e->nrules; i++)
		if (e->only == -1 || (size_t)e->only == i)
			e->matches[i] = e->acc[i];
	e->sweeping = 0;
	e->info.running = 0;
	e->info.completed = e->info.started;
	e->info.finished_at = (int64_t)time(NULL);
	e->info.duration_ms = (t1.tv_sec - e->sweep_t0.tv_sec) * 1000 +
	    (t1.tv_nsec - e->sweep_t0.tv_nsec) / 1000000;
	log_debug("rules: sweep %lld of %zu rules over customers up to %lld "
	    "in %lld ms", (long long)e->info.completed, e->only == -1 ?
	    e->nrules : 1, (long long)e->max_id,
	    (long long)e->info.duration_ms);
	arm_next_sweep(e);
}

static int
sweep_step(struct rules_engine *e)
{
	struct rules_scope sc = { 0 };
	int64_t t0;
	size_t i;
	int rc;

	if (e->lo > e->max_id) {
		sweep_done(e);
		return STORE_OK;
	}
	sc.lo = e->lo;
	sc.hi = e->lo + e->span;
	t0 = mono_us();
	e->locked_us = 0;
	if ((rc = sweep_batch(e, &sc)) != STORE_OK)
		return rc;
	for (i = 0; i < e->nrules; i++)
		if (in_step(e, i, e->only))
			e->acc[i] += e->step_acc[i];
	e->lo = sc.hi;
	e->span = adapt(e->span, mono_us() - t0, e->locked_us, SPAN_MIN,
	    SPAN_MAX);
	return STORE_OK;
}

/* -- the loop ----------------------------------------------------------- */

static void
report(struct rules_engine *e, int rc, const char *what)
{
	if (rc == STORE_ERR)
		log_warnx("rules: %s: %s", what, store_errmsg(e->crmd->store));
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rules_engine *e = arg;
	int rc, busy = 0;

	e->step_pending = 0;
	e->wrote = 0;
	if (e->crmd->stopping)
		return;
	if (e->feed_pending) {
		rc = feed_step(e);
		report(e, rc, "the change feed");
		busy |= rc != STORE_OK;
	}
	if (e->sweeping) {
		rc = sweep_step(e);
		report(e, rc, "the sweep");
		busy |= rc != STORE_OK;
	}
	/* Our commits are invisible to data_version: let watch.c see only
	 * the CRM's. */
	watch_own_commits(e->crmd->watch);
	if (e->feed_pending || e->sweeping)
		schedule(e, busy ? BUSY_RETRY_MS : e->wrote ? WRITE_GAP_MS : 0);
}

static void
schedule(struct rules_engine *e, int delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	if (e->step_pending && delay_ms == 0)
		return;
	e->step_pending = 1;
	evtimer_add(e->ev_step, &tv);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rules_engine *e = arg;

	if (!e->sweeping)
		sweep_start(e, -1);
}

void
rules_backstop(struct rules_engine *e)
{
	int64_t head;

	if (e == NULL || e->crmd->stopping)
		return;
	if (store_rules_feed_head(e->crmd->store, &head) == STORE_OK &&
	    e->have_cursor && head > e->cursor)
		rules_kick(e);
}

/* -- interface ------------------------------------------------------------- */

struct rules_engine *
rules_new(struct crmd *crmd)
{
	struct rules_engine *e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->crmd = crmd;
	e->only = -1;
	e->feed_rows = FEED_FIRST;
	if ((e->sr = store_rules_new(crmd->store)) == NULL ||
	    (e->tags = scope_tags_new()) == NULL ||
	    (e->guard = guard_new()) == NULL ||
	    (e->ev_step = evtimer_new(crmd->base, step_cb, e)) == NULL ||
	    (e->ev_sweep = evtimer_new(crmd->base, sweep_cb, e)) == NULL ||
	    resize_results(e) == -1) {
		rules_free(e);
		return NULL;
	}
	e->feed_pending = 1;
	sweep_start(e, -1);
	return e;
}

void
rules_free(struct rules_engine *e)
{
	if (e == NULL)
		return;
	if (e->ev_step)
		event_free(e->ev_step);
	if (e->ev_sweep)
		event_free(e->ev_sweep);
	store_rules_free(e->sr);
	tag_plan_free(&e->plan);
	guard_free(e->guard);
	free(e->matches);
	free(e->acc);
	free(e->step_acc);
	scope_tags_free(e->tags);
	free(e);
}

void
rules_kick(struct rules_engine *e)
{
	if (e == NULL || e->crmd->stopping)
		return;
	e->feed_pending = 1;
	/*
	 * In this loop turn rather than by a zero timer, which with precise
	 * timers is a timerfd the loop sleeps on: a wake-up per CRM commit.
	 * The sweep's own steps still yield by timer (schedule()).
	 */
	if (e->step_pending)
		return;
	e->step_pending = 1;
	event_active(e->ev_step, EV_TIMEOUT, 0);
}

void
rules_reconfigure(struct rules_engine *e)
{
	if (e == NULL)
		return;
	/* The statements and the guard point into the old config. */
	store_rules_forget(e->sr);
	guard_reset(e->guard);
	e->sweeping = 0;
	e->resize = 1;
	sweep_start(e, -1);
}

int64_t
rules_run(struct rules_engine *e, const char *name)
{
	const struct conf_rules *r = rules_of(e);
	ssize_t only = -1;
	size_t i;

	if (name != NULL) {
		for (i = 0; i < r->ntag_rules; i++)
			if (strcmp(r->tag_rules[i].name, name) == 0)
				break;
		if (i == r->ntag_rules)
			return -1;
		only = (ssize_t)i;
	}
	/* A full sweep under way covers any rule, and what it started
	 * covering (skip_covered_feed) must be finished. */
	if (e->sweeping && e->only == -1)
		return e->info.started;
	e->sweeping = 0;
	sweep_start(e, only);
	return e->info.started;
}

void
rules_sweep_info(struct rules_engine *e, struct rules_sweep_info *info)
{
	*info = e->info;
	info->cursor = e->cursor;
}

int64_t
rules_matches(struct rules_engine *e, const char *name)
{
	const struct conf_rules *r = rules_of(e);
	size_t i;

	if (e->resize)
		return -1;
	for (i = 0; i < r->ntag_rules && i < e->nrules; i++)
		if (strcmp(r->tag_rules[i].name, name) == 0)
			return e->matches[i];
	return -1;
}
