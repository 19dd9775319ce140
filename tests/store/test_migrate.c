/*
 * Migrations: a new file reaches the latest schema with every contract
 * column; an upgrade keeps data; a failing migration changes nothing; a
 * newer database is refused with a message that says what to do.
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

/* The public contract of docs/schema.md: every table and column that the
 * CRM application may rely on. */
static const struct {
	const char	*table;
	const char	*columns[20];
} contract[] = {
	{ "users", { "id", "name", "email", "phone", "manager_id", "region",
	    "active" } },
	{ "customers", { "id", "code", "name", "kind", "status", "level",
	    "industry", "source", "region", "owner_id", "phone", "email",
	    "birthday", "opt_out_sms", "opt_out_email", "created_at",
	    "updated_at" } },
	{ "contacts", { "id", "customer_id", "name", "title", "phone",
	    "email", "birthday", "is_primary" } },
	{ "followups", { "id", "customer_id", "user_id", "at", "method",
	    "content", "feedback", "next_action", "next_followup_at" } },
	{ "orders", { "id", "customer_id", "amount", "ordered_at" } },
	{ "contracts", { "id", "customer_id", "title", "start_date",
	    "end_date", "amount" } },
	{ "tags", { "id", "name" } },
	{ "customer_tags", { "customer_id", "tag_id", "source",
	    "added_at" } },
	{ "followup_plans", { "id", "customer_id", "user_id", "name",
	    "rrule", "dtstart", "until", "channels", "active" } },
	{ "reminders", { "id", "customer_id", "user_id", "kind", "due_at",
	    "channels", "note", "state", "source", "dedup_key", "fired_at",
	    "acked_at", "snoozed_until", "escalated_at", "late",
	    "plan_id" } },
	{ "notifications", { "id", "user_id", "customer_id", "reminder_id",
	    "title", "body", "created_at", "read_at" } },
	{ "outbox", { "id", "channel", "recipient", "subject", "body",
	    "state", "attempts", "next_attempt_at", "last_error",
	    "idempotency_key", "created_at", "sent_at", "reminder_id",
	    "lease_until" } },
	{ "customer_flags", { "customer_id", "flag", "reason", "since",
	    "notified_at", "cleared_at" } },
	{ "audit_log", { "id", "at", "actor", "action", "customer_id",
	    "detail" } },
};

static const char *const indexes[] = {
	"reminders_state_due", "outbox_state_next", "followups_customer_at",
	"orders_customer_amount", "customers_owner", "contracts_end",
	"customer_flags_open",
};

static struct store *
open_store(const char *path)
{
	struct store	*s;
	char		*err = NULL;

	s = store_open(path, 1000, &err);
	if (s == NULL)
		fail_msg("store_open: %s", err);
	return s;
}

static void
test_fresh_database_reaches_latest(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = open_store(t->path);
	char		*err = NULL;
	int		 v = -1;

	assert_true(store_latest_version() >= 1);
	assert_int_equal(store_schema_version(s, &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(store_migrate(s, &err), 0);
	assert_null(err);
	assert_int_equal(store_schema_version(s, &v, &err), 0);
	assert_int_equal(v, store_latest_version());
	/* Migrating an up-to-date database is a no-op, not an error. */
	assert_int_equal(store_migrate(s, &err), 0);
	assert_int_equal(store_schema_version(s, &v, &err), 0);
	assert_int_equal(v, store_latest_version());
	store_close(s);
}

static void
test_contract_tables_and_columns(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = open_store(t->path);
	char		*err = NULL, *sql;
	sqlite3		*db;

	assert_int_equal(store_migrate(s, &err), 0);
	db = testdb_raw(t->path, 1000);
	for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
		for (size_t j = 0; contract[i].columns[j] != NULL; j++) {
			if (!testdb_has_column(db, contract[i].table,
			    contract[i].columns[j]))
				fail_msg("%s.%s missing", contract[i].table,
				    contract[i].columns[j]);
		}
	}
	for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
		assert_true(asprintf(&sql, "SELECT count(*) FROM sqlite_schema"
		    " WHERE type = 'index' AND name = '%s'", indexes[i]) != -1);
		if (testdb_int(db, sql) != 1)
			fail_msg("index %s missing", indexes[i]);
		free(sql);
	}
	/* The check itself can fail: a column nobody created is absent. */
	assert_false(testdb_has_column(db, "customers", "no_such_column"));
	sqlite3_close(db);
	store_close(s);
}

/* v2 for the upgrade tests: the real v1, then something a later crmd adds. */
static const struct migration good_v2 = {
	2, "customer vip flag",
	"ALTER TABLE customers ADD COLUMN vip INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX customers_vip ON customers(vip);"
};

static void
seed_v1(sqlite3 *db)
{
	char *err = NULL;

	assert_int_equal(migrate_run(db, schema_migrations, 1, &err), 0);
	assert_int_equal(testdb_exec(db,
	    "INSERT INTO users (id, name) VALUES (1, '张伟');"
	    "INSERT INTO customers (id, code, name, owner_id) VALUES"
	    " (1, '202405-0001', '上海明远科技有限公司', 1);"), SQLITE_OK);
}

static void
test_upgrade_keeps_data(void **state)
{
	struct testdb		*t = *state;
	struct migration	 list[2] = { schema_migrations[0], good_v2 };
	sqlite3			*db = testdb_raw(t->path, 1000);
	char			*err = NULL, *name;

	seed_v1(db);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(migrate_run(db, list, 2, &err), 0);
	assert_null(err);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 2);
	assert_true(testdb_has_column(db, "customers", "vip"));
	name = testdb_text(db, "SELECT name FROM customers WHERE id = 1");
	assert_string_equal(name, "上海明远科技有限公司");
	free(name);
	assert_int_equal(testdb_int(db, "SELECT vip FROM customers"), 0);
	sqlite3_close(db);
}

static void
test_failed_migration_changes_nothing(void **state)
{
	struct testdb		*t = *state;
	struct migration	 list[2] = { schema_migrations[0], {
		2, "half-way failure",
		"ALTER TABLE customers ADD COLUMN vip INTEGER;"
		"CREATE TABLE extra (x INTEGER);"
		"UPDATE customers SET name = 'changed';"
		"INSERT INTO no_such_table VALUES (1);"
	} };
	sqlite3			*db = testdb_raw(t->path, 1000);
	char			*err = NULL, *name;

	seed_v1(db);
	assert_int_equal(migrate_run(db, list, 2, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "schema version 2 (half-way failure)"));
	assert_non_null(strstr(err, "no such table: no_such_table"));
	assert_non_null(strstr(err, "unchanged at version 1"));
	free(err);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 1);
	assert_false(testdb_has_column(db, "customers", "vip"));
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM sqlite_schema"
	    " WHERE name = 'extra'"), 0);
	name = testdb_text(db, "SELECT name FROM customers WHERE id = 1");
	assert_string_equal(name, "上海明远科技有限公司");
	free(name);
	/* No transaction is left open, and a corrected v2 then applies. */
	assert_true(sqlite3_get_autocommit(db));
	list[1] = good_v2;
	err = NULL;
	assert_int_equal(migrate_run(db, list, 2, &err), 0);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 2);
	sqlite3_close(db);
}

static void
test_dangling_reference_is_refused(void **state)
{
	struct testdb		*t = *state;
	struct migration	 list[2] = { schema_migrations[0], {
		2, "orphan",
		"INSERT INTO contacts (customer_id, name) VALUES (999, '李娜');"
	} };
	sqlite3			*db = testdb_raw(t->path, 1000);
	char			*err = NULL;

	seed_v1(db);
	assert_int_equal(testdb_exec(db, "PRAGMA foreign_keys = ON"),
	    SQLITE_OK);
	assert_int_equal(migrate_run(db, list, 2, &err), -1);
	assert_non_null(strstr(err, "table contacts"));
	free(err);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM contacts"), 0);
	/* The caller's foreign key setting is restored. */
	assert_int_equal(testdb_int(db, "PRAGMA foreign_keys"), 1);
	sqlite3_close(db);
}

static void
test_newer_database_refused(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = open_store(t->path);
	sqlite3		*db = testdb_raw(t->path, 1000);
	char		*err = NULL, *want, *sql;
	int		 newer = store_latest_version() + 1;

	assert_int_equal(store_migrate(s, &err), 0);
	assert_true(asprintf(&sql, "PRAGMA user_version = %d", newer) != -1);
	assert_int_equal(testdb_exec(db, sql), SQLITE_OK);
	free(sql);
	assert_int_equal(store_migrate(s, &err), -1);
	assert_non_null(err);
	assert_true(asprintf(&want, "database %s has schema version %d, but "
	    "this crmd (%s) only knows versions up to %d", t->path, newer,
	    CRMD_VERSION, store_latest_version()) != -1);
	if (strstr(err, want) == NULL)
		fail_msg("unexpected message: %s", err);
	assert_non_null(strstr(err, "upgrade crmd"));
	free(want);
	free(err);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), newer);
	sqlite3_close(db);
	store_close(s);
}

static void
test_malformed_list_refused(void **state)
{
	struct testdb		*t = *state;
	const struct migration	 list[2] = {
		{ 1, "one", "CREATE TABLE a (x);" },
		{ 3, "skips two", "CREATE TABLE b (x);" },
	};
	sqlite3			*db = testdb_raw(t->path, 1000);
	char			*err = NULL;

	assert_int_equal(migrate_run(db, list, 2, &err), -1);
	assert_non_null(strstr(err, "malformed"));
	free(err);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 0);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM sqlite_schema"),
	    0);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_fresh_database_reaches_latest,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_contract_tables_and_columns,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_keeps_data,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_migration_changes_nothing,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_dangling_reference_is_refused,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_newer_database_refused,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_list_refused,
		    testdb_setup, testdb_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
