/*
 * The tagging rules' SQL (store_rules.h).  A rule's condition is its
 * compiled query (rules.h) narrowed to a scope: an id range for the full
 * sweep, a bound list of ids for the customers the change feed names.
 * The tags are read per tag through the primary key (customer_id,
 * tag_id), so a step costs an index range of the scope, not a scan.
 */
#include "store_rules.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_rules.h"
#include "migrate.h"
#include "rules.h"
#include "store.h"
#include "store_sqlite.h"

/* A rule's query for one kind of scope, prepared once per config. */
enum scope_kind { SCOPE_RANGE, SCOPE_IDS };

struct rule_stmt {
	const struct rule_expr	*e;
	enum scope_kind		 kind;
	sqlite3_stmt		*st;
};

struct store_rules {
	struct store		*store;
	struct rule_stmt	*v;
	size_t			 n, cap;
};

/* One customer_tags row of the scope, for one tag: whose it is. */
enum tag_owner {
	OWNER_OTHER,		/* a person ("manual"): never touched */
	OWNER_SELF,		/* "rule:<this rule>" */
	OWNER_RULE,		/* another rule */
};

struct tag_row {
	int64_t		 customer_id;
	enum tag_owner	 owner;
};

struct store_rules *
store_rules_new(struct store *store)
{
	struct store_rules *sr;

	if ((sr = calloc(1, sizeof(*sr))) == NULL)
		return NULL;
	sr->store = store;
	return sr;
}

void
store_rules_forget(struct store_rules *sr)
{
	size_t i;

	if (sr == NULL)
		return;
	for (i = 0; i < sr->n; i++)
		sqlite3_finalize(sr->v[i].st);
	sr->n = 0;
}

void
store_rules_free(struct store_rules *sr)
{
	if (sr == NULL)
		return;
	store_rules_forget(sr);
	free(sr->v);
	free(sr);
}

void
tag_plan_clear(struct tag_plan *p)
{
	p->n = 0;
	p->matched = 0;
}

void
tag_plan_free(struct tag_plan *p)
{
	tag_plan_clear(p);
	free(p->v);
	p->v = NULL;
	p->cap = 0;
}

static int
plan_push(struct tag_plan *p, int64_t customer_id, const char *tag, int add,
    int any_rule)
{
	struct tag_change *v;

	if ((v = store_grow(p->v, p->n, &p->cap, sizeof(*v))) == NULL)
		return -1;
	p->v = v;
	v = &p->v[p->n];
	v->customer_id = customer_id;
	v->tag = tag;
	v->add = add;
	v->any_rule = any_rule;
	p->n++;
	return 0;
}

/* -- a rule's query ----------------------------------------------------- */

static sqlite3_stmt *
rule_stmt(struct store_rules *sr, const struct rule_expr *e,
    enum scope_kind kind)
{
	sqlite3 *db = store_sqlite_handle(sr->store);
	struct rule_stmt *v;
	char *sql;
	size_t i;
	int rc, n = rule_param_count(e);

	for (i = 0; i < sr->n; i++)
		if (sr->v[i].e == e && sr->v[i].kind == kind)
			return sr->v[i].st;
	if (kind == SCOPE_RANGE)
		rc = asprintf(&sql, "%s AND facts.id >= ?%d AND facts.id < ?%d"
		    " ORDER BY facts.id", rule_sql(e, 0), n + 1, n + 2);
	else
		rc = asprintf(&sql, "%s ORDER BY facts.id",
		    rule_sql(e, RULE_SQL_IDS));
	if (rc == -1 || (v = store_grow(sr->v, sr->n, &sr->cap,
	    sizeof(*v))) == NULL) {
		if (rc != -1)
			free(sql);
		store_fail(sr->store, SQLITE_NOMEM);
		return NULL;
	}
	sr->v = v;
	v = &sr->v[sr->n];
	rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &v->st,
	    NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		store_fail(sr->store, rc);
		return NULL;
	}
	v->e = e;
	v->kind = kind;
	sr->n++;
	return v->st;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts ids and drops repeats; returns the new count. */
static size_t
sort_unique(int64_t *ids, size_t n)
{
	size_t i, j = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (i = 1; i < n; i++)
		if (ids[i] != ids[j])
			ids[++j] = ids[i];
	return j + 1;
}

static int
match_expr(struct store_rules *sr, const struct rule_expr *e,
    const struct rules_scope *sc, const struct rule_env *env,
    int64_t **out, size_t *nout)
{
	struct rule_env scoped = *env;
	sqlite3_stmt *st;
	int64_t *ids = NULL, *p;
	size_t n = 0, cap = 0;
	int rc, np = rule_param_count(e);

	*out = NULL;
	*nout = 0;
	if (sc->ids != NULL && sc->nids == 0)
		return STORE_OK;
	st = rule_stmt(sr, e, sc->ids != NULL ? SCOPE_IDS : SCOPE_RANGE);
	if (st == NULL)
		return STORE_ERR;
	scoped.ids = sc->ids;
	scoped.nids = sc->nids;
	if ((rc = rule_bind(st, e, &scoped)) == SQLITE_OK && sc->ids == NULL) {
		sqlite3_bind_int64(st, np + 1, sc->lo);
		sqlite3_bind_int64(st, np + 2, sc->hi);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(ids, n, &cap, sizeof(*ids))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		ids = p;
		ids[n++] = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return store_fail(sr->store, rc);
	}
	*out = ids;
	*nout = n;
	return STORE_OK;
}

int
store_rules_match(struct store_rules *sr, const struct rule_expr *e,
    const struct rules_scope *sc, const struct rule_env *env, int64_t **ids,
    size_t *n)
{
	return match_expr(sr, e, sc, env, ids, n);
}

/* -- the tags of a scope -------------------------------------------------- */

/*
 * The rows of customer_tags a scope holds for the tags any rule names,
 * read once per step from the primary key alone (customer_id, tag_id)
 * and shared by the rules planned over it.  Whose a row is (the index of
 * the rule whose "rule:NAME" it carries, or one of these) is read only
 * when a plan needs it: for a tag on a customer its rule no longer
 * matches, rare on a steady day.
 */
#define SRC_PERSON	(-1)	/* "manual" or anything not a rule's */
#define SRC_OLD_RULE	(-2)	/* a rule not (or no longer) configured */
#define SRC_UNKNOWN	(-3)	/* not read yet: see source_at() */

struct scope_row {
	int64_t		 customer_id;
	int64_t		 tag_id;
	int		 src;
};

struct tag_id {
	const char	*name;		/* the config's string */
	int64_t		 id;		/* 0: no such tag yet */
};

struct scope_tags {
	struct scope_row *v;
	size_t		 n, cap;
	struct tag_id	*ids;
	size_t		 nids, capids;
	const char	**names;	/* the rules' names, by index */
	size_t		 nrules;
};

struct scope_tags *
scope_tags_new(void)
{
	return calloc(1, sizeof(struct scope_tags));
}

void
scope_tags_free(struct scope_tags *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t->ids);
	free(t->names);
	free(t);
}

static const char sql_tag_id[] =
"SELECT id FROM tags WHERE name = ?1";

/* The ids of every tag the rules name, looked up again each step: crmd
 * creates tags as it adds them. */
static int
resolve_tags(struct store *s, const struct conf_rules *rules,
    struct scope_tags *t)
{
	sqlite3_stmt *st;
	size_t i, j, k;
	int rc, found;

	t->nids = 0;
	for (i = 0; i < rules->ntag_rules; i++) {
		const struct conf_tag_rule *r = &rules->tag_rules[i];

		for (j = 0; j < r->nadd + r->nremove; j++) {
			const char *name = j < r->nadd ? r->add[j] :
			    r->remove[j - r->nadd];
			struct tag_id *p;

			for (k = 0; k < t->nids; k++)
				if (strcmp(t->ids[k].name, name) == 0)
					break;
			if (k < t->nids)
				continue;
			if ((p = store_grow(t->ids, t->nids, &t->capids,
			    sizeof(*p))) == NULL)
				return store_fail(s, SQLITE_NOMEM);
			t->ids = p;
			if ((st = store_prepare(s, sql_tag_id)) == NULL)
				return STORE_ERR;
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
			if ((rc = store_step_row(s, st, &found)) != STORE_OK)
				return rc;
			t->ids[t->nids].name = name;
			t->ids[t->nids++].id = found ?
			    sqlite3_column_int64(st, 0) : 0;
			store_done(st);
		}
	}
	return STORE_OK;
}

static int64_t
tag_id_of(const struct scope_tags *t, const char *name)
{
	for (size_t k = 0; k < t->nids; k++)
		if (strcmp(t->ids[k].name, name) == 0)
			return t->ids[k].id;
	return 0;
}

/* "[1,2,3]" for json_each(); NULL on ENOMEM. */
static char *
ids_json(const int64_t *ids, size_t n)
{
	char *s, *p;
	size_t i;

	if ((s = malloc(n * 22 + 3)) == NULL)
		return NULL;
	p = s;
	*p++ = '[';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%lld", i > 0 ? "," : "", (long long)ids[i]);
	*p++ = ']';
	*p = '\0';
	return s;
}

static char *
tag_ids_json(const struct scope_tags *t)
{
	int64_t *ids;
	size_t i, n = 0;
	char *json;

	if ((ids = calloc(t->nids + 1, sizeof(*ids))) == NULL)
		return NULL;
	for (i = 0; i < t->nids; i++)
		if (t->ids[i].id != 0)
			ids[n++] = t->ids[i].id;
	json = ids_json(ids, n);
	free(ids);
	return json;
}

static const char sql_source[] =
"SELECT source FROM customer_tags WHERE customer_id = ?1 AND tag_id = ?2";

/* Whose a source is: a rule's index, SRC_OLD_RULE or SRC_PERSON. */
static int
source_of(const struct scope_tags *t, const char *src)
{
	if (src == NULL || strncmp(src, "rule:", 5) != 0 || src[5] == '\0')
		return SRC_PERSON;
	for (size_t i = 0; i < t->nrules; i++)
		if (strcmp(t->names[i], src + 5) == 0)
			return (int)i;
	return SRC_OLD_RULE;
}

/* Whose row i is, read now if not yet.  STORE_OK, or a failure. */
static int
source_at(struct store *s, struct scope_tags *t, size_t i, int *src)
{
	struct scope_row *row = &t->v[i];
	sqlite3_stmt *st;
	int rc, found;

	if (row->src == SRC_UNKNOWN) {
		if ((st = store_prepare(s, sql_source)) == NULL)
			return STORE_ERR;
		sqlite3_bind_int64(st, 1, row->customer_id);
		sqlite3_bind_int64(st, 2, row->tag_id);
		if ((rc = store_step_row(s, st, &found)) != STORE_OK)
			return rc;
		/* Gone since the scope was read: nobody's to act on. */
		row->src = found ? source_of(t, (const char *)
		    sqlite3_column_text(st, 0)) : SRC_PERSON;
		store_done(st);
	}
	*src = row->src;
	return STORE_OK;
}

/* '+tag_id': walk the primary key's range of the scope rather than
 * every row of a tag through customer_tags_tag. */
static const char sql_scope_range[] =
"SELECT customer_id, tag_id FROM customer_tags"
" WHERE customer_id >= ?1 AND customer_id < ?2"
" AND +tag_id IN (SELECT value FROM json_each(?3)) ORDER BY customer_id";
static const char sql_scope_ids[] =
"SELECT customer_id, tag_id FROM customer_tags"
" WHERE customer_id IN (SELECT value FROM json_each(?1))"
" AND tag_id IN (SELECT value FROM json_each(?3)) ORDER BY customer_id";

static int
read_rows(struct store *s, const struct rules_scope *sc, struct scope_tags *t)
{
	struct scope_row *p;
	sqlite3_stmt *st;
	char *json, *tags;
	int rc;

	if ((st = store_prepare(s, sc->ids != NULL ? sql_scope_ids :
	    sql_scope_range)) == NULL)
		return STORE_ERR;
	if ((tags = tag_ids_json(t)) == NULL)
		return store_fail(s, SQLITE_NOMEM);
	sqlite3_bind_text(st, 3, tags, -1, free);
	if (sc->ids != NULL) {
		if ((json = ids_json(sc->ids, sc->nids)) == NULL) {
			store_done(st);
			return store_fail(s, SQLITE_NOMEM);
		}
		sqlite3_bind_text(st, 1, json, -1, free);
	} else {
		sqlite3_bind_int64(st, 1, sc->lo);
		sqlite3_bind_int64(st, 2, sc->hi);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(t->v, t->n, &t->cap, sizeof(*p))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		t->v = p;
		p = &t->v[t->n++];
		p->customer_id = sqlite3_column_int64(st, 0);
		p->tag_id = sqlite3_column_int64(st, 1);
		p->src = SRC_UNKNOWN;
	}
	store_done(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(s, rc);
}

int
store_rules_load(struct store_rules *sr, const struct conf_rules *rules,
    const struct rules_scope *sc, struct scope_tags *t)
{
	const char **names;
	size_t i;
	int rc;

	t->n = 0;
	if ((names = reallocarray(t->names, rules->ntag_rules + 1,
	    sizeof(*names))) == NULL)
		return store_fail(sr->store, SQLITE_NOMEM);
	t->names = names;
	for (i = 0; i < rules->ntag_rules; i++)
		names[i] = rules->tag_rules[i].name;
	if ((rc = resolve_tags(sr->store, rules, t)) != STORE_OK)
		return rc;
	if (sc->ids != NULL && sc->nids == 0)
		return STORE_OK;
	t->nrules = rules->ntag_rules;
	return read_rows(sr->store, sc, t);
}

/* -- planning ------------------------------------------------------------ */

static int
is_member(const int64_t *ids, size_t n, int64_t id)
{
	return n > 0 && bsearch(&id, ids, n, sizeof(*ids), cmp_id) != NULL;
}

/*
 * Drops from cand[] the customers that a rule removing tag matches:
 * removing wins over adding, so the two rules settle.
 */
static int
drop_removed(struct store_rules *sr, const struct conf_rules *rules,
    const char *tag, const struct rule_env *env, int64_t *cand, size_t *n)
{
	struct rules_scope sc = { 0 };
	int64_t *hit;
	size_t i, j, k, nhit;
	int rc;

	for (i = 0; i < rules->ntag_rules && *n > 0; i++) {
		const struct conf_tag_rule *q = &rules->tag_rules[i];

		for (j = 0; j < q->nremove; j++)
			if (strcmp(q->remove[j], tag) == 0)
				break;
		if (j == q->nremove)
			continue;
		sc.ids = cand;
		sc.nids = *n;
		if ((rc = match_expr(sr, q->when, &sc, env, &hit, &nhit)) !=
		    STORE_OK)
			return rc;
		for (j = k = 0; j < *n; j++)
			if (!is_member(hit, nhit, cand[j]))
				cand[k++] = cand[j];
		*n = k;
		free(hit);
	}
	return STORE_OK;
}

/* Whether the rows from j on (sorted by customer) give customer the tag. */
static int
has_tag(const struct scope_tags *t, size_t j, int64_t customer, int64_t tag)
{
	for (; j < t->n && t->v[j].customer_id == customer; j++)
		if (t->v[j].tag_id == tag)
			return 1;
	return 0;
}

/* The customers of m[] without the tag (both sorted by customer). */
static int64_t *
lacking(const int64_t *m, size_t nm, const struct scope_tags *t,
    int64_t tag, size_t *n)
{
	int64_t *cand;
	size_t i, j = 0;

	*n = 0;
	if ((cand = calloc(nm + 1, sizeof(*cand))) == NULL)
		return NULL;
	for (i = 0; i < nm; i++) {
		while (j < t->n && t->v[j].customer_id < m[i])
			j++;
		if (tag == 0 || !has_tag(t, j, m[i], tag))
			cand[(*n)++] = m[i];
	}
	return cand;
}

static int
plan_add_tag(struct store_rules *sr, const struct conf_rules *rules,
    size_t ri, const char *tag, const struct rule_env *env,
    struct scope_tags *t, const int64_t *m, size_t nm, struct tag_plan *plan)
{
	int64_t id = tag_id_of(t, tag), *cand;
	size_t ncand = 0, i;
	int rc, src;

	if ((cand = lacking(m, nm, t, id, &ncand)) == NULL)
		return store_fail(sr->store, SQLITE_NOMEM);
	rc = drop_removed(sr, rules, tag, env, cand, &ncand);
	for (i = 0; rc == STORE_OK && i < ncand; i++)
		if (plan_push(plan, cand[i], tag, 1, 0) == -1)
			rc = store_fail(sr->store, SQLITE_NOMEM);
	free(cand);
	/* Its own tags, on customers that no longer match. */
	for (i = 0; rc == STORE_OK && id != 0 && i < t->n; i++) {
		if (t->v[i].tag_id != id || is_member(m, nm,
		    t->v[i].customer_id))
			continue;
		if ((rc = source_at(sr->store, t, i, &src)) == STORE_OK &&
		    src == (int)ri &&
		    plan_push(plan, t->v[i].customer_id, tag, 0, 0) == -1)
			rc = store_fail(sr->store, SQLITE_NOMEM);
	}
	return rc;
}

/* A tag of `remove` that any rule applied, on matching customers. */
static int
plan_remove_tag(struct store_rules *sr, const char *tag,
    struct scope_tags *t, const int64_t *m, size_t nm, struct tag_plan *plan)
{
	int64_t id = tag_id_of(t, tag);
	size_t i;
	int rc = STORE_OK, src;

	for (i = 0; rc == STORE_OK && id != 0 && i < t->n; i++) {
		if (t->v[i].tag_id != id || !is_member(m, nm,
		    t->v[i].customer_id))
			continue;
		if ((rc = source_at(sr->store, t, i, &src)) == STORE_OK &&
		    src != SRC_PERSON &&
		    plan_push(plan, t->v[i].customer_id, tag, 0, 1) == -1)
			rc = store_fail(sr->store, SQLITE_NOMEM);
	}
	return rc;
}

int
store_rules_plan(struct store_rules *sr, const struct conf_rules *rules,
    size_t ri, const struct rules_scope *sc, const struct rule_env *env,
    struct scope_tags *t, struct tag_plan *plan)
{
	const struct conf_tag_rule *r = &rules->tag_rules[ri];
	int64_t *m;
	size_t nm, i;
	int rc;

	if ((rc = match_expr(sr, r->when, sc, env, &m, &nm)) != STORE_OK)
		return rc;
	plan->matched += nm;
	for (i = 0; rc == STORE_OK && i < r->nadd; i++)
		rc = plan_add_tag(sr, rules, ri, r->add[i], env, t, m, nm,
		    plan);
	for (i = 0; rc == STORE_OK && i < r->nremove; i++)
		rc = plan_remove_tag(sr, r->remove[i], t, m, nm, plan);
	free(m);
	return rc;
}

/* -- applying ------------------------------------------------------------- */

static const char sql_tag_create[] =
"INSERT INTO tags (name) VALUES (?1) ON CONFLICT (name) DO NOTHING";
static const char sql_tag_add[] =
"INSERT INTO customer_tags (customer_id, tag_id, source, added_at)"
" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (customer_id, tag_id) DO NOTHING";
/* The source must still be a rule's (this rule's, ?3, unless ?4): never
 * a person's tag, whatever happened since the plan. */
static const char sql_tag_remove[] =
"DELETE FROM customer_tags WHERE customer_id = ?1"
" AND tag_id = (SELECT id FROM tags WHERE name = ?2)"
" AND (source = ?3 OR (?4 AND source GLOB 'rule:?*'))";

static int
tag_id(struct store *s, const char *tag, int64_t *id)
{
	sqlite3_stmt *st;
	int rc, found;

	if ((st = store_prepare(s, sql_tag_create)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	if ((rc = store_exec(s, st)) != STORE_OK)
		return rc;
	if ((st = store_prepare(s, sql_tag_id)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	if ((rc = store_step_row(s, st, &found)) != STORE_OK)
		return rc;
	*id = found ? sqlite3_column_int64(st, 0) : 0;
	store_done(st);
	return found ? STORE_OK : store_fail(s, SQLITE_ERROR);
}

static int
apply_one(struct store *s, const char *actor, const struct tag_change *c,
    int64_t *last_id, const char **last_tag, int64_t now, int *changed)
{
	sqlite3_stmt *st;
	int rc;

	*changed = 0;
	if (c->add) {
		if (*last_tag != c->tag) {
			if ((rc = tag_id(s, c->tag, last_id)) != STORE_OK)
				return rc;
			*last_tag = c->tag;
		}
		if ((st = store_prepare(s, sql_tag_add)) == NULL)
			return STORE_ERR;
		sqlite3_bind_int64(st, 1, c->customer_id);
		sqlite3_bind_int64(st, 2, *last_id);
		sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
	} else {
		if ((st = store_prepare(s, sql_tag_remove)) == NULL)
			return STORE_ERR;
		sqlite3_bind_int64(st, 1, c->customer_id);
		sqlite3_bind_text(st, 2, c->tag, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, c->any_rule);
	}
	if ((rc = store_exec_changes(s, st, changed)) != STORE_OK ||
	    *changed == 0)
		return rc;
	return store_audit(s, actor, c->add ? "tag.added" : "tag.removed",
	    c->customer_id, c->tag);
}

int
store_rules_apply(struct store_rules *sr, const struct conf_tag_rule *r,
    const struct tag_plan *plan, const unsigned char *skip, int64_t now,
    size_t *added, size_t *removed)
{
	const char *last_tag = NULL;
	int64_t last_id = 0;
	char actor[128];
	size_t i;
	int rc = STORE_OK, changed;

	*added = *removed = 0;
	snprintf(actor, sizeof(actor), "rule:%s", r->name);
	for (i = 0; rc == STORE_OK && i < plan->n; i++) {
		if (skip != NULL && skip[i])
			continue;
		rc = apply_one(sr->store, actor, &plan->v[i], &last_id,
		    &last_tag, now, &changed);
		if (rc == STORE_OK && changed)
			(*(plan->v[i].add ? added : removed))++;
	}
	return rc;
}

/* -- the feed ------------------------------------------------------------- */

static int
one_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc, found;

	*v = 0;
	if ((st = store_prepare(s, sql)) == NULL)
		return STORE_ERR;
	if ((rc = store_step_row(s, st, &found)) != STORE_OK)
		return rc;
	if (found)
		*v = sqlite3_column_int64(st, 0);
	store_done(st);
	return STORE_OK;
}

static const char sql_max_customer[] =
"SELECT coalesce(max(id), 0) FROM customers";
static const char sql_feed_head[] =
"SELECT coalesce(max(id), 0) FROM rule_changes";

int
store_rules_max_customer(struct store *s, int64_t *max)
{
	return one_int(s, sql_max_customer, max);
}

int
store_rules_feed_head(struct store *s, int64_t *head)
{
	return one_int(s, sql_feed_head, head);
}

static const char sql_cursor[] =
"SELECT value FROM crmd_state WHERE key = ?1";
static const char sql_set_cursor[] =
"INSERT INTO crmd_state (key, value) VALUES (?1, ?2)"
" ON CONFLICT (key) DO UPDATE SET value = excluded.value";

int
store_rules_cursor(struct store *s, const char *key, int64_t *value,
    int *found)
{
	sqlite3_stmt *st;
	int rc;

	*value = 0;
	if ((st = store_prepare(s, sql_cursor)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = store_step_row(s, st, found)) != STORE_OK)
		return rc;
	if (*found)
		*value = sqlite3_column_int64(st, 0);
	store_done(st);
	return STORE_OK;
}

int
store_rules_set_cursor(struct store *s, const char *key, int64_t value)
{
	sqlite3_stmt *st;

	if ((st = store_prepare(s, sql_set_cursor)) == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return store_exec(s, st);
}

static const char sql_feed[] =
"SELECT id, customer_id FROM rule_changes WHERE id > ?1 ORDER BY id"
" LIMIT ?2";

int
store_rules_feed(struct store *s, int64_t cursor, int limit, int64_t **out,
    size_t *nout, int64_t *last)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	*last = cursor;
	if ((st = store_prepare(s, sql_feed)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = store_grow(ids, n, &cap, sizeof(*ids))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		ids = p;
		*last = sqlite3_column_int64(st, 0);
		ids[n++] = sqlite3_column_int64(st, 1);
	}
	store_done(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return store_fail(s, rc);
	}
	*out = ids;
	*nout = sort_unique(ids, n);
	return STORE_OK;
}

int
store_rules_read_begin(struct store *s)
{
	sqlite3 *db = store_sqlite_handle(s);
	int rc;

	if ((rc = sqlite3_exec(db, "BEGIN DEFERRED", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		return store_fail(s, rc);
	return STORE_OK;
}

void
store_rules_read_end(struct store *s)
{
	sqlite3 *db = store_sqlite_handle(s);

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}
