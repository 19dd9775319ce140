/*
 * SQLite side of the outbox admin commands (store_ctl_outbox.h).
 *
 * The outbox's only state index is (state, next_attempt_at), which cannot
 * give rows newest first.  Lists of sent rows, the bulk of a mature
 * table, therefore walk the rowid backwards (the "+state" keeps SQLite
 * off the index, whose sort would read every sent row); the other states
 * are few and are read through the index, then sorted.  Bulk changes
 * walk the rowid forwards one window at a time, also with "+state", so
 * one transaction touches at most a window's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_ctl_outbox.h"
#include "store_sqlite.h"

#define OUTBOX_COLUMNS							\
	" id, attempts, next_attempt_at, lease_until, created_at, sent_at,"\
	" reminder_id, customer_id, channel, state, audience, recipient,"\
	" subject, last_error, idempotency_key"

void
store_ctl_outbox_clear(struct ctl_outbox *o)
{
	free(o->recipient);
	free(o->subject);
	free(o->body);
	free(o->recipient_name);
	free(o->body_html);
	free(o->last_error);
	free(o->idempotency_key);
	memset(o, 0, sizeof(*o));
}

void
store_ctl_outbox_free(struct ctl_outbox *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_ctl_outbox_clear(&rows[i]);
	free(rows);
}

/* A text column that may be NULL: *out stays NULL then.  -1 on ENOMEM. */
static int
dup_nullable(sqlite3_stmt *st, int col, char **out)
{
	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	return (*out = store_column_dup(st, col)) == NULL ? -1 : 0;
}

/* Reads an OUTBOX_COLUMNS row, then body from column 15 if with_body. */
static int
outbox_read(sqlite3_stmt *st, struct ctl_outbox *o, int with_body)
{
	int64_t *ints[] = { &o->id, &o->attempts, &o->next_attempt_at,
	    &o->lease_until, &o->created_at, &o->sent_at, &o->reminder_id,
	    &o->customer_id };
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		*ints[i] = store_column_id(st, (int)i);
	store_column_copy(st, 8, o->channel, sizeof(o->channel));
	store_column_copy(st, 9, o->state, sizeof(o->state));
	store_column_copy(st, 10, o->audience, sizeof(o->audience));
	if ((o->recipient = store_column_dup(st, 11)) == NULL ||
	    (o->subject = store_column_dup(st, 12)) == NULL ||
	    dup_nullable(st, 13, &o->last_error) == -1 ||
	    dup_nullable(st, 14, &o->idempotency_key) == -1 ||
	    (with_body && ((o->body = store_column_dup(st, 15)) == NULL ||
	    dup_nullable(st, 16, &o->recipient_name) == -1 ||
	    dup_nullable(st, 17, &o->body_html) == -1))) {
		store_ctl_outbox_clear(o);
		return -1;
	}
	return 0;
}

int
store_ctl_outbox_get(struct store *s, int64_t id, struct ctl_outbox *o,
    int *found)
{
	static const char sql[] =
	    "SELECT" OUTBOX_COLUMNS ", body, recipient_name, body_html"
	    " FROM outbox WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) == STORE_OK && *found &&
	    outbox_read(st, o, 1) == -1)
		rc = STORE_ERR;
	store_done(st);
	return rc;
}

#define LIST_FROM	"SELECT" OUTBOX_COLUMNS " FROM outbox"
#define LIST_ORDER	" ORDER BY id DESC LIMIT ?3"

/* [channel given][0: any state, 1: state by index, 2: state by rowid]. */
static const char *const list_sql[2][3] = {
	{
		LIST_FROM LIST_ORDER,
		LIST_FROM " WHERE state = ?1" LIST_ORDER,
		LIST_FROM " WHERE +state = ?1" LIST_ORDER,
	}, {
		LIST_FROM " WHERE channel = ?2" LIST_ORDER,
		LIST_FROM " WHERE state = ?1 AND channel = ?2" LIST_ORDER,
		LIST_FROM " WHERE +state = ?1 AND channel = ?2" LIST_ORDER,
	},
};

int
store_ctl_outbox_list(struct store *s, const struct ctl_outbox_filter *f,
    struct ctl_outbox **rows, size_t *n)
{
	struct ctl_outbox *arr = NULL, *p;
	sqlite3_stmt *st;
	size_t cap = 0;
	int mode = 0, rc;

	if (f->state != NULL)
		mode = strcmp(f->state, "sent") == 0 ? 2 : 1;
	if ((st = store_prepare(s, list_sql[f->channel != NULL][mode])) ==
	    NULL)
		return STORE_ERR;
	store_bind_text(st, 1, f->state);
	store_bind_text(st, 2, f->channel);
	sqlite3_bind_int(st, 3, f->limit);
	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(arr, *n, &cap, sizeof(*arr))) == NULL)
			break;
		arr = p;
		if (outbox_read(st, &arr[*n], 0) == -1)
			break;
		(*n)++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_ctl_outbox_free(arr, *n);
		*n = 0;
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*rows = arr;
	return STORE_OK;
}

int
store_ctl_outbox_retry(struct store *s, int64_t id, int64_t now, int *changed)
{
	static const char sql[] =
	    "UPDATE outbox SET next_attempt_at = CASE state WHEN 'dead'"
	    " THEN ?2 ELSE min(next_attempt_at, ?2) END,"
	    " created_at = CASE state WHEN 'dead' THEN ?2 ELSE created_at END,"
	    " state = 'queued', lease_until = NULL"
	    " WHERE id = ?1 AND state IN ('dead', 'queued')";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_changes(s, st, changed);
}

int
store_ctl_outbox_window(struct store *s, int64_t after, int width,
    int64_t *last, int *count)
{
	static const char sql[] =
	    "SELECT max(id), count(*) FROM (SELECT id FROM outbox"
	    " WHERE id > ?1 ORDER BY id LIMIT ?2)";
	sqlite3_stmt *st;
	int found, rc;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, width);
	*last = after;
	*count = 0;
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found &&
	    (*count = sqlite3_column_int(st, 1)) > 0)
		*last = sqlite3_column_int64(st, 0);
	store_done(st);
	return rc;
}

int
store_ctl_outbox_retry_dead(struct store *s, int64_t after, int64_t last,
    int64_t now, const char *const only[3], int *changed, int *skipped)
{
	static const char sql[] =
	    "UPDATE outbox SET state = 'queued', next_attempt_at = ?3,"
	    " created_at = ?3, lease_until = NULL"
	    " WHERE id > ?1 AND id <= ?2 AND +state = 'dead'"
	    " AND channel IN (?4, ?5, ?6)";
	static const char left_sql[] =
	    "SELECT count(*) FROM outbox"
	    " WHERE id > ?1 AND id <= ?2 AND +state = 'dead'";
	sqlite3_stmt *st;
	int found, rc;

	*skipped = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, now);
	for (int i = 0; i < 3; i++)
		store_bind_text(st, 4 + i, only[i]);
	if ((rc = store_exec_changes(s, st, changed)) != STORE_OK)
		return rc;
	/* What is still dead in the window now is what was skipped. */
	if ((st = store_prepare(s, left_sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, last);
	if ((rc = store_step_row(s, st, &found)) == STORE_OK && found)
		*skipped = sqlite3_column_int(st, 0);
	store_done(st);
	return rc;
}

int
store_ctl_outbox_purge_sent(struct store *s, int64_t after, int64_t last,
    int64_t before, int *deleted)
{
	static const char sql[] =
	    "DELETE FROM outbox WHERE id > ?1 AND id <= ?2"
	    " AND +state = 'sent' AND sent_at < ?3";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, before);
	return store_exec_changes(s, st, deleted);
}

int
store_ctl_outbox_add_test(struct store *s, const struct ctl_outbox_test *t,
    int64_t now, int64_t *id)
{
	static const char add[] =
	    "INSERT INTO outbox (channel, recipient, subject, body, state,"
	    " next_attempt_at, created_at, audience)"
	    " VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, 'user')";
	static const char key[] =
	    "UPDATE outbox SET idempotency_key = 'test:' || id WHERE id = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, add)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, t->channel);
	store_bind_text(st, 2, t->recipient);
	store_bind_text(st, 3, t->subject);
	store_bind_text(st, 4, t->body);
	sqlite3_bind_int64(st, 5, now);
	if ((rc = store_exec(s, st)) != STORE_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(sqlite3_db_handle(st));
	if ((st = store_prepare(s, key)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, *id);
	return store_exec(s, st);
}
