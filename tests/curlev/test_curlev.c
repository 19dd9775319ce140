/*
 * curlev (and curlthread, the same built with TEST_CURLTHREAD) against a
 * real HTTP/1.1 server (httpserver.py, stdlib Python) on loopback: every
 * transfer runs on a real libevent loop through real sockets.  No
 * assertion depends on how long anything took; the loop has a 30 s
 * watchdog only so that a bug fails instead of hanging.
 *
 * Usage: test_curlev PYTHON SERVER_SCRIPT [TEST_NAME_PATTERN]
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "curlev.h"

/* Built a second time as test_curlthread: the same promises must hold
 * with libcurl on a thread of its own (curlthread.h). */
#ifdef TEST_CURLTHREAD
#include "curlthread.h"
#define curlev			curlthread
#define curlev_new		curlthread_new
#define curlev_free		curlthread_free
#define curlev_add		curlthread_add
#define curlev_active		curlthread_active
#define curlev_set_limits	curlthread_set_limits
#endif

#define NPOSTS		200
#define MAXCONN		8
#define NCHAIN		20

static const char	*python, *script;
static pid_t		 server_pid = -1;
static int		 server_stdin = -1;	/* closing it stops the server */
static int		 server_port;

/* One request and what came back. */
struct req {
	struct fx	*fx;
	int		 id;
	int		 calls;		/* done callbacks seen */
	CURLcode	 res;
	long		 status;
	char		 body[128];
	size_t		 len;
	int		 ticks_at_done;
};

struct fx {
	struct event_base	*base;
	struct curlev		*cl;
	struct event		*watchdog;
	int			 timed_out;
	int			 done;		/* transfers finished */
	int			 want;		/* break the loop at this many */
	int			 ticks;
	int			 refused;	/* curlev_add() -1 during free */
	struct req		 reqs[NPOSTS];
};

/* --- the server ------------------------------------------------------ */

static int
start_server(void **state)
{
	int in[2], out[2];
	char line[32] = "";
	ssize_t n;
	size_t got = 0;

	if (pipe(in) == -1 || pipe(out) == -1)
		return -1;
	if ((server_pid = fork()) == -1)
		return -1;
	if (server_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(python, python, script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	server_stdin = in[1];
	while (got < sizeof(line) - 1 && strchr(line, '\n') == NULL) {
		n = read(out[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
	}
	close(out[0]);
	server_port = atoi(line);
	if (server_port <= 0) {
		fprintf(stderr, "server did not print its port\n");
		return -1;
	}
	return 0;
}

static int
stop_server(void **state)
{
	if (server_stdin != -1)
		close(server_stdin);
	if (server_pid > 0)
		waitpid(server_pid, NULL, 0);
	return 0;
}

/* --- fixture and helpers --------------------------------------------- */

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;

	fx->timed_out = 1;
	event_base_loopbreak(fx->base);
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *err = NULL;

	if (fx == NULL || (fx->base = event_base_new()) == NULL)
		return -1;
	if ((fx->cl = curlev_new(fx->base, &err)) == NULL) {
		fprintf(stderr, "%s\n", err ? err : "curlev_new");
		free(err);
		return -1;
	}
	fx->watchdog = evtimer_new(fx->base, on_watchdog, fx);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	curlev_free(fx->cl);
	event_free(fx->watchdog);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

/* Runs the loop until a done callback breaks it; fails on the watchdog. */
static void
run(struct fx *fx, int want)
{
	struct timeval tv = { 30, 0 };

	fx->want = want;
	evtimer_add(fx->watchdog, &tv);
	event_base_dispatch(fx->base);
	event_del(fx->watchdog);
	assert_false(fx->timed_out);
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	if (r->len + n >= sizeof(r->body))
		return 0;	/* too long: fail the transfer */
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* An easy handle for http://127.0.0.1:PORT/path, POSTing post if given. */
static CURL *
make_easy(const char *url, const char *post, long total_ms, struct req *r)
{
	CURL *easy = curl_easy_init();

	assert_non_null(easy);
	assert_int_equal(curlev_easy_defaults(easy, 2000, total_ms, 10), 0);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	if (post != NULL)
		curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, post);
	return easy;
}

static CURL *
make_local(const char *path, const char *post, struct req *r)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", server_port,
	    path);
	return make_easy(url, post, 20000, r);
}

/* Records the result, frees the handle, breaks the loop when all are in. */
static void
on_done(CURL *easy, CURLcode res, void *arg)
{
	struct req *r = arg;

	r->calls++;
	r->res = res;
	r->ticks_at_done = r->fx->ticks;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(easy);
	if (++r->fx->done == r->fx->want)
		event_base_loopbreak(r->fx->base);
}

static void
add_cb(struct fx *fx, int i, const char *path, const char *post,
    curlev_done_cb cb)
{
	struct req *r = &fx->reqs[i];

	r->fx = fx;
	r->id = i;
	assert_int_equal(curlev_add(fx->cl, make_local(path, post, r), cb, r),
	    0);
}

static void
add(struct fx *fx, int i, const char *path, const char *post)
{
	add_cb(fx, i, path, post, on_done);
}

/* The server's counters, fetched on a loop and connection of their own. */
static void
server_stats(int *conns, int *reqs)
{
	struct fx *fx;
	void *state;

	assert_int_equal(setup(&state), 0);
	fx = state;
	add(fx, 0, "/stats", NULL);
	run(fx, 1);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_int_equal(sscanf(fx->reqs[0].body,
	    "connections=%d requests=%d", conns, reqs), 2);
	teardown(&state);
}

/* --- the tests ------------------------------------------------------- */

/* 200 POSTs, 8 connections at most: all answered, once each, reused. */
static void
test_posts_reuse_connections(void **state)
{
	struct fx *fx = *state;
	int c0, r0, c1, r1, i;
	char body[32], want[40];

	server_stats(&c0, &r0);
	curlev_set_limits(fx->cl, MAXCONN, MAXCONN);
	for (i = 0; i < NPOSTS; i++) {
		snprintf(body, sizeof(body), "req-%d", i);
		add(fx, i, "/echo", body);
	}
	assert_int_equal(curlev_active(fx->cl), NPOSTS);
	run(fx, NPOSTS);
	assert_int_equal(curlev_active(fx->cl), 0);
	for (i = 0; i < NPOSTS; i++) {
		snprintf(want, sizeof(want), "echo:req-%d", i);
		assert_int_equal(fx->reqs[i].calls, 1);
		assert_int_equal(fx->reqs[i].res, CURLE_OK);
		assert_int_equal(fx->reqs[i].status, 200);
		assert_string_equal(fx->reqs[i].body, want);
	}
	server_stats(&c1, &r1);
	print_message("%d requests on %d connections\n", r1 - r0, c1 - c0);
	assert_int_equal(r1 - r0, NPOSTS);
	assert_in_range(c1 - c0, 1, MAXCONN + 2);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;

	fx->ticks++;
}

/* Another event on the same loop keeps firing while a reply is slow. */
static void
test_slow_request_does_not_block_loop(void **state)
{
	struct fx *fx = *state;
	struct timeval tv = { 0, 10 * 1000 };
	struct event *tick = event_new(fx->base, -1, EV_PERSIST, on_tick, fx);

	event_add(tick, &tv);
	add(fx, 0, "/slow?ms=300", NULL);
	run(fx, 1);
	event_free(tick);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_string_equal(fx->reqs[0].body, "slow");
	print_message("%d ticks during the request\n", fx->reqs[0].ticks_at_done);
	assert_true(fx->reqs[0].ticks_at_done > 0);
}

/* A connection closed without an answer is an error, reported once. */
static void
test_dropped_connection_is_an_error(void **state)
{
	struct fx *fx = *state;

	add(fx, 0, "/drop", NULL);
	run(fx, 1);
	print_message("%s\n", curl_easy_strerror(fx->reqs[0].res));
	assert_int_equal(fx->reqs[0].calls, 1);
	assert_int_not_equal(fx->reqs[0].res, CURLE_OK);
	assert_int_not_equal(fx->reqs[0].res, CURLE_OPERATION_TIMEDOUT);
}

/* Starts the next request from the done callback: /close then /echo by
 * turns, so each new connection may get the number of the one just
 * closed, which must not look already watched. */
static void
on_done_chain_close(CURL *easy, CURLcode res, void *arg)
{
	struct req *r = arg;
	struct fx *fx = r->fx;
	int next = r->id + 1;

	on_done(easy, res, arg);
	if (next < NCHAIN)
		add_cb(fx, next, next % 2 ? "/echo" : "/close", "x",
		    on_done_chain_close);
}

static void
test_closed_connections_numbers_come_back(void **state)
{
	struct fx *fx = *state;
	int i;
#ifndef TEST_CURLTHREAD
	int before = event_base_get_num_events(fx->base,
	    EVENT_BASE_COUNT_ADDED);
#endif

	add_cb(fx, 0, "/close", "x", on_done_chain_close);
	run(fx, NCHAIN);
	for (i = 0; i < NCHAIN; i++) {
		assert_int_equal(fx->reqs[i].calls, 1);
		assert_int_equal(fx->reqs[i].res, CURLE_OK);
		assert_string_equal(fx->reqs[i].body, i % 2 ? "echo:x" :
		    "close");
	}
#ifndef TEST_CURLTHREAD
	/* The last connection closed too: nothing of it is watched. */
	add(fx, NCHAIN, "/close", "x");
	run(fx, NCHAIN + 1);
	assert_int_equal(fx->reqs[NCHAIN].res, CURLE_OK);
	assert_int_equal(event_base_get_num_events(fx->base,
	    EVENT_BASE_COUNT_ADDED), before);
#endif
}

/* Runs the loop for about ms. */
static void
run_for(struct fx *fx, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

/*
 * The server hangs up a connection libcurl keeps idle: nothing of it stays
 * watched on the loop (a readable dead socket watched for nobody would
 * wake the loop at every turn), and the next request gets a new one.
 */
static void
test_idle_connection_hung_up_is_unwatched(void **state)
{
	struct fx *fx = *state;
#ifndef TEST_CURLTHREAD
	int before = event_base_get_num_events(fx->base,
	    EVENT_BASE_COUNT_ADDED), now = -1;
#endif

	add(fx, 0, "/hangup?ms=50", NULL);
	run(fx, 1);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_string_equal(fx->reqs[0].body, "hangup");
#ifndef TEST_CURLTHREAD
	for (int i = 0; i < 100; i++) {
		run_for(fx, 50);
		now = event_base_get_num_events(fx->base,
		    EVENT_BASE_COUNT_ADDED);
		if (now == before)
			break;
	}
	assert_int_equal(now, before);
#else
	run_for(fx, 200);
#endif
	add(fx, 1, "/echo", "again");
	run(fx, 2);
	assert_int_equal(fx->reqs[1].res, CURLE_OK);
	assert_string_equal(fx->reqs[1].body, "echo:again");
}

/* A listener that never accepts: the kernel completes the handshake, so
 * only the total timeout can end the transfer. */
static void
test_silent_server_times_out(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char url[64];
	int s;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sin.sin_port));

	fx->reqs[0].fx = fx;
	assert_int_equal(curlev_add(fx->cl, make_easy(url, "x", 300,
	    &fx->reqs[0]), on_done, &fx->reqs[0]), 0);
	run(fx, 1);
	close(s);
	assert_int_equal(fx->reqs[0].calls, 1);
	assert_int_equal(fx->reqs[0].res, CURLE_OPERATION_TIMEDOUT);
}

/* Each done callback starts the next transfer: one reused connection. */
static void
on_chain_done(CURL *easy, CURLcode res, void *arg)
{
	struct req *r = arg;
	struct fx *fx = r->fx;
	char body[32];

	on_done(easy, res, arg);
	if (r->id + 1 < NCHAIN) {
		snprintf(body, sizeof(body), "req-%d", r->id + 1);
		fx->reqs[r->id + 1].fx = fx;
		fx->reqs[r->id + 1].id = r->id + 1;
		assert_int_equal(curlev_add(fx->cl, make_local("/echo", body,
		    &fx->reqs[r->id + 1]), on_chain_done,
		    &fx->reqs[r->id + 1]), 0);
	}
}

static void
test_add_from_done_callback(void **state)
{
	struct fx *fx = *state;
	int c0, r0, c1, r1, i;
	char want[40];

	server_stats(&c0, &r0);
	fx->reqs[0].fx = fx;
	assert_int_equal(curlev_add(fx->cl, make_local("/echo", "req-0",
	    &fx->reqs[0]), on_chain_done, &fx->reqs[0]), 0);
	run(fx, NCHAIN);
	for (i = 0; i < NCHAIN; i++) {
		snprintf(want, sizeof(want), "echo:req-%d", i);
		assert_int_equal(fx->reqs[i].calls, 1);
		assert_int_equal(fx->reqs[i].res, CURLE_OK);
		assert_string_equal(fx->reqs[i].body, want);
	}
	assert_int_equal(curlev_active(fx->cl), 0);
	server_stats(&c1, &r1);
	assert_int_equal(r1 - r0, NCHAIN);
	assert_int_equal(c1 - c0, 1);
}

/* During curlev_free() the callbacks run, and adding is refused. */
static void
on_aborted(CURL *easy, CURLcode res, void *arg)
{
	struct req *r = arg;
	CURL *another = make_local("/echo", "late", r);

	if (curlev_add(r->fx->cl, another, on_done, r) == -1) {
		r->fx->refused++;
		curl_easy_cleanup(another);
	}
	r->calls++;
	r->res = res;
	curl_easy_cleanup(easy);
}

static void
free_now(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;

	curlev_free(fx->cl);
	fx->cl = NULL;
	event_base_loopbreak(fx->base);
}

static void
test_free_aborts_transfers_in_flight(void **state)
{
	struct fx *fx = *state;
	struct timeval tv = { 0, 200 * 1000 };
	int i;

	for (i = 0; i < 5; i++) {
		fx->reqs[i].fx = fx;
		assert_int_equal(curlev_add(fx->cl, make_local("/slow?ms=5000",
		    NULL, &fx->reqs[i]), on_aborted, &fx->reqs[i]), 0);
	}
	event_base_once(fx->base, -1, EV_TIMEOUT, free_now, fx, &tv);
	run(fx, -1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(fx->reqs[i].calls, 1);
		assert_int_equal(fx->reqs[i].res, CURLE_ABORTED_BY_CALLBACK);
	}
	assert_int_equal(fx->refused, 5);
}

/* curlev_free() from a done callback waits until the callback returns. */
static void
on_done_then_free(CURL *easy, CURLcode res, void *arg)
{
	struct req *r = arg;
	struct fx *fx = r->fx;

	on_done(easy, res, arg);
	curlev_free(fx->cl);
	assert_int_equal(curlev_active(fx->cl), 1);	/* still valid */
	fx->cl = NULL;
}

static void
test_free_from_done_callback(void **state)
{
	struct fx *fx = *state;

	fx->reqs[0].fx = fx;
	assert_int_equal(curlev_add(fx->cl, make_local("/echo", "a",
	    &fx->reqs[0]), on_done_then_free, &fx->reqs[0]), 0);
	add(fx, 1, "/slow?ms=5000", NULL);
	run(fx, 2);
	assert_int_equal(fx->reqs[0].calls, 1);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_int_equal(fx->reqs[1].calls, 1);
	assert_int_equal(fx->reqs[1].res, CURLE_ABORTED_BY_CALLBACK);
}

/* curlev_easy_defaults() limits the protocols to http(s) and smtp(s). */
static void
test_other_protocols_refused(void **state)
{
	struct fx *fx = *state;

	fx->reqs[0].fx = fx;
	assert_int_equal(curlev_add(fx->cl, make_easy("file:///etc/passwd",
	    NULL, 1000, &fx->reqs[0]), on_done, &fx->reqs[0]), 0);
	run(fx, 1);
	assert_int_equal(fx->reqs[0].res, CURLE_UNSUPPORTED_PROTOCOL);
	assert_int_equal(fx->reqs[0].len, 0);
}

#ifdef TEST_CURLTHREAD
/*
 * Transfers beyond the connections wait in curlthread, not in libcurl,
 * whose timeout clock runs from the moment it is given a transfer: three
 * 300 ms requests over one connection, each allowed 600 ms, all succeed
 * (in libcurl's queue the third would time out at 600 ms).
 */
static void
test_waiting_for_a_connection_spends_no_timeout(void **state)
{
	struct fx *fx = *state;
	char url[128];
	int i;

	curlev_set_limits(fx->cl, 1, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow?ms=300",
	    server_port);
	for (i = 0; i < 3; i++) {
		fx->reqs[i].fx = fx;
		assert_int_equal(curlev_add(fx->cl, make_easy(url, NULL, 600,
		    &fx->reqs[i]), on_done, &fx->reqs[i]), 0);
	}
	run(fx, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(fx->reqs[i].res, CURLE_OK);
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One connection, busy for 500 ms: a transfer that had to start within
 * 100 ms comes back unstarted (it never reaches the server), and one
 * with time to spare runs after the slow one.
 */
static void
test_waiting_past_its_start_by_comes_back_unstarted(void **state)
{
	struct fx *fx = *state;
	struct req *r;
	int c0, r0, c1, r1;

	server_stats(&c0, &r0);
	curlev_set_limits(fx->cl, 1, 1);
	add(fx, 0, "/slow?ms=500", NULL);
	r = &fx->reqs[1];
	r->fx = fx;
	assert_int_equal(curlthread_add_by(fx->cl, make_local("/echo", "late",
	    r), on_done, r, wall_ms() + 100), 0);
	r = &fx->reqs[2];
	r->fx = fx;
	assert_int_equal(curlthread_add_by(fx->cl, make_local("/echo",
	    "in time", r), on_done, r, wall_ms() + 20000), 0);
	run(fx, 3);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_int_equal(fx->reqs[1].res, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(fx->reqs[1].len, 0);
	assert_int_equal(fx->reqs[2].res, CURLE_OK);
	assert_string_equal(fx->reqs[2].body, "echo:in time");
	server_stats(&c1, &r1);
	assert_int_equal(r1 - r0, 2);
}

/*
 * One connection, request 0 on it for ms: returns once the server has it
 * (it holds it ms), with the server's counts from before in *c0, *r0.
 */
static void
busy_connection(struct fx *fx, int ms, int *c0, int *r0)
{
	char path[32];
	int c1, r1, i;

	server_stats(c0, r0);
	curlev_set_limits(fx->cl, 1, 1);
	snprintf(path, sizeof(path), "/slow?ms=%d", ms);
	add(fx, 0, path, NULL);
	for (i = 0, r1 = *r0; i < 500 && r1 == *r0; i++) {
		run_for(fx, 10);
		server_stats(&c1, &r1);
	}
	assert_int_equal(r1, *r0 + 1);
}

/*
 * One connection busy for 300 ms and two transfers waiting for it: after
 * curlthread_unqueue() the waiting two come back unstarted and never
 * reach the server; the one on the wire finishes, and the thread takes
 * new transfers as before.
 */
static void
test_unqueue_hands_back_the_waiting(void **state)
{
	struct fx *fx = *state;
	int c0, r0, c1, r1;

	busy_connection(fx, 300, &c0, &r0);
	add(fx, 1, "/echo", "waiting 1");
	add(fx, 2, "/echo", "waiting 2");
	curlthread_unqueue(fx->cl);
	run(fx, 3);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_string_equal(fx->reqs[0].body, "slow");
	assert_int_equal(fx->reqs[1].res, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(fx->reqs[2].res, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(fx->reqs[1].len + fx->reqs[2].len, 0);
	add(fx, 3, "/echo", "after");
	run(fx, 4);
	assert_string_equal(fx->reqs[3].body, "echo:after");
	server_stats(&c1, &r1);
	assert_int_equal(r1 - r0, 2);
}

/*
 * curlthread_renew() with one connection busy for a second and a transfer
 * waiting for it: the waiting one comes back unstarted, the one on the
 * wire finishes, and the next transfer goes out on a new connection, not
 * the old one libcurl kept (two connections for two requests).
 */
static void
test_renew_leaves_the_old_connections(void **state)
{
	struct fx *fx = *state;
	int c0, r0, c1, r1;

	busy_connection(fx, 1000, &c0, &r0);
	add(fx, 1, "/echo", "waiting");
	curlthread_renew(fx->cl);
	run(fx, 1);
	assert_int_equal(fx->reqs[1].res, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(fx->reqs[1].len, 0);
	add(fx, 2, "/echo", "after");
	run(fx, 3);
	assert_int_equal(fx->reqs[0].res, CURLE_OK);
	assert_string_equal(fx->reqs[0].body, "slow");
	assert_string_equal(fx->reqs[2].body, "echo:after");
	server_stats(&c1, &r1);
	assert_int_equal(r1 - r0, 2);
	assert_int_equal(c1 - c0, 2);
}
#endif

/* A misspelt ctest filter must fail, not pass with 0 tests run. */
static int
matches_any(const struct CMUnitTest *t, size_t n, const char *pattern)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fnmatch(pattern, t[i].name, 0) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_posts_reuse_connections),
		T(test_slow_request_does_not_block_loop),
		T(test_dropped_connection_is_an_error),
		T(test_closed_connections_numbers_come_back),
		T(test_idle_connection_hung_up_is_unwatched),
		T(test_silent_server_times_out),
		T(test_add_from_done_callback),
		T(test_free_aborts_transfers_in_flight),
		T(test_free_from_done_callback),
		T(test_other_protocols_refused),
#ifdef TEST_CURLTHREAD
		T(test_waiting_for_a_connection_spends_no_timeout),
		T(test_waiting_past_its_start_by_comes_back_unstarted),
		T(test_unqueue_hands_back_the_waiting),
		T(test_renew_leaves_the_old_connections),
#endif
#undef T
	};

	if (argc < 3) {
		fprintf(stderr, "usage: %s PYTHON SERVER_SCRIPT [PATTERN]\n",
		    argv[0]);
		return 2;
	}
	python = argv[1];
	script = argv[2];
	if (argc > 3) {
		if (!matches_any(tests, sizeof(tests) / sizeof(tests[0]),
		    argv[3])) {
			fprintf(stderr, "no test matches %s\n", argv[3]);
			return 2;
		}
		cmocka_set_test_filter(argv[3]);
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
