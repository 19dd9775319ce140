/*
 * SQLite side of the admin commands for reminders and plans
 * (store_ctl.h).  Lists pick one of a few fixed statements by which
 * filters are given, rather than "?1 IS NULL OR ..." terms, so that
 * SQLite can serve each from its index: (state, due_at), (user_id,
 * state), (customer_id).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_ctl.h"
#include "store_sqlite.h"

int
store_ctl_customer_get(struct store *s, int64_t id, struct ctl_customer *c,
    int *found)
{
	static const char sql[] =
	    "SELECT owner_id, level FROM customers WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		c->owner_id = store_column_id(st, 0);
		store_column_copy(st, 1, c->level, sizeof(c->level));
	}
	store_done(st);
	return rc;
}

int
store_ctl_user_get(struct store *s, int64_t id, int *active, int *found)
{
	static const char sql[] = "SELECT active FROM users WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found)
		*active = sqlite3_column_int(st, 0) != 0;
	store_done(st);
	return rc;
}

/* ---- reminders ---- */

#define REM_COLUMNS							\
	"SELECT r.id, r.customer_id, r.user_id, r.plan_id, r.due_at,"	\
	" r.fired_at, r.acked_at, r.snoozed_until, r.escalated_at,"	\
	" r.created_at, r.late, r.kind, r.state, c.level, c.name, u.name,"\
	" r.channels, r.note, r.source"					\
	" FROM reminders r JOIN customers c ON c.id = r.customer_id"	\
	" JOIN users u ON u.id = r.user_id"

void
store_ctl_reminder_clear(struct ctl_reminder *r)
{
	free(r->customer);
	free(r->user);
	free(r->channels);
	free(r->note);
	free(r->source);
	memset(r, 0, sizeof(*r));
}

void
store_ctl_reminders_free(struct ctl_reminder *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_ctl_reminder_clear(&rows[i]);
	free(rows);
}

/* Reads a REM_COLUMNS row; -1 on ENOMEM (r is then cleared). */
static int
reminder_read(sqlite3_stmt *st, struct ctl_reminder *r)
{
	int64_t *ints[] = { &r->id, &r->customer_id, &r->user_id,
	    &r->plan_id, &r->due_at, &r->fired_at, &r->acked_at,
	    &r->snoozed_until, &r->escalated_at, &r->created_at };
	char **strs[] = { &r->customer, &r->user, &r->channels, &r->note,
	    &r->source };
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		*ints[i] = store_column_id(st, (int)i);
	r->late = sqlite3_column_int(st, 10) != 0;
	store_column_copy(st, 11, r->kind, sizeof(r->kind));
	store_column_copy(st, 12, r->state, sizeof(r->state));
	store_column_copy(st, 13, r->level, sizeof(r->level));
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if ((*strs[i] = store_column_dup(st, 14 + (int)i)) == NULL) {
			store_ctl_reminder_clear(r);
			return -1;
		}
	}
	return 0;
}

int
store_ctl_reminder_get(struct store *s, int64_t id, struct ctl_reminder *r,
    int *found)
{
	static const char sql[] = REM_COLUMNS " WHERE r.id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found &&
	    reminder_read(st, r) == -1)
		rc = STORE_ERR;
	store_done(st);
	return rc;
}

/* Steps st to its end, collecting rows; resets st. */
static int
reminders_collect(struct store *s, sqlite3_stmt *st,
    struct ctl_reminder **rows, size_t *n)
{
	struct ctl_reminder *arr = NULL, *p;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(arr, *n, &cap, sizeof(*arr))) == NULL)
			break;
		arr = p;
		if (reminder_read(st, &arr[*n]) == -1)
			break;
		(*n)++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_ctl_reminders_free(arr, *n);
		*n = 0;
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*rows = arr;
	return STORE_OK;
}

#define REM_ORDER	" ORDER BY r.due_at, r.id LIMIT ?4"

/* Indexed by filter bits: 1 user, 2 customer, 4 state. */
static const char *const list_sql[8] = {
	REM_COLUMNS REM_ORDER,
	REM_COLUMNS " WHERE r.user_id = ?1" REM_ORDER,
	REM_COLUMNS " WHERE r.customer_id = ?2" REM_ORDER,
	REM_COLUMNS " WHERE r.user_id = ?1 AND r.customer_id = ?2" REM_ORDER,
	REM_COLUMNS " WHERE r.state = ?3" REM_ORDER,
	REM_COLUMNS " WHERE r.user_id = ?1 AND r.state = ?3" REM_ORDER,
	REM_COLUMNS " WHERE r.customer_id = ?2 AND r.state = ?3" REM_ORDER,
	REM_COLUMNS " WHERE r.user_id = ?1 AND r.customer_id = ?2"
	    " AND r.state = ?3" REM_ORDER,
};

int
store_ctl_reminders_list(struct store *s, const struct ctl_reminder_filter *f,
    struct ctl_reminder **rows, size_t *n)
{
	int which = (f->user_id != 0) | (f->customer_id != 0) << 1 |
	    (f->state != NULL) << 2;
	sqlite3_stmt *st;

	if ((st = store_prepare(s, list_sql[which])) == NULL)
		return STORE_ERR;
	/* Every variant numbers all four parameters; unused ones stay NULL. */
	store_bind_id(st, 1, f->user_id);
	store_bind_id(st, 2, f->customer_id);
	store_bind_text(st, 3, f->state);
	sqlite3_bind_int(st, 4, f->limit);
	return reminders_collect(s, st, rows, n);
}

/*
 * Today's list: due today and still open, or overdue (pending, or fired
 * and not acknowledged).  Each arm of the OR is an index range on
 * (state, due_at), or on (user_id, state, due_at) with a user.
 */
#define TODAY_WHERE							\
	" ((r.state IN ('pending', 'fired', 'snoozed', 'missed')"	\
	"   AND r.due_at >= ?2 AND r.due_at < ?3)"			\
	"  OR (r.state IN ('pending', 'fired') AND r.due_at < ?2))"
#define TODAY_ORDER							\
	" ORDER BY CASE c.level WHEN 'A' THEN 0 WHEN 'B' THEN 1"	\
	" WHEN 'C' THEN 2 ELSE 3 END, r.due_at, r.id LIMIT ?4"

static const char today_all_sql[] = REM_COLUMNS " WHERE" TODAY_WHERE
    TODAY_ORDER;
static const char today_user_sql[] = REM_COLUMNS " WHERE r.user_id = ?1 AND"
    TODAY_WHERE TODAY_ORDER;

int
store_ctl_reminders_today(struct store *s, int64_t user_id, int64_t day_start,
    int64_t day_end, int limit, struct ctl_reminder **rows, size_t *n)
{
	sqlite3_stmt *st;

	st = store_prepare(s, user_id != 0 ? today_user_sql : today_all_sql);
	if (st == NULL)
		return STORE_ERR;
	store_bind_id(st, 1, user_id);
	sqlite3_bind_int64(st, 2, day_start);
	sqlite3_bind_int64(st, 3, day_end);
	sqlite3_bind_int(st, 4, limit);
	return reminders_collect(s, st, rows, n);
}

int
store_ctl_reminder_ack(struct store *s, int64_t id, int64_t now, int *changed)
{
	static const char sql[] =
	    "UPDATE reminders SET state = 'acked', acked_at = ?2"
	    " WHERE id = ?1 AND state IN ('pending', 'fired', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_changes(s, st, changed);
}

int
store_ctl_reminder_snooze(struct store *s, int64_t id, int64_t until,
    int *changed)
{
	static const char sql[] =
	    "UPDATE reminders SET state = 'snoozed', snoozed_until = ?2"
	    " WHERE id = ?1 AND state IN ('fired', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, until);
	return store_exec_changes(s, st, changed);
}

int
store_ctl_reminder_cancel(struct store *s, int64_t id, int *changed)
{
	static const char sql[] =
	    "UPDATE reminders SET state = 'cancelled'"
	    " WHERE id = ?1 AND state IN ('pending', 'fired', 'snoozed')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	return store_exec_changes(s, st, changed);
}

/* ---- plans ---- */

int
store_ctl_plan_add(struct store *s, const struct ctl_new_plan *p, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO followup_plans (customer_id, user_id, name, rrule,"
	    " dtstart, channels) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, p->customer_id);
	sqlite3_bind_int64(st, 2, p->user_id);
	store_bind_text(st, 3, p->name ? p->name : "");
	store_bind_text(st, 4, p->rrule);
	sqlite3_bind_int64(st, 5, p->dtstart);
	store_bind_text(st, 6, p->channels ? p->channels : "");
	rc = store_exec(s, st);
	*id = rc == STORE_OK ? sqlite3_last_insert_rowid(sqlite3_db_handle(st)) :
	    0;
	return rc;
}

int
store_ctl_plan_set_active(struct store *s, int64_t id, int active)
{
	static const char sql[] =
	    "UPDATE followup_plans SET active = ?2 WHERE id = ?1";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, active != 0);
	return store_exec(s, st);
}

/* The pending occurrence comes from reminders_plan, not next_at, so the
 * list shows what will really fire. */
#define PLAN_COLUMNS							\
	"SELECT p.id, p.customer_id, p.user_id, p.dtstart, p.until,"	\
	" (SELECT r.id FROM reminders r WHERE r.plan_id = p.id"		\
	"  AND r.state = 'pending' ORDER BY r.due_at LIMIT 1),"		\
	" (SELECT min(r.due_at) FROM reminders r WHERE r.plan_id = p.id"\
	"  AND r.state = 'pending'),"					\
	" p.created_at, p.active, c.level, c.name, u.name, p.name,"	\
	" p.rrule, p.channels"						\
	" FROM followup_plans p JOIN customers c ON c.id = p.customer_id"\
	" JOIN users u ON u.id = p.user_id"

void
store_ctl_plan_clear(struct ctl_plan *p)
{
	free(p->customer);
	free(p->user);
	free(p->name);
	free(p->rrule);
	free(p->channels);
	memset(p, 0, sizeof(*p));
}

void
store_ctl_plans_free(struct ctl_plan *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_ctl_plan_clear(&rows[i]);
	free(rows);
}

static int
plan_read(sqlite3_stmt *st, struct ctl_plan *p)
{
	int64_t *ints[] = { &p->id, &p->customer_id, &p->user_id,
	    &p->dtstart, &p->until, &p->next_id, &p->next_at,
	    &p->created_at };
	char **strs[] = { &p->customer, &p->user, &p->name, &p->rrule,
	    &p->channels };
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		*ints[i] = store_column_id(st, (int)i);
	p->active = sqlite3_column_int(st, 8) != 0;
	store_column_copy(st, 9, p->level, sizeof(p->level));
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if ((*strs[i] = store_column_dup(st, 10 + (int)i)) == NULL) {
			store_ctl_plan_clear(p);
			return -1;
		}
	}
	return 0;
}

int
store_ctl_plan_get(struct store *s, int64_t id, struct ctl_plan *p,
    int *found)
{
	static const char sql[] = PLAN_COLUMNS " WHERE p.id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found &&
	    plan_read(st, p) == -1)
		rc = STORE_ERR;
	store_done(st);
	return rc;
}

#define PLAN_ORDER	" ORDER BY p.id LIMIT ?3"

/* Indexed by filter bits: 1 user, 2 customer. */
static const char *const plan_list_sql[4] = {
	PLAN_COLUMNS PLAN_ORDER,
	PLAN_COLUMNS " WHERE p.user_id = ?1" PLAN_ORDER,
	PLAN_COLUMNS " WHERE p.customer_id = ?2" PLAN_ORDER,
	PLAN_COLUMNS " WHERE p.user_id = ?1 AND p.customer_id = ?2" PLAN_ORDER,
};

int
store_ctl_plans_list(struct store *s, const struct ctl_plan_filter *f,
    struct ctl_plan **rows, size_t *n)
{
	int which = (f->user_id != 0) | (f->customer_id != 0) << 1;
	struct ctl_plan *arr = NULL, *p;
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((st = store_prepare(s, plan_list_sql[which])) == NULL)
		return STORE_ERR;
	store_bind_id(st, 1, f->user_id);
	store_bind_id(st, 2, f->customer_id);
	sqlite3_bind_int(st, 3, f->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(arr, *n, &cap, sizeof(*arr))) == NULL)
			break;
		arr = p;
		if (plan_read(st, &arr[*n]) == -1)
			break;
		(*n)++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_ctl_plans_free(arr, *n);
		*n = 0;
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*rows = arr;
	return STORE_OK;
}
