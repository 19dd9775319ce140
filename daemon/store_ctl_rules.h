/*
 * Storage reads behind the rule commands (control_rules.c): a customer's
 * tags, the audit log, and the sample rows of a dry run with the facts
 * the rule read.  Reads only; strings malloc'd.  Returns are STORE_OK,
 * STORE_BUSY or STORE_ERR.
 */
#ifndef CRMD_STORE_CTL_RULES_H
#define CRMD_STORE_CTL_RULES_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct rule_expr;
struct rule_env;

struct ctl_tag {
	char	*tag;
	char	*source;		/* "manual" or "rule:NAME" */
	int64_t	 added_at;
};

/* The customer's name (*found 0: no such customer) and its tags by name. */
int	store_ctl_tags(struct store *, int64_t customer_id, char **name,
	    int *found, struct ctl_tag **rows, size_t *n);
void	store_ctl_tags_free(struct ctl_tag *, size_t n);

struct ctl_audit {
	int64_t	 id;
	int64_t	 at;
	int64_t	 customer_id;		/* 0: none */
	char	*actor;
	char	*action;
	char	*detail;
};

/* Newest first; customer_id 0: every row. */
int	store_ctl_audit(struct store *, int64_t customer_id, int limit,
	    struct ctl_audit **rows, size_t *n);
void	store_ctl_audit_free(struct ctl_audit *, size_t n);

/* One fact's value as SQLite returned it. */
struct ctl_value {
	int	 type;		/* SQLITE_INTEGER, _FLOAT, _TEXT, _NULL */
	int64_t	 i;
	double	 r;
	char	*s;
};

struct ctl_sample {
	int64_t		 id;
	char		*name;
	struct ctl_value *facts;	/* rule_fact_count(e) of them */
};

/* The first limit customers (by id) matching e, with its facts. */
int	store_ctl_rule_sample(struct store *, const struct rule_expr *e,
	    const struct rule_env *, int limit, struct ctl_sample **rows,
	    size_t *n);
void	store_ctl_sample_free(struct ctl_sample *, size_t n, size_t nfacts);

#endif
