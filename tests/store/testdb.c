/* See testdb.h. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdb.h"

int
testdb_setup(void **state)
{
	struct testdb	*t;
	const char	*tmp = getenv("TMPDIR");

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	assert_true(asprintf(&t->dir, "%s/crmd-store-XXXXXX",
	    tmp != NULL ? tmp : "/tmp") != -1);
	assert_non_null(mkdtemp(t->dir));
	assert_true(asprintf(&t->path, "%s/crmd.db", t->dir) != -1);
	*state = t;
	return 0;
}

int
testdb_teardown(void **state)
{
	struct testdb	*t = *state;
	struct dirent	*de;
	DIR		*d;
	char		*f;

	if ((d = opendir(t->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (asprintf(&f, "%s/%s", t->dir, de->d_name) != -1) {
				unlink(f);
				free(f);
			}
		}
		closedir(d);
	}
	rmdir(t->dir);
	free(t->dir);
	free(t->path);
	free(t);
	return 0;
}

sqlite3 *
testdb_raw(const char *path, int busy_ms)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy_ms);
	return db;
}

int
testdb_exec(sqlite3 *db, const char *sql)
{
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	return sqlite3_extended_errcode(db);
}

int64_t
testdb_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

char *
testdb_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	char		*v = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

int
testdb_has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt	*st;
	int		 found = 0;

	/* table_info's argument cannot be bound; the pragma function can. */
	assert_int_equal(sqlite3_prepare_v2(db,
	    "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", -1,
	    &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		found = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return found == 1;
}
