/*
 * Dry runs of rules (dryrun.h).  The count and the planned changes come
 * from the sweep's own code (store_rules.h), a range of customer ids at
 * a time, so what a test shows is what a sweep would do; the sample is
 * the rule's query with its facts as columns (store_ctl_rules.h).  All of
 * it inside one read transaction on the caller's connection.
 */
#include "dryrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_ctl_rules.h"
#include "store_rules.h"

#define DRY_SPAN	65536		/* customer ids per planning step */

/* ---- copies of the rules ---- */

static void
free_strings(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **
copy_strings(char *const *v, size_t n)
{
	char **c;

	if ((c = calloc(n + 1, sizeof(*c))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((c[i] = strdup(v[i])) == NULL) {
			free_strings(c, i);
			return NULL;
		}
	return c;
}

/* It compiled when the config was loaded: only memory can fail now. */
static struct rule_expr *
recompile(const char *text)
{
	struct rule_error err;

	return rule_compile(text, &err);
}

static int
copy_tag_rule(struct conf_tag_rule *to, const struct conf_tag_rule *from)
{
	to->line = from->line;
	if ((to->name = strdup(from->name)) == NULL ||
	    (to->when_text = strdup(from->when_text)) == NULL ||
	    (to->when = recompile(from->when_text)) == NULL ||
	    (to->add = copy_strings(from->add, from->nadd)) == NULL)
		return -1;
	to->nadd = from->nadd;
	if ((to->remove = copy_strings(from->remove, from->nremove)) == NULL)
		return -1;
	to->nremove = from->nremove;
	return 0;
}

/* The tagging rules: planning one reads the others (removing wins). */
static int
copy_tag_rules(struct conf_rules *to, const struct conf_rules *from)
{
	size_t i;

	if ((to->tag_rules = calloc(from->ntag_rules + 1,
	    sizeof(*to->tag_rules))) == NULL)
		return -1;
	for (i = 0; i < from->ntag_rules; i++) {
		to->ntag_rules = i + 1;
		if (copy_tag_rule(&to->tag_rules[i], &from->tag_rules[i]) == -1)
			return -1;
	}
	to->interval = from->interval;
	return 0;
}

/* ---- what a sweep would change ---- */

/* One entry per tag of add (adding, and its own removals) and remove. */
static int
changes_init(struct dryrun *d, const struct conf_tag_rule *t)
{
	size_t i, n = 0;

	if ((d->changes = calloc(2 * t->nadd + t->nremove + 1,
	    sizeof(*d->changes))) == NULL)
		return -1;
	for (i = 0; i < t->nadd; i++) {
		d->changes[n].tag = t->add[i];
		d->changes[n++].add = 1;
		d->changes[n].tag = t->add[i];
		d->changes[n++].add = 0;
	}
	for (i = 0; i < t->nremove; i++)
		d->changes[n++].tag = t->remove[i];
	d->nchanges = n;
	for (i = 0; i < n; i++)
		if ((d->changes[i].sample = calloc((size_t)d->limit,
		    sizeof(*d->changes[i].sample))) == NULL)
			return -1;
	return 0;
}

static void
tally_plan(struct dryrun *d, const struct tag_plan *plan)
{
	struct dryrun_change *t;
	size_t i, j;

	for (i = 0; i < plan->n; i++) {
		const struct tag_change *c = &plan->v[i];

		/* The plan's strings are the copy's, like the entries'. */
		for (j = 0; j < d->nchanges; j++)
			if (d->changes[j].tag == c->tag &&
			    d->changes[j].add == c->add)
				break;
		if (j == d->nchanges)
			continue;
		t = &d->changes[j];
		if (t->nsample < (size_t)d->limit)
			t->sample[t->nsample++] = c->customer_id;
		t->customers++;
	}
}

/*
 * Counts the matches of the condition (and, for a tagging rule, plans
 * its changes) over every customer, a range at a time, as a sweep would.
 */
static int
count(struct dryrun *d, struct store *s, struct store_rules *sr)
{
	struct tag_plan plan = { 0 };
	struct rules_scope sc = { 0 };
	struct scope_tags *t;
	int64_t max, *ids;
	size_t n;
	int rc;

	if ((t = scope_tags_new()) == NULL)
		return STORE_ERR;
	if ((rc = store_rules_max_customer(s, &max)) != STORE_OK) {
		scope_tags_free(t);
		return rc;
	}
	for (sc.lo = 0; rc == STORE_OK && sc.lo <= max; sc.lo = sc.hi) {
		sc.hi = sc.lo + DRY_SPAN;
		if (d->ri >= 0) {
			tag_plan_clear(&plan);
			if ((rc = store_rules_load(sr, &d->rules, &sc, t)) ==
			    STORE_OK)
				rc = store_rules_plan(sr, &d->rules,
				    (size_t)d->ri, &sc, &d->env, t, &plan);
			d->matched += (int64_t)plan.matched;
			tally_plan(d, &plan);
		} else if ((rc = store_rules_match(sr, d->e, &sc, &d->env,
		    &ids, &n)) == STORE_OK) {
			d->matched += (int64_t)n;
			free(ids);
		}
	}
	tag_plan_free(&plan);
	scope_tags_free(t);
	return rc;
}

/* ---- the dry run ---- */

struct dryrun *
dryrun_new(const struct conf_rules *rules, const char *name, int limit,
    int64_t now, const char *today, const char **why)
{
	const struct conf_event_rule *ev = NULL;
	struct dryrun *d;
	ssize_t ri = -1;
	size_t i;

	for (i = 0; ri < 0 && i < rules->ntag_rules; i++)
		if (strcmp(rules->tag_rules[i].name, name) == 0)
			ri = (ssize_t)i;
	for (i = 0; ri < 0 && ev == NULL && i < rules->nevent_rules; i++)
		if (strcmp(rules->event_rules[i].name, name) == 0)
			ev = &rules->event_rules[i];
	*why = NULL;
	if (ri < 0 && ev == NULL)
		*why = "no rule of that name; crmctl rule list shows them";
	else if (ri < 0 && ev->when == NULL)
		*why = "that event rule has no condition (when) to test";
	if (*why != NULL || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->ri = ri;
	d->kind = ri >= 0 ? "tagging" : "event";
	d->limit = limit;
	d->rc = STORE_ERR;
	d->env.now = now;
	snprintf(d->today, sizeof(d->today), "%s", today);
	d->env.today = d->today;
	if ((d->name = strdup(name)) == NULL ||
	    (d->when = strdup(ri >= 0 ? rules->tag_rules[ri].when_text :
	    ev->when_text)) == NULL)
		goto fail;
	if (ri >= 0) {
		if (copy_tag_rules(&d->rules, rules) == -1 ||
		    changes_init(d, &d->rules.tag_rules[ri]) == -1)
			goto fail;
		d->e = d->rules.tag_rules[ri].when;
	} else {
		if ((d->event_when = recompile(ev->when_text)) == NULL)
			goto fail;
		d->e = d->event_when;
	}
	return d;
fail:
	dryrun_free(d);
	return NULL;
}

void
dryrun_run(struct dryrun *d, struct store *s)
{
	struct store_rules *sr;

	if ((sr = store_rules_new(s)) == NULL) {
		d->rc = STORE_ERR;
		d->error = strdup("out of memory");
		return;
	}
	/* One snapshot: the count, the changes and the sample agree. */
	if ((d->rc = store_rules_read_begin(s)) == STORE_OK) {
		d->rc = count(d, s, sr);
		if (d->rc == STORE_OK)
			d->rc = store_ctl_rule_sample(s, d->e, &d->env,
			    d->limit, &d->sample, &d->nsample);
		store_rules_read_end(s);
	}
	store_rules_free(sr);
	if (d->rc != STORE_OK)
		d->error = strdup(store_errmsg(s));
}

void
dryrun_free(struct dryrun *d)
{
	size_t i;

	if (d == NULL)
		return;
	if (d->e != NULL)
		store_ctl_sample_free(d->sample, d->nsample,
		    rule_fact_count(d->e));
	for (i = 0; i < d->nchanges; i++)
		free(d->changes[i].sample);
	free(d->changes);
	for (i = 0; i < d->rules.ntag_rules; i++)
		conf_tag_rule_free(&d->rules.tag_rules[i]);
	free(d->rules.tag_rules);
	rule_free(d->event_when);
	free(d->name);
	free(d->when);
	free(d->error);
	free(d);
}
