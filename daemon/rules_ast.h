/*
 * Internal to the rule compiler: tokens (rules_lex.c), the syntax tree
 * (rules_parse.c) and the SQL made from it (rules_sql.c).  The rest of
 * crmd sees only rules.h.
 */
#ifndef CRMD_RULES_AST_H
#define CRMD_RULES_AST_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

struct rule_fact;

enum rule_tok {
	TOK_END,
	TOK_WORD,	/* a field, keyword or function name */
	TOK_NUMBER,
	TOK_STRING,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_COMMA,
	TOK_EQ,
	TOK_NE,		/* != or <> */
	TOK_LT,
	TOK_LE,
	TOK_GT,
	TOK_GE,
};

struct rule_token {
	enum rule_tok	 type;
	const char	*start;		/* in the rule text */
	size_t		 len;		/* bytes */
	int		 line, column;
	char		*string;	/* TOK_STRING: decoded, malloc'd */
};

struct rule_lexer {
	const char	*text;
	const char	*p;
	int		 line, column;
};

void	lex_init(struct rule_lexer *, const char *text);
/* The next token, or -1 with *err set.  *tok's string is the caller's. */
int	lex_next(struct rule_lexer *, struct rule_token *tok,
	    struct rule_error *err);
/* Checks text is UTF-8 before lexing; -1 with *err at the bad byte. */
int	lex_check_utf8(const char *text, struct rule_error *err);
/* "end of rule", "'word'", "string 'x'", ... for "found ..." messages. */
void	lex_describe(const struct rule_token *, char *buf, size_t len);
/* Bytes of the first chars characters of s (all of it if shorter). */
int	lex_clip(const char *s, int chars);
/* Characters of the UTF-8 text s[0..len). */
int	lex_width(const char *s, size_t len);

enum rule_value_type {
	VAL_INT,
	VAL_REAL,
	VAL_TEXT,
};

struct rule_value {
	enum rule_value_type	 type;
	int64_t			 i;
	double			 r;
	char			*s;	/* malloc'd */
};

enum rule_node_type {
	NODE_AND,
	NODE_OR,
	NODE_NOT,
	NODE_CMP,	/* fact op value */
	NODE_IN,	/* fact [not] in (values) */
	NODE_NULL,	/* fact is [not] null */
	NODE_TAG,	/* has_tag(value) */
};

struct rule_node {
	enum rule_node_type	 type;
	enum rule_tok		 op;		/* NODE_CMP */
	int			 negated;	/* not in, is not null */
	const struct rule_fact	*fact;
	size_t			 value;		/* first, in expr->values */
	size_t			 nvalues;
	struct rule_node	**kids;		/* AND, OR: 2+; NOT: 1 */
	size_t			 nkids;
};

struct rule_expr {
	struct rule_value	*values;
	size_t			 nvalues;
	uint32_t		 facts;		/* bit i: rule_facts[i] */
	size_t			 nfacts;
	const char		*fact_names[32];
	char			*where;
	char			*sql[4];	/* by RULE_SQL_* flags */
};

/*
 * Parses text into a tree, its values appended to e->values and the
 * facts it reads set in e->facts.  NULL with *err set.
 */
struct rule_node	*rule_parse(const char *text, struct rule_expr *e,
			    struct rule_error *err);
void			 rule_node_free(struct rule_node *);

/* Makes e->where and e->sql[] from the tree.  -1 on ENOMEM. */
int			 rule_gen_sql(struct rule_expr *e,
			    const struct rule_node *root);

/* printf into err->msg at line:column. */
void			 rule_errorf(struct rule_error *err, int line,
			    int column, const char *fmt, ...)
			    __attribute__((format(printf, 4, 5)));

#endif
