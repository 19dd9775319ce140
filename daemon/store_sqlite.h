/*
 * Internal to the SQLite backend: what its files (store_sqlite.c,
 * store_reminders.c, store_ctl.c) share.  Nothing outside the backend
 * includes this; the rest of crmd sees only store.h and its siblings.
 */
#ifndef CRMD_STORE_SQLITE_H
#define CRMD_STORE_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * The prepared statement for sql, cached per connection and keyed by the
 * string's address, so sql must be a string literal or otherwise static.
 * NULL on error (store_errmsg() says why).
 */
sqlite3_stmt	*store_prepare(struct store *, const char *sql);

/* Records SQLite's error and maps it: STORE_BUSY or STORE_ERR. */
int		 store_fail(struct store *, int rc);

/* Records msg as the error: STORE_ERR. */
int		 store_fail_msg(struct store *, const char *msg);

/* Steps a statement that returns no rows, then resets it.  STORE_*. */
int		 store_exec(struct store *, sqlite3_stmt *);

/* store_exec(), then *changed = the rows it changed (0 on error). */
int		 store_exec_changes(struct store *, sqlite3_stmt *, int *changed);

/* sqlite3_changes() of the connection. */
int		 store_changes(struct store *);

/* Binds a text or NULL. */
void		 store_bind_text(sqlite3_stmt *, int idx, const char *text);
/* Binds an integer, or NULL when it is 0 (an absent id). */
void		 store_bind_id(sqlite3_stmt *, int idx, int64_t id);

/* malloc'd copy of a text column, "" for NULL; NULL only on ENOMEM. */
char		*store_column_dup(sqlite3_stmt *, int col);
/* A text column into buf (truncated), "" for NULL. */
void		 store_column_copy(sqlite3_stmt *, int col, char *buf, size_t len);
/* An integer column, 0 for NULL (an absent id). */
int64_t		 store_column_id(sqlite3_stmt *, int col);

/*
 * Steps st expecting one row or none: STORE_OK with *found, the row left
 * for reading (reset it with store_done()), or an error with st reset.
 */
int		 store_step_row(struct store *, sqlite3_stmt *, int *found);
/* Resets st and its bindings: it holds no read transaction after this. */
void		 store_done(sqlite3_stmt *);

/* Grows arr (n used of *cap elements of size sz) for one more; NULL on
 * ENOMEM, leaving arr and *cap as they were. */
void		*store_grow(void *arr, size_t n, size_t *cap, size_t sz);

#endif
