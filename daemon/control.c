/*
 * Control socket listener and connections.  Each connection is a
 * bufferevent whose input is capped at max_request + 1 bytes, so a client
 * can never make crmd buffer more than that; a request longer than the cap
 * is answered 413 and its connection closed.  Idle connections time out,
 * and at most max_clients are served at once.  Nothing a client sends
 * touches another connection.
 *
 * A command that answers later (a long read on a worker thread, offload.h)
 * parks its connection: nothing more is read from it until the reply is
 * posted, so replies keep the order of requests, and a client that hangs
 * up meanwhile cancels the work.
 */
#include "control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "control_cmds.h"
#include "control_defer.h"
#include "crmd.h"
#include "log.h"
#include "offload.h"
#include "peer.h"
#include "protocol.h"

/* Requests answered per read callback before yielding to the loop. */
#define CONN_REQUESTS_PER_TURN	16

/* Replies a client has not read yet; past this we stop reading from it. */
#define CONN_MAX_PENDING_OUTPUT	(256 * 1024)

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct control		*ctl;
	struct bufferevent	*bev;
	struct peer		 peer;
	int			 closing;	/* reply flushed, then free */
	int			 throttled;	/* reading paused for output */
	struct cmd_defer	*defer;		/* a reply to come: read no more */
};

struct control {
	struct crmd		*crmd;
	struct evconnlistener	*listener;
	struct event		*ev_resume;	/* re-enable after EMFILE */
	struct offload		*offload;	/* long reads, off the loop */
	char			*path;
	TAILQ_HEAD(, conn)	 conns;
	int			 nconns;
	int			 max_clients;
	int			 max_request;
	struct timeval		 idle;
	int			 stopping;	/* draining replies, then exit */
};

static void	conn_free(struct conn *);

static int
errorf(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets *err to the message followed by ": strerror(errno)"; returns -1. */
static int
errorf(char **err, const char *fmt, ...)
{
	char buf[1024];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (asprintf(err, "%s: %s", buf, strerror(saved)) == -1)
		*err = NULL;
	errno = saved;
	return -1;
}

/* Removes a leftover socket file; anything else at path is not ours. */
static int
unlink_stale(const char *path, char **err)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : errorf(err, "%s", path);
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return errorf(err, "%s exists and is not a socket; "
		    "refusing to replace it", path);
	}
	if (unlink(path) == -1)
		return errorf(err, "cannot remove stale socket %s", path);
	return 0;
}

static int
bind_socket(const char *path, gid_t gid, char **err)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return errorf(err, "socket path %s", path);
	}
	strcpy(sun.sun_path, path);
	if (unlink_stale(path, err) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return errorf(err, "socket %s", path);
	/* Never exists with wider permissions than 0660, not even briefly. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1) {
		errorf(err, "cannot bind control socket %s", path);
		close(fd);
		return -1;
	}
	/* lchown: never follow a symlink someone swapped in after bind. */
	if (gid != (gid_t)-1 && lchown(path, (uid_t)-1, gid) == -1) {
		errorf(err, "cannot set owner/mode of %s", path);
		unlink(path);
		close(fd);
		return -1;
	}
	if (listen(fd, 64) == -1) {
		errorf(err, "listen %s", path);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Queues reply; returns -1 (connection freed) when there is none. */
static int
conn_write(struct conn *c, char *reply)
{
	if (reply == NULL) {
		conn_free(c);
		return -1;
	}
	bufferevent_write(c->bev, reply, strlen(reply));
	free(reply);
	return 0;
}

/* Stop reading; free once everything written, or to come, has left. */
static void
conn_close_after_flush(struct conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (c->defer == NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/* The deferred reply is posted: send it, then read what came meanwhile. */
static void
conn_answer(void *arg, char *line)
{
	struct conn *c = arg;

	c->defer = NULL;
	bufferevent_set_timeouts(c->bev, &c->ctl->idle, &c->ctl->idle);
	if (conn_write(c, line) == -1 || c->closing)
		return;		/* closing: conn_write_cb frees it */
	bufferevent_trigger(c->bev, EV_READ,
	    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Park c until the reply comes; waiting for it is not being idle. */
static void
conn_wait(struct conn *c, struct cmd_defer *d)
{
	c->defer = d;
	bufferevent_set_timeouts(c->bev, NULL, &c->ctl->idle);
	cmd_defer_attach(d, conn_answer, c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct control *ctl = c->ctl;
	int handled = 0;

	while (!c->closing && c->defer == NULL) {
		if (handled++ == CONN_REQUESTS_PER_TURN) {
			/* A pipelining client gets no more than its turn. */
			bufferevent_trigger(bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    CONN_MAX_PENDING_OUTPUT) {
			/* Pipelining without reading replies: wait for it. */
			c->throttled = 1;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		size_t eol_len = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_LF);
		struct cmd_defer *defer;
		int close_after = 0;
		char *line, *reply;

		if (p.pos == -1) {
			/* No newline yet: fine unless already over the cap. */
			if (evbuffer_get_length(in) > (size_t)ctl->max_request)
				goto too_large;
			return;
		}
		if ((size_t)p.pos + 1 > (size_t)ctl->max_request)
			goto too_large;
		if ((line = malloc((size_t)p.pos + 1)) == NULL) {
			conn_free(c);
			return;
		}
		evbuffer_remove(in, line, (size_t)p.pos);
		evbuffer_drain(in, eol_len);
		line[p.pos] = '\0';
		reply = control_dispatch(ctl->crmd, &c->peer, line,
		    (size_t)p.pos, &close_after, &defer);
		free(line);
		if (defer != NULL) {
			conn_wait(c, defer);
			return;
		}
		if (conn_write(c, reply) == -1)
			return;
		if (close_after) {
			conn_close_after_flush(c);
			return;
		}
	}
	return;

too_large:
	log_warnx("control: request from pid %d over %d bytes; closing",
	    (int)c->peer.pid, ctl->max_request);
	if (conn_write(c, control_error_reply(CRMD_TOO_LARGE,
	    "request too large; connection closed")) == 0)
		conn_close_after_flush(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		conn_free(c);
		return;
	}
	if (c->throttled) {
		c->throttled = 0;
		bufferevent_enable(bev, EV_READ);
		conn_read_cb(bev, c);	/* requests already buffered */
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control: closing idle connection from pid %d",
		    (int)c->peer.pid);
	conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct control *ctl = c->ctl;
	struct cmd_defer *d = c->defer;

	if (d != NULL) {
		c->defer = NULL;
		cmd_defer_detach(d);	/* cancels the work */
	}
	TAILQ_REMOVE(&ctl->conns, c, entry);
	ctl->nconns--;
	bufferevent_free(c->bev);
	free(c);
	if (ctl->stopping && ctl->nconns == 0)
		event_base_loopexit(ctl->crmd->base, NULL);
}

/* Over the connection cap: say so without reading, then hang up. */
static void
refuse_busy(int fd)
{
	char *reply = control_error_reply(CRMD_UNAVAILABLE,
	    "too many control connections; try again");

	if (reply != NULL) {
		ssize_t n = write(fd, reply, strlen(reply));
		(void)n;	/* best effort on a non-blocking socket */
		free(reply);
	}
	close(fd);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct conn *c;

	if (ctl->nconns >= ctl->max_clients) {
		log_warnx("control: %d connections open, refusing another",
		    ctl->nconns);
		refuse_busy(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if (peer_from_socket(fd, &c->peer) == -1) {
		log_warn("control: cannot read peer credentials");
		free(c);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->bev = bufferevent_socket_new(ctl->crmd->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	ctl->nconns++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    (size_t)ctl->max_request + 1);
	bufferevent_set_timeouts(c->bev, &ctl->idle, &ctl->idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("control: connection from pid %d uid %d",
	    (int)c->peer.pid, (int)c->peer.uid);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;

	evconnlistener_enable(ctl->listener);
}

/* accept() failed (EMFILE...): pause a second instead of spinning. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct control *ctl = arg;
	struct timeval one = { 1, 0 };

	log_warn("control: accept");
	evconnlistener_disable(l);
	evtimer_add(ctl->ev_resume, &one);
}

void
control_apply_conf(struct control *ctl, const struct crmd_conf *conf)
{
	struct conn *c;

	if (ctl == NULL)
		return;
	ctl->max_clients = conf->ctl_max_clients;
	ctl->max_request = conf->ctl_max_request;
	ctl->idle.tv_sec = (time_t)conf->ctl_idle_timeout;
	ctl->idle.tv_usec = 0;
	TAILQ_FOREACH(c, &ctl->conns, entry) {
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    (size_t)ctl->max_request + 1);
		bufferevent_set_timeouts(c->bev, c->defer != NULL ? NULL :
		    &ctl->idle, &ctl->idle);
	}
}

struct control *
control_open(struct crmd *crmd, char **err)
{
	struct control *ctl;
	int fd;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = strdup(crmd->conf->socket)) == NULL) {
		free(ctl);
		*err = strdup("out of memory");
		return NULL;
	}
	ctl->crmd = crmd;
	TAILQ_INIT(&ctl->conns);
	control_apply_conf(ctl, crmd->conf);
	if ((fd = bind_socket(ctl->path, crmd->conf->socket_gid, err)) == -1)
		goto fail;
	ctl->ev_resume = evtimer_new(crmd->base, resume_cb, ctl);
	ctl->offload = offload_new(crmd->base, crmd->conf->database);
	ctl->listener = evconnlistener_new(crmd->base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (ctl->ev_resume == NULL || ctl->offload == NULL ||
	    ctl->listener == NULL) {
		*err = strdup("cannot create the control listener");
		if (ctl->listener != NULL)
			evconnlistener_free(ctl->listener);	/* closes fd */
		else
			close(fd);
		unlink(ctl->path);
		goto fail;
	}
	evconnlistener_set_error_cb(ctl->listener, accept_error_cb);
	return ctl;
fail:
	if (ctl->ev_resume != NULL)
		event_free(ctl->ev_resume);
	offload_free(ctl->offload);
	free(ctl->path);
	free(ctl);
	return NULL;
}

void
control_stop(struct control *ctl)
{
	struct conn *c, *next;
	struct timeval deadline = { 2, 0 };

	ctl->stopping = 1;
	evconnlistener_disable(ctl->listener);
	/* Interrupted reads answer their clients at once ("stopping"). */
	offload_stop(ctl->offload);
	if (unlink(ctl->path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s", ctl->path);
	if (ctl->nconns == 0) {
		event_base_loopexit(ctl->crmd->base, NULL);
		return;
	}
	/* Replies already written still reach their clients. */
	for (c = TAILQ_FIRST(&ctl->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_close_after_flush(c);	/* may free c */
	}
	event_base_loopexit(ctl->crmd->base, &deadline);
}

void
control_close(struct control *ctl)
{
	struct conn *c;

	if (ctl == NULL)
		return;
	ctl->stopping = 0;	/* no loopexit from here on */
	evconnlistener_free(ctl->listener);
	event_free(ctl->ev_resume);
	if (unlink(ctl->path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s", ctl->path);
	while ((c = TAILQ_FIRST(&ctl->conns)) != NULL)
		conn_free(c);
	/* After the connections: the replies still to come are dropped. */
	offload_free(ctl->offload);
	free(ctl->path);
	free(ctl);
}

struct offload *
control_offload(struct crmd *crmd)
{
	return crmd->control->offload;
}
