/*
 * Storage operations behind the admin commands for the outbox
 * (control_outbox.c): show, list, retry, purge and queueing a test
 * message.  Writes run inside a transaction the caller opened with
 * store_begin(), so each change and its audit row commit together.
 * Bulk changes (retry every dead message, purge) work on one window of
 * ids at a time, so that no transaction holds the write lock long however
 * big the table is.  Returns are STORE_OK, STORE_BUSY or STORE_ERR.
 */
#ifndef CRMD_STORE_CTL_OUTBOX_H
#define CRMD_STORE_CTL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* An outbox row as crmctl shows it.  Instants are 0 when NULL. */
struct ctl_outbox {
	int64_t	 id;
	int64_t	 attempts;
	int64_t	 next_attempt_at;
	int64_t	 lease_until;
	int64_t	 created_at;
	int64_t	 sent_at;
	int64_t	 reminder_id;		/* 0: none */
	int64_t	 customer_id;		/* 0: none */
	char	 channel[16];
	char	 state[16];
	char	 audience[16];
	char	*recipient;
	char	*subject;
	char	*body;			/* NULL in lists */
	char	*recipient_name;	/* NULL: none, and in lists */
	char	*body_html;		/* NULL: none, and in lists */
	char	*last_error;		/* NULL: none */
	char	*idempotency_key;	/* NULL: none */
};
void	store_ctl_outbox_clear(struct ctl_outbox *);
void	store_ctl_outbox_free(struct ctl_outbox *, size_t n);

/* *found = 0 when there is no such row. */
int	store_ctl_outbox_get(struct store *, int64_t id, struct ctl_outbox *,
	    int *found);

/* Filters of `outbox list`: NULL means any. */
struct ctl_outbox_filter {
	const char	*state;
	const char	*channel;
	int		 limit;
};
/* Newest first (by id), bodies left out. */
int	store_ctl_outbox_list(struct store *, const struct ctl_outbox_filter *,
	    struct ctl_outbox **rows, size_t *n);

/*
 * One row back to the queue: a dead one is queued with next_attempt_at =
 * now and created_at = now (its outbox.lifetime starts again), a queued
 * one is made due now.  attempts and last_error are kept.
 * *changed = 0 when the row is sending or sent (the caller reports).
 */
int	store_ctl_outbox_retry(struct store *, int64_t id, int64_t now,
	    int *changed);

/*
 * The window of bulk changes: the ids after `after`, at most width of
 * them.  *last is the highest (after itself when there are none), *count
 * how many there are; count < width means the table ends there.
 */
int	store_ctl_outbox_window(struct store *, int64_t after, int width,
	    int64_t *last, int *count);

/*
 * Dead rows with id in (after, last] of the channels named in `only` (up
 * to three; NULL entries name none) back to the queue, due now, their
 * lifetime started again (created_at = now).
 * *skipped: the dead rows of the other channels there, left dead.
 */
int	store_ctl_outbox_retry_dead(struct store *, int64_t after, int64_t last,
	    int64_t now, const char *const only[3], int *changed, int *skipped);

/* Deletes sent rows with id in (after, last] sent before `before`. */
int	store_ctl_outbox_purge_sent(struct store *, int64_t after, int64_t last,
	    int64_t before, int *deleted);

/* A message queued by an admin to check a channel end to end. */
struct ctl_outbox_test {
	const char	*channel;
	const char	*recipient;
	const char	*subject;
	const char	*body;
};
/*
 * Queues it for now, audience 'user', with the idempotency key
 * "test:<id>".  *id is the new row.
 */
int	store_ctl_outbox_add_test(struct store *, const struct ctl_outbox_test *,
	    int64_t now, int64_t *id);

#endif
