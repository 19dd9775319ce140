/*
 * What a control command handler sees.  Each module registers a table of
 * commands (control_cmds.c: ping, status, reload; control_reminders.c:
 * reminder, plan, today ...); the dispatcher in control_cmds.c checks the
 * request and authorisation once, then calls exec.
 */
#ifndef CRMD_CONTROL_CMDS_H
#define CRMD_CONTROL_CMDS_H

#include <jansson.h>
#include <stddef.h>

struct crmd;
struct peer;
struct cmd_defer;
struct offload;

#define CMD_READONLY	0x01	/* read_group members may run it */

struct cmd_reply {
	int		 status;	/* CRMD_OK or an error code (protocol.h) */
	json_t		*data;		/* on CRMD_OK: the reply's "data" */
	char		*error;		/* otherwise, malloc'd */
	struct cmd_defer *defer;	/* set by cmd_defer(): answered later */
};

struct control_cmd {
	const char	*name;		/* e.g. "reminder.add" */
	int		 flags;
	void		(*exec)(struct crmd *, const struct peer *,
			    json_t *args, struct cmd_reply *);
};

/* Sets an error reply (status from protocol.h). */
void	reply_error(struct cmd_reply *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* "uid:N" for audit rows written on behalf of a peer. */
void	peer_actor(const struct peer *, char *buf, size_t len);

/*
 * A reply that comes later, for a command whose work runs off the loop
 * (offload.h).  The handler calls cmd_defer() and returns without
 * filling r; its connection reads no further request until
 * cmd_defer_reply() posts the answer, so replies stay in order.  Should
 * the client go away first, the function given to cmd_defer_on_abandon()
 * is called once, to cancel the work, and the reply, still to be posted,
 * is then dropped.  All on the loop thread.
 */
struct cmd_defer *cmd_defer(struct cmd_reply *r);	/* NULL: ENOMEM */
void	cmd_defer_on_abandon(struct cmd_defer *, void (*fn)(void *),
	    void *arg);
/* Posts r (its data and error are taken) and releases the cmd_defer. */
void	cmd_defer_reply(struct cmd_defer *, struct cmd_reply *r);

/* The worker threads for long reads (offload.h), owned by control.c. */
struct offload	*control_offload(struct crmd *);

/* control_reminders.c */
extern const struct control_cmd	reminder_commands[];
extern const size_t		reminder_ncommands;

/* control_outbox.c */
extern const struct control_cmd	outbox_commands[];
extern const size_t		outbox_ncommands;

/* control_rules.c: rule list, test, run; tags; log */
extern const struct control_cmd	rules_commands[];
extern const size_t		rules_ncommands;

/* control_stale.c */
extern const struct control_cmd	stale_commands[];
extern const size_t		stale_ncommands;

#endif
