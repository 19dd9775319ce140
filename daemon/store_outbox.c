/*
 * The SQLite side of store_outbox.h.  Every query walks an index:
 * outbox_due (state, channel, next_attempt_at) for a channel's due rows
 * in order and the few sending rows for leases; outbox_queued_age for
 * the queued rows old enough to expire.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_outbox.h"
#include "store_sqlite.h"

static const char due_sql[] =
    "SELECT o.id, o.attempts, o.created_at, o.customer_id,"
    " o.audience = 'customer', coalesce(c.opt_out_email, 0),"
    " coalesce(c.opt_out_sms, 0), o.recipient, o.subject, o.body,"
    " o.idempotency_key, o.recipient_name, o.body_html"
    " FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id"
    " WHERE o.state = 'queued' AND o.next_attempt_at <= ?2"
    " AND o.channel = ?1"
    " ORDER BY o.next_attempt_at LIMIT ?3";

static void
row_free(struct outbox_row *r)
{
	free(r->recipient);
	free(r->subject);
	free(r->body);
	free(r->key);
	free(r->name);
	free(r->html);
}

void
store_outbox_rows_free(struct outbox_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		row_free(&rows[i]);
	free(rows);
}

/* A text column with its length, NUL-terminated; "" for NULL. */
static char *
text_dup(sqlite3_stmt *st, int col, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	char *p;

	*len = t != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if ((p = malloc(*len + 1)) == NULL)
		return NULL;
	if (*len > 0)
		memcpy(p, t, *len);
	p[*len] = '\0';
	return p;
}

static int
row_read(sqlite3_stmt *st, struct outbox_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->attempts = sqlite3_column_int64(st, 1);
	r->created_at = sqlite3_column_int64(st, 2);
	r->customer_id = store_column_id(st, 3);
	r->to_customer = sqlite3_column_int(st, 4);
	r->opt_out_email = sqlite3_column_int(st, 5);
	r->opt_out_sms = sqlite3_column_int(st, 6);
	if ((r->recipient = text_dup(st, 7, &r->recipient_len)) == NULL ||
	    (r->subject = text_dup(st, 8, &r->subject_len)) == NULL ||
	    (r->body = text_dup(st, 9, &r->body_len)) == NULL)
		return -1;
	/* NULL and '' differ here: no key means "outbox:<id>"; no name or
	 * HTML, none. */
	if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
	    (r->key = text_dup(st, 10, &r->key_len)) == NULL)
		return -1;
	if (sqlite3_column_type(st, 11) != SQLITE_NULL &&
	    (r->name = text_dup(st, 11, &r->name_len)) == NULL)
		return -1;
	if (sqlite3_column_type(st, 12) != SQLITE_NULL &&
	    (r->html = text_dup(st, 12, &r->html_len)) == NULL)
		return -1;
	return 0;
}

int
store_outbox_due(struct store *s, const char *channel, int64_t now,
    int limit, struct outbox_row **out, size_t *nout)
{
	sqlite3_stmt *st;
	struct outbox_row *rows = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, due_sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, channel);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL)
			break;
		rows = p;
		if (row_read(st, &rows[n]) == -1) {
			row_free(&rows[n]);
			break;
		}
		n++;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_outbox_rows_free(rows, n);
		return rc == SQLITE_ROW ? STORE_ERR : store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

/* "[a,b,...]" or "[[a,b,c],...]" of n rows of k integers; NULL: ENOMEM. */
static char *
json_ints(const int64_t *v, size_t n, size_t k)
{
	size_t cap = 3 + n * (k * 21 + 3), len = 0;
	char *buf;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	buf[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf[len++] = ',';
		if (k > 1)
			buf[len++] = '[';
		for (size_t j = 0; j < k; j++)
			len += (size_t)snprintf(buf + len, cap - len, "%s%lld",
			    j > 0 ? "," : "", (long long)v[i * k + j]);
		if (k > 1)
			buf[len++] = ']';
	}
	buf[len++] = ']';
	buf[len] = '\0';
	return buf;
}

int
store_outbox_claim_many(struct store *s, const int64_t *ids, size_t n,
    int64_t lease_until)
{
	/* One statement for the pass's claims: the per-row VDBE setup was a
	 * good part of a pass's time during a drain.  The unary + keeps the
	 * planner from walking every queued row of outbox_due: each
	 * id is one rowid lookup.  No RETURNING: its result table cost 3 %
	 * of an SMS drain, and the count says the same. */
	static const char sql[] =
	    "UPDATE outbox SET state = 'sending', lease_until = ?2,"
	    " attempts = attempts + 1"
	    " WHERE id IN (SELECT value FROM json_each(?1))"
	    " AND +state = 'queued'";
	sqlite3_stmt *st;
	char *json;
	int rc, changed;

	if (n == 0)
		return STORE_OK;
	if ((json = json_ints(ids, n, 1)) == NULL)
		return store_fail(s, SQLITE_NOMEM);
	if ((st = store_prepare(s, sql)) == NULL) {
		free(json);
		return STORE_ERR;
	}
	sqlite3_bind_text(st, 1, json, -1, free);
	sqlite3_bind_int64(st, 2, lease_until);
	if ((rc = store_exec_changes(s, st, &changed)) != STORE_OK)
		return rc;
	if ((size_t)changed != n)
		return store_fail_msg(s, "a due row was no longer queued when "
		    "claimed; the pass is rolled back");
	return STORE_OK;
}

int
store_outbox_defer(struct store *s, int64_t id, int64_t at)
{
	static const char sql[] =
	    "UPDATE outbox SET next_attempt_at = ?2"
	    " WHERE id = ?1 AND state = 'queued'";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	return store_exec(s, st);
}

int
store_outbox_refuse(struct store *s, int64_t id, const char *reason)
{
	static const char sql[] =
	    "UPDATE outbox SET state = 'dead', last_error = ?2"
	    " WHERE id = ?1 AND state = 'queued'";
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, reason);
	return store_exec(s, st);
}

int
store_outbox_refuse_channel(struct store *s, const char *channel,
    int64_t now, const char *reason, int64_t from, int limit, int *n,
    int64_t *last_at)
{
	/* The oldest `limit` from `from` on: a backlog of a million rows is
	 * many short transactions, not one that holds the write lock for
	 * seconds, and each starts where the last ended rather than walking
	 * again past other channels' due rows. */
	static const char sql[] =
	    "UPDATE outbox SET state = 'dead', last_error = ?3"
	    " WHERE id IN (SELECT id FROM outbox WHERE state = 'queued'"
	    " AND next_attempt_at >= ?5 AND next_attempt_at <= ?2"
	    " AND channel = ?1 ORDER BY next_attempt_at LIMIT ?4)"
	    " RETURNING next_attempt_at";
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	*last_at = from;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, channel);
	sqlite3_bind_int64(st, 2, now);
	store_bind_text(st, 3, reason);
	sqlite3_bind_int(st, 4, limit);
	sqlite3_bind_int64(st, 5, from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 0);

		(*n)++;
		if (at > *last_at)
			*last_at = at;
	}
	store_done(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(s, rc);
}

/* Binds the fence: the row and the lease it was claimed under. */
static sqlite3_stmt *
fenced(struct store *s, const char *sql, int64_t id, int64_t lease)
{
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql)) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, lease);
	return st;
}

#define FENCE	" WHERE id = ?1 AND state = 'sending' AND lease_until = ?2"

int
store_outbox_sent_many(struct store *s, const int64_t *ids, size_t n,
    int64_t lease, int64_t sent_at)
{
	/* As the claim: one rowid lookup per id (the + as there), each row
	 * fenced by the lease it was claimed under. */
	static const char sql[] =
	    "UPDATE outbox SET state = 'sent', sent_at = ?3,"
	    " lease_until = NULL, last_error = NULL"
	    " WHERE id IN (SELECT value FROM json_each(?1))"
	    " AND +state = 'sending' AND +lease_until = ?2";
	sqlite3_stmt *st;
	char *json;

	if (n == 0)
		return STORE_OK;
	if ((json = json_ints(ids, n, 1)) == NULL)
		return store_fail(s, SQLITE_NOMEM);
	if ((st = store_prepare(s, sql)) == NULL) {
		free(json);
		return STORE_ERR;
	}
	sqlite3_bind_text(st, 1, json, -1, free);
	sqlite3_bind_int64(st, 2, lease);
	sqlite3_bind_int64(st, 3, sent_at);
	return store_exec(s, st);
}

int
store_outbox_retry(struct store *s, int64_t id, int64_t lease,
    int64_t next_attempt_at, const char *error)
{
	static const char sql[] =
	    "UPDATE outbox SET state = 'queued', next_attempt_at = ?3,"
	    " last_error = ?4, lease_until = NULL" FENCE;
	sqlite3_stmt *st;

	if ((st = fenced(s, sql, id, lease)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 3, next_attempt_at);
	store_bind_text(st, 4, error);
	return store_exec(s, st);
}

int
store_outbox_dead(struct store *s, int64_t id, int64_t lease,
    const char *reason)
{
	static const char sql[] =
	    "UPDATE outbox SET state = 'dead', last_error = ?3,"
	    " lease_until = NULL" FENCE;
	sqlite3_stmt *st;

	if ((st = fenced(s, sql, id, lease)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 3, reason);
	return store_exec(s, st);
}

int
store_outbox_release(struct store *s, int64_t id, int64_t lease)
{
	static const char sql[] =
	    "UPDATE outbox SET state = 'queued', lease_until = NULL,"
	    " attempts = max(attempts - 1, 0)" FENCE;
	sqlite3_stmt *st;

	if ((st = fenced(s, sql, id, lease)) == NULL)
		return STORE_ERR;
	return store_exec(s, st);
}

int
store_outbox_reap(struct store *s, int64_t now, int *n)
{
	/* The attempt stays counted: it may have reached the server. */
	static const char sql[] =
	    "UPDATE outbox SET state = 'queued', lease_until = NULL"
	    " WHERE state = 'sending'"
	    " AND (lease_until IS NULL OR lease_until <= ?1)";
	sqlite3_stmt *st;

	*n = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, now);
	return store_exec_changes(s, st, n);
}

/* Runs a one-value query with an optional text parameter: *at, 0 for
 * no row or NULL. */
static int
one_instant(struct store *s, const char *sql, const char *param,
    int64_t *at)
{
	sqlite3_stmt *st;
	int rc, found;

	*at = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	if (param != NULL)
		store_bind_text(st, 1, param);
	if ((rc = store_step_row(s, st, &found)) != STORE_OK)
		return rc;
	if (found)
		*at = store_column_id(st, 0);
	store_done(st);
	return STORE_OK;
}

int
store_outbox_next_due(struct store *s, const char *channel, int64_t *at)
{
	static const char sql[] =
	    "SELECT next_attempt_at FROM outbox"
	    " WHERE state = 'queued' AND channel = ?1"
	    " ORDER BY next_attempt_at LIMIT 1";

	return one_instant(s, sql, channel, at);
}

int
store_outbox_expire(struct store *s, const char *channel, int64_t now,
    int64_t cutoff, const char *why, int limit, int *n)
{
	/* outbox_queued_age (v9): only the old rows are read.  A row that
	 * expired before (and was retried) does not say so twice. */
	static const char sql[] =
	    "UPDATE outbox SET state = 'dead', lease_until = NULL,"
	    " last_error = ?3 || ' after ' || attempts || ' attempt'"
	    " || CASE attempts WHEN 1 THEN '' ELSE 's' END"
	    " || CASE WHEN instr(last_error, ?3) = 1 THEN ''"
	    " ELSE coalesce(': ' || last_error, '') END"
	    " WHERE id IN (SELECT id FROM outbox WHERE state = 'queued'"
	    " AND channel = ?1 AND created_at < ?2 AND next_attempt_at <= ?5"
	    " LIMIT ?4)";
	sqlite3_stmt *st;

	*n = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	store_bind_text(st, 1, channel);
	sqlite3_bind_int64(st, 2, cutoff);
	store_bind_text(st, 3, why);
	sqlite3_bind_int(st, 4, limit);
	sqlite3_bind_int64(st, 5, now);
	return store_exec_changes(s, st, n);
}

int
store_outbox_next_lease(struct store *s, int64_t *at)
{
	static const char sql[] =
	    "SELECT min(coalesce(lease_until, 1)) FROM outbox"
	    " WHERE state = 'sending'";

	return one_instant(s, sql, NULL, at);
}
