/*
 * The SQLite side of store_automation.h.  The stale conditions mirror the
 * rules' days_since_followup fact (rules_facts.c): a customer's last
 * contact is its latest follow-up at or before now, else its creation;
 * the sweep asks "no follow-up in (before, now]" with NOT EXISTS, one
 * probe of followups(customer_id, at) per candidate that stops at the
 * first row, rather than computing max() for everybody.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "migrate.h"
#include "rules.h"
#include "store.h"
#include "store_automation.h"
#include "store_sqlite.h"

/* A customer's last contact: its latest follow-up up to now (?N), else
 * its creation.  The index seek for max() reads one entry. */
#define LAST_CONTACT(now)						\
	"coalesce((SELECT max(f.at) FROM followups AS f"		\
	" WHERE f.customer_id = c.id AND f.at <= " now "), c.created_at)"

/* Nothing since `before` (?B) up to now (?N), and something at or before
 * it: a follow-up, or the creation itself. */
#define STALE_SINCE(before, now)					\
	"NOT EXISTS (SELECT 1 FROM followups AS f WHERE"		\
	" f.customer_id = c.id AND f.at > " before " AND f.at <= " now ")"	\
	" AND (c.created_at <= " before " OR EXISTS (SELECT 1 FROM"	\
	" followups AS f WHERE f.customer_id = c.id AND f.at <= " before "))"

#define OPEN_FLAG(cust)							\
	"EXISTS (SELECT 1 FROM customer_flags AS fl WHERE"		\
	" fl.customer_id = " cust " AND fl.flag = 'stale'"		\
	" AND fl.cleared_at IS NULL)"

/* Collects column 0 of st's rows as ids; resets st.  STORE_*. */
static int
collect_ids(struct store *s, sqlite3_stmt *st, int64_t **ids, size_t *n)
{
	int64_t *arr = NULL, *p;
	size_t cap = 0, cnt = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(arr, cnt, &cap, sizeof(*arr))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		arr = p;
		arr[cnt++] = sqlite3_column_int64(st, 0);
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(arr);
		return store_fail(s, rc);
	}
	*ids = arr;
	*n = cnt;
	return STORE_OK;
}

/* ---- rule conditions ---- */

int
store_auto_match(struct store *s, const struct rule_expr *e,
    const struct rule_env *env, unsigned char *matched)
{
	sqlite3 *db = store_sqlite_handle(s);
	sqlite3_stmt *st;
	int64_t id;
	size_t i;
	int rc;

	memset(matched, 0, env->nids);
	if (env->nids == 0)
		return STORE_OK;
	/* Not store_prepare(): its cache is keyed by the text's address,
	 * and this text is freed with the config it belongs to. */
	if ((rc = sqlite3_prepare_v2(db, rule_sql(e, RULE_SQL_IDS), -1, &st,
	    NULL)) != SQLITE_OK)
		return store_fail(s, rc);
	if ((rc = rule_bind(st, e, env)) == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			for (i = 0; i < env->nids; i++)
				if (env->ids[i] == id)
					matched[i] = 1;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(s, rc);
}

/* ---- the change feed ---- */

static int
event_type(const char *name)
{
	static const char *const names[] = {
		[AE_CUSTOMER_CREATED] = "customer_created",
		[AE_CHANGED] = "changed",
		[AE_STATUS_CHANGED] = "status_changed",
		[AE_TAG_ADDED] = "tag_added",
		[AE_TAG_REMOVED] = "tag_removed",
		[AE_FOLLOWUP] = "followup",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name != NULL && strcmp(name, names[i]) == 0)
			return (int)i;
	return AE_CHANGED;	/* the CHECK allows no other */
}

void
store_auto_changes_free(struct auto_change *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].detail);
	free(rows);
}

int
store_auto_changes_fetch(struct store *s, int64_t after, int limit,
    struct auto_change **out, size_t *nout)
{
	static const char sql[] =
	    "SELECT id, customer_id, at, event, detail FROM rule_changes"
	    " WHERE id > ?1 ORDER BY id LIMIT ?2";
	struct auto_change *rows = NULL, *p, *r;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		r = &rows[n++];
		r->id = sqlite3_column_int64(st, 0);
		r->customer_id = sqlite3_column_int64(st, 1);
		r->at = sqlite3_column_int64(st, 2);
		r->event = event_type((const char *)sqlite3_column_text(st, 3));
		if ((r->detail = store_column_dup(st, 4)) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_auto_changes_free(rows, n);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

int
store_auto_changes_trim(struct store *s, int64_t upto, int limit, int *n)
{
	/*
	 * The oldest rows first, a bounded number: the primary key range
	 * keeps each call short however far behind the cleanup is.  The
	 * newest row always stays: the ids are plain rowids, and an empty
	 * table would number the next change 1 again, behind the cursors.
	 */
	static const char sql[] =
	    "DELETE FROM rule_changes WHERE id <= min(?1,"
	    " (SELECT min(id) FROM rule_changes) + ?2 - 1,"
	    " (SELECT max(id) FROM rule_changes) - 1)";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, upto);
	sqlite3_bind_int(st, 2, limit);
	return store_exec_changes(s, st, n);
}

int
store_auto_changes_head(struct store *s, int64_t *head)
{
	static const char sql[] = "SELECT max(id) FROM rule_changes";
	sqlite3_stmt *st;
	int found, rc;

	*head = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found)
		*head = store_column_id(st, 0);
	store_done(st);
	return rc;
}

/* ---- a customer and its people ---- */

static void
person_free(struct auto_person *p)
{
	free(p->name);
	free(p->email);
	free(p->phone);
}

void
store_auto_customer_free(struct auto_customer *c)
{
	free(c->name);
	free(c->code);
	free(c->level);
	free(c->status);
	free(c->phone);
	free(c->email);
	free(c->ct_name);
	free(c->ct_phone);
	person_free(&c->owner);
	person_free(&c->manager);
	memset(c, 0, sizeof(*c));
}

/* A person from columns col (id), col + 1 ... (name, email, phone). */
static int
read_person(sqlite3_stmt *st, int col, struct auto_person *p)
{
	p->id = store_column_id(st, col);
	p->name = store_column_dup(st, col + 1);
	p->email = store_column_dup(st, col + 2);
	p->phone = store_column_dup(st, col + 3);
	return p->name && p->email && p->phone ? 0 : -1;
}

int
store_auto_customer_get(struct store *s, int64_t id, struct auto_customer *c,
    int *found)
{
	static const char sql[] =
	    "SELECT c.owner_id, c.name, c.code, c.level, c.status, c.phone,"
	    " c.email, ct.name, ct.phone, u.id, u.name, u.email, u.phone,"
	    " m.id, m.name, m.email, m.phone FROM customers AS c"
	    " LEFT JOIN contacts AS ct ON ct.customer_id = c.id"
	    "  AND ct.is_primary = 1"
	    " LEFT JOIN users AS u ON u.id = c.owner_id AND u.active = 1"
	    " LEFT JOIN users AS m ON m.id = u.manager_id AND m.active = 1"
	    " WHERE c.id = ?1";
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) != STORE_OK || !*found)
		goto out;
	c->id = id;
	c->owner_id = store_column_id(st, 0);
	c->name = store_column_dup(st, 1);
	c->code = store_column_dup(st, 2);
	c->level = store_column_dup(st, 3);
	c->status = store_column_dup(st, 4);
	c->phone = store_column_dup(st, 5);
	c->email = store_column_dup(st, 6);
	c->ct_name = store_column_dup(st, 7);
	c->ct_phone = store_column_dup(st, 8);
	if (read_person(st, 9, &c->owner) == -1 ||
	    read_person(st, 13, &c->manager) == -1 || !c->name || !c->code ||
	    !c->level || !c->status || !c->phone || !c->email ||
	    !c->ct_name || !c->ct_phone) {
		store_auto_customer_free(c);
		rc = store_fail(s, SQLITE_NOMEM);
	}
out:
	store_done(st);
	return rc;
}

/* ---- stale flags ---- */

int
store_auto_staleness(struct store *s, int64_t customer_id, int64_t now,
    struct auto_staleness *r, int *found)
{
	static const char sql[] =
	    "SELECT c.status, " LAST_CONTACT("?2") ", fl.id, fl.reason"
	    " FROM customers AS c LEFT JOIN customer_flags AS fl"
	    " ON fl.customer_id = c.id AND fl.flag = 'stale'"
	    " AND fl.cleared_at IS NULL WHERE c.id = ?1";
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	sqlite3_bind_int64(st, 2, now);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found) {
		store_column_copy(st, 0, r->status, sizeof(r->status));
		r->last = sqlite3_column_int64(st, 1);
		r->flag_id = store_column_id(st, 2);
		store_column_copy(st, 3, r->reason, sizeof(r->reason));
	}
	store_done(st);
	return rc;
}

int
store_auto_stale_candidates(struct store *s, const char *status, int64_t lo,
    int64_t hi, int64_t before, int64_t now, int64_t **ids, size_t *n)
{
	/* customers_status is (status, rowid): the window is one range.  The
	 * open-flag probe comes first: in a steady sweep most customers of
	 * the status are flagged already, and it is cheaper than the
	 * follow-up probes. */
	static const char sql[] =
	    "SELECT c.id FROM customers AS c"
	    " WHERE c.status = ?1 AND c.id > ?2 AND c.id <= ?3"
	    " AND NOT " OPEN_FLAG("c.id") " AND " STALE_SINCE("?4", "?5")
	    " ORDER BY c.id";
	sqlite3_stmt *st;

	*ids = NULL;
	*n = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, status);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, before);
	sqlite3_bind_int64(st, 5, now);
	return collect_ids(s, st, ids, n);
}

static int
max_id(struct store *s, const char *sql, int64_t *max)
{
	sqlite3_stmt *st;
	int found, rc;

	*max = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found)
		*max = store_column_id(st, 0);
	store_done(st);
	return rc;
}

int
store_auto_customers_max(struct store *s, int64_t *max)
{
	return max_id(s, "SELECT max(id) FROM customers", max);
}

int
store_auto_flags_max(struct store *s, int64_t *max)
{
	return max_id(s, "SELECT max(id) FROM customer_flags", max);
}

/* The columns read_flag_rows() reads; c is the flag's customer. */
#define SWEEP_COLUMNS(now)						\
	"SELECT fl.id, fl.customer_id, fl.since, fl.notified_at,"	\
	" fl.escalated_at, c.owner_id, " LAST_CONTACT(now) ", c.status,"	\
	" fl.reason"

/* Collects SWEEP_COLUMNS rows; resets st.  STORE_*. */
static int
read_flag_rows(struct store *s, sqlite3_stmt *st, struct auto_flag **out,
    size_t *nout)
{
	struct auto_flag *rows = NULL, *p, *r;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		r = &rows[n++];
		r->id = sqlite3_column_int64(st, 0);
		r->customer_id = sqlite3_column_int64(st, 1);
		r->since = sqlite3_column_int64(st, 2);
		r->notified_at = store_column_id(st, 3);
		r->escalated_at = store_column_id(st, 4);
		r->owner_id = store_column_id(st, 5);
		r->last = sqlite3_column_int64(st, 6);
		store_column_copy(st, 7, r->status, sizeof(r->status));
		store_column_copy(st, 8, r->reason, sizeof(r->reason));
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(rows);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

int
store_auto_flags_due(struct store *s, int64_t lo, int64_t hi,
    const struct auto_cut *cuts, size_t ncuts, int64_t now,
    struct auto_flag **out, size_t *nout)
{
	/* A range of rowids, read in order; the terms on fl alone are
	 * checked before the customer is looked up, so a steady sweep
	 * (everybody told, nobody due for escalation) reads no customer. */
	static const char sql[] =
	    SWEEP_COLUMNS("?3")
	    " FROM customer_flags AS fl NOT INDEXED"
	    " JOIN customers AS c ON c.id = fl.customer_id"
	    " WHERE fl.id > ?1 AND fl.id <= ?2 AND fl.flag = 'stale'"
	    " AND fl.cleared_at IS NULL AND (fl.notified_at IS NULL OR"
	    " (fl.escalated_at IS NULL AND fl.notified_at <= ?4))"
	    " AND (fl.notified_at IS NOT NULL OR c.owner_id IS NOT NULL)"
	    " ORDER BY fl.id";
	int64_t latest = 0;
	sqlite3_stmt *st;

	for (size_t i = 0; i < ncuts; i++)
		if (cuts[i].escalate_by > latest)
			latest = cuts[i].escalate_by;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	sqlite3_bind_int64(st, 3, now);
	if (latest > 0)
		sqlite3_bind_int64(st, 4, latest);
	else
		sqlite3_bind_null(st, 4);
	return read_flag_rows(s, st, out, nout);
}

/* The customer's cut-off: ?4 to ?11 are AUTO_CUTS_MAX (status, before)
 * pairs; unused pairs are NULL, which no status equals. */
#define CUT_BEFORE							\
	"(CASE c.status WHEN ?4 THEN ?5 WHEN ?6 THEN ?7 WHEN ?8 THEN ?9"	\
	" WHEN ?10 THEN ?11 END)"

int
store_auto_flags_ended(struct store *s, int64_t lo, int64_t hi,
    const struct auto_cut *cuts, size_t ncuts, int64_t now,
    struct auto_flag **out, size_t *nout)
{
	/* The open flags in customer order (customer_flags_open), so the
	 * follow-up probes walk followups_customer_at forwards. */
	static const char sql[] =
	    SWEEP_COLUMNS("?3")
	    " FROM customer_flags AS fl INDEXED BY customer_flags_open"
	    " JOIN customers AS c ON c.id = fl.customer_id"
	    " WHERE fl.customer_id > ?1 AND fl.customer_id <= ?2"
	    " AND fl.flag = 'stale' AND fl.cleared_at IS NULL"
	    " AND (" CUT_BEFORE " IS NULL OR NOT (" STALE_SINCE(CUT_BEFORE,
	    "?3") "))"
	    " ORDER BY fl.customer_id";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	sqlite3_bind_int64(st, 3, now);
	/* conf admits one entry per status: never more than four. */
	for (size_t i = 0; i < ncuts && i < AUTO_CUTS_MAX; i++) {
		store_bind_text(st, 4 + 2 * (int)i, cuts[i].status);
		sqlite3_bind_int64(st, 5 + 2 * (int)i, cuts[i].before);
	}
	return read_flag_rows(s, st, out, nout);
}

int
store_auto_flag_raise(struct store *s, int64_t customer_id, const char *status,
    int64_t before, int64_t now, const char *reason, int64_t *flag_id)
{
	/* OR IGNORE: customer_flags_open admits one open flag per kind. */
	static const char sql[] =
	    "INSERT OR IGNORE INTO customer_flags (customer_id, flag, reason,"
	    " since) SELECT c.id, 'stale', ?3, ?5 FROM customers AS c"
	    " WHERE c.id = ?1 AND c.status = ?2 AND " STALE_SINCE("?4", "?5");
	sqlite3_stmt *st;
	int rc, changed;

	*flag_id = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	store_bind_text(st, 2, status);
	store_bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, before);
	sqlite3_bind_int64(st, 5, now);
	if ((rc = store_exec_changes(s, st, &changed)) == STORE_OK && changed)
		*flag_id = sqlite3_last_insert_rowid(store_sqlite_handle(s));
	return rc;
}

static int
flag_update(struct store *s, const char *sql, int64_t flag_id, int64_t now,
    int *changed)
{
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, flag_id);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_changes(s, st, changed);
}

int
store_auto_flag_clear(struct store *s, int64_t flag_id, int64_t now,
    int *changed)
{
	static const char sql[] =
	    "UPDATE customer_flags SET cleared_at = ?2"
	    " WHERE id = ?1 AND cleared_at IS NULL";

	return flag_update(s, sql, flag_id, now, changed);
}

int
store_auto_flag_notified(struct store *s, int64_t flag_id, int64_t now,
    int *changed)
{
	static const char sql[] =
	    "UPDATE customer_flags SET notified_at = ?2"
	    " WHERE id = ?1 AND cleared_at IS NULL AND notified_at IS NULL";

	return flag_update(s, sql, flag_id, now, changed);
}

int
store_auto_flag_escalated(struct store *s, int64_t flag_id, int64_t now,
    int *changed)
{
	static const char sql[] =
	    "UPDATE customer_flags SET escalated_at = ?2"
	    " WHERE id = ?1 AND cleared_at IS NULL AND escalated_at IS NULL";

	return flag_update(s, sql, flag_id, now, changed);
}

void
store_auto_flags_list_free(struct auto_flag_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].customer);
		free(rows[i].code);
		free(rows[i].level);
		free(rows[i].status);
		free(rows[i].owner);
		free(rows[i].reason);
	}
	free(rows);
}

static int
read_flag_row(sqlite3_stmt *st, struct auto_flag_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->customer_id = sqlite3_column_int64(st, 1);
	r->owner_id = store_column_id(st, 2);
	r->since = sqlite3_column_int64(st, 3);
	r->notified_at = store_column_id(st, 4);
	r->escalated_at = store_column_id(st, 5);
	r->last = sqlite3_column_int64(st, 6);
	r->customer = store_column_dup(st, 7);
	r->code = store_column_dup(st, 8);
	r->level = store_column_dup(st, 9);
	r->status = store_column_dup(st, 10);
	r->owner = store_column_dup(st, 11);
	r->reason = store_column_dup(st, 12);
	return r->customer && r->code && r->level && r->status && r->owner &&
	    r->reason ? 0 : -1;
}

int
store_auto_flags_list(struct store *s, int64_t user_id, int limit,
    int64_t now, struct auto_flag_row **out, size_t *nout)
{
	/*
	 * Oldest first is id order: everybody's open flags are a range of
	 * customer_flags_open_flag, so a long list costs only the rows
	 * shown.  One user's are found from the user's customers instead,
	 * however few of the flags are theirs.
	 */
#define FLAG_COLUMNS							\
	"SELECT fl.id, c.id, c.owner_id, fl.since, fl.notified_at,"	\
	" fl.escalated_at, " LAST_CONTACT("?3") ", c.name, c.code,"	\
	" c.level, c.status, u.name, fl.reason"
	static const char all_sql[] = FLAG_COLUMNS
	    " FROM customer_flags AS fl INDEXED BY customer_flags_open_flag"
	    " JOIN customers AS c ON c.id = fl.customer_id"
	    " LEFT JOIN users AS u ON u.id = c.owner_id"
	    " WHERE fl.flag = 'stale' AND fl.cleared_at IS NULL AND ?1 = 0"
	    " ORDER BY fl.id LIMIT ?2";
	static const char user_sql[] = FLAG_COLUMNS
	    " FROM customers AS c"
	    " JOIN customer_flags AS fl INDEXED BY customer_flags_open"
	    " ON fl.customer_id = c.id AND fl.flag = 'stale'"
	    " AND fl.cleared_at IS NULL"
	    " LEFT JOIN users AS u ON u.id = c.owner_id"
	    " WHERE c.owner_id = ?1 ORDER BY fl.id LIMIT ?2";
#undef FLAG_COLUMNS
	struct auto_flag_row *rows = NULL, *p;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, user_id != 0 ? user_sql : all_sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int64(st, 3, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		memset(&rows[n], 0, sizeof(rows[n]));
		if (read_flag_row(st, &rows[n++]) == -1) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_auto_flags_list_free(rows, n);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

/* ---- reminders made by event rules ---- */

int
store_auto_event_reminder_add(struct store *s, const struct auto_reminder *r,
    int64_t *id)
{
	/* RETURNING answers only for a row really inserted. */
	static const char sql[] =
	    "INSERT INTO reminders (customer_id, user_id, kind, due_at,"
	    " channels, note, source, dedup_key)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT (dedup_key) DO NOTHING RETURNING id";
	sqlite3_stmt *st;
	int rc, found;

	*id = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, r->customer_id);
	sqlite3_bind_int64(st, 2, r->user_id);
	store_bind_text(st, 3, r->kind);
	sqlite3_bind_int64(st, 4, r->due_at);
	store_bind_text(st, 5, r->channels);
	store_bind_text(st, 6, r->note);
	store_bind_text(st, 7, r->source);
	store_bind_text(st, 8, r->dedup_key);
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found) {
		*id = sqlite3_column_int64(st, 0);
		/* Step to the end, so the statement is complete. */
		if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
			store_done(st);
			return store_fail(s, rc);
		}
		rc = STORE_OK;
	}
	store_done(st);
	return rc;
}

int
store_auto_event_reminders_cancel(struct store *s, int64_t customer_id,
    struct auto_cancelled **out, size_t *nout)
{
	/* A customer's reminders are few: its index, then the key. */
	static const char sql[] =
	    "UPDATE reminders SET state = 'cancelled'"
	    " WHERE customer_id = ?1 AND state = 'pending'"
	    " AND dedup_key GLOB 'event:*' RETURNING id, source";
	struct auto_cancelled *rows = NULL, *p;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		rows[n].id = sqlite3_column_int64(st, 0);
		store_column_copy(st, 1, rows[n].source,
		    sizeof(rows[n].source));
		n++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(rows);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

/* ---- lead assignment ---- */

int
store_auto_unowned(struct store *s, int64_t after, int limit, int64_t **ids,
    size_t *n)
{
	/* customers_owner holds (NULL, id) entries in id order; the v6
	 * index on (owner_id, status) would need a sort. */
	static const char sql[] =
	    "SELECT id FROM customers INDEXED BY customers_owner"
	    " WHERE owner_id IS NULL AND id > ?1"
	    " ORDER BY id LIMIT ?2";
	sqlite3_stmt *st;

	*ids = NULL;
	*n = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	return collect_ids(s, st, ids, n);
}

int
store_auto_user_active(struct store *s, int64_t user_id, int *active)
{
	static const char sql[] =
	    "SELECT 1 FROM users WHERE id = ?1 AND active = 1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	rc = store_step_row(s, st, active);
	store_done(st);
	return rc;
}

int
store_auto_open_customers(struct store *s, int64_t user_id, int64_t *n)
{
	/* From customers_owner_status (v6) alone. */
	static const char sql[] =
	    "SELECT count(*) FROM customers"
	    " WHERE owner_id = ?1 AND status <> 'lost'";
	sqlite3_stmt *st;
	int found, rc;

	*n = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found)
		*n = sqlite3_column_int64(st, 0);
	store_done(st);
	return rc;
}

int
store_auto_assign(struct store *s, int64_t customer_id, int64_t user_id,
    int *changed)
{
	static const char sql[] =
	    "UPDATE customers SET owner_id = ?2"
	    " WHERE id = ?1 AND owner_id IS NULL";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	sqlite3_bind_int64(st, 2, user_id);
	return store_exec_changes(s, st, changed);
}
