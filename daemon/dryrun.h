/*
 * A dry run of one rule, for crmctl rule test: how many customers its
 * condition matches, the first few with the facts it read, and, for a
 * tagging rule, which tags a sweep would add or remove, all from one
 * snapshot of the database.  It writes nothing.
 *
 * It runs on a worker thread (offload.h) while the loop may reload the
 * configuration and free the rules it came from, so it holds copies of
 * everything it reads: the tagging rules compiled anew from their text,
 * names, the time of the evaluation.
 */
#ifndef CRMD_DRYRUN_H
#define CRMD_DRYRUN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "conf_rules.h"
#include "rules.h"

struct store;
struct ctl_sample;

/* Customers a tag would be added to, or removed from. */
struct dryrun_change {
	const char	*tag;		/* the copy's string */
	int		 add;		/* 1: added, 0: removed */
	int64_t		 customers;
	int64_t		*sample;	/* the first of them, up to limit */
	size_t		 nsample;
};

struct dryrun {
	/* What runs: copies, owned. */
	char			*name;
	const char		*kind;		/* "tagging" or "event" */
	char			*when;
	const struct rule_expr	*e;		/* the condition */
	struct rule_expr	*event_when;	/* an event rule's, owned */
	struct conf_rules	 rules;		/* tagging rules only */
	ssize_t			 ri;		/* index of the tagging rule, or -1 */
	struct rule_env		 env;
	char			 today[16];
	int			 limit;

	/* What it found: valid when rc is STORE_OK. */
	int			 rc;		/* STORE_OK, _BUSY or _ERR */
	char			*error;		/* otherwise, why */
	int64_t			 matched;
	struct dryrun_change	*changes;
	size_t			 nchanges;
	struct ctl_sample	*sample;
	size_t			 nsample;
};

/*
 * A dry run of the rule called name in rules, evaluated at now (today
 * being its local date), showing limit customers.  NULL with *why when
 * there is no such rule or the event rule has no condition; NULL with
 * *why NULL when memory ran out.  Loop thread.
 */
struct dryrun	*dryrun_new(const struct conf_rules *rules, const char *name,
		    int limit, int64_t now, const char *today,
		    const char **why);

/* Runs it on s, which only this thread uses, in one read transaction. */
void		 dryrun_run(struct dryrun *, struct store *s);

void		 dryrun_free(struct dryrun *);

#endif
