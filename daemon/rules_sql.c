/*
 * A parsed rule as SQL: a WHERE condition over the columns of the facts
 * query, whose values are numbered parameters ?4, ?5, ... and are bound
 * by rule_bind(), never written into the text.
 *
 * A fact that may be NULL is compared inside coalesce(..., 0), so every
 * test is plainly true or false: a comparison with a missing value is
 * false, and 'not' of it is true (docs/rules.md).  Two-valued logic also
 * makes 'and' and 'or' commutative, so cheap tests (columns of the
 * customer row) are put before those that probe another table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_ast.h"
#include "rules_facts.h"

struct buf {
	char	*s;
	size_t	 len;
	int	 failed;
};

static void
put(struct buf *b, const char *s)
{
	size_t	 n = strlen(s);
	char	*p;

	if (b->failed)
		return;
	if ((p = realloc(b->s, b->len + n + 1)) == NULL) {
		b->failed = 1;
		return;
	}
	memcpy(p + b->len, s, n + 1);
	b->s = p;
	b->len += n;
}

static void
put_param(struct buf *b, size_t value)
{
	char s[32];

	snprintf(s, sizeof(s), "?%zu", value + FACT_PARAM_FIRST_VALUE);
	put(b, s);
}

/* 0 for a column of the customer row, 1 for a probe of another table. */
static int
cost(const struct rule_node *n)
{
	size_t	i;
	int	c = 0;

	switch (n->type) {
	case NODE_TAG:
		return 1;
	case NODE_AND:
	case NODE_OR:
	case NODE_NOT:
		for (i = 0; i < n->nkids; i++)
			c += cost(n->kids[i]);
		return c;
	default:
		return strstr(n->fact->sql, "SELECT") != NULL;
	}
}

static void	gen(struct buf *, const struct rule_node *);

static void
gen_list(struct buf *b, const struct rule_node *n)
{
	const struct rule_node	**kids;
	const struct rule_node	 *k;
	size_t			  i, j;

	if ((kids = calloc(n->nkids, sizeof(*kids))) == NULL) {
		b->failed = 1;
		return;
	}
	/* Insertion sort by cost, stable: the admin's order otherwise. */
	for (i = 0; i < n->nkids; i++) {
		k = n->kids[i];
		for (j = i; j > 0 && cost(kids[j - 1]) > cost(k); j--)
			kids[j] = kids[j - 1];
		kids[j] = k;
	}
	put(b, "(");
	for (i = 0; i < n->nkids; i++) {
		if (i > 0)
			put(b, n->type == NODE_AND ? " AND " : " OR ");
		gen(b, kids[i]);
	}
	put(b, ")");
	free(kids);
}

static const char *
sql_op(enum rule_tok op)
{
	switch (op) {
	case TOK_EQ:	return " = ";
	case TOK_NE:	return " <> ";
	case TOK_LT:	return " < ";
	case TOK_LE:	return " <= ";
	case TOK_GT:	return " > ";
	default:	return " >= ";
	}
}

static void
gen_test(struct buf *b, const struct rule_node *n)
{
	size_t i;

	if (n->fact->nullable)
		put(b, "coalesce(");
	put(b, "facts.");
	put(b, n->fact->name);
	if (n->type == NODE_CMP) {
		put(b, sql_op(n->op));
		put_param(b, n->value);
	} else {
		put(b, n->negated ? " NOT IN (" : " IN (");
		for (i = 0; i < n->nvalues; i++) {
			if (i > 0)
				put(b, ", ");
			put_param(b, n->value + i);
		}
		put(b, ")");
	}
	if (n->fact->nullable)
		put(b, ", 0)");
}

static void
gen(struct buf *b, const struct rule_node *n)
{
	switch (n->type) {
	case NODE_AND:
	case NODE_OR:
		gen_list(b, n);
		break;
	case NODE_NOT:
		put(b, "NOT ");
		if (n->kids[0]->type != NODE_AND && n->kids[0]->type != NODE_OR)
			put(b, "(");
		gen(b, n->kids[0]);
		if (n->kids[0]->type != NODE_AND && n->kids[0]->type != NODE_OR)
			put(b, ")");
		break;
	case NODE_CMP:
	case NODE_IN:
		gen_test(b, n);
		break;
	case NODE_NULL:
		put(b, "facts.");
		put(b, n->fact->name);
		put(b, n->negated ? " IS NOT NULL" : " IS NULL");
		break;
	case NODE_TAG:
		/* The tag's id is looked up once, then each customer's
		 * (customer_id, tag_id) is one primary key probe. */
		put(b, "EXISTS (SELECT 1 FROM customer_tags AS ct"
		    " WHERE ct.customer_id = facts.id AND ct.tag_id ="
		    " (SELECT t.id FROM tags AS t WHERE t.name = ");
		put_param(b, n->value);
		put(b, "))");
		break;
	}
}

static char *
gen_select(const struct rule_expr *e, int flags)
{
	struct buf	 b = { 0 };
	char		*facts;
	size_t		 i;

	if ((facts = rule_facts_select(e->facts, flags & RULE_SQL_IDS)) == NULL)
		return NULL;
	put(&b, "SELECT facts.id");
	for (i = 0; (flags & RULE_SQL_FACTS) && i < e->nfacts; i++) {
		put(&b, ", facts.");
		put(&b, e->fact_names[i]);
	}
	put(&b, " FROM (");
	put(&b, facts);
	put(&b, ") AS facts WHERE (");
	put(&b, e->where);
	put(&b, ")");
	free(facts);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

int
rule_gen_sql(struct rule_expr *e, const struct rule_node *root)
{
	struct buf	b = { 0 };
	int		flags;

	gen(&b, root);
	if (b.failed) {
		free(b.s);
		return -1;
	}
	e->where = b.s;
	for (flags = 0; flags < 4; flags++)
		if ((e->sql[flags] = gen_select(e, flags)) == NULL)
			return -1;
	return 0;
}

/* "[1,2,3]" for json_each(); NULL on ENOMEM. */
static char *
ids_json(const int64_t *ids, size_t n)
{
	char	*s, *p;
	size_t	 i;

	if ((s = malloc(n * 22 + 3)) == NULL)
		return NULL;
	p = s;
	*p++ = '[';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%lld", i > 0 ? "," : "", (long long)ids[i]);
	*p++ = ']';
	*p = '\0';
	return s;
}

static int
bind_value(sqlite3_stmt *st, int idx, const struct rule_value *v)
{
	switch (v->type) {
	case VAL_INT:
		return sqlite3_bind_int64(st, idx, v->i);
	case VAL_REAL:
		return sqlite3_bind_double(st, idx, v->r);
	default:
		return sqlite3_bind_text(st, idx, v->s, -1, SQLITE_TRANSIENT);
	}
}

int
rule_bind(sqlite3_stmt *st, const struct rule_expr *e,
    const struct rule_env *env)
{
	int	 n = sqlite3_bind_parameter_count(st), rc = SQLITE_OK;
	size_t	 i;
	char	*ids;

	if (n >= FACT_PARAM_NOW)
		rc = sqlite3_bind_int64(st, FACT_PARAM_NOW, env->now);
	if (rc == SQLITE_OK && n >= FACT_PARAM_TODAY)
		rc = sqlite3_bind_text(st, FACT_PARAM_TODAY, env->today, -1,
		    SQLITE_TRANSIENT);
	if (rc == SQLITE_OK && n >= FACT_PARAM_IDS) {
		if ((ids = ids_json(env->ids, env->ids != NULL ? env->nids :
		    0)) == NULL)
			return SQLITE_NOMEM;
		rc = sqlite3_bind_text(st, FACT_PARAM_IDS, ids, -1, free);
	}
	for (i = 0; rc == SQLITE_OK && i < e->nvalues &&
	    (int)i + FACT_PARAM_FIRST_VALUE <= n; i++)
		rc = bind_value(st, (int)i + FACT_PARAM_FIRST_VALUE,
		    &e->values[i]);
	return rc;
}
