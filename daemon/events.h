/*
 * The event handler (docs/rules.md, "Event rules"): reads the CRM's
 * changes from rule_changes after the cursor 'events.cursor' and, in the
 * transaction that advances the cursor, gives each event its
 * consequences once: a new customer without an owner is assigned
 * (assign.c), a follow-up clears the customer's stale flag (stale.c) and
 * cancels the reminders event rules made for it, and every event rule
 * whose `on` and `when` match creates its reminder and sends its notice.
 * It also deletes the rule_changes rows both readers are done with.
 *
 * Also here: the message helper the automation modules share.
 */
#ifndef CRMD_EVENTS_H
#define CRMD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

struct crmd;
struct events;
struct auto_customer;
struct auto_person;

struct events	*events_new(struct crmd *);
void		 events_free(struct events *);

/* The CRM committed, or the config changed: read the feed soon. */
void		 events_kick(struct events *);

/*
 * The pause between two write transactions of a long run of them (a
 * sweep, a burst of events).  A CRM writer that finds the database
 * locked polls it with growing sleeps (SQLite's busy handler: 1, 2, 5,
 * 10, 15 ms ...); had crmd started its next transaction at once, the
 * writer would find it locked again and again.  With transactions of
 * about 8 ms and this gap, one of its polls falls in a gap before it has
 * waited 50 ms.
 */
#define AUTO_WRITE_GAP_MS	20

/* One automation message about customer c (stale.c, assign.c, here). */
struct auto_msg {
	enum kind			 kind;
	const struct auto_customer	*c;
	const struct auto_person	*to;	/* the recipient */
	const struct auto_person	*user;	/* {user.name}: the owner */
	const char			*note;	/* {reminder.note} */
	const char			*due;	/* {reminder.due}, or NULL */
	unsigned			 channels;	/* CH_BIT mask */
	const char			*key;	/* outbox idempotency prefix */
};

/* In the caller's transaction.  STORE_OK, STORE_BUSY or STORE_ERR. */
int		 auto_message_send(struct crmd *, const struct auto_msg *,
		    int64_t now);

/* What a rule condition is evaluated against: now, today, the ids. */
struct rule_env;
void		 auto_env(struct rule_env *, int64_t now, char today[16],
		    const int64_t *ids, size_t n);

/* "意向" for "intent"; the value itself when unknown. */
const char	*auto_status_label(const char *status);

#endif
