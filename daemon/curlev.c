/*
 * curlev.h on libevent, in the shape of curl's docs/examples/hiperfifo.c:
 * libcurl tells us through CURLMOPT_SOCKETFUNCTION which sockets to watch
 * and through CURLMOPT_TIMERFUNCTION when to call it back; we keep one
 * event per socket (found again with curl_multi_assign) and one
 * non-repeating timer, and hand each event to curl_multi_socket_action().
 * Finished transfers come out of curl_multi_info_read() and are matched to
 * their callback through CURLOPT_PRIVATE.
 *
 * Re-entrancy: done callbacks run only from reap(), after libcurl has
 * returned, never from inside a libcurl callback, so they may add
 * transfers (curl_multi_add_handle is not allowed inside libcurl's own
 * callbacks).  curlev_free() from a done callback is deferred until
 * reap() has finished: "depth" counts the dispatches in progress.
 */
#include "curlev.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* A transfer in flight. */
struct xfer {
	TAILQ_ENTRY(xfer)	 entry;
	CURL			*easy;
	curlev_done_cb		 cb;
	void			*arg;
	char			*prev_private;	/* the caller's CURLOPT_PRIVATE */
};

/*
 * A socket libcurl asked us to watch.  When libcurl stops watching one of
 * its connections (a transfer ended, the connection went back to the
 * cache), the event stays as it was, marked idle: the next transfer on
 * that connection usually asks for the same, and then nothing changes in
 * epoll.  An idle socket that becomes ready (the server hung up) is
 * unwatched then; close_cb() frees it before the descriptor can be
 * reused.  Sockets libcurl did not open through open_cb() (a resolver's)
 * are never kept.
 */
struct sock {
	TAILQ_ENTRY(sock)	 entry;
	struct curlev		*cl;
	struct event		*ev;
	curl_socket_t		 fd;
	short			 kind;		/* as added, or 0 */
	int			 idle;
};

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	TAILQ_HEAD(, xfer)	 xfers;
	TAILQ_HEAD(, sock)	 socks;	/* freed after curl_multi_cleanup */
	curl_socket_t		*fds;	/* every socket open, idle ones too */
	size_t			 nfds;
	size_t			 fdcap;
	int			 active;
	int			 depth;		/* dispatches in progress */
	int			 closing;	/* curlev_free() was called */
};

static void	destroy(struct curlev *);

/* Sets *err; returns NULL so callers can "return fail(...)". */
static void *
fail(char **err, const char *what)
{
	if (asprintf(err, "curlev: %s", what) == -1)
		*err = NULL;
	return NULL;
}

/*
 * Detaches x from the multi handle and gives its easy handle back.
 *
 * An SMTP transfer that failed inside libcurl's "done" step (the reply to
 * the final dot timed out, or a stop aborted the wait) leaves its
 * connection in the cache as if nothing were pending (libcurl 7.88): the
 * late reply would be read as the next message's.  Such a connection is
 * shut down here, so libcurl finds it dead instead of reusing it.  (SMTP
 * only: an HTTP connection stays healthy, and may already carry another
 * stream.)
 */
static void
finish(struct curlev *cl, struct xfer *x, CURLcode res)
{
	CURL *easy = x->easy;
	curlev_done_cb cb = x->cb;
	void *arg = x->arg;
	curl_socket_t s = CURL_SOCKET_BAD;
	const char *scheme = NULL;

	if (res != CURLE_OK && curl_easy_getinfo(easy, CURLINFO_SCHEME,
	    &scheme) == CURLE_OK && scheme != NULL &&
	    strncasecmp(scheme, "smtp", 4) == 0 &&
	    curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
	    s != CURL_SOCKET_BAD)
		shutdown(s, SHUT_RDWR);
	curl_multi_remove_handle(cl->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x->prev_private);
	TAILQ_REMOVE(&cl->xfers, x, entry);
	cl->active--;
	free(x);
	cb(easy, res, arg);
}

/* Runs the done callbacks of finished transfers. */
static void
reap(struct curlev *cl)
{
	CURLMsg *msg;
	struct xfer *x;
	int left;

	cl->depth++;
	while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		if (x == NULL) {
			log_warnx("curlev: finished transfer without owner");
			continue;
		}
		/* msg is invalid once the handle is removed. */
		finish(cl, x, msg->data.result);
	}
	cl->depth--;
	if (cl->depth == 0 && cl->closing)
		destroy(cl);
}

/* Tells libcurl about an event, then reaps; cl may be gone after this. */
static void
drive(struct curlev *cl, curl_socket_t s, int action)
{
	CURLMcode rc;
	int running;

	rc = curl_multi_socket_action(cl->multi, s, action, &running);
	if (rc != CURLM_OK)
		log_warnx("curlev: curl_multi_socket_action: %s",
		    curl_multi_strerror(rc));
	reap(cl);
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct sock *sk = arg;
	int action = 0;

	if (sk->idle) {
		/* Nobody's: libcurl finds out at its next use. */
		event_del(sk->ev);
		sk->kind = 0;
		return;
	}
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	drive(sk->cl, fd, action);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	drive(arg, CURL_SOCKET_TIMEOUT, 0);
}

static void
sock_free(struct curlev *cl, struct sock *sk)
{
	TAILQ_REMOVE(&cl->socks, sk, entry);
	event_free(sk->ev);
	free(sk);
}

/* 1 if s came from open_cb() and is not closed yet. */
static int
is_ours(const struct curlev *cl, curl_socket_t s)
{
	for (size_t i = 0; i < cl->nfds; i++)
		if (cl->fds[i] == s)
			return 1;
	return 0;
}

static struct sock *
idle_sock(struct curlev *cl, curl_socket_t s)
{
	struct sock *sk;

	TAILQ_FOREACH(sk, &cl->socks, entry)
		if (sk->fd == s && sk->idle)
			return sk;
	return NULL;
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what, or stop watching it. */
static int
curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct curlev *cl = userp;
	struct sock *sk = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL && is_ours(cl, s))
			sk->idle = 1;
		else if (sk != NULL)
			sock_free(cl, sk);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sk == NULL && (sk = idle_sock(cl, s)) == NULL) {
		if ((sk = calloc(1, sizeof(*sk))) == NULL)
			return -1;	/* libcurl fails the transfers */
		sk->cl = cl;
		sk->fd = s;
		if ((sk->ev = event_new(cl->base, s, kind, on_socket, sk)) ==
		    NULL) {
			free(sk);
			return -1;
		}
		TAILQ_INSERT_TAIL(&cl->socks, sk, entry);
	}
	sk->idle = 0;
	curl_multi_assign(cl->multi, s, sk);
	if (sk->kind == kind)
		return 0;	/* watched as asked already */
	if (sk->kind != 0)
		event_del(sk->ev);
	event_assign(sk->ev, cl->base, s, kind, on_socket, sk);
	if (event_add(sk->ev, NULL) == -1) {
		sk->kind = 0;
		return -1;
	}
	sk->kind = kind;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one non-repeating timer, -1 cancels it. */
static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *cl = userp;
	struct timeval tv;

	if (timeout_ms < 0)
		return event_del(cl->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(cl->timer, &tv) == 0 ? 0 : -1;
}

/* CURLOPT_OPENSOCKETFUNCTION: every socket is known, so a stop can cut
 * them all, idle ones included (see destroy()). */
static curl_socket_t
open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct curlev *cl = arg;
	curl_socket_t s, *p;

	if (cl->nfds == cl->fdcap) {
		size_t cap = cl->fdcap ? 2 * cl->fdcap : 16;

		if ((p = reallocarray(cl->fds, cap, sizeof(*p))) == NULL)
			return CURL_SOCKET_BAD;
		cl->fds = p;
		cl->fdcap = cap;
	}
	s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (s != CURL_SOCKET_BAD)
		cl->fds[cl->nfds++] = s;
	return s;
}

static int
close_cb(void *arg, curl_socket_t s)
{
	struct curlev *cl = arg;
	struct sock *sk;

	/* Unwatched before the number can come back for another socket. */
	if ((sk = idle_sock(cl, s)) != NULL)
		sock_free(cl, sk);
	for (size_t i = 0; i < cl->nfds; i++)
		if (cl->fds[i] == s) {
			cl->fds[i] = cl->fds[--cl->nfds];
			break;
		}
	return close(s);
}

struct curlev *
curlev_new(struct event_base *base, char **err)
{
	struct curlev *cl;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(err, "curl_global_init failed");
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		curl_global_cleanup();
		return fail(err, "out of memory");
	}
	cl->base = base;
	TAILQ_INIT(&cl->xfers);
	TAILQ_INIT(&cl->socks);
	cl->timer = evtimer_new(base, on_timer, cl);
	cl->multi = curl_multi_init();
	if (cl->timer == NULL || cl->multi == NULL ||
	    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION,
	    curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl) != CURLM_OK ||
	    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION,
	    curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl) != CURLM_OK) {
		destroy(cl);
		return fail(err, "cannot set up the libcurl multi handle");
	}
	return cl;
}

/* Aborts what is in flight and frees everything; cl->depth is 0. */
static void
destroy(struct curlev *cl)
{
	struct sock *sk;

	cl->closing = 1;
	cl->depth++;		/* a nested curlev_free() is a no-op */
	/*
	 * Cut every connection first.  libcurl 7.88 ends an SMTP transfer
	 * removed mid-message by sending the final dot (smtp_done ignores
	 * "premature"), which would have a relay accept half a message, and
	 * says QUIT to idle ones and waits for the reply, up to two minutes
	 * from a relay that stopped answering.  On a cut socket both fail
	 * at once.
	 */
	for (size_t i = 0; i < cl->nfds; i++)
		shutdown(cl->fds[i], SHUT_RDWR);
	while (!TAILQ_EMPTY(&cl->xfers))
		finish(cl, TAILQ_FIRST(&cl->xfers), CURLE_ABORTED_BY_CALLBACK);
	if (cl->multi != NULL)
		curl_multi_cleanup(cl->multi);	/* closes cached connections */
	while ((sk = TAILQ_FIRST(&cl->socks)) != NULL)
		sock_free(cl, sk);
	if (cl->timer != NULL)
		event_free(cl->timer);
	free(cl->fds);
	free(cl);
	curl_global_cleanup();
}

void
curlev_free(struct curlev *cl)
{
	if (cl == NULL || cl->closing)
		return;
	cl->closing = 1;
	if (cl->depth == 0)
		destroy(cl);
	/* else reap() destroys it once its callbacks have returned */
}

int
curlev_add(struct curlev *cl, CURL *easy, curlev_done_cb cb, void *arg)
{
	struct xfer *x;
	CURLMcode rc;

	if (cl->closing)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warn("curlev: calloc");
		return -1;
	}
	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &x->prev_private);
	if (curl_easy_setopt(easy, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, cl) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, close_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, cl) != CURLE_OK) {
		log_warnx("curlev: cannot set up a transfer");
		curl_easy_setopt(easy, CURLOPT_PRIVATE, x->prev_private);
		free(x);
		return -1;
	}
	/* Arms the timer at 0 ms: the transfer starts on the next loop turn. */
	if ((rc = curl_multi_add_handle(cl->multi, easy)) != CURLM_OK) {
		log_warnx("curlev: curl_multi_add_handle: %s",
		    curl_multi_strerror(rc));
		curl_easy_setopt(easy, CURLOPT_PRIVATE, x->prev_private);
		free(x);
		return -1;
	}
	TAILQ_INSERT_TAIL(&cl->xfers, x, entry);
	cl->active++;
	return 0;
}

int
curlev_active(const struct curlev *cl)
{
	return cl->active;
}

void
curlev_set_limits(struct curlev *cl, long max_total_connections,
    long max_host_connections)
{
	long total = max_total_connections > 0 ? max_total_connections : 0;
	long host = max_host_connections > 0 ? max_host_connections : 0;

	curl_multi_setopt(cl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
	curl_multi_setopt(cl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, host);
	/* Without this the cache may close connections the limit allows. */
	if (total > 0)
		curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, total);
}

int
curlev_easy_defaults(CURL *easy, long connect_timeout_ms,
    long total_timeout_ms, long low_speed_time_s)
{
	int bad = 0;

	bad |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_VERBOSE, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR,
	    "http,https,smtp,smtps") != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR,
	    "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
	    connect_timeout_ms > 0 ? connect_timeout_ms : 0L) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
	    total_timeout_ms > 0 ? total_timeout_ms : 0L) != CURLE_OK;
	if (low_speed_time_s > 0) {
		bad |= curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
		    low_speed_time_s) != CURLE_OK;
	}
	/* HTTP/2 only where ALPN negotiates it; a libcurl without HTTP/2
	 * refuses the option and speaks HTTP/1.1 anyway. */
	if (curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK)
		bad |= curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
		    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	return bad ? -1 : 0;
}
