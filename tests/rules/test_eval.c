/*
 * Rules evaluated against a hand-built dataset whose every fact is known:
 * the boundaries of each time window, missing values (no order, no
 * contract, no level), Chinese values stored and compared byte for byte,
 * and string literals that try to break out into SQL matching only the
 * customer who carries exactly that text.
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

/*
 * At NOW (2025-06-15 15:06:40 UTC), TODAY 2025-06-15:
 *
 * 1 上海明远科技: company, intent, A, 制造, 展会, 华东, owner 1, created 100
 *   days ago; follow-ups 3, 20 and 40 days ago; orders 1 day (¥1,000),
 *   10 days (¥50,000), 89 days (¥45,000) and 200 days (¥10,000) ago;
 *   contracts in force until 2025-06-20 and 2025-12-31, one that ended
 *   yesterday and one that starts in July; tag 高意向.
 * 2 王芳: person, potential, no level, industry, source, region or owner,
 *   created 10 days ago, nothing else.
 * 3 广州恒通: company, won, B, 零售, 官网, 华南, owner 2, created 400 days
 *   ago; follow-ups exactly 30 days ago and 1 second less; orders exactly
 *   90 days (¥20,000), 364 days (¥0) and 400 days (¥5,000) ago; a
 *   contract ending today; tag 高价值客户 applied by a rule.
 * 4 x' OR 1=1 --: lost, C, region "x' OR 1=1 --", owner 1, created 5
 *   days ago; a follow-up and an order (¥10,000) tomorrow, which do not
 *   count yet; a contract starting in July; tag it's.
 * 5: company, potential, region "x", owner 2, created a day ago.
 */
static const char dataset[] =
"INSERT INTO users (id, name) VALUES (1, '张伟'), (2, '李娜');"
"INSERT INTO customers (id, code, name, kind, status, level, industry,"
"  source, region, owner_id, created_at) VALUES"
" (1, '202503-0001', '上海明远科技', 'company', 'intent', 'A', '制造',"
"  '展会', '华东', 1, 1750000000 - 100 * 86400),"
" (2, '202506-0002', '王芳', 'person', 'potential', NULL, NULL, NULL, NULL,"
"  NULL, 1750000000 - 10 * 86400),"
" (3, '202405-0003', '广州恒通', 'company', 'won', 'B', '零售', '官网',"
"  '华南', 2, 1750000000 - 400 * 86400),"
" (4, '202506-0004', 'x'' OR 1=1 --', 'company', 'lost', 'C', NULL, NULL,"
"  'x'' OR 1=1 --', 1, 1750000000 - 5 * 86400),"
" (5, '202506-0005', '五', 'company', 'potential', NULL, NULL, NULL, 'x',"
"  2, 1750000000 - 86400);"
"INSERT INTO followups (customer_id, user_id, at) VALUES"
" (1, 1, 1750000000 - 3 * 86400), (1, 1, 1750000000 - 20 * 86400),"
" (1, 1, 1750000000 - 40 * 86400),"
" (3, 2, 1750000000 - 30 * 86400), (3, 2, 1750000000 - 30 * 86400 + 1),"
" (4, 1, 1750000000 + 86400);"
"INSERT INTO orders (customer_id, amount, ordered_at) VALUES"
" (1, 100000, 1750000000 - 86400), (1, 5000000, 1750000000 - 10 * 86400),"
" (1, 4500000, 1750000000 - 89 * 86400),"
" (1, 1000000, 1750000000 - 200 * 86400),"
" (3, 2000000, 1750000000 - 90 * 86400), (3, 0, 1750000000 - 364 * 86400),"
" (3, 500000, 1750000000 - 400 * 86400),"
" (4, 1000000, 1750000000 + 86400);"
"INSERT INTO contracts (customer_id, start_date, end_date) VALUES"
" (1, '2025-01-01', '2025-12-31'), (1, '2025-01-01', '2025-06-20'),"
" (1, '2024-01-01', '2025-06-14'), (1, '2025-07-01', '2025-07-05'),"
" (3, '2024-06-15', '2025-06-15'),"
" (4, '2025-07-01', '2025-08-01');"
"INSERT INTO tags (id, name) VALUES (1, '高意向'), (2, '高价值客户'),"
" (3, 'it''s'), (4, '无人');"
"INSERT INTO customer_tags (customer_id, tag_id, source) VALUES"
" (1, 1, 'manual'), (3, 2, 'rule:高价值客户'), (4, 3, 'manual');";

struct known {
	const char	*rule;
	const char	*ids;
};

static const struct known known[] = {
	/* Customer fields; Chinese names of the enumerations. */
	{ "status = 'intent'", "1" },
	{ "status = '意向'", "1" },
	{ "status in ('won', '流失')", "3,4" },
	{ "status not in ('潜在')", "1,3,4" },
	{ "status != 'intent'", "2,3,4,5" },
	{ "kind = '个人'", "2" },
	{ "kind = 'company'", "1,3,4,5" },
	{ "level = 'A'", "1" },
	{ "level in ('A', 'B')", "1,3" },
	{ "industry = '制造'", "1" },
	{ "source = '官网'", "3" },
	{ "region = '华东'", "1" },
	{ "region in ('华东', '华南')", "1,3" },
	{ "owner_id = 1", "1,4" },
	{ "owner_id != 1", "3,5" },
	{ "owner_id is null", "2" },
	/*
	 * A comparison with a missing value is false, whichever operator;
	 * 'not' of it is true; 'is null' asks for it.
	 */
	{ "level != 'A'", "3,4" },
	{ "level not in ('A')", "3,4" },
	{ "not (level = 'A')", "2,3,4,5" },
	{ "not level in ('A')", "2,3,4,5" },
	{ "level is null", "2,5" },
	{ "level is not null", "1,3,4" },
	{ "region != 'x'", "1,3,4" },
	/* Whole days since creation, rounded down. */
	{ "days_since_created = 100", "1" },
	{ "days_since_created >= 400", "3" },
	{ "days_since_created < 6", "4,5" },
	/* The last follow-up, or creation when there is none (or only
	 * future ones). */
	{ "days_since_followup = 3", "1" },
	{ "days_since_followup = 10", "2" },
	{ "days_since_followup = 29", "3" },
	{ "days_since_followup = 5", "4" },
	{ "days_since_followup = 1", "5" },
	{ "days_since_followup > 7", "2,3" },
	/* Windows are (now - N days, now]. */
	{ "followups_30d = 2", "1" },
	{ "followups_30d = 1", "3" },
	{ "followups_30d = 0", "2,4,5" },
	{ "orders_90d = 3", "1" },
	{ "orders_90d >= 3", "1" },
	{ "orders_90d = 0", "2,3,4,5" },
	{ "orders_365d = 4", "1" },
	{ "orders_365d = 2", "3" },
	/* Revenue in yuan, compared exactly in fen. */
	{ "revenue_90d = 96000", "1" },
	{ "revenue_365d = 106000", "1" },
	{ "revenue_365d >= 100000", "1" },
	{ "revenue_365d = 20000", "3" },
	{ "revenue_365d >= 19999.99", "1,3" },
	{ "revenue_365d > 20000.00", "1" },
	{ "revenue_365d = 0", "2,4,5" },
	{ "revenue_90d = 0.5", "" },
	/* Whole days since the last order; none when never (or only in
	 * the future). */
	{ "days_since_order = 1", "1" },
	{ "days_since_order = 90", "3" },
	{ "days_since_order < 100", "1,3" },
	{ "days_since_order is null", "2,4,5" },
	{ "days_since_order >= 0", "1,3" },
	{ "not (days_since_order < 30)", "2,3,4,5" },
	/* The nearest end of a contract in force today. */
	{ "contract_days_left = 5", "1" },
	{ "contract_days_left = 0", "3" },
	{ "contract_days_left <= 30", "1,3" },
	{ "contract_days_left is null", "2,4,5" },
	/* RFM. */
	{ "r = 5", "1" },
	{ "r = 3", "3" },
	{ "r = 1", "2,4,5" },
	{ "f = 3", "1" },
	{ "f = 2", "3" },
	{ "f = 1", "2,4,5" },
	{ "m = 5", "1" },
	{ "m = 3", "3" },
	{ "m = 1", "2,4,5" },
	{ "r >= 4 and f >= 3 and m >= 4", "1" },
	/* Tags, whoever applied them. */
	{ "has_tag('高意向')", "1" },
	{ "has_tag('高价值客户')", "3" },
	{ "not has_tag('高意向')", "2,3,4,5" },
	{ "has_tag('无人')", "" },
	{ "has_tag('没有这个标签')", "" },
	{ "has_tag(\"it's\")", "4" },
	{ "has_tag('it''s')", "4" },
	/* Combinations, in the seed manuals' words. */
	{ "status = '意向' and days_since_followup > 2 or has_tag('高价值客户')",
	    "1,3" },
	{ "(status = '意向' or status = '成交') and region in ('华东', '华南')"
	    " and not has_tag('高意向')", "3" },
	{ "NOT (Region = '华东' OR REGION = '华南') AnD kind = 'company'",
	    "4,5" },
	/* Literals that try to become SQL stay literals. */
	{ "region = 'x'' OR 1=1 --'", "4" },
	{ "region = \"x' OR 1=1 --\"", "4" },
	{ "region = 'x'", "5" },
	{ "region = 'x'' OR ''1''=''1'", "" },
	{ "region = '''); DROP TABLE customers; --'", "" },
	{ "has_tag('x'') OR 1=1 --')", "" },
	{ "region in ('x'' OR 1=1 --', ') OR (1=1')", "4" },
};

static int
setup(void **state)
{
	sqlite3 *db = rulesdb_open();

	rulesdb_exec(db, dataset);
	*state = db;
	return 0;
}

static int
teardown(void **state)
{
	sqlite3_close(*state);
	return 0;
}

static void
test_each_fact_has_its_known_answer(void **state)
{
	sqlite3	*db = *state;
	size_t	 i;
	char	*got;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		got = rulesdb_match(db, known[i].rule, 0, NULL, 0);
		if (strcmp(got, known[i].ids) != 0)
			fail_msg("%s: got {%s}, want {%s}", known[i].rule, got,
			    known[i].ids);
		free(got);
	}
}

/* Every rule and its negation split the customers between them. */
/* 1 if id is in the list "1,3,4". */
static int
listed(const char *list, int id)
{
	char	*wrapped, *needle;
	int	 in;

	assert_true(asprintf(&wrapped, ",%s,", list) != -1);
	assert_true(asprintf(&needle, ",%d,", id) != -1);
	in = strstr(wrapped, needle) != NULL;
	free(wrapped);
	free(needle);
	return in;
}

static void
test_a_rule_and_its_negation_cover_everyone(void **state)
{
	sqlite3	*db = *state;
	size_t	 i;
	char	*yes, *no, *neg;
	int	 id;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_true(asprintf(&neg, "not (%s)", known[i].rule) != -1);
		yes = rulesdb_match(db, known[i].rule, 0, NULL, 0);
		no = rulesdb_match(db, neg, 0, NULL, 0);
		for (id = 1; id <= 5; id++)
			if (listed(yes, id) == listed(no, id))
				fail_msg("%s: customer %d in {%s} and {%s}",
				    known[i].rule, id, yes, no);
		free(neg);
		free(yes);
		free(no);
	}
}

/* The rows of the RULE_SQL_FACTS query: the facts as the rule saw them. */
static void
test_facts_columns_show_what_the_rule_read(void **state)
{
	sqlite3			*db = *state;
	struct rule_env		 env = { NOW, TODAY, NULL, 0 };
	struct rule_error	 err;
	struct rule_expr	*e;
	sqlite3_stmt		*st;

	assert_non_null(e = rule_compile("region = '华东' and revenue_365d > 0"
	    " and contract_days_left >= 0 and days_since_order is not null",
	    &err));
	assert_int_equal(sqlite3_prepare_v2(db, rule_sql(e, RULE_SQL_FACTS),
	    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(rule_bind(st, e, &env), SQLITE_OK);
	assert_int_equal(sqlite3_column_count(st), 5);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1);
	assert_string_equal(rule_fact_name(e, 0), "region");
	assert_string_equal(sqlite3_column_text(st, 1), "华东");
	assert_string_equal(rule_fact_name(e, 1), "revenue_365d");
	assert_int_equal(sqlite3_column_int64(st, 2), 10600000);  /* fen */
	assert_string_equal(rule_fact_name(e, 2), "days_since_order");
	assert_int_equal(sqlite3_column_int64(st, 3), 1);
	assert_string_equal(rule_fact_name(e, 3), "contract_days_left");
	assert_int_equal(sqlite3_column_int64(st, 4), 5);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	rule_free(e);
}

/* A caller narrows the query by appending to its WHERE clause. */
static void
test_callers_may_append_their_own_terms(void **state)
{
	sqlite3			*db = *state;
	struct rule_env		 env = { NOW, TODAY, NULL, 0 };
	struct rule_error	 err;
	struct rule_expr	*e;
	sqlite3_stmt		*st;
	char			*sql;
	int			 after;

	assert_non_null(e = rule_compile("kind = 'company'", &err));
	after = rule_param_count(e) + 1;
	assert_true(asprintf(&sql, "%s AND facts.id > ?%d ORDER BY facts.id"
	    " LIMIT ?%d", rule_sql(e, 0), after, after + 1) != -1);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(rule_bind(st, e, &env), SQLITE_OK);
	sqlite3_bind_int64(st, after, 1);
	sqlite3_bind_int64(st, after + 1, 2);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 3);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 4);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	free(sql);
	rule_free(e);
}

/* The evaluation time is the caller's: the same data, a later now. */
static void
test_time_is_what_the_caller_binds(void **state)
{
	sqlite3			*db = *state;
	struct rule_env		 env = { NOW + 2 * DAY, "2025-06-17", NULL, 0 };
	struct rule_error	 err;
	struct rule_expr	*e;
	sqlite3_stmt		*st;

	/* Customer 4's order of tomorrow has happened by then. */
	assert_non_null(e = rule_compile("days_since_order = 1 and"
	    " orders_90d = 1 and days_since_followup = 1", &err));
	assert_int_equal(sqlite3_prepare_v2(db, rule_sql(e, 0), -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(rule_bind(st, e, &env), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 4);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	rule_free(e);
	/* Customer 1's contract to 2025-06-20 is 3 days from its end. */
	assert_non_null(e = rule_compile("contract_days_left = 3", &err));
	assert_int_equal(sqlite3_prepare_v2(db, rule_sql(e, 0), -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(rule_bind(st, e, &env), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	rule_free(e);
}

static void
test_injection_leaves_the_database_alone(void **state)
{
	sqlite3	*db = *state;
	char	*got;

	got = rulesdb_match(db, "region = 'x''); DROP TABLE customers; --'"
	    " or has_tag('''; DELETE FROM tags; --')", 0, NULL, 0);
	assert_string_equal(got, "");
	free(got);
	got = rulesdb_match(db, "kind = 'company'", 0, NULL, 0);
	assert_string_equal(got, "1,3,4,5");
	free(got);
	got = rulesdb_match(db, "has_tag('高意向')", 0, NULL, 0);
	assert_string_equal(got, "1");
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_fact_has_its_known_answer),
		cmocka_unit_test(test_a_rule_and_its_negation_cover_everyone),
		cmocka_unit_test(test_facts_columns_show_what_the_rule_read),
		cmocka_unit_test(test_callers_may_append_their_own_terms),
		cmocka_unit_test(test_time_is_what_the_caller_binds),
		cmocka_unit_test(test_injection_leaves_the_database_alone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
