/*
 * SQLite side of the reminder engine (store_reminders.h).  Every query is
 * served by an index: pending reminders by due_at, snoozed ones by
 * snoozed_until, fired ones by escalate_at; nothing scans a whole table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "store.h"
#include "store_reminders.h"
#include "store_sqlite.h"

int
store_data_version(struct store *s, int64_t *version)
{
	static const char sql[] = "PRAGMA data_version";
	sqlite3_stmt *st;
	int found, rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	if ((rc = store_step_row(s, st, &found)) == STORE_OK)
		*version = found ? sqlite3_column_int64(st, 0) : 0;
	store_done(st);
	return rc;
}

int
store_next_event(struct store *s, int64_t *at)
{
	/*
	 * Three index probes: each subquery reads one index entry.  INDEXED
	 * BY because, without statistics, SQLite would serve the fired one
	 * from (state, due_at) and walk every reminder ever fired.
	 */
	static const char sql[] =
	    "SELECT min(coalesce((SELECT min(due_at) FROM reminders"
	    "  INDEXED BY reminders_state_due WHERE state = 'pending'), 1e18),"
	    " coalesce((SELECT min(snoozed_until) FROM reminders"
	    "  INDEXED BY reminders_snoozed WHERE state = 'snoozed'), 1e18),"
	    " coalesce((SELECT min(escalate_at) FROM reminders"
	    "  INDEXED BY reminders_escalate"
	    "  WHERE state = 'fired' AND escalated_at IS NULL), 1e18))";
	sqlite3_stmt *st;
	int found, rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	if ((rc = store_step_row(s, st, &found)) == STORE_OK) {
		double v = found ? sqlite3_column_double(st, 0) : 1e18;
		*at = v >= 1e18 ? 0 : (int64_t)v;
	}
	store_done(st);
	return rc;
}

/* ---- due reminders ---- */

/* LEFT: a CRM writing without foreign keys can delete a customer or user
 * under a reminder; such a reminder must still leave the due set. */
#define DUE_JOINS							\
	" LEFT JOIN customers c ON c.id = r.customer_id"		\
	" LEFT JOIN users u ON u.id = r.user_id"				\
	" LEFT JOIN contacts ct ON ct.customer_id = r.customer_id"	\
	"  AND ct.is_primary = 1"

static const char due_sql[] =
    "SELECT * FROM ("
    " SELECT r.id, r.customer_id, r.user_id, r.plan_id, r.due_at AS t,"
    "  u.manager_id, r.kind, r.fire_count, 0, r.channels, r.note,"
    "  r.source, r.dedup_key, c.name, c.code, c.level, c.status,"
    "  c.phone, c.email, u.name, u.email, u.phone, ct.name, ct.phone,"
    "  c.id IS NULL OR u.id IS NULL"
    " FROM reminders r INDEXED BY reminders_state_due" DUE_JOINS
    " WHERE r.state = 'pending' AND r.due_at <= ?1"
    " ORDER BY r.due_at LIMIT ?2)"
    " UNION ALL SELECT * FROM ("
    " SELECT r.id, r.customer_id, r.user_id, r.plan_id, r.snoozed_until,"
    "  u.manager_id, r.kind, r.fire_count, 1, r.channels, r.note,"
    "  r.source, r.dedup_key, c.name, c.code, c.level, c.status,"
    "  c.phone, c.email, u.name, u.email, u.phone, ct.name, ct.phone,"
    "  c.id IS NULL OR u.id IS NULL"
    " FROM reminders r INDEXED BY reminders_snoozed" DUE_JOINS
    " WHERE r.state = 'snoozed' AND r.snoozed_until <= ?1"
    " ORDER BY r.snoozed_until LIMIT ?2)";

static int
due_read(sqlite3_stmt *st, struct due_row *r)
{
	char **strs[] = { &r->channels, &r->note, &r->source, &r->dedup_key,
	    &r->c_name, &r->c_code, &r->c_level, &r->c_status, &r->c_phone,
	    &r->c_email, &r->u_name, &r->u_email, &r->u_phone, &r->ct_name,
	    &r->ct_phone };

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->customer_id = sqlite3_column_int64(st, 1);
	r->user_id = sqlite3_column_int64(st, 2);
	r->plan_id = store_column_id(st, 3);
	r->due_at = sqlite3_column_int64(st, 4);
	r->manager_id = store_column_id(st, 5);
	r->kind = kind_from_name((const char *)sqlite3_column_text(st, 6));
	r->fire_count = sqlite3_column_int(st, 7);
	r->snoozed = sqlite3_column_int(st, 8);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((*strs[i] = store_column_dup(st, 9 + (int)i)) == NULL)
			return -1;
	r->orphan = sqlite3_column_int(st, 24);
	return 0;
}

static void
due_row_free(struct due_row *r)
{
	char *strs[] = { r->channels, r->note, r->source, r->dedup_key,
	    r->c_name, r->c_code, r->c_level, r->c_status, r->c_phone,
	    r->c_email, r->u_name, r->u_email, r->u_phone, r->ct_name,
	    r->ct_phone };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(strs[i]);
}

void
store_due_free(struct due_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		due_row_free(&rows[i]);
	free(rows);
}

int
store_due_fetch(struct store *s, int64_t now, int limit, struct due_row **out,
    size_t *nout)
{
	sqlite3_stmt *st;
	struct due_row *rows = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, due_sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL)
			break;
		rows = p;
		if (due_read(st, &rows[n]) == -1) {
			due_row_free(&rows[n]);
			break;
		}
		n++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_due_free(rows, n);
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

int
store_notification_add(struct store *s, int64_t user_id, int64_t customer_id,
    int64_t reminder_id, const char *title, const char *body, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO notifications (user_id, customer_id, reminder_id,"
	    " title, body, created_at) VALUES (?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	store_bind_id(st, 2, customer_id);
	store_bind_id(st, 3, reminder_id);
	store_bind_text(st, 4, title);
	store_bind_text(st, 5, body ? body : "");
	sqlite3_bind_int64(st, 6, now);
	return store_exec(s, st);
}

int
store_outbox_add(struct store *s, const struct outbox_add *m, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO outbox (channel, recipient, subject, body, state,"
	    " next_attempt_at, last_error, idempotency_key, created_at,"
	    " reminder_id, customer_id, recipient_name, body_html)"
	    " VALUES (?1, ?2, ?3, ?4,"
	    " CASE WHEN ?5 IS NULL THEN 'queued' ELSE 'dead' END, ?6, ?5, ?7,"
	    " ?8, ?9, ?10, ?11, ?12) ON CONFLICT (idempotency_key) DO NOTHING";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, m->channel);
	/* A dead message may lack a recipient; the column may not. */
	store_bind_text(st, 2, m->recipient && *m->recipient ? m->recipient :
	    "(none)");
	store_bind_text(st, 3, m->subject ? m->subject : "");
	store_bind_text(st, 4, m->body ? m->body : "");
	store_bind_text(st, 5, m->dead_reason);
	sqlite3_bind_int64(st, 6, m->next_attempt_at);
	store_bind_text(st, 7, m->idempotency_key);
	sqlite3_bind_int64(st, 8, now);
	store_bind_id(st, 9, m->reminder_id);
	store_bind_id(st, 10, m->customer_id);
	store_bind_text(st, 11, m->recipient_name != NULL &&
	    *m->recipient_name != '\0' ? m->recipient_name : NULL);
	store_bind_text(st, 12, m->body_html);
	return store_exec(s, st);
}

int
store_reminder_fired(struct store *s, int64_t id, int64_t now, int late,
    int64_t escalate_at, int *changed)
{
	static const char sql[] =
	    "UPDATE reminders SET state = 'fired', fired_at = ?2, late = ?3,"
	    " escalate_at = ?4, snoozed_until = NULL,"
	    " fire_count = fire_count + 1"
	    " WHERE id = ?1 AND state IN ('pending', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, late ? 1 : 0);
	store_bind_id(st, 4, escalate_at);
	return store_exec_changes(s, st, changed);
}

int
store_reminder_cancel(struct store *s, int64_t id, int *changed)
{
	static const char sql[] =
	    "UPDATE reminders SET state = 'cancelled'"
	    " WHERE id = ?1 AND state IN ('pending', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	return store_exec_changes(s, st, changed);
}

int
store_reminder_missed(struct store *s, int64_t id, int64_t now, int *changed)
{
	/* fired_at records when crmd gave up on it, for the digest. */
	static const char sql[] =
	    "UPDATE reminders SET state = 'missed', fired_at = ?2"
	    " WHERE id = ?1 AND state IN ('pending', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_changes(s, st, changed);
}

int
store_reminder_insert(struct store *s, const struct new_reminder *r,
    int64_t *id)
{
	/*
	 * Two statements, not one upsert: after an upsert SQLite cannot say
	 * whether it inserted, and last_insert_rowid, per connection and not
	 * per table, may equal the new id by chance (an audit row's, say).
	 */
	static const char insert_sql[] =
	    "INSERT INTO reminders (customer_id, user_id, plan_id, kind,"
	    " due_at, channels, note, source, dedup_key)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	    " ON CONFLICT (dedup_key) DO NOTHING";
	static const char update_sql[] =
	    "UPDATE reminders SET state = 'pending', user_id = ?2, due_at = ?3,"
	    " channels = ?4, note = ?5"
	    " WHERE dedup_key = ?1"
	    " AND (state = 'pending' OR (?6 AND state = 'cancelled'))";
	sqlite3_stmt *st;
	int rc, inserted;

	*id = 0;
	if ((st = store_prepare(s, insert_sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, r->customer_id);
	sqlite3_bind_int64(st, 2, r->user_id);
	store_bind_id(st, 3, r->plan_id);
	store_bind_text(st, 4, r->kind);
	sqlite3_bind_int64(st, 5, r->due_at);
	store_bind_text(st, 6, r->channels ? r->channels : "");
	store_bind_text(st, 7, r->note ? r->note : "");
	store_bind_text(st, 8, r->source);
	store_bind_text(st, 9, r->dedup_key);
	if ((rc = store_exec_changes(s, st, &inserted)) != STORE_OK)
		return rc;
	if (inserted) {
		*id = sqlite3_last_insert_rowid(sqlite3_db_handle(st));
		return STORE_OK;
	}
	/* The key exists: the source was edited, or revives it. */
	if ((st = store_prepare(s, update_sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, r->dedup_key);
	sqlite3_bind_int64(st, 2, r->user_id);
	sqlite3_bind_int64(st, 3, r->due_at);
	store_bind_text(st, 4, r->channels ? r->channels : "");
	store_bind_text(st, 5, r->note ? r->note : "");
	sqlite3_bind_int(st, 6, r->revive != 0);
	return store_exec(s, st);
}

int
store_reminders_cancel_prefix(struct store *s, const char *prefix,
    const char *keep, int64_t now, int *n)
{
	/*
	 * A range on the dedup_key index: prefix <= key < prefix' where
	 * prefix' has its last byte incremented (our prefixes end in ':').
	 * "+state" keeps the planner off the state index, which would read
	 * every pending reminder.  A snoozed one was fired and is the
	 * user's now: only pending ones are replaced.
	 */
	static const char sql[] =
	    "UPDATE reminders SET state = 'cancelled'"
	    " WHERE dedup_key >= ?1 AND dedup_key < ?2"
	    " AND +state = 'pending' AND dedup_key IS NOT ?3";
	sqlite3_stmt *st;
	char upper[256];
	size_t len = strlen(prefix);

	if (len == 0 || len >= sizeof(upper))
		return STORE_ERR;
	memcpy(upper, prefix, len + 1);
	upper[len - 1]++;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, prefix);
	store_bind_text(st, 2, upper);
	store_bind_text(st, 3, keep);
	return store_exec_changes(s, st, n);
}

int
store_reminders_pending_prefix(struct store *s, const char *prefix, int *n)
{
	static const char sql[] =
	    "SELECT count(*) FROM reminders WHERE dedup_key >= ?1"
	    " AND dedup_key < ?2 AND +state = 'pending'";
	sqlite3_stmt *st;
	char upper[256];
	size_t len = strlen(prefix);
	int found, rc;

	if (len == 0 || len >= sizeof(upper))
		return STORE_ERR;
	memcpy(upper, prefix, len + 1);
	upper[len - 1]++;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, prefix);
	store_bind_text(st, 2, upper);
	if ((rc = store_step_row(s, st, &found)) == STORE_OK)
		*n = found ? sqlite3_column_int(st, 0) : 0;
	store_done(st);
	return rc;
}

int
store_reminder_series(struct store *s, int64_t id, struct series_row *r,
    int *found)
{
	static const char sql[] =
	    "SELECT plan_id, due_at, dedup_key FROM reminders WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		r->plan_id = store_column_id(st, 0);
		r->due_at = sqlite3_column_int64(st, 1);
		store_column_copy(st, 2, r->dedup_key, sizeof(r->dedup_key));
	}
	store_done(st);
	return rc;
}

int
store_plan_cancel_pending(struct store *s, int64_t plan_id, int64_t now,
    int *n)
{
	static const char sql[] =
	    "UPDATE reminders SET state = 'cancelled'"
	    " WHERE plan_id = ?1 AND state IN ('pending', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, plan_id);
	return store_exec_changes(s, st, n);
}

/* ---- change log ---- */

int
store_changes_fetch(struct store *s, int limit, struct change_row **out,
    size_t *nout)
{
	static const char sql[] =
	    "SELECT id, tbl, row_id, op FROM change_log ORDER BY id LIMIT ?";
	sqlite3_stmt *st;
	struct change_row *rows = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL)
			break;
		rows = p;
		rows[n].id = sqlite3_column_int64(st, 0);
		store_column_copy(st, 1, rows[n].tbl, sizeof(rows[n].tbl));
		rows[n].row_id = sqlite3_column_int64(st, 2);
		store_column_copy(st, 3, rows[n].op, sizeof(rows[n].op));
		n++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(rows);
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

int
store_changes_done(struct store *s, int64_t upto)
{
	static const char sql[] = "DELETE FROM change_log WHERE id <= ?";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, upto);
	return store_exec(s, st);
}

/* ---- source rows ---- */

int
store_contract_get(struct store *s, int64_t id, struct contract_row *r,
    int *found)
{
	static const char sql[] =
	    "SELECT k.customer_id, c.owner_id, k.end_date, k.title FROM contracts k"
	    " JOIN customers c ON c.id = k.customer_id WHERE k.id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		r->customer_id = sqlite3_column_int64(st, 0);
		r->owner_id = store_column_id(st, 1);
		store_column_copy(st, 2, r->end_date, sizeof(r->end_date));
		store_column_copy(st, 3, r->title, sizeof(r->title));
	}
	store_done(st);
	return rc;
}

int
store_birthday_get(struct store *s, const char *tbl, int64_t id,
    struct birthday_row *r, int *found)
{
	static const char customer_sql[] =
	    "SELECT id, owner_id, birthday FROM customers WHERE id = ?";
	static const char contact_sql[] =
	    "SELECT c.id, c.owner_id, t.birthday FROM contacts t"
	    " JOIN customers c ON c.id = t.customer_id WHERE t.id = ?";
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, strcmp(tbl, "contacts") == 0 ? contact_sql :
	    customer_sql);
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		r->customer_id = sqlite3_column_int64(st, 0);
		r->owner_id = store_column_id(st, 1);
		store_column_copy(st, 2, r->birthday, sizeof(r->birthday));
	}
	store_done(st);
	return rc;
}

int
store_followup_get(struct store *s, int64_t id, struct followup_row *r,
    int *found)
{
	static const char sql[] =
	    "SELECT customer_id, user_id, at, next_followup_at, next_action"
	    " FROM followups WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		r->customer_id = sqlite3_column_int64(st, 0);
		r->user_id = sqlite3_column_int64(st, 1);
		r->at = sqlite3_column_int64(st, 2);
		r->next_followup_at = store_column_id(st, 3);
		store_column_copy(st, 4, r->next_action, sizeof(r->next_action));
	}
	store_done(st);
	return rc;
}

int
store_followups_supersede(struct store *s, int64_t customer_id,
    int64_t followup_id, int64_t at, int64_t now, int *n)
{
	/* dedup_key is followup:<id>:<instant>; the id names the source. */
	static const char sql[] =
	    "UPDATE reminders SET state = 'cancelled'"
	    " WHERE customer_id = ?1 AND source = 'followup'"
	    " AND state IN ('pending', 'snoozed')"
	    " AND (SELECT f.at FROM followups f WHERE f.id ="
	    "  CAST(substr(dedup_key, 10, instr(substr(dedup_key, 10), ':') - 1)"
	    "  AS INTEGER)) < ?3"
	    " AND dedup_key NOT LIKE 'followup:' || ?2 || ':%'";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	sqlite3_bind_int64(st, 2, followup_id);
	sqlite3_bind_int64(st, 3, at);
	return store_exec_changes(s, st, n);
}

int
store_plan_get(struct store *s, int64_t id, struct plan_row *r, int *found)
{
	static const char sql[] =
	    "SELECT customer_id, user_id, dtstart, until, active, rrule,"
	    " channels, name FROM followup_plans WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		r->customer_id = sqlite3_column_int64(st, 0);
		r->user_id = sqlite3_column_int64(st, 1);
		r->dtstart = sqlite3_column_int64(st, 2);
		r->until = store_column_id(st, 3);
		r->active = sqlite3_column_int(st, 4);
		r->rrule = store_column_dup(st, 5);
		r->channels = store_column_dup(st, 6);
		r->name = store_column_dup(st, 7);
		if (!r->rrule || !r->channels || !r->name)
			rc = STORE_ERR;
	}
	store_done(st);
	return rc;
}

void
store_plan_row_free(struct plan_row *r)
{
	free(r->rrule);
	free(r->channels);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

int
store_plan_set_next(struct store *s, int64_t id, int64_t next_at)
{
	static const char sql[] =
	    "UPDATE followup_plans SET next_at = ?2 WHERE id = ?1"
	    " AND next_at IS NOT ?2";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	store_bind_id(st, 2, next_at);
	return store_exec(s, st);
}

/* ---- escalation ---- */

static const char esc_sql[] =
    "SELECT r.id, c.id, r.user_id, m.id, r.due_at, r.kind,"
    " r.note, c.name, c.code, c.level, c.status, u.name, m.name, m.email,"
    " m.phone FROM reminders r INDEXED BY reminders_escalate"
    " LEFT JOIN customers c ON c.id = r.customer_id"
    " LEFT JOIN users u ON u.id = r.user_id"
    " LEFT JOIN users m ON m.id = u.manager_id AND m.active = 1"
    " WHERE r.state = 'fired' AND r.escalated_at IS NULL"
    " AND r.escalate_at <= ?1 ORDER BY r.escalate_at LIMIT ?2";

static void
esc_row_free(struct escalation_row *r)
{
	free(r->note);
	free(r->c_name);
	free(r->c_code);
	free(r->c_level);
	free(r->c_status);
	free(r->u_name);
	free(r->m_name);
	free(r->m_email);
	free(r->m_phone);
}

void
store_escalations_free(struct escalation_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		esc_row_free(&rows[i]);
	free(rows);
}

int
store_escalations_fetch(struct store *s, int64_t now, int limit,
    struct escalation_row **out, size_t *nout)
{
	sqlite3_stmt *st;
	struct escalation_row *rows = NULL, *p, *r;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, esc_sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL)
			break;
		rows = p;
		r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->customer_id = store_column_id(st, 1);	/* 0: deleted */
		r->user_id = sqlite3_column_int64(st, 2);
		r->manager_id = store_column_id(st, 3);	/* 0: none, inactive or gone */
		r->due_at = sqlite3_column_int64(st, 4);
		r->kind = kind_from_name((const char *)sqlite3_column_text(st, 5));
		r->note = store_column_dup(st, 6);
		r->c_name = store_column_dup(st, 7);
		r->c_code = store_column_dup(st, 8);
		r->c_level = store_column_dup(st, 9);
		r->c_status = store_column_dup(st, 10);
		r->u_name = store_column_dup(st, 11);
		r->m_name = store_column_dup(st, 12);
		r->m_email = store_column_dup(st, 13);
		r->m_phone = store_column_dup(st, 14);
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_escalations_free(rows, n);
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

int
store_reminder_escalated(struct store *s, int64_t id, int64_t now,
    int *changed)
{
	static const char sql[] =
	    "UPDATE reminders SET escalated_at = ?2 WHERE id = ?1"
	    " AND state = 'fired' AND escalated_at IS NULL";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_changes(s, st, changed);
}

/* ---- digest ---- */

int
store_digest_pending_users(struct store *s, const char *day, int64_t **out,
    size_t *nout)
{
	static const char sql[] =
	    "SELECT u.id FROM users u WHERE u.active = 1 AND NOT EXISTS"
	    " (SELECT 1 FROM digests d WHERE d.user_id = u.id AND d.day = ?)"
	    " ORDER BY u.id";
	sqlite3_stmt *st;
	int64_t *ids = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, day);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(ids, n, &cap, sizeof(*ids))) == NULL)
			break;
		ids = p;
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*out = ids;
	*nout = n;
	return STORE_OK;
}

int
store_digest_items(struct store *s, int64_t user_id, int64_t day_start,
    int64_t day_end, int64_t since, struct digest_item **out, size_t *nout)
{
	/* Served by reminders_user_due: one user's reminders by time. */
	static const char sql[] =
	    "SELECT r.id, r.due_at, r.kind, r.state, c.name, c.level"
	    " FROM reminders r JOIN customers c ON c.id = r.customer_id"
	    " WHERE r.user_id = ?1 AND ("
	    "  (r.state IN ('pending', 'fired', 'snoozed') AND r.due_at < ?3)"
	    "  OR (r.state = 'missed' AND r.fired_at >= ?4))"
	    " AND NOT (r.state = 'pending' AND r.due_at < ?2)"
	    " ORDER BY r.state = 'missed', coalesce(c.level, 'Z'), r.due_at";
	sqlite3_stmt *st;
	struct digest_item *items = NULL, *p, *it;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, day_start);
	sqlite3_bind_int64(st, 3, day_end);
	sqlite3_bind_int64(st, 4, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(items, n, &cap, sizeof(*items))) == NULL)
			break;
		items = p;
		it = &items[n++];
		it->reminder_id = sqlite3_column_int64(st, 0);
		it->due_at = sqlite3_column_int64(st, 1);
		it->kind = kind_from_name((const char *)sqlite3_column_text(st, 2));
		store_column_copy(st, 3, it->state, sizeof(it->state));
		it->c_name = store_column_dup(st, 4);
		it->c_level = store_column_dup(st, 5);
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_digest_items_free(items, n);
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*out = items;
	*nout = n;
	return STORE_OK;
}

void
store_digest_items_free(struct digest_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].c_name);
		free(items[i].c_level);
	}
	free(items);
}

int
store_digest_mark(struct store *s, int64_t user_id, const char *day,
    int64_t now, int *changed)
{
	static const char sql[] =
	    "INSERT INTO digests (user_id, day, sent_at) VALUES (?, ?, ?)"
	    " ON CONFLICT DO NOTHING";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	store_bind_text(st, 2, day);
	sqlite3_bind_int64(st, 3, now);
	return store_exec_changes(s, st, changed);
}

int
store_user_get(struct store *s, int64_t id, struct user_contact *u, int *found)
{
	static const char sql[] =
	    "SELECT name, email, phone FROM users WHERE id = ? AND active = 1";
	sqlite3_stmt *st;
	int rc;

	memset(u, 0, sizeof(*u));
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		u->name = store_column_dup(st, 0);
		u->email = store_column_dup(st, 1);
		u->phone = store_column_dup(st, 2);
	}
	store_done(st);
	return rc;
}

void
store_user_contact_free(struct user_contact *u)
{
	free(u->name);
	free(u->email);
	free(u->phone);
	memset(u, 0, sizeof(*u));
}

int
store_state_get(struct store *s, const char *key, int64_t *value, int *found)
{
	static const char sql[] = "SELECT value FROM crmd_state WHERE key = ?";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, key);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found)
		*value = sqlite3_column_int64(st, 0);
	store_done(st);
	return rc;
}

int
store_state_set(struct store *s, const char *key, int64_t value)
{
	static const char sql[] =
	    "INSERT INTO crmd_state (key, value) VALUES (?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET value = ?2";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, value);
	return store_exec(s, st);
}

int
store_series_last_happened(struct store *s, const char *prefix, int64_t *at)
{
	/* A range on the unique dedup_key index: the series' keys share the
	 * prefix.  '+state' keeps the planner on that index. */
	static const char sql[] =
	    "SELECT coalesce(max(due_at), 0) FROM reminders"
	    " WHERE dedup_key >= ?1 AND dedup_key < ?2"
	    " AND +state NOT IN ('pending', 'cancelled')";
	sqlite3_stmt *st;
	char upper[256];
	size_t len = strlen(prefix);
	int found, rc;

	*at = 0;
	if (len == 0 || len >= sizeof(upper))
		return STORE_ERR;
	memcpy(upper, prefix, len + 1);
	upper[len - 1]++;	/* "plan:7:" .. "plan:7;" */
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, prefix);
	store_bind_text(st, 2, upper);
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found)
		*at = sqlite3_column_int64(st, 0);
	store_done(st);
	return rc;
}
