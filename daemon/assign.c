/*
 * Lead assignment (assign.h).  For a batch of customers, each entry in
 * order takes those it matches (its `when` is one query for the whole
 * batch) and deals them out to its pool; the pool's active users and,
 * for least_loaded, their open customers are read once per batch and
 * kept up to date as customers are dealt.  Which user is next is a
 * guess until the conditional UPDATE says the customer was still
 * unowned: only then does the round-robin position move.
 */
#include "assign.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crmd.h"
#include "events.h"
#include "log.h"
#include "outbox.h"
#include "rules.h"
#include "rules_engine.h"
#include "store.h"
#include "store_automation.h"
#include "store_reminders.h"
#include "watch.h"

#define SWEEP_BATCH	256	/* unowned customers per transaction */
#define BUSY_RETRY_MS	20
#define FIRST_SWEEP_S	2
#define DEFAULT_INTERVAL 600
/* The assignment notice goes in-app and by email: `assign` entries have
 * no channels of their own. */
#define NOTICE_CHANNELS	(CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL))

struct assign {
	struct crmd	*crmd;
	struct event	*ev_timer;
	struct event	*ev_step;
	int64_t		 interval;
	int64_t		 after;		/* sweep: last customer id done */
	int		 running;
};

/* An entry's pool for one batch. */
struct pool {
	const struct conf_assign *e;
	int		 number;	/* 1-based, in the config */
	int		 loaded;
	int		*active;	/* per user */
	int64_t		*load;		/* least_loaded: open customers */
	int64_t		 next;		/* round_robin: position */
	int		 moved;		/* next changed: save it */
};

static int64_t
interval_of(const struct crmd *crmd)
{
	int64_t i = crmd->conf->rules.interval;

	return i > 0 ? i : DEFAULT_INTERVAL;
}

static void
state_key(const struct pool *p, char *buf, size_t len)
{
	snprintf(buf, len, "assign.%d.next", p->number);
}

static int
pool_load(struct crmd *crmd, struct pool *p)
{
	char key[32];
	int found, rc = STORE_OK;

	if (p->loaded)
		return STORE_OK;
	p->active = calloc(p->e->nusers, sizeof(*p->active));
	p->load = calloc(p->e->nusers, sizeof(*p->load));
	if (p->active == NULL || p->load == NULL)
		return STORE_ERR;
	for (size_t i = 0; i < p->e->nusers && rc == STORE_OK; i++) {
		rc = store_auto_user_active(crmd->store, p->e->users[i],
		    &p->active[i]);
		if (rc == STORE_OK && p->active[i] &&
		    p->e->method == ASSIGN_LEAST_LOADED)
			rc = store_auto_open_customers(crmd->store,
			    p->e->users[i], &p->load[i]);
	}
	state_key(p, key, sizeof(key));
	if (rc == STORE_OK && (rc = store_state_get(crmd->store, key, &p->next,
	    &found)) == STORE_OK && !found)
		p->next = 0;
	p->loaded = rc == STORE_OK;
	return rc;
}

/* The pool position to deal to next, or -1 when nobody is active. */
static int
pool_pick(const struct pool *p)
{
	size_t n = p->e->nusers, i, k;
	int best = -1;

	if (p->e->method == ASSIGN_ROUND_ROBIN) {
		for (k = 0; k < n; k++) {
			i = ((size_t)(p->next % (int64_t)n) + k) % n;
			if (p->active[i])
				return (int)i;
		}
		return -1;
	}
	/* Fewest open customers; a tie goes to the first listed. */
	for (i = 0; i < n; i++)
		if (p->active[i] && (best == -1 || p->load[i] < p->load[best]))
			best = (int)i;
	return best;
}

static void
pool_dealt(struct pool *p, int i)
{
	p->load[i]++;
	p->next = (i + 1) % (int64_t)p->e->nusers;
	p->moved = 1;
}

static void
pools_free(struct pool *pools, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pools[i].active);
		free(pools[i].load);
	}
	free(pools);
}

static int
pools_save(struct crmd *crmd, struct pool *pools, size_t n)
{
	char key[32];
	int rc = STORE_OK;

	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if (!pools[i].moved)
			continue;
		state_key(&pools[i], key, sizeof(key));
		rc = store_state_set(crmd->store, key, pools[i].next);
	}
	return rc;
}

/* The message's note and the audit's detail say which rule decided. */
static int
tell_and_audit(struct crmd *crmd, const struct pool *p, int64_t customer_id,
    int64_t user_id, int64_t now)
{
	const char *how = p->e->method == ASSIGN_ROUND_ROBIN ?
	    "round_robin" : "least_loaded";
	struct auto_customer c;
	char note[512], key[64], detail[600];
	int rc, found;

	if ((rc = store_auto_customer_get(crmd->store, customer_id, &c,
	    &found)) != STORE_OK || !found)
		return rc;
	snprintf(note, sizeof(note), "分配规则：%s（%s）",
	    p->e->when_text != NULL ? p->e->when_text : "全部新客户",
	    p->e->method == ASSIGN_ROUND_ROBIN ? "轮流分配" : "按负载分配");
	if (c.owner.id != 0) {
		snprintf(key, sizeof(key), "assign:%lld:%lld",
		    (long long)customer_id, (long long)user_id);
		struct auto_msg m = { KIND_ASSIGNED, &c, &c.owner, &c.owner,
		    note, NULL, NOTICE_CHANNELS, key };
		if ((rc = auto_message_send(crmd, &m, now)) != STORE_OK)
			goto out;
	}
	snprintf(detail, sizeof(detail), "owner set to user %lld (%s) by "
	    "assign entry %d (line %d: %s), %s", (long long)user_id,
	    c.owner.name != NULL ? c.owner.name : "", p->number, p->e->line,
	    p->e->when_text != NULL ? p->e->when_text : "every customer", how);
	rc = store_audit(crmd->store, "crmd", "customer.assigned", customer_id,
	    detail);
out:
	store_auto_customer_free(&c);
	return rc;
}

/* Deals the customers of ids that p's entry matched. */
static int
deal(struct crmd *crmd, struct pool *p, const int64_t *ids, size_t n,
    unsigned char *todo, const unsigned char *matched, int64_t now,
    int *assigned)
{
	int i, rc, changed;

	for (size_t j = 0; j < n; j++) {
		if (!todo[j] || !matched[j])
			continue;
		if ((rc = pool_load(crmd, p)) != STORE_OK)
			return rc;
		if ((i = pool_pick(p)) == -1) {
			log_warnx("assign entry %d (line %d): none of its users "
			    "is active; its customers go to the next entry "
			    "that matches", p->number, p->e->line);
			return STORE_OK;
		}
		todo[j] = 0;
		if ((rc = store_auto_assign(crmd->store, ids[j],
		    p->e->users[i], &changed)) != STORE_OK)
			return rc;
		if (!changed)
			continue;	/* the CRM gave it an owner first */
		pool_dealt(p, i);
		(*assigned)++;
		if ((rc = tell_and_audit(crmd, p, ids[j], p->e->users[i],
		    now)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static int
assign_entry(struct crmd *crmd, struct pool *p, const int64_t *ids, size_t n,
    unsigned char *todo, int64_t now, int *assigned)
{
	struct rule_env env;
	unsigned char *matched;
	char today[16];
	int rc = STORE_OK;

	if ((matched = malloc(n)) == NULL)
		return STORE_ERR;
	if (p->e->when == NULL)
		memset(matched, 1, n);
	else {
		auto_env(&env, now, today, ids, n);
		rc = store_auto_match(crmd->store, p->e->when, &env, matched);
	}
	if (rc == STORE_OK)
		rc = deal(crmd, p, ids, n, todo, matched, now, assigned);
	free(matched);
	return rc;
}

int
assign_customers(struct crmd *crmd, const int64_t *ids, size_t n, int64_t now,
    int *assigned)
{
	const struct conf_rules *r = &crmd->conf->rules;
	struct pool *pools;
	unsigned char *todo;
	int rc = STORE_OK;

	*assigned = 0;
	if (r->nassign == 0 || n == 0)
		return STORE_OK;
	pools = calloc(r->nassign, sizeof(*pools));
	todo = malloc(n);
	if (pools == NULL || todo == NULL) {
		free(pools);
		free(todo);
		return STORE_ERR;
	}
	memset(todo, 1, n);
	for (size_t i = 0; i < r->nassign && rc == STORE_OK; i++) {
		pools[i].e = &r->assign[i];
		pools[i].number = (int)i + 1;
		rc = assign_entry(crmd, &pools[i], ids, n, todo, now, assigned);
	}
	if (rc == STORE_OK)
		rc = pools_save(crmd, pools, r->nassign);
	pools_free(pools, r->nassign);
	free(todo);
	return rc;
}

/* ---- the sweep ---- */

static void
arm_timer(struct assign *a, int64_t secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	a->interval = interval_of(a->crmd);
	evtimer_add(a->ev_timer, &tv);
}

static void
step_in(struct assign *a, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(a->ev_step, &tv);
}

/* One batch of unowned customers in one transaction. */
static int
sweep_batch(struct assign *a, int *more, int *n_assigned)
{
	struct crmd *crmd = a->crmd;
	int64_t *ids, now = time(NULL);
	size_t n;
	int rc;

	*more = 0;
	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	if ((rc = store_auto_unowned(crmd->store, a->after, SWEEP_BATCH, &ids,
	    &n)) == STORE_OK && n > 0 &&
	    (rc = assign_customers(crmd, ids, n, now, n_assigned)) == STORE_OK)
		rc = store_commit(crmd->store);
	else
		store_rollback(crmd->store);
	if (rc == STORE_OK && n > 0)
		a->after = ids[n - 1];
	*more = rc == STORE_OK && n == SWEEP_BATCH;
	free(ids);
	return rc;
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct assign *a = arg;
	int more, n = 0, rc;

	if (a->crmd->stopping)
		return;
	rc = sweep_batch(a, &more, &n);
	if (n > 0) {
		log_info("assigned %d customer(s) without an owner", n);
		watch_own_commits(a->crmd->watch);
		outbox_kick(a->crmd->outbox);
		rules_kick(a->crmd->rules);	/* owner_id is a rule fact */
	}
	if (rc == STORE_BUSY) {
		step_in(a, BUSY_RETRY_MS);
		return;
	}
	if (rc == STORE_ERR)
		log_warnx("assignment sweep stopped: %s; the next one tries "
		    "again", store_errmsg(a->crmd->store));
	if (rc == STORE_OK && more) {
		step_in(a, AUTO_WRITE_GAP_MS);
		return;
	}
	a->running = 0;
	arm_timer(a, interval_of(a->crmd));
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct assign *a = arg;

	if (a->crmd->stopping || a->running)
		return;
	if (a->crmd->conf->rules.nassign == 0) {
		arm_timer(a, interval_of(a->crmd));
		return;
	}
	a->running = 1;
	a->after = 0;
	step_in(a, 0);
}

struct assign *
assign_new(struct crmd *crmd)
{
	struct assign *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->crmd = crmd;
	a->ev_timer = evtimer_new(crmd->base, timer_cb, a);
	a->ev_step = evtimer_new(crmd->base, step_cb, a);
	if (a->ev_timer == NULL || a->ev_step == NULL) {
		assign_free(a);
		return NULL;
	}
	arm_timer(a, FIRST_SWEEP_S);
	return a;
}

void
assign_reconfigure(struct assign *a)
{
	if (a == NULL || a->running || interval_of(a->crmd) == a->interval)
		return;
	arm_timer(a, interval_of(a->crmd));
}

void
assign_free(struct assign *a)
{
	if (a == NULL)
		return;
	if (a->ev_timer)
		event_free(a->ev_timer);
	if (a->ev_step)
		event_free(a->ev_step);
	free(a);
}
