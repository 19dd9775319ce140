/*
 * The automation part of crmd.conf (docs/rules.md): tagging rules, event
 * rules, stale-customer flags and lead assignment.  Filled by conf.c; each
 * `when` is compiled once at load (rules.h), its errors reported as
 * FILE:LINE:COLUMN.  Read by the rules engine (rules_engine.c), the stale
 * sweep (stale.c), the event handler (events.c) and assignment (assign.c).
 */
#ifndef CRMD_CONF_RULES_H
#define CRMD_CONF_RULES_H

#include <stddef.h>
#include <stdint.h>

struct rule_expr;

/* rules = ( { name; when; add = [...]; remove = [...]; }, ... ) */
struct conf_tag_rule {
	char		 *name;		/* unique; tags it adds have source
					   "rule:<name>" */
	char		 *when_text;	/* as written, for `crmctl rule list` */
	struct rule_expr *when;		/* compiled */
	char		**add;		/* tag names, UTF-8 */
	size_t		  nadd;
	char		**remove;	/* tags this rule removes when it
					   matches (its own or manual? see
					   docs/rules.md) */
	size_t		  nremove;
	int		  line;		/* config line, for messages */
};

enum rule_event {
	EV_TAG_ADDED,		/* on = "tag_added:<tag>" */
	EV_TAG_REMOVED,		/* on = "tag_removed:<tag>" */
	EV_STATUS_CHANGED,	/* on = "status_changed:<status>" */
	EV_CUSTOMER_CREATED,	/* on = "customer_created" */
	EV_FOLLOWUP,		/* on = "followup" */
};

/* rules = ( { name; on; when; remind = {...}; notify = {...}; }, ... ) */
struct conf_event_rule {
	char		 *name;
	enum rule_event	  on;
	char		 *on_arg;	/* the tag or status (English value);
					   NULL for customer_created/followup */
	char		 *when_text;	/* optional */
	struct rule_expr *when;		/* NULL: always */
	int		  has_remind;
	int		  remind_kind;	/* enum kind, e.g. KIND_CALLBACK */
	int64_t		  remind_within;	/* seconds: due this long after
						   the event */
	unsigned	  remind_channels;	/* CH_BIT mask */
	char		 *remind_note;	/* optional */
	int		  has_notify;
	unsigned	  notify_channels;	/* tell the owner now */
	char		 *notify_text;	/* optional template text; NULL: built-in */
	int		  line;
};

/* stale = ( { status; days; escalate_after; channels = [...]; }, ... ) */
struct conf_stale {
	char		*status;	/* English value: potential, intent, won,
					   lost (Chinese accepted in the config) */
	int		 days;
	int64_t		 escalate_after;	/* seconds; 0: never */
	unsigned	 channels;	/* CH_BIT mask; inapp always */
	int		 line;
};

enum assign_method { ASSIGN_ROUND_ROBIN, ASSIGN_LEAST_LOADED };

/* assign = ( { when; users = [...]; method; }, ... ), first match wins */
struct conf_assign {
	char		 *when_text;
	struct rule_expr *when;		/* NULL: every unowned customer */
	int64_t		 *users;	/* users.id values */
	size_t		  nusers;
	enum assign_method method;
	int		  line;
};

/* Frees what a tagging rule holds (not the rule itself). */
void	conf_tag_rule_free(struct conf_tag_rule *);

struct conf_rules {
	struct conf_tag_rule	*tag_rules;
	size_t			 ntag_rules;
	struct conf_event_rule	*event_rules;
	size_t			 nevent_rules;
	struct conf_stale	*stale;
	size_t			 nstale;
	struct conf_assign	*assign;
	size_t			 nassign;
	int64_t			 interval;	/* rules_interval, seconds;
						   default 10 min */
};

#endif
