/* Helpers shared by the storage tests: a private directory per test and a
 * plain SQLite connection standing in for the CRM application. */
#ifndef TESTDB_H
#define TESTDB_H

#include <stdint.h>

#include <sqlite3.h>

struct testdb {
	char	*dir;		/* mkdtemp'd, removed with its files */
	char	*path;		/* dir/crmd.db */
};

int	 testdb_setup(void **state);
int	 testdb_teardown(void **state);

/* A second connection, as the CRM application would open it. */
sqlite3	*testdb_raw(const char *path, int busy_ms);
/* sqlite3_exec; returns the extended result code. */
int	 testdb_exec(sqlite3 *, const char *sql);
/* The first column of the first row of sql as an integer; -1 if none. */
int64_t	 testdb_int(sqlite3 *, const char *sql);
/* Same as text, malloc'd; NULL if none or NULL. */
char	*testdb_text(sqlite3 *, const char *sql);
/* 1 if table has a column of that name. */
int	 testdb_has_column(sqlite3 *, const char *table, const char *column);

#endif
