/*
 * curlthread.h: a curlev on a loop of its own, in a thread of its own.
 *
 * Between the threads, transfers to start go one way and finished ones
 * come back: each way a queue under one lock, with an eventfd that wakes
 * the other side when its queue stops being empty.  Each side gathers
 * what one turn of its loop produced and posts it once, from an event
 * made active (it runs after the events already active in that turn), so
 * a busy drain costs a wake-up per batch, not per transfer.  An easy
 * handle is the caller's until curlthread_add(), then the thread's until
 * it is in the queue back: never both sides' at once.
 *
 * The thread hands libcurl no more transfers than it has connections and
 * keeps the rest waiting, starting the next as one ends: libcurl's clock
 * for CURLOPT_TIMEOUT starts when it is given a transfer, even one that
 * then waits for a connection.
 *
 * Re-entrancy (the caller's side): done callbacks run from deliver(),
 * never from curlthread_add(), so they may add transfers;
 * curlthread_free() from a done callback is deferred until deliver() has
 * finished ("depth" counts the dispatches in progress).
 */
#include "curlthread.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "thread.h"

/* A transfer, from curlthread_add() to its done callback. */
struct xfer {
	TAILQ_ENTRY(xfer)	 entry;
	struct curlthread	*ct;
	CURL			*easy;
	curlev_done_cb		 cb;
	void			*arg;
	CURLcode		 res;
	int64_t			 start_by;	/* wall ms; 0: any time */
};
TAILQ_HEAD(xferq, xfer);

struct curlthread {
	pthread_mutex_t		 mu;
	/* Under mu. */
	struct xferq		 adds;		/* to start */
	struct xferq		 dones;		/* finished, for the caller */
	long			 max_total, max_host;
	int			 limits_changed;
	int			 unqueue;	/* hand the waiting back */
	int			 renew;		/* then new connections */
	/* Set to stop; libcurl's progress callback reads it too. */
	atomic_int		 aborting;
	int			 add_fd;	/* eventfd: adds not empty */
	int			 done_fd;	/* eventfd: dones not empty */

	/* The caller's loop thread. */
	struct event		*done_ev;	/* added while active > 0 */
	struct xferq		 to_add;	/* this turn's, not yet posted */
	struct event		*post_adds;
	int			 active;
	int			 depth;		/* dispatches in progress */
	int			 closing;	/* curlthread_free() was called */

	/* The thread. */
	pthread_t		 thread;
	int			 started;
	struct event_base	*tbase;
	struct curlev		*cl;
	struct event		*add_ev;
	struct xferq		 waiting;	/* for one of the connections */
	long			 limit;		/* connections, 0: no limit */
	long			 host_limit;
	int			 renewing;	/* holds the waiting until the
						   old connections are gone */
	int			 stopping;
	struct xferq		 to_deliver;	/* this turn's, not yet posted */
	struct event		*post_dones;
};

static void	destroy(struct curlthread *);
static void	on_inner_done(CURL *, CURLcode, void *);

static void *
fail(char **err, const char *what)
{
	if (asprintf(err, "curlthread: %s", what) == -1)
		*err = NULL;
	return NULL;
}

/* Appends q to *to under the lock; wakes fd if *to was empty. */
static void
post(struct curlthread *ct, struct xferq *to, struct xferq *q, int fd)
{
	int was_empty;

	if (TAILQ_EMPTY(q))
		return;
	pthread_mutex_lock(&ct->mu);
	was_empty = TAILQ_EMPTY(to);
	TAILQ_CONCAT(to, q, entry);
	pthread_mutex_unlock(&ct->mu);
	/* Only EAGAIN (the counter is full) can fail: awake anyway. */
	if (was_empty)
		(void)eventfd_write(fd, 1);
}

/* q gets the transfers of from, ended with res. */
static void
abort_into(struct xferq *q, struct xferq *from, CURLcode res)
{
	struct xfer *x;

	while ((x = TAILQ_FIRST(from)) != NULL) {
		TAILQ_REMOVE(from, x, entry);
		x->res = res;
		TAILQ_INSERT_TAIL(q, x, entry);
	}
}

/* -- the thread ------------------------------------------------------- */

/* Queues x for the caller, posted at the end of this turn. */
static void
hand_back(struct curlthread *ct, struct xfer *x, CURLcode res)
{
	x->res = res;
	if (TAILQ_EMPTY(&ct->to_deliver))
		event_active(ct->post_dones, EV_TIMEOUT, 0);
	TAILQ_INSERT_TAIL(&ct->to_deliver, x, entry);
}

static void
on_post_dones(evutil_socket_t fd, short what, void *arg)
{
	struct curlthread *ct = arg;

	post(ct, &ct->dones, &ct->to_deliver, ct->done_fd);
}

/*
 * The connections so far are closed (cut, as at a stop: curlev.c) and the
 * next transfers open new ones, on a multi handle of their own: libcurl
 * would reuse an old one for a handle whose TLS settings changed, sending
 * in clear after a reload made STARTTLS required.  On failure nothing
 * starts on the old ones: what waits comes back as failed (the outbox
 * retries it later), and the next transfer added tries again.
 */
static void
renew_connections(struct curlthread *ct)
{
	struct curlev *fresh;
	char *err = NULL;

	if ((fresh = curlev_new(ct->tbase, &err)) == NULL) {
		log_warnx("curlthread: cannot renew the connections: %s",
		    err != NULL ? err : "out of memory");
		free(err);
		return;
	}
	curlev_set_limits(fresh, ct->limit, ct->host_limit);
	curlev_free(ct->cl);	/* from its own callback: once it returns */
	ct->cl = fresh;
	ct->renewing = 0;
}

/* Gives libcurl waiting transfers while it has connections free; those
 * past their start-by time go back unstarted. */
static void
start_waiting(struct curlthread *ct)
{
	struct xfer *x;
	int64_t now = 0;

	if (ct->renewing) {
		if (curlev_active(ct->cl) > 0)
			return;		/* the old connections' last ones */
		renew_connections(ct);
		while (ct->renewing && (x = TAILQ_FIRST(&ct->waiting)) != NULL) {
			TAILQ_REMOVE(&ct->waiting, x, entry);
			hand_back(ct, x, CURLE_FAILED_INIT);
		}
		if (ct->renewing)
			return;
	}
	while ((x = TAILQ_FIRST(&ct->waiting)) != NULL && (ct->limit == 0 ||
	    curlev_active(ct->cl) < ct->limit)) {
		TAILQ_REMOVE(&ct->waiting, x, entry);
		if (x->start_by != 0 && now == 0)
			now = wall_ms();
		if (x->start_by != 0 && now > x->start_by)
			hand_back(ct, x, CURLE_ABORTED_BY_CALLBACK);
		else if (curlev_add(ct->cl, x->easy, on_inner_done, x) == -1)
			hand_back(ct, x, CURLE_FAILED_INIT);
	}
}

/* The inner curlev's done callback: the next may start. */
static void
on_inner_done(CURL *easy, CURLcode res, void *arg)
{
	struct xfer *x = arg;
	struct curlthread *ct = x->ct;

	hand_back(ct, x, res);
	if (!ct->stopping)
		start_waiting(ct);
}

/* The caller has transfers to start, new limits, or says stop. */
static void
on_adds(evutil_socket_t fd, short what, void *arg)
{
	struct curlthread *ct = arg;
	struct xferq in;
	eventfd_t n;
	long total = 0, host = 0;
	int limits, stop, unqueue, renew;
	struct xfer *x;

	TAILQ_INIT(&in);
	(void)eventfd_read(fd, &n);
	pthread_mutex_lock(&ct->mu);
	TAILQ_CONCAT(&in, &ct->adds, entry);
	if ((limits = ct->limits_changed)) {
		total = ct->max_total;
		host = ct->max_host;
		ct->limits_changed = 0;
	}
	unqueue = ct->unqueue;
	renew = ct->renew;
	ct->unqueue = ct->renew = 0;
	pthread_mutex_unlock(&ct->mu);
	stop = atomic_load(&ct->aborting);
	if (limits) {
		curlev_set_limits(ct->cl, total, host);
		ct->limit = total;
		ct->host_limit = host;
	}
	if (renew)
		ct->renewing = 1;
	TAILQ_CONCAT(&ct->waiting, &in, entry);
	while (unqueue && (x = TAILQ_FIRST(&ct->waiting)) != NULL) {
		TAILQ_REMOVE(&ct->waiting, x, entry);
		hand_back(ct, x, CURLE_ABORTED_BY_CALLBACK);
	}
	if (!stop) {
		start_waiting(ct);
		return;
	}
	/* Cuts the connections and aborts what is in flight, through
	 * on_inner_done; then everything goes back at once. */
	ct->stopping = 1;
	abort_into(&ct->to_deliver, &ct->waiting, CURLE_ABORTED_BY_CALLBACK);
	curlev_free(ct->cl);
	ct->cl = NULL;
	on_post_dones(-1, 0, ct);
	event_base_loopbreak(ct->tbase);
}

/*
 * CURLOPT_XFERINFOFUNCTION: libcurl calls it also while it waits inside a
 * "done" step (once a second at least), so a stop ends that wait.
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct curlthread *ct = arg;

	return atomic_load_explicit(&ct->aborting, memory_order_relaxed);
}

static void *
thread_main(void *arg)
{
	struct curlthread *ct = arg;

	event_base_dispatch(ct->tbase);
	return NULL;
}

/* -- the caller's loop thread ----------------------------------------- */

static void
on_post_adds(evutil_socket_t fd, short what, void *arg)
{
	struct curlthread *ct = arg;

	post(ct, &ct->adds, &ct->to_add, ct->add_fd);
}

static void
deliver(struct curlthread *ct, struct xferq *q)
{
	struct xfer *x;

	ct->depth++;
	while ((x = TAILQ_FIRST(q)) != NULL) {
		CURL *easy = x->easy;
		curlev_done_cb cb = x->cb;
		void *arg = x->arg;
		CURLcode res = x->res;

		TAILQ_REMOVE(q, x, entry);
		ct->active--;
		free(x);
		cb(easy, res, arg);
	}
	ct->depth--;
}

static void
on_dones(evutil_socket_t fd, short what, void *arg)
{
	struct curlthread *ct = arg;
	struct xferq q;
	eventfd_t n;

	TAILQ_INIT(&q);
	(void)eventfd_read(fd, &n);
	pthread_mutex_lock(&ct->mu);
	TAILQ_CONCAT(&q, &ct->dones, entry);
	pthread_mutex_unlock(&ct->mu);
	deliver(ct, &q);
	if (ct->depth == 0 && ct->closing) {
		destroy(ct);
		return;
	}
	/* Idle, curlthread keeps no event on the caller's loop. */
	if (ct->active == 0)
		event_del(ct->done_ev);
}

struct curlthread *
curlthread_new(struct event_base *base, char **err)
{
	struct curlthread *ct;

	/* Held until destroy() has handed every easy handle back, on this
	 * thread: the inner curlev's own reference ends on the other. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(err, "curl_global_init failed");
	if ((ct = calloc(1, sizeof(*ct))) == NULL) {
		curl_global_cleanup();
		return fail(err, "out of memory");
	}
	pthread_mutex_init(&ct->mu, NULL);
	TAILQ_INIT(&ct->adds);
	TAILQ_INIT(&ct->dones);
	TAILQ_INIT(&ct->to_add);
	TAILQ_INIT(&ct->to_deliver);
	TAILQ_INIT(&ct->waiting);
	ct->add_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ct->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* Everything the thread uses is made here, before it starts. */
	if (ct->add_fd == -1 || ct->done_fd == -1 ||
	    (ct->tbase = event_base_new()) == NULL ||
	    (ct->done_ev = event_new(base, ct->done_fd, EV_READ | EV_PERSIST,
	    on_dones, ct)) == NULL ||
	    (ct->post_adds = event_new(base, -1, 0, on_post_adds, ct)) ==
	    NULL ||
	    (ct->add_ev = event_new(ct->tbase, ct->add_fd,
	    EV_READ | EV_PERSIST, on_adds, ct)) == NULL ||
	    event_add(ct->add_ev, NULL) == -1 ||
	    (ct->post_dones = event_new(ct->tbase, -1, 0, on_post_dones,
	    ct)) == NULL) {
		destroy(ct);
		return fail(err, "cannot set up the transport thread's loop");
	}
	if ((ct->cl = curlev_new(ct->tbase, err)) == NULL) {
		destroy(ct);
		return NULL;
	}
	if (thread_start(&ct->thread, thread_main, ct) != 0) {
		destroy(ct);
		return fail(err, "cannot start the transport thread");
	}
	ct->started = 1;
	return ct;
}

void
curlthread_stop(struct curlthread *ct)
{
	if (ct == NULL || !ct->started ||
	    atomic_exchange(&ct->aborting, 1) == 1)
		return;
	(void)eventfd_write(ct->add_fd, 1);
}

/* Stops and joins the thread, runs every done callback still owed, frees
 * everything.  ct->depth is 0. */
static void
destroy(struct curlthread *ct)
{
	struct xferq q;

	ct->closing = 1;
	ct->depth++;		/* a nested curlthread_free() is a no-op */
	curlthread_stop(ct);
	if (ct->started)
		pthread_join(ct->thread, NULL);
	/*
	 * The thread is gone, or never ran: what it did not hand back is
	 * collected here, so every transfer gets its callback whatever
	 * ended its loop.
	 */
	ct->stopping = 1;
	curlev_free(ct->cl);	/* into to_deliver, through on_inner_done */
	ct->cl = NULL;
	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &ct->dones, entry);
	TAILQ_CONCAT(&q, &ct->to_deliver, entry);
	abort_into(&q, &ct->waiting, CURLE_ABORTED_BY_CALLBACK);
	abort_into(&q, &ct->adds, CURLE_ABORTED_BY_CALLBACK);
	/* Added in this turn, never posted: they did not start. */
	abort_into(&q, &ct->to_add, CURLE_ABORTED_BY_CALLBACK);
	deliver(ct, &q);
	if (ct->add_ev != NULL)
		event_free(ct->add_ev);
	if (ct->post_dones != NULL)
		event_free(ct->post_dones);
	if (ct->post_adds != NULL)
		event_free(ct->post_adds);
	if (ct->done_ev != NULL)
		event_free(ct->done_ev);
	if (ct->tbase != NULL)
		event_base_free(ct->tbase);
	if (ct->add_fd != -1)
		close(ct->add_fd);
	if (ct->done_fd != -1)
		close(ct->done_fd);
	pthread_mutex_destroy(&ct->mu);
	free(ct);
	curl_global_cleanup();
}

void
curlthread_free(struct curlthread *ct)
{
	if (ct == NULL || ct->closing)
		return;
	ct->closing = 1;
	if (ct->depth == 0)
		destroy(ct);
	/* else on_dones() destroys it once its callbacks have returned */
}

int
curlthread_add(struct curlthread *ct, CURL *easy, curlev_done_cb cb,
    void *arg)
{
	return curlthread_add_by(ct, easy, cb, arg, 0);
}

int
curlthread_add_by(struct curlthread *ct, CURL *easy, curlev_done_cb cb,
    void *arg, int64_t start_by_ms)
{
	struct xfer *x;

	if (ct->closing)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warn("curlthread: calloc");
		return -1;
	}
	x->ct = ct;
	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	x->start_by = start_by_ms;
	if (curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress) !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, ct) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    (ct->active == 0 && event_add(ct->done_ev, NULL) == -1)) {
		log_warnx("curlthread: cannot set up a transfer");
		free(x);
		return -1;
	}
	ct->active++;
	if (TAILQ_EMPTY(&ct->to_add))
		event_active(ct->post_adds, EV_TIMEOUT, 0);
	TAILQ_INSERT_TAIL(&ct->to_add, x, entry);
	return 0;
}

int
curlthread_active(const struct curlthread *ct)
{
	return ct->active;
}

void
curlthread_unqueue(struct curlthread *ct)
{
	/* This turn's adds go first, so the thread has them when it acts. */
	post(ct, &ct->adds, &ct->to_add, ct->add_fd);
	pthread_mutex_lock(&ct->mu);
	ct->unqueue = 1;
	pthread_mutex_unlock(&ct->mu);
	(void)eventfd_write(ct->add_fd, 1);
}

void
curlthread_renew(struct curlthread *ct)
{
	/* This turn's adds are the old ones: they go back with the rest. */
	post(ct, &ct->adds, &ct->to_add, ct->add_fd);
	pthread_mutex_lock(&ct->mu);
	ct->unqueue = 1;
	ct->renew = 1;
	pthread_mutex_unlock(&ct->mu);
	(void)eventfd_write(ct->add_fd, 1);
}

void
curlthread_set_limits(struct curlthread *ct, long max_total_connections,
    long max_host_connections)
{
	pthread_mutex_lock(&ct->mu);
	ct->max_total = max_total_connections;
	ct->max_host = max_host_connections;
	ct->limits_changed = 1;
	pthread_mutex_unlock(&ct->mu);
	(void)eventfd_write(ct->add_fd, 1);
}
