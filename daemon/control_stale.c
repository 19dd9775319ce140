/*
 * The admin commands for stale flags: stale.list (read-only) and
 * stale.sweep, which starts a sweep and, asked again with its id, says
 * whether it has finished and what it did.  A sweep runs in steps on the
 * event loop (stale.c), so the request is answered at once and crmctl
 * polls; nothing here holds the loop.  SQL lives in store_automation.c.
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "control_cmds.h"
#include "crmd.h"
#include "protocol.h"
#include "stale.h"
#include "store.h"
#include "store_automation.h"
#include "tz.h"

#define LIST_DEFAULT	100
#define LIST_MAX	10000
#define DAY		86400

/* args holds only the keys in known, each a positive integer (or null);
 * *vals gets them in order, 0 when absent. */
static int
int_args(const char *cmd, json_t *args, const char *const *known,
    const int64_t *max, int64_t *vals, struct cmd_reply *r)
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
		if (json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    (max[i] > 0 && json_integer_value(v) > max[i])) {
			if (max[i] > 0)
				reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must "
				    "be an integer from 1 to %lld", cmd, key,
				    (long long)max[i]);
			else
				reply_error(r, CRMD_BAD_REQUEST, "%s: '%s' must "
				    "be a positive integer id", cmd, key);
			return -1;
		}
		vals[i] = json_integer_value(v);
	}
	return 0;
}

static void
store_error(struct crmd *crmd, int rc, struct cmd_reply *r)
{
	if (rc == STORE_BUSY)
		reply_error(r, CRMD_UNAVAILABLE, "database busy, try again");
	else
		reply_error(r, CRMD_INTERNAL, "cannot read the database: %s",
		    store_errmsg(crmd->store));
}

static json_t *
json_time(int64_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
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
flag_json(const struct auto_flag_row *f, int64_t now)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:s,"
	    " s:I, s:o, s:I, s:o, s:o, s:o}",
	    "flag_id", (json_int_t)f->id,
	    "customer_id", (json_int_t)f->customer_id,
	    "customer", f->customer,
	    "code", f->code,
	    "level", *f->level != '\0' ? json_string(f->level) : json_null(),
	    "status", f->status,
	    "owner_id", f->owner_id != 0 ? json_integer(f->owner_id) :
	    json_null(),
	    "owner", f->owner_id != 0 ? json_string(f->owner) : json_null(),
	    "reason", f->reason,
	    "days", (json_int_t)((now - f->last) / DAY),
	    "last_contact", json_local(f->last),
	    "since_at", (json_int_t)f->since,
	    "since", json_local(f->since),
	    "notified_at", json_time(f->notified_at),
	    "escalated_at", json_time(f->escalated_at));
}

static void
cmd_stale_list(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char *const known[] = { "user", "limit", NULL };
	static const int64_t max[] = { 0, LIST_MAX };
	int64_t vals[2] = { 0, 0 }, now = time(NULL);
	struct auto_flag_row *rows;
	json_t *arr, *o;
	size_t n;
	int rc;

	if (int_args("stale.list", args, known, max, vals, r) == -1)
		return;
	if ((rc = store_auto_flags_list(crmd->store, vals[0], vals[1] ?
	    (int)vals[1] : LIST_DEFAULT, now, &rows, &n)) != STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if ((o = flag_json(&rows[i], now)) == NULL ||
		    json_array_append_new(arr, o) == -1) {
			json_decref(arr);
			arr = NULL;
		}
	r->data = arr;
	store_auto_flags_list_free(rows, n);
}

static json_t *
sweep_json(const struct stale_sweep *s)
{
	return json_pack("{s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "id", (json_int_t)s->id, "done", 1,
	    "started_at", (json_int_t)s->started_at,
	    "finished_at", (json_int_t)s->finished_at,
	    "flagged", (json_int_t)s->flagged,
	    "cleared", (json_int_t)s->cleared,
	    "notified", (json_int_t)s->notified,
	    "escalated", (json_int_t)s->escalated);
}

static void
cmd_stale_sweep(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char *const known[] = { "id", NULL };
	static const int64_t max[] = { 0 };
	struct stale_sweep s;
	int64_t id = 0;

	if (int_args("stale.sweep", args, known, max, &id, r) == -1)
		return;
	if (id == 0) {
		id = stale_sweep_request(crmd->stale);
		r->data = json_pack("{s:I, s:b}", "id", (json_int_t)id,
		    "done", 0);
		return;
	}
	switch (stale_sweep_result(crmd->stale, id, &s)) {
	case 1:
		r->data = sweep_json(&s);
		break;
	case 0:
		r->data = json_pack("{s:I, s:b}", "id", (json_int_t)id,
		    "done", 0);
		break;
	default:
		reply_error(r, CRMD_CONFLICT, "stale.sweep: no result for sweep "
		    "%lld (a later one has finished since, or it was never "
		    "started): start a new one", (long long)id);
	}
}

const struct control_cmd stale_commands[] = {
	{ "stale.list",		CMD_READONLY,	cmd_stale_list },
	{ "stale.sweep",	0,		cmd_stale_sweep },
};
const size_t stale_ncommands = sizeof(stale_commands) /
    sizeof(stale_commands[0]);
