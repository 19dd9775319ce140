/*
 * The rule grammar, by recursive descent:
 *
 *	rule	= or END
 *	or	= and { "or" and }
 *	and	= unary { "and" unary }
 *	unary	= "not" unary | "(" or ")" | "has_tag" "(" STRING ")" | test
 *	test	= FIELD ( CMP value | ["not"] "in" "(" value {"," value} ")"
 *		  | "is" ["not"] "null" )
 *
 * Names are resolved and values type-checked here, so a rule that
 * parses also runs.  Every error says what was expected and what was
 * found, at the position of what was found.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_ast.h"
#include "rules_facts.h"

#define WORD_SHOWN	64	/* of an unknown word or value echoed back */

struct parser {
	struct rule_lexer	 lx;
	struct rule_token	 tok;		/* the current token */
	struct rule_expr	*e;
	struct rule_error	*err;
	int			 depth;
};

static struct rule_node	*parse_or(struct parser *, const char *after);

static void
oom(struct parser *p)
{
	rule_errorf(p->err, 0, 0, "out of memory");
}

static int
next(struct parser *p)
{
	free(p->tok.string);
	p->tok.string = NULL;
	return lex_next(&p->lx, &p->tok, p->err);
}

static int
is_word(const struct rule_token *tok, const char *word)
{
	return tok->type == TOK_WORD && tok->len == strlen(word) &&
	    strncasecmp(tok->start, word, tok->len) == 0;
}

static int
is_keyword(const struct rule_token *tok)
{
	static const char *const words[] = {
		"and", "or", "not", "in", "is", "null",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_word(tok, words[i]))
			return 1;
	return 0;
}

/* "expected WHAT[ after 'AFTER'], found ..." at the current token. */
static void
expected(struct parser *p, const char *what, const char *after)
{
	char found[128];

	lex_describe(&p->tok, found, sizeof(found));
	rule_errorf(p->err, p->tok.line, p->tok.column, "expected %s%s%s%s,"
	    " found %s", what, after != NULL ? " after '" : "",
	    after != NULL ? after : "", after != NULL ? "'" : "", found);
}

static struct rule_node *
node_new(struct parser *p, enum rule_node_type type)
{
	struct rule_node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		oom(p);
	else
		n->type = type;
	return n;
}

void
rule_node_free(struct rule_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		rule_node_free(n->kids[i]);
	free(n->kids);
	free(n);
}

static int
add_kid(struct parser *p, struct rule_node *n, struct rule_node *kid)
{
	struct rule_node **kids;

	kids = reallocarray(n->kids, n->nkids + 1, sizeof(*kids));
	if (kids == NULL) {
		oom(p);
		rule_node_free(kid);
		return -1;
	}
	n->kids = kids;
	n->kids[n->nkids++] = kid;
	return 0;
}

/* Appends v to the rule's values; v->s is taken either way. */
static int
add_value(struct parser *p, const struct rule_value *v)
{
	struct rule_expr	*e = p->e;
	struct rule_value	*vals;

	if (e->nvalues == RULE_MAX_VALUES) {
		free(v->s);
		rule_errorf(p->err, p->tok.line, p->tok.column, "more than %d"
		    " values in one rule: split it into several rules",
		    RULE_MAX_VALUES);
		return -1;
	}
	vals = reallocarray(e->values, e->nvalues + 1, sizeof(*vals));
	if (vals == NULL) {
		free(v->s);
		oom(p);
		return -1;
	}
	e->values = vals;
	e->values[e->nvalues++] = *v;
	return 0;
}

/* Appends s to the string in buf of size len, truncating. */
static void
cat(char *buf, const char *s, size_t len)
{
	size_t used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s", s);
}

/* Levenshtein distance of two short ASCII-case-folded words. */
static size_t
distance(const char *a, size_t alen, const char *b)
{
	size_t	 blen = strlen(b), i, j, prev, cur, up;
	size_t	 row[64];

	if (alen >= 64 || blen >= 64)
		return 64;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= blen; j++) {
			up = row[j];
			cur = prev + ((a[i - 1] | 0x20) != (b[j - 1] | 0x20));
			if (up + 1 < cur)
				cur = up + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			row[j] = cur;
			prev = up;
		}
	}
	return row[blen];
}

static int
similar(const char *word, size_t len, const char *name)
{
	size_t nlen = strlen(name);

	if (distance(word, len, name) <= (nlen <= 3 ? 1 : 2))
		return 1;
	/* "orders" for orders_90d, "revenue_365" for revenue_365d. */
	return len >= 3 && ((len < nlen && strncasecmp(word, name, len) == 0) ||
	    (nlen < len && nlen >= 3 && strncasecmp(word, name, nlen) == 0));
}

static void
unknown_field(struct parser *p)
{
	const struct rule_token	*t = &p->tok;
	const char		*names[8];
	char			 list[400] = "";
	size_t			 i, n = 0;
	int			 shown;

	for (i = 0; i < rule_nfacts && n < 4; i++)
		if (similar(t->start, t->len, rule_facts[i].name))
			names[n++] = rule_facts[i].name;
	if (similar(t->start, t->len, "has_tag"))
		names[n++] = "has_tag(\"…\")";
	for (i = 0; i < n; i++) {
		if (i > 0)
			cat(list, i + 1 == n ? " or " : ", ", sizeof(list));
		cat(list, names[i], sizeof(list));
	}
	if (n == 0) {
		for (i = 0; i < rule_nfacts; i++) {
			cat(list, rule_facts[i].name, sizeof(list));
			cat(list, ", ", sizeof(list));
		}
		cat(list, "has_tag(\"…\")", sizeof(list));
	}
	if ((size_t)(shown = lex_clip(t->start, WORD_SHOWN)) > t->len)
		shown = (int)t->len;
	rule_errorf(p->err, t->line, t->column, "unknown field '%.*s': %s %s%s",
	    shown, t->start, n > 0 ? "did you mean" : "the fields are", list,
	    n > 0 ? "?" : "");
}

static void
list_values(const struct rule_fact *f, char *buf, size_t len)
{
	const struct fact_value	*v;
	char			 one[64];

	buf[0] = '\0';
	for (v = f->values; v->stored != NULL; v++) {
		if (v != f->values)
			cat(buf, v[1].stored == NULL ? " or " : ", ", len);
		if (v->alias != NULL)
			snprintf(one, sizeof(one), "%s (%s)", v->stored,
			    v->alias);
		else
			snprintf(one, sizeof(one), "%s", v->stored);
		cat(buf, one, len);
	}
}

/* A quoted value for text fact f; enumerations are mapped and checked. */
static int
text_value(struct parser *p, const struct rule_fact *f)
{
	struct rule_value	 v = { .type = VAL_TEXT };
	const char		*stored;
	char			 list[200];

	if (f->values != NULL) {
		if ((stored = rule_fact_value(f, p->tok.string)) == NULL) {
			list_values(f, list, sizeof(list));
			rule_errorf(p->err, p->tok.line, p->tok.column,
			    "unknown %s '%.*s': expected %s", f->name,
			    lex_clip(p->tok.string, WORD_SHOWN), p->tok.string,
			    list);
			return -1;
		}
		if ((v.s = strdup(stored)) == NULL) {
			oom(p);
			return -1;
		}
	} else {
		v.s = p->tok.string;
		p->tok.string = NULL;
	}
	return add_value(p, &v);
}

/* Yuan with at most 2 decimals, to integer fen. */
static int
money_value(struct parser *p, const struct rule_fact *f, const char *s,
    int64_t *fen)
{
	int64_t		 v = 0;
	const char	*d = s + (*s == '-');
	int		 decimals = -1, digit;

	for (; *d != '\0'; d++) {
		if (*d == '.') {
			decimals = 0;
			continue;
		}
		digit = *d - '0';
		if (decimals >= 0 && ++decimals > 2) {
			rule_errorf(p->err, p->tok.line, p->tok.column, "%s is"
			    " in yuan, with at most 2 decimals", f->name);
			return -1;
		}
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, digit, &v))
			goto range;
	}
	for (decimals = decimals < 0 ? 0 : decimals; decimals < 2; decimals++)
		if (__builtin_mul_overflow(v, 10, &v))
			goto range;
	*fen = *s == '-' ? -v : v;
	return 0;
range:
	rule_errorf(p->err, p->tok.line, p->tok.column, "number out of range");
	return -1;
}

static int
number_value(struct parser *p, const struct rule_fact *f)
{
	struct rule_value	 v = { .type = VAL_INT };
	char			 s[64];
	char			*end;

	if (p->tok.len >= sizeof(s)) {
		rule_errorf(p->err, p->tok.line, p->tok.column,
		    "number out of range");
		return -1;
	}
	memcpy(s, p->tok.start, p->tok.len);
	s[p->tok.len] = '\0';
	if (f->money) {
		if (money_value(p, f, s, &v.i) == -1)
			return -1;
	} else if (strchr(s, '.') != NULL) {
		v.type = VAL_REAL;
		v.r = strtod(s, &end);
	} else {
		errno = 0;
		v.i = strtoll(s, &end, 10);
		if (errno == ERANGE) {
			rule_errorf(p->err, p->tok.line, p->tok.column,
			    "number out of range");
			return -1;
		}
	}
	return add_value(p, &v);
}

/* One value compared with fact f, after the token named after. */
static int
parse_value(struct parser *p, const struct rule_fact *f, const char *after)
{
	switch (p->tok.type) {
	case TOK_NUMBER:
		if (f->type == FACT_TEXT) {
			rule_errorf(p->err, p->tok.line, p->tok.column, "%s is"
			    " text: write the value in quotes, '%.*s'",
			    f->name, p->tok.len > WORD_SHOWN ? WORD_SHOWN :
			    (int)p->tok.len, p->tok.start);
			return -1;
		}
		if (number_value(p, f) == -1)
			return -1;
		break;
	case TOK_STRING:
		if (f->type == FACT_NUMBER) {
			rule_errorf(p->err, p->tok.line, p->tok.column, "%s is"
			    " a number: write the value without quotes",
			    f->name);
			return -1;
		}
		if (text_value(p, f) == -1)
			return -1;
		break;
	default:
		if (is_word(&p->tok, "null")) {
			rule_errorf(p->err, p->tok.line, p->tok.column, "write"
			    " '%s is null' or '%s is not null' to test for a"
			    " missing value", f->name, f->name);
			return -1;
		}
		expected(p, "a value", after);
		return -1;
	}
	return next(p);
}

static struct rule_node *
parse_compare(struct parser *p, const struct rule_fact *f)
{
	struct rule_node	*n;
	char			 op[4];

	snprintf(op, sizeof(op), "%.*s", (int)p->tok.len, p->tok.start);
	if (f->type == FACT_TEXT && p->tok.type != TOK_EQ &&
	    p->tok.type != TOK_NE) {
		rule_errorf(p->err, p->tok.line, p->tok.column, "'%s' compares"
		    " numbers, and %s is text: use =, !=, in or not in", op,
		    f->name);
		return NULL;
	}
	if ((n = node_new(p, NODE_CMP)) == NULL)
		return NULL;
	n->fact = f;
	n->op = p->tok.type;
	n->value = p->e->nvalues;
	n->nvalues = 1;
	if (next(p) == -1 || parse_value(p, f, op) == -1) {
		rule_node_free(n);
		return NULL;
	}
	return n;
}

/* "(" value {"," value} ")", the current token being the "(". */
static struct rule_node *
parse_in(struct parser *p, const struct rule_fact *f, int negated)
{
	struct rule_node *n;

	if ((n = node_new(p, NODE_IN)) == NULL)
		return NULL;
	n->fact = f;
	n->negated = negated;
	n->value = p->e->nvalues;
	if (p->tok.type != TOK_LPAREN) {
		expected(p, "'('", "in");
		goto fail;
	}
	if (next(p) == -1 || parse_value(p, f, "(") == -1)
		goto fail;
	for (n->nvalues = 1; p->tok.type == TOK_COMMA; n->nvalues++)
		if (next(p) == -1 || parse_value(p, f, ",") == -1)
			goto fail;
	if (p->tok.type != TOK_RPAREN) {
		expected(p, "',' or ')' in the list", NULL);
		goto fail;
	}
	if (next(p) == -1)
		goto fail;
	return n;
fail:
	rule_node_free(n);
	return NULL;
}

static struct rule_node *
parse_is_null(struct parser *p, const struct rule_fact *f)
{
	struct rule_node *n;

	if ((n = node_new(p, NODE_NULL)) == NULL)
		return NULL;
	n->fact = f;
	if (is_word(&p->tok, "not")) {
		n->negated = 1;
		if (next(p) == -1)
			goto fail;
	}
	if (!is_word(&p->tok, "null")) {
		expected(p, "'null'", n->negated ? "not" : "is");
		goto fail;
	}
	if (!f->nullable) {
		rule_errorf(p->err, p->tok.line, p->tok.column, "%s always has"
		    " a value, it is never null", f->name);
		goto fail;
	}
	if (next(p) == -1)
		goto fail;
	return n;
fail:
	rule_node_free(n);
	return NULL;
}

/* FIELD and what tests it. */
static struct rule_node *
parse_test(struct parser *p)
{
	const struct rule_fact	*f;
	char			 name[64];

	if ((f = rule_fact_find(p->tok.start, p->tok.len)) == NULL) {
		unknown_field(p);
		return NULL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)p->tok.len, p->tok.start);
	if (next(p) == -1)
		return NULL;
	switch (p->tok.type) {
	case TOK_EQ: case TOK_NE: case TOK_LT: case TOK_LE: case TOK_GT:
	case TOK_GE:
		return parse_compare(p, f);
	case TOK_LPAREN:
		rule_errorf(p->err, p->tok.line, p->tok.column, "%s is a field,"
		    " not a function", f->name);
		return NULL;
	default:
		break;
	}
	if (is_word(&p->tok, "in"))
		return next(p) == -1 ? NULL : parse_in(p, f, 0);
	if (is_word(&p->tok, "not")) {
		if (next(p) == -1)
			return NULL;
		if (!is_word(&p->tok, "in")) {
			expected(p, "'in'", "not");
			return NULL;
		}
		return next(p) == -1 ? NULL : parse_in(p, f, 1);
	}
	if (is_word(&p->tok, "is"))
		return next(p) == -1 ? NULL : parse_is_null(p, f);
	expected(p, "an operator (=, !=, <, <=, >, >=, in, not in, is null)",
	    name);
	return NULL;
}

/* has_tag("name"), the current token being has_tag. */
static struct rule_node *
parse_tag(struct parser *p)
{
	struct rule_node	*n;
	struct rule_value	 v = { .type = VAL_TEXT };

	if (next(p) == -1)
		return NULL;
	if (p->tok.type != TOK_LPAREN) {
		expected(p, "'('", "has_tag");
		return NULL;
	}
	if (next(p) == -1)
		return NULL;
	if (p->tok.type != TOK_STRING) {
		expected(p, "a tag name in quotes", "has_tag(");
		return NULL;
	}
	if (p->tok.string[0] == '\0') {
		rule_errorf(p->err, p->tok.line, p->tok.column, "the tag name"
		    " is empty");
		return NULL;
	}
	if ((n = node_new(p, NODE_TAG)) == NULL)
		return NULL;
	n->value = p->e->nvalues;
	n->nvalues = 1;
	v.s = p->tok.string;
	p->tok.string = NULL;
	if (add_value(p, &v) == -1 || next(p) == -1)
		goto fail;
	if (p->tok.type != TOK_RPAREN) {
		expected(p, "')' after the tag name", NULL);
		goto fail;
	}
	if (next(p) == -1)
		goto fail;
	return n;
fail:
	rule_node_free(n);
	return NULL;
}

/* Enters a "not" or "(" level; -1 past RULE_MAX_DEPTH. */
static int
deeper(struct parser *p)
{
	if (++p->depth <= RULE_MAX_DEPTH)
		return 0;
	rule_errorf(p->err, p->tok.line, p->tok.column, "more than %d nested"
	    " parentheses and 'not': simplify the rule", RULE_MAX_DEPTH);
	return -1;
}

static struct rule_node *
parse_group(struct parser *p)
{
	struct rule_node	*n;
	int			 line = p->tok.line, column = p->tok.column;
	char			 what[64];

	if (deeper(p) == -1 || next(p) == -1)
		return NULL;
	if ((n = parse_or(p, "(")) == NULL)
		return NULL;
	if (p->tok.type != TOK_RPAREN) {
		snprintf(what, sizeof(what), "')' to close the '(' at %d:%d",
		    line, column);
		expected(p, what, NULL);
		rule_node_free(n);
		return NULL;
	}
	p->depth--;
	if (next(p) == -1) {
		rule_node_free(n);
		return NULL;
	}
	return n;
}

static struct rule_node *
parse_unary(struct parser *p, const char *after)
{
	struct rule_node *n, *kid;

	if (is_word(&p->tok, "not")) {
		if (deeper(p) == -1 || next(p) == -1)
			return NULL;
		if ((kid = parse_unary(p, "not")) == NULL)
			return NULL;
		p->depth--;
		if ((n = node_new(p, NODE_NOT)) == NULL) {
			rule_node_free(kid);
			return NULL;
		}
		if (add_kid(p, n, kid) == -1) {
			rule_node_free(n);
			return NULL;
		}
		return n;
	}
	if (p->tok.type == TOK_LPAREN)
		return parse_group(p);
	if (is_word(&p->tok, "has_tag"))
		return parse_tag(p);
	if (p->tok.type == TOK_WORD && !is_keyword(&p->tok))
		return parse_test(p);
	expected(p, "a condition", after);
	return NULL;
}

/*
 * and/or: one or more operands joined by the keyword word; after names
 * the token before the first operand, for errors.
 */
static struct rule_node *
parse_list(struct parser *p, const char *word, enum rule_node_type type,
    const char *after)
{
	struct rule_node	*first, *n, *kid;

	if ((first = type == NODE_OR ? parse_list(p, "and", NODE_AND, after) :
	    parse_unary(p, after)) == NULL)
		return NULL;
	if (!is_word(&p->tok, word))
		return first;
	if ((n = node_new(p, type)) == NULL) {
		rule_node_free(first);
		return NULL;
	}
	if (add_kid(p, n, first) == -1)
		goto fail;
	while (is_word(&p->tok, word)) {
		if (next(p) == -1)
			goto fail;
		kid = type == NODE_OR ? parse_list(p, "and", NODE_AND, word) :
		    parse_unary(p, word);
		if (kid == NULL || add_kid(p, n, kid) == -1)
			goto fail;
	}
	return n;
fail:
	rule_node_free(n);
	return NULL;
}

static struct rule_node *
parse_or(struct parser *p, const char *after)
{
	return parse_list(p, "or", NODE_OR, after);
}

struct rule_node *
rule_parse(const char *text, struct rule_expr *e, struct rule_error *err)
{
	struct parser		 p = { .e = e, .err = err };
	struct rule_node	*root = NULL;

	lex_init(&p.lx, text);
	if (next(&p) == -1)
		goto done;
	if ((root = parse_or(&p, NULL)) == NULL)
		goto done;
	if (p.tok.type != TOK_END) {
		expected(&p, "'and', 'or' or the end of the rule", NULL);
		rule_node_free(root);
		root = NULL;
	}
done:
	free(p.tok.string);
	return root;
}
