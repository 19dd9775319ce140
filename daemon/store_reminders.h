/*
 * Storage operations of the reminder engine (scheduler.c, fire.c, sources.c,
 * escalate.c, digest.c).  Write operations run inside a transaction the
 * caller opened with store_begin(), so that one reminder's notification,
 * outbox rows, state change, follow-on occurrence and audit row commit
 * together or not at all.  Returns are STORE_OK, STORE_BUSY or STORE_ERR
 * unless said otherwise.
 */
#ifndef CRMD_STORE_REMINDERS_H
#define CRMD_STORE_REMINDERS_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* PRAGMA data_version: changes when another connection commits. */
int	store_data_version(struct store *, int64_t *version);

/*
 * The earliest instant at which the engine has work: a pending reminder's
 * due_at, a snoozed one's snoozed_until, or a fired one's escalate_at.
 * *at = 0 when there is none.  One indexed query.
 */
int	store_next_event(struct store *, int64_t *at);

/* A reminder that is due, with what its messages need. */
struct due_row {
	int64_t	 id;
	int64_t	 customer_id;
	int64_t	 user_id;
	int64_t	 plan_id;		/* 0: not a plan occurrence */
	int64_t	 due_at;		/* snoozed_until for a snoozed one */
	int64_t	 manager_id;		/* user's manager, 0 if none */
	int	 kind;			/* enum kind */
	int	 fire_count;
	int	 snoozed;
	char	*channels;		/* reminders.channels ("" = default) */
	char	*note;
	char	*source;
	char	*dedup_key;
	char	*c_name, *c_code, *c_level, *c_status, *c_phone, *c_email;
	char	*u_name, *u_email, *u_phone;
	char	*ct_name, *ct_phone;	/* primary contact */
	int	 orphan;		/* its customer or user is gone */
};

/* Up to limit reminders due at or before now, oldest first. */
int	store_due_fetch(struct store *, int64_t now, int limit,
	    struct due_row **rows, size_t *n);
void	store_due_free(struct due_row *rows, size_t n);

/* An in-app notification row. */
int	store_notification_add(struct store *, int64_t user_id,
	    int64_t customer_id, int64_t reminder_id, const char *title,
	    const char *body, int64_t now);

struct outbox_add {
	const char	*channel;	/* "email", "sms", "webhook" */
	const char	*recipient;
	const char	*subject;
	const char	*body;
	const char	*recipient_name;	/* email's To: name; NULL none */
	const char	*body_html;	/* email's HTML alternative; NULL none */
	const char	*idempotency_key;
	int64_t		 next_attempt_at;
	const char	*dead_reason;	/* non-NULL: born dead, with reason */
	int64_t		 reminder_id;	/* 0: none */
	int64_t		 customer_id;	/* 0: none */
};

/* An outbox row; a duplicate idempotency key is ignored, not an error. */
int	store_outbox_add(struct store *, const struct outbox_add *, int64_t now);

/*
 * Marks a pending or snoozed reminder fired.  Returns STORE_OK with
 * *changed = 0 when it was not in such a state any more (someone else
 * acted first: nothing must be sent then).
 */
int	store_reminder_fired(struct store *, int64_t id, int64_t now, int late,
	    int64_t escalate_at, int *changed);
/* Cancels a pending or snoozed reminder (e.g. its customer is gone). */
int	store_reminder_cancel(struct store *, int64_t id, int *changed);
/* Marks a pending or snoozed reminder missed (too old to fire). */
int	store_reminder_missed(struct store *, int64_t id, int64_t now,
	    int *changed);

struct new_reminder {
	int64_t		 customer_id;
	int64_t		 user_id;
	int64_t		 plan_id;	/* 0: none */
	const char	*kind;		/* "followup", ... */
	int64_t		 due_at;
	const char	*channels;	/* NULL or "" = kind default */
	const char	*note;
	const char	*source;	/* "plan", "contract", ... */
	const char	*dedup_key;	/* NULL: no dedup */
	int		 revive;	/* an existing cancelled row with this
					   key becomes pending again */
};

/*
 * Inserts unless dedup_key exists: *id = new id, or 0 if it existed.  An
 * existing pending row takes the new due time, user, channels and note
 * (the source was edited); a cancelled one is revived only with revive.
 * Revival is for sources whose occurrence can come back: a plan paused
 * and resumed, a contract end date changed and changed back.
 */
int	store_reminder_insert(struct store *, const struct new_reminder *,
	    int64_t *id);

/*
 * Cancels pending reminders whose dedup_key starts with prefix, except
 * keep (NULL: none).  *n = how many.
 */
int	store_reminders_cancel_prefix(struct store *, const char *prefix,
	    const char *keep, int64_t now, int *n);

/* How many pending reminders have a dedup_key starting with prefix. */
int	store_reminders_pending_prefix(struct store *, const char *prefix,
	    int *n);

/* A reminder's series: plan id (0), dedup_key ("" if none), due_at. */
struct series_row {
	int64_t	 plan_id;
	int64_t	 due_at;
	char	 dedup_key[128];
};
int	store_reminder_series(struct store *, int64_t id, struct series_row *,
	    int *found);

/* Cancels the pending occurrence of a plan.  *n = how many. */
int	store_plan_cancel_pending(struct store *, int64_t plan_id, int64_t now,
	    int *n);

/* ---- change log: the CRM application's writes, fed by triggers ---- */

struct change_row {
	int64_t	 id;
	char	 tbl[24];
	int64_t	 row_id;
	char	 op[8];
};

int	store_changes_fetch(struct store *, int limit, struct change_row **rows,
	    size_t *n);
/* Deletes change_log rows with id <= upto (inside the caller's tx). */
int	store_changes_done(struct store *, int64_t upto);

/* ---- source rows; *found = 0 when the row does not exist (deleted) ---- */

struct contract_row {
	int64_t	 customer_id;
	int64_t	 owner_id;		/* customer's owner; 0 if none */
	char	 end_date[16];
	char	 title[512];
};
int	store_contract_get(struct store *, int64_t id, struct contract_row *,
	    int *found);

struct birthday_row {
	int64_t	 customer_id;
	int64_t	 owner_id;
	char	 birthday[16];		/* "" when none */
};
/* tbl is "customers" or "contacts". */
int	store_birthday_get(struct store *, const char *tbl, int64_t id,
	    struct birthday_row *, int *found);

struct followup_row {
	int64_t	 customer_id;
	int64_t	 user_id;
	int64_t	 at;
	int64_t	 next_followup_at;	/* 0 when none */
	char	 next_action[512];
};
int	store_followup_get(struct store *, int64_t id, struct followup_row *,
	    int *found);
/*
 * Cancels pending next-follow-up reminders of customer_id that came from
 * follow-ups recorded before `at` (a newer follow-up supersedes them).
 */
int	store_followups_supersede(struct store *, int64_t customer_id,
	    int64_t followup_id, int64_t at, int64_t now, int *n);

struct plan_row {
	int64_t	 customer_id;
	int64_t	 user_id;
	int64_t	 dtstart;
	int64_t	 until;			/* 0: none */
	int	 active;
	char	*rrule;			/* malloc'd */
	char	*channels;		/* malloc'd */
	char	*name;			/* malloc'd */
};
int	store_plan_get(struct store *, int64_t id, struct plan_row *, int *found);
/* The latest due_at of a series (dedup_key prefix) that fired, was
 * acknowledged or missed: 0 if none. */
int	store_series_last_happened(struct store *, const char *prefix,
	    int64_t *at);
void	store_plan_row_free(struct plan_row *);
/* followup_plans.next_at, for crmctl plan list (0 = none). */
int	store_plan_set_next(struct store *, int64_t id, int64_t next_at);

/* ---- escalation ---- */

struct escalation_row {
	int64_t	 id;			/* reminder */
	int64_t	 customer_id;
	int64_t	 user_id;
	int64_t	 manager_id;		/* 0: none */
	int64_t	 due_at;
	int	 kind;
	char	*note;
	char	*c_name, *c_code, *c_level, *c_status;
	char	*u_name;
	char	*m_name, *m_email, *m_phone;
};
int	store_escalations_fetch(struct store *, int64_t now, int limit,
	    struct escalation_row **rows, size_t *n);
void	store_escalations_free(struct escalation_row *, size_t n);
/* Sets escalated_at; *changed = 0 if acknowledged or escalated meanwhile. */
int	store_reminder_escalated(struct store *, int64_t id, int64_t now,
	    int *changed);

/* ---- digest ---- */

/* Active users who have not had the digest for day ("YYYY-MM-DD"). */
int	store_digest_pending_users(struct store *, const char *day,
	    int64_t **users, size_t *n);

struct digest_item {
	int64_t	 reminder_id;
	int64_t	 due_at;
	int	 kind;
	char	 state[12];
	char	*c_name;
	char	*c_level;
};
/*
 * A user's items: due in [day_start, day_end) and not done, overdue
 * (fired or pending before day_start, unacknowledged), and missed ones
 * not yet reported (missed after since).
 */
int	store_digest_items(struct store *, int64_t user_id, int64_t day_start,
	    int64_t day_end, int64_t since, struct digest_item **items,
	    size_t *n);
void	store_digest_items_free(struct digest_item *, size_t n);
/* Records that user got the digest for day; *changed 0 if already. */
int	store_digest_mark(struct store *, int64_t user_id, const char *day,
	    int64_t now, int *changed);

struct user_contact {
	char	*name, *email, *phone;
};
int	store_user_get(struct store *, int64_t id, struct user_contact *,
	    int *found);
void	store_user_contact_free(struct user_contact *);

/* crmd_state key/value (cursors, last digest). */
int	store_state_get(struct store *, const char *key, int64_t *value,
	    int *found);
int	store_state_set(struct store *, const char *key, int64_t value);

#endif
