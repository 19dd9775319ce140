/* See rulesdb.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "migrate.h"
#include "rulesdb.h"

sqlite3 *
rulesdb_open(void)
{
	sqlite3	*db = NULL;
	char	*err = NULL;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	if (migrate_run(db, schema_migrations, schema_nmigrations, &err) == -1)
		fail_msg("migrate: %s", err);
	rulesdb_exec(db, "PRAGMA foreign_keys = ON");
	return db;
}

void
rulesdb_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

char *
rulesdb_run(sqlite3 *db, const struct rule_expr *e, int flags,
    const int64_t *ids, size_t nids)
{
	struct rule_env	 env = { NOW, TODAY, ids, nids };
	sqlite3_stmt	*st;
	int64_t		*got = NULL;
	size_t		 n = 0, i, len = 0;
	char		*s;
	int		 rc;

	if (sqlite3_prepare_v2(db, rule_sql(e, flags), -1, &st, NULL) !=
	    SQLITE_OK)
		fail_msg("prepare %s: %s", rule_sql(e, flags),
		    sqlite3_errmsg(db));
	assert_int_equal(rule_bind(st, e, &env), SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		assert_non_null(got = reallocarray(got, n + 1, sizeof(*got)));
		got[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		fail_msg("step: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (n > 0)
		qsort(got, n, sizeof(*got), cmp_id);
	assert_non_null(s = malloc(n * 22 + 1));
	s[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%s%lld", i > 0 ? "," : "",
		    (long long)got[i]);
	free(got);
	return s;
}

char *
rulesdb_match(sqlite3 *db, const char *text, int flags, const int64_t *ids,
    size_t nids)
{
	struct rule_error	 err;
	struct rule_expr	*e;
	char			*s;

	if ((e = rule_compile(text, &err)) == NULL)
		fail_msg("%s: %d:%d: %s", text, err.line, err.column, err.msg);
	s = rulesdb_run(db, e, flags, ids, nids);
	rule_free(e);
	return s;
}

char *
rulesdb_error(const char *text)
{
	struct rule_error	 err;
	struct rule_expr	*e;
	char			*s;

	if ((e = rule_compile(text, &err)) != NULL) {
		rule_free(e);
		fail_msg("compiled, should not: %s", text);
	}
	assert_true(asprintf(&s, "%d:%d: %s", err.line, err.column,
	    err.msg) != -1);
	return s;
}
