/*
 * The schema as the CRM application meets it: minimal inserts get sensible
 * defaults, enumerations and formats are enforced by CHECK constraints,
 * references by foreign keys, and Chinese text comes back byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "migrate.h"
#include "store.h"
#include "testdb.h"

struct fixture {
	struct testdb	*t;
	struct store	*s;
	sqlite3		*db;	/* the store's connection: foreign keys on */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		*err = NULL;
	void		*t;

	assert_non_null(f);
	testdb_setup(&t);
	f->t = t;
	if ((f->s = store_open(f->t->path, 1000, &err)) == NULL ||
	    store_migrate(f->s, &err) == -1)
		fail_msg("%s", err);
	f->db = store_sqlite_handle(f->s);
	assert_int_equal(testdb_exec(f->db,
	    "INSERT INTO users (id, name) VALUES (1, '张伟'), (2, '李娜');"
	    "INSERT INTO customers (id, code, name, owner_id) VALUES"
	    " (1, '202405-0001', '上海明远科技有限公司', 1);"), SQLITE_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	void		*t = f->t;

	store_close(f->s);
	testdb_teardown(&t);
	free(f);
	return 0;
}

static void
expect(sqlite3 *db, const char *sql, int rc)
{
	int got = testdb_exec(db, sql);

	if (got != rc)
		fail_msg("%s: got %d (%s), want %d", sql, got,
		    sqlite3_errmsg(db), rc);
}

static void
test_crm_reminder_insert_gets_defaults(void **state)
{
	struct fixture	*f = *state;
	char		*v;

	expect(f->db, "INSERT INTO reminders (customer_id, user_id, kind,"
	    " due_at) VALUES (1, 1, 'followup', 1717200000)", SQLITE_OK);
	v = testdb_text(f->db, "SELECT state || '|' || channels || '|' ||"
	    " note || '|' || source || '|' || late FROM reminders");
	assert_string_equal(v, "pending|||crm|0");
	free(v);
	assert_int_equal(testdb_int(f->db, "SELECT count(*) FROM reminders"
	    " WHERE dedup_key IS NULL AND plan_id IS NULL AND fired_at IS NULL"
	    " AND acked_at IS NULL AND snoozed_until IS NULL"
	    " AND escalated_at IS NULL AND created_at > 1700000000"), 1);
	/* NULL dedup keys never collide; equal ones do. */
	expect(f->db, "INSERT INTO reminders (customer_id, user_id, kind,"
	    " due_at) VALUES (1, 1, 'callback', 1717200000)", SQLITE_OK);
	expect(f->db, "INSERT INTO reminders (customer_id, user_id, kind,"
	    " due_at, dedup_key) VALUES (1, 1, 'renewal', 1, 'r:1:2024')",
	    SQLITE_OK);
	expect(f->db, "INSERT INTO reminders (customer_id, user_id, kind,"
	    " due_at, dedup_key) VALUES (1, 1, 'renewal', 1, 'r:1:2024')",
	    SQLITE_CONSTRAINT_UNIQUE);
}

static void
test_customer_defaults(void **state)
{
	struct fixture	*f = *state;
	char		*v;

	v = testdb_text(f->db, "SELECT kind || '|' || status || '|' ||"
	    " ifnull(level, 'NULL') || '|' || opt_out_sms || opt_out_email"
	    " FROM customers WHERE id = 1");
	assert_string_equal(v, "company|potential|NULL|00");
	free(v);
}

static void
test_enumerations_are_checked(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"UPDATE customers SET status = 'foo'",
		"UPDATE customers SET level = 'D'",
		"UPDATE customers SET kind = 'robot'",
		"UPDATE customers SET opt_out_sms = 2",
		"INSERT INTO reminders (customer_id, user_id, kind, due_at,"
		    " state) VALUES (1, 1, 'followup', 1, 'bogus')",
		"INSERT INTO reminders (customer_id, user_id, kind, due_at)"
		    " VALUES (1, 1, 'party', 1)",
		"INSERT INTO reminders (customer_id, user_id, kind, due_at,"
		    " source) VALUES (1, 1, 'custom', 1, 'rule:')",
		"INSERT INTO reminders (customer_id, user_id, kind, due_at,"
		    " state) VALUES (1, 1, 'custom', 1, 'snoozed')",
		"INSERT INTO outbox (channel, recipient, body) VALUES"
		    " ('fax', 'x', 'y')",
		"INSERT INTO outbox (channel, recipient, body, state) VALUES"
		    " ('sms', '138', 'y', 'lost')",
		"INSERT INTO followups (customer_id, user_id, at, method)"
		    " VALUES (1, 1, 1, 'telepathy')",
		"INSERT INTO change_log (tbl, row_id, op) VALUES"
		    " ('customers', 1, 'upsert')",
		"INSERT INTO rule_changes (customer_id, event) VALUES"
		    " (1, 'tag_renamed')",
		"INSERT INTO tags (id, name) VALUES (1, 'vip');"
		    "INSERT INTO customer_tags (customer_id, tag_id, source)"
		    " VALUES (1, 1, 'auto')",
	};
	static const char *good[] = {
		"UPDATE customers SET status = 'won', level = 'A'",
		"UPDATE customers SET status = 'lost', level = NULL",
		"INSERT INTO reminders (customer_id, user_id, kind, due_at,"
		    " state, snoozed_until, source) VALUES (1, 1, 'birthday', 1,"
		    " 'snoozed', 2, 'rule:birthday')",
		"INSERT INTO customer_tags (customer_id, tag_id, source)"
		    " VALUES (1, 1, 'rule:大客户')",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(f->db, bad[i], SQLITE_CONSTRAINT_CHECK);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect(f->db, good[i], SQLITE_OK);
}

static void
test_channel_lists(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *channels; int ok; } cases[] = {
		{ "", 1 }, { "inapp", 1 }, { "email,sms", 1 },
		{ "inapp,email,sms,webhook", 1 }, { "sms,sms", 1 },
		{ "fax", 0 }, { "email,", 0 }, { ",email", 0 },
		{ "email,,sms", 0 }, { "email, sms", 0 }, { "emailsms", 0 },
		{ "EMAIL", 0 }, { "inapp,email,fax", 0 },
	};
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(f->db, "INSERT INTO reminders"
	    " (customer_id, user_id, kind, due_at, channels) VALUES"
	    " (1, 1, 'custom', 1, ?)", -1, &st, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		sqlite3_bind_text(st, 1, cases[i].channels, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if ((rc == SQLITE_DONE) != cases[i].ok)
			fail_msg("channels '%s': rc %d", cases[i].channels, rc);
	}
	sqlite3_finalize(st);
}

static void
test_codes_and_dates(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *sql; int rc; } cases[] = {
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('202405-0002', 'a')", SQLITE_OK },
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('202405-12345', 'b')", SQLITE_OK },
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('202405-0001', 'dup')", SQLITE_CONSTRAINT_UNIQUE },
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('202413-0001', 'c')", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('2024-05-01', 'c')", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('202405-001', 'c')", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO customers (code, name) VALUES"
		    " ('202405-0001x', 'c')", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE customers SET birthday = '1990-02-28'", SQLITE_OK },
		{ "UPDATE customers SET birthday = '02-29'", SQLITE_OK },
		{ "UPDATE customers SET birthday = '1990-02-30'",
		    SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE customers SET birthday = '13-01'",
		    SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE customers SET birthday = '02-30'",
		    SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE customers SET birthday = '1990-04-31'",
		    SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE customers SET birthday = '1990/02/28'",
		    SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO contracts (customer_id, start_date, end_date)"
		    " VALUES (1, '2024-01-01', '2024-12-31')", SQLITE_OK },
		{ "INSERT INTO contracts (customer_id, start_date, end_date)"
		    " VALUES (1, '2024-01-01', '2024-02-30')",
		    SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO contracts (customer_id, start_date, end_date)"
		    " VALUES (1, '2024-06-01', '2024-01-01')",
		    SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO orders (customer_id, amount, ordered_at)"
		    " VALUES (1, 1299900, 1717200000)", SQLITE_OK },
		{ "INSERT INTO orders (customer_id, amount, ordered_at)"
		    " VALUES (1, -1, 1717200000)", SQLITE_CONSTRAINT_CHECK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(f->db, cases[i].sql, cases[i].rc);
}

static void
test_foreign_keys(void **state)
{
	struct fixture *f = *state;

	expect(f->db, "INSERT INTO reminders (customer_id, user_id, kind,"
	    " due_at) VALUES (999, 1, 'custom', 1)",
	    SQLITE_CONSTRAINT_FOREIGNKEY);
	expect(f->db, "INSERT INTO reminders (customer_id, user_id, kind,"
	    " due_at) VALUES (1, 999, 'custom', 1)",
	    SQLITE_CONSTRAINT_FOREIGNKEY);
	expect(f->db, "INSERT INTO reminders (id, customer_id, user_id, kind,"
	    " due_at) VALUES (10, 1, 1, 'custom', 1);"
	    "INSERT INTO outbox (channel, recipient, body, reminder_id,"
	    " customer_id) VALUES ('sms', '13800000000', '您好', 10, 1);"
	    "INSERT INTO contacts (customer_id, name) VALUES (1, '王经理');"
	    "INSERT INTO audit_log (actor, action, customer_id) VALUES"
	    " ('crm', 'create', 1)", SQLITE_OK);
	/* A user who is still referenced cannot vanish: deactivate instead. */
	expect(f->db, "DELETE FROM users WHERE id = 1",
	    SQLITE_CONSTRAINT_FOREIGNKEY);
	/* A customer's own rows go with it; sent mail and the audit stay. */
	expect(f->db, "DELETE FROM customers WHERE id = 1", SQLITE_OK);
	assert_int_equal(testdb_int(f->db, "SELECT count(*) FROM reminders"),
	    0);
	assert_int_equal(testdb_int(f->db, "SELECT count(*) FROM contacts"), 0);
	assert_int_equal(testdb_int(f->db, "SELECT count(*) FROM outbox"
	    " WHERE reminder_id IS NULL AND customer_id IS NULL"), 1);
	assert_int_equal(testdb_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE customer_id = 1"), 1);
}

static void
test_open_flags_are_unique(void **state)
{
	struct fixture *f = *state;

	expect(f->db, "INSERT INTO customer_flags (customer_id, flag, reason)"
	    " VALUES (1, 'dormant', '90天未跟进')", SQLITE_OK);
	expect(f->db, "INSERT INTO customer_flags (customer_id, flag)"
	    " VALUES (1, 'dormant')", SQLITE_CONSTRAINT_UNIQUE);
	expect(f->db, "INSERT INTO customer_flags (customer_id, flag)"
	    " VALUES (1, 'churn_risk')", SQLITE_OK);
	expect(f->db, "UPDATE customer_flags SET cleared_at = 1"
	    " WHERE flag = 'dormant'", SQLITE_OK);
	expect(f->db, "INSERT INTO customer_flags (customer_id, flag)"
	    " VALUES (1, 'dormant')", SQLITE_OK);
	assert_int_equal(testdb_int(f->db, "SELECT count(*) FROM"
	    " customer_flags WHERE flag = 'dormant'"), 2);
	/* One primary contact per customer, any number of others. */
	expect(f->db, "INSERT INTO contacts (customer_id, name, is_primary)"
	    " VALUES (1, '甲', 1), (1, '乙', 0), (1, '丙', 0)", SQLITE_OK);
	expect(f->db, "INSERT INTO contacts (customer_id, name, is_primary)"
	    " VALUES (1, '丁', 1)", SQLITE_CONSTRAINT_UNIQUE);
}

static void
test_updated_at_follows_changes(void **state)
{
	struct fixture *f = *state;

	expect(f->db, "UPDATE customers SET updated_at = 1", SQLITE_OK);
	assert_int_equal(testdb_int(f->db, "SELECT updated_at FROM customers"),
	    1);
	/* A writer that does not set it still marks the row changed. */
	expect(f->db, "UPDATE customers SET status = 'intent'", SQLITE_OK);
	assert_true(testdb_int(f->db, "SELECT updated_at FROM customers") >
	    1700000000);
}

static void
test_chinese_round_trip(void **state)
{
	struct fixture	*f = *state;
	static const char name[] = "上海明远科技有限公司";
	static const char note[] = "请于周五前回电，确认续约（¥12,999.00）🙂";
	sqlite3_stmt	*st;
	sqlite3		*crm = testdb_raw(f->t->path, 1000);

	assert_int_equal(sqlite3_prepare_v2(f->db, "INSERT INTO reminders"
	    " (customer_id, user_id, kind, due_at, note) VALUES"
	    " (1, 1, 'callback', 1717200000, ?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, note, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* Read back from another connection, as the CRM application would. */
	assert_int_equal(sqlite3_prepare_v2(crm, "SELECT c.name, r.note,"
	    " length(c.name) FROM customers c JOIN reminders r"
	    " ON r.customer_id = c.id", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), strlen(name));
	assert_memory_equal(sqlite3_column_text(st, 0), name, strlen(name));
	assert_string_equal((const char *)sqlite3_column_text(st, 1), note);
	assert_int_equal(sqlite3_column_int(st, 2), 10);	/* characters */
	sqlite3_finalize(st);
	sqlite3_close(crm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_crm_reminder_insert_gets_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_defaults,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumerations_are_checked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_lists,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_codes_and_dates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_keys,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_flags_are_unique,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_updated_at_follows_changes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chinese_round_trip,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
