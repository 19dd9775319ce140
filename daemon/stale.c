/*
 * The stale sweep (stale.h).  A sweep has three phases, each a walk in
 * windows of ids whose reads return only what must change, so a sweep
 * with nothing to do reads no row into C:
 *
 *  1. the open stale flags, in id order, that await something: one whose
 *     owner was not told yet is notified, one whose owner was told
 *     escalate_after ago without a follow-up since goes to the manager;
 *  2. the open stale flags, in customer order, whose condition ended (a
 *     follow-up since, or a status without a `stale` entry): cleared;
 *  3. per `stale` entry, the customers of its status: those without a
 *     follow-up for `days` and without an open flag get one, and their
 *     owner is told in the same transaction.
 *
 * Reads run outside any transaction (WAL readers block nobody); what
 * they found is written in chunks, each one short BEGIN IMMEDIATE
 * transaction that checks its condition again, so a follow-up the CRM
 * commits in between is respected.  Window and chunk sizes adapt to keep
 * each piece near 8 ms; the loop runs between pieces, and write
 * transactions are AUTO_WRITE_GAP_MS apart (events.h says why), the
 * reads going on in the gaps.
 */
#include "stale.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "conf.h"
#include "crmd.h"
#include "events.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "store_automation.h"
#include "tz.h"
#include "watch.h"

#define STEP_US		10000	/* loop time a step may take */
#define PIECE_US	8000	/* target of one read or one transaction */
#define WINDOW_START	8192	/* ids per read, adapted */
#define WINDOW_MIN	256
#define WINDOW_MAX	(1 << 21)
#define CHUNK_START	64	/* actions per transaction, adapted */
#define CHUNK_MIN	4
#define CHUNK_MAX	2048
#define QUEUE_MAX	16384	/* actions read ahead of the writes */
#define BUSY_RETRY_MS	20
#define FIRST_SWEEP_S	1	/* after start: catch up soon */
#define DEFAULT_INTERVAL 600
#define DAY		86400

enum act_type { ACT_RAISE, ACT_CLEAR, ACT_NOTIFY, ACT_ESCALATE };

/* Something a read found to do; written later, re-checked then. */
struct action {
	enum act_type	 type;
	int64_t		 customer_id;
	int64_t		 flag_id;	/* all but ACT_RAISE */
	int64_t		 before;	/* ACT_RAISE: last contact cut-off */
	int64_t		 notified_at;	/* ACT_ESCALATE */
	unsigned	 channels;
	char		 status[16];
	char		 reason[160];	/* the flag's */
	char		 cause[160];	/* ACT_CLEAR: why, for the audit */
};

/* Reading the flags twice, then the customers; then writing what is
 * left. */
enum phase { PH_IDLE, PH_DUE, PH_ENDED, PH_CUSTOMERS, PH_DRAIN };

struct stale {
	struct crmd	*crmd;
	struct event	*ev_step;	/* the next piece, after a yield */
	struct event	*ev_timer;	/* the next scheduled sweep */
	int64_t		 interval;	/* the timer's, seconds */
	enum phase	 phase;
	int		 pending;	/* asked for while one ran */
	size_t		 entry;		/* PH_CUSTOMERS: index in conf */
	int64_t		 lo, max_id;	/* the walk: read up to lo, end */
	int64_t		 window;	/* ids per read */
	int		 chunk;
	int64_t		 write_at;	/* monotonic us: next write allowed */
	struct action	*acts;
	size_t		 nacts, done, cap;
	int		 wrote;		/* this step committed something */
	struct stale_sweep cur, last;
	int64_t		 next_id;
};

static int64_t
interval_of(const struct crmd *crmd)
{
	int64_t i = crmd->conf->rules.interval;

	return i > 0 ? i : DEFAULT_INTERVAL;
}

static const struct conf_stale *
entry_for(const struct crmd *crmd, const char *status)
{
	const struct conf_rules *r = &crmd->conf->rules;

	for (size_t i = 0; i < r->nstale; i++)
		if (strcmp(r->stale[i].status, status) == 0)
			return &r->stale[i];
	return NULL;
}

char *
stale_reason(const char *status, int days, char *buf, unsigned long len)
{
	snprintf(buf, len, "%d 天未跟进（%s客户）", days,
	    auto_status_label(status));
	return buf;
}

/* ---- timers ---- */

static void
step_in(struct stale *s, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(s->ev_step, &tv);
}

static void
arm_timer(struct stale *s, int64_t secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	s->interval = interval_of(s->crmd);
	evtimer_add(s->ev_timer, &tv);
}

/* The next phase: its walk's end is looked up by its first read. */
static void
next_phase(struct stale *s, enum phase to)
{
	s->phase = to;
	s->lo = 0;
	s->max_id = -1;
	s->window = WINDOW_START;
	s->entry = 0;
}

static void
start_sweep(struct stale *s)
{
	memset(&s->cur, 0, sizeof(s->cur));
	s->cur.id = ++s->next_id;
	s->cur.started_at = time(NULL);
	s->pending = 0;
	s->nacts = s->done = 0;
	next_phase(s, PH_DUE);
	log_debug("stale: sweep %lld started", (long long)s->cur.id);
	step_in(s, 0);
}

static void
finish_sweep(struct stale *s)
{
	s->cur.finished_at = time(NULL);
	s->last = s->cur;
	s->phase = PH_IDLE;
	if (s->cur.flagged || s->cur.cleared || s->cur.escalated)
		log_info("stale sweep: %lld flagged, %lld cleared, %lld "
		    "owners notified, %lld escalated", (long long)s->cur.flagged,
		    (long long)s->cur.cleared, (long long)s->cur.notified,
		    (long long)s->cur.escalated);
	if (s->pending)
		start_sweep(s);
	else
		arm_timer(s, interval_of(s->crmd));
}

int64_t
stale_sweep_request(struct stale *s)
{
	if (s->phase == PH_IDLE) {
		evtimer_del(s->ev_timer);
		start_sweep(s);
		return s->cur.id;
	}
	s->pending = 1;
	return s->cur.id + 1;
}

int
stale_sweep_result(const struct stale *s, int64_t id, struct stale_sweep *out)
{
	if (id <= 0 || id > s->next_id + (s->pending ? 1 : 0))
		return -1;
	if (s->last.id == 0 || id > s->last.id)
		return 0;
	if (id < s->last.id)
		return -1;
	*out = s->last;
	return 1;
}

/* ---- the writes ---- */

static void
format_due(int64_t t, char *buf, size_t len)
{
	tz_format_local((time_t)t, buf, len);
}

static int
notify_owner(struct stale *s, const struct action *a, int64_t flag_id,
    int64_t now)
{
	struct crmd *crmd = s->crmd;
	struct auto_customer c;
	char key[64];
	int rc, found, changed;

	if ((rc = store_auto_customer_get(crmd->store, a->customer_id, &c,
	    &found)) != STORE_OK || !found)
		return rc;
	/* No active owner: told once there is one. */
	if (c.owner.id == 0 || (rc = store_auto_flag_notified(crmd->store,
	    flag_id, now, &changed)) != STORE_OK || !changed)
		goto out;
	snprintf(key, sizeof(key), "stale:%lld", (long long)flag_id);
	struct auto_msg m = { KIND_STALE, &c, &c.owner, &c.owner, a->reason,
	    NULL, a->channels, key };
	if ((rc = auto_message_send(crmd, &m, now)) == STORE_OK)
		s->cur.notified++;
out:
	store_auto_customer_free(&c);
	return rc;
}

static int
do_raise(struct stale *s, const struct action *a, int64_t now)
{
	int64_t flag_id;
	int rc;

	if ((rc = store_auto_flag_raise(s->crmd->store, a->customer_id,
	    a->status, a->before, now, a->reason, &flag_id)) != STORE_OK ||
	    flag_id == 0)
		return rc;
	s->cur.flagged++;
	return notify_owner(s, a, flag_id, now);
}

static int
do_clear(struct stale *s, const struct action *a, int64_t now)
{
	char detail[400];
	int rc, changed;

	if ((rc = store_auto_flag_clear(s->crmd->store, a->flag_id, now,
	    &changed)) != STORE_OK || !changed)
		return rc;
	s->cur.cleared++;
	snprintf(detail, sizeof(detail), "stale flag %lld (%s) cleared: %s",
	    (long long)a->flag_id, a->reason, a->cause);
	return store_audit(s->crmd->store, "crmd", "stale.cleared",
	    a->customer_id, detail);
}

static int
do_escalate(struct stale *s, const struct action *a, int64_t now)
{
	struct crmd *crmd = s->crmd;
	struct auto_customer c;
	char key[64], due[32], detail[400];
	int rc, found, changed;

	if ((rc = store_auto_flag_escalated(crmd->store, a->flag_id, now,
	    &changed)) != STORE_OK || !changed)
		return rc;
	if ((rc = store_auto_customer_get(crmd->store, a->customer_id, &c,
	    &found)) != STORE_OK || !found)
		return rc;
	if (c.manager.id == 0) {
		snprintf(detail, sizeof(detail), "stale flag %lld (%s): still "
		    "no follow-up; owner %lld has no active manager to tell",
		    (long long)a->flag_id, a->reason, (long long)c.owner_id);
	} else {
		snprintf(key, sizeof(key), "stale-esc:%lld",
		    (long long)a->flag_id);
		format_due(a->notified_at, due, sizeof(due));
		struct auto_msg m = { KIND_STALE_ESCALATION, &c, &c.manager,
		    &c.owner, a->reason, due, a->channels, key };
		if ((rc = auto_message_send(crmd, &m, now)) != STORE_OK)
			goto out;
		snprintf(detail, sizeof(detail), "stale flag %lld (%s): still "
		    "no follow-up; manager %lld notified", (long long)a->flag_id,
		    a->reason, (long long)c.manager.id);
	}
	s->cur.escalated++;
	rc = store_audit(crmd->store, "crmd", "stale.escalated", c.id, detail);
out:
	store_auto_customer_free(&c);
	return rc;
}

static int
do_action(struct stale *s, const struct action *a, int64_t now)
{
	switch (a->type) {
	case ACT_RAISE:
		return do_raise(s, a, now);
	case ACT_CLEAR:
		return do_clear(s, a, now);
	case ACT_NOTIFY:
		return notify_owner(s, a, a->flag_id, now);
	case ACT_ESCALATE:
		return do_escalate(s, a, now);
	}
	return STORE_ERR;
}

/* Actions [from, to) in one transaction.  The counts are kept only if
 * it commits. */
static int
write_range(struct stale *s, size_t from, size_t to, int64_t now)
{
	struct stale_sweep saved = s->cur;
	int rc;

	if ((rc = store_begin(s->crmd->store)) != STORE_OK)
		return rc;
	for (size_t i = from; i < to && rc == STORE_OK; i++)
		rc = do_action(s, &s->acts[i], now);
	if (rc == STORE_OK)
		rc = store_commit(s->crmd->store);
	else
		store_rollback(s->crmd->store);
	if (rc != STORE_OK)
		s->cur = saved;
	return rc;
}

/* A chunk failed: each action alone, skipping one that keeps failing so
 * it cannot hold up the sweep. */
static int
write_alone(struct stale *s, size_t from, size_t to, int64_t now)
{
	int rc;

	for (size_t i = from; i < to; i++) {
		if ((rc = write_range(s, i, i + 1, now)) == STORE_BUSY)
			return rc;
		if (rc == STORE_ERR)
			log_warnx("stale: customer %lld: %s; skipped",
			    (long long)s->acts[i].customer_id,
			    store_errmsg(s->crmd->store));
		s->done = i + 1;
	}
	return STORE_OK;
}

static int
write_chunk(struct stale *s)
{
	size_t from = s->done, to = from + (size_t)s->chunk;
	int64_t t0 = mono_us(), took, now = time(NULL);
	int rc;

	if (to > s->nacts)
		to = s->nacts;
	rc = write_range(s, from, to, now);
	if (rc == STORE_ERR)
		rc = write_alone(s, from, to, now);
	else if (rc == STORE_OK)
		s->done = to;
	if (rc != STORE_OK)
		return rc;
	s->wrote = 1;
	took = mono_us() - t0;
	s->write_at = mono_us() + AUTO_WRITE_GAP_MS * 1000;
	if (took > PIECE_US && s->chunk > CHUNK_MIN)
		s->chunk /= 2;
	else if (took < PIECE_US / 2 && s->chunk < CHUNK_MAX &&
	    to - from == (size_t)s->chunk)
		s->chunk *= 2;
	return STORE_OK;
}

/* ---- the reads ---- */

static struct action *
add_action(struct stale *s, enum act_type type, int64_t customer_id)
{
	struct action *p;

	if (s->nacts == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;

		if ((p = reallocarray(s->acts, ncap, sizeof(*p))) == NULL)
			return NULL;
		s->acts = p;
		s->cap = ncap;
	}
	p = &s->acts[s->nacts++];
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->customer_id = customer_id;
	return p;
}

/* What an open flag needs now, if anything. */
static int
decide(struct stale *s, const struct auto_flag *f, int64_t now)
{
	const struct conf_stale *e = entry_for(s->crmd, f->status);
	struct action *a = NULL;
	char last[32];

	if (e == NULL || f->last > now - (int64_t)e->days * DAY) {
		if ((a = add_action(s, ACT_CLEAR, f->customer_id)) == NULL)
			return -1;
		if (e == NULL)
			snprintf(a->cause, sizeof(a->cause), "status is now %s,"
			    " which has no stale entry", f->status);
		else {
			format_due(f->last, last, sizeof(last));
			snprintf(a->cause, sizeof(a->cause), "last contact %s "
			    "is within %d days", last, e->days);
		}
	} else if (f->notified_at == 0 && f->owner_id != 0)
		a = add_action(s, ACT_NOTIFY, f->customer_id);
	else if (f->notified_at != 0 && f->escalated_at == 0 &&
	    e->escalate_after > 0 && now - f->notified_at >= e->escalate_after)
		a = add_action(s, ACT_ESCALATE, f->customer_id);
	else
		return 0;
	if (a == NULL)
		return -1;
	a->flag_id = f->id;
	a->notified_at = f->notified_at;
	a->channels = e != NULL ? e->channels : 0;
	snprintf(a->reason, sizeof(a->reason), "%s", f->reason);
	return 0;
}

/* The cut-offs of the `stale` entries at now. */
static size_t
make_cuts(const struct stale *s, int64_t now, struct auto_cut *cuts)
{
	const struct conf_rules *r = &s->crmd->conf->rules;
	size_t n = 0;

	for (size_t i = 0; i < r->nstale && n < AUTO_CUTS_MAX; i++, n++) {
		const struct conf_stale *e = &r->stale[i];

		cuts[n].status = e->status;
		cuts[n].before = now - (int64_t)e->days * DAY;
		cuts[n].escalate_by = e->escalate_after > 0 ?
		    now - e->escalate_after : 0;
	}
	return n;
}

/* Keeps a read near PIECE_US: this one took took_us. */
static void
adapt_window(struct stale *s, int64_t took_us)
{
	if (took_us < PIECE_US / 2 && s->window < WINDOW_MAX)
		s->window *= 2;
	else if (took_us > PIECE_US && s->window > WINDOW_MIN)
		s->window /= 2;
}

/* Phases 1 and 2: the next window of flags or customers with flags. */
static int
read_flags(struct stale *s)
{
	struct auto_cut cuts[AUTO_CUTS_MAX];
	struct auto_flag *rows;
	int64_t now = time(NULL), hi = s->lo + s->window, t0 = mono_us();
	size_t n, ncuts = make_cuts(s, now, cuts);
	int rc;

	rc = s->phase == PH_DUE ?
	    store_auto_flags_due(s->crmd->store, s->lo, hi, cuts, ncuts, now,
	    &rows, &n) :
	    store_auto_flags_ended(s->crmd->store, s->lo, hi, cuts, ncuts, now,
	    &rows, &n);
	if (rc != STORE_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (decide(s, &rows[i], now) == -1) {
			free(rows);
			return STORE_ERR;
		}
	free(rows);
	s->lo = hi;
	adapt_window(s, mono_us() - t0);
	return STORE_OK;
}

static int
read_window(struct stale *s, const struct conf_stale *e)
{
	int64_t now = time(NULL), before = now - (int64_t)e->days * DAY;
	int64_t hi = s->lo + s->window, t0 = mono_us(), *ids;
	char reason[160];
	struct action *a;
	size_t n;
	int rc;

	if ((rc = store_auto_stale_candidates(s->crmd->store, e->status,
	    s->lo, hi, before, now, &ids, &n)) != STORE_OK)
		return rc;
	stale_reason(e->status, e->days, reason, sizeof(reason));
	for (size_t i = 0; i < n; i++) {
		if ((a = add_action(s, ACT_RAISE, ids[i])) == NULL) {
			free(ids);
			return STORE_ERR;
		}
		a->before = before;
		a->channels = e->channels;
		snprintf(a->status, sizeof(a->status), "%s", e->status);
		snprintf(a->reason, sizeof(a->reason), "%s", reason);
	}
	free(ids);
	s->lo = hi;
	adapt_window(s, mono_us() - t0);
	return STORE_OK;
}

static int
read_customers(struct stale *s)
{
	const struct conf_rules *r = &s->crmd->conf->rules;

	/* A reload may have shortened the list: the sweep just ends. */
	if (s->entry >= r->nstale) {
		s->phase = PH_DRAIN;
		return STORE_OK;
	}
	if (s->lo >= s->max_id) {
		s->entry++;
		s->lo = 0;
		s->window = WINDOW_START;
		return STORE_OK;
	}
	return read_window(s, &r->stale[s->entry]);
}

/* One read of the walk, or the step to the next phase. */
static int
read_next(struct stale *s)
{
	if (s->max_id < 0)
		return s->phase == PH_DUE ?
		    store_auto_flags_max(s->crmd->store, &s->max_id) :
		    store_auto_customers_max(s->crmd->store, &s->max_id);
	switch (s->phase) {
	case PH_DUE:
		if (s->lo < s->max_id)
			return read_flags(s);
		next_phase(s, PH_ENDED);
		return STORE_OK;
	case PH_ENDED:
		if (s->lo < s->max_id)
			return read_flags(s);
		next_phase(s, PH_CUSTOMERS);
		return STORE_OK;
	case PH_CUSTOMERS:
		return read_customers(s);
	default:
		return STORE_OK;
	}
}

/* Drops the actions written, keeping the queue's memory small. */
static void
compact(struct stale *s)
{
	if (s->done == 0)
		return;
	memmove(s->acts, s->acts + s->done, (s->nacts - s->done) *
	    sizeof(*s->acts));
	s->nacts -= s->done;
	s->done = 0;
}

/*
 * One read or one write transaction.  Writes keep AUTO_WRITE_GAP_MS
 * between them (events.h says why); the reads go on meanwhile, as long
 * as the queue is not too long.  *wait_us: nothing to do before then.
 */
static int
piece(struct stale *s, int64_t *wait_us)
{
	int pending = s->done < s->nacts;

	*wait_us = 0;
	if (pending && mono_us() >= s->write_at)
		return write_chunk(s);
	if (s->phase != PH_DRAIN && s->nacts - s->done < QUEUE_MAX) {
		if (s->done > s->nacts / 2)
			compact(s);
		return read_next(s);
	}
	if (pending)
		*wait_us = s->write_at - mono_us();
	else
		finish_sweep(s);
	return STORE_OK;
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stale *s = arg;
	int64_t t0 = mono_us(), wait_us = 0;
	int rc = STORE_OK;

	if (s->crmd->stopping || s->phase == PH_IDLE)
		return;
	s->wrote = 0;
	while (s->phase != PH_IDLE && wait_us == 0 &&
	    mono_us() - t0 < STEP_US && (rc = piece(s, &wait_us)) == STORE_OK)
		;
	if (s->wrote) {
		watch_own_commits(s->crmd->watch);
		outbox_kick(s->crmd->outbox);
	}
	if (rc == STORE_BUSY) {
		step_in(s, BUSY_RETRY_MS);
		return;
	}
	if (rc == STORE_ERR) {
		log_warnx("stale sweep %lld stopped: %s; the next one tries "
		    "again", (long long)s->cur.id, store_errmsg(s->crmd->store));
		s->nacts = s->done = 0;
		finish_sweep(s);
		return;
	}
	if (s->phase != PH_IDLE)
		step_in(s, (int)((wait_us + 999) / 1000));
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stale *s = arg;

	if (!s->crmd->stopping && s->phase == PH_IDLE)
		start_sweep(s);
}

/* ---- the event handler's check ---- */

int
stale_recheck(struct crmd *crmd, int64_t customer_id, int64_t now,
    const char *cause, int *cleared)
{
	const struct conf_stale *e;
	struct auto_staleness st;
	char detail[400];
	int rc, found;

	*cleared = 0;
	if ((rc = store_auto_staleness(crmd->store, customer_id, now, &st,
	    &found)) != STORE_OK || !found || st.flag_id == 0)
		return rc;
	e = entry_for(crmd, st.status);
	if (e != NULL && st.last <= now - (int64_t)e->days * DAY)
		return STORE_OK;	/* still stale */
	if ((rc = store_auto_flag_clear(crmd->store, st.flag_id, now,
	    cleared)) != STORE_OK || !*cleared)
		return rc;
	snprintf(detail, sizeof(detail), "stale flag %lld (%s) cleared: %s",
	    (long long)st.flag_id, st.reason, cause);
	return store_audit(crmd->store, "crmd", "stale.cleared", customer_id,
	    detail);
}

/* ---- life ---- */

struct stale *
stale_new(struct crmd *crmd)
{
	struct stale *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->crmd = crmd;
	s->window = WINDOW_START;
	s->chunk = CHUNK_START;
	s->ev_step = evtimer_new(crmd->base, step_cb, s);
	s->ev_timer = evtimer_new(crmd->base, timer_cb, s);
	if (s->ev_step == NULL || s->ev_timer == NULL) {
		stale_free(s);
		return NULL;
	}
	arm_timer(s, FIRST_SWEEP_S);
	return s;
}

void
stale_reconfigure(struct stale *s)
{
	if (s == NULL || interval_of(s->crmd) == s->interval ||
	    s->phase != PH_IDLE)
		return;
	arm_timer(s, interval_of(s->crmd));
}

void
stale_free(struct stale *s)
{
	if (s == NULL)
		return;
	if (s->ev_step)
		event_free(s->ev_step);
	if (s->ev_timer)
		event_free(s->ev_timer);
	free(s->acts);
	free(s);
}
