/*
 * Compiling rules: each construct of the language and the SQL condition
 * it becomes, the facts a rule reads, the limits, and every kind of
 * mistake with the exact message an admin sees.  Values never appear in
 * the SQL text, only as parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rules.h"
#include "rulesdb.h"

struct valid {
	const char	*text;
	const char	*where;
};

static const struct valid valid[] = {
	{ "status = 'intent'", "facts.status = ?4" },
	{ "status = '意向'", "facts.status = ?4" },
	{ "status != 'won'", "facts.status <> ?4" },
	{ "status <> \"won\"", "facts.status <> ?4" },
	{ "orders_90d >= 3", "facts.orders_90d >= ?4" },
	{ "orders_90d > 3", "facts.orders_90d > ?4" },
	{ "days_since_created < 7", "facts.days_since_created < ?4" },
	{ "f <= 2", "facts.f <= ?4" },
	{ "owner_id = -1", "coalesce(facts.owner_id = ?4, 0)" },
	{ "days_since_order > 1.5", "coalesce(facts.days_since_order > ?4, 0)" },
	{ "region in ('华东', '华南')", "coalesce(facts.region IN (?4, ?5), 0)" },
	{ "region NOT IN ('华东')", "coalesce(facts.region NOT IN (?4), 0)" },
	{ "status in ('潜在', 'intent', \"won\")",
	    "facts.status IN (?4, ?5, ?6)" },
	{ "level is null", "facts.level IS NULL" },
	{ "contract_days_left IS NOT NULL",
	    "facts.contract_days_left IS NOT NULL" },
	{ "has_tag('高意向')", "EXISTS (SELECT 1 FROM customer_tags AS ct WHERE"
	    " ct.customer_id = facts.id AND ct.tag_id = (SELECT t.id FROM tags"
	    " AS t WHERE t.name = ?4))" },
	{ "not has_tag(\"高意向\")", "NOT (EXISTS (SELECT 1 FROM customer_tags"
	    " AS ct WHERE ct.customer_id = facts.id AND ct.tag_id = (SELECT"
	    " t.id FROM tags AS t WHERE t.name = ?4)))" },
	{ "r >= 4 and f >= 4 and m >= 4",
	    "(facts.r >= ?4 AND facts.f >= ?5 AND facts.m >= ?6)" },
	{ "r = 1 or f = 1", "(facts.r = ?4 OR facts.f = ?5)" },
	/* and binds tighter than or; parentheses change it (and the
	 * cheaper operand, one probe rather than two, goes first). */
	{ "r = 1 or f = 1 and m = 1",
	    "(facts.r = ?4 OR (facts.f = ?5 AND facts.m = ?6))" },
	{ "(r = 1 or f = 1) and m = 1",
	    "(facts.m = ?6 AND (facts.r = ?4 OR facts.f = ?5))" },
	{ "not (r = 1 or f = 1)", "NOT (facts.r = ?4 OR facts.f = ?5)" },
	{ "not not r = 1", "NOT (NOT (facts.r = ?4))" },
	/* Columns of the customer row are tested before probes of other
	 * tables; the values keep their numbers. */
	{ "days_since_followup > 30 and status = 'intent'",
	    "(facts.status = ?5 AND facts.days_since_followup > ?4)" },
	/* Keywords and names in any case, spread over lines. */
	{ "STATUS = 'won'\n\tAND Not HAS_TAG('x')\n OR Level IS NOT NULL",
	    "(facts.level IS NOT NULL OR (facts.status = ?4 AND NOT (EXISTS"
	    " (SELECT 1 FROM customer_tags AS ct WHERE ct.customer_id ="
	    " facts.id AND ct.tag_id = (SELECT t.id FROM tags AS t WHERE"
	    " t.name = ?5)))))" },
	{ "revenue_365d >= 100000.5", "facts.revenue_365d >= ?4" },
	{ "kind = '个人' and industry = '' and source != '官网'",
	    "(facts.kind = ?4 AND coalesce(facts.industry = ?5, 0) AND"
	    " coalesce(facts.source <> ?6, 0))" },
	{ "followups_30d = 0 and orders_365d = 0 and revenue_90d = 0",
	    "(facts.followups_30d = ?4 AND facts.orders_365d = ?5 AND"
	    " facts.revenue_90d = ?6)" },
};

static void
test_valid_rules_compile_to_their_condition(void **state)
{
	struct rule_error	 err;
	struct rule_expr	*e;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		if ((e = rule_compile(valid[i].text, &err)) == NULL)
			fail_msg("%s: %d:%d: %s", valid[i].text, err.line,
			    err.column, err.msg);
		if (strcmp(rule_where(e), valid[i].where) != 0)
			fail_msg("%s:\n got  %s\n want %s", valid[i].text,
			    rule_where(e), valid[i].where);
		rule_free(e);
	}
}

struct invalid {
	const char	*text;
	const char	*error;
};

static const struct invalid invalid[] = {
	{ "orders_90d >=", "1:14: expected a value after '>=', found end of"
	    " rule" },
	{ "", "1:1: expected a condition, found end of rule" },
	{ "  \n  ", "2:3: expected a condition, found end of rule" },
	{ "status = ", "1:10: expected a value after '=', found end of rule" },
	{ "status = 'won' and", "1:19: expected a condition after 'and',"
	    " found end of rule" },
	{ "status = 'won' or\n", "2:1: expected a condition after 'or',"
	    " found end of rule" },
	{ "not", "1:4: expected a condition after 'not', found end of rule" },
	{ "(status = 'won'", "1:16: expected ')' to close the '(' at 1:1,"
	    " found end of rule" },
	{ "()", "1:2: expected a condition after '(', found ')'" },
	{ "status = 'won')", "1:15: expected 'and', 'or' or the end of the"
	    " rule, found ')'" },
	{ "status = 'won' region = 'x'", "1:16: expected 'and', 'or' or the"
	    " end of the rule, found 'region'" },
	{ "status 'won'", "1:8: expected an operator (=, !=, <, <=, >, >=, in,"
	    " not in, is null) after 'status', found string 'won'" },
	{ "'won' = status", "1:1: expected a condition, found string 'won'" },
	{ "and r = 1", "1:1: expected a condition, found 'and'" },
	{ "status = 'won'\n  and foo = 1", "2:7: unknown field 'foo': the"
	    " fields are status, level, kind, industry, source, region,"
	    " owner_id, days_since_created, days_since_followup,"
	    " followups_30d, orders_90d, orders_365d, revenue_90d,"
	    " revenue_365d, days_since_order, contract_days_left, r, f, m,"
	    " has_tag(\"…\")" },
	{ "stauts = 'won'", "1:1: unknown field 'stauts': did you mean"
	    " status?" },
	{ "orders >= 3", "1:1: unknown field 'orders': did you mean"
	    " orders_90d or orders_365d?" },
	{ "hastag('x')", "1:1: unknown field 'hastag': did you mean"
	    " has_tag(\"…\")?" },
	{ "region = '华东' and 状态 = '意向'", "1:19: unknown field '状态':"
	    " the fields are status, level, kind, industry, source, region,"
	    " owner_id, days_since_created, days_since_followup,"
	    " followups_30d, orders_90d, orders_365d, revenue_90d,"
	    " revenue_365d, days_since_order, contract_days_left, r, f, m,"
	    " has_tag(\"…\")" },
	{ "status(1)", "1:7: status is a field, not a function" },
	/* Types are checked when the rule is compiled. */
	{ "status = 1", "1:10: status is text: write the value in quotes,"
	    " '1'" },
	{ "orders_90d = '3'", "1:14: orders_90d is a number: write the value"
	    " without quotes" },
	{ "region in ('华东', 3)", "1:18: region is text: write the value in"
	    " quotes, '3'" },
	{ "region > 'a'", "1:8: '>' compares numbers, and region is text:"
	    " use =, !=, in or not in" },
	{ "status = 'intnet'", "1:10: unknown status 'intnet': expected"
	    " potential (潜在), intent (意向), won (成交) or lost (流失)" },
	{ "level in ('A', 'a')", "1:16: unknown level 'a': expected A, B or"
	    " C" },
	{ "kind = 'firm'", "1:8: unknown kind 'firm': expected company (企业)"
	    " or person (个人)" },
	{ "revenue_365d >= 10.555", "1:17: revenue_365d is in yuan, with at"
	    " most 2 decimals" },
	{ "orders_90d >= 99999999999999999999", "1:15: number out of range" },
	{ "revenue_90d > 999999999999999999", "1:15: number out of range" },
	{ "orders_90d >= 5abc", "1:15: invalid number '5abc'" },
	{ "orders_90d >= 5.", "1:15: a number needs digits after its '.'" },
	{ "level = null", "1:9: write 'level is null' or 'level is not null'"
	    " to test for a missing value" },
	{ "status is null", "1:11: status always has a value, it is never"
	    " null" },
	{ "days_since_order is 5", "1:21: expected 'null' after 'is', found"
	    " number 5" },
	{ "level is not 'A'", "1:14: expected 'null' after 'not', found"
	    " string 'A'" },
	{ "status not 'won'", "1:12: expected 'in' after 'not', found string"
	    " 'won'" },
	{ "status in 'won'", "1:11: expected '(' after 'in', found string"
	    " 'won'" },
	{ "status in ()", "1:12: expected a value after '(', found ')'" },
	{ "status in ('won',)", "1:18: expected a value after ',', found"
	    " ')'" },
	{ "status in ('won' 'lost')", "1:18: expected ',' or ')' in the list,"
	    " found string 'lost'" },
	{ "has_tag", "1:8: expected '(' after 'has_tag', found end of rule" },
	{ "has_tag(高意向)", "1:9: expected a tag name in quotes after"
	    " 'has_tag(', found '高意向'" },
	{ "has_tag('a'", "1:12: expected ')' after the tag name, found end of"
	    " rule" },
	{ "has_tag('')", "1:9: the tag name is empty" },
	{ "status = 'won", "1:10: unterminated string: add the closing ' on"
	    " the same line" },
	{ "region = \"华东\n\"", "1:10: unterminated string: add the closing"
	    " \" on the same line" },
	{ "status = 'won' && level = 'A'", "1:16: write 'and' rather than"
	    " '&&'" },
	{ "r = 1 || f = 1", "1:7: write 'or' rather than '||'" },
	{ "! has_tag('x')", "1:1: write 'not' or '!=' rather than '!'" },
	{ "orders_90d == 3", "1:12: write '=' rather than '=='" },
	{ "orders_90d >= 3; DROP TABLE customers", "1:16: unexpected character"
	    " ';': expected a field, a value, an operator or a parenthesis" },
	{ "region = '华东' # comment", "1:15: unexpected character '#':"
	    " expected a field, a value, an operator or a parenthesis" },
	{ "region = 'abcdefghijklmnopqrstuvwxyz' r", "1:39: expected 'and',"
	    " 'or' or the end of the rule, found 'r'" },
	{ "status = 'won' 'abcdefghijklmnopqrstuvwxyz'", "1:16: expected"
	    " 'and', 'or' or the end of the rule, found string"
	    " 'abcdefghijklmnopqrstuvwx'..." },
	{ "region = '\xff'", "1:11: invalid UTF-8 (byte 0xff): save the"
	    " configuration as UTF-8" },
	{ "region = '华\xe4'", "1:12: invalid UTF-8 (byte 0xe4): save the"
	    " configuration as UTF-8" },
	/* Overlong "/" and a UTF-16 surrogate are not UTF-8 either. */
	{ "region = '\xc0\xaf'", "1:11: invalid UTF-8 (byte 0xc0): save the"
	    " configuration as UTF-8" },
	{ "region = '\xed\xa0\x80'", "1:11: invalid UTF-8 (byte 0xed): save"
	    " the configuration as UTF-8" },
};

static void
test_invalid_rules_say_where_and_what(void **state)
{
	size_t	 i;
	char	*got;

	(void)state;
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		got = rulesdb_error(invalid[i].text);
		if (strcmp(got, invalid[i].error) != 0)
			fail_msg("%s:\n got  %s\n want %s", invalid[i].text,
			    got, invalid[i].error);
		free(got);
	}
}

/* A string of n copies of unit, then tail. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t	 i, len = strlen(head) + strlen(unit) * n + strlen(tail);
	char	*s;

	assert_non_null(s = malloc(len + 1));
	strcpy(s, head);
	for (i = 0; i < n; i++)
		strcat(s, unit);
	strcat(s, tail);
	return s;
}

static void
expect_ok(const char *text)
{
	struct rule_error	 err;
	struct rule_expr	*e;

	if ((e = rule_compile(text, &err)) == NULL)
		fail_msg("%d:%d: %s", err.line, err.column, err.msg);
	rule_free(e);
}

static void
expect_error(const char *text, const char *want)
{
	char *got = rulesdb_error(text);

	if (strcmp(got, want) != 0)
		fail_msg("got  %s\nwant %s", got, want);
	free(got);
}

static void
test_limits_on_depth_length_and_values(void **state)
{
	char *s, *open;

	(void)state;
	open = repeat("", "(", RULE_MAX_DEPTH, "r = 1");
	s = repeat(open, ")", RULE_MAX_DEPTH, "");
	expect_ok(s);
	free(open);
	free(s);
	s = repeat("", "(", RULE_MAX_DEPTH + 1, "r = 1");
	expect_error(s, "1:33: more than 32 nested parentheses and 'not':"
	    " simplify the rule");
	free(s);
	s = repeat("", "not ", RULE_MAX_DEPTH, "r = 1");
	expect_ok(s);
	free(s);
	s = repeat("", "not ", RULE_MAX_DEPTH + 1, "r = 1");
	expect_error(s, "1:129: more than 32 nested parentheses and 'not':"
	    " simplify the rule");
	free(s);

	s = repeat("r = 1", " ", RULE_MAX_LEN - 5, "");
	expect_ok(s);
	free(s);
	s = repeat("r = 1", " ", RULE_MAX_LEN - 4, "");
	expect_error(s, "1:1: the rule is 4097 bytes long, more than the"
	    " limit of 4096: split it into several rules");
	free(s);

	/* 256 values fit; the 257th is refused where it stands. */
	s = repeat("r in (1", ",1", RULE_MAX_VALUES - 1, ")");
	expect_ok(s);
	free(s);
	s = repeat("r in (1", ",1", RULE_MAX_VALUES, ")");
	expect_error(s, "1:519: more than 256 values in one rule: split it"
	    " into several rules");
	free(s);
}

/* Whatever a literal holds, the SQL text is the same. */
static void
test_values_are_parameters_never_sql_text(void **state)
{
	static const char *const texts[] = {
		"region = 'x'' OR 1=1 --'",
		"region = \"x' OR 1=1 --\"",
		"region = 'x\" OR \"\"=\"'",
		"region = '''); DROP TABLE customers; --'",
		"region = '华东'",
	};
	struct rule_error	 err;
	struct rule_expr	*e;
	size_t			 i;
	int			 f;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_non_null(e = rule_compile(texts[i], &err));
		assert_string_equal(rule_where(e),
		    "coalesce(facts.region = ?4, 0)");
		for (f = 0; f < 4; f++) {
			assert_null(strstr(rule_sql(e, f), "OR 1"));
			assert_null(strstr(rule_sql(e, f), "DROP"));
			assert_null(strstr(rule_sql(e, f), "华东"));
		}
		assert_int_equal(rule_param_count(e), 4);
		rule_free(e);
	}
}

/* Only the facts a rule names are computed, in the facts table order. */
static void
test_only_the_facts_read_are_computed(void **state)
{
	struct rule_error	 err;
	struct rule_expr	*e;

	(void)state;
	assert_non_null(e = rule_compile("has_tag('x') and m = 5 or"
	    " orders_90d > 1 and status = 'won' and m < 5", &err));
	assert_int_equal(rule_fact_count(e), 3);
	assert_string_equal(rule_fact_name(e, 0), "status");
	assert_string_equal(rule_fact_name(e, 1), "orders_90d");
	assert_string_equal(rule_fact_name(e, 2), "m");
	assert_null(rule_fact_name(e, 3));
	assert_int_equal(rule_param_count(e), 3 + 5);
	assert_null(strstr(rule_sql(e, 0), "followups"));
	assert_null(strstr(rule_sql(e, 0), "contracts"));
	assert_null(strstr(rule_sql(e, 0), "json_each"));
	assert_non_null(strstr(rule_sql(e, RULE_SQL_IDS), "json_each(?3)"));
	assert_null(strstr(rule_sql(e, 0), "SELECT facts.id, facts.status"));
	assert_non_null(strstr(rule_sql(e, RULE_SQL_FACTS),
	    "SELECT facts.id, facts.status, facts.orders_90d, facts.m FROM"));
	rule_free(e);

	assert_non_null(e = rule_compile("has_tag('x')", &err));
	assert_int_equal(rule_fact_count(e), 0);
	assert_non_null(strstr(rule_sql(e, 0),
	    "FROM (SELECT c.id AS id FROM customers AS c) AS facts"));
	rule_free(e);
}

/*
 * Token soup and random bytes: compiling never crashes and either fails
 * with a position and a message, or gives SQL that SQLite accepts.  The
 * soup mostly follows the grammar's shape (field, operator, value,
 * connective) so that many inputs compile and many fail late.
 */
static const char *const fields[] = { "status", "level", "region",
    "orders_90d", "revenue_365d", "days_since_order", "r", "owner_id",
    "not status", "(region", "has_tag(" };
static const char *const ops[] = { "=", "!=", "<>", "<", ">=", "in (",
    "not in (", "is", "is not" };
static const char *const values[] = { "'意向'", "'won'", "\"it''s\"",
    "'x'' OR 1=1 --'", "3", "-1", "2.5", "100000.01", "'A'", "null",
    "'华东', '华南')", "1, 2)", "'高意向')", "9999999999999999999" };
static const char *const joins[] = { "and", "OR", ")", ") and", "and not",
    ",", "" };
static const char *const junk[] = { "\n", "'", "\"", "!", "&&", "华东",
    ";", "\xff", "\xe4\xb8", "((", "has_tag", "in", "is" };

static unsigned seed = 1;

static const char *
draw(const char *const *list, size_t n)
{
	if (rand_r(&seed) % 10 == 0)
		list = junk, n = sizeof(junk) / sizeof(junk[0]);
	return list[(unsigned)rand_r(&seed) % n];
}

#define DRAW(a)	draw((a), sizeof(a) / sizeof((a)[0]))

static void
test_any_input_compiles_or_says_why(void **state)
{
	struct rule_error	 err;
	struct rule_expr	*e;
	struct rule_env		 env = { NOW, TODAY, NULL, 0 };
	sqlite3			*db = rulesdb_open();
	sqlite3_stmt		*st;
	char			 text[1024];
	unsigned		 i, k, n, ok = 0;
	int			 f;

	(void)state;
	for (i = 0; i < 20000; i++) {
		text[0] = '\0';
		n = 1 + (unsigned)rand_r(&seed) % 4;
		for (k = 0; k < n; k++)
			snprintf(text + strlen(text), sizeof(text) -
			    strlen(text), "%s %s %s %s ", DRAW(fields),
			    DRAW(ops), DRAW(values), k + 1 < n ? DRAW(joins) :
			    "");
		if ((e = rule_compile(text, &err)) == NULL) {
			if (err.line < 1 || err.column < 1 ||
			    err.msg[0] == '\0')
				fail_msg("%s: no position or message", text);
			continue;
		}
		ok++;
		for (f = 0; f < 4; f++) {
			if (sqlite3_prepare_v2(db, rule_sql(e, f), -1, &st,
			    NULL) != SQLITE_OK)
				fail_msg("%s: %s", text, sqlite3_errmsg(db));
			assert_int_equal(rule_bind(st, e, &env), SQLITE_OK);
			while (sqlite3_step(st) == SQLITE_ROW)
				;
			sqlite3_finalize(st);
		}
		rule_free(e);
	}
	print_message("%u of 20000 compiled\n", ok);
	assert_true(ok > 200);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_rules_compile_to_their_condition),
		cmocka_unit_test(test_invalid_rules_say_where_and_what),
		cmocka_unit_test(test_limits_on_depth_length_and_values),
		cmocka_unit_test(test_values_are_parameters_never_sql_text),
		cmocka_unit_test(test_only_the_facts_read_are_computed),
		cmocka_unit_test(test_any_input_compiles_or_says_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
