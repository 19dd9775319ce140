/*
 * The per-customer facts (docs/rules.md), as SQL expressions over
 * customers AS c.  Aggregates are correlated subqueries that each read a
 * range of one index (orders(customer_id, ordered_at), followups(
 * customer_id, at), contracts(customer_id)), so a rule costs one index
 * probe per customer and fact it reads, the same for one customer as
 * per customer of a full sweep, and nothing for facts it does not read.
 */
#include "rules_facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NOW	"?1"
#define TODAY	"?2"

/* Windows, in seconds before now: (now - window, now]. */
#define D30	"2592000"
#define D90	"7776000"
#define D180	"15552000"
#define D365	"31536000"

#define ORDERS_IN(window)						\
	"FROM orders AS o WHERE o.customer_id = c.id"			\
	" AND o.ordered_at > " NOW " - " window " AND o.ordered_at <= " NOW

#define LAST_ORDER							\
	"FROM orders AS o WHERE o.customer_id = c.id AND o.ordered_at <= " NOW

/*
 * RFM scores, 1 (worst) to 5, on fixed thresholds (docs/rules.md): a
 * score is a CASE over one aggregate of one index range, which SQLite
 * computes once however often the CASE names it.
 */
#define R_SQL								\
	"(SELECT CASE WHEN max(o.ordered_at) IS NULL THEN 1"		\
	" WHEN max(o.ordered_at) > " NOW " - " D30 " THEN 5"		\
	" WHEN max(o.ordered_at) > " NOW " - " D90 " THEN 4"		\
	" WHEN max(o.ordered_at) > " NOW " - " D180 " THEN 3"		\
	" WHEN max(o.ordered_at) > " NOW " - " D365 " THEN 2"		\
	" ELSE 1 END " LAST_ORDER ")"

#define F_SQL								\
	"(SELECT CASE WHEN count(*) >= 12 THEN 5 WHEN count(*) >= 6 THEN 4"	\
	" WHEN count(*) >= 3 THEN 3 WHEN count(*) >= 1 THEN 2 ELSE 1 END "	\
	ORDERS_IN(D365) ")"

/* Fen: 100,000 / 30,000 / 10,000 yuan, or anything at all. */
#define M_SQL								\
	"(SELECT CASE WHEN sum(o.amount) >= 10000000 THEN 5"		\
	" WHEN sum(o.amount) >= 3000000 THEN 4"				\
	" WHEN sum(o.amount) >= 1000000 THEN 3"				\
	" WHEN sum(o.amount) > 0 THEN 2 ELSE 1 END " ORDERS_IN(D365) ")"

static const struct fact_value statuses[] = {
	{ "potential", "潜在" },
	{ "intent", "意向" },
	{ "won", "成交" },
	{ "lost", "流失" },
	{ NULL, NULL },
};

static const struct fact_value levels[] = {
	{ "A", NULL },
	{ "B", NULL },
	{ "C", NULL },
	{ NULL, NULL },
};

static const struct fact_value kinds[] = {
	{ "company", "企业" },
	{ "person", "个人" },
	{ NULL, NULL },
};

const struct rule_fact rule_facts[] = {
	{ "status", FACT_TEXT, 0, 0, statuses, "c.status" },
	{ "level", FACT_TEXT, 1, 0, levels, "c.level" },
	{ "kind", FACT_TEXT, 0, 0, kinds, "c.kind" },
	{ "industry", FACT_TEXT, 1, 0, NULL, "c.industry" },
	{ "source", FACT_TEXT, 1, 0, NULL, "c.source" },
	{ "region", FACT_TEXT, 1, 0, NULL, "c.region" },
	{ "owner_id", FACT_NUMBER, 1, 0, NULL, "c.owner_id" },
	{ "days_since_created", FACT_NUMBER, 0, 0, NULL,
	    "(" NOW " - c.created_at) / 86400" },
	{ "days_since_followup", FACT_NUMBER, 0, 0, NULL,
	    "(" NOW " - coalesce((SELECT max(fu.at) FROM followups AS fu"
	    " WHERE fu.customer_id = c.id AND fu.at <= " NOW "),"
	    " c.created_at)) / 86400" },
	{ "followups_30d", FACT_NUMBER, 0, 0, NULL,
	    "(SELECT count(*) FROM followups AS fu WHERE fu.customer_id = c.id"
	    " AND fu.at > " NOW " - " D30 " AND fu.at <= " NOW ")" },
	{ "orders_90d", FACT_NUMBER, 0, 0, NULL,
	    "(SELECT count(*) " ORDERS_IN(D90) ")" },
	{ "orders_365d", FACT_NUMBER, 0, 0, NULL,
	    "(SELECT count(*) " ORDERS_IN(D365) ")" },
	{ "revenue_90d", FACT_NUMBER, 0, 1, NULL,
	    "(SELECT coalesce(sum(o.amount), 0) " ORDERS_IN(D90) ")" },
	{ "revenue_365d", FACT_NUMBER, 0, 1, NULL,
	    "(SELECT coalesce(sum(o.amount), 0) " ORDERS_IN(D365) ")" },
	{ "days_since_order", FACT_NUMBER, 1, 0, NULL,
	    "(SELECT (" NOW " - max(o.ordered_at)) / 86400 " LAST_ORDER ")" },
	/* Dates are whole days, so the julianday difference is exact. */
	{ "contract_days_left", FACT_NUMBER, 1, 0, NULL,
	    "(SELECT CAST(julianday(min(k.end_date)) - julianday(" TODAY ")"
	    " AS INTEGER) FROM contracts AS k WHERE k.customer_id = c.id"
	    " AND k.start_date <= " TODAY " AND k.end_date >= " TODAY ")" },
	{ "r", FACT_NUMBER, 0, 0, NULL, R_SQL },
	{ "f", FACT_NUMBER, 0, 0, NULL, F_SQL },
	{ "m", FACT_NUMBER, 0, 0, NULL, M_SQL },
};

const size_t rule_nfacts = sizeof(rule_facts) / sizeof(rule_facts[0]);

/* A rule's facts are a 32-bit mask. */
_Static_assert(sizeof(rule_facts) / sizeof(rule_facts[0]) <= 32,
    "too many facts for a uint32_t mask");

const struct rule_fact *
rule_fact_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < rule_nfacts; i++) {
		if (strlen(rule_facts[i].name) == len &&
		    strncasecmp(rule_facts[i].name, name, len) == 0)
			return &rule_facts[i];
	}
	return NULL;
}

size_t
rule_fact_index(const struct rule_fact *f)
{
	return (size_t)(f - rule_facts);
}

const char *
rule_fact_value(const struct rule_fact *f, const char *value)
{
	const struct fact_value *v;

	for (v = f->values; v != NULL && v->stored != NULL; v++) {
		if (strcmp(value, v->stored) == 0 ||
		    (v->alias != NULL && strcmp(value, v->alias) == 0))
			return v->stored;
	}
	return NULL;
}

/* Appends s to the malloc'd *buf of *len bytes; -1 on ENOMEM. */
static int
append(char **buf, size_t *len, const char *s)
{
	size_t	 n = strlen(s);
	char	*p;

	if ((p = realloc(*buf, *len + n + 1)) == NULL)
		return -1;
	memcpy(p + *len, s, n + 1);
	*buf = p;
	*len += n;
	return 0;
}

char *
rule_facts_select(uint32_t mask, int ids)
{
	char	*sql = NULL;
	size_t	 len = 0, i;
	int	 rc;

	rc = append(&sql, &len, "SELECT c.id AS id");
	for (i = 0; i < rule_nfacts && rc == 0; i++) {
		if ((mask & (UINT32_C(1) << i)) == 0)
			continue;
		rc = append(&sql, &len, ", ");
		if (rc == 0)
			rc = append(&sql, &len, rule_facts[i].sql);
		if (rc == 0)
			rc = append(&sql, &len, " AS ");
		if (rc == 0)
			rc = append(&sql, &len, rule_facts[i].name);
	}
	if (rc == 0)
		rc = append(&sql, &len, " FROM customers AS c");
	/* json_each() takes the whole list as one bound value. */
	if (rc == 0 && ids)
		rc = append(&sql, &len, " WHERE c.id IN"
		    " (SELECT value FROM json_each(?3))");
	if (rc == -1) {
		free(sql);
		return NULL;
	}
	return sql;
}
