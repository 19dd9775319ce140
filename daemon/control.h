/*
 * The control socket: a Unix stream socket speaking newline-delimited JSON
 * (docs/protocol.md).  This file owns the listener and connections and
 * their bounds; control_cmds.c owns what the commands do.
 */
#ifndef CRMD_CONTROL_H
#define CRMD_CONTROL_H

#include <stddef.h>

struct crmd;
struct crmd_conf;
struct peer;
struct control;
struct cmd_defer;

/*
 * Binds the socket at conf->socket (0660, group conf->socket_gid) and
 * starts accepting.  A stale socket file is replaced: the caller already
 * holds the single-instance lock.  NULL with *err on failure.
 */
struct control	*control_open(struct crmd *, char **err);

/* Applies reloadable limits (max clients, idle timeout, request size). */
void		 control_apply_conf(struct control *, const struct crmd_conf *);

/*
 * Stops accepting and removes the socket file; long reads are cancelled
 * (their clients told so), connections close once their replies are
 * flushed, then the loop exits (2 s at most).
 */
void		 control_stop(struct control *);

/* Closes every connection at once and frees the listener. */
void		 control_close(struct control *);

/*
 * control_cmds.c: answers one request line with one reply line; or, for
 * a command that answers later, returns NULL with *deferred set, the
 * reply to come through it (control_defer.h).
 */
char		*control_dispatch(struct crmd *, const struct peer *,
		    const char *line, size_t len, int *close_after,
		    struct cmd_defer **deferred);

/* Builds an error reply line (malloc'd, newline-terminated). */
char		*control_error_reply(int status, const char *msg);

#endif
