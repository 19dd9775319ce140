/*
 * Tokens of the rule language: words, numbers, quoted strings (a quote
 * inside is doubled), parentheses, commas and comparison operators.
 * Positions are line and column in characters, as an editor shows them,
 * so Chinese text before an error does not shift the column.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_ast.h"

#define DESCRIBE_MAX	24	/* characters of a string quoted in errors */

void
rule_errorf(struct rule_error *err, int line, int column, const char *fmt,
    ...)
{
	va_list ap;

	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static int
is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

int
lex_width(const char *s, size_t len)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < len; i++)
		if (!is_cont((unsigned char)s[i]))
			n++;
	return n;
}

/* Bytes of the well-formed UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	uint32_t	cp;
	size_t		n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if (!is_cont(p[i]))
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
lex_check_utf8(const char *text, struct rule_error *err)
{
	const unsigned char	*p = (const unsigned char *)text;
	int			 line = 1, column = 1;
	size_t			 n;

	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0) {
			rule_errorf(err, line, column, "invalid UTF-8 (byte"
			    " 0x%02x): save the configuration as UTF-8", *p);
			return -1;
		}
		if (*p == '\n')
			line++, column = 1;
		else
			column++;
		p += n;
	}
	return 0;
}

void
lex_init(struct rule_lexer *lx, const char *text)
{
	lx->text = lx->p = text;
	lx->line = lx->column = 1;
}

/* Moves past n bytes that hold no newline. */
static void
advance(struct rule_lexer *lx, size_t n)
{
	lx->column += lex_width(lx->p, n);
	lx->p += n;
}

static void
skip_space(struct rule_lexer *lx)
{
	for (;;) {
		if (*lx->p == '\n') {
			lx->p++;
			lx->line++;
			lx->column = 1;
		} else if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')
			advance(lx, 1);
		else
			return;
	}
}

static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A quoted string, the quote doubled inside it; decoded into tok. */
static int
lex_string(struct rule_lexer *lx, struct rule_token *tok,
    struct rule_error *err)
{
	char		 quote = *lx->p;
	const char	*p = lx->p + 1;
	char		*out;
	size_t		 n = 0;

	if ((out = malloc(strlen(p) + 1)) == NULL) {
		rule_errorf(err, 0, 0, "out of memory");
		return -1;
	}
	for (;;) {
		if (*p == '\0' || *p == '\n') {
			free(out);
			rule_errorf(err, tok->line, tok->column, "unterminated"
			    " string: add the closing %c on the same line",
			    quote);
			return -1;
		}
		if (*p == quote) {
			if (p[1] != quote)
				break;
			p++;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	tok->type = TOK_STRING;
	tok->string = out;
	advance(lx, (size_t)(p + 1 - lx->p));
	return 0;
}

/* digits, an optional fraction, an optional leading minus. */
static int
lex_number(struct rule_lexer *lx, struct rule_token *tok,
    struct rule_error *err)
{
	const char *p = lx->p;

	if (*p == '-')
		p++;
	while (is_digit(*p))
		p++;
	if (*p == '.') {
		if (!is_digit(p[1])) {
			rule_errorf(err, tok->line, tok->column, "a number"
			    " needs digits after its '.'");
			return -1;
		}
		p++;
		while (is_digit(*p))
			p++;
	}
	if (is_word((unsigned char)*p) || *p == '.') {
		while (is_word((unsigned char)*p) || *p == '.')
			p++;
		rule_errorf(err, tok->line, tok->column, "invalid number"
		    " '%.*s'", (int)(p - lx->p), lx->p);
		return -1;
	}
	tok->type = TOK_NUMBER;
	advance(lx, (size_t)(p - lx->p));
	return 0;
}

/* The operators, longest first; hints for those of other languages. */
static const struct {
	const char	*text;
	enum rule_tok	 type;
	const char	*hint;
} ops[] = {
	{ "<>", TOK_NE, NULL },
	{ "!=", TOK_NE, NULL },
	{ "<=", TOK_LE, NULL },
	{ ">=", TOK_GE, NULL },
	{ "==", TOK_EQ, "write '=' rather than '=='" },
	{ "&&", TOK_END, "write 'and' rather than '&&'" },
	{ "||", TOK_END, "write 'or' rather than '||'" },
	{ "!", TOK_END, "write 'not' or '!=' rather than '!'" },
	{ "=", TOK_EQ, NULL },
	{ "<", TOK_LT, NULL },
	{ ">", TOK_GT, NULL },
	{ "(", TOK_LPAREN, NULL },
	{ ")", TOK_RPAREN, NULL },
	{ ",", TOK_COMMA, NULL },
};

static int
lex_op(struct rule_lexer *lx, struct rule_token *tok, struct rule_error *err)
{
	size_t i, n;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		n = strlen(ops[i].text);
		if (strncmp(lx->p, ops[i].text, n) != 0)
			continue;
		if (ops[i].hint != NULL) {
			rule_errorf(err, tok->line, tok->column, "%s",
			    ops[i].hint);
			return -1;
		}
		tok->type = ops[i].type;
		advance(lx, n);
		return 0;
	}
	n = utf8_len((const unsigned char *)lx->p);
	rule_errorf(err, tok->line, tok->column, "unexpected character"
	    " '%.*s': expected a field, a value, an operator or a"
	    " parenthesis", (int)n, lx->p);
	return -1;
}

int
lex_next(struct rule_lexer *lx, struct rule_token *tok,
    struct rule_error *err)
{
	const char *p;

	skip_space(lx);
	memset(tok, 0, sizeof(*tok));
	tok->start = lx->p;
	tok->line = lx->line;
	tok->column = lx->column;
	if (*lx->p == '\0') {
		tok->type = TOK_END;
		return 0;
	}
	if (*lx->p == '\'' || *lx->p == '"') {
		if (lex_string(lx, tok, err) == -1)
			return -1;
	} else if (is_digit(*lx->p) || (*lx->p == '-' &&
	    (is_digit(lx->p[1]) || lx->p[1] == '.'))) {
		if (lex_number(lx, tok, err) == -1)
			return -1;
	} else if (is_word((unsigned char)*lx->p)) {
		for (p = lx->p; is_word((unsigned char)*p); p++)
			;
		tok->type = TOK_WORD;
		advance(lx, (size_t)(p - lx->p));
	} else if (lex_op(lx, tok, err) == -1)
		return -1;
	tok->len = (size_t)(lx->p - tok->start);
	return 0;
}

int
lex_clip(const char *s, int chars)
{
	size_t	i;
	int	n = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (!is_cont((unsigned char)s[i]) && n++ == chars)
			break;
	}
	return (int)i;
}

void
lex_describe(const struct rule_token *tok, char *buf, size_t len)
{
	int n;

	switch (tok->type) {
	case TOK_END:
		snprintf(buf, len, "end of rule");
		break;
	case TOK_STRING:
		n = lex_clip(tok->string, DESCRIBE_MAX);
		snprintf(buf, len, "string '%.*s'%s", n, tok->string,
		    tok->string[n] != '\0' ? "..." : "");
		break;
	case TOK_NUMBER:
		snprintf(buf, len, "number %.*s", (int)tok->len, tok->start);
		break;
	default:
		n = tok->len > 64 ? 64 : (int)tok->len;
		while (n > 0 && (size_t)n < tok->len &&
		    is_cont((unsigned char)tok->start[n]))
			n--;
		snprintf(buf, len, "'%.*s'", n, tok->start);
		break;
	}
}
