/*
 * Incremental evaluation (a rule restricted to some customer ids) equals
 * the full sweep restricted to the same ids, for random rules over a
 * random dataset that keeps changing under them, as the CRM changes it.
 * Also, for every rule, the rule and its negation split the customers
 * between them, and the facts variant selects the same customers.
 *
 * Random but reproducible: the seed is printed, and RULES_SEED=N replays.
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

#define CUSTOMERS	600
#define ROUNDS		12
#define RULES		25	/* per round */

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: reproducible everywhere, unlike random(). */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * UINT64_C(2685821657736338717)) >> 32) % n;
}

static const char *
pick(const char *const *list, size_t n)
{
	return list[rnd((uint32_t)n)];
}

#define PICK(a)	pick((a), sizeof(a) / sizeof((a)[0]))

static const char *const statuses[] = { "potential", "intent", "won", "lost",
    "意向", "成交" };
static const char *const levels[] = { "A", "B", "C" };
static const char *const regions[] = { "华东", "华南", "华北", "x' OR 1=1 --",
    "" };
static const char *const industries[] = { "制造", "零售", "金融" };
static const char *const tags[] = { "高意向", "高价值客户", "需重点关注",
    "it's", "高频复购", "无人" };

/* An instant near NOW, often exactly on a window's edge. */
static int64_t
instant(void)
{
	static const int64_t edges[] = { 0, 30, 90, 180, 365 };

	if (rnd(4) == 0)
		return NOW - edges[rnd(5)] * DAY + (int64_t)rnd(3) - 1;
	return NOW - (int64_t)rnd(500 * 86400) + 5 * DAY;
}

static void
exec_printf(sqlite3 *db, const char *fmt, ...)
{
	va_list	 ap;
	char	*sql;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	rulesdb_exec(db, sql);
	sqlite3_free(sql);
}

static const char *
maybe(const char *const *list, size_t n)
{
	return rnd(4) == 0 ? NULL : pick(list, n);
}

#define MAYBE(a)	maybe((a), sizeof(a) / sizeof((a)[0]))

static void
add_customer(sqlite3 *db, int id)
{
	static const char *const stored[] = { "potential", "intent", "won",
	    "lost" };

	/* %Q quotes or writes NULL; the test builds its data as the CRM. */
	exec_printf(db, "INSERT INTO customers (id, code, name, kind, status,"
	    " level, industry, source, region, owner_id, created_at) VALUES"
	    " (%d, '202401-%04d', '客户%d', %Q, %Q, %Q, %Q, %Q, %Q, %s, %lld)",
	    id, id, id, rnd(3) == 0 ? "person" : "company", PICK(stored),
	    MAYBE(levels), MAYBE(industries), MAYBE(industries),
	    MAYBE(regions), rnd(5) == 0 ? "NULL" : rnd(2) ? "1" : "2",
	    (long long)(NOW - (int64_t)rnd(800 * 86400) + DAY));
}

static void
add_order(sqlite3 *db, int customer)
{
	static const int amounts[] = { 0, 1, 99999, 1000000, 3000000,
	    10000000 };

	exec_printf(db, "INSERT INTO orders (customer_id, amount, ordered_at)"
	    " VALUES (%d, %d, %lld)", customer,
	    amounts[rnd(sizeof(amounts) / sizeof(amounts[0]))],
	    (long long)instant());
}

static void
add_followup(sqlite3 *db, int customer)
{
	exec_printf(db, "INSERT INTO followups (customer_id, user_id, at)"
	    " VALUES (%d, 1, %lld)", customer, (long long)instant());
}

static void
add_contract(sqlite3 *db, int customer)
{
	int start = (int)rnd(400) - 300, len = (int)rnd(400);

	/* Around TODAY, 2025-06-15, often in force, some over or ahead. */
	exec_printf(db, "INSERT INTO contracts (customer_id, start_date,"
	    " end_date) VALUES (%d, date('2025-06-15', '%d days'),"
	    " date('2025-06-15', '%d days'))", customer, start, start + len);
}

static void
add_tag(sqlite3 *db, int customer)
{
	exec_printf(db, "INSERT OR IGNORE INTO customer_tags (customer_id,"
	    " tag_id, source) SELECT %d, id, %Q FROM tags WHERE name = %Q",
	    customer, rnd(2) ? "manual" : "rule:r", PICK(tags));
}

/* One change to a random customer, as the CRM application makes them. */
static void
change(sqlite3 *db)
{
	int c = 1 + (int)rnd(CUSTOMERS);

	switch (rnd(7)) {
	case 0: add_order(db, c); break;
	case 1: add_followup(db, c); break;
	case 2: add_contract(db, c); break;
	case 3: add_tag(db, c); break;
	case 4:
		exec_printf(db, "DELETE FROM customer_tags WHERE customer_id ="
		    " %d", c);
		break;
	case 5:
		exec_printf(db, "UPDATE customers SET status = %Q, level = %Q"
		    " WHERE id = %d", rnd(2) ? "won" : "intent",
		    MAYBE(levels), c);
		break;
	default:
		exec_printf(db, "DELETE FROM orders WHERE customer_id = %d", c);
		break;
	}
}

static void
build(sqlite3 *db)
{
	size_t	i;
	int	c;

	rulesdb_exec(db, "BEGIN; INSERT INTO users (id, name) VALUES"
	    " (1, '张伟'), (2, '李娜')");
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]) - 1; i++)
		exec_printf(db, "INSERT INTO tags (name) VALUES (%Q)", tags[i]);
	for (c = 1; c <= CUSTOMERS; c++)
		add_customer(db, c);
	for (i = 0; i < CUSTOMERS * 5; i++)
		add_order(db, 1 + (int)rnd(CUSTOMERS));
	for (i = 0; i < CUSTOMERS * 2; i++)
		add_followup(db, 1 + (int)rnd(CUSTOMERS));
	for (i = 0; i < CUSTOMERS / 2; i++)
		add_contract(db, 1 + (int)rnd(CUSTOMERS));
	for (i = 0; i < CUSTOMERS; i++)
		add_tag(db, 1 + (int)rnd(CUSTOMERS));
	rulesdb_exec(db, "COMMIT");
}

struct rbuf {
	char	s[RULE_MAX_LEN];
	size_t	len;
};

static void
emit(struct rbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
emit(struct rbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	b->len += (size_t)vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt,
	    ap);
	va_end(ap);
	assert_true(b->len < sizeof(b->s));
}

/* A string literal in either quoting, the quote doubled inside. */
static void
literal(struct rbuf *b, const char *s)
{
	char q = rnd(2) ? '\'' : '"';

	emit(b, "%c", q);
	for (; *s != '\0'; s++)
		emit(b, *s == q ? "%c%c" : "%c", *s, *s);
	emit(b, "%c", q);
}

static const char *const numeric[] = { "days_since_created",
    "days_since_followup", "followups_30d", "orders_90d", "orders_365d",
    "revenue_90d", "revenue_365d", "days_since_order", "contract_days_left",
    "r", "f", "m", "owner_id" };
static const char *const texts[] = { "level", "region", "industry",
    "source" };
static const char *const nullable[] = { "level", "region", "owner_id",
    "days_since_order", "contract_days_left" };
static const char *const cmp_ops[] = { "=", "!=", "<>", "<", "<=", ">",
    ">=" };
static const char *const nums[] = { "0", "1", "2", "3", "5", "29", "30",
    "90", "100", "365", "10000", "30000.5", "-1", "2.5" };

static void
atom(struct rbuf *b)
{
	const char	*field;
	int		 i, n;

	switch (rnd(8)) {
	case 0:
		emit(b, "status %s ", rnd(2) ? "=" : "!=");
		literal(b, PICK(statuses));
		break;
	case 1:
		field = PICK(texts);
		emit(b, "%s %sin (", field, rnd(2) ? "not " : "");
		for (i = 0, n = 1 + (int)rnd(3); i < n; i++) {
			emit(b, i > 0 ? ", " : "");
			literal(b, strcmp(field, "level") == 0 ? PICK(levels) :
			    strcmp(field, "region") == 0 ? PICK(regions) :
			    PICK(industries));
		}
		emit(b, ")");
		break;
	case 2:
		emit(b, "has_tag(");
		literal(b, PICK(tags));
		emit(b, ")");
		break;
	case 3:
		emit(b, "%s is %snull", PICK(nullable), rnd(2) ? "not " : "");
		break;
	case 4:
		emit(b, "%s in (%s, %s)", PICK(numeric), PICK(nums),
		    PICK(nums));
		break;
	default:
		emit(b, "%s %s %s", PICK(numeric), PICK(cmp_ops), PICK(nums));
		break;
	}
}

static void
expr(struct rbuf *b, int depth)
{
	int i, n;

	if (depth == 0 || rnd(3) == 0) {
		atom(b);
		return;
	}
	switch (rnd(3)) {
	case 0:
		emit(b, "not (");
		expr(b, depth - 1);
		emit(b, ")");
		break;
	default:
		emit(b, "(");
		for (i = 0, n = 2 + (int)rnd(3); i < n; i++) {
			if (i > 0)
				emit(b, rnd(2) ? " and " : " OR ");
			expr(b, depth - 1);
		}
		emit(b, ")");
		break;
	}
}

/* The ids of list "1,4,9" that are also in ids[]. */
static char *
restrict_to(const char *list, const int64_t *ids, size_t n)
{
	char	*copy, *tok, *save, *out;
	size_t	 i, len = 0;

	assert_non_null(copy = strdup(list));
	assert_non_null(out = calloc(1, strlen(list) + 1));
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && ids[i] != strtoll(tok, NULL, 10); i++)
			;
		if (i < n)
			len += (size_t)sprintf(out + len, "%s%s",
			    len > 0 ? "," : "", tok);
	}
	free(copy);
	return out;
}

/* Checks one rule; 1 if it matched some customers but not all. */
static int
check(sqlite3 *db, const char *text)
{
	struct rule_error	 err;
	struct rule_expr	*e;
	int64_t			 ids[64];
	size_t			 n, i, k;
	char			*all, *facts, *part, *want, *neg, *negall;
	int			 split;

	if ((e = rule_compile(text, &err)) == NULL)
		fail_msg("%s: %d:%d: %s", text, err.line, err.column, err.msg);
	all = rulesdb_run(db, e, 0, NULL, 0);
	facts = rulesdb_run(db, e, RULE_SQL_FACTS, NULL, 0);
	if (strcmp(all, facts) != 0)
		fail_msg("%s: facts variant {%s}, plain {%s}", text, facts,
		    all);
	free(facts);
	/* One customer, as after its change; then batches with strays. */
	for (k = 0; k < 4; k++) {
		n = k == 0 ? 1 : 1 + rnd(64);
		for (i = 0; i < n; i++)
			ids[i] = rnd(20) == 0 ? (int64_t)rnd(3) * 100000 - 1 :
			    1 + rnd(CUSTOMERS);
		part = rulesdb_run(db, e, k % 2 ? RULE_SQL_IDS | RULE_SQL_FACTS :
		    RULE_SQL_IDS, ids, n);
		want = restrict_to(all, ids, n);
		if (strcmp(part, want) != 0)
			fail_msg("%s: ids give {%s}, the full sweep {%s}",
			    text, part, want);
		free(part);
		free(want);
	}
	rule_free(e);
	assert_true(asprintf(&neg, "not (%s)", text) != -1);
	negall = rulesdb_match(db, neg, 0, NULL, 0);
	/* Between them, every customer exactly once. */
	for (i = 1; i <= CUSTOMERS; i++) {
		int64_t one = (int64_t)i;
		char *a = restrict_to(all, &one, 1);
		char *b = restrict_to(negall, &one, 1);

		if ((*a != '\0') == (*b != '\0'))
			fail_msg("%s: customer %zu in both or neither", text,
			    i);
		free(a);
		free(b);
	}
	split = *all != '\0' && *negall != '\0';
	free(neg);
	free(negall);
	free(all);
	return split;
}

static void
test_incremental_equals_full_sweep(void **state)
{
	sqlite3		*db;
	struct rbuf	 b;
	const char	*env = getenv("RULES_SEED");
	int		 round, r, c, split = 0;

	(void)state;
	rng = env != NULL ? strtoull(env, NULL, 10) : UINT64_C(20250615);
	if (rng == 0)
		rng = 1;
	print_message("seed %llu (RULES_SEED=N replays)\n",
	    (unsigned long long)rng);
	db = rulesdb_open();
	build(db);
	for (round = 0; round < ROUNDS; round++) {
		for (r = 0; r < RULES; r++) {
			memset(&b, 0, sizeof(b));
			expr(&b, 3);
			split += check(db, b.s);
		}
		for (c = 0; c < 40; c++)
			change(db);
	}
	/* Rules that match everyone or no one would prove little. */
	print_message("%d of %d rules split the customers\n", split,
	    ROUNDS * RULES);
	assert_true(split >= ROUNDS * RULES / 3);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incremental_equals_full_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
