/*
 * The outbox sender (outbox.h, docs/delivery.md).
 *
 * One timer, ev_pass, runs a pass: one short BEGIN IMMEDIATE transaction
 * that writes the outcomes collected since the last pass, returns expired
 * leases, makes dead the due rows of a destination that is down once they
 * outlived outbox.lifetime (as a failed attempt of theirs would), and
 * claims due rows per channel (queued -> sending under a lease) up to
 * what concurrency, rate and the destination's state allow.
 * Claimed rows wait in their channel's ready queue; a transfer that ends
 * starts the next at once, from its done callback, so the pipes stay
 * full between passes while the bookkeeping is batched.  The timer is
 * then armed for the earliest instant anything can happen: a row coming
 * due (indexed query, cached per channel until a kick), a token, a probe,
 * a lease to expire.  Idle means no timer and no query.
 *
 * Every outcome is written fenced by the lease it was claimed under, and
 * a transfer's timeout ends it before that lease does, so no lease can
 * expire under a live transfer.  This file is the pass, the timer and the
 * lifecycle; outbox_xfer.c runs the transfers.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlev.h"
#include "curlthread.h"
#include "duration.h"
#include "gateway.h"
#include "log.h"
#include "outbox_int.h"
#include "store.h"
#include "store_outbox.h"
#include "watch.h"

#define BUSY_RETRY_MS	20	/* database locked by another writer */
#define ERROR_RETRY_MS	1000
#define MAX_SLEEP_MS	(3600 * 1000)	/* re-check at least hourly */
#define REFUSE_MAX	512	/* an unconfigured channel's rows per pass */
#define BATCH_ROWS	64	/* rows per set-based statement */
#define SENT_BATCH	256	/* ids per sent statement */
#define EXPIRE_MAX	512	/* rows outliving their lifetime per pass */

/* What one pass changed, applied to memory only once it committed. */
struct pass {
	int64_t			 t;		/* ms */
	struct jobs		 claimed;
	int64_t			 dead;
	int			 reaped;
	int			 reap_ran;
	int64_t			 reap_at;
	int64_t			 lease;		/* of this pass's claims */
	int			 full[NCHAN];
	int64_t			 next_due[NCHAN];
	int			 looked[NCHAN];
	int64_t			 refuse_from[NCHAN];	/* -1: unchanged */
	int			 expired[NCHAN];
};

int64_t
ob_timeout_ms(const struct chan *ch)
{
	return ob_conf_or(ch->ops->pace(ob_delivery(ch->o))->timeout_ms,
	    DEF_TIMEOUT_MS);
}

/* outbox.lease, by default the longest transfer timeout plus a minute. */
int64_t
ob_lease_s(const struct outbox *o)
{
	int64_t longest = 0;

	if (ob_delivery(o)->outbox.lease > 0)
		return ob_delivery(o)->outbox.lease;
	for (int i = 0; i < NCHAN; i++)
		if (ob_timeout_ms(&o->ch[i]) > longest)
			longest = ob_timeout_ms(&o->ch[i]);
	return longest / 1000 + 60;
}

/* -- the pass --------------------------------------------------------- */

/* A sent outcome's fence and time, and its row. */
struct sent_key {
	int64_t	lease;
	int64_t	at;
	int64_t	id;
};

static int
sent_key_cmp(const void *a, const void *b)
{
	const struct sent_key *x = a, *y = b;

	if (x->lease != y->lease)
		return x->lease < y->lease ? -1 : 1;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * The sent ones, most outcomes in a drain, in few statements: rows
 * claimed by one pass share a lease, and those ending in one second a
 * time, so each such group is a list of ids (the per-row statement was a
 * good part of a pass, and per-row values in JSON still 9 % of an SMS).
 */
static int
write_sent(struct outbox *o, size_t nsent)
{
	struct sent_key *k;
	int64_t ids[SENT_BATCH];
	size_t n = 0, i, j, m;
	int rc = STORE_OK;

	if (nsent == 0)
		return STORE_OK;
	if ((k = reallocarray(NULL, nsent, sizeof(*k))) == NULL) {
		log_warnx("outbox: out of memory; the pass is retried");
		return STORE_ERR;
	}
	for (i = 0; i < o->nout; i++)
		if (o->out[i].kind == OUT_SENT) {
			k[n].lease = o->out[i].lease;
			k[n].at = o->out[i].at;
			k[n++].id = o->out[i].id;
		}
	qsort(k, n, sizeof(*k), sent_key_cmp);
	for (i = 0; i < n && rc == STORE_OK; i = j) {
		for (j = i, m = 0; j < n && m < SENT_BATCH &&
		    k[j].lease == k[i].lease && k[j].at == k[i].at; j++)
			ids[m++] = k[j].id;
		rc = store_outbox_sent_many(o->crmd->store, ids, m,
		    k[i].lease, k[i].at);
	}
	free(k);
	return rc;
}

/* The outcomes of the last transfers: the sent ones grouped, the rest
 * one by one. */
static int
write_outcomes(struct outbox *o)
{
	struct store *s = o->crmd->store;
	size_t nsent = 0;
	int rc = STORE_OK;

	for (size_t i = 0; i < o->nout && rc == STORE_OK; i++) {
		struct outcome *r = &o->out[i];

		switch (r->kind) {
		case OUT_SENT:
			nsent++;
			break;
		case OUT_RETRY:
			rc = store_outbox_retry(s, r->id, r->lease, r->at,
			    r->reason);
			break;
		case OUT_DEAD:
			rc = store_outbox_dead(s, r->id, r->lease, r->reason);
			break;
		case OUT_RELEASE:
			rc = store_outbox_release(s, r->id, r->lease);
			break;
		}
	}
	if (rc == STORE_OK)
		rc = write_sent(o, nsent);
	return rc;
}

/* After the commit: count what was written and forget it. */
static void
outcomes_done(struct outbox *o)
{
	for (size_t i = 0; i < o->nout; i++) {
		o->stats.sent += o->out[i].kind == OUT_SENT;
		o->stats.retried += o->out[i].kind == OUT_RETRY;
		o->stats.dead += o->out[i].kind == OUT_DEAD;
		free(o->out[i].reason);
	}
	o->nout = 0;
}

static int
reap(struct outbox *o, struct pass *ps)
{
	int rc;

	ps->reap_ran = 1;
	if ((rc = store_outbox_reap(o->crmd->store, ps->t / 1000,
	    &ps->reaped)) != STORE_OK)
		return rc;
	return store_outbox_next_lease(o->crmd->store, &ps->reap_at);
}

/* An unconfigured channel: its due rows are dead, saying what to do. */
static int
refuse_channel(struct outbox *o, int i, struct pass *ps)
{
	struct chan *ch = &o->ch[i];
	char reason[160];
	int64_t last_at;
	int n, rc;

	snprintf(reason, sizeof(reason), "channel %s is not configured: add "
	    "channels.%s to crmd.conf", ch->ops->name, ch->ops->name);
	if ((rc = store_outbox_refuse_channel(o->crmd->store, ch->ops->name,
	    ps->t / 1000, reason, ch->refuse_from, REFUSE_MAX, &n,
	    &last_at)) != STORE_OK)
		return rc;
	ps->dead += n;
	if (n > 0 && !ch->warned) {
		log_warnx("%s%d %s message(s) dead: %s, reload, then "
		    "`crmctl outbox retry --dead`", n >= REFUSE_MAX ? "at "
		    "least " : "", n, ch->ops->name, reason);
		ch->warned = 1;
	}
	if (n >= REFUSE_MAX) {
		ps->full[i] = 1;	/* more: the next pass at once, */
		ps->refuse_from[i] = last_at;	/* from there */
		return STORE_OK;
	}
	ps->refuse_from[i] = 0;	/* done: a later one starts afresh */
	ps->looked[i] = 1;
	return store_outbox_next_due(o->crmd->store, ch->ops->name,
	    &ps->next_due[i]);
}

/*
 * While channel i's destination is down, only a probe per retry interval
 * is attempted, so the rest of its due rows would never fail an attempt
 * of their own and never reach outbox.lifetime's verdict
 * (retry_or_give_up()): they would wait past it and go out days late when
 * the destination came back.  So each pass meanwhile counts the outage
 * as their failed attempt: due rows older than lifetime are dead.  A row
 * held by working or quiet hours is not due, so it is not touched; once
 * due, it is judged like any other.  outbox_queued_age reads only the
 * old rows.
 */
static int
expire_channel(struct outbox *o, int i, struct pass *ps)
{
	struct chan *ch = &o->ch[i];
	int64_t now = ps->t / 1000;
	int64_t lifetime = ob_conf_or(ob_delivery(o)->outbox.lifetime,
	    DEF_LIFETIME);
	char why[96], life[32];
	int rc, n = 0;

	if (!ob_configured(ch) || !ch->dest.down)
		return STORE_OK;
	snprintf(why, sizeof(why), "destination down; not delivered within "
	    "outbox.lifetime (%s)", duration_format(lifetime, life,
	    sizeof(life)));
	if ((rc = store_outbox_expire(o->crmd->store, ch->ops->name, now,
	    now - lifetime + 1, why, EXPIRE_MAX, &n)) != STORE_OK)
		return rc;
	ps->expired[i] = n;
	ps->dead += n;
	return STORE_OK;
}

/* The customer's word and the clock, checked at the moment of sending:
 * 1 if the row was refused or deferred instead of claimed. */
static int
honour_customer(struct outbox *o, struct chan *ch, struct outbox_row *r,
    int64_t now, struct pass *ps, int *rc)
{
	const struct conf_delivery *d = ob_delivery(o);
	int sms = ch->ops == &send_sms_ops;
	time_t until;
	char reason[64];

	if (!r->to_customer)
		return 0;
	if ((sms && r->opt_out_sms) ||
	    (ch->ops == &send_email_ops && r->opt_out_email)) {
		snprintf(reason, sizeof(reason), "customer opted out of %s",
		    ch->ops->name);
		log_info("outbox %lld (%s) dead: %s", (long long)r->id,
		    ch->ops->name, reason);
		*rc = store_outbox_refuse(o->crmd->store, r->id, reason);
		ps->dead++;
		return 1;
	}
	if (sms && quiet_hours_next(d->quiet_start, d->quiet_end, (time_t)now,
	    &until)) {
		log_debug("outbox %lld (sms): quiet hours, deferred to %lld",
		    (long long)r->id, (long long)until);
		*rc = store_outbox_defer(o->crmd->store, r->id, until);
		return 1;
	}
	return 0;
}

/* r is claimed: a job, taking the row's strings. */
static int
add_job(struct chan *ch, struct outbox_row *r, int64_t lease, int probe,
    struct pass *ps)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->ch = ch;
	j->id = r->id;
	j->attempts = r->attempts + 1;
	j->created_at = r->created_at;
	j->lease = lease;
	j->probe = probe;
	j->recipient = r->recipient;
	j->subject = r->subject;
	j->body = r->body;
	j->recipient_len = r->recipient_len;
	j->subject_len = r->subject_len;
	j->body_len = r->body_len;
	j->key_len = r->key_len;
	if (r->key != NULL)
		j->key = r->key;
	else if (asprintf(&j->key, "outbox:%lld", (long long)r->id) == -1) {
		free(j);
		return -1;
	} else
		j->key_len = strlen(j->key);
	j->name = r->name;
	j->name_len = r->name_len;
	j->html = r->html;
	j->html_len = r->html_len;
	r->recipient = r->subject = r->body = r->key = NULL;
	r->name = r->html = NULL;
	TAILQ_INSERT_TAIL(&ps->claimed, j, entry);
	return 0;
}

/* How many rows channel i may claim now. */
static int
claim_limit(struct chan *ch, int64_t t, int *probe)
{
	int room = ob_target(ch) - ch->in_flight - ch->nready;
	int tokens;

	*probe = 0;
	if (room <= 0 || (ch->next_due_known && (ch->next_due == 0 ||
	    ch->next_due > t / 1000)))
		return 0;
	switch (pace_dest_allow(&ch->dest, t)) {
	case PACE_NONE:
		return 0;
	case PACE_PROBE:
		*probe = 1;
		room = 1;
		break;
	case PACE_ANY:
		break;
	}
	tokens = pace_bucket_avail(&ch->bucket, t);
	return room < tokens ? room : tokens;
}

static int
claim_channel(struct outbox *o, int i, struct pass *ps)
{
	struct chan *ch = &o->ch[i];
	struct store *s = o->crmd->store;
	struct outbox_row *rows;
	size_t n;
	int64_t now = ps->t / 1000, lease = now + ob_lease_s(o);
	int limit, probe, rc;

	ps->lease = lease;
	if (!ob_configured(ch))
		return ch->next_due_known && (ch->next_due == 0 ||
		    ch->next_due > now) ? STORE_OK : refuse_channel(o, i, ps);
	if ((limit = claim_limit(ch, ps->t, &probe)) <= 0)
		return STORE_OK;
	if ((rc = store_outbox_due(s, ch->ops->name, now, limit, &rows, &n)) !=
	    STORE_OK)
		return rc;
	/* Per chunk, the rows the customer's word and the clock let
	 * through, then their claims in one statement. */
	for (size_t k0 = 0; k0 < n && rc == STORE_OK; k0 += BATCH_ROWS) {
		size_t k1 = k0 + BATCH_ROWS < n ? k0 + BATCH_ROWS : n;
		size_t idx[BATCH_ROWS], m = 0;
		int64_t want[BATCH_ROWS];

		for (size_t k = k0; k < k1 && rc == STORE_OK; k++)
			if (!honour_customer(o, ch, &rows[k], now, ps, &rc)) {
				idx[m] = k;
				want[m++] = rows[k].id;
			}
		if (rc == STORE_OK)
			rc = store_outbox_claim_many(s, want, m, lease);
		for (size_t j = 0; j < m && rc == STORE_OK; j++)
			if (add_job(ch, &rows[idx[j]], lease, probe, ps) == -1)
				rc = STORE_ERR;
	}
	store_outbox_rows_free(rows, n);
	if (rc != STORE_OK)
		return rc;
	ps->full[i] = n >= (size_t)limit;
	if (ps->full[i])
		return STORE_OK;
	ps->looked[i] = 1;
	return store_outbox_next_due(s, ch->ops->name, &ps->next_due[i]);
}

/* The transaction of a pass.  Memory changes only after its commit. */
static int
pass_write(struct outbox *o, struct pass *ps)
{
	struct store *s = o->crmd->store;
	int rc;

	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	rc = write_outcomes(o);
	if (rc == STORE_OK && o->reap_at != 0 && ps->t / 1000 >= o->reap_at)
		rc = reap(o, ps);
	for (int i = 0; i < NCHAN && rc == STORE_OK; i++)
		if ((rc = expire_channel(o, i, ps)) == STORE_OK)
			rc = claim_channel(o, i, ps);
	if (rc == STORE_OK)
		return store_commit(s);
	if (rc == STORE_ERR)
		log_warnx("outbox: %s", store_errmsg(s));
	store_rollback(s);
	return rc;
}

/* The pass committed: its claims join the ready queues. */
static void
pass_apply(struct outbox *o, struct pass *ps)
{
	struct job *j;

	outcomes_done(o);
	o->stats.dead += ps->dead;
	if (ps->reaped > 0) {
		log_info("%d message(s) whose lease expired are queued again "
		    "(was crmd stopped while sending them?)", ps->reaped);
		for (int i = 0; i < NCHAN; i++)
			o->ch[i].next_due_known = 0;
	}
	if (ps->reap_ran)
		o->reap_at = ps->reap_at;
	/* A result that could not be recorded leaves a row sending: look
	 * again when these leases expire. */
	if (!TAILQ_EMPTY(&ps->claimed) && (o->reap_at == 0 ||
	    o->reap_at > ps->lease))
		o->reap_at = ps->lease;
	for (int i = 0; i < NCHAN; i++) {
		if (ps->refuse_from[i] >= 0)
			o->ch[i].refuse_from = ps->refuse_from[i];
		/* A full batch: more at once, not at the next probe. */
		o->ch[i].expire_more = ps->expired[i] >= EXPIRE_MAX;
		if (ps->expired[i] > 0)
			log_warnx("outbox: %d %s message(s) dead: not "
			    "delivered within outbox.lifetime while the "
			    "destination is down", ps->expired[i],
			    o->ch[i].ops->name);
		if (ps->looked[i]) {
			o->ch[i].next_due = ps->next_due[i];
			o->ch[i].next_due_known = 1;
		} else if (ps->full[i])
			o->ch[i].next_due_known = 0;
	}
	while ((j = TAILQ_FIRST(&ps->claimed)) != NULL) {
		TAILQ_REMOVE(&ps->claimed, j, entry);
		pace_bucket_spend(&j->ch->bucket, 1);
		if (j->probe)
			pace_dest_probe(&j->ch->dest);
		TAILQ_INSERT_TAIL(&j->ch->ready, j, entry);
		j->ch->nready++;
	}
	for (int i = 0; i < NCHAN; i++)
		ob_dispatch(&o->ch[i]);
}

/* The earliest instant (ms) channel ch may have work, or INT64_MAX. */
static int64_t
chan_wake(struct chan *ch, int64_t t)
{
	int64_t due, at;

	if (!ch->next_due_known)
		due = t;
	else if (ch->next_due == 0)
		return INT64_MAX;	/* none queued: none to expire either */
	else
		due = ch->next_due * 1000;
	if (!ob_configured(ch) || ch->expire_more)
		return due;
	if (ch->in_flight + ch->nready >= ob_target(ch))
		return INT64_MAX;	/* a transfer's end wakes us */
	if (ch->dest.down) {
		if (ch->dest.probing)
			return INT64_MAX;
		if (ch->dest.until_ms > due)
			due = ch->dest.until_ms;
	}
	at = pace_bucket_ready_at(&ch->bucket, t);
	return at > due ? at : due;
}

/* Arms the timer for the earliest instant anything can happen. */
static void
rearm(struct outbox *o, int64_t t)
{
	int64_t wake = INT64_MAX, w;

	if (o->reap_at != 0)
		wake = o->reap_at * 1000;
	for (int i = 0; i < NCHAN; i++)
		if ((w = chan_wake(&o->ch[i], t)) < wake)
			wake = w;
	if (o->nout > 0 && t + FLUSH_MS < wake)
		wake = t + FLUSH_MS;
	if (wake == INT64_MAX)
		return;		/* idle */
	w = wake - t;
	ob_pass_in(o, w < 0 ? 0 : w > MAX_SLEEP_MS ? MAX_SLEEP_MS : w);
}

static void
pass_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *o = arg;
	struct pass ps;
	struct job *j;
	int rc;

	o->pass_at = 0;
	if (o->stopped)
		return;
	memset(&ps, 0, sizeof(ps));
	for (int i = 0; i < NCHAN; i++)
		ps.refuse_from[i] = -1;
	TAILQ_INIT(&ps.claimed);
	ps.t = ob_now_ms();
	if ((rc = pass_write(o, &ps)) == STORE_OK)
		pass_apply(o, &ps);
	else
		while ((j = TAILQ_FIRST(&ps.claimed)) != NULL) {
			TAILQ_REMOVE(&ps.claimed, j, entry);
			ob_job_free(j);	/* rolled back: still queued */
		}
	watch_own_commits(o->crmd->watch);
	if (rc == STORE_OK)
		rearm(o, ob_now_ms());
	else
		ob_pass_in(o, rc == STORE_BUSY ? BUSY_RETRY_MS : ERROR_RETRY_MS);
}

/*
 * A pass in ms, unless one is already due sooner.  Also for 0 a timer,
 * not event_active(): the loop polls the sockets first, so the control
 * socket and the transfers get their turn during a drain.
 */
void
ob_pass_in(struct outbox *o, int64_t ms)
{
	int64_t at = ob_now_ms() + ms;
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	if (o->stopped || (o->pass_at != 0 && o->pass_at <= at))
		return;
	o->pass_at = at;
	evtimer_add(o->ev_pass, &tv);
}

/* -- lifecycle -------------------------------------------------------- */

static void
chan_configure(struct chan *ch, int64_t t)
{
	const struct conf_pace *p = ch->ops->pace(ob_delivery(ch->o));

	ch->concurrency = (int)ob_conf_or(p->concurrency, DEF_CONCURRENCY);
	pace_bucket_set(&ch->bucket, p->rate, p->burst, t);
	pace_dest_ok(&ch->dest);	/* the new config may have fixed it */
	ch->warned = 0;
	ch->refuse_from = 0;
	ch->next_due_known = 0;
	ch->expire_more = 0;
}

/* -- the transport (outbox_int.h) ------------------------------------- */

static int
transport_new(struct chan *ch, struct event_base *base)
{
	char *err = NULL;

	for (; ch->nct < XFER_THREADS; ch->nct++)
		if ((ch->ct[ch->nct] = curlthread_new(base, &err)) == NULL)
			break;
	if (ch->nct == XFER_THREADS)
		return 0;
	log_warnx("outbox: %s", err != NULL ? err : "out of memory");
	free(err);
	return -1;
}

/* All threads told first, so that their waits end together. */
static void
transport_free(struct chan *ch)
{
	for (int k = 0; k < ch->nct; k++)
		curlthread_stop(ch->ct[k]);
	for (int k = 0; k < ch->nct; k++)
		curlthread_free(ch->ct[k]);
	ch->nct = 0;
}

/*
 * To the thread with the fewest transfers for its connections, so that
 * one waiting for a relay's reply gets no more while the other is free;
 * ties go round.  Not started after start_by_ms: it comes back unstarted.
 */
int
ob_xfer_add(struct chan *ch, CURL *easy, curlev_done_cb cb, void *arg,
    int64_t start_by_ms)
{
	int best = -1;
	long best_load = 0;

	for (int i = 1; i <= ch->nct_used; i++) {
		int k = (ch->next_ct + i) % ch->nct_used;
		long load = 1000L * curlthread_active(ch->ct[k]) /
		    ch->ct_share[k];

		if (best == -1 || load < best_load) {
			best = k;
			best_load = load;
		}
	}
	ch->next_ct = best;
	return curlthread_add_by(ch->ct[best], easy, cb, arg, start_by_ms);
}

static void
configure(struct outbox *o)
{
	int64_t t = ob_now_ms();

	for (int i = 0; i < NCHAN; i++) {
		struct chan *ch = &o->ch[i];

		chan_configure(ch, t);
		/* Handles set up for the old config are not reused, nor
		 * the connections they opened (curlthread_renew()). */
		ch->gen++;
		ob_easy_pool_free(ch);
		for (int k = 0; k < ch->nct; k++)
			curlthread_renew(ch->ct[k]);
		/* The connections shared out, the total kept: a thread
		 * whose share is none gets no transfers. */
		ch->nct_used = ch->concurrency < ch->nct ? ch->concurrency :
		    ch->nct;
		for (int k = 0; k < ch->nct_used; k++) {
			ch->ct_share[k] = ch->concurrency / ch->nct_used +
			    (k < ch->concurrency % ch->nct_used);
			curlthread_set_limits(ch->ct[k], ch->ct_share[k], 0);
		}
	}
}

struct outbox *
outbox_new(struct crmd *crmd)
{
	static const struct send_ops *const ops[NCHAN] = {
		&send_email_ops, &send_sms_ops, &send_webhook_ops
	};
	struct outbox *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->crmd = crmd;
	for (int i = 0; i < NCHAN; i++) {
		o->ch[i].o = o;
		o->ch[i].ops = ops[i];
		TAILQ_INIT(&o->ch[i].ready);
	}
	for (int i = 0; i < NCHAN; i++) {
		if (transport_new(&o->ch[i], crmd->base) == -1) {
			outbox_free(o);
			return NULL;
		}
	}
	if ((o->ev_pass = evtimer_new(crmd->base, pass_cb, o)) == NULL) {
		outbox_free(o);
		return NULL;
	}
	configure(o);
	o->reap_at = 1;		/* the first pass returns expired leases */
	ob_pass_in(o, 0);
	return o;
}

void
outbox_kick(struct outbox *o)
{
	if (o == NULL || o->stopped)
		return;
	for (int i = 0; i < NCHAN; i++)
		o->ch[i].next_due_known = 0;
	/*
	 * In this loop turn, not by a zero timer: with precise timers that
	 * is a timerfd the loop sleeps on, a wake-up for every commit the
	 * CRM makes.  Drains re-arm by timer (ob_pass_in) and still let the
	 * sockets in between passes.
	 */
	if (o->pass_at != 0 && o->pass_at <= ob_now_ms())
		return;		/* one is due already */
	o->pass_at = ob_now_ms();
	event_del(o->ev_pass);
	event_active(o->ev_pass, EV_TIMEOUT, 0);
}

void
outbox_reconfigure(struct outbox *o)
{
	if (o == NULL || o->stopped)
		return;
	configure(o);
	ob_pass_in(o, 0);
}

/* Writes what is left, waiting for the lock as long as the config's
 * startup busy timeout: the loop is ending anyway. */
static void
final_write(struct outbox *o)
{
	struct store *s = o->crmd->store;
	size_t n = o->nout;
	int rc;

	if (n == 0)
		return;
	store_set_busy_timeout(s, o->crmd->conf->busy_timeout_ms);
	if ((rc = store_begin(s)) == STORE_OK) {
		if ((rc = write_outcomes(o)) == STORE_OK)
			rc = store_commit(s);
		else
			store_rollback(s);
	}
	store_set_busy_timeout(s, CRMD_LOOP_BUSY_TIMEOUT_MS);
	if (rc != STORE_OK) {
		log_warnx("outbox: cannot record %zu result(s) at stop (%s); "
		    "their messages are sent again once their leases expire",
		    n, store_errmsg(s));
		for (size_t i = 0; i < n; i++)
			free(o->out[i].reason);
		o->nout = 0;
		return;
	}
	outcomes_done(o);
}

void
outbox_stop(struct outbox *o)
{
	int returned = 0;

	if (o == NULL || o->stopped)
		return;
	o->stopped = 1;
	if (o->ev_pass != NULL)
		evtimer_del(o->ev_pass);
	for (int i = 0; i < NCHAN; i++) {
		returned += o->ch[i].nready + o->ch[i].in_flight;
		ob_release_ready(&o->ch[i]);
		ob_easy_pool_free(&o->ch[i]);
	}
	/* Each transfer in flight ends in done_cb, aborted: released. */
	for (int i = 0; i < NCHAN; i++)
		transport_free(&o->ch[i]);
	final_write(o);
	if (returned > 0)
		log_info("outbox: %d message(s) returned to the queue", returned);
}

void
outbox_free(struct outbox *o)
{
	if (o == NULL)
		return;
	outbox_stop(o);
	if (o->ev_pass != NULL)
		event_free(o->ev_pass);
	for (int i = 0; i < NCHAN; i++)
		ob_easy_pool_free(&o->ch[i]);
	free(o->out);
	free(o);
}

void
outbox_stats(const struct outbox *o, struct outbox_stats *st)
{
	if (o == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = o->stats;
}
