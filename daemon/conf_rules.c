/*
 * The automation keys of crmd.conf: `rules` (tagging and event rules),
 * `stale` and `assign`, lists of groups that conf.c's table of scalar
 * keys cannot describe.  Every `when` is compiled here, once; a mistake
 * is reported at the config line of the `when` plus the line within the
 * condition, and the column within it.  What cannot be known without
 * the database (whether a user id exists) is not checked here.
 */
#include "conf_rules_load.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "kinds.h"
#include "rules.h"
#include "rules_facts.h"
#include "template.h"

#define RULES_NAME_MAX	100	/* bytes of a rule or tag name */
#define RULES_MAX	1000	/* entries of one list */
#define ASSIGN_USERS_MAX 1000
#define STALE_DAYS_MAX	3650
#define WITHIN_MAX	(365 * 86400)
#define ESCALATE_MAX	(365 * 86400)

/* One list being loaded: where to report, and what to call the entry. */
struct ctx {
	const struct conf_report *rep;
	char			  what[192];	/* 'rule "x"', "'stale' entry
						   2"; "" for the list */
	const char		 *sub;		/* "remind." inside remind */
	char			  key[64];	/* kname(): sub + key */
	int			  nerrs;
};

/* A key as messages name it: "within" inside remind is "remind.within". */
static const char *
kname(struct ctx *c, const char *k)
{
	snprintf(c->key, sizeof(c->key), "%s%s", c->sub != NULL ? c->sub : "",
	    k);
	return c->key;
}

__attribute__((format(printf, 5, 6)))
static void
say_at(struct ctx *c, const config_setting_t *s, int line_add, int column,
    const char *fmt, ...)
{
	char msg[768];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s%s", c->what,
	    *c->what != '\0' ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	c->rep->error(c->rep->arg, s, line_add, column, msg);
	c->nerrs++;
}

#define say(c, s, ...)	say_at((c), (s), 0, 0, __VA_ARGS__)

/* A value echoed in a message: control characters shown as '?'. */
static const char *
shown(const char *v, char *buf, size_t len)
{
	size_t i;

	for (i = 0; v[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ?
		    '?' : v[i];
	buf[i] = '\0';
	return buf;
}

static void *
grow(void *arr, size_t n, size_t sz)
{
	return realloc(arr, (n + 1) * sz);
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* -- values ---------------------------------------------------------- */

/* Keys of a group that the table does not know are errors. */
static void
check_keys(struct ctx *c, const config_setting_t *g,
    const char *const *known)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		char list[256] = "";
		size_t j;

		for (j = 0; known[j] != NULL; j++)
			if (strcmp(known[j], name) == 0)
				break;
		if (known[j] != NULL)
			continue;
		for (j = 0; known[j] != NULL; j++) {
			strncat(list, j > 0 ? ", " : "", sizeof(list) -
			    strlen(list) - 1);
			strncat(list, known[j], sizeof(list) - strlen(list) -
			    1);
		}
		say(c, s, "unknown key '%s'; known here: %s", name, list);
	}
}

/*
 * A name (rule, tag): UTF-8, one line, at most RULES_NAME_MAX bytes.
 * 0, or -1 after reporting.
 */
static int
check_name(struct ctx *c, const config_setting_t *s, const char *key,
    const char *v)
{
	const unsigned char *p;
	int line;

	if (*v == '\0') {
		say(c, s, "'%s' must not be empty", key);
		return -1;
	}
	if (strlen(v) > RULES_NAME_MAX) {
		say(c, s, "'%s' is longer than %d bytes", key, RULES_NAME_MAX);
		return -1;
	}
	if (tmpl_utf8_check(v, strlen(v), &line) == -1) {
		say(c, s, "'%s' is not valid UTF-8", key);
		return -1;
	}
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			say(c, s, "'%s' must be one line without control "
			    "characters", key);
			return -1;
		}
	}
	return 0;
}

/*
 * The string member key of g: 0 with *v (NULL when absent and optional),
 * -1 after reporting.
 */
static int
member_string(struct ctx *c, const config_setting_t *g, const char *key,
    int required, const char **v)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	*v = NULL;
	if (s == NULL) {
		if (!required)
			return 0;
		say(c, g, "'%s' is required", kname(c, key));
		return -1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		say(c, s, "'%s' must be a string in double quotes",
		    kname(c, key));
		return -1;
	}
	*v = config_setting_get_string(s);
	return 0;
}

static int
dup_string(struct ctx *c, const config_setting_t *s, const char *v,
    char **out)
{
	if ((*out = strdup(v)) == NULL) {
		say(c, s, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* add = [...] / remove = [...]: distinct tag names; absent is empty. */
static int
load_tags(struct ctx *c, const config_setting_t *g, const char *key,
    char ***out, size_t *nout)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char **tags;
	int i, j, n, bad = 0;

	*out = NULL;
	*nout = 0;
	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		say(c, s, "'%s' must be a list of tag names such as "
		    "[\"高价值客户\"]", kname(c, key));
		return -1;
	}
	n = config_setting_length(s);
	if ((tags = calloc((size_t)n + 1, sizeof(*tags))) == NULL) {
		say(c, s, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v;
		char buf[128];

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			say(c, s, "'%s' must be a list of tag names such as "
			    "[\"高价值客户\"]", kname(c, key));
			bad++;
			break;
		}
		v = config_setting_get_string(e);
		if (check_name(c, s, kname(c, key), v) == -1) {
			bad++;
			continue;
		}
		for (j = 0; j < i; j++)
			if (tags[j] != NULL && strcmp(tags[j], v) == 0)
				break;
		if (j < i) {
			say(c, s, "'%s': \"%s\" is listed twice", kname(c, key),
			    shown(v, buf, sizeof(buf)));
			bad++;
		} else if (dup_string(c, s, v, &tags[i]) == -1)
			bad++;
	}
	if (bad > 0) {
		free_strings(tags, (size_t)n);
		return -1;
	}
	*out = tags;
	*nout = (size_t)n;
	return 0;
}

/* ["inapp", "sms"] as a CH_BIT mask; absent is 0. */
static int
load_channels(struct ctx *c, const config_setting_t *g, const char *key,
    unsigned *mask)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int i, n, ch;
	char buf[64];

	*mask = 0;
	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		say(c, s, "'%s' must be a list of channels such as "
		    "[\"inapp\", \"sms\"]", kname(c, key));
		return -1;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			say(c, s, "'%s' must be a list of channels such as "
			    "[\"inapp\", \"sms\"]", kname(c, key));
			return -1;
		}
		v = config_setting_get_string(e);
		if ((ch = channel_from_name(v)) == -1) {
			say(c, s, "'%s': unknown channel \"%s\"; write inapp, "
			    "email, sms or webhook", kname(c, key),
			    shown(v, buf, sizeof(buf)));
			return -1;
		}
		if (*mask & CH_BIT(ch)) {
			say(c, s, "'%s': \"%s\" is listed twice",
			    kname(c, key), v);
			return -1;
		}
		*mask |= CH_BIT(ch);
	}
	return 0;
}

/* A duration member within [min, max] seconds; absent leaves *secs. */
static int
load_duration(struct ctx *c, const config_setting_t *g, const char *key,
    int required, int64_t min, int64_t max, int64_t *secs)
{
	const char *v;
	char buf[64], lo[32], hi[32];
	int64_t d;

	if (member_string(c, g, key, required, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (duration_parse(v, &d) == -1) {
		say(c, config_setting_get_member(g, key), "'%s': \"%s\" is "
		    "not a duration; write a number with s, m, h or d, such "
		    "as \"24h\"", kname(c, key), shown(v, buf, sizeof(buf)));
		return -1;
	}
	if (d < min || d > max) {
		say(c, config_setting_get_member(g, key), "'%s' must be "
		    "between %s and %s, not \"%s\"", kname(c, key),
		    duration_format(min, lo, sizeof(lo)),
		    duration_format(max, hi, sizeof(hi)),
		    shown(v, buf, sizeof(buf)));
		return -1;
	}
	*secs = d;
	return 0;
}

const char *
conf_rules_status(const char *v)
{
	const struct rule_fact *f = rule_fact_find("status", 6);

	return f != NULL ? rule_fact_value(f, v) : NULL;
}

static int
load_status(struct ctx *c, const config_setting_t *g, const char *key,
    const char *v, char **out)
{
	const char *status = conf_rules_status(v);
	char buf[64];

	if (status == NULL) {
		say(c, config_setting_get_member(g, key), "unknown status "
		    "\"%s\": expected potential (潜在), intent (意向), won "
		    "(成交) or lost (流失)", shown(v, buf, sizeof(buf)));
		return -1;
	}
	return dup_string(c, g, status, out);
}

/*
 * when = "...": compiled, or NULL with *text NULL when absent and
 * optional.  A mistake is reported at its place inside the condition.
 */
static int
load_when(struct ctx *c, const config_setting_t *g, int required,
    char **text, struct rule_expr **expr)
{
	const config_setting_t *s;
	struct rule_error err;
	const char *v;

	*text = NULL;
	*expr = NULL;
	if (member_string(c, g, "when", required, &v) == -1)
		return -1;
	if (v == NULL)
		return 0;
	s = config_setting_get_member(g, "when");
	if ((*expr = rule_compile(v, &err)) == NULL) {
		if (err.line < 1)
			err.line = 1;
		say_at(c, s, err.line - 1, err.column, "%s", err.msg);
		return -1;
	}
	if (dup_string(c, s, v, text) == -1) {
		rule_free(*expr);
		*expr = NULL;
		return -1;
	}
	return 0;
}

/* -- rules: tagging ---------------------------------------------------- */

static const char *const tag_rule_keys[] = {
	"name", "when", "add", "remove", NULL
};

void
conf_tag_rule_free(struct conf_tag_rule *t)
{
	free(t->name);
	free(t->when_text);
	rule_free(t->when);
	free_strings(t->add, t->nadd);
	free_strings(t->remove, t->nremove);
}

static int
load_tag_rule(struct ctx *c, const config_setting_t *g, const char *name,
    struct conf_tag_rule *t)
{
	int bad = 0;
	size_t i, j;
	char buf[128];

	memset(t, 0, sizeof(*t));
	t->line = (int)config_setting_source_line(g);
	check_keys(c, g, tag_rule_keys);
	if (dup_string(c, g, name, &t->name) == -1)
		bad++;
	if (load_when(c, g, 1, &t->when_text, &t->when) == -1)
		bad++;
	if (load_tags(c, g, "add", &t->add, &t->nadd) == -1 ||
	    load_tags(c, g, "remove", &t->remove, &t->nremove) == -1)
		bad++;
	else if (t->nadd == 0 && t->nremove == 0) {
		say(c, g, "a tagging rule needs add = [...] or remove = [...] "
		    "(or on = \"...\" to make it an event rule)");
		bad++;
	}
	for (i = 0; bad == 0 && i < t->nadd; i++)
		for (j = 0; j < t->nremove; j++)
			if (strcmp(t->add[i], t->remove[j]) == 0) {
				say(c, config_setting_get_member(g, "remove"),
				    "\"%s\" is in both add and remove",
				    shown(t->add[i], buf, sizeof(buf)));
				bad++;
				break;
			}
	if (bad > 0 || c->nerrs > 0) {
		conf_tag_rule_free(t);
		return -1;
	}
	return 0;
}

/* -- rules: event ------------------------------------------------------ */

static const char *const event_rule_keys[] = {
	"name", "on", "when", "remind", "notify", NULL
};
static const char *const remind_keys[] = {
	"kind", "within", "channels", "note", NULL
};
static const char *const notify_keys[] = { "channels", "text", NULL };

static const struct {
	const char	*name;
	enum rule_event	 ev;
	int		 arg;		/* 0 none, 1 tag, 2 status */
} events[] = {
	{ "tag_added",		EV_TAG_ADDED,		1 },
	{ "tag_removed",	EV_TAG_REMOVED,		1 },
	{ "status_changed",	EV_STATUS_CHANGED,	2 },
	{ "customer_created",	EV_CUSTOMER_CREATED,	0 },
	{ "followup",		EV_FOLLOWUP,		0 },
};

static int
load_on(struct ctx *c, const config_setting_t *g, struct conf_event_rule *r)
{
	const config_setting_t *s = config_setting_get_member(g, "on");
	const char *v, *colon, *arg;
	size_t i, n;
	char buf[128];

	if (member_string(c, g, "on", 1, &v) == -1)
		return -1;
	colon = strchr(v, ':');
	n = colon != NULL ? (size_t)(colon - v) : strlen(v);
	arg = colon != NULL ? colon + 1 : NULL;
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strlen(events[i].name) == n &&
		    strncmp(events[i].name, v, n) == 0)
			break;
	if (i == sizeof(events) / sizeof(events[0])) {
		say(c, s, "'on': unknown event \"%s\"; write "
		    "\"tag_added:TAG\", \"tag_removed:TAG\", "
		    "\"status_changed:STATUS\", "
		    "\"customer_created\" or \"followup\"",
		    shown(v, buf, sizeof(buf)));
		return -1;
	}
	r->on = events[i].ev;
	if (events[i].arg == 0) {
		if (arg == NULL)
			return 0;
		say(c, s, "'on': \"%s\" takes nothing after it; write \"%s\"",
		    events[i].name, events[i].name);
		return -1;
	}
	if (arg == NULL || *arg == '\0') {
		say(c, s, "'on': write the %s after the colon, e.g. \"%s\"",
		    events[i].arg == 1 ? "tag" : "status",
		    events[i].arg == 1 ? "tag_added:高意向" :
		    "status_changed:intent");
		return -1;
	}
	if (events[i].arg == 2)
		return load_status(c, g, "on", arg, &r->on_arg);
	if (check_name(c, s, "on", arg) == -1)
		return -1;
	return dup_string(c, s, arg, &r->on_arg);
}

static int	load_remind_keys(struct ctx *, const config_setting_t *,
		    struct conf_event_rule *);

static int
load_remind(struct ctx *c, const config_setting_t *g,
    struct conf_event_rule *r)
{
	const config_setting_t *s;
	int rc;

	if ((s = config_setting_get_member(g, "remind")) == NULL)
		return 0;
	if (!config_setting_is_group(s)) {
		say(c, s, "'remind' must be a group: remind = { kind = "
		    "\"callback\"; within = \"24h\"; };");
		return -1;
	}
	r->has_remind = 1;
	check_keys(c, s, remind_keys);
	c->sub = "remind.";
	rc = load_remind_keys(c, s, r);
	c->sub = NULL;
	return rc;
}

static int
load_remind_keys(struct ctx *c, const config_setting_t *s,
    struct conf_event_rule *r)
{
	const char *kind, *note;
	char buf[64];
	int k;

	if (member_string(c, s, "kind", 1, &kind) == -1)
		return -1;
	if ((k = kind_from_name(kind)) == -1 || k >= KIND_REMINDER_MAX) {
		say(c, config_setting_get_member(s, "kind"), "'remind.kind': "
		    "unknown reminder kind \"%s\"; write followup, callback, "
		    "renewal, birthday or custom", shown(kind, buf,
		    sizeof(buf)));
		return -1;
	}
	r->remind_kind = k;
	if (load_duration(c, s, "within", 1, 0, WITHIN_MAX,
	    &r->remind_within) == -1 ||
	    load_channels(c, s, "channels", &r->remind_channels) == -1 ||
	    member_string(c, s, "note", 0, &note) == -1)
		return -1;
	if (note != NULL && *note != '\0' &&
	    dup_string(c, s, note, &r->remind_note) == -1)
		return -1;
	return 0;
}

static int
load_notify(struct ctx *c, const config_setting_t *g,
    struct conf_event_rule *r)
{
	const config_setting_t *s;
	const char *text;
	struct tmpl *t;
	char *err = NULL;
	int line = 1, rc;

	if ((s = config_setting_get_member(g, "notify")) == NULL)
		return 0;
	if (!config_setting_is_group(s)) {
		say(c, s, "'notify' must be a group: notify = { channels = "
		    "[\"inapp\"]; };");
		return -1;
	}
	r->has_notify = 1;
	check_keys(c, s, notify_keys);
	c->sub = "notify.";
	rc = load_channels(c, s, "channels", &r->notify_channels) == -1 ||
	    member_string(c, s, "text", 0, &text) == -1;
	c->sub = NULL;
	if (rc)
		return -1;
	r->notify_channels |= CH_BIT(CH_INAPP);
	if (text == NULL || *text == '\0')
		return 0;
	/* Checked as a template now, so a typo is a load error. */
	if (tmpl_utf8_check(text, strlen(text), &line) == -1 ||
	    (t = tmpl_compile(text, &err, &line)) == NULL) {
		say_at(c, config_setting_get_member(s, "text"), line - 1, 0,
		    "'notify.text': %s", err != NULL ? err : "invalid UTF-8");
		free(err);
		return -1;
	}
	tmpl_free(t);
	return dup_string(c, s, text, &r->notify_text);
}

static void
free_event_rule(struct conf_event_rule *r)
{
	free(r->name);
	free(r->on_arg);
	free(r->when_text);
	rule_free(r->when);
	free(r->remind_note);
	free(r->notify_text);
}

static int
load_event_rule(struct ctx *c, const config_setting_t *g, const char *name,
    struct conf_event_rule *r)
{
	int bad = 0;

	memset(r, 0, sizeof(*r));
	r->line = (int)config_setting_source_line(g);
	check_keys(c, g, event_rule_keys);
	if (dup_string(c, g, name, &r->name) == -1 || load_on(c, g, r) == -1)
		bad++;
	if (load_when(c, g, 0, &r->when_text, &r->when) == -1)
		bad++;
	if (load_remind(c, g, r) == -1 || load_notify(c, g, r) == -1)
		bad++;
	if (bad == 0 && !r->has_remind && !r->has_notify) {
		say(c, g, "an event rule needs remind = { ... } or notify = "
		    "{ ... }");
		bad++;
	}
	if (bad > 0 || c->nerrs > 0) {
		free_event_rule(r);
		return -1;
	}
	return 0;
}

/* -- rules ------------------------------------------------------------- */

/* A list of groups, possibly empty: its length, or -1 after reporting. */
static int
want_groups(struct ctx *c, const config_setting_t *list, const char *key,
    const char *example)
{
	int i, n;

	if (!config_setting_is_list(list) && !(config_setting_is_array(list) &&
	    config_setting_length(list) == 0)) {
		say(c, list, "'%s' must be a list of groups: %s = ( %s, ... );",
		    key, key, example);
		return -1;
	}
	if ((n = config_setting_length(list)) > RULES_MAX) {
		say(c, list, "'%s' holds more than %d entries", key,
		    RULES_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, i);

		if (!config_setting_is_group(e)) {
			say(c, e, "'%s' entry %d must be a group: %s", key,
			    i + 1, example);
			return -1;
		}
	}
	return n;
}

/* The line of an earlier entry of list with name's name, or 0. */
static int
name_taken(const config_setting_t *list, int i, const char *name)
{
	const char *other;
	int j;

	for (j = 0; j < i; j++) {
		const config_setting_t *g = config_setting_get_elem(list, j);

		if (config_setting_lookup_string(g, "name", &other) &&
		    strcmp(other, name) == 0)
			return (int)config_setting_source_line(g);
	}
	return 0;
}

static void
load_rule(struct conf_rules *r, const config_setting_t *list, int i,
    struct ctx *c)
{
	const config_setting_t *g = config_setting_get_elem(list, i);
	const config_setting_t *ns = config_setting_get_member(g, "name");
	const char *name;
	char buf[128];
	int line, nerrs = c->nerrs;
	void *p;

	snprintf(c->what, sizeof(c->what), "'rules' entry %d", i + 1);
	if (member_string(c, g, "name", 1, &name) == -1 ||
	    check_name(c, ns, "name", name) == -1)
		return;
	snprintf(c->what, sizeof(c->what), "rule \"%s\"",
	    shown(name, buf, sizeof(buf)));
	if ((line = name_taken(list, i, name)) != 0) {
		say(c, ns, "the name is taken by the rule at line %d; rule "
		    "names must be unique", line);
		return;
	}
	/* Each kind's loader counts from here: earlier rules' errors aside. */
	c->nerrs = 0;
	if (config_setting_get_member(g, "on") != NULL) {
		if ((p = grow(r->event_rules, r->nevent_rules,
		    sizeof(*r->event_rules))) == NULL) {
			say(c, g, "%s", strerror(errno));
		} else {
			r->event_rules = p;
			if (load_event_rule(c, g, name,
			    &r->event_rules[r->nevent_rules]) == 0)
				r->nevent_rules++;
		}
	} else if ((p = grow(r->tag_rules, r->ntag_rules,
	    sizeof(*r->tag_rules))) == NULL) {
		say(c, g, "%s", strerror(errno));
	} else {
		r->tag_rules = p;
		if (load_tag_rule(c, g, name, &r->tag_rules[r->ntag_rules]) ==
		    0)
			r->ntag_rules++;
	}
	c->nerrs += nerrs;
}

static void
free_rule_lists(struct conf_rules *r)
{
	size_t i;

	for (i = 0; i < r->ntag_rules; i++)
		conf_tag_rule_free(&r->tag_rules[i]);
	free(r->tag_rules);
	r->tag_rules = NULL;
	r->ntag_rules = 0;
	for (i = 0; i < r->nevent_rules; i++)
		free_event_rule(&r->event_rules[i]);
	free(r->event_rules);
	r->event_rules = NULL;
	r->nevent_rules = 0;
}

void
conf_rules_load_rules(struct conf_rules *r, const config_setting_t *list,
    const struct conf_report *rep)
{
	struct ctx c = { .rep = rep };
	int i, n;

	free_rule_lists(r);
	c.what[0] = '\0';
	if ((n = want_groups(&c, list, "rules", "{ name = \"高价值客户\"; "
	    "when = \"revenue_365d >= 100000\"; add = [\"高价值客户\"]; }")) ==
	    -1)
		return;
	for (i = 0; i < n; i++)
		load_rule(r, list, i, &c);
}

/* -- stale --------------------------------------------------------------- */

static const char *const stale_keys[] = {
	"status", "days", "escalate_after", "channels", NULL
};

static int
load_days(struct ctx *c, const config_setting_t *g, int *days)
{
	const config_setting_t *s = config_setting_get_member(g, "days");
	long long v;

	if (s == NULL) {
		say(c, g, "'days' is required");
		return -1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		say(c, s, "'days' must be a whole number of days, written "
		    "without quotes");
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < 1 || v > STALE_DAYS_MAX) {
		say(c, s, "'days' must be between 1 and %d, not %lld",
		    STALE_DAYS_MAX, v);
		return -1;
	}
	*days = (int)v;
	return 0;
}

static int
load_stale_entry(struct ctx *c, const config_setting_t *g,
    struct conf_stale *st)
{
	const char *status;

	memset(st, 0, sizeof(*st));
	st->line = (int)config_setting_source_line(g);
	check_keys(c, g, stale_keys);
	if (member_string(c, g, "status", 1, &status) == -1 ||
	    (status != NULL && load_status(c, g, "status", status,
	    &st->status) == -1) ||
	    load_days(c, g, &st->days) == -1 ||
	    load_duration(c, g, "escalate_after", 0, 0, ESCALATE_MAX,
	    &st->escalate_after) == -1 ||
	    load_channels(c, g, "channels", &st->channels) == -1 ||
	    c->nerrs > 0) {
		free(st->status);
		return -1;
	}
	st->channels |= CH_BIT(CH_INAPP);
	return 0;
}

static void
free_stale(struct conf_rules *r)
{
	for (size_t i = 0; i < r->nstale; i++)
		free(r->stale[i].status);
	free(r->stale);
	r->stale = NULL;
	r->nstale = 0;
}

void
conf_rules_load_stale(struct conf_rules *r, const config_setting_t *list,
    const struct conf_report *rep)
{
	struct ctx c = { .rep = rep };
	struct conf_stale st;
	int i, n, nerrs = 0;
	size_t j;
	void *p;

	free_stale(r);
	c.what[0] = '\0';
	if ((n = want_groups(&c, list, "stale", "{ status = \"intent\"; "
	    "days = 7; }")) == -1)
		return;
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);

		snprintf(c.what, sizeof(c.what), "'stale' entry %d", i + 1);
		c.nerrs = 0;
		if (load_stale_entry(&c, g, &st) == -1) {
			nerrs++;
			continue;
		}
		for (j = 0; j < r->nstale; j++)
			if (strcmp(r->stale[j].status, st.status) == 0)
				break;
		if (j < r->nstale) {
			say(&c, config_setting_get_member(g, "status"),
			    "status %s already has an entry, at line %d",
			    st.status,
			    r->stale[j].line);
			free(st.status);
			continue;
		}
		if ((p = grow(r->stale, r->nstale, sizeof(*r->stale))) ==
		    NULL) {
			say(&c, g, "%s", strerror(errno));
			free(st.status);
			continue;
		}
		r->stale = p;
		r->stale[r->nstale++] = st;
	}
}

/* -- assign -------------------------------------------------------------- */

static const char *const assign_keys[] = {
	"when", "users", "method", NULL
};

static int
load_users(struct ctx *c, const config_setting_t *g, struct conf_assign *a)
{
	const config_setting_t *s = config_setting_get_member(g, "users");
	int i, n;
	size_t j;

	if (s == NULL) {
		say(c, g, "'users' is required: the pool of user ids, such as "
		    "users = [1, 2];");
		return -1;
	}
	if ((!config_setting_is_array(s) && !config_setting_is_list(s)) ||
	    (n = config_setting_length(s)) == 0 || n > ASSIGN_USERS_MAX) {
		say(c, s, "'users' must list 1 to %d user ids, such as "
		    "[1, 2]", ASSIGN_USERS_MAX);
		return -1;
	}
	if ((a->users = calloc((size_t)n, sizeof(*a->users))) == NULL) {
		say(c, s, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long v = 0;

		if (config_setting_type(e) == CONFIG_TYPE_INT ||
		    config_setting_type(e) == CONFIG_TYPE_INT64)
			v = config_setting_get_int64(e);
		if (v < 1) {
			say(c, s, "'users': element %d must be a user id (a "
			    "positive integer, without quotes)", i + 1);
			return -1;
		}
		for (j = 0; j < a->nusers; j++)
			if (a->users[j] == v)
				break;
		if (j < a->nusers) {
			say(c, s, "'users': %lld is listed twice", v);
			return -1;
		}
		a->users[a->nusers++] = v;
	}
	return 0;
}

static int
load_method(struct ctx *c, const config_setting_t *g, struct conf_assign *a)
{
	const char *v;
	char buf[64];

	a->method = ASSIGN_ROUND_ROBIN;
	if (member_string(c, g, "method", 0, &v) == -1)
		return -1;
	if (v == NULL || strcmp(v, "round_robin") == 0)
		return 0;
	if (strcmp(v, "least_loaded") == 0) {
		a->method = ASSIGN_LEAST_LOADED;
		return 0;
	}
	say(c, config_setting_get_member(g, "method"), "'method' must be "
	    "\"round_robin\" or \"least_loaded\", not \"%s\"",
	    shown(v, buf, sizeof(buf)));
	return -1;
}

static void
free_assign_entry(struct conf_assign *a)
{
	free(a->when_text);
	rule_free(a->when);
	free(a->users);
}

static void
free_assign(struct conf_rules *r)
{
	for (size_t i = 0; i < r->nassign; i++)
		free_assign_entry(&r->assign[i]);
	free(r->assign);
	r->assign = NULL;
	r->nassign = 0;
}

void
conf_rules_load_assign(struct conf_rules *r, const config_setting_t *list,
    const struct conf_report *rep)
{
	struct ctx c = { .rep = rep };
	struct conf_assign a;
	int i, n;
	void *p;

	free_assign(r);
	c.what[0] = '\0';
	if ((n = want_groups(&c, list, "assign", "{ when = \"region = "
	    "'华东'\"; users = [1, 2]; }")) == -1)
		return;
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);

		snprintf(c.what, sizeof(c.what), "'assign' entry %d", i + 1);
		c.nerrs = 0;
		memset(&a, 0, sizeof(a));
		a.line = (int)config_setting_source_line(g);
		check_keys(&c, g, assign_keys);
		if (load_when(&c, g, 0, &a.when_text, &a.when) == -1 ||
		    load_users(&c, g, &a) == -1 ||
		    load_method(&c, g, &a) == -1 || c.nerrs > 0 ||
		    (p = grow(r->assign, r->nassign, sizeof(*r->assign))) ==
		    NULL) {
			if (c.nerrs == 0)
				say(&c, g, "%s", strerror(ENOMEM));
			free_assign_entry(&a);
			continue;
		}
		r->assign = p;
		r->assign[r->nassign++] = a;
	}
}

/* -- whole ----------------------------------------------------------------- */

void
conf_rules_defaults(struct conf_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->interval = 600;
}

void
conf_rules_free(struct conf_rules *r)
{
	free_rule_lists(r);
	free_stale(r);
	free_assign(r);
}
