/*
 * The connection's side of a deferred reply (control_cmds.h has the
 * handler's side): control.c parks a connection on it, and lets go of it
 * when the connection closes first.  Internal to the control files.
 */
#ifndef CRMD_CONTROL_DEFER_H
#define CRMD_CONTROL_DEFER_H

struct cmd_defer;
struct cmd_reply;

/* Delivers a posted reply line (malloc'd; NULL if it could not be made). */
typedef void	defer_post_fn(void *conn, char *line);

/*
 * control_cmds.c: 1 with *line if the handler posted its reply before
 * returning (the cmd_defer is then freed), else 0.
 */
int	cmd_defer_early(struct cmd_defer *, char **line);

/* control.c: the reply goes to conn through post when it is posted. */
void	cmd_defer_attach(struct cmd_defer *, defer_post_fn *post, void *conn);

/* control.c: conn is closing; the work is told, its reply dropped. */
void	cmd_defer_detach(struct cmd_defer *);

/* control_cmds.c: the reply line for r (its data and error are taken). */
char	*control_reply_line(struct cmd_reply *r);

#endif
