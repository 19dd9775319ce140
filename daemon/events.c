/*
 * The event handler (events.h).  A pass reads rule_changes in batches
 * after the cursor; each batch is one BEGIN IMMEDIATE transaction that
 * handles its events and moves the cursor past them, so an event is
 * handled once whatever happens to the process: a crash before COMMIT
 * leaves the cursor and every effect unwritten, after it leaves both
 * written.  Reminders are also keyed "event:RULE:CHANGE", so even a
 * cursor lost by hand cannot create one twice.
 *
 * A batch runs in three steps: new customers without an owner are
 * assigned first, so rules see the owner; each event rule's `when` is
 * then evaluated once for the batch's customers it concerns; last the
 * events are handled in order, so a follow-up cancels a reminder an
 * earlier tag made in the same batch.  A batch that fails is redone one
 * event at a time, and an event that fails alone is skipped with an
 * audit row: one bad row cannot stop the feed.
 */
#include "events.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assign.h"
#include "clock.h"
#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "message.h"
#include "outbox.h"
#include "rules.h"
#include "rules_facts.h"
#include "rules_engine.h"
#include "scheduler.h"
#include "stale.h"
#include "store.h"
#include "store_automation.h"
#include "store_reminders.h"
#include "template.h"
#include "tz.h"
#include "watch.h"

#define CURSOR_KEY	"events.cursor"
#define RULES_CURSOR_KEY "rules.cursor"	/* the tagging engine's */
#define BATCH_START	64	/* events per transaction, adapted */
#define BATCH_MIN	4
#define BATCH_MAX	1024
#define PIECE_US	8000	/* target of one transaction */
#define TRIM_LIMIT	4096	/* rule_changes rows deleted at a time */
#define BUSY_RETRY_MS	20
#define TRIM_RETRY_MS	1000	/* the tagging engine was behind: look */
#define TRIM_RETRY_MAX	60000	/* again, less often while it stays so */
#define ERROR_RETRY_MS	1000

struct events {
	struct crmd	*crmd;
	struct event	*ev_work;
	int		 active;	/* a pass is queued */
	int		 batch;
	int		 trim;		/* events were handled: trim */
	int		 trim_wait;	/* ms before looking again */
	int		 wrote;		/* this pass committed something */
	int64_t		 write_at;	/* monotonic us: next write allowed */
	int		 reminders;	/* ... touching reminders */
};

/* What a batch is handling. */
struct batch {
	struct auto_change	*rows;
	size_t			 n;
	unsigned char		*match;		/* [rule * n + row] */
	int64_t			 now;
};

/* ---- shared by the automation modules ---- */

const char *
auto_status_label(const char *status)
{
	const struct rule_fact *f = rule_fact_find("status", 6);
	const struct fact_value *v;

	for (v = f != NULL ? f->values : NULL; v && v->stored; v++)
		if (strcmp(v->stored, status) == 0 && v->alias != NULL)
			return v->alias;
	return status;
}

void
auto_env(struct rule_env *env, int64_t now, char today[16], const int64_t *ids,
    size_t n)
{
	struct tz_date d;
	int minute;

	tz_utc_to_local((time_t)now, &d, &minute);
	snprintf(today, 16, "%04d-%02d-%02d", d.year % 10000, d.mon % 100,
	    d.day % 100);
	memset(env, 0, sizeof(*env));
	env->now = now;
	env->today = today;
	env->ids = ids;
	env->nids = n;
}

int
auto_message_send(struct crmd *crmd, const struct auto_msg *m, int64_t now)
{
	const struct auto_customer *c = m->c;
	struct recipient to = { m->to->id, m->to->email, m->to->phone,
	    m->to->name };
	struct tmpl_vars v;

	memset(&v, 0, sizeof(v));
	v.v[TF_CUSTOMER_NAME] = c->name;
	v.v[TF_CUSTOMER_CODE] = c->code;
	v.v[TF_CUSTOMER_LEVEL] = c->level;
	v.v[TF_CUSTOMER_STATUS] = auto_status_label(c->status);
	v.v[TF_CUSTOMER_PHONE] = c->phone;
	v.v[TF_CUSTOMER_EMAIL] = c->email;
	v.v[TF_CONTACT_NAME] = c->ct_name;
	v.v[TF_CONTACT_PHONE] = c->ct_phone;
	v.v[TF_USER_NAME] = m->user->name;
	v.v[TF_USER_EMAIL] = m->user->email;
	v.v[TF_USER_PHONE] = m->user->phone;
	v.v[TF_MANAGER_NAME] = c->manager.name;
	v.v[TF_REMINDER_KIND] = kind_label(m->kind);
	v.v[TF_REMINDER_DUE] = m->due;
	v.v[TF_REMINDER_NOTE] = m->note;
	struct message msg = { m->kind, &v, m->channels, 0, c->id, m->key };
	return message_send(crmd, &msg, &to, now);
}

/* ---- words for people ---- */

/* "新增标签「高意向」", "状态变为 意向", ... */
static void
describe(const struct auto_change *row, char *buf, size_t len)
{
	switch (row->event) {
	case AE_CUSTOMER_CREATED:
		snprintf(buf, len, "新建客户");
		break;
	case AE_STATUS_CHANGED:
		snprintf(buf, len, "状态变为 %s", auto_status_label(row->detail));
		break;
	case AE_TAG_ADDED:
		snprintf(buf, len, "新增标签「%s」", row->detail);
		break;
	case AE_TAG_REMOVED:
		snprintf(buf, len, "移除标签「%s」", row->detail);
		break;
	case AE_FOLLOWUP:
		snprintf(buf, len, "记录了新的跟进");
		break;
	default:
		snprintf(buf, len, "资料变更");
	}
}

/* "24 小时", "3 天", "30 分钟". */
static void
within_text(int64_t s, char *buf, size_t len)
{
	if (s % 3600 == 0 && s <= 72 * 3600)
		snprintf(buf, len, "%lld 小时", (long long)(s / 3600));
	else if (s % 86400 == 0)
		snprintf(buf, len, "%lld 天", (long long)(s / 86400));
	else if (s % 60 == 0)
		snprintf(buf, len, "%lld 分钟", (long long)(s / 60));
	else
		snprintf(buf, len, "%lld 秒", (long long)s);
}

/* What the reminder asks the owner to do. */
static const char *
verb(int kind)
{
	switch (kind) {
	case KIND_CALLBACK:	return "回电";
	case KIND_FOLLOWUP:	return "回访";
	case KIND_RENEWAL:	return "联系续约";
	case KIND_BIRTHDAY:	return "送上祝福";
	default:		return "处理";
	}
}

/* ---- an event rule's consequences ---- */

static int
on_matches(const struct conf_event_rule *r, const struct auto_change *row)
{
	switch (r->on) {
	case EV_TAG_ADDED:
		return row->event == AE_TAG_ADDED &&
		    strcmp(row->detail, r->on_arg) == 0;
	case EV_TAG_REMOVED:
		return row->event == AE_TAG_REMOVED &&
		    strcmp(row->detail, r->on_arg) == 0;
	case EV_STATUS_CHANGED:
		return row->event == AE_STATUS_CHANGED &&
		    strcmp(row->detail, r->on_arg) == 0;
	case EV_CUSTOMER_CREATED:
		return row->event == AE_CUSTOMER_CREATED;
	case EV_FOLLOWUP:
		return row->event == AE_FOLLOWUP;
	}
	return 0;
}

/* match[i] for the rows whose event is r's `on` and whose customer
 * satisfies its `when`: one query for the batch. */
static int
rule_matches(struct crmd *crmd, const struct conf_event_rule *r,
    const struct batch *b, unsigned char *match)
{
	struct rule_env env;
	int64_t *ids;
	size_t *at, k = 0;
	unsigned char *hit;
	char today[16];
	int rc = STORE_OK;

	for (size_t i = 0; i < b->n; i++)
		match[i] = on_matches(r, &b->rows[i]);
	if (r->when == NULL)
		return STORE_OK;
	ids = calloc(b->n, sizeof(*ids));
	at = calloc(b->n, sizeof(*at));
	hit = calloc(b->n, 1);
	if (ids == NULL || at == NULL || hit == NULL)
		rc = STORE_ERR;
	for (size_t i = 0; rc == STORE_OK && i < b->n; i++)
		if (match[i]) {
			at[k] = i;
			ids[k++] = b->rows[i].customer_id;
		}
	if (rc == STORE_OK && k > 0) {
		auto_env(&env, b->now, today, ids, k);
		rc = store_auto_match(crmd->store, r->when, &env, hit);
		for (size_t j = 0; rc == STORE_OK && j < k; j++)
			match[at[j]] = hit[j];
	}
	free(ids);
	free(at);
	free(hit);
	return rc;
}

static void
channel_list(unsigned mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int c = 0; c < CH_MAX; c++)
		if ((mask & CH_BIT(c)) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? "," : "", channel_name(c));
}

static int
make_reminder(struct crmd *crmd, const struct conf_event_rule *r,
    const struct auto_change *row, const struct auto_customer *c,
    const char *what, char *due, size_t duelen, int *made)
{
	struct auto_reminder nr;
	char key[256], source[160], note[600], within[32], channels[64];
	char detail[800];
	int64_t id;
	int rc;

	*made = 0;
	snprintf(key, sizeof(key), "event:%s:%lld", r->name, (long long)row->id);
	snprintf(source, sizeof(source), "rule:%s", r->name);
	within_text(r->remind_within, within, sizeof(within));
	if (r->remind_note != NULL)
		snprintf(note, sizeof(note), "%s", r->remind_note);
	else
		snprintf(note, sizeof(note), "%s：请在 %s内%s", what, within,
		    verb(r->remind_kind));
	channel_list(r->remind_channels, channels, sizeof(channels));
	memset(&nr, 0, sizeof(nr));
	nr.customer_id = c->id;
	nr.user_id = c->owner.id;
	nr.kind = kind_name(r->remind_kind);
	nr.due_at = row->at + r->remind_within;
	nr.channels = channels;
	nr.note = note;
	nr.source = source;
	nr.dedup_key = key;
	tz_format_local((time_t)nr.due_at, due, duelen);
	if ((rc = store_auto_event_reminder_add(crmd->store, &nr, &id)) !=
	    STORE_OK ||
	    id == 0)
		return rc;
	*made = 1;
	snprintf(detail, sizeof(detail), "%s reminder %lld for user %lld due "
	    "%s: %s (change %lld)", nr.kind, (long long)id, (long long)nr.user_id,
	    due, what, (long long)row->id);
	return store_audit(crmd->store, source, "event.reminder", c->id, detail);
}

/* The notice's text: the rule's own template, or the built-in words. */
static void
notice_text(const struct conf_event_rule *r, const struct auto_customer *c,
    const char *what, const char *due, char *buf, size_t len)
{
	struct tmpl *t;
	struct tmpl_vars v;
	char *err = NULL, *out = NULL;
	int line;

	if (r->notify_text == NULL) {
		snprintf(buf, len, "%s（规则「%s」）", what, r->name);
		if (due != NULL)
			snprintf(buf + strlen(buf), len - strlen(buf),
			    "，请在 %s 前%s", due, verb(r->remind_kind));
		return;
	}
	/* Checked at load; compiled here because the config keeps text. */
	memset(&v, 0, sizeof(v));
	v.v[TF_CUSTOMER_NAME] = c->name;
	v.v[TF_CUSTOMER_CODE] = c->code;
	v.v[TF_CUSTOMER_LEVEL] = c->level;
	v.v[TF_CUSTOMER_STATUS] = auto_status_label(c->status);
	v.v[TF_USER_NAME] = c->owner.name;
	v.v[TF_REMINDER_NOTE] = what;
	v.v[TF_REMINDER_DUE] = due;
	if ((t = tmpl_compile(r->notify_text, &err, &line)) != NULL)
		out = tmpl_render(t, &v, TE_TEXT);
	snprintf(buf, len, "%s", out != NULL ? out : r->notify_text);
	free(out);
	free(err);
	tmpl_free(t);
}

static int
send_notice(struct crmd *crmd, const struct conf_event_rule *r,
    const struct auto_change *row, const struct auto_customer *c,
    const char *what, const char *due, int64_t now)
{
	char key[256], source[160], note[1024], detail[1200];
	int rc;

	snprintf(key, sizeof(key), "event:%s:%lld:notify", r->name,
	    (long long)row->id);
	snprintf(source, sizeof(source), "rule:%s", r->name);
	notice_text(r, c, what, due, note, sizeof(note));
	struct auto_msg m = { KIND_EVENT, c, &c->owner, &c->owner, note, due,
	    r->notify_channels, key };
	if ((rc = auto_message_send(crmd, &m, now)) != STORE_OK)
		return rc;
	snprintf(detail, sizeof(detail), "user %lld told: %s (change %lld)",
	    (long long)c->owner.id, note, (long long)row->id);
	return store_audit(crmd->store, source, "event.notify", c->id, detail);
}

static int
apply_rule(struct events *ev, const struct conf_event_rule *r,
    const struct auto_change *row, const struct auto_customer *c,
    int64_t now)
{
	struct crmd *crmd = ev->crmd;
	char what[256], due[32], source[160], detail[400];
	int rc = STORE_OK, made = 0;

	describe(row, what, sizeof(what));
	if (c->owner.id == 0) {
		snprintf(source, sizeof(source), "rule:%s", r->name);
		snprintf(detail, sizeof(detail), "%s (change %lld): nothing "
		    "done, the customer has no active owner", what,
		    (long long)row->id);
		return store_audit(crmd->store, source, "event.skipped", c->id,
		    detail);
	}
	if (r->has_remind && (rc = make_reminder(crmd, r, row, c, what, due,
	    sizeof(due), &made)) != STORE_OK)
		return rc;
	ev->reminders |= made;
	if (r->has_notify)
		rc = send_notice(crmd, r, row, c, what, r->has_remind ? due :
		    NULL, now);
	return rc;
}

/* A follow-up ends the reminders event rules made for the customer. */
static int
cancel_event_reminders(struct events *ev, const struct auto_change *row)
{
	struct auto_cancelled *rows;
	char detail[300];
	size_t n;
	int rc;

	if ((rc = store_auto_event_reminders_cancel(ev->crmd->store,
	    row->customer_id, &rows, &n)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		snprintf(detail, sizeof(detail), "reminder %lld (%s) cancelled:"
		    " follow-up recorded (change %lld)", (long long)rows[i].id,
		    rows[i].source, (long long)row->id);
		rc = store_audit(ev->crmd->store, "crmd",
		    "event.reminder_cancelled", row->customer_id, detail);
	}
	ev->reminders |= n > 0;
	free(rows);
	return rc;
}

/* Stale flags and event reminders a follow-up or new status ends. */
static int
handle_builtin(struct events *ev, const struct auto_change *row, int64_t now)
{
	char cause[128];
	int rc, cleared;

	switch (row->event) {
	case AE_FOLLOWUP:
		if ((rc = stale_recheck(ev->crmd, row->customer_id, now,
		    "follow-up recorded", &cleared)) != STORE_OK)
			return rc;
		return cancel_event_reminders(ev, row);
	case AE_STATUS_CHANGED:
		snprintf(cause, sizeof(cause), "status changed to %s",
		    row->detail);
		return stale_recheck(ev->crmd, row->customer_id, now, cause,
		    &cleared);
	default:
		return STORE_OK;
	}
}

static int
handle_row(struct events *ev, const struct batch *b, size_t i)
{
	const struct conf_rules *r = &ev->crmd->conf->rules;
	const struct auto_change *row = &b->rows[i];
	struct auto_customer c;
	int rc, found = 0, loaded = 0;

	if ((rc = handle_builtin(ev, row, b->now)) != STORE_OK)
		return rc;
	for (size_t j = 0; j < r->nevent_rules && rc == STORE_OK; j++) {
		if (!b->match[j * b->n + i])
			continue;
		if (!loaded && (rc = store_auto_customer_get(ev->crmd->store,
		    row->customer_id, &c, &found)) != STORE_OK)
			break;
		loaded = 1;
		if (!found)
			break;		/* deleted since: nothing to do */
		rc = apply_rule(ev, &r->event_rules[j], row, &c, b->now);
	}
	if (loaded && found)
		store_auto_customer_free(&c);
	return rc;
}

static int
assign_new_customers(struct events *ev, const struct batch *b)
{
	int64_t *ids;
	size_t k = 0;
	int rc, n;

	if (ev->crmd->conf->rules.nassign == 0)
		return STORE_OK;
	if ((ids = calloc(b->n, sizeof(*ids))) == NULL)
		return STORE_ERR;
	for (size_t i = 0; i < b->n; i++)
		if (b->rows[i].event == AE_CUSTOMER_CREATED)
			ids[k++] = b->rows[i].customer_id;
	rc = assign_customers(ev->crmd, ids, k, b->now, &n);
	free(ids);
	return rc;
}

/* Every consequence of the rows, in the caller's transaction. */
static int
handle_rows(struct events *ev, struct auto_change *rows, size_t n)
{
	const struct conf_rules *r = &ev->crmd->conf->rules;
	struct batch b = { rows, n, NULL, time(NULL) };
	int rc;

	if ((rc = assign_new_customers(ev, &b)) != STORE_OK)
		return rc;
	if (r->nevent_rules > 0 &&
	    (b.match = calloc(r->nevent_rules, n)) == NULL)
		return STORE_ERR;
	for (size_t j = 0; j < r->nevent_rules && rc == STORE_OK; j++)
		rc = rule_matches(ev->crmd, &r->event_rules[j], &b,
		    &b.match[j * n]);
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = handle_row(ev, &b, i);
	free(b.match);
	return rc;
}

/* ---- batches ---- */

/* rows in one transaction that also moves the cursor past them. */
static int
commit_rows(struct events *ev, struct auto_change *rows, size_t n)
{
	struct store *st = ev->crmd->store;
	int rc, reminders = ev->reminders;

	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	if ((rc = handle_rows(ev, rows, n)) == STORE_OK &&
	    (rc = store_state_set(st, CURSOR_KEY, rows[n - 1].id)) == STORE_OK)
		rc = store_commit(st);
	else
		store_rollback(st);
	if (rc != STORE_OK)
		ev->reminders = reminders;
	return rc;
}

/* An event that fails on its own is passed over, with a trace. */
static int
skip_row(struct events *ev, const struct auto_change *row)
{
	struct store *st = ev->crmd->store;
	char detail[600];
	int rc;

	log_warnx("event rules: change %lld (customer %lld): %s; skipped",
	    (long long)row->id, (long long)row->customer_id,
	    store_errmsg(st));
	snprintf(detail, sizeof(detail), "change %lld could not be handled "
	    "and was skipped: %s", (long long)row->id, store_errmsg(st));
	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	if ((rc = store_audit(st, "crmd", "event.failed", row->customer_id,
	    detail)) == STORE_OK &&
	    (rc = store_state_set(st, CURSOR_KEY, row->id)) == STORE_OK)
		rc = store_commit(st);
	else
		store_rollback(st);
	return rc;
}

static int
rows_alone(struct events *ev, struct auto_change *rows, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = commit_rows(ev, &rows[i], 1);
		if (rc == STORE_ERR)
			rc = skip_row(ev, &rows[i]);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/*
 * The feed is empty after the cursor.  If its ids are now below the
 * cursor, somebody emptied the table (crmd itself always leaves the
 * newest row) and SQLite numbers from 1 again: read it from the start.
 */
static int
check_restart(struct events *ev, int64_t cursor, int *more)
{
	struct store *st = ev->crmd->store;
	int64_t head;
	int rc;

	if (cursor == 0 || (rc = store_auto_changes_head(st, &head)) !=
	    STORE_OK || head >= cursor)
		return cursor == 0 ? STORE_OK : rc;
	log_warnx("event rules: rule_changes ids restarted below %s %lld; "
	    "reading the table from its start", CURSOR_KEY, (long long)cursor);
	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	if ((rc = store_state_set(st, CURSOR_KEY, 0)) == STORE_OK)
		rc = store_commit(st);
	else
		store_rollback(st);
	*more = rc == STORE_OK && head > 0;
	return rc;
}

/* One batch: STORE_OK with *more when the feed holds more. */
static int
one_batch(struct events *ev, int *more)
{
	struct store *st = ev->crmd->store;
	struct auto_change *rows = NULL;
	int64_t cursor = 0, t0 = mono_us(), took;
	size_t n = 0;
	int rc, found;

	*more = 0;
	/* A read outside a transaction: only this process moves it. */
	if ((rc = store_state_get(st, CURSOR_KEY, &cursor, &found)) !=
	    STORE_OK || (rc = store_auto_changes_fetch(st, cursor, ev->batch,
	    &rows, &n)) != STORE_OK)
		return rc;
	if (n == 0)
		return check_restart(ev, cursor, more);
	if ((rc = commit_rows(ev, rows, n)) == STORE_ERR)
		rc = rows_alone(ev, rows, n);
	if (rc == STORE_OK) {
		ev->wrote = ev->trim = 1;
		*more = n == (size_t)ev->batch;
		took = mono_us() - t0;
		if (took > PIECE_US && ev->batch > BATCH_MIN)
			ev->batch /= 2;
		else if (took < PIECE_US / 2 && *more && ev->batch < BATCH_MAX)
			ev->batch *= 2;
	}
	store_auto_changes_free(rows, n);
	return rc;
}

/*
 * Deletes the rows both readers are past; *more when some are left.
 * *behind when the tagging engine's cursor held the cleanup back: it
 * moves on its own, so look again later.
 */
static int
trim(struct events *ev, int *more, int *behind)
{
	struct store *st = ev->crmd->store;
	int64_t mine = 0, theirs = 0;
	int rc, found, n = 0;

	*more = *behind = 0;
	if ((rc = store_state_get(st, CURSOR_KEY, &mine, &found)) !=
	    STORE_OK || (rc = store_state_get(st, RULES_CURSOR_KEY, &theirs,
	    &found)) != STORE_OK)
		return rc;
	/* A missing cursor is 0: nothing goes until the engine writes it. */
	*behind = theirs < mine;
	if (mine > theirs)
		mine = theirs;
	if (mine <= 0)
		return STORE_OK;
	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	if ((rc = store_auto_changes_trim(st, mine, TRIM_LIMIT, &n)) ==
	    STORE_OK)
		rc = store_commit(st);
	else
		store_rollback(st);
	if (rc == STORE_OK && n > 0)
		ev->write_at = mono_us() + AUTO_WRITE_GAP_MS * 1000;
	*more = rc == STORE_OK && n == TRIM_LIMIT;
	return rc;
}

/* ---- the pass ---- */

static void
pass_in(struct events *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev->ev_work, &tv);
}

void
events_kick(struct events *ev)
{
	if (ev != NULL && !ev->active) {
		ev->active = 1;
		event_del(ev->ev_work);
		event_active(ev->ev_work, EV_TIMEOUT, 0);
	}
}

/*
 * One transaction: a batch of the feed or, once the feed is drained, a
 * trim.  *again_ms: when to come back (-1: when kicked).
 */
static int
pass(struct events *ev, int *again_ms)
{
	int rc, more, later;

	*again_ms = -1;
	if ((rc = one_batch(ev, &more)) != STORE_OK)
		return rc;
	if (ev->wrote) {
		if (more || ev->trim)
			*again_ms = AUTO_WRITE_GAP_MS;
		return STORE_OK;
	}
	if (more)
		*again_ms = 0;		/* the cursor was reset: read again */
	if (!ev->trim)
		return STORE_OK;
	if ((rc = trim(ev, &more, &later)) != STORE_OK)
		return rc;
	if (more)
		*again_ms = AUTO_WRITE_GAP_MS;
	else if (later) {
		*again_ms = ev->trim_wait;
		if (ev->trim_wait < TRIM_RETRY_MAX)
			ev->trim_wait *= 2;
	} else {
		ev->trim = 0;
		ev->trim_wait = TRIM_RETRY_MS;
	}
	return STORE_OK;
}

static void
work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct events *ev = arg;
	int64_t early = ev->write_at - mono_us();
	int again, rc;

	ev->active = 0;
	if (ev->crmd->stopping)
		return;
	if (early > 0) {	/* a kick within the gap after a write */
		pass_in(ev, (int)((early + 999) / 1000));
		return;
	}
	ev->wrote = ev->reminders = 0;
	rc = pass(ev, &again);
	if (ev->wrote) {
		ev->write_at = mono_us() + AUTO_WRITE_GAP_MS * 1000;
		watch_own_commits(ev->crmd->watch);
		outbox_kick(ev->crmd->outbox);
		rules_kick(ev->crmd->rules);	/* owners assigned */
	}
	if (ev->reminders)
		sched_kick(ev->crmd->sched);	/* new due times, or fewer */
	if (rc == STORE_BUSY)
		pass_in(ev, BUSY_RETRY_MS);
	else if (rc == STORE_ERR) {
		log_warnx("event rules: %s; trying again",
		    store_errmsg(ev->crmd->store));
		pass_in(ev, ERROR_RETRY_MS);
	} else if (again >= 0)
		pass_in(ev, again);
}

struct events *
events_new(struct crmd *crmd)
{
	struct events *ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->crmd = crmd;
	ev->batch = BATCH_START;
	ev->trim = 1;
	ev->trim_wait = TRIM_RETRY_MS;
	if ((ev->ev_work = evtimer_new(crmd->base, work_cb, ev)) == NULL) {
		free(ev);
		return NULL;
	}
	events_kick(ev);	/* what arrived while crmd was stopped */
	return ev;
}

void
events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	event_free(ev->ev_work);
	free(ev);
}
