/*
 * Storage operations of the automation (docs/rules.md, "Stale flags,
 * event rules, assignment"): the rule_changes feed the event handler
 * reads (events.c), stale flags (stale.c), lead assignment (assign.c) and
 * the rule conditions they evaluate for chosen customers.  Writes run
 * inside a transaction the caller opened with store_begin(); reads hold
 * no transaction past the call.  Returns are STORE_OK, STORE_BUSY or
 * STORE_ERR; strings in rows are malloc'd.
 */
#ifndef CRMD_STORE_AUTOMATION_H
#define CRMD_STORE_AUTOMATION_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct rule_expr;
struct rule_env;

/*
 * Which of env->ids satisfy e: matched[i] = 1 when env->ids[i] does, else
 * 0.  The condition's SQL is prepared for the call (it belongs to a
 * config that a reload may free), so call it once per batch of ids.
 */
int	store_auto_match(struct store *, const struct rule_expr *e,
	    const struct rule_env *env, unsigned char *matched);

/* ---- the change feed: rule_changes (schema v5) ---- */

enum auto_event {
	AE_CUSTOMER_CREATED,
	AE_CHANGED,
	AE_STATUS_CHANGED,	/* detail: the new status */
	AE_TAG_ADDED,		/* detail: the tag's name */
	AE_TAG_REMOVED,
	AE_FOLLOWUP,
};

struct auto_change {
	int64_t	 id;
	int64_t	 customer_id;
	int64_t	 at;
	int	 event;			/* enum auto_event */
	char	*detail;
};

/* Up to limit rows with id > after, in id order. */
int	store_auto_changes_fetch(struct store *, int64_t after, int limit,
	    struct auto_change **rows, size_t *n);
void	store_auto_changes_free(struct auto_change *, size_t n);

/* The highest id (0 when the table is empty). */
int	store_auto_changes_head(struct store *, int64_t *head);

/*
 * Deletes up to limit of the oldest rows with id <= upto, but never the
 * newest row, which keeps the ids growing; *n: how many.
 */
int	store_auto_changes_trim(struct store *, int64_t upto, int limit,
	    int *n);

/* ---- a customer, and the people a message about it goes to ---- */

struct auto_person {
	int64_t	 id;			/* 0: none (or not active) */
	char	*name, *email, *phone;
};

struct auto_customer {
	int64_t	 id;
	int64_t	 owner_id;		/* customers.owner_id; 0: none */
	char	*name, *code, *level, *status, *phone, *email;
	char	*ct_name, *ct_phone;	/* primary contact */
	struct auto_person owner;	/* the owner, when active */
	struct auto_person manager;	/* the owner's manager, when active */
};

int	store_auto_customer_get(struct store *, int64_t id,
	    struct auto_customer *, int *found);
void	store_auto_customer_free(struct auto_customer *);

/* ---- stale flags: customer_flags rows with flag 'stale' ---- */

/*
 * A customer's staleness: its status and last contact (its latest
 * follow-up at or before now, else its creation, as the rules'
 * days_since_followup counts), and its open stale flag (id 0: none).
 */
struct auto_staleness {
	char	 status[16];
	int64_t	 last;
	int64_t	 flag_id;
	char	 reason[160];
};
int	store_auto_staleness(struct store *, int64_t customer_id, int64_t now,
	    struct auto_staleness *, int *found);

/*
 * Customers with status and ids in (lo, hi] whose last contact is at or
 * before `before`, and no open stale flag, in id order.
 */
int	store_auto_stale_candidates(struct store *, const char *status,
	    int64_t lo, int64_t hi, int64_t before, int64_t now,
	    int64_t **ids, size_t *n);

/* The highest customer id (0 when there are none). */
int	store_auto_customers_max(struct store *, int64_t *max);
/* The highest customer_flags id (0 when there are none). */
int	store_auto_flags_max(struct store *, int64_t *max);

/*
 * One sweep's cut-offs, per status that has a `stale` entry (at most the
 * four statuses): stale when the last contact is at or before `before`;
 * escalate a flag whose owner was told at or before `escalate_by` (0:
 * never).  A status not listed has no entry.
 */
#define AUTO_CUTS_MAX	4
struct auto_cut {
	const char	*status;
	int64_t		 before;
	int64_t		 escalate_by;
};

/* An open stale flag with what the sweep decides on. */
struct auto_flag {
	int64_t	 id;
	int64_t	 customer_id;
	int64_t	 since;
	int64_t	 notified_at;		/* 0: not yet */
	int64_t	 escalated_at;		/* 0: not yet */
	int64_t	 owner_id;		/* 0: none */
	int64_t	 last;			/* last contact, as above */
	char	 status[16];
	char	 reason[160];
};

/*
 * Open stale flags with ids in (lo, hi] that may want their owner told
 * (not yet told, the customer has an owner) or the manager told (told at
 * or before some cut's escalate_by, not escalated), in id order.  A
 * superset: the caller decides with the flag's own status.
 */
int	store_auto_flags_due(struct store *, int64_t lo, int64_t hi,
	    const struct auto_cut *, size_t ncuts, int64_t now,
	    struct auto_flag **rows, size_t *n);

/*
 * Open stale flags on customers with ids in (lo, hi] that are no longer
 * stale: their status has no cut, or they had contact after its
 * `before`.  In customer order.
 */
int	store_auto_flags_ended(struct store *, int64_t lo, int64_t hi,
	    const struct auto_cut *, size_t ncuts, int64_t now,
	    struct auto_flag **rows, size_t *n);

/*
 * Raises a stale flag on customer_id if it still has status, its last
 * contact is still at or before `before`, and it has no open stale flag
 * (all checked in the statement, so a follow-up committed since the
 * candidate was read is respected).  *flag_id: the new flag, or 0.
 */
int	store_auto_flag_raise(struct store *, int64_t customer_id,
	    const char *status, int64_t before, int64_t now,
	    const char *reason, int64_t *flag_id);

/* Each changes an open flag once: *changed = 0 when already done or
 * cleared meanwhile (by the CRM, say). */
int	store_auto_flag_clear(struct store *, int64_t flag_id, int64_t now,
	    int *changed);
int	store_auto_flag_notified(struct store *, int64_t flag_id, int64_t now,
	    int *changed);
int	store_auto_flag_escalated(struct store *, int64_t flag_id, int64_t now,
	    int *changed);

/* An open stale flag as `crmctl stale list` shows it. */
struct auto_flag_row {
	int64_t	 id;
	int64_t	 customer_id;
	int64_t	 owner_id;		/* 0: none */
	int64_t	 since;
	int64_t	 notified_at;		/* 0: not yet */
	int64_t	 escalated_at;
	int64_t	 last;			/* last contact */
	char	*customer, *code, *level, *status, *owner, *reason;
};
/* Open stale flags, oldest first; user_id 0: everybody's. */
int	store_auto_flags_list(struct store *, int64_t user_id, int limit,
	    int64_t now, struct auto_flag_row **rows, size_t *n);
void	store_auto_flags_list_free(struct auto_flag_row *, size_t n);

/* ---- reminders made by event rules (dedup_key 'event:...') ---- */

/*
 * A reminder an event rule makes, unless its dedup_key exists already:
 * *id is the new reminder's, or 0.
 */
struct auto_reminder {
	int64_t		 customer_id;
	int64_t		 user_id;
	const char	*kind;
	int64_t		 due_at;
	const char	*channels;	/* "" = the kind's default */
	const char	*note;
	const char	*source;	/* "rule:NAME" */
	const char	*dedup_key;	/* "event:NAME:CHANGE" */
};
int	store_auto_event_reminder_add(struct store *,
	    const struct auto_reminder *, int64_t *id);

struct auto_cancelled {
	int64_t	 id;
	char	 source[128];		/* "rule:NAME" */
};
/*
 * Cancels the pending reminders event rules made for customer_id; what
 * was cancelled goes to *rows (malloc'd, may be NULL when n is 0).
 */
int	store_auto_event_reminders_cancel(struct store *, int64_t customer_id,
	    struct auto_cancelled **rows, size_t *n);

/* ---- lead assignment ---- */

/* Up to limit customers without an owner with id > after, in id order. */
int	store_auto_unowned(struct store *, int64_t after, int limit,
	    int64_t **ids, size_t *n);

/* *active: the user exists and users.active = 1. */
int	store_auto_user_active(struct store *, int64_t user_id, int *active);

/* Open customers (status other than 'lost') the user owns. */
int	store_auto_open_customers(struct store *, int64_t user_id, int64_t *n);

/* Sets the owner only where there is none yet: *changed 0 otherwise. */
int	store_auto_assign(struct store *, int64_t customer_id, int64_t user_id,
	    int *changed);

#endif
