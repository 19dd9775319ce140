/*
 * The outbox sender: delivers queued outbox rows by email, SMS and webhook
 * through libcurl multi on transport threads beside the event loop (the
 * database and every decision stay on the loop), under leases, with retries,
 * backoff, rate limits and probing of destinations that are down
 * (docs/delivery.md).  The database is the queue; this holds only timers
 * and the transfers in flight.
 */
#ifndef CRMD_OUTBOX_H
#define CRMD_OUTBOX_H

#include <stdint.h>

struct crmd;
struct outbox;

struct outbox	*outbox_new(struct crmd *);
void		 outbox_free(struct outbox *);

/* Rows may have become due (a firing, crmctl, the CRM's commit): look. */
void		 outbox_kick(struct outbox *);

/* The config was reloaded: channels, pace and templates may differ. */
void		 outbox_reconfigure(struct outbox *);

/* Clean stop: claim nothing more; in-flight transfers are abandoned and
 * their leases returned, so the next start sends them. */
void		 outbox_stop(struct outbox *);

/* For `crmctl status`. */
struct outbox_stats {
	int64_t		 in_flight;
	int64_t		 sent;		/* since start */
	int64_t		 retried;
	int64_t		 dead;
};
void		 outbox_stats(const struct outbox *, struct outbox_stats *);

#endif
