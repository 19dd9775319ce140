/*
 * The admin commands for automation rules: rule.list, rule.test (a dry
 * run), rule.run, tags and log (the audit log).  rule.test evaluates the
 * rule exactly as a sweep would, through the same planning code, inside
 * one read transaction, and writes nothing.  SQL lives in store_rules.c
 * and store_ctl_rules.c.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "control_cmds.h"
#include "crmd.h"
#include "log.h"
#include "protocol.h"
#include "rules.h"
#include "rules_engine.h"
#include "rules_facts.h"
#include "store.h"
#include "store_ctl_rules.h"
#include "store_rules.h"
#include "tz.h"

#define SAMPLE_DEFAULT	10
#define SAMPLE_MAX	1000
#define LOG_DEFAULT	50
#define LOG_MAX		10000
#define DRY_SPAN	65536		/* customer ids per planning step */

/* ---- arguments ---- */

/* Every key of args is one of known[]; NULL-terminated. */
static int
args_known(const char *cmd, json_t *args, const char *const *known,
    struct cmd_reply *r)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(args, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], key) == 0)
				break;
		if (known[i] == NULL) {
			reply_error(r, CRMD_BAD_REQUEST, "%s: unknown argument "
			    "'%.64s'", cmd, key);
			return -1;
		}
	}
	return 0;
}

/* An integer argument in [1, max], def when absent; -1 after replying. */
static int64_t
arg_count(const char *cmd, json_t *args, const char *name, int64_t def,
    int64_t max, struct cmd_reply *r)
{
	json_t *v = json_object_get(args, name);
	json_int_t i;

	if (v == NULL || json_is_null(v))
		return def;
	i = json_is_integer(v) ? json_integer_value(v) : 0;
	if (i >= 1 && i <= max)
		return (int64_t)i;
	reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must be an integer from 1 "
	    "to %" PRId64, cmd, name, max);
	return -1;
}

/* A string argument; *s NULL when absent.  -1 after replying. */
static int
arg_string(const char *cmd, json_t *args, const char *name, int required,
    const char **s, struct cmd_reply *r)
{
	json_t *v = json_object_get(args, name);

	*s = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		reply_error(r, CRMD_BAD_REQUEST, "%s: missing argument '%s'",
		    cmd, name);
		return -1;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v) || json_string_length(v) > 200) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must be a string of "
		    "at most 200 bytes", cmd, name);
		return -1;
	}
	*s = json_string_value(v);
	return 0;
}

static void
store_error(struct crmd *crmd, int rc, struct cmd_reply *r)
{
	if (rc == STORE_BUSY) {
		reply_error(r, CRMD_UNAVAILABLE, "database busy, try again");
		return;
	}
	log_warnx("control: %s", store_errmsg(crmd->store));
	reply_error(r, CRMD_INTERNAL, "database error: %s",
	    store_errmsg(crmd->store));
}

static json_t *
json_local(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	return json_string(tz_format_local((time_t)t, buf, sizeof(buf)));
}

static json_t *
json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void
make_env(struct rule_env *env, char today[16])
{
	struct tz_date d;
	int minute;

	memset(env, 0, sizeof(*env));
	env->now = (int64_t)time(NULL);
	tz_utc_to_local((time_t)env->now, &d, &minute);
	snprintf(today, 16, "%04d-%02d-%02d", d.year, d.mon, d.day);
	env->today = today;
}

/* ---- rule.list ---- */

static const char *const event_names[] = {
	[EV_TAG_ADDED] = "tag_added", [EV_TAG_REMOVED] = "tag_removed",
	[EV_STATUS_CHANGED] = "status_changed",
	[EV_CUSTOMER_CREATED] = "customer_created", [EV_FOLLOWUP] = "followup",
};

static json_t *
json_matches(int64_t n)
{
	return n < 0 ? json_null() : json_integer((json_int_t)n);
}

static json_t *
tag_rule_json(struct crmd *crmd, const struct conf_tag_rule *t)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i}",
	    "name", t->name, "kind", "tagging", "when", t->when_text,
	    "add", json_strings(t->add, t->nadd),
	    "remove", json_strings(t->remove, t->nremove),
	    "matches", json_matches(rules_matches(crmd->rules, t->name)),
	    "line", t->line);
}

static json_t *
event_rule_json(const struct conf_event_rule *e)
{
	char on[256];

	snprintf(on, sizeof(on), "%s%s%s", event_names[e->on],
	    e->on_arg != NULL ? ":" : "", e->on_arg != NULL ? e->on_arg : "");
	return json_pack("{s:s, s:s, s:s?, s:s, s:o, s:o, s:n, s:i}",
	    "name", e->name, "kind", "event", "when", e->when_text, "on", on,
	    "remind", e->has_remind ? json_pack("{s:s, s:I}", "kind",
	    kind_name(e->remind_kind), "within", (json_int_t)e->remind_within) :
	    json_null(),
	    "notify", json_boolean(e->has_notify), "matches", "line", e->line);
}

static json_t *
sweep_json(struct crmd *crmd)
{
	struct rules_sweep_info si;

	rules_sweep_info(crmd->rules, &si);
	return json_pack("{s:b, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I}",
	    "running", si.running,
	    "started", (json_int_t)si.started,
	    "completed", (json_int_t)si.completed,
	    "started_at", si.started_at ? json_integer(si.started_at) :
	    json_null(),
	    "finished_at", si.finished_at ? json_integer(si.finished_at) :
	    json_null(),
	    "finished", json_local(si.finished_at),
	    "duration_ms", (json_int_t)si.duration_ms,
	    "interval_s", (json_int_t)crmd->conf->rules.interval,
	    "tags_added", (json_int_t)si.added,
	    "tags_removed", (json_int_t)si.removed,
	    "customers_rechecked", (json_int_t)si.customers_rechecked,
	    "held_back", (json_int_t)si.flipflops,
	    "cursor", (json_int_t)si.cursor,
	    "feed_change_us", (json_int_t)si.feed_change_us);
}

static void
cmd_rule_list(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char *const known[] = { NULL };
	const struct conf_rules *rules = &crmd->conf->rules;
	json_t *arr;
	size_t i;

	if (args_known("rule.list", args, known, r) == -1)
		return;
	if ((arr = json_array()) == NULL)
		return;
	for (i = 0; i < rules->ntag_rules; i++)
		json_array_append_new(arr, tag_rule_json(crmd,
		    &rules->tag_rules[i]));
	for (i = 0; i < rules->nevent_rules; i++)
		json_array_append_new(arr, event_rule_json(
		    &rules->event_rules[i]));
	r->data = json_pack("{s:o, s:o}", "rules", arr, "sweep",
	    sweep_json(crmd));
}

/* ---- rule.test ---- */

/* What a dry run would change: per tag and direction. */
struct tally {
	const char	*tag;
	int		 add;
	int64_t		 customers;
	json_t		*sample;	/* customer ids, up to the limit */
};

struct dry {
	struct tally	*t;
	size_t		 n;
	int64_t		 matched;
	int		 limit;
};

static void
tally_plan(struct dry *d, const struct tag_plan *plan)
{
	size_t i, j;

	for (i = 0; i < plan->n; i++) {
		const struct tag_change *c = &plan->v[i];

		for (j = 0; j < d->n; j++)
			if (d->t[j].tag == c->tag && d->t[j].add == c->add)
				break;
		if (j == d->n)
			continue;	/* sized for every tag of the rule */
		if (d->t[j].customers++ < d->limit)
			json_array_append_new(d->t[j].sample,
			    json_integer((json_int_t)c->customer_id));
	}
}

/* One entry per tag of add (adding, and its own removals) and remove. */
static int
tally_init(struct dry *d, const struct conf_tag_rule *t)
{
	size_t i, n = 0;

	if ((d->t = calloc(2 * t->nadd + t->nremove + 1, sizeof(*d->t))) ==
	    NULL)
		return -1;
	for (i = 0; i < t->nadd; i++) {
		d->t[n].tag = t->add[i];
		d->t[n++].add = 1;
		d->t[n].tag = t->add[i];
		d->t[n++].add = 0;
	}
	for (i = 0; i < t->nremove; i++)
		d->t[n++].tag = t->remove[i];
	d->n = n;
	for (i = 0; i < n; i++)
		if ((d->t[i].sample = json_array()) == NULL)
			return -1;
	return 0;
}

static json_t *
tally_json(struct dry *d)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < d->n; i++) {
		if (d->t[i].customers == 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:O}",
		    "tag", d->t[i].tag, "action", d->t[i].add ? "add" :
		    "remove", "customers", (json_int_t)d->t[i].customers,
		    "sample", d->t[i].sample));
	}
	return arr;
}

static void
tally_free(struct dry *d)
{
	for (size_t i = 0; i < d->n; i++)
		json_decref(d->t[i].sample);
	free(d->t);
}

/*
 * Counts the matches of e (and, for tagging rule ri, plans its changes)
 * over every customer, a range at a time, as a sweep would.
 */
static int
dry_count(struct crmd *crmd, struct store_rules *sr, const struct rule_expr *e,
    ssize_t ri, const struct rule_env *env, struct dry *d)
{
	struct tag_plan plan = { 0 };
	struct rules_scope sc = { 0 };
	struct scope_tags *t;
	int64_t max, *ids;
	size_t n;
	int rc;

	if ((t = scope_tags_new()) == NULL)
		return STORE_ERR;
	if ((rc = store_rules_max_customer(crmd->store, &max)) != STORE_OK) {
		scope_tags_free(t);
		return rc;
	}
	for (sc.lo = 0; rc == STORE_OK && sc.lo <= max; sc.lo = sc.hi) {
		sc.hi = sc.lo + DRY_SPAN;
		if (ri >= 0) {
			tag_plan_clear(&plan);
			if ((rc = store_rules_load(sr, &crmd->conf->rules, &sc,
			    t)) == STORE_OK)
				rc = store_rules_plan(sr, &crmd->conf->rules,
				    (size_t)ri, &sc, env, t, &plan);
			d->matched += (int64_t)plan.matched;
			tally_plan(d, &plan);
		} else if ((rc = store_rules_match(sr, e, &sc, env, &ids,
		    &n)) == STORE_OK) {
			d->matched += (int64_t)n;
			free(ids);
		}
	}
	tag_plan_free(&plan);
	scope_tags_free(t);
	return rc;
}

static json_t *
value_json(const char *fact, const struct ctl_value *v)
{
	const struct rule_fact *f = rule_fact_find(fact, strlen(fact));

	switch (v->type) {
	case SQLITE_INTEGER:
		/* Money reads in yuan, as the rule is written. */
		if (f != NULL && f->money)
			return json_real((double)v->i / 100.0);
		return json_integer((json_int_t)v->i);
	case SQLITE_FLOAT:
		return json_real(v->r);
	case SQLITE_TEXT:
		return json_string(v->s);
	default:
		return json_null();
	}
}

static json_t *
samples_json(const struct rule_expr *e, const struct ctl_sample *rows,
    size_t n)
{
	json_t *arr = json_array(), *facts;
	size_t i, j;

	for (i = 0; arr != NULL && i < n; i++) {
		if ((facts = json_object()) == NULL)
			break;
		for (j = 0; j < rule_fact_count(e); j++)
			json_object_set_new(facts, rule_fact_name(e, j),
			    value_json(rule_fact_name(e, j),
			    &rows[i].facts[j]));
		json_array_append_new(arr, json_pack("{s:I, s:s, s:o}", "id",
		    (json_int_t)rows[i].id, "customer", rows[i].name,
		    "facts", facts));
	}
	return arr;
}

/* The rule called name: its condition, and its index if it tags. */
static const struct rule_expr *
find_rule(const struct conf_rules *rules, const char *name, ssize_t *ri,
    const char **kind, const char **when)
{
	size_t i;

	for (i = 0; i < rules->ntag_rules; i++)
		if (strcmp(rules->tag_rules[i].name, name) == 0) {
			*ri = (ssize_t)i;
			*kind = "tagging";
			*when = rules->tag_rules[i].when_text;
			return rules->tag_rules[i].when;
		}
	*ri = -1;
	for (i = 0; i < rules->nevent_rules; i++)
		if (strcmp(rules->event_rules[i].name, name) == 0) {
			*kind = "event";
			*when = rules->event_rules[i].when_text;
			return rules->event_rules[i].when;
		}
	*kind = NULL;
	return NULL;
}

static json_t *
test_json(const char *name, const char *kind, const char *when,
    const struct rule_expr *e, struct dry *d, const struct ctl_sample *rows,
    size_t n)
{
	json_t *facts = json_array();

	for (size_t j = 0; facts != NULL && j < rule_fact_count(e); j++)
		json_array_append_new(facts, json_string(rule_fact_name(e, j)));
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:b}",
	    "name", name, "kind", kind, "when", when, "facts", facts,
	    "matched", (json_int_t)d->matched,
	    "sample", samples_json(e, rows, n),
	    "changes", tally_json(d), "dry_run", 1);
}

static void
cmd_rule_test(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "rule.test";
	static const char *const known[] = { "name", "limit", NULL };
	const struct conf_rules *rules = &crmd->conf->rules;
	const struct rule_expr *e;
	const char *name, *kind, *when;
	struct dry d = { 0 };
	struct store_rules *sr = NULL;
	struct ctl_sample *rows = NULL;
	struct rule_env env;
	char today[16];
	size_t n = 0;
	ssize_t ri;
	int64_t limit;
	int rc;

	if (args_known(cmd, args, known, r) == -1 ||
	    arg_string(cmd, args, "name", 1, &name, r) == -1 ||
	    (limit = arg_count(cmd, args, "limit", SAMPLE_DEFAULT, SAMPLE_MAX,
	    r)) == -1)
		return;
	if ((e = find_rule(rules, name, &ri, &kind, &when)) == NULL) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: %s", cmd, kind == NULL ?
		    "no rule of that name; crmctl rule list shows them" :
		    "that event rule has no condition (when) to test");
		return;
	}
	d.limit = (int)limit;
	if ((ri >= 0 && tally_init(&d, &rules->tag_rules[ri]) == -1) ||
	    (sr = store_rules_new(crmd->store)) == NULL) {
		tally_free(&d);
		reply_error(r, CRMD_INTERNAL, "out of memory");
		return;
	}
	make_env(&env, today);
	/* One snapshot: the count, the changes and the sample agree. */
	if ((rc = store_rules_read_begin(crmd->store)) == STORE_OK) {
		rc = dry_count(crmd, sr, e, ri, &env, &d);
		if (rc == STORE_OK)
			rc = store_ctl_rule_sample(crmd->store, e, &env,
			    (int)limit, &rows, &n);
		store_rules_read_end(crmd->store);
	}
	store_rules_free(sr);
	if (rc != STORE_OK)
		store_error(crmd, rc, r);
	else
		r->data = test_json(name, kind, when, e, &d, rows, n);
	store_ctl_sample_free(rows, n, rule_fact_count(e));
	tally_free(&d);
}

/* ---- rule.run ---- */

static void
cmd_rule_run(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char *const known[] = { "name", NULL };
	const char *name;
	char actor[64];
	int64_t sweep;

	if (args_known("rule.run", args, known, r) == -1 ||
	    arg_string("rule.run", args, "name", 0, &name, r) == -1)
		return;
	if ((sweep = rules_run(crmd->rules, name)) == -1) {
		reply_error(r, CRMD_BAD_REQUEST, "rule.run: no tagging rule "
		    "called '%s'; crmctl rule list shows them", name);
		return;
	}
	peer_actor(p, actor, sizeof(actor));
	log_info("rules: sweep %" PRId64 " of %s started by %s", sweep,
	    name != NULL ? name : "every rule", actor);
	r->data = json_pack("{s:I, s:s?, s:b}", "sweep", (json_int_t)sweep,
	    "rule", name, "started", 1);
}

/* ---- tags ---- */

static void
cmd_tags(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char *const known[] = { "customer", NULL };
	struct ctl_tag *rows;
	json_t *arr;
	char *name = NULL;
	size_t n, i;
	int64_t id;
	int rc, found;

	if (args_known("tags", args, known, r) == -1 ||
	    (id = arg_count("tags", args, "customer", 0, INT64_MAX, r)) == -1)
		return;
	if (id == 0) {
		reply_error(r, CRMD_BAD_REQUEST, "tags: missing argument "
		    "'customer'");
		return;
	}
	if ((rc = store_ctl_tags(crmd->store, id, &name, &found, &rows, &n)) !=
	    STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	if (!found) {
		reply_error(r, CRMD_BAD_REQUEST, "tags: no customer %" PRId64,
		    id);
		return;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o}",
		    "tag", rows[i].tag, "source", rows[i].source,
		    "added_at", (json_int_t)rows[i].added_at,
		    "added", json_local(rows[i].added_at)));
	r->data = json_pack("{s:I, s:s, s:o}", "customer_id", (json_int_t)id,
	    "customer", name, "tags", arr);
	free(name);
	store_ctl_tags_free(rows, n);
}

/* ---- log ---- */

static void
cmd_log(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char *const known[] = { "customer", "limit", NULL };
	struct ctl_audit *rows;
	json_t *arr;
	size_t n, i;
	int64_t customer, limit;
	int rc;

	if (args_known("log", args, known, r) == -1 ||
	    (customer = arg_count("log", args, "customer", 0, INT64_MAX,
	    r)) == -1 ||
	    (limit = arg_count("log", args, "limit", LOG_DEFAULT, LOG_MAX,
	    r)) == -1)
		return;
	if ((rc = store_ctl_audit(crmd->store, customer, (int)limit, &rows,
	    &n)) != STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:I, s:o, s:s, s:s,"
		    " s:o, s:s}", "id", (json_int_t)rows[i].id,
		    "at", (json_int_t)rows[i].at,
		    "time", json_local(rows[i].at),
		    "actor", rows[i].actor, "action", rows[i].action,
		    "customer_id", rows[i].customer_id != 0 ?
		    json_integer((json_int_t)rows[i].customer_id) : json_null(),
		    "detail", rows[i].detail));
	r->data = arr;
	store_ctl_audit_free(rows, n);
}

const struct control_cmd rules_commands[] = {
	{ "rule.list",	CMD_READONLY,	cmd_rule_list },
	{ "rule.test",	CMD_READONLY,	cmd_rule_test },
	{ "rule.run",	0,		cmd_rule_run },
	{ "tags",	CMD_READONLY,	cmd_tags },
	{ "log",	CMD_READONLY,	cmd_log },
};
const size_t rules_ncommands = sizeof(rules_commands) /
    sizeof(rules_commands[0]);
