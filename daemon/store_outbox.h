/*
 * The outbox sender's storage (outbox.c, docs/delivery.md): due rows,
 * claims under a lease, each attempt's outcome, returned leases, and the
 * instants the sender's one timer needs.  Writes run inside a transaction
 * the caller opened with store_begin().  An outcome names the lease it
 * was claimed under and changes nothing if the row was claimed again
 * since (a fencing token), so a stale outcome can never undo a newer one.
 * Returns are STORE_OK, STORE_BUSY or STORE_ERR.
 */
#ifndef CRMD_STORE_OUTBOX_H
#define CRMD_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* A due row of one channel, as the sender needs it. */
struct outbox_row {
	int64_t		 id;
	int64_t		 attempts;	/* before this claim */
	int64_t		 created_at;
	int64_t		 customer_id;	/* 0: none */
	int		 to_customer;	/* audience = 'customer' */
	int		 opt_out_email;	/* of that customer, 0 if unknown */
	int		 opt_out_sms;
	/* NUL-terminated, with their lengths: a NUL inside a value is
	 * kept, for the sender to see rather than to truncate at. */
	char		*recipient;
	char		*subject;
	char		*body;
	char		*key;		/* idempotency_key; NULL: none */
	char		*name;		/* recipient_name; NULL: none */
	char		*html;		/* body_html; NULL: none */
	size_t		 recipient_len;
	size_t		 subject_len;
	size_t		 body_len;
	size_t		 key_len;
	size_t		 name_len;
	size_t		 html_len;
};

/* Queued rows of channel due at now, oldest first, at most limit. */
int	store_outbox_due(struct store *, const char *channel, int64_t now,
	    int limit, struct outbox_row **rows, size_t *n);
void	store_outbox_rows_free(struct outbox_row *, size_t n);

/* A queued row waits until at, without an attempt (quiet hours). */
int	store_outbox_defer(struct store *, int64_t id, int64_t at);
/* A queued row is dead before any attempt (an opt-out). */
int	store_outbox_refuse(struct store *, int64_t id, const char *reason);
/* The oldest `limit` queued rows of an unconfigured channel due at now,
 * from next_attempt_at `from` on, are dead.  *n: how many; *last_at: the
 * latest next_attempt_at among them (from when none). */
int	store_outbox_refuse_channel(struct store *, const char *channel,
	    int64_t now, const char *reason, int64_t from, int limit, int *n,
	    int64_t *last_at);

/*
 * Sent outcomes in one statement: ids[0..n), each claimed under lease; a
 * row changes only if it is still sending under that lease (the fence),
 * then it is sent at sent_at, without a lease or an error.
 */
int	store_outbox_sent_many(struct store *, const int64_t *ids, size_t n,
	    int64_t lease, int64_t sent_at);
/*
 * Claims ids[0..n) in one statement: queued -> sending under
 * lease_until, one attempt more.  The ids come from store_outbox_due()
 * in the same transaction, so each is still queued; if one is not,
 * nothing is claimed for sure and STORE_ERR says so (roll back).
 */
int	store_outbox_claim_many(struct store *, const int64_t *ids, size_t n,
	    int64_t lease_until);

/* The other outcomes of a claim made under lease. */
int	store_outbox_retry(struct store *, int64_t id, int64_t lease,
	    int64_t next_attempt_at, const char *error);
int	store_outbox_dead(struct store *, int64_t id, int64_t lease,
	    const char *reason);
/* Not attempted after all (a clean stop, a destination gone down): back
 * to queued, the attempt uncounted. */
int	store_outbox_release(struct store *, int64_t id, int64_t lease);

/* Sending rows whose lease expired by now go back to queued.  *n: how
 * many. */
int	store_outbox_reap(struct store *, int64_t now, int *n);

/*
 * At most limit queued rows of channel, due at now and created before
 * cutoff, are dead: last_error becomes why, the attempts made and the
 * error before (so "WHY after 3 attempts: HTTP 503").  *n: how many.
 */
int	store_outbox_expire(struct store *, const char *channel, int64_t now,
	    int64_t cutoff, const char *why, int limit, int *n);

/* Earliest next_attempt_at of channel's queued rows; 0 when none. */
int	store_outbox_next_due(struct store *, const char *channel,
	    int64_t *at);
/* Earliest lease of a sending row; 0 when none. */
int	store_outbox_next_lease(struct store *, int64_t *at);

#endif
