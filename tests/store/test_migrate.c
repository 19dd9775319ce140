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
	"reminders_state_due", "outbox_due", "followups_customer_at",
	"orders_customer_amount", "customers_owner", "contracts_end",
	"customer_flags_open", "outbox_queued_age",
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
	"CREATE INDEX customers_vip ON customers(vip);", NULL, 0
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
		"INSERT INTO no_such_table VALUES (1);", NULL, 0
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
		"INSERT INTO contacts (customer_id, name) VALUES (999, '李娜');",
		NULL, 1
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

/* The check reads every row under the write lock, so it runs only for a
 * migration that says it may break a reference; no built-in one does. */
static void
test_reference_check_only_when_asked(void **state)
{
	struct testdb		*t = *state;
	struct migration	 list[2] = { schema_migrations[0], {
		2, "orphan, said not to break references",
		"INSERT INTO contacts (customer_id, name) VALUES (999, '李娜');",
		NULL, 0
	} };
	sqlite3			*db = testdb_raw(t->path, 1000);
	char			*err = NULL;

	seed_v1(db);
	assert_int_equal(migrate_run(db, list, 2, &err), 0);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 2);
	for (size_t i = 0; i < schema_nmigrations; i++)
		assert_int_equal(schema_migrations[i].may_break_refs, 0);
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
		{ 1, "one", "CREATE TABLE a (x);", NULL, 0 },
		{ 3, "skips two", "CREATE TABLE b (x);", NULL, 0 },
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

/* The opcodes SQLite compiled for sql (triggers included) name op. */
static int
compiles_to(sqlite3 *db, const char *sql, const char *op)
{
	sqlite3_stmt	*st;
	char		*explain;
	int		 found = 0;

	assert_true(asprintf(&explain, "EXPLAIN %s", sql) != -1);
	if (sqlite3_prepare_v2(db, explain, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", explain, sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW)
		found |= strcmp((const char *)sqlite3_column_text(st, 1),
		    op) == 0;
	sqlite3_finalize(st);
	free(explain);
	return found;
}

/*
 * The statement that writes every column of table: an INSERT (all its
 * CHECKs and INSERT triggers) or an UPDATE of every column but the key
 * (its CHECKs and UPDATE triggers).  malloc'd.
 */
static char *
write_all(sqlite3 *db, const char *table, int update)
{
	sqlite3_stmt	*st;
	char		*sql, *cols = strdup(""), *vals = strdup(""), *tmp;
	char		*where = NULL;	/* the key's columns, if any */
	const char	*sep = "";

	assert_true(asprintf(&sql, "SELECT name, pk FROM pragma_table_info"
	    "('%s')", table) != -1);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	free(sql);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 0);

		if (update && sqlite3_column_int(st, 1) > 0) {
			/* The key picks the row (WITHOUT ROWID tables too). */
			assert_true(asprintf(&tmp, "%s%s%s = ?", where ?
			    where : "", where ? " AND " : "", c) != -1);
			free(where);
			where = tmp;
			continue;
		}
		assert_true(asprintf(&tmp, "%s%s%s%s%s", cols, sep, c,
		    update ? " = " : "", update ? c : "") != -1);
		free(cols);
		cols = tmp;
		assert_true(asprintf(&tmp, "%s%s?", vals, sep) != -1);
		free(vals);
		vals = tmp;
		sep = ", ";
	}
	sqlite3_finalize(st);
	if (update)
		assert_true(asprintf(&sql, "UPDATE %s SET %s WHERE %s",
		    table, cols, where ? where : "rowid = 1") != -1);
	else
		assert_true(asprintf(&sql, "INSERT INTO %s (%s) VALUES (%s)",
		    table, cols, vals) != -1);
	free(cols);
	free(vals);
	free(where);
	return sql;
}

/*
 * No write to any table builds a temporary b-tree per row: SQLite does
 * that for `x IN (three or more values)` in a CHECK or a trigger's WHEN,
 * and a reminder's firing paid it (schema.c, v7).
 */
static void
test_writes_build_no_lookup_tables(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = open_store(t->path);
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		*err = NULL, *sql;
	int		 tables = 0;

	assert_int_equal(store_migrate(s, &err), 0);
	db = testdb_raw(t->path, 1000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema"
	    " WHERE type = 'table' AND name NOT GLOB 'sqlite_*'",
	    -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);

		for (int update = 0; update <= 1; update++) {
			sql = write_all(db, table, update);
			if (compiles_to(db, sql, "OpenEphemeral"))
				fail_msg("%s builds a lookup table", sql);
			free(sql);
		}
		tables++;
	}
	sqlite3_finalize(st);
	assert_true(tables >= 15);
	/* The check can fail: this is what the old text compiled to. */
	assert_int_equal(testdb_exec(db, "CREATE TEMP TABLE old_style (state"
	    " TEXT CHECK (state IN ('queued', 'sending', 'sent')))"),
	    SQLITE_OK);
	assert_true(compiles_to(db, "INSERT INTO old_style VALUES (?)",
	    "OpenEphemeral"));
	sqlite3_close(db);
	store_close(s);
}

/* Each in-place edit says what the text it replaced said: the two agree
 * on every value the old list names, and on values it does not. */
static void
test_edited_checks_mean_the_same(void **state)
{
	struct testdb	*t = *state;
	sqlite3		*db = testdb_raw(t->path, 1000);
	int		 edits = 0;

	for (size_t m = 0; m < schema_nmigrations; m++) {
		const struct schema_edit *e = schema_migrations[m].edits;

		for (; e != NULL && e->table != NULL; e++, edits++) {
			char col[32], *values = strdup("(NULL), (''),"
			    " ('bogus'), ('A '), ('a')"), *tmp, *sql;
			const char *q = e->from;
			int listed = 0;

			assert_int_equal(sscanf(e->from, "%31[a-z_]", col), 1);
			/* Each quoted value of the old list, and its
			 * upper-case form (the comparison is binary). */
			while ((q = strchr(q, '\'')) != NULL) {
				const char *end = strchr(q + 1, '\'');

				assert_non_null(end);
				assert_true(asprintf(&tmp, "%s, (%.*s), "
				    "(upper(%.*s))", values, (int)(end - q + 1),
				    q, (int)(end - q + 1), q) != -1);
				free(values);
				values = tmp;
				q = end + 1;
				listed++;
			}
			assert_true(listed >= 3);
			assert_true(asprintf(&sql, "WITH v(%s) AS (VALUES %s)"
			    " SELECT count(*) FROM v WHERE (%s) IS NOT (%s)",
			    col, values, e->from, e->to) != -1);
			if (testdb_int(db, sql) != 0)
				fail_msg("%s: \"%s\" and \"%s\" differ",
				    e->table, e->from, e->to);
			free(sql);
			assert_true(asprintf(&sql, "WITH v(%s) AS (VALUES %s)"
			    " SELECT count(DISTINCT %s) FROM v WHERE %s", col,
			    values, col, e->to) != -1);
			assert_int_equal(testdb_int(db, sql), listed);
			free(sql);
			free(values);
		}
	}
	assert_true(edits >= 10);
	sqlite3_close(db);
}

/* A from text that is not there (a schema edited by hand) is refused,
 * and the migration changes nothing. */
static void
test_edit_of_missing_text_is_refused(void **state)
{
	struct testdb			*t = *state;
	static const struct schema_edit	 edits[] = {
		{ "customers", "level IN ('A', 'B', 'C')",
		    "level = 'A' OR level = 'B' OR level = 'C'" },
		{ "customers", "no such text", "x" },
		{ NULL, NULL, NULL },
	}, edits_ok[] = {
		{ "customers", "level IN ('A', 'B', 'C')",
		    "level = 'A' OR level = 'B' OR level = 'C'" },
		{ NULL, NULL, NULL },
	};
	struct migration		 list[2] = { schema_migrations[0],
		{ 2, "edit", "CREATE TABLE extra (x INTEGER);", edits, 0 } };
	sqlite3				*db = testdb_raw(t->path, 1000);
	char				*err = NULL;

	seed_v1(db);
	assert_int_equal(migrate_run(db, list, 2, &err), -1);
	assert_non_null(strstr(err, "table customers does not have the text"
	    " \"no such text\""));
	free(err);
	assert_int_equal(testdb_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM sqlite_schema"
	    " WHERE name = 'extra' OR sql LIKE '%level = ''A''%'"), 0);
	/* Nothing is left writable: the schema cannot be edited now. */
	assert_int_equal(testdb_exec(db, "UPDATE sqlite_schema SET sql ="
	    " sql WHERE name = 'customers'"), SQLITE_ERROR);
	/* Without the bad edit it applies, and the edited check holds. */
	list[1].edits = edits_ok;
	assert_int_equal(migrate_run(db, list, 2, &err), 0);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM sqlite_schema"
	    " WHERE name = 'customers' AND sql LIKE '%level = ''A'' OR%'"), 1);
	assert_int_equal(testdb_exec(db, "UPDATE customers SET level = 'D'"),
	    SQLITE_CONSTRAINT_CHECK);
	assert_int_equal(testdb_exec(db, "UPDATE customers SET level = 'B'"),
	    SQLITE_OK);
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
		cmocka_unit_test_setup_teardown(
		    test_reference_check_only_when_asked,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_newer_database_refused,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_list_refused,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_writes_build_no_lookup_tables,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_edited_checks_mean_the_same,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_edit_of_missing_text_is_refused,
		    testdb_setup, testdb_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
