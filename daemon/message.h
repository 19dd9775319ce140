/*
 * One message to one user: the in-app notification (always) plus an
 * outbox row per extra channel, rendered from the kind's templates and
 * escaped for each channel.  Runs inside the caller's transaction.
 * Email and SMS wait for the next working start unless the channel is
 * configured immediate; a channel the user has no address for produces a
 * dead outbox row with the reason, never silence.
 */
#ifndef CRMD_MESSAGE_H
#define CRMD_MESSAGE_H

#include <stdint.h>

#include "kinds.h"

struct crmd;
struct tmpl_vars;

struct recipient {
	int64_t		 user_id;
	const char	*email;		/* "" or NULL: none */
	const char	*phone;
	const char	*name;		/* display name in To:; NULL: none */
};

struct message {
	enum kind		 kind;
	const struct tmpl_vars	*vars;
	unsigned		 channels;	/* CH_BIT mask; inapp implied */
	int64_t			 reminder_id;	/* 0: none */
	int64_t			 customer_id;	/* 0: none */
	const char		*key;		/* idempotency prefix, unique
						   per message */
};

/* STORE_OK, STORE_BUSY or STORE_ERR. */
int	message_send(struct crmd *, const struct message *,
	    const struct recipient *, int64_t now);

#endif
