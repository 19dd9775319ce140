/*
 * Deferred replies (control_cmds.h, control_defer.h).  A cmd_defer links
 * a request being worked on off the loop to the connection waiting for
 * its reply.  Either side may finish first: the reply posted to a
 * connection that has gone is dropped, and the work of a connection that
 * has gone is told once, so it can stop early.  The cmd_defer is freed
 * when the reply is posted, which the work always does.
 */
#include <stdlib.h>

#include "control_cmds.h"
#include "control_defer.h"

enum defer_state {
	DEFER_NEW,		/* the handler has not returned yet */
	DEFER_EARLY,		/* ... and already posted its reply */
	DEFER_ATTACHED,		/* a connection waits for the reply */
	DEFER_ABANDONED,	/* the connection has gone */
};

struct cmd_defer {
	enum defer_state	 state;
	defer_post_fn		*post;
	void			*conn;
	char			*line;		/* DEFER_EARLY */
	void			(*abandon)(void *);
	void			*abandon_arg;
};

struct cmd_defer *
cmd_defer(struct cmd_reply *r)
{
	struct cmd_defer *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	r->defer = d;
	return d;
}

void
cmd_defer_on_abandon(struct cmd_defer *d, void (*fn)(void *), void *arg)
{
	d->abandon = fn;
	d->abandon_arg = arg;
}

void
cmd_defer_reply(struct cmd_defer *d, struct cmd_reply *r)
{
	char *line = control_reply_line(r);

	switch (d->state) {
	case DEFER_NEW:
		/* The dispatcher sends it as an ordinary reply. */
		d->line = line;
		d->state = DEFER_EARLY;
		return;
	case DEFER_ATTACHED:
		d->post(d->conn, line);
		break;
	case DEFER_EARLY:		/* posted twice: keep the first */
		free(line);
		return;
	case DEFER_ABANDONED:
		free(line);
		break;
	}
	free(d);
}

int
cmd_defer_early(struct cmd_defer *d, char **line)
{
	if (d->state != DEFER_EARLY)
		return 0;
	*line = d->line;
	free(d);
	return 1;
}

void
cmd_defer_attach(struct cmd_defer *d, defer_post_fn *post, void *conn)
{
	d->state = DEFER_ATTACHED;
	d->post = post;
	d->conn = conn;
}

void
cmd_defer_detach(struct cmd_defer *d)
{
	void (*fn)(void *) = d->abandon;

	d->state = DEFER_ABANDONED;
	d->conn = NULL;
	d->abandon = NULL;
	if (fn != NULL)
		fn(d->abandon_arg);
}
