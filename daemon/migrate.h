/*
 * Internal to the SQLite backend: the schema migration engine and the
 * compiled-in list of migrations.  Exposed so that tests can run a list of
 * their own (an upgrade, a migration that fails half-way).  Nothing outside
 * store_*.c, migrate.c, schema.c and the tests includes this.
 */
#ifndef CRMD_MIGRATE_H
#define CRMD_MIGRATE_H

#include <stddef.h>

#include <sqlite3.h>

struct store;

/*
 * A change to the text of a table's CREATE statement, made in place the
 * way the SQLite manual allows for a CHECK constraint that every row
 * already satisfies (its ALTER TABLE page): sqlite_schema is edited
 * under writable_schema and the schema version bumped, so that every
 * connection, the CRM application's too, reads the schema again.
 */
struct schema_edit {
	const char	*table;
	const char	*from;		/* text as an earlier migration wrote it */
	const char	*to;
};

/*
 * One step of the schema.  version is what PRAGMA user_version reads once
 * sql has run; a list holds versions 1, 2, ... n in order.  sql may hold
 * several statements but no BEGIN/COMMIT: the engine owns the transaction.
 * edits, if not NULL, ends with an entry whose table is NULL; they are
 * made after sql, and a from that is not found is an error.
 *
 * may_break_refs says sql may leave a row whose foreign key points
 * nowhere (foreign keys are off while migrating): it rebuilds a table,
 * writes rows of a table that has or is the target of a foreign key, or
 * adds a REFERENCES column with a non-NULL default.  Only then does
 * PRAGMA foreign_key_check run before the commit: it reads every row of
 * every table with a foreign key under the write lock (9 s on a million
 * customers), a wait the CRM should not have for a migration that cannot
 * break a reference.  (v2's INSERT ... SELECT fills change_log, which has
 * no foreign key.)
 */
struct migration {
	int				 version;
	const char			*name;
	const char			*sql;
	const struct schema_edit	*edits;
	int				 may_break_refs;
};

/* schema.c: the migrations this binary carries, oldest first. */
extern const struct migration	schema_migrations[];
extern const size_t		schema_nmigrations;

/*
 * Brings db to the last version in list.  Each migration runs as one
 * BEGIN IMMEDIATE ... COMMIT that also sets user_version, so a failure
 * leaves the database at the previous version with no partial change.
 * A database newer than the list is refused.  0, or -1 with *err a
 * malloc'd message saying what happened and what to do.
 */
int	 migrate_run(sqlite3 *db, const struct migration *list, size_t n,
	    char **err);

/* PRAGMA user_version of db: 0, or -1 with *err set. */
int	 migrate_version(sqlite3 *db, int *version, char **err);

/*
 * A malloc'd printf-style message for the *err results of the backend's
 * files; NULL only when memory is exhausted.
 */
char	*store_errorf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* The backend's connection, for tests that query per-connection pragmas. */
sqlite3	*store_sqlite_handle(struct store *);

#endif
