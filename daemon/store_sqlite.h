/*
 * Internal to the SQLite backend: what its files (store_sqlite.c,
 * store_reminders.c, store_ctl.c) share.  Nothing outside the backend
 * includes this; the rest of crmd sees only store.h and its siblings.
 */
#ifndef CRMD_STORE_SQLITE_H
#define CRMD_STORE_SQLITE_H

#include <sqlite3.h>
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

/* Steps a statement that returns no rows, then resets it.  STORE_*. */
int		 store_exec(struct store *, sqlite3_stmt *);

/* sqlite3_changes() of the connection. */
int		 store_changes(struct store *);

/* Binds a text or NULL. */
void		 store_bind_text(sqlite3_stmt *, int idx, const char *text);
/* Binds an integer, or NULL when it is 0 (an absent id). */
void		 store_bind_id(sqlite3_stmt *, int idx, int64_t id);

/* malloc'd copy of a text column, "" for NULL; NULL only on ENOMEM. */
char		*store_column_dup(sqlite3_stmt *, int col);

#endif
