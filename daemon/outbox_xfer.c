/*
 * The outbox sender's transfers (outbox_int.h): claimed rows wait in their
 * channel's ready queue and start as slots free up, each on an easy handle
 * the channel reuses (connections stay in the multi handle's cache); a
 * transfer's end becomes an outcome for the next pass to write, and tells
 * the channel's pace whether its destination answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlev.h"
#include "curlthread.h"
#include "log.h"
#include "outbox_int.h"

static double
jitter(void)
{
	return (double)arc4random() / 4294967296.0;
}

/*
 * The transfer timeout, cut so that a transfer always ends in its lease,
 * with room to start: a lease counts whole seconds from its claim, and the
 * last start (start_by) leaves LEASE_MARGIN_S before the lease ends.
 */
static long
xfer_timeout_ms(const struct chan *ch)
{
	int64_t t = ob_timeout_ms(ch);
	int64_t cap = (ob_lease_s(ch->o) - 3 * LEASE_MARGIN_S) * 1000;

	if (cap < 1000)
		cap = 1000;
	return (long)(t < cap ? t : cap);
}

/* The latest instant (ms) j's transfer may start: it then ends, by its
 * timeout, LEASE_MARGIN_S before its lease. */
static int64_t
start_by(const struct chan *ch, const struct job *j)
{
	return j->lease * 1000 - LEASE_MARGIN_S * 1000 - xfer_timeout_ms(ch);
}

/* -- outcomes --------------------------------------------------------- */

static void
add_outcome(struct outbox *o, enum outcome_kind kind, const struct job *j,
    int64_t at, char *reason)
{
	struct outcome *p;
	size_t cap = o->outcap ? o->outcap * 2 : 256;

	if (o->nout == o->outcap) {
		if ((p = reallocarray(o->out, cap, sizeof(*p))) == NULL) {
			/* The lease returns the row to the queue. */
			log_warnx("outbox %lld: out of memory; it is sent "
			    "again once its lease expires", (long long)j->id);
			free(reason);
			return;
		}
		o->out = p;
		o->outcap = cap;
	}
	p = o->out;
	p[o->nout].kind = kind;
	p[o->nout].id = j->id;
	p[o->nout].lease = j->lease;
	p[o->nout].at = at;
	p[o->nout].reason = reason;
	o->nout++;
}

void
ob_job_free(struct job *j)
{
	free(j->recipient);
	free(j->subject);
	free(j->body);
	free(j->key);
	free(j->name);
	free(j->html);
	free(j);
}

/* Not attempted after all: the row goes back to the queue as it was. */
static void
release_job(struct outbox *o, struct job *j)
{
	struct chan *ch = j->ch;

	if (j->probe)
		pace_dest_probe_lost(&ch->dest);
	add_outcome(o, OUT_RELEASE, j, 0, NULL);
	ch->next_due_known = 0;
	ob_job_free(j);
}

void
ob_release_ready(struct chan *ch)
{
	struct job *j;

	while ((j = TAILQ_FIRST(&ch->ready)) != NULL) {
		TAILQ_REMOVE(&ch->ready, j, entry);
		ch->nready--;
		release_job(ch->o, j);
	}
}

/* A retry verdict: the next attempt after backoff (and Retry-After), or
 * dead once the message has outlived outbox.lifetime. */
static void
retry_or_give_up(struct outbox *o, struct job *j, int64_t now,
    int64_t retry_at, char *reason)
{
	const struct conf_outbox *c = &ob_delivery(o)->outbox;
	int64_t next;
	char *why;

	if (now - j->created_at >= ob_conf_or(c->lifetime, DEF_LIFETIME)) {
		if (asprintf(&why, "gave up after %lld attempt%s: %s",
		    (long long)j->attempts, j->attempts == 1 ? "" : "s",
		    reason) == -1)
			why = NULL;
		log_info("outbox %lld (%s) dead: %s", (long long)j->id,
		    j->ch->ops->name, why ? why : reason ? reason : "?");
		add_outcome(o, OUT_DEAD, j, 0, why ? why : reason);
		if (why != NULL)
			free(reason);
		return;
	}
	next = now + pace_backoff(j->attempts, ob_conf_or(c->backoff_min,
	    DEF_BACKOFF_MIN), ob_conf_or(c->backoff_max, DEF_BACKOFF_MAX),
	    jitter());
	if (retry_at > next)
		next = retry_at;
	log_debug("outbox %lld (%s): attempt %lld failed, next at %lld: %s",
	    (long long)j->id, j->ch->ops->name, (long long)j->attempts,
	    (long long)next, reason ? reason : "?");
	add_outcome(o, OUT_RETRY, j, next, reason);
	if (!j->ch->next_due_known || j->ch->next_due == 0 ||
	    next < j->ch->next_due)
		j->ch->next_due = next;
}

/* What the destination's answer (or silence) says about it. */
static void
judge_destination(struct chan *ch, struct job *j,
    const struct send_outcome *out, int reached, int64_t t)
{
	const struct conf_outbox *c = &ob_delivery(ch->o)->outbox;

	if (!reached) {
		if (j->probe)
			pace_dest_probe_lost(&ch->dest);
		return;
	}
	if (!out->down) {
		if (pace_dest_ok(&ch->dest))
			log_info("%s: the destination answers again; sending "
			    "resumes", ch->ops->name);
		return;
	}
	if (pace_dest_failed(&ch->dest, j->probe, t, out->retry_at * 1000,
	    ob_conf_or(c->backoff_min, DEF_BACKOFF_MIN),
	    ob_conf_or(c->backoff_max, DEF_BACKOFF_MAX), jitter())) {
		log_warnx("%s: the destination is down (%s); its messages "
		    "wait, with one probe per retry interval", ch->ops->name,
		    out->reason ? out->reason : "no answer");
		ob_release_ready(ch);
		/* And those queued in the threads come back unsent. */
		for (int k = 0; k < ch->nct; k++)
			curlthread_unqueue(ch->ct[k]);
	}
}

/* The verdict on j; reached says whether it was ever sent. */
static void
finish_job(struct outbox *o, struct job *j, struct send_outcome *out,
    int reached)
{
	int64_t t = ob_now_ms(), now = t / 1000;
	char *reason = out->reason;

	judge_destination(j->ch, j, out, reached, t);
	if (reason == NULL && out->verdict != SEND_SENT)
		reason = strdup("unknown error");
	switch (out->verdict) {
	case SEND_SENT:
		log_debug("outbox %lld (%s) sent", (long long)j->id,
		    j->ch->ops->name);
		add_outcome(o, OUT_SENT, j, now, NULL);
		free(reason);
		break;
	case SEND_DEAD:
		log_info("outbox %lld (%s) dead: %s", (long long)j->id,
		    j->ch->ops->name, reason ? reason : "?");
		add_outcome(o, OUT_DEAD, j, 0, reason);
		break;
	case SEND_RETRY:
		retry_or_give_up(o, j, now, out->retry_at, reason);
		break;
	}
	ob_job_free(j);
}

/* -- transfers -------------------------------------------------------- */

/*
 * A handle from the pool, set up already with crmd's standard options for
 * this config (*pooled), or a new one.  Not reset: the pool holds only
 * this config generation's handles, and the adapters set every option a
 * message needs each time, so what is left from the last message is all
 * overwritten; the reset and the standard options again were 2 % of an
 * SMS.  Connections live in the multi handle either way.
 */
static CURL *
easy_get(struct chan *ch, int *pooled)
{
	*pooled = ch->nidle > 0;
	if (*pooled)
		return ch->idle[--ch->nidle];
	return curl_easy_init();
}

/* Back to the pool after a transfer whose job had generation gen. */
static void
easy_put(struct chan *ch, CURL *easy, unsigned gen)
{
	CURL **p;

	if (ch->o->stopped || gen != ch->gen || ch->nidle >= ob_slots(ch))
		goto drop;
	if (ch->nidle == ch->idlecap) {
		if ((p = reallocarray(ch->idle, (size_t)ob_slots(ch),
		    sizeof(*p))) == NULL)
			goto drop;
		ch->idle = p;
		ch->idlecap = ob_slots(ch);
	}
	ch->idle[ch->nidle++] = easy;
	return;
drop:
	curl_easy_cleanup(easy);
}

void
ob_easy_pool_free(struct chan *ch)
{
	while (ch->nidle > 0)
		curl_easy_cleanup(ch->idle[--ch->nidle]);
	free(ch->idle);
	ch->idle = NULL;
	ch->idlecap = 0;
}

static void
done_cb(CURL *easy, CURLcode res, void *arg)
{
	struct job *j = arg;
	struct chan *ch = j->ch;
	struct outbox *o = ch->o;
	struct send_outcome out;

	ch->in_flight--;
	o->stats.in_flight--;
	if (res == CURLE_ABORTED_BY_CALLBACK) {
		/* A stop ended it, or it came back unstarted (its destination
		 * went down, or it waited for a connection until too little
		 * of its lease was left; no callback of crmd's aborts a
		 * transfer): back to the queue as it was. */
		ch->ops->release(j->state);
		easy_put(ch, easy, j->gen);	/* dropped when stopped */
		release_job(o, j);
	} else if (res == CURLE_FAILED_INIT) {
		/* A transport thread's libcurl refused it: local, as in
		 * start_job, not the destination's failure. */
		send_fail(&out, SEND_RETRY, "libcurl refused the transfer");
		ch->ops->release(j->state);
		curl_easy_cleanup(easy);
		finish_job(o, j, &out, 0);
	} else {
		ch->ops->finish(j->state, easy, res, ob_delivery(o),
		    ob_now_ms() / 1000, &out);
		ch->ops->release(j->state);
		easy_put(ch, easy, j->gen);
		finish_job(o, j, &out, 1);
	}
	if (o->stopped)
		return;
	ob_dispatch(ch);
	ob_pass_in(o, o->nout >= FLUSH_MAX || ch->nready <= ob_target(ch) / 2 ?
	    0 : FLUSH_MS);
}

static void
start_job(struct chan *ch, struct job *j)
{
	struct outbox *o = ch->o;
	const struct conf_pace *p = ch->ops->pace(ob_delivery(o));
	struct send_msg m = { j->id, j->recipient, j->subject, j->body, j->key,
	    j->recipient_len, j->subject_len, j->body_len, j->key_len,
	    time(NULL), j->name, j->html, j->name_len, j->html_len };
	struct send_outcome out;
	CURL *easy;
	int pooled;

	/* A local failure retries with backoff: never a loop of claims. */
	if ((easy = easy_get(ch, &pooled)) == NULL) {
		send_fail(&out, SEND_RETRY, "cannot create a libcurl handle");
		finish_job(o, j, &out, 0);
		return;
	}
	j->gen = ch->gen;
	if (!pooled && curlev_easy_defaults(easy,
	    (long)ob_conf_or(p->connect_timeout_ms, DEF_CONNECT_MS),
	    xfer_timeout_ms(ch), 0) == -1) {
		curl_easy_cleanup(easy);
		send_fail(&out, SEND_RETRY, "libcurl refused crmd's standard "
		    "options; is it built with SMTP, HTTP and TLS?");
		finish_job(o, j, &out, 0);
		return;
	}
	if (ch->ops->start(easy, ob_delivery(o), &m, &j->state, &out) == -1) {
		easy_put(ch, easy, j->gen);
		finish_job(o, j, &out, 0);
		return;
	}
	if (ob_xfer_add(ch, easy, done_cb, j, start_by(ch, j)) == -1) {
		ch->ops->release(j->state);
		curl_easy_cleanup(easy);
		send_fail(&out, SEND_RETRY, "libcurl refused the transfer");
		finish_job(o, j, &out, 0);
		return;
	}
	ch->in_flight++;
	o->stats.in_flight++;
}

/* Starts ready jobs while slots are free. */
void
ob_dispatch(struct chan *ch)
{
	struct job *j;
	int64_t t = ob_now_ms();

	while (ch->in_flight < ob_slots(ch) &&
	    (j = TAILQ_FIRST(&ch->ready)) != NULL) {
		TAILQ_REMOVE(&ch->ready, j, entry);
		ch->nready--;
		/* Down since it was claimed, unconfigured by a reload, or too
		 * little lease left for a whole transfer: not now. */
		if ((!j->probe && ch->dest.down) || !ob_configured(ch) ||
		    t > start_by(ch, j))
			release_job(ch->o, j);
		else
			start_job(ch, j);
	}
	if (ch->o->nout > 0)
		ob_pass_in(ch->o, FLUSH_MS);
}
