/*
 * The per-customer facts rules read (docs/rules.md lists them): each one
 * an SQL expression over customers AS c, with ?1 the current instant and
 * ?2 today's date.  The facts query computes only the facts asked for,
 * for every customer or for a bound list of ids.
 */
#ifndef CRMD_RULES_FACTS_H
#define CRMD_RULES_FACTS_H

#include <stddef.h>
#include <stdint.h>

/* Parameters the facts query uses; a rule's values follow them. */
#define FACT_PARAM_NOW		1	/* integer Unix seconds */
#define FACT_PARAM_TODAY	2	/* text YYYY-MM-DD */
#define FACT_PARAM_IDS		3	/* text JSON array of customer ids */
#define FACT_PARAM_FIRST_VALUE	4

enum fact_type {
	FACT_TEXT,
	FACT_NUMBER,
};

/* A value of an enumerated text fact, and the Chinese name it may go by. */
struct fact_value {
	const char	*stored;	/* what the database holds */
	const char	*alias;		/* or NULL */
};

struct rule_fact {
	const char	*name;
	enum fact_type	 type;
	int		 nullable;	/* may be NULL: comparisons are false */
	int		 money;		/* yuan in rules, fen in SQL */
	const struct fact_value *values; /* enumeration, ends at NULL stored */
	const char	*sql;
};

extern const struct rule_fact	rule_facts[];
extern const size_t		rule_nfacts;

/* The fact of that name (ASCII case ignored), or NULL. */
const struct rule_fact	*rule_fact_find(const char *name, size_t len);

/* The index of f in rule_facts[], its bit in a fact mask. */
size_t			 rule_fact_index(const struct rule_fact *f);

/*
 * Maps a value of an enumerated fact to what the database stores
 * ("意向" to "intent"); NULL when it is not one of them.
 */
const char		*rule_fact_value(const struct rule_fact *f,
			    const char *value);

/*
 * The facts query: "SELECT c.id AS id, <fact> AS <name>, ... FROM
 * customers AS c", the facts in mask (bit i: rule_facts[i]) in table
 * order, restricted to the ids in ?3 when ids is set.  malloc'd; NULL
 * on ENOMEM.
 */
char			*rule_facts_select(uint32_t mask, int ids);

#endif
