/* Helpers shared by the rule tests: a database with the real schema, and
 * a compiled rule run against it. */
#ifndef RULESDB_H
#define RULESDB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "rules.h"

#define NOW	INT64_C(1750000000)	/* 2025-06-15 15:06:40 UTC */
#define TODAY	"2025-06-15"
#define DAY	INT64_C(86400)

/* A new in-memory database migrated to the current schema. */
sqlite3		*rulesdb_open(void);
/* sqlite3_exec, failing the test with SQLite's message on error. */
void		 rulesdb_exec(sqlite3 *, const char *sql);

/*
 * Compiles text (failing the test with its error) and runs it with the
 * given flags at NOW/TODAY; the matching ids, ascending, as "1,3" ("" for
 * none).  malloc'd.
 */
char		*rulesdb_match(sqlite3 *, const char *text, int flags,
		    const int64_t *ids, size_t nids);
/* The same for a compiled rule. */
char		*rulesdb_run(sqlite3 *, const struct rule_expr *, int flags,
		    const int64_t *ids, size_t nids);

/* "L:C: message" of a rule that must not compile; malloc'd. */
char		*rulesdb_error(const char *text);

#endif
