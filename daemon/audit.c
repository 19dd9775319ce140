/*
 * audit_log writer with a retry queue for SQLITE_BUSY.  The queue is
 * bounded: past AUDIT_MAX_PENDING rows the oldest cause is a database held
 * locked for a long time, and the row goes to the log instead, so memory
 * stays bounded and the fact is still recorded somewhere durable.
 */
#include "audit.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "store.h"

#define AUDIT_MAX_PENDING	1024
#define AUDIT_RETRY_MS		50

struct audit_row {
	STAILQ_ENTRY(audit_row)	 entry;
	char			*actor;
	char			*action;
	int64_t			 customer_id;
	char			*detail;
};

/* Refusals are audited per uid at most this often per minute, so a
 * stranger hammering the socket cannot fill the disk. */
#define REFUSALS_PER_MINUTE	10
#define REFUSAL_SLOTS		64

struct refusal_slot {
	uid_t		uid;
	int64_t		window;		/* minute the counts are for */
	int		count;
	int		suppressed;
};

struct audit {
	struct crmd		*crmd;
	struct refusal_slot	 refusals[REFUSAL_SLOTS];
	struct event		*ev_retry;
	STAILQ_HEAD(, audit_row) rows;
	int			 npending;
};

static void
row_free(struct audit_row *r)
{
	free(r->actor);
	free(r->action);
	free(r->detail);
	free(r);
}

/* Writes queued rows in order; stops at the first busy one. */
static int
flush_rows(struct audit *a)
{
	struct audit_row *r;

	while ((r = STAILQ_FIRST(&a->rows)) != NULL) {
		int rc = store_audit(a->crmd->store, r->actor, r->action,
		    r->customer_id, r->detail);

		if (rc == STORE_BUSY)
			return -1;
		if (rc == STORE_ERR)
			log_warnx("audit: cannot write %s by %s: %s", r->action,
			    r->actor, store_errmsg(a->crmd->store));
		STAILQ_REMOVE_HEAD(&a->rows, entry);
		a->npending--;
		row_free(r);
	}
	return 0;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit *a = arg;
	struct timeval tv = { 0, AUDIT_RETRY_MS * 1000 };

	if (flush_rows(a) == -1)
		evtimer_add(a->ev_retry, &tv);
}

struct audit *
audit_new(struct crmd *crmd)
{
	struct audit *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->crmd = crmd;
	STAILQ_INIT(&a->rows);
	if ((a->ev_retry = evtimer_new(crmd->base, retry_cb, a)) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void
audit_record(struct audit *a, const char *actor, const char *action,
    int64_t customer_id, const char *detail)
{
	struct audit_row *r;
	struct timeval tv = { 0, AUDIT_RETRY_MS * 1000 };

	if (a->npending >= AUDIT_MAX_PENDING ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		log_warnx("audit: database locked too long, not recorded: "
		    "%s by %s (%s)", action, actor, detail ? detail : "");
		return;
	}
	r->actor = strdup(actor);
	r->action = strdup(action);
	r->detail = detail ? strdup(detail) : NULL;
	r->customer_id = customer_id;
	if (r->actor == NULL || r->action == NULL ||
	    (detail != NULL && r->detail == NULL)) {
		row_free(r);
		log_warnx("audit: out of memory, not recorded: %s by %s",
		    action, actor);
		return;
	}
	STAILQ_INSERT_TAIL(&a->rows, r, entry);
	a->npending++;
	/* Rows already wait for the lock: the timer retries, in order, and
	 * the loop does not pay the busy timeout once per row. */
	if (evtimer_pending(a->ev_retry, NULL))
		return;
	if (flush_rows(a) == -1)
		evtimer_add(a->ev_retry, &tv);
}

int
audit_refusal_allowed(struct audit *a, uid_t uid, int64_t now,
    int *suppressed)
{
	struct refusal_slot *sl = &a->refusals[uid % REFUSAL_SLOTS];
	int64_t window = now / 60;

	*suppressed = 0;
	if (sl->uid != uid || sl->window != window) {
		if (sl->uid == uid)
			*suppressed = sl->suppressed;
		sl->uid = uid;
		sl->window = window;
		sl->count = sl->suppressed = 0;
	}
	if (sl->count >= REFUSALS_PER_MINUTE) {
		sl->suppressed++;
		return 0;
	}
	sl->count++;
	return 1;
}

int
audit_pending(const struct audit *a)
{
	return a->npending;
}

void
audit_free(struct audit *a)
{
	struct audit_row *r;

	if (a == NULL)
		return;
	if (a->npending > 0) {
		/* Shutting down: worth waiting a little for the lock. */
		store_set_busy_timeout(a->crmd->store,
		    a->crmd->conf->busy_timeout_ms);
		flush_rows(a);
		store_set_busy_timeout(a->crmd->store,
		    CRMD_LOOP_BUSY_TIMEOUT_MS);
	}
	while ((r = STAILQ_FIRST(&a->rows)) != NULL) {
		log_warnx("audit: not recorded at exit: %s by %s (%s)",
		    r->action, r->actor, r->detail ? r->detail : "");
		STAILQ_REMOVE_HEAD(&a->rows, entry);
		row_free(r);
	}
	event_free(a->ev_retry);
	free(a);
}
