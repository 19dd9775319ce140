/*
 * rule_compile(): checks the text against the limits, parses it, and
 * makes its SQL once; the accessors of rules.h.
 */
#include <stdlib.h>
#include <string.h>

#include "rules_ast.h"
#include "rules_facts.h"

/* Records which facts the tree reads, in the facts table's order. */
static void
note_facts(struct rule_expr *e, const struct rule_node *n)
{
	size_t i;

	if (n->fact != NULL)
		e->facts |= UINT32_C(1) << rule_fact_index(n->fact);
	for (i = 0; i < n->nkids; i++)
		note_facts(e, n->kids[i]);
}

static void
name_facts(struct rule_expr *e)
{
	size_t i;

	for (i = 0; i < rule_nfacts; i++)
		if (e->facts & (UINT32_C(1) << i))
			e->fact_names[e->nfacts++] = rule_facts[i].name;
}

struct rule_expr *
rule_compile(const char *text, struct rule_error *err)
{
	struct rule_expr	*e;
	struct rule_node	*root;
	size_t			 len = strlen(text);

	memset(err, 0, sizeof(*err));
	if (len > RULE_MAX_LEN) {
		rule_errorf(err, 1, 1, "the rule is %zu bytes long, more than"
		    " the limit of %d: split it into several rules", len,
		    RULE_MAX_LEN);
		return NULL;
	}
	if (lex_check_utf8(text, err) == -1)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		rule_errorf(err, 0, 0, "out of memory");
		return NULL;
	}
	if ((root = rule_parse(text, e, err)) == NULL) {
		rule_free(e);
		return NULL;
	}
	note_facts(e, root);
	name_facts(e);
	if (rule_gen_sql(e, root) == -1) {
		rule_errorf(err, 0, 0, "out of memory");
		rule_node_free(root);
		rule_free(e);
		return NULL;
	}
	rule_node_free(root);
	return e;
}

void
rule_free(struct rule_expr *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nvalues; i++)
		free(e->values[i].s);
	free(e->values);
	free(e->where);
	for (i = 0; i < sizeof(e->sql) / sizeof(e->sql[0]); i++)
		free(e->sql[i]);
	free(e);
}

const char *
rule_sql(const struct rule_expr *e, int flags)
{
	return e->sql[flags & (RULE_SQL_IDS | RULE_SQL_FACTS)];
}

const char *
rule_where(const struct rule_expr *e)
{
	return e->where;
}

size_t
rule_fact_count(const struct rule_expr *e)
{
	return e->nfacts;
}

const char *
rule_fact_name(const struct rule_expr *e, size_t i)
{
	return i < e->nfacts ? e->fact_names[i] : NULL;
}

int
rule_param_count(const struct rule_expr *e)
{
	return FACT_PARAM_FIRST_VALUE - 1 + (int)e->nvalues;
}
