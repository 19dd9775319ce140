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

#define CMD_READONLY	0x01	/* read_group members may run it */

struct cmd_reply {
	int	 status;	/* CRMD_OK or an error code (protocol.h) */
	json_t	*data;		/* on CRMD_OK: the reply's "data" */
	char	*error;		/* otherwise, malloc'd */
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
