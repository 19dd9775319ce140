/*
 * The rule commands' reads (store_ctl_rules.h).  The sample query is the
 * rule's own, with its facts as columns (RULE_SQL_FACTS), so what crmctl
 * shows is what the rule saw.  It belongs to a config a reload may free,
 * so it is prepared for the call and finalized after it.
 */
#include "store_ctl_rules.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "rules.h"
#include "store.h"
#include "store_sqlite.h"

static const char sql_customer_name[] =
"SELECT name FROM customers WHERE id = ?1";
static const char sql_tags[] =
"SELECT t.name, ct.source, ct.added_at FROM customer_tags AS ct"
" JOIN tags AS t ON t.id = ct.tag_id WHERE ct.customer_id = ?1"
" ORDER BY t.name";

void
store_ctl_tags_free(struct ctl_tag *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].tag);
		free(rows[i].source);
	}
	free(rows);
}

static int
customer_name(struct store *s, int64_t id, char **name, int *found)
{
	sqlite3_stmt *st;
	int rc;

	*name = NULL;
	if ((st = store_prepare(s, sql_customer_name)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_row(s, st, found)) != STORE_OK)
		return rc;
	if (*found && (*name = store_column_dup(st, 0)) == NULL)
		rc = store_fail(s, SQLITE_NOMEM);
	store_done(st);
	return rc;
}

int
store_ctl_tags(struct store *s, int64_t customer_id, char **name, int *found,
    struct ctl_tag **out, size_t *nout)
{
	struct ctl_tag *rows = NULL, *p;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((rc = customer_name(s, customer_id, name, found)) != STORE_OK ||
	    !*found)
		return rc;
	if ((st = store_prepare(s, sql_tags)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].tag = store_column_dup(st, 0);
		rows[n].source = store_column_dup(st, 1);
		rows[n].added_at = sqlite3_column_int64(st, 2);
		n++;
		if (rows[n - 1].tag == NULL || rows[n - 1].source == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_ctl_tags_free(rows, n);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

static const char sql_audit_all[] =
"SELECT id, at, customer_id, actor, action, detail FROM audit_log"
" ORDER BY id DESC LIMIT ?2";
static const char sql_audit_customer[] =
"SELECT id, at, customer_id, actor, action, detail FROM audit_log"
" WHERE customer_id = ?1 ORDER BY id DESC LIMIT ?2";

void
store_ctl_audit_free(struct ctl_audit *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].actor);
		free(rows[i].action);
		free(rows[i].detail);
	}
	free(rows);
}

int
store_ctl_audit(struct store *s, int64_t customer_id, int limit,
    struct ctl_audit **out, size_t *nout)
{
	struct ctl_audit *rows = NULL, *p, *a;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((st = store_prepare(s, customer_id != 0 ? sql_audit_customer :
	    sql_audit_all)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, customer_id);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		a = &rows[n++];
		a->id = sqlite3_column_int64(st, 0);
		a->at = sqlite3_column_int64(st, 1);
		a->customer_id = store_column_id(st, 2);
		a->actor = store_column_dup(st, 3);
		a->action = store_column_dup(st, 4);
		a->detail = store_column_dup(st, 5);
		if (a->actor == NULL || a->action == NULL ||
		    a->detail == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_ctl_audit_free(rows, n);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}

/* -- rule test's sample ---------------------------------------------------- */

void
store_ctl_sample_free(struct ctl_sample *rows, size_t n, size_t nfacts)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		for (size_t j = 0; rows[i].facts != NULL && j < nfacts; j++)
			free(rows[i].facts[j].s);
		free(rows[i].facts);
	}
	free(rows);
}

static int
read_value(sqlite3_stmt *st, int col, struct ctl_value *v)
{
	v->type = sqlite3_column_type(st, col);
	v->s = NULL;
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(st, col);
		return 0;
	case SQLITE_FLOAT:
		v->r = sqlite3_column_double(st, col);
		return 0;
	case SQLITE_NULL:
		return 0;
	default:
		v->type = SQLITE_TEXT;
		return (v->s = store_column_dup(st, col)) == NULL ? -1 : 0;
	}
}

static int
read_sample(sqlite3_stmt *st, size_t nfacts, struct ctl_sample *row)
{
	size_t j;

	row->id = sqlite3_column_int64(st, 0);
	if ((row->facts = calloc(nfacts + 1, sizeof(*row->facts))) == NULL ||
	    (row->name = store_column_dup(st, (int)nfacts + 1)) == NULL)
		return -1;
	for (j = 0; j < nfacts; j++)
		if (read_value(st, (int)j + 1, &row->facts[j]) == -1)
			return -1;
	return 0;
}

int
store_ctl_rule_sample(struct store *s, const struct rule_expr *e,
    const struct rule_env *env, int limit, struct ctl_sample **out,
    size_t *nout)
{
	sqlite3 *db = store_sqlite_handle(s);
	struct ctl_sample *rows = NULL, *p;
	size_t n = 0, cap = 0, nfacts = rule_fact_count(e);
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc, np = rule_param_count(e);

	*out = NULL;
	*nout = 0;
	if (asprintf(&sql, "SELECT s.*, c.name FROM (%s ORDER BY facts.id"
	    " LIMIT ?%d) AS s JOIN customers AS c ON c.id = s.id ORDER BY"
	    " s.id", rule_sql(e, RULE_SQL_FACTS), np + 1) == -1)
		return store_fail(s, SQLITE_NOMEM);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	free(sql);
	if (rc == SQLITE_OK && (rc = rule_bind(st, e, env)) == SQLITE_OK)
		rc = sqlite3_bind_int(st, np + 1, limit);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		rows = p;
		memset(&rows[n], 0, sizeof(rows[n]));
		if (read_sample(st, nfacts, &rows[n++]) == -1) {
			rc = SQLITE_NOMEM;
			break;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_ctl_sample_free(rows, n, nfacts);
		return store_fail(s, rc);
	}
	*out = rows;
	*nout = n;
	return STORE_OK;
}
