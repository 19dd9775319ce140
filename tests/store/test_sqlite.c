/*
 * The SQLite backend's connection rules: WAL, foreign keys and a busy
 * timeout on every open; writes take the write lock at BEGIN; a busy
 * database is reported, not waited on; one crmd per database.
 */
#include <sys/stat.h>

#include <fcntl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "migrate.h"
#include "store.h"
#include "store_outbox.h"
#include "store_reminders.h"
#include "testdb.h"

static struct store *
migrated(const char *path, int64_t busy_ms)
{
	struct store	*s;
	char		*err = NULL;

	if ((s = store_open(path, busy_ms, &err)) == NULL)
		fail_msg("store_open: %s", err);
	if (store_migrate(s, &err) == -1)
		fail_msg("store_migrate: %s", err);
	return s;
}

static void
test_pragmas_on_open(void **state)
{
	struct testdb	*t = *state;
	struct store	*s;
	sqlite3		*db, *other;
	char		*err = NULL, *mode;

	s = store_open(t->path, 2500, &err);
	assert_non_null(s);
	assert_string_equal(store_database(s), t->path);
	db = store_sqlite_handle(s);
	mode = testdb_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(testdb_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(testdb_int(db, "PRAGMA busy_timeout"), 2500);
	assert_int_equal(testdb_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
	store_set_busy_timeout(s, 40);
	assert_int_equal(testdb_int(db, "PRAGMA busy_timeout"), 40);
	store_set_busy_timeout(s, -5);
	assert_int_equal(testdb_int(db, "PRAGMA busy_timeout"), 0);
	/* WAL is a property of the file: the CRM application sees it too. */
	other = testdb_raw(t->path, 0);
	mode = testdb_text(other, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	sqlite3_close(other);
	store_close(s);
}

static void
test_open_failure_names_the_file(void **state)
{
	struct testdb	*t = *state;
	char		*err = NULL, *bad;

	assert_true(asprintf(&bad, "%s/missing/dir/crmd.db", t->dir) != -1);
	assert_null(store_open(bad, 100, &err));
	assert_non_null(err);
	assert_non_null(strstr(err, bad));
	free(err);
	free(bad);
}

static void
test_begin_takes_write_lock_at_once(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	sqlite3		*crm = testdb_raw(t->path, 0);

	assert_int_equal(store_begin(s), STORE_OK);
	/* Before we have written anything, no one else may start writing. */
	assert_int_equal(testdb_exec(crm, "BEGIN IMMEDIATE"), SQLITE_BUSY);
	/* A nested begin is a caller bug, reported and harmless. */
	assert_int_equal(store_begin(s), STORE_ERR);
	assert_non_null(strstr(store_errmsg(s), "already open"));
	store_rollback(s);
	assert_int_equal(testdb_exec(crm, "BEGIN IMMEDIATE"), SQLITE_OK);
	assert_int_equal(testdb_exec(crm, "COMMIT"), SQLITE_OK);
	/* Rolling back with nothing open is a no-op. */
	store_rollback(s);
	sqlite3_close(crm);
	store_close(s);
}

/*
 * Why store_begin() is BEGIN IMMEDIATE: a deferred transaction that read
 * before another connection committed cannot be upgraded to a writer, and
 * SQLite says so at once (SQLITE_BUSY_SNAPSHOT): no busy timeout helps.
 */
static void
test_deferred_read_then_write_fails(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	sqlite3		*a = testdb_raw(t->path, 60000);
	sqlite3		*b = testdb_raw(t->path, 60000);

	assert_int_equal(testdb_exec(a, "BEGIN"), SQLITE_OK);
	assert_int_equal(testdb_int(a, "SELECT count(*) FROM audit_log"), 0);
	assert_int_equal(testdb_exec(b, "INSERT INTO audit_log (actor, action)"
	    " VALUES ('crm', 'edit')"), SQLITE_OK);
	assert_int_equal(testdb_exec(a, "INSERT INTO audit_log (actor, action)"
	    " VALUES ('crm', 'late')"), SQLITE_BUSY_SNAPSHOT);
	assert_int_equal(testdb_exec(a, "ROLLBACK"), SQLITE_OK);
	sqlite3_close(a);
	sqlite3_close(b);
	store_close(s);
}

/* The same read-then-write through store_begin() cannot be overtaken. */
static void
test_store_read_then_write_succeeds(void **state)
{
	struct testdb		*t = *state;
	struct store		*s = migrated(t->path, 1000);
	sqlite3			*crm = testdb_raw(t->path, 0);
	struct store_counts	 c;

	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_counts(s, &c), STORE_OK);		/* read */
	assert_int_equal(testdb_exec(crm, "INSERT INTO audit_log (actor,"
	    " action) VALUES ('crm', 'edit')"), SQLITE_BUSY);
	assert_int_equal(store_audit(s, "crmd", "tick", 0, NULL),	/* write */
	    STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	/* The other writer retries after our commit and succeeds. */
	assert_int_equal(testdb_exec(crm, "INSERT INTO audit_log (actor,"
	    " action) VALUES ('crm', 'edit')"), SQLITE_OK);
	assert_int_equal(testdb_int(crm, "SELECT count(*) FROM audit_log"), 2);
	sqlite3_close(crm);
	store_close(s);
}

static void
test_busy_is_reported_not_waited(void **state)
{
	struct testdb		*t = *state;
	struct store		*s = migrated(t->path, 1000);
	sqlite3			*crm = testdb_raw(t->path, 0);
	struct store_counts	 c;

	store_set_busy_timeout(s, 10);
	assert_int_equal(testdb_exec(crm, "BEGIN IMMEDIATE"), SQLITE_OK);
	assert_int_equal(testdb_exec(crm, "INSERT INTO audit_log (actor,"
	    " action) VALUES ('crm', 'uncommitted')"), SQLITE_OK);
	assert_int_equal(store_begin(s), STORE_BUSY);
	assert_non_null(strstr(store_errmsg(s), "locked"));
	assert_int_equal(store_audit(s, "crmd", "blocked", 0, NULL),
	    STORE_BUSY);
	/* WAL readers are not blocked by a writer, and see only commits. */
	assert_int_equal(store_counts(s, &c), STORE_OK);
	assert_int_equal(testdb_exec(crm, "COMMIT"), SQLITE_OK);
	assert_int_equal(store_audit(s, "crmd", "retried", 0, NULL),
	    STORE_OK);
	assert_int_equal(testdb_int(crm, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'blocked'"), 0);
	assert_int_equal(testdb_int(crm, "SELECT count(*) FROM audit_log"),
	    2);
	/* Nothing of ours is left open: the other side can write again. */
	assert_int_equal(testdb_exec(crm, "BEGIN IMMEDIATE"), SQLITE_OK);
	assert_int_equal(testdb_exec(crm, "COMMIT"), SQLITE_OK);
	sqlite3_close(crm);
	store_close(s);
}

static void
test_counts(void **state)
{
	struct testdb		*t = *state;
	struct store		*s = migrated(t->path, 1000);
	sqlite3			*crm = testdb_raw(t->path, 1000);
	struct store_counts	 c;

	memset(&c, 0xff, sizeof(c));
	assert_int_equal(store_counts(s, &c), STORE_OK);
	assert_int_equal(c.customers, 0);
	assert_int_equal(c.reminders_pending, 0);
	assert_int_equal(c.outbox_dead, 0);
	assert_int_equal(testdb_exec(crm,
	    "INSERT INTO users (id, name) VALUES (1, '王芳');"
	    "INSERT INTO customers (id, code, name) VALUES"
	    " (1, '202405-0001', '上海明远科技有限公司'),"
	    " (2, '202405-0002', '杭州云帆贸易'),"
	    " (3, '202406-0001', '北京一诺');"
	    "INSERT INTO reminders (customer_id, user_id, kind, due_at, state,"
	    " snoozed_until) VALUES (1, 1, 'followup', 100, 'pending', NULL),"
	    " (2, 1, 'callback', 100, 'pending', NULL),"
	    " (3, 1, 'custom', 100, 'acked', NULL),"
	    " (3, 1, 'custom', 100, 'snoozed', 200);"
	    "INSERT INTO outbox (channel, recipient, body, state) VALUES"
	    " ('email', 'a@example.com', 'x', 'queued'),"
	    " ('sms', '13800000000', 'x', 'queued'),"
	    " ('sms', '13800000000', 'x', 'queued'),"
	    " ('webhook', 'https://example.com/h', 'x', 'sending'),"
	    " ('email', 'b@example.com', 'x', 'sent'),"
	    " ('email', 'b@example.com', 'x', 'sent'),"
	    " ('email', 'b@example.com', 'x', 'sent'),"
	    " ('email', 'b@example.com', 'x', 'sent'),"
	    " ('email', 'c@example.com', 'x', 'dead');"), SQLITE_OK);
	assert_int_equal(store_counts(s, &c), STORE_OK);
	assert_int_equal(c.customers, 3);
	assert_int_equal(c.reminders_pending, 2);
	assert_int_equal(c.outbox_queued, 3);
	assert_int_equal(c.outbox_sending, 1);
	assert_int_equal(c.outbox_sent, 4);
	assert_int_equal(c.outbox_dead, 1);
	/* No read transaction is left behind: a checkpoint can finish. */
	assert_true(sqlite3_get_autocommit(store_sqlite_handle(s)));
	assert_int_equal(testdb_int(crm, "PRAGMA wal_checkpoint(TRUNCATE)"),
	    0);
	sqlite3_close(crm);
	store_close(s);
}

static void
test_audit(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	sqlite3		*crm = testdb_raw(t->path, 1000);
	char		*v;

	assert_int_equal(testdb_exec(crm,
	    "INSERT INTO customers (id, code, name) VALUES"
	    " (7, '202405-0007', '上海明远科技有限公司')"), SQLITE_OK);
	assert_int_equal(store_audit(s, "crmctl:uid 1000", "reminder.cancel",
	    7, "取消提醒：客户要求改期"), STORE_OK);
	assert_int_equal(store_audit(s, "crmd", "start", 0, NULL), STORE_OK);
	assert_int_equal(testdb_int(crm, "SELECT count(*) FROM audit_log"), 2);
	v = testdb_text(crm, "SELECT actor || '|' || action || '|' ||"
	    " customer_id || '|' || detail FROM audit_log ORDER BY id LIMIT 1");
	assert_string_equal(v, "crmctl:uid 1000|reminder.cancel|7|"
	    "取消提醒：客户要求改期");
	free(v);
	assert_true(testdb_int(crm, "SELECT min(at) FROM audit_log") >
	    1700000000);
	assert_int_equal(testdb_int(crm, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'start' AND customer_id IS NULL AND detail = ''"),
	    1);
	/* Inside a caller's transaction the row shares its fate. */
	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_audit(s, "crmd", "undone", 7, "x"), STORE_OK);
	store_rollback(s);
	assert_int_equal(testdb_int(crm, "SELECT count(*) FROM audit_log"), 2);
	assert_int_equal(store_audit(s, NULL, "x", 0, NULL), STORE_ERR);
	sqlite3_close(crm);
	store_close(s);
}

static void
test_single_instance(void **state)
{
	struct testdb	*t = *state;
	struct store	*s1 = migrated(t->path, 1000);
	struct store	*s2 = migrated(t->path, 1000);
	char		*err = NULL, *want, *lockpath, *pid;
	struct stat	 sb;

	assert_int_equal(store_lock_instance(s1, &err), 0);
	assert_null(err);
	assert_true(asprintf(&lockpath, "%s.lock", t->path) != -1);
	assert_int_equal(stat(lockpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* Taking it again from the holder is harmless. */
	assert_int_equal(store_lock_instance(s1, &err), 0);

	assert_int_equal(store_lock_instance(s2, &err), -1);
	assert_true(asprintf(&want, "database %s is already in use by another "
	    "crmd (pid %ld); stop that one first", t->path,
	    (long)getpid()) != -1);
	if (err == NULL || strstr(err, want) == NULL)
		fail_msg("unexpected message: %s", err);
	free(want);
	free(err);

	/* The holder's pid is in the file for whoever diagnoses a conflict. */
	{
		FILE *f = fopen(lockpath, "r");
		char buf[32] = "";

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_true(asprintf(&pid, "%ld\n", (long)getpid()) != -1);
		assert_string_equal(buf, pid);
		free(pid);
	}
	free(lockpath);

	/* Closing releases it: the next instance gets the database. */
	store_close(s1);
	err = NULL;
	assert_int_equal(store_lock_instance(s2, &err), 0);
	assert_null(err);
	store_close(s2);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * crmd's own commits are checkpointed off the loop: SQLite's
 * autocheckpoint is replaced by a WAL hook that wakes the checkpointer.
 * Pages reach the main database file only through a checkpoint, so its
 * growth proves one ran; without it the file would not grow at all.
 */
static void
test_checkpointer_follows_own_commits(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	char		*err = NULL, detail[3000];
	off_t		 before;

	assert_int_equal(store_checkpointer_start(s, &err), 0);
	memset(detail, 'x', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	before = file_size(t->path);
	/* ~1.5 WAL pages a row: past the 4000-page mark. */
	for (int i = 0; i < 4000; i++)
		assert_int_equal(store_audit(s, "crmd", "fill", 0, detail),
		    STORE_OK);
	for (int i = 0; i < 200 && file_size(t->path) < before + 4000000;
	    i++)
		usleep(50000);	/* generous: the checkpoint is asynchronous */
	assert_true(file_size(t->path) >= before + 4000000);
	store_close(s);
}

/*
 * The id a reminder insert reports is the reminder's, even when the last
 * row this connection inserted elsewhere (an audit row) has the same
 * rowid, and 0 only when the dedup key existed.
 */
static void
test_reminder_insert_reports_its_own_id(void **state)
{
	struct testdb		*t = *state;
	struct store		*s = migrated(t->path, 1000);
	sqlite3			*db = store_sqlite_handle(s);
	struct new_reminder	 r = { .customer_id = 1, .user_id = 1,
	    .kind = "followup", .due_at = 2000000000, .source = "crmctl" };
	int64_t			 id = -1;

	assert_int_equal(sqlite3_exec(db, "INSERT INTO users(id, name)"
	    " VALUES (1, '张伟'); INSERT INTO customers(id, code, name)"
	    " VALUES (1, '202611-0001', '上海明远')", NULL, NULL, NULL),
	    SQLITE_OK);
	/* audit_log's first row: rowid 1, as the first reminder's will be. */
	assert_int_equal(store_audit(s, "test", "fill", 0, "x"), STORE_OK);
	assert_int_equal(store_reminder_insert(s, &r, &id), STORE_OK);
	assert_int_equal(id, 1);
	r.dedup_key = "k:1";
	assert_int_equal(store_reminder_insert(s, &r, &id), STORE_OK);
	assert_int_equal(id, 2);
	r.due_at += 60;		/* the source edited: the row follows */
	assert_int_equal(store_reminder_insert(s, &r, &id), STORE_OK);
	assert_int_equal(id, 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(due_at)"
	    " FROM reminders WHERE dedup_key = 'k:1'", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(sqlite3_column_int64(st, 1), 2000000060);
	sqlite3_finalize(st);
	store_close(s);
}

/*
 * Sent outcomes are written per lease: a row is sent only if it is still
 * sending under the lease its transfer was claimed under (a row whose
 * lease expired and was claimed again is the new claim's).
 */
static void
test_outbox_sent_is_fenced_by_the_lease(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	sqlite3		*db = store_sqlite_handle(s);
	int64_t		 ids[] = { 1, 2, 3, 4 };

	assert_int_equal(sqlite3_exec(db, "INSERT INTO outbox (id, channel,"
	    " recipient, body, state, lease_until, last_error) VALUES"
	    " (1, 'sms', '+8613800000000', '您好', 'sending', 5, 'earlier'),"
	    " (2, 'sms', '+8613800000001', 'x', 'sending', 5, NULL),"
	    " (3, 'sms', '+8613800000002', 'x', 'sending', 6, NULL),"
	    " (4, 'sms', '+8613800000003', 'x', 'queued', NULL, NULL)",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_outbox_sent_many(s, ids, 4, 5, 99), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " state = 'sent' AND sent_at = 99 AND lease_until IS NULL AND"
	    " last_error IS NULL AND id IN (1, 2)"), 2);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " id = 3 AND state = 'sending' AND lease_until = 6"), 1);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " id = 4 AND state = 'queued'"), 1);
	store_close(s);
}

/* Virtual machine steps run so far by every statement of db. */
static int64_t
vm_steps(sqlite3 *db)
{
	int64_t n = 0;

	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st != NULL;
	    st = sqlite3_next_stmt(db, st))
		n += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
	return n;
}

/*
 * The sender's questions about one channel (its due rows, when its next
 * one is due, refusing an unconfigured one's) go straight to that
 * channel's rows: 20,000 due SMS that wait (the gateway is down, or the
 * rate is used up) are not walked through to find a webhook's row.
 */
static void
test_outbox_channel_queries_skip_other_backlogs(void **state)
{
	struct testdb		*t = *state;
	struct store		*s = migrated(t->path, 1000);
	sqlite3			*db = store_sqlite_handle(s);
	struct outbox_row	*rows;
	size_t			 n;
	int64_t			 at, steps, last_at;
	int			 refused;

	assert_int_equal(sqlite3_exec(db, "WITH RECURSIVE i(n) AS (SELECT 1"
	    " UNION ALL SELECT n + 1 FROM i WHERE n < 20000)"
	    " INSERT INTO outbox (channel, recipient, body, next_attempt_at)"
	    " SELECT 'sms', '+86138' || printf('%08d', n), '您好', 100 FROM i;"
	    "INSERT INTO outbox (channel, recipient, body, next_attempt_at)"
	    " VALUES ('webhook', 'webhook', '{}', 200)", NULL, NULL, NULL),
	    SQLITE_OK);
	/* Prepared (and cached) before counting. */
	assert_int_equal(store_outbox_next_due(s, "webhook", &at), STORE_OK);
	assert_int_equal(store_outbox_due(s, "webhook", 1000, 10, &rows, &n),
	    STORE_OK);
	store_outbox_rows_free(rows, n);
	steps = vm_steps(db);
	assert_int_equal(store_outbox_next_due(s, "webhook", &at), STORE_OK);
	assert_int_equal(at, 200);
	assert_int_equal(store_outbox_due(s, "webhook", 1000, 10, &rows, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].recipient, "webhook");
	store_outbox_rows_free(rows, n);
	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_outbox_refuse_channel(s, "email", 1000, "no",
	    0, 256, &refused, &last_at), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(refused, 0);
	steps = vm_steps(db) - steps;
	print_message("%lld steps\n", (long long)steps);
	assert_true(steps < 1000);
	store_close(s);
}

/*
 * Due queued rows older than the cutoff are dead, each with the attempts
 * it had and its last error; rows being sent, younger rows, rows not due
 * yet (held by working hours) and other channels' rows are left.  Finding
 * them reads only the old rows: 20,000 young due SMS are not walked.
 */
static void
test_outbox_expire_takes_only_the_old(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	sqlite3		*db = store_sqlite_handle(s);
	int64_t		 steps;
	int		 n;

	assert_int_equal(sqlite3_exec(db, "INSERT INTO outbox (id, channel,"
	    " recipient, body, state, attempts, last_error, created_at,"
	    " next_attempt_at) VALUES"
	    " (1, 'sms', '+8613800000000', '您好', 'queued', 0, NULL, 100, 100),"
	    " (2, 'sms', '+8613800000001', 'x', 'queued', 1, 'HTTP 503', 150,"
	    " 500),"
	    " (3, 'sms', '+8613800000002', 'x', 'queued', 3, 'HTTP 500', 199,"
	    " 900),"
	    " (4, 'sms', '+8613800000003', 'x', 'sending', 1, NULL, 100, 100),"
	    " (5, 'email', 'a@example.com', 'x', 'queued', 0, NULL, 100, 100),"
	    " (6, 'sms', '+8613800000004', 'x', 'queued', 0, NULL, 200, 200),"
	    " (7, 'sms', '+8613800000005', 'x', 'queued', 2,"
	    " '过期 expired after 2 attempts: HTTP 500', 160, 160),"
	    " (8, 'sms', '+8613800000006', 'x', 'queued', 0, NULL, 120, 5000);"
	    "WITH RECURSIVE i(n) AS (SELECT 1"
	    " UNION ALL SELECT n + 1 FROM i WHERE n < 20000)"
	    " INSERT INTO outbox (channel, recipient, body, created_at,"
	    " next_attempt_at)"
	    " SELECT 'sms', '+86139' || printf('%08d', n), '您好', 1000 + n, 100"
	    " FROM i", NULL, NULL, NULL), SQLITE_OK);
	/* Prepared (and cached) before counting. */
	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_outbox_expire(s, "webhook", 1000, 200, "old",
	    10, &n), STORE_OK);
	assert_int_equal(n, 0);
	steps = vm_steps(db);
	/* At most limit, then the rest. */
	assert_int_equal(store_outbox_expire(s, "sms", 1000, 200,
	    "过期 expired", 2, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_outbox_expire(s, "sms", 1000, 200,
	    "过期 expired", 2, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_outbox_expire(s, "sms", 1000, 200,
	    "过期 expired", 2, &n), STORE_OK);
	assert_int_equal(n, 0);
	steps = vm_steps(db) - steps;
	assert_int_equal(store_commit(s), STORE_OK);
	print_message("%lld steps\n", (long long)steps);
	assert_true(steps < 1000);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " state = 'dead' AND lease_until IS NULL AND ("
	    " (id = 1 AND last_error = '过期 expired after 0 attempts') OR"
	    " (id = 2 AND last_error = '过期 expired after 1 attempt: HTTP 503')"
	    " OR (id = 3 AND last_error ="
	    " '过期 expired after 3 attempts: HTTP 500') OR"
	    " (id = 7 AND last_error = '过期 expired after 2 attempts'))"), 4);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " state = 'dead'"), 4);
	store_close(s);
}

/* The WAL header's salt-1 (bytes 16..19): SQLite changes it each time it
 * starts the WAL again from its beginning.  0 if there is no WAL. */
static uint32_t
wal_salt(const char *dbpath)
{
	char path[4096];
	unsigned char b[4];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s-wal", dbpath);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = pread(fd, b, sizeof(b), 16);
	close(fd);
	return n == 4 ? (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] :
	    0;
}

/*
 * crmd commits every moment, as in a drain, with its loop's other work in
 * between: the checkpointer still gets the WAL started again from its
 * beginning.  With passive checkpoints alone it never was, and the WAL
 * grew by everything written.
 */
static void
test_wal_restarts_under_non_stop_writes(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	char		*err = NULL, detail[3000];
	uint32_t	 salt0 = 0;
	int		 i, restarted = 0;

	assert_int_equal(store_checkpointer_start(s, &err), 0);
	memset(detail, 'x', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	/* A few WAL pages a commit; checkpoints are due from 4000 on, and
	 * restarts from 16000. */
	for (i = 0; i < 20000 && !restarted; i++) {
		assert_int_equal(store_audit(s, "crmd", "fill", 0, detail),
		    STORE_OK);
		usleep(200);	/* the loop's other work */
		if (i == 10)
			salt0 = wal_salt(t->path);
		else if (i > 10 && i % 64 == 0)
			restarted = wal_salt(t->path) != salt0;
	}
	print_message("restarted after %d commits\n", i);
	assert_true(restarted);
	store_close(s);
}

/*
 * A pass claims the due rows it read in the same transaction: all of
 * them move to sending under the lease, one attempt more.  Should one not
 * be queued after all, the claim says so and the pass rolls back, so no
 * row is ever taken as claimed that is not.
 */
static void
test_outbox_claim_is_all_or_error(void **state)
{
	struct testdb	*t = *state;
	struct store	*s = migrated(t->path, 1000);
	sqlite3		*db = store_sqlite_handle(s);
	int64_t		 ids[] = { 1, 2, 3 };

	assert_int_equal(sqlite3_exec(db, "INSERT INTO outbox (id, channel,"
	    " recipient, body, state) VALUES (1, 'sms', '+8613800000000',"
	    " '您好', 'queued'), (2, 'sms', '+8613800000001', 'x', 'queued'),"
	    " (3, 'sms', '+8613800000002', 'x', 'sent')", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_outbox_claim_many(s, ids, 2, 777), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " state = 'sending' AND lease_until = 777 AND attempts = 1"), 2);

	assert_int_equal(sqlite3_exec(db, "UPDATE outbox SET state = 'queued'"
	    " WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
	ids[1] = 3;		/* sent, not queued */
	assert_int_equal(store_begin(s), STORE_OK);
	assert_int_equal(store_outbox_claim_many(s, ids, 2, 888), STORE_ERR);
	assert_non_null(strstr(store_errmsg(s), "no longer queued"));
	store_rollback(s);
	assert_int_equal(testdb_int(db, "SELECT count(*) FROM outbox WHERE"
	    " lease_until = 888"), 0);
	assert_int_equal(testdb_int(db, "SELECT state = 'queued' FROM outbox"
	    " WHERE id = 1"), 1);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_reminder_insert_reports_its_own_id,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_pragmas_on_open,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_open_failure_names_the_file,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_begin_takes_write_lock_at_once,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_deferred_read_then_write_fails,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_store_read_then_write_succeeds,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_busy_is_reported_not_waited,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_counts,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_audit,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(test_single_instance,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_checkpointer_follows_own_commits,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbox_claim_is_all_or_error,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbox_sent_is_fenced_by_the_lease,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbox_channel_queries_skip_other_backlogs,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_outbox_expire_takes_only_the_old,
		    testdb_setup, testdb_teardown),
		cmocka_unit_test_setup_teardown(
		    test_wal_restarts_under_non_stop_writes,
		    testdb_setup, testdb_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
