/*
 * Storage operations of the tagging rules (rules_engine.c, control_rules.c):
 * which customers of a scope a rule matches, how that differs from the
 * tags the rules applied (a plan of changes), applying a plan with its
 * audit rows, and the rule_changes feed's cursor.  Writes run inside a
 * transaction the caller opened with store_begin().  Returns are
 * STORE_OK, STORE_BUSY or STORE_ERR unless said otherwise.
 */
#ifndef CRMD_STORE_RULES_H
#define CRMD_STORE_RULES_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct conf_rules;
struct conf_tag_rule;
struct rule_env;

/* The prepared statements of the rules in force (one per rule and scope
 * kind).  Forget them whenever the rules are replaced (a reload). */
struct store_rules;

struct store_rules	*store_rules_new(struct store *);
void			 store_rules_free(struct store_rules *);
void			 store_rules_forget(struct store_rules *);

/* The customers a step looks at: an id range, or a list of ids. */
struct rules_scope {
	int64_t		 lo, hi;	/* lo <= customers.id < hi */
	const int64_t	*ids;		/* or these (sorted, distinct) */
	size_t		 nids;
};

/* One tag to put on or take off one customer. */
struct tag_change {
	int64_t		 customer_id;
	const char	*tag;		/* the rule's own string */
	int		 add;		/* 1: add, 0: remove */
	int		 any_rule;	/* remove: any rule's tag (a remove
					   list), not only this rule's */
};

/* What one rule would change in a scope. */
struct tag_plan {
	size_t		 matched;	/* customers of the scope matching */
	struct tag_change *v;
	size_t		 n, cap;
};

void	tag_plan_free(struct tag_plan *);
void	tag_plan_clear(struct tag_plan *);

/*
 * The customer_tags rows of a scope for every tag the rules name, with
 * whose each is; loaded once per step (store_rules_load) and shared by
 * the rules planned over the scope.
 */
struct scope_tags;
struct scope_tags *scope_tags_new(void);
void	scope_tags_free(struct scope_tags *);
int	store_rules_load(struct store_rules *, const struct conf_rules *rules,
	    const struct rules_scope *, struct scope_tags *);

/*
 * Plans tagging rule r of rules over scope, from its tags t as loaded:
 * tags in r->add for matching customers that lack them (unless a rule
 * whose remove lists the tag matches the customer too: removing wins, so
 * two rules cannot undo each other forever); tags with source
 * "rule:<r->name>" of customers that no longer match; tags in r->remove
 * that a rule applied, of matching customers.  Tags with any other
 * source (people's) are never planned.  Appends to plan.  Reads only.
 */
int	store_rules_plan(struct store_rules *, const struct conf_rules *rules,
	    size_t r, const struct rules_scope *, const struct rule_env *,
	    struct scope_tags *t, struct tag_plan *plan);

/* The customers of a scope matching condition e, sorted, malloc'd. */
struct rule_expr;
int	store_rules_match(struct store_rules *, const struct rule_expr *e,
	    const struct rules_scope *, const struct rule_env *,
	    int64_t **ids, size_t *n);

/*
 * Applies the changes of plan not skipped (skip[i] != 0) for rule r,
 * creating missing tags rows, each with an audit_log row (actor
 * "rule:NAME", action tag.added or tag.removed).  *added and *removed
 * count what changed.  Inside the caller's transaction.
 */
int	store_rules_apply(struct store_rules *, const struct conf_tag_rule *r,
	    const struct tag_plan *plan, const unsigned char *skip,
	    int64_t now, size_t *added, size_t *removed);

/* SELECT max(id) FROM customers (0 when empty). */
int	store_rules_max_customer(struct store *, int64_t *max);

/* The feed: rule_changes.id of the newest row (0 when empty). */
int	store_rules_feed_head(struct store *, int64_t *head);

/*
 * crmd_state key's value (*found 0 when absent), and setting it.  The
 * rules engine keeps "rules.cursor", the event handler "events.cursor":
 * the id of the last rule_changes row each has handled.
 */
int	store_rules_cursor(struct store *, const char *key, int64_t *value,
	    int *found);
int	store_rules_set_cursor(struct store *, const char *key, int64_t value);

/*
 * The distinct customers of the rows after cursor, at most limit rows;
 * *last the id of the last row read (cursor when none).  Sorted ids.
 */
int	store_rules_feed(struct store *, int64_t cursor, int limit,
	    int64_t **ids, size_t *n, int64_t *last);

/* A read transaction (BEGIN DEFERRED) for a consistent dry run. */
int	store_rules_read_begin(struct store *);
void	store_rules_read_end(struct store *);

#endif
