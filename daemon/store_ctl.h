/*
 * Storage operations behind the admin commands for reminders and plans
 * (control_reminders.c): lookups, lists for crmctl and the state changes
 * an admin may make.  Writes run inside a transaction the caller opened
 * with store_begin(), so the change and its audit row commit together.
 * Returns are STORE_OK, STORE_BUSY or STORE_ERR; rows come back as plain
 * C structs, strings malloc'd.
 */
#ifndef CRMD_STORE_CTL_H
#define CRMD_STORE_CTL_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct ctl_customer {
	int64_t	 owner_id;		/* 0: unassigned */
	char	 level[4];		/* "A", "B", "C" or "" */
};
/* *found = 0 when there is no such customer. */
int	store_ctl_customer_get(struct store *, int64_t id,
	    struct ctl_customer *, int *found);

/* *found = 0 when there is no such user; *active is users.active. */
int	store_ctl_user_get(struct store *, int64_t id, int *active, int *found);

/* A reminder as crmctl shows it. */
struct ctl_reminder {
	int64_t	 id;
	int64_t	 customer_id;
	int64_t	 user_id;
	int64_t	 plan_id;		/* 0: none */
	int64_t	 due_at;
	int64_t	 fired_at;		/* 0: NULL, likewise below */
	int64_t	 acked_at;
	int64_t	 snoozed_until;
	int64_t	 escalated_at;
	int64_t	 created_at;
	int	 late;
	char	 kind[16];
	char	 state[16];
	char	 level[4];		/* customer's level, "" if none */
	char	*customer;		/* customer's name */
	char	*user;			/* user's name */
	char	*channels;
	char	*note;
	char	*source;
};
void	store_ctl_reminder_clear(struct ctl_reminder *);
void	store_ctl_reminders_free(struct ctl_reminder *, size_t n);

int	store_ctl_reminder_get(struct store *, int64_t id, struct ctl_reminder *,
	    int *found);

/* Filters of `reminder list`: 0 / NULL means any. */
struct ctl_reminder_filter {
	int64_t		 user_id;
	int64_t		 customer_id;
	const char	*state;
	int		 limit;
};
/* Ordered by due time, then id. */
int	store_ctl_reminders_list(struct store *,
	    const struct ctl_reminder_filter *, struct ctl_reminder **rows,
	    size_t *n);

/*
 * `today`: reminders due in [day_start, day_end) and not acknowledged or
 * cancelled, plus overdue ones (pending or fired, due before day_start).
 * user_id 0: everybody.  Ordered by customer level (A, B, C, none), then
 * due time.
 */
int	store_ctl_reminders_today(struct store *, int64_t user_id,
	    int64_t day_start, int64_t day_end, int limit,
	    struct ctl_reminder **rows, size_t *n);

/*
 * State changes.  Each applies only from the states the schema's state
 * machine allows (the caller checks first and reports; this is the
 * guard): *changed = 0 when the row was not in one of them.
 *   ack:    pending, fired, snoozed -> acked (acked_at = now)
 *   snooze: fired, snoozed -> snoozed (snoozed_until = until)
 *   cancel: pending, fired, snoozed -> cancelled
 */
int	store_ctl_reminder_ack(struct store *, int64_t id, int64_t now,
	    int *changed);
int	store_ctl_reminder_snooze(struct store *, int64_t id, int64_t until,
	    int *changed);
int	store_ctl_reminder_cancel(struct store *, int64_t id, int *changed);

/* ---- follow-up plans ---- */

struct ctl_new_plan {
	int64_t		 customer_id;
	int64_t		 user_id;
	const char	*name;
	const char	*rrule;
	int64_t		 dtstart;
	const char	*channels;	/* canonical list, "" = default */
};
int	store_ctl_plan_add(struct store *, const struct ctl_new_plan *,
	    int64_t *id);
int	store_ctl_plan_set_active(struct store *, int64_t id, int active);

/* A plan as crmctl shows it. */
struct ctl_plan {
	int64_t	 id;
	int64_t	 customer_id;
	int64_t	 user_id;
	int64_t	 dtstart;
	int64_t	 until;			/* 0: none */
	int64_t	 next_id;		/* pending occurrence, 0: none */
	int64_t	 next_at;		/* its due time */
	int64_t	 created_at;
	int	 active;
	char	 level[4];
	char	*customer;
	char	*user;
	char	*name;
	char	*rrule;
	char	*channels;
};
void	store_ctl_plan_clear(struct ctl_plan *);
void	store_ctl_plans_free(struct ctl_plan *, size_t n);

int	store_ctl_plan_get(struct store *, int64_t id, struct ctl_plan *,
	    int *found);

struct ctl_plan_filter {
	int64_t	 user_id;		/* 0: any */
	int64_t	 customer_id;
	int	 limit;
};
/* Ordered by id. */
int	store_ctl_plans_list(struct store *, const struct ctl_plan_filter *,
	    struct ctl_plan **rows, size_t *n);

#endif
