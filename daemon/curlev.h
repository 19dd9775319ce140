/*
 * libcurl's multi_socket API driven by a libevent loop: the transport
 * under crmd's SMTP, SMS and webhook channels.  Transfers run on the loop;
 * the multi handle keeps the connection cache, so consecutive transfers
 * to one host reuse their connections.  HTTP transfers never block the
 * loop; an SMTP one may wait inside libcurl for the reply to its final dot
 * (curl #8555).  The outbox runs it on threads of its own (curlthread.h),
 * two per channel, beside crmd's loop.
 *
 * Ownership: curlev never creates or destroys an easy handle.  The caller
 * builds one, hands it to curlev_add() and gets it back exactly once, in
 * its done callback, already detached from the multi handle; the callback
 * owns its cleanup (curl_easy_cleanup() there is fine).
 *
 * While a transfer is in flight curlev uses the handle's CURLOPT_PRIVATE;
 * the caller's own value is restored before the done callback runs.
 * curlev also sets CURLOPT_OPENSOCKETFUNCTION, CLOSESOCKETFUNCTION and
 * their data, to know every connection it may have to cut at stop.
 *
 * curl_global_init(): curlev_new() calls it and curlev_free() calls
 * curl_global_cleanup(); libcurl counts these, so keep a curlev alive for
 * as long as easy handles exist, or call curl_global_init() once yourself
 * at start, before any thread.
 */
#ifndef CRMD_CURLEV_H
#define CRMD_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/*
 * Called once per transfer added, after it has left the multi handle: on
 * completion (res is the transfer's CURLcode; CURLE_OK says nothing about
 * the HTTP status, read CURLINFO_RESPONSE_CODE), or from curlev_free() with
 * CURLE_ABORTED_BY_CALLBACK.  It may call curlev_add(), and curlev_free()
 * (deferred until the current dispatch returns).
 */
typedef void	(*curlev_done_cb)(CURL *easy, CURLcode res, void *arg);

/* One per event base.  NULL with *err set (free it) on failure. */
struct curlev	*curlev_new(struct event_base *base, char **err);

/*
 * Cuts every connection (shutdown: no QUIT, no final dot for a message
 * half sent), aborts every transfer in flight, each getting its done
 * callback with CURLE_ABORTED_BY_CALLBACK, then frees the multi handle.
 * During those callbacks curlev_add() refuses new transfers.  NULL is a
 * no-op.
 */
void		 curlev_free(struct curlev *cl);

/*
 * Starts easy on the loop.  0; or -1 (curlev is closing, or libcurl
 * refused the handle), in which case the callback will never run and the
 * caller still owns easy.  The callback never runs from inside this call.
 */
int		 curlev_add(struct curlev *cl, CURL *easy, curlev_done_cb cb,
		    void *arg);

/* Transfers added whose done callback has not yet run. */
int		 curlev_active(const struct curlev *cl);

/*
 * Connection limits for the whole multi handle and per host (0: no
 * limit).  Transfers beyond them wait for a connection instead of
 * opening one; the cache keeps up to max_total_connections open.
 */
void		 curlev_set_limits(struct curlev *cl, long max_total_connections,
		    long max_host_connections);

/*
 * crmd's standard options for an easy handle: per-phase timeouts in
 * milliseconds (connect, whole transfer) and the abort when less than one
 * byte per second moves for low_speed_time_s (0 leaves each off), no
 * signals, no verbose output (it would print AUTH credentials), only
 * http, https, smtp and smtps (redirects: http and https).  HTTP is 1.1 with
 * keep-alive in clear and HTTP/2 only over TLS (cleartext HTTP/2 with prior
 * knowledge is broken in libcurl 7.88, curl #10634).  0, or -1 when
 * libcurl rejects an option.
 */
int		 curlev_easy_defaults(CURL *easy, long connect_timeout_ms,
		    long total_timeout_ms, long low_speed_time_s);

#endif
