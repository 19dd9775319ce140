/*
 * The admin commands for automation rules: rule.list, rule.test (a dry
 * run), rule.run, tags and log (the audit log).  rule.test evaluates the
 * rule exactly as a sweep would, through the same planning code, inside
 * one read transaction, and writes nothing; it runs off the event loop
 * (dryrun.c on an offload.c worker) and answers later.  SQL lives in
 * store_rules.c and store_ctl_rules.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "control_cmds.h"
#include "crmd.h"
#include "dryrun.h"
#include "log.h"
#include "offload.h"
#include "protocol.h"
#include "rules.h"
#include "rules_engine.h"
#include "rules_facts.h"
#include "store.h"
#include "store_ctl_rules.h"
#include "tz.h"

#define SAMPLE_DEFAULT	10
#define SAMPLE_MAX	1000
#define LOG_DEFAULT	50
#define LOG_MAX		10000

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

/*
 * A dry run takes as long as the rule's share of a sweep (0.3-0.6 s on a
 * million customers), so it runs on a worker thread with a read-only
 * connection of its own (offload.h), from copies of the rules a reload
 * may free meanwhile (dryrun.h); the reply is built here, on the loop,
 * when it is done.
 */
struct rule_test {
	struct cmd_defer	*defer;
	struct offload_job	*job;
	struct dryrun		*dry;
	struct timespec		 t0;
};

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

static json_t *
ids_json(const int64_t *ids, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)ids[i]));
	return a;
}

/* What a sweep would change: per tag and direction, those it would. */
static json_t *
changes_json(const struct dryrun *d)
{
	const struct dryrun_change *c;
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < d->nchanges; i++) {
		c = &d->changes[i];
		if (c->customers == 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o}",
		    "tag", c->tag, "action", c->add ? "add" : "remove",
		    "customers", (json_int_t)c->customers,
		    "sample", ids_json(c->sample, c->nsample)));
	}
	return arr;
}

static json_t *
test_json(const struct dryrun *d)
{
	json_t *facts = json_array();

	for (size_t j = 0; facts != NULL && j < rule_fact_count(d->e); j++)
		json_array_append_new(facts,
		    json_string(rule_fact_name(d->e, j)));
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:b}",
	    "name", d->name, "kind", d->kind, "when", d->when, "facts", facts,
	    "matched", (json_int_t)d->matched,
	    "sample", samples_json(d->e, d->sample, d->nsample),
	    "changes", changes_json(d), "dry_run", 1);
}

static int64_t
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
rule_test_free(struct rule_test *t)
{
	dryrun_free(t->dry);
	free(t);
}

/* On a worker thread: touches nothing but t->dry and the reader. */
static void
rule_test_run(struct store *reader, void *arg)
{
	struct rule_test *t = arg;

	dryrun_run(t->dry, reader);
}

/* The dry run's outcome as the reply. */
static void
rule_test_reply(struct rule_test *t, enum offload_status status,
    const char *why, struct cmd_reply *r)
{
	struct dryrun *d = t->dry;

	switch (status) {
	case OFFLOAD_CANCELLED:
		/* Stopping; a client that went away reads nothing. */
		log_info("rules: dry run of %s cancelled", d->name);
		reply_error(r, CRMD_UNAVAILABLE, "rule.test: crmd is stopping; "
		    "run the test again once it is back");
		return;
	case OFFLOAD_NO_READER:
		log_warnx("rules: dry run of %s: %s", d->name,
		    why != NULL ? why : "out of memory");
		reply_error(r, CRMD_INTERNAL, "rule.test: cannot open the "
		    "database for reading: %s",
		    why != NULL ? why : "out of memory");
		return;
	case OFFLOAD_DONE:
		break;
	}
	if (d->rc == STORE_BUSY) {
		reply_error(r, CRMD_UNAVAILABLE, "database busy, try again");
		return;
	}
	if (d->rc != STORE_OK) {
		log_warnx("rules: dry run of %s: %s", d->name,
		    d->error != NULL ? d->error : "out of memory");
		reply_error(r, CRMD_INTERNAL, "database error: %s",
		    d->error != NULL ? d->error : "out of memory");
		return;
	}
	log_info("rules: dry run of %s done in %" PRId64 " ms, %" PRId64
	    " matched", d->name, ms_since(&t->t0), d->matched);
	r->data = test_json(d);
}

/* On the loop, once the worker is done (or the job was cancelled). */
static void
rule_test_done(void *arg, enum offload_status status, const char *why)
{
	struct rule_test *t = arg;
	struct cmd_reply r = { .status = CRMD_OK };

	rule_test_reply(t, status, why, &r);
	cmd_defer_reply(t->defer, &r);
	rule_test_free(t);
}

/* The client hung up: its dry run need not go on. */
static void
rule_test_abandon(void *arg)
{
	struct rule_test *t = arg;

	log_info("rules: dry run of %s: the client went away", t->dry->name);
	offload_cancel(t->job);
}

/* Not started after all: the reply goes out at once. */
static void
rule_test_refuse(struct rule_test *t, int status, const char *msg)
{
	struct cmd_reply r = { .status = CRMD_OK };

	reply_error(&r, status, "rule.test: %s", msg);
	cmd_defer_reply(t->defer, &r);
	rule_test_free(t);
}

static void
cmd_rule_test(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "rule.test";
	static const char *const known[] = { "name", "limit", NULL };
	struct rule_test *t;
	struct rule_env env;
	const char *name, *why;
	char today[16], actor[64];
	int64_t limit;

	if (args_known(cmd, args, known, r) == -1 ||
	    arg_string(cmd, args, "name", 1, &name, r) == -1 ||
	    (limit = arg_count(cmd, args, "limit", SAMPLE_DEFAULT, SAMPLE_MAX,
	    r)) == -1)
		return;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		reply_error(r, CRMD_INTERNAL, "out of memory");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t->t0);
	make_env(&env, today);
	t->dry = dryrun_new(&crmd->conf->rules, name, (int)limit, env.now,
	    today, &why);
	if (t->dry == NULL || (t->defer = cmd_defer(r)) == NULL) {
		if (t->dry == NULL && why != NULL)
			reply_error(r, CRMD_BAD_REQUEST, "%s: %s", cmd, why);
		else
			reply_error(r, CRMD_INTERNAL, "out of memory");
		rule_test_free(t);
		return;
	}
	t->job = offload_submit(control_offload(crmd), rule_test_run,
	    rule_test_done, t);
	if (t->job == NULL) {
		if (errno == EBUSY)
			rule_test_refuse(t, CRMD_UNAVAILABLE, "crmd is busy "
			    "with other rule tests; try again in a moment");
		else
			rule_test_refuse(t, CRMD_INTERNAL, "cannot start the "
			    "dry run: out of memory or threads");
		return;
	}
	cmd_defer_on_abandon(t->defer, rule_test_abandon, t);
	peer_actor(p, actor, sizeof(actor));
	log_info("rules: dry run of %s for %s", name, actor);
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
