/*
 * Schema migrations.  The schema version lives in PRAGMA user_version,
 * which SQLite keeps in the database header, so it changes in the same
 * transaction as the tables it describes: a migration either happens
 * completely, version included, or not at all.
 *
 * Foreign keys are switched off while migrating (they cannot be switched
 * inside a transaction) so that a later migration may rebuild a table the
 * way the SQLite manual describes; PRAGMA foreign_key_check then runs
 * before the COMMIT of a migration that may break a reference
 * (migrate.h), so that it cannot leave one dangling.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"

char *
store_errorf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

static const char *
dbname(sqlite3 *db)
{
	const char *f = sqlite3_db_filename(db, "main");

	return (f == NULL || *f == '\0') ? ":memory:" : f;
}

int
migrate_version(sqlite3 *db, int *version, char **err)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK) {
		*err = store_errorf("database %s: cannot read schema version: "
		    "%s", dbname(db), sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else
		*err = store_errorf("database %s: cannot read schema version: "
		    "%s", dbname(db), sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* A list must be versions 1..n in order, or the version arithmetic lies. */
static int
check_list(const struct migration *list, size_t n, char **err)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i].version != (int)i + 1 || list[i].sql == NULL) {
			*err = store_errorf("migration list is malformed at "
			    "entry %zu (version %d); this is a bug in crmd",
			    i, list[i].version);
			return -1;
		}
	}
	return 0;
}

static int
foreign_keys(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 on = 1;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_keys", -1, &st,
	    NULL) != SQLITE_OK)
		return on;
	if (sqlite3_step(st) == SQLITE_ROW)
		on = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return on;
}

static void
set_foreign_keys(sqlite3 *db, int on)
{
	sqlite3_exec(db, on ? "PRAGMA foreign_keys = ON" :
	    "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
}

/* The first foreign key violation in the database as a message, or NULL. */
static char *
fk_violation(sqlite3 *db)
{
	sqlite3_stmt	*st;
	char		*msg = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st,
	    NULL) != SQLITE_OK)
		return store_errorf("foreign_key_check: %s",
		    sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		msg = store_errorf("it leaves a row of table %s (rowid %lld) "
		    "referring to a missing row of %s",
		    (const char *)sqlite3_column_text(st, 0),
		    (long long)sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
	else if (rc != SQLITE_DONE)
		msg = store_errorf("foreign_key_check: %s",
		    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return msg;
}

/* The integer a one-row query (a pragma) gives; -1 with *why set. */
static int64_t
pragma_int(sqlite3 *db, const char *pragma, char **why)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(db, pragma, -1, &st, NULL) != SQLITE_OK) {
		*why = store_errorf("%s: %s", pragma, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		*why = store_errorf("%s: %s", pragma, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

static char *
edit_one(sqlite3 *db, sqlite3_stmt *st, const struct schema_edit *e)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, e->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->to, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return store_errorf("editing table %s: %s", e->table,
		    sqlite3_errmsg(db));
	if (sqlite3_changes(db) != 1)
		return store_errorf("table %s does not have the text \"%s\" "
		    "that an earlier crmd wrote; its schema was changed by "
		    "other means, so crmd will not edit it", e->table, e->from);
	return NULL;
}

/*
 * The edits of one migration (migrate.h), then the schema version bumped
 * so other connections read the schema again, and this connection's
 * parsed schema dropped (writable_schema = RESET) so the next statement
 * parses the new text: a typo in it fails here, inside the transaction.
 */
static char *
edit_schema(sqlite3 *db, const struct schema_edit *edits)
{
	static const char sql[] =
	    "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)"
	    " WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0";
	sqlite3_stmt	*st = NULL;
	char		*why = NULL, *bump;
	int64_t		 cookie;

	if ((cookie = pragma_int(db, "PRAGMA schema_version", &why)) == -1)
		return why;
	if (sqlite3_exec(db, "PRAGMA writable_schema = ON", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		why = store_errorf("%s", sqlite3_errmsg(db));
	for (const struct schema_edit *e = edits; why == NULL &&
	    e->table != NULL; e++)
		why = edit_one(db, st, e);
	sqlite3_finalize(st);
	if (why == NULL) {
		/* A pragma takes no bound parameters; the value is ours. */
		bump = sqlite3_mprintf("PRAGMA schema_version = %lld",
		    (long long)cookie + 1);
		if (bump == NULL || sqlite3_exec(db, bump, NULL, NULL,
		    NULL) != SQLITE_OK)
			why = store_errorf("bumping the schema version: %s",
			    sqlite3_errmsg(db));
		sqlite3_free(bump);
	}
	sqlite3_exec(db, "PRAGMA writable_schema = RESET", NULL, NULL, NULL);
	if (why == NULL)
		(void)pragma_int(db, "SELECT count(*) FROM sqlite_schema",
		    &why);
	return why;
}

/*
 * Runs m in one write transaction.  The version is read again under the
 * write lock so that a migration another process finished while we waited
 * is not applied twice.  NULL, or the reason it failed.
 */
static char *
apply(sqlite3 *db, const struct migration *m)
{
	char	*why = NULL, *sql, *emsg = NULL;
	int	 cur;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_errorf("%s", sqlite3_errmsg(db));
	if (migrate_version(db, &cur, &why) == -1)
		goto fail;
	if (cur >= m->version)
		goto done;
	if (sqlite3_exec(db, m->sql, NULL, NULL, &emsg) != SQLITE_OK) {
		why = store_errorf("%s", emsg != NULL ? emsg :
		    sqlite3_errmsg(db));
		sqlite3_free(emsg);
		goto fail;
	}
	if (m->edits != NULL && (why = edit_schema(db, m->edits)) != NULL)
		goto fail;
	if (m->may_break_refs && (why = fk_violation(db)) != NULL)
		goto fail;
	/* A pragma takes no bound parameters; the value is our own int. */
	if ((sql = sqlite3_mprintf("PRAGMA user_version = %d",
	    m->version)) == NULL) {
		why = store_errorf("out of memory");
		goto fail;
	}
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		why = store_errorf("%s", sqlite3_errmsg(db));
	sqlite3_free(sql);
	if (why != NULL)
		goto fail;
done:
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return NULL;
	why = store_errorf("commit: %s", sqlite3_errmsg(db));
fail:
	/* Some errors (disk full, I/O) already rolled back for us. */
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return why != NULL ? why : store_errorf("out of memory");
}

static int
refuse_newer(sqlite3 *db, int have, int latest, char **err)
{
	*err = store_errorf("database %s has schema version %d, but this "
	    "crmd (%s) only knows versions up to %d: it was written by a "
	    "newer crmd; upgrade crmd, or give it another database",
	    dbname(db), have, CRMD_VERSION, latest);
	return -1;
}

int
migrate_run(sqlite3 *db, const struct migration *list, size_t n, char **err)
{
	int	 have, latest = (int)n, rc = 0, fk;
	char	*why;

	*err = NULL;
	if (check_list(list, n, err) == -1 ||
	    migrate_version(db, &have, err) == -1)
		return -1;
	if (have > latest)
		return refuse_newer(db, have, latest, err);
	if (have < 0) {
		*err = store_errorf("database %s has schema version %d, which "
		    "no crmd writes; is it a crmd database?", dbname(db), have);
		return -1;
	}
	if (have == latest)
		return 0;
	if (!sqlite3_get_autocommit(db)) {
		*err = store_errorf("database %s: cannot migrate inside a "
		    "transaction", dbname(db));
		return -1;
	}
	fk = foreign_keys(db);
	set_foreign_keys(db, 0);
	for (size_t i = (size_t)have; i < n; i++) {
		if ((why = apply(db, &list[i])) == NULL)
			continue;
		*err = store_errorf("database %s: migration to schema version "
		    "%d (%s) failed: %s; the database is left unchanged at "
		    "version %d", dbname(db), list[i].version,
		    list[i].name != NULL ? list[i].name : "unnamed", why,
		    list[i].version - 1);
		free(why);
		rc = -1;
		break;
	}
	set_foreign_keys(db, fk);
	return rc;
}
