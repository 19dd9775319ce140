/*
 * The admin commands for reminders and plans: reminder.add, .list, .ack,
 * .snooze, .cancel; plan.add, .list, .pause, .resume; today.  Arguments
 * are checked strictly against each command's spec before anything else
 * happens.  Every change is one BEGIN IMMEDIATE transaction holding the
 * change and its audit row; a database locked by another program is a 503
 * at once (the loop's busy timeout is a few milliseconds), never a stall.
 * SQL lives in store_ctl.c; times on the wire are UTC instants plus their
 * local rendering in crmd's zone.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control_args.h"
#include "control_cmds.h"
#include "crmd.h"
#include "duration.h"
#include "kinds.h"
#include "log.h"
#include "peer.h"
#include "protocol.h"
#include "recur.h"
#include "scheduler.h"
#include "sources.h"
#include "store.h"
#include "store_ctl.h"
#include "store_reminders.h"
#include "tz.h"

#define LIST_DEFAULT	100
#define LIST_MAX	ARGS_LIST_MAX
#define NOTE_MAX	2000		/* bytes */
#define NAME_MAX_LEN	200
#define RRULE_MAX	1000
#define SNOOZE_MAX	(366 * 86400)

/* ---- values ---- */

static int
parse_at(const char *cmd, const char *name, const char *s, time_t *t,
    struct cmd_reply *r)
{
	if (tz_parse_local(s, t) == 0)
		return 0;
	reply_error(r, CRMD_BAD_REQUEST, "%s: bad %s '%.64s': want a local "
	    "time 'YYYY-MM-DD HH:MM' (crmd's timezone)", cmd, name, s);
	return -1;
}

/* "email,inapp" -> "inapp,email": one spelling for each set. */
static int
parse_channels(const char *cmd, const char *s, char *buf, size_t len,
    struct cmd_reply *r)
{
	unsigned mask;
	size_t off = 0;

	buf[0] = '\0';
	if (s == NULL)
		return 0;
	if (channel_mask_parse(s, &mask) == -1) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: bad channel list "
		    "'%.64s': use inapp, email, sms or webhook, joined by "
		    "commas", cmd, s);
		return -1;
	}
	for (int c = 0; c < CH_MAX; c++)
		if (mask & CH_BIT(c))
			off += snprintf(buf + off, len - off, "%s%s",
			    off ? "," : "", channel_name(c));
	return 0;
}

static int
parse_kind(const char *cmd, const char *s, struct cmd_reply *r)
{
	int k;

	if (s == NULL)
		return KIND_FOLLOWUP;
	if ((k = kind_from_name(s)) >= 0 && k < KIND_REMINDER_MAX)
		return k;
	reply_error(r, CRMD_BAD_REQUEST, "%s: unknown kind '%.32s': use "
	    "followup, callback, renewal, birthday or custom", cmd, s);
	return -1;
}

static const char *const states[] = {
	"pending", "fired", "acked", "snoozed", "cancelled", "missed", NULL
};

static int
state_ok(const char *s)
{
	for (size_t i = 0; states[i] != NULL; i++)
		if (strcmp(states[i], s) == 0)
			return 1;
	return 0;
}

static json_t *
json_id(int64_t v)
{
	return v == 0 ? json_null() : json_integer((json_int_t)v);
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
json_level(const char *level)
{
	return *level == '\0' ? json_null() : json_string(level);
}

/* ---- transactions ---- */

/* Maps a store failure onto the reply. */
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

static int
tx_begin(struct crmd *crmd, struct cmd_reply *r)
{
	int rc;

	if ((rc = store_begin(crmd->store)) == STORE_OK)
		return 0;
	store_error(crmd, rc, r);
	return -1;
}

/*
 * Commits when the handler's work (rc) succeeded and it set no error
 * reply; otherwise rolls back.  A commit wakes the scheduler: what is due
 * may have changed.
 */
static void
tx_end(struct crmd *crmd, int rc, struct cmd_reply *r)
{
	if (rc == STORE_OK && r->status == CRMD_OK)
		rc = store_commit(crmd->store);
	else if (rc == STORE_OK) {
		store_rollback(crmd->store);
		json_decref(r->data);
		r->data = NULL;
		return;
	}
	if (rc != STORE_OK) {
		store_rollback(crmd->store);
		store_error(crmd, rc, r);
		json_decref(r->data);
		r->data = NULL;
		return;
	}
	sched_kick(crmd->sched);
}

static int
audit(struct crmd *crmd, const struct peer *p, const char *action,
    int64_t customer_id, const char *detail)
{
	char actor[64];

	peer_actor(p, actor, sizeof(actor));
	return store_audit(crmd->store, actor, action, customer_id, detail);
}

/*
 * Inside the transaction: who gets a customer's reminders.  *user is the
 * given user or else the owner; an error reply when neither works.
 */
static int
resolve_user(struct crmd *crmd, const char *cmd, int64_t customer_id,
    int64_t *user, struct cmd_reply *r)
{
	struct ctl_customer c;
	int found, active, rc;

	if ((rc = store_ctl_customer_get(crmd->store, customer_id, &c,
	    &found)) != STORE_OK)
		return rc;
	if (!found) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: no customer %" PRId64,
		    cmd, customer_id);
		return STORE_OK;
	}
	if (*user == 0 && (*user = c.owner_id) == 0) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: customer %" PRId64 " has "
		    "no owner: pass --user ID", cmd, customer_id);
		return STORE_OK;
	}
	if ((rc = store_ctl_user_get(crmd->store, *user, &active, &found)) !=
	    STORE_OK)
		return rc;
	if (!found)
		reply_error(r, CRMD_BAD_REQUEST, "%s: no user %" PRId64, cmd,
		    *user);
	else if (!active)
		reply_error(r, CRMD_CONFLICT, "%s: user %" PRId64 " is "
		    "deactivated (users.active = 0)", cmd, *user);
	return STORE_OK;
}

/* ---- reminder.add ---- */

static const struct arg_spec add_spec[] = {
	{ "customer",	ARG_ID,		1, 0 },
	{ "at",		ARG_TEXT,	1, 64 },
	{ "user",	ARG_ID,		0, 0 },
	{ "kind",	ARG_TEXT,	0, 32 },
	{ "channel",	ARG_TEXT,	0, 64 },
	{ "note",	ARG_TEXT,	0, NOTE_MAX },
	{ NULL, 0, 0, 0 }
};

static int
add_tx(struct crmd *crmd, const struct peer *p, struct new_reminder *nr,
    struct cmd_reply *r)
{
	char detail[256], due[32];
	int64_t id;
	int rc;

	if ((rc = resolve_user(crmd, "reminder.add", nr->customer_id,
	    &nr->user_id, r)) != STORE_OK || r->status != CRMD_OK)
		return rc;
	if ((rc = store_reminder_insert(crmd->store, nr, &id)) != STORE_OK)
		return rc;
	tz_format_local((time_t)nr->due_at, due, sizeof(due));
	snprintf(detail, sizeof(detail), "reminder %" PRId64 " (%s) for user "
	    "%" PRId64 " due %s", id, nr->kind, nr->user_id, due);
	if ((rc = audit(crmd, p, "reminder.add", nr->customer_id, detail)) !=
	    STORE_OK)
		return rc;
	r->data = json_pack("{s:I, s:I, s:I, s:s, s:I, s:s}",
	    "id", (json_int_t)id,
	    "customer_id", (json_int_t)nr->customer_id,
	    "user_id", (json_int_t)nr->user_id,
	    "kind", nr->kind,
	    "due_at", (json_int_t)nr->due_at,
	    "due", due);
	return STORE_OK;
}

static void
cmd_reminder_add(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "reminder.add";
	struct new_reminder nr = { 0 };
	char channels[64];
	time_t due;
	int kind;

	if (args_check(cmd, add_spec, args, r) == -1 ||
	    parse_at(cmd, "time", arg_text(args, "at"), &due, r) == -1 ||
	    (kind = parse_kind(cmd, arg_text(args, "kind"), r)) == -1 ||
	    parse_channels(cmd, arg_text(args, "channel"), channels,
	    sizeof(channels), r) == -1)
		return;
	nr.customer_id = arg_int(args, "customer");
	nr.user_id = arg_int(args, "user");
	nr.kind = kind_name(kind);
	nr.due_at = due;
	nr.channels = channels;
	nr.note = arg_text(args, "note");
	nr.source = "crmctl";
	if (tx_begin(crmd, r) == -1)
		return;
	tx_end(crmd, add_tx(crmd, p, &nr, r), r);
}

/* ---- reminder.list, today ---- */

static json_t *
reminder_json(const struct ctl_reminder *m)
{
	return json_pack("{s:I, s:I, s:s, s:o, s:I, s:s, s:s, s:I, s:o, s:s,"
	    " s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:I}",
	    "id", (json_int_t)m->id,
	    "customer_id", (json_int_t)m->customer_id,
	    "customer", m->customer,
	    "level", json_level(m->level),
	    "user_id", (json_int_t)m->user_id,
	    "user", m->user,
	    "kind", m->kind,
	    "due_at", (json_int_t)m->due_at,
	    "due", json_local(m->due_at),
	    "state", m->state,
	    "channels", m->channels,
	    "note", m->note,
	    "source", m->source,
	    "plan_id", json_id(m->plan_id),
	    "late", m->late,
	    "fired_at", json_id(m->fired_at),
	    "acked_at", json_id(m->acked_at),
	    "snoozed_until", json_id(m->snoozed_until),
	    "escalated_at", json_id(m->escalated_at),
	    "created_at", (json_int_t)m->created_at);
}

/* The rows as a JSON array; for today, each says "overdue" or "today". */
static json_t *
reminders_json(const struct ctl_reminder *rows, size_t n, int64_t day_start)
{
	json_t *arr = json_array(), *o;

	for (size_t i = 0; arr != NULL && i < n; i++) {
		if ((o = reminder_json(&rows[i])) == NULL ||
		    (day_start != 0 && json_object_set_new(o, "when",
		    json_string(rows[i].due_at < day_start ? "overdue" :
		    "today")) == -1) || json_array_append_new(arr, o) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static const struct arg_spec list_spec[] = {
	{ "user",	ARG_ID,		0, 0 },
	{ "customer",	ARG_ID,		0, 0 },
	{ "state",	ARG_TEXT,	0, 16 },
	{ "limit",	ARG_COUNT,	0, 0 },
	{ NULL, 0, 0, 0 }
};

static void
cmd_reminder_list(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "reminder.list";
	struct ctl_reminder_filter f;
	struct ctl_reminder *rows;
	size_t n;
	int rc;

	if (args_check(cmd, list_spec, args, r) == -1)
		return;
	f.user_id = arg_int(args, "user");
	f.customer_id = arg_int(args, "customer");
	f.state = arg_text(args, "state");
	f.limit = (int)arg_int(args, "limit");
	if (f.limit == 0)
		f.limit = LIST_DEFAULT;
	if (f.state != NULL && !state_ok(f.state)) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: unknown state '%.16s': "
		    "use pending, fired, acked, snoozed, cancelled or missed",
		    cmd, f.state);
		return;
	}
	if ((rc = store_ctl_reminders_list(crmd->store, &f, &rows, &n)) !=
	    STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	r->data = reminders_json(rows, n, 0);
	store_ctl_reminders_free(rows, n);
}

static const struct arg_spec today_spec[] = {
	{ "user",	ARG_ID,		0, 0 },
	{ NULL, 0, 0, 0 }
};

static void
cmd_today(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	struct ctl_reminder *rows;
	struct tz_date d;
	time_t start, end;
	size_t n;
	int minute, rc;

	if (args_check("today", today_spec, args, r) == -1)
		return;
	/* The local calendar day, which is not always 24 hours long. */
	tz_utc_to_local(time(NULL), &d, &minute);
	start = tz_local_to_utc(&d, 0);
	tz_add_days(&d, 1);
	end = tz_local_to_utc(&d, 0);
	if ((rc = store_ctl_reminders_today(crmd->store, arg_int(args, "user"),
	    start, end, LIST_MAX, &rows, &n)) != STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	r->data = reminders_json(rows, n, start);
	store_ctl_reminders_free(rows, n);
}

/* ---- reminder.ack, .snooze, .cancel ---- */

enum change { CHG_ACK, CHG_SNOOZE, CHG_CANCEL };

static const struct {
	const char	*cmd;
	const char	*action;	/* audit_log.action */
	const char	*done;		/* new state */
	const char	*from;		/* allowed states, for messages */
	const char	*verb;
} changes[] = {
	[CHG_ACK] = { "reminder.ack", "reminder.ack", "acked",
	    "pending, fired or snoozed", "acknowledged" },
	[CHG_SNOOZE] = { "reminder.snooze", "reminder.snooze", "snoozed",
	    "fired or snoozed", "snoozed" },
	[CHG_CANCEL] = { "reminder.cancel", "reminder.cancel", "cancelled",
	    "pending, fired or snoozed", "cancelled" },
};

static int
change_allowed(enum change c, const char *state)
{
	if (strcmp(state, "fired") == 0 || strcmp(state, "snoozed") == 0)
		return 1;
	return c != CHG_SNOOZE && strcmp(state, "pending") == 0;
}

static int
change_apply(struct crmd *crmd, enum change c, int64_t id, int64_t now,
    int64_t until, int *changed)
{
	switch (c) {
	case CHG_ACK:
		return store_ctl_reminder_ack(crmd->store, id, now, changed);
	case CHG_SNOOZE:
		return store_ctl_reminder_snooze(crmd->store, id, until,
		    changed);
	case CHG_CANCEL:
		return store_ctl_reminder_cancel(crmd->store, id, changed);
	}
	return STORE_ERR;
}

/*
 * A plan's pending occurrence that is acknowledged or cancelled before it
 * fires would otherwise end the series (the next one is made when one
 * fires), so the plan moves on to its next occurrence here.
 */
static int
plan_moves_on(struct crmd *crmd, const struct ctl_reminder *m, int64_t now)
{
	if (m->plan_id == 0 || strcmp(m->state, "pending") != 0)
		return STORE_OK;
	return sources_plan_schedule(crmd, m->plan_id,
	    m->due_at > now ? m->due_at : now, now);
}

static int
change_tx(struct crmd *crmd, const struct peer *p, enum change c, int64_t id,
    int64_t secs, struct cmd_reply *r)
{
	struct ctl_reminder m;
	int64_t now = time(NULL), until = now + secs;
	char detail[256], when[32];
	int found, changed = 0, rc;

	if ((rc = store_ctl_reminder_get(crmd->store, id, &m, &found)) !=
	    STORE_OK)
		return rc;
	if (!found) {
		reply_error(r, CRMD_BAD_REQUEST, "no reminder %" PRId64, id);
		return STORE_OK;
	}
	if (!change_allowed(c, m.state) || (rc = change_apply(crmd, c, id, now,
	    until, &changed)) != STORE_OK || !changed) {
		if (rc == STORE_OK)
			reply_error(r, CRMD_CONFLICT, "reminder %" PRId64 " is "
			    "%s; only %s reminders can be %s", id, m.state,
			    changes[c].from, changes[c].verb);
		goto out;
	}
	if ((rc = plan_moves_on(crmd, &m, now)) != STORE_OK)
		goto out;
	tz_format_local((time_t)until, when, sizeof(when));
	if (c == CHG_SNOOZE)
		snprintf(detail, sizeof(detail), "reminder %" PRId64 " snoozed "
		    "until %s (was %s)", id, when, m.state);
	else
		snprintf(detail, sizeof(detail), "reminder %" PRId64 " %s "
		    "(was %s)", id, changes[c].done, m.state);
	if ((rc = audit(crmd, p, changes[c].action, m.customer_id, detail)) !=
	    STORE_OK)
		goto out;
	r->data = json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)id,
	    "state", changes[c].done, "previous", m.state,
	    "snoozed_until", c == CHG_SNOOZE ? json_integer(until) : json_null(),
	    "until", c == CHG_SNOOZE ? json_string(when) : json_null());
out:
	store_ctl_reminder_clear(&m);
	return rc;
}

static const struct arg_spec id_spec[] = {
	{ "id",		ARG_ID,		1, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct arg_spec snooze_spec[] = {
	{ "id",		ARG_ID,		1, 0 },
	{ "duration",	ARG_TEXT,	1, 32 },
	{ NULL, 0, 0, 0 }
};

static void
change(struct crmd *crmd, const struct peer *p, json_t *args, enum change c,
    struct cmd_reply *r)
{
	const char *cmd = changes[c].cmd, *dur = NULL;
	int64_t secs = 0;

	if (args_check(cmd, c == CHG_SNOOZE ? snooze_spec : id_spec, args,
	    r) == -1)
		return;
	if (c == CHG_SNOOZE && (duration_parse(dur = arg_text(args,
	    "duration"), &secs) == -1 || secs <= 0 || secs > SNOOZE_MAX)) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: bad duration '%.32s': "
		    "want e.g. 30m, 2h or 1d (at most 366d)", cmd, dur);
		return;
	}
	if (tx_begin(crmd, r) == -1)
		return;
	tx_end(crmd, change_tx(crmd, p, c, arg_int(args, "id"), secs, r), r);
}

static void
cmd_reminder_ack(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	change(crmd, p, args, CHG_ACK, r);
}

static void
cmd_reminder_snooze(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	change(crmd, p, args, CHG_SNOOZE, r);
}

static void
cmd_reminder_cancel(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	change(crmd, p, args, CHG_CANCEL, r);
}

/* ---- plans ---- */

static json_t *
plan_json(const struct ctl_plan *pl)
{
	return json_pack("{s:I, s:I, s:s, s:o, s:I, s:s, s:s, s:s, s:I, s:o,"
	    " s:o, s:s, s:b, s:o, s:o, s:o, s:I}",
	    "id", (json_int_t)pl->id,
	    "customer_id", (json_int_t)pl->customer_id,
	    "customer", pl->customer,
	    "level", json_level(pl->level),
	    "user_id", (json_int_t)pl->user_id,
	    "user", pl->user,
	    "name", pl->name,
	    "rrule", pl->rrule,
	    "dtstart", (json_int_t)pl->dtstart,
	    "start", json_local(pl->dtstart),
	    "until", json_id(pl->until),
	    "channels", pl->channels,
	    "active", pl->active,
	    "next_reminder_id", json_id(pl->next_id),
	    "next_at", json_id(pl->next_at),
	    "next", json_local(pl->next_at),
	    "created_at", (json_int_t)pl->created_at);
}

static const struct arg_spec plan_add_spec[] = {
	{ "customer",	ARG_ID,		1, 0 },
	{ "rrule",	ARG_TEXT,	1, RRULE_MAX },
	{ "start",	ARG_TEXT,	0, 64 },
	{ "name",	ARG_TEXT,	0, NAME_MAX_LEN },
	{ "channel",	ARG_TEXT,	0, 64 },
	{ "user",	ARG_ID,		0, 0 },
	{ NULL, 0, 0, 0 }
};

/* Inside the transaction: reads plan id back, as the reply. */
static int
plan_reply(struct crmd *crmd, int64_t id, struct cmd_reply *r,
    struct ctl_plan *pl)
{
	int found, rc;

	if ((rc = store_ctl_plan_get(crmd->store, id, pl, &found)) != STORE_OK)
		return rc;
	if (!found)
		return STORE_ERR;
	if ((r->data = plan_json(pl)) == NULL)
		reply_error(r, CRMD_INTERNAL, "out of memory");
	return STORE_OK;
}

static int
plan_add_tx(struct crmd *crmd, const struct peer *p, struct ctl_new_plan *np,
    struct cmd_reply *r)
{
	struct ctl_plan pl = { 0 };
	char detail[512], first[32];
	int64_t id, now = time(NULL);
	int rc;

	if ((rc = resolve_user(crmd, "plan.add", np->customer_id,
	    &np->user_id, r)) != STORE_OK || r->status != CRMD_OK)
		return rc;
	if ((rc = store_ctl_plan_add(crmd->store, np, &id)) != STORE_OK ||
	    (rc = sources_plan_schedule(crmd, id, now, now)) != STORE_OK ||
	    (rc = plan_reply(crmd, id, r, &pl)) != STORE_OK ||
	    r->status != CRMD_OK)
		goto out;
	if (pl.next_id == 0) {
		tz_format_local((time_t)now, first, sizeof(first));
		reply_error(r, CRMD_BAD_REQUEST, "plan.add: rule '%.200s' has no"
		    " occurrence after %s: check --start, UNTIL and COUNT",
		    np->rrule, first);
		goto out;
	}
	tz_format_local((time_t)pl.next_at, first, sizeof(first));
	snprintf(detail, sizeof(detail), "plan %" PRId64 " '%.200s' %.200s "
	    "for user %" PRId64 "; first %s (reminder %" PRId64 ")", id,
	    np->name ? np->name : "", np->rrule, np->user_id, first,
	    pl.next_id);
	rc = audit(crmd, p, "plan.add", np->customer_id, detail);
out:
	store_ctl_plan_clear(&pl);
	return rc;
}

static void
cmd_plan_add(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "plan.add";
	struct ctl_new_plan np = { 0 };
	char channels[64], *err = NULL;
	time_t start;

	if (args_check(cmd, plan_add_spec, args, r) == -1 ||
	    parse_channels(cmd, arg_text(args, "channel"), channels,
	    sizeof(channels), r) == -1)
		return;
	if (arg_text(args, "start") == NULL)
		start = (time(NULL) / 60 + 1) * 60;	/* next whole minute */
	else if (parse_at(cmd, "start", arg_text(args, "start"), &start,
	    r) == -1)
		return;
	np.rrule = arg_text(args, "rrule");
	if (recur_validate(np.rrule, &err) == -1) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: %s", cmd,
		    err ? err : "bad recurrence rule");
		free(err);
		return;
	}
	np.customer_id = arg_int(args, "customer");
	np.user_id = arg_int(args, "user");
	np.name = arg_text(args, "name");
	np.dtstart = start;
	np.channels = channels;
	if (tx_begin(crmd, r) == -1)
		return;
	tx_end(crmd, plan_add_tx(crmd, p, &np, r), r);
}

static const struct arg_spec plan_list_spec[] = {
	{ "user",	ARG_ID,		0, 0 },
	{ "customer",	ARG_ID,		0, 0 },
	{ "limit",	ARG_COUNT,	0, 0 },
	{ NULL, 0, 0, 0 }
};

static void
cmd_plan_list(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	struct ctl_plan_filter f;
	struct ctl_plan *rows;
	json_t *arr, *o;
	size_t n;
	int rc;

	if (args_check("plan.list", plan_list_spec, args, r) == -1)
		return;
	f.user_id = arg_int(args, "user");
	f.customer_id = arg_int(args, "customer");
	if ((f.limit = (int)arg_int(args, "limit")) == 0)
		f.limit = LIST_MAX;
	if ((rc = store_ctl_plans_list(crmd->store, &f, &rows, &n)) !=
	    STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if ((o = plan_json(&rows[i])) == NULL ||
		    json_array_append_new(arr, o) == -1) {
			json_decref(arr);
			arr = NULL;
		}
	r->data = arr;
	store_ctl_plans_free(rows, n);
}

/* plan.pause and plan.resume: flip active, then let sources.c cancel or
 * create the pending occurrence in the same transaction. */
static int
plan_switch_tx(struct crmd *crmd, const struct peer *p, int64_t id,
    int active, struct cmd_reply *r)
{
	const char *cmd = active ? "plan.resume" : "plan.pause";
	struct ctl_plan pl;
	int64_t now = time(NULL), was_next;
	char detail[256], next[32];
	int found, was_active, rc;

	if ((rc = store_ctl_plan_get(crmd->store, id, &pl, &found)) !=
	    STORE_OK)
		return rc;
	if (!found) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: no plan %" PRId64, cmd, id);
		return STORE_OK;
	}
	was_next = pl.next_id;
	was_active = pl.active;
	store_ctl_plan_clear(&pl);
	if (was_active == active) {
		reply_error(r, CRMD_CONFLICT, "plan %" PRId64 " is already %s",
		    id, active ? "active" : "paused");
		return STORE_OK;
	}
	if ((rc = store_ctl_plan_set_active(crmd->store, id, active)) !=
	    STORE_OK || (rc = sources_plan_schedule(crmd, id, now, now)) !=
	    STORE_OK || (rc = plan_reply(crmd, id, r, &pl)) != STORE_OK ||
	    r->status != CRMD_OK)
		goto out;
	if (active)
		snprintf(detail, sizeof(detail), "plan %" PRId64 " resumed; "
		    "next %s", id, pl.next_at ? tz_format_local(
		    (time_t)pl.next_at, next, sizeof(next)) : "none");
	else
		snprintf(detail, sizeof(detail), "plan %" PRId64 " paused; "
		    "reminder %" PRId64 " cancelled", id, was_next);
	if ((rc = audit(crmd, p, cmd, pl.customer_id, detail)) == STORE_OK &&
	    !active && json_object_set_new(r->data, "cancelled_reminder_id",
	    json_id(was_next)) == -1)
		reply_error(r, CRMD_INTERNAL, "out of memory");
out:
	store_ctl_plan_clear(&pl);
	return rc;
}

static void
plan_switch(struct crmd *crmd, const struct peer *p, json_t *args, int active,
    struct cmd_reply *r)
{
	if (args_check(active ? "plan.resume" : "plan.pause", id_spec, args,
	    r) == -1 || tx_begin(crmd, r) == -1)
		return;
	tx_end(crmd, plan_switch_tx(crmd, p, arg_int(args, "id"), active, r),
	    r);
}

static void
cmd_plan_pause(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	plan_switch(crmd, p, args, 0, r);
}

static void
cmd_plan_resume(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	plan_switch(crmd, p, args, 1, r);
}

const struct control_cmd reminder_commands[] = {
	{ "reminder.add",	0,		cmd_reminder_add },
	{ "reminder.list",	CMD_READONLY,	cmd_reminder_list },
	{ "reminder.ack",	0,		cmd_reminder_ack },
	{ "reminder.snooze",	0,		cmd_reminder_snooze },
	{ "reminder.cancel",	0,		cmd_reminder_cancel },
	{ "plan.add",		0,		cmd_plan_add },
	{ "plan.list",		CMD_READONLY,	cmd_plan_list },
	{ "plan.pause",		0,		cmd_plan_pause },
	{ "plan.resume",	0,		cmd_plan_resume },
	{ "today",		CMD_READONLY,	cmd_today },
};
const size_t reminder_ncommands =
    sizeof(reminder_commands) / sizeof(reminder_commands[0]);
