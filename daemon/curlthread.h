/*
 * curlev.h on a thread of its own: the same transfers, the same promises,
 * but libcurl runs on a loop in a thread curlthread starts, and only the
 * done callbacks come back to the caller's loop.
 *
 * Why: libcurl 7.88 waits for some replies inside a transfer's "done"
 * step, SMTP's reply to the final dot among them (curl #8555, in its TODO
 * as "More non-blocking"), and RFC 5321 gives a relay minutes to give it.
 * On the caller's loop that wait would stop everything else; here it
 * stops only this thread's other transfers.
 *
 * The functions are curlev's, called on the caller's loop thread, with
 * its ownership rules (curlev.h), and these differences:
 * - Between curlthread_add() and its done callback the easy handle is the
 *   thread's: its libcurl callbacks (write, header, read) run there, so
 *   they may touch only the transfer's own state.
 * - curlthread sets the handle's CURLOPT_XFERINFOFUNCTION, XFERINFODATA and
 *   NOPROGRESS: that is how curlthread_free() ends a wait inside libcurl
 *   (within a second).
 * - A handle libcurl refuses comes back through its done callback with
 *   CURLE_FAILED_INIT.
 * - A transfer given a start-by time (curlthread_add_by) that is still
 *   waiting for a connection then comes back unstarted, with
 *   CURLE_ABORTED_BY_CALLBACK, as those a stop ends.
 */
#ifndef CRMD_CURLTHREAD_H
#define CRMD_CURLTHREAD_H

#include <stdint.h>

#include "curlev.h"

struct event_base;
struct curlthread;

/* Starts the thread; done callbacks run on base.  NULL with *err set. */
struct curlthread	*curlthread_new(struct event_base *base, char **err);

/*
 * Ends every transfer (in flight: CURLE_ABORTED_BY_CALLBACK; finished:
 * its own result), runs their done callbacks, during which adding is
 * refused, and joins the thread.  From a done callback it is deferred
 * until that dispatch returns.  NULL is a no-op.
 */
void		 curlthread_free(struct curlthread *);

/*
 * Hands easy to the thread.  0; or -1 (closing, or the handle refused
 * curlthread's options): the callback will never run and the caller
 * still owns easy.  The callback never runs from inside this call.
 */
int		 curlthread_add(struct curlthread *, CURL *easy,
		    curlev_done_cb cb, void *arg);

/*
 * curlthread_add(), and the transfer is not started after start_by_ms
 * (CLOCK_REALTIME, ms; 0: any time): one that waited that long for a
 * connection comes back unstarted, so that it can never end later than
 * the caller allowed for (a row's lease, for the outbox).
 */
int		 curlthread_add_by(struct curlthread *, CURL *easy,
		    curlev_done_cb cb, void *arg, int64_t start_by_ms);

/*
 * Hands back every transfer still waiting for a connection, unstarted
 * (CURLE_ABORTED_BY_CALLBACK), through the done callbacks, later; those
 * on the wire go on.  For a destination that went down: what was queued
 * for it is not sent into it.
 */
void		 curlthread_unqueue(struct curlthread *);

/*
 * No connection opened so far is used again: what waits for one comes
 * back unstarted, as from curlthread_unqueue(); the transfers on the wire
 * finish on theirs; then those connections are closed and the transfers
 * added from now on start on new ones.  For a reload: libcurl matches a
 * cached connection to a handle by host and port, not by every option,
 * so a plain connection left by STARTTLS "try" would carry mail after
 * "required".
 */
void		 curlthread_renew(struct curlthread *);

/*
 * Tells the thread to stop, without waiting for it: curlthread_free()
 * then joins it.  Stopping several first lets their waits end together.
 */
void		 curlthread_stop(struct curlthread *);

/* Transfers added whose done callback has not yet run. */
int		 curlthread_active(const struct curlthread *);

/* curlev_set_limits() for the thread's multi handle. */
void		 curlthread_set_limits(struct curlthread *,
		    long max_total_connections, long max_host_connections);

#endif
