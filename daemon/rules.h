/*
 * The rule condition language (docs/rules.md): an admin's `when` text,
 * e.g. status = '意向' and days_since_followup > 7, compiled once into a
 * parameterised SQLite query over the per-customer facts
 * (rules_facts.h).  Values from the text are only ever bound, never
 * pasted into SQL.  Only the facts a rule reads are computed.
 *
 *	struct rule_error	 err;
 *	struct rule_expr	*e = rule_compile(text, &err);
 *	... sqlite3_prepare_v2(db, rule_sql(e, 0), -1, &st, NULL);
 *	... rule_bind(st, e, &env); while (sqlite3_step(st) == SQLITE_ROW)
 *		id = sqlite3_column_int64(st, 0);
 */
#ifndef CRMD_RULES_H
#define CRMD_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define RULE_MAX_LEN	4096	/* bytes of rule text */
#define RULE_MAX_DEPTH	32	/* nested parentheses and 'not' */
#define RULE_MAX_VALUES	256	/* literals (bound values) in one rule */

/*
 * Where and why a rule failed to compile.  line and column are 1-based
 * within the rule text (columns count characters, not bytes); the caller
 * adds its FILE and the config line: "crmd.conf:41:14: msg".
 */
struct rule_error {
	int		 line;
	int		 column;
	char		 msg[512];	/* no position, no trailing newline */
};

struct rule_expr;

/*
 * Compiles text.  NULL with *err filled on a syntax, name, type or limit
 * error (or when memory runs out: line and column are then 0).
 */
struct rule_expr	*rule_compile(const char *text, struct rule_error *err);
void			 rule_free(struct rule_expr *);

/* rule_sql() flags. */
#define RULE_SQL_IDS	0x1	/* only the customers in rule_env.ids */
#define RULE_SQL_FACTS	0x2	/* the facts the rule reads as columns */

/*
 * A SELECT whose rows are the matching customers: column 0 is the
 * customer id; with RULE_SQL_FACTS, columns 1... are rule_fact_name(e, 0)
 * ... in order.  Rows come in no particular order.  The text ends with
 * its parenthesised WHERE clause, so a caller may append, e.g.,
 * " AND facts.id > ?N ORDER BY facts.id LIMIT ?M", numbering its own
 * parameters above rule_param_count().  Owned by e.
 */
const char		*rule_sql(const struct rule_expr *, int flags);

/* The condition alone, over the columns facts.<name> of the facts query. */
const char		*rule_where(const struct rule_expr *);

/* The facts the rule reads, in the order of the RULE_SQL_FACTS columns. */
size_t			 rule_fact_count(const struct rule_expr *);
const char		*rule_fact_name(const struct rule_expr *, size_t i);

/* The highest parameter number rule_sql()'s statements use. */
int			 rule_param_count(const struct rule_expr *);

/* What a rule is evaluated against. */
struct rule_env {
	int64_t		 now;		/* Unix seconds */
	const char	*today;		/* YYYY-MM-DD in crmd's time zone */
	const int64_t	*ids;		/* RULE_SQL_IDS: the customers */
	size_t		 nids;
};

/*
 * Binds env and the rule's values to a statement prepared from
 * rule_sql(e, ...).  SQLITE_OK or SQLite's error code.
 */
int			 rule_bind(sqlite3_stmt *, const struct rule_expr *,
			    const struct rule_env *);

#endif
