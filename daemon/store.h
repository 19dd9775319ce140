/*
 * The storage module: the only code in crmd that speaks SQL to the shared
 * database.  Everything else calls these functions, so a PostgreSQL
 * backend is a second implementation of this header, not a rewrite.
 *
 * Rules every implementation keeps:
 *  - every write transaction starts with a write lock (SQLite: BEGIN
 *    IMMEDIATE), because a deferred read-then-write transaction fails with
 *    SQLITE_BUSY_SNAPSHOT under concurrency whatever the busy timeout;
 *  - no read transaction outlives the call that opened it, so nothing is
 *    held open across event-loop turns;
 *  - instants are INTEGER Unix seconds UTC, calendar dates TEXT YYYY-MM-DD.
 */
#ifndef CRMD_STORE_H
#define CRMD_STORE_H

#include <stdint.h>

struct store;

enum store_rc {
	STORE_OK	= 0,
	STORE_BUSY	= 1,	/* locked by another writer: retry later */
	STORE_ERR	= -1,
};

/*
 * Opens the database (creating the file if needed) with WAL, foreign keys
 * and the given busy timeout.  Does not migrate.  NULL on error with *err
 * a malloc'd message.
 */
struct store	*store_open(const char *database, int64_t busy_timeout_ms,
		    char **err);
void		 store_close(struct store *);
const char	*store_database(const struct store *);
const char	*store_errmsg(struct store *);

/* How long a statement waits for another process's lock. */
void		 store_set_busy_timeout(struct store *, int64_t ms);

/*
 * Takes the single-instance lock for this database, held until
 * store_close().  -1 with *err naming the running instance if taken.
 */
int		 store_lock_instance(struct store *, char **err);

/* Schema version of the open database (0 for a new file). */
int		 store_schema_version(struct store *, int *version, char **err);
/* Version this binary migrates to. */
int		 store_latest_version(void);
/*
 * Brings the schema to store_latest_version(), one transaction per
 * migration.  Refuses (-1, *err set) a database newer than this binary.
 */
int		 store_migrate(struct store *, char **err);

/*
 * Development only: runs the SQL file at path in one write transaction if
 * the database has no customers yet.  *loaded = 1 when it ran.  0, or -1
 * with *err.
 */
int		 store_load_demo(struct store *, const char *path, int *loaded,
		    char **err);

/*
 * Moves WAL checkpoints off the caller's thread: automatic checkpoints on
 * this connection stop, and a background thread with its own connection
 * runs a PASSIVE checkpoint whenever the WAL has grown past a few MiB.  A
 * checkpoint fsyncs the database, which must not happen on the event loop.
 * 0, or -1 with *err.  Stopped by store_close().
 */
int		 store_checkpointer_start(struct store *, char **err);

/* Write transactions: STORE_OK, STORE_BUSY or STORE_ERR. */
int		 store_begin(struct store *);
int		 store_commit(struct store *);
void		 store_rollback(struct store *);

struct store_counts {
	int64_t	customers;
	int64_t	reminders_pending;
	int64_t	outbox_queued;
	int64_t	outbox_sending;
	int64_t	outbox_sent;
	int64_t	outbox_dead;
};

/* Fills counts for `crmctl status`: STORE_OK, STORE_BUSY or STORE_ERR. */
int		 store_counts(struct store *, struct store_counts *);

/*
 * Appends one audit_log row in its own short write transaction.
 * customer_id 0 means none.  STORE_OK, STORE_BUSY or STORE_ERR.
 */
int		 store_audit(struct store *, const char *actor,
		    const char *action, int64_t customer_id, const char *detail);

#endif
