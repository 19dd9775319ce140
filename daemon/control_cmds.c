/*
 * The control command table and dispatcher.  A request is checked layer
 * by layer (JSON, shape, version, command, authorisation) before any
 * handler sees it; authorisation is decided here once, from the table's
 * CMD_READONLY flag, never inside handlers.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "conf.h"
#include "control.h"
#include "control_cmds.h"
#include "control_defer.h"
#include "crmd.h"
#include "log.h"
#include "outbox.h"
#include "peer.h"
#include "protocol.h"
#include "scheduler.h"
#include "store.h"

static void	cmd_ping(struct crmd *, const struct peer *, json_t *,
		    struct cmd_reply *);
static void	cmd_status(struct crmd *, const struct peer *, json_t *,
		    struct cmd_reply *);
static void	cmd_stats_reset(struct crmd *, const struct peer *, json_t *,
		    struct cmd_reply *);
static void	cmd_reload(struct crmd *, const struct peer *, json_t *,
		    struct cmd_reply *);

static const struct control_cmd commands[] = {
	{ "ping",	CMD_READONLY,	cmd_ping },
	{ "status",	CMD_READONLY,	cmd_status },
	{ "reload",	0,		cmd_reload },
	{ "stats.reset", 0,		cmd_stats_reset },
};
static const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

void
peer_actor(const struct peer *p, char *buf, size_t len)
{
	snprintf(buf, len, "uid:%d", (int)p->uid);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Precision and buffer limits can cut a character in half, and jansson
 * refuses invalid UTF-8: replace such bytes so an error always encodes.
 */
static void
utf8_repair(char *buf)
{
	unsigned char *p = (unsigned char *)buf;

	while (*p != '\0') {
		size_t n = utf8_seq(p);

		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
}

void
reply_error(struct cmd_reply *r, int status, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	utf8_repair(buf);
	r->status = status;
	free(r->error);
	r->error = strdup(buf);
}

static char *
encode(json_t *reply)
{
	char *text, *line;
	size_t len;

	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text == NULL)
		return NULL;
	len = strlen(text);
	if ((line = realloc(text, len + 2)) == NULL) {
		free(text);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

char *
control_error_reply(int status, const char *msg)
{
	return encode(json_pack("{s:i, s:i, s:s}", "v", CRMD_PROTO_VERSION,
	    "status", status, "error", msg));
}

static void
cmd_ping(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	r->data = json_pack("{s:b, s:I}", "pong", 1, "pid",
	    (json_int_t)getpid());
}

static json_t *
json_time_or_null(time_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
}

static json_t *
sched_json(const struct sched_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o,"
	    " s:{s:f, s:f, s:f, s:I}}",
	    "fired", (json_int_t)st->fired,
	    "late", (json_int_t)st->late,
	    "missed", (json_int_t)st->missed,
	    "escalated", (json_int_t)st->escalated,
	    "digests", (json_int_t)st->digests,
	    "wakeups", (json_int_t)st->wakeups,
	    "next_event", json_time_or_null((time_t)st->next_event),
	    "fire_latency_ms",
	      "p50", st->lat_p50_ms, "p99", st->lat_p99_ms,
	      "max", st->lat_max_ms, "count", (json_int_t)st->lat_count);
}

/* The outbox sender since start: the "delivery" object of status. */
static json_t *
delivery_json(const struct outbox *o)
{
	struct outbox_stats st;

	outbox_stats(o, &st);
	return json_pack("{s:I, s:I, s:I, s:I}",
	    "in_flight", (json_int_t)st.in_flight,
	    "sent", (json_int_t)st.sent,
	    "retried", (json_int_t)st.retried,
	    "dead", (json_int_t)st.dead);
}

static void
cmd_stats_reset(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	sched_reset_stats(crmd->sched);
	r->data = json_pack("{s:b}", "reset", 1);
}

static void
cmd_status(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	struct sched_stats st;
	struct store_counts n;
	char *err = NULL;
	int version = 0, rc;

	if ((rc = store_counts(crmd->store, &n)) == STORE_OK &&
	    store_schema_version(crmd->store, &version, &err) == -1)
		rc = STORE_ERR;
	if (rc != STORE_OK) {
		reply_error(r, rc == STORE_BUSY ? CRMD_UNAVAILABLE :
		    CRMD_INTERNAL, "cannot read the database: %s",
		    err ? err : store_errmsg(crmd->store));
		free(err);
		return;
	}
	sched_get_stats(crmd->sched, &st);
	r->data = json_pack("{s:s, s:i, s:I, s:I, s:I, s:s, s:o, s:s, s:i,"
	    " s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:o}",
	    "version", CRMD_VERSION,
	    "protocol", CRMD_PROTO_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime_s", (json_int_t)(crmd_mono_s() - crmd->started_mono),
	    "started_at", (json_int_t)crmd->started_at,
	    "config", crmd->conf->path,
	    "last_reload_at", json_time_or_null(crmd->last_reload_at),
	    "database", store_database(crmd->store),
	    "schema_version", version,
	    "timezone", crmd->conf->timezone,
	    "customers", (json_int_t)n.customers,
	    "reminders_pending", (json_int_t)n.reminders_pending,
	    "outbox",
	      "queued", (json_int_t)n.outbox_queued,
	      "sending", (json_int_t)n.outbox_sending,
	      "sent", (json_int_t)n.outbox_sent,
	      "dead", (json_int_t)n.outbox_dead,
	    "scheduler", sched_json(&st));
	if (r->data != NULL)
		json_object_set_new(r->data, "delivery",
		    delivery_json(crmd->outbox));
}

/* Splits "a, b" into a JSON array of names. */
static json_t *
split_list(const char *list)
{
	json_t *arr = json_array();
	char *copy, *tok, *save = NULL;

	if (list == NULL || (copy = strdup(list)) == NULL)
		return arr;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save))
		json_array_append_new(arr, json_string(tok));
	free(copy);
	return arr;
}

static void
cmd_reload(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	char *errors = NULL, *restart = NULL;

	if (crmd_reload(crmd, &errors, &restart) == -1) {
		reply_error(r, CRMD_CONFIG_INVALID, "%s",
		    errors ? errors : "reload failed");
		free(errors);
		return;
	}
	r->data = json_pack("{s:b, s:o}", "reloaded", 1,
	    "restart_needed", split_list(restart));
	free(restart);
}

static const struct {
	const struct control_cmd	*cmds;
	const size_t			*n;
} tables[] = {
	{ commands, &ncommands },
	{ reminder_commands, &reminder_ncommands },
	{ outbox_commands, &outbox_ncommands },
	{ rules_commands, &rules_ncommands },
	{ stale_commands, &stale_ncommands },
};

static const struct control_cmd *
find_command(const char *name)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (size_t i = 0; i < *tables[t].n; i++)
			if (strcmp(tables[t].cmds[i].name, name) == 0)
				return &tables[t].cmds[i];
	return NULL;
}

/* Denied: answer, and leave a durable trace of who tried what. */
static void
refuse(struct crmd *crmd, const struct peer *p, const char *cmd,
    enum peer_role role, struct cmd_reply *r)
{
	char actor[64], detail[256];
	int suppressed;

	if (audit_refusal_allowed(crmd->audit, p->uid, time(NULL),
	    &suppressed)) {
		peer_actor(p, actor, sizeof(actor));
		snprintf(detail, sizeof(detail), "cmd=%s pid=%d gid=%d role=%s"
		    "%s%.0d", cmd, (int)p->pid, (int)p->gid,
		    peer_role_name(role), suppressed ? " earlier_suppressed=" :
		    "", suppressed);
		log_notice("control: refused %s for uid %d pid %d", cmd,
		    (int)p->uid, (int)p->pid);
		audit_record(crmd->audit, actor, "control.refused", 0, detail);
	}
	if (role == PEER_NONE)
		reply_error(r, CRMD_FORBIDDEN, "uid %d is not authorised to use "
		    "crmd; an admin can add you to read_group or admin_group "
		    "in crmd.conf", (int)p->uid);
	else
		reply_error(r, CRMD_FORBIDDEN, "'%s' needs admin rights; uid "
		    "%d may only run read-only commands", cmd, (int)p->uid);
}

/* Validates shape and version; returns the command or sets an error. */
static const struct control_cmd *
check_request(json_t *req, json_t **args, struct cmd_reply *r)
{
	json_t *v, *cmd;
	const struct control_cmd *c;
	const char *key;
	json_t *val;

	if (!json_is_object(req)) {
		reply_error(r, CRMD_BAD_REQUEST, "request must be a JSON object");
		return NULL;
	}
	json_object_foreach(req, key, val) {
		if (strcmp(key, "v") && strcmp(key, "cmd") && strcmp(key, "args")) {
			reply_error(r, CRMD_BAD_REQUEST, "unknown request key "
			    "'%.64s'", key);
			return NULL;
		}
	}
	v = json_object_get(req, "v");
	if (!json_is_integer(v)) {
		reply_error(r, CRMD_BAD_REQUEST, "request needs \"v\": %d",
		    CRMD_PROTO_VERSION);
		return NULL;
	}
	if (json_integer_value(v) != CRMD_PROTO_VERSION) {
		reply_error(r, CRMD_BAD_VERSION, "protocol version %lld not "
		    "supported; this crmd speaks %d", (long long)
		    json_integer_value(v), CRMD_PROTO_VERSION);
		return NULL;
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd)) {
		reply_error(r, CRMD_BAD_REQUEST, "request needs a \"cmd\" string");
		return NULL;
	}
	*args = json_object_get(req, "args");
	if (*args != NULL && !json_is_object(*args)) {
		reply_error(r, CRMD_BAD_REQUEST, "\"args\" must be an object");
		return NULL;
	}
	if ((c = find_command(json_string_value(cmd))) == NULL)
		reply_error(r, CRMD_UNKNOWN_COMMAND, "unknown command '%.64s'; "
		    "crmctl help lists them", json_string_value(cmd));
	return c;
}

char *
control_reply_line(struct cmd_reply *r)
{
	json_t *reply;
	char *out;

	if (r->status == CRMD_OK && r->data == NULL)
		reply_error(r, CRMD_INTERNAL, "out of memory");
	if (r->status == CRMD_OK)
		reply = json_pack("{s:i, s:i, s:o}", "v", CRMD_PROTO_VERSION,
		    "status", r->status, "data", r->data);
	else {
		json_decref(r->data);
		reply = json_pack("{s:i, s:i, s:s}", "v", CRMD_PROTO_VERSION,
		    "status", r->status, "error", r->error ? r->error : "error");
	}
	r->data = NULL;
	free(r->error);
	r->error = NULL;
	if ((out = encode(reply)) == NULL)
		out = strdup("{\"v\":1,\"status\":500,\"error\":"
		    "\"cannot encode the reply\"}\n");
	return out;
}

char *
control_dispatch(struct crmd *crmd, const struct peer *p, const char *line,
    size_t len, int *close_after, struct cmd_defer **deferred)
{
	struct cmd_reply r = { .status = CRMD_OK };
	const struct control_cmd *c = NULL;
	json_t *req, *args = NULL;
	json_error_t jerr;
	char *early;
	enum peer_role role;

	*deferred = NULL;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		reply_error(&r, CRMD_BAD_REQUEST, "malformed JSON at column %d: "
		    "%s", jerr.column, jerr.text);
		*close_after = 1;	/* framing can no longer be trusted */
	} else if ((c = check_request(req, &args, &r)) != NULL) {
		role = peer_role(p, crmd->conf);
		if (role == PEER_ADMIN ||
		    (role == PEER_READ && (c->flags & CMD_READONLY)))
			c->exec(crmd, p, args, &r);
		else {
			refuse(crmd, p, c->name, role, &r);
			/* A stranger has nothing more to ask: hang up. */
			*close_after = role == PEER_NONE;
		}
	}
	json_decref(req);
	if (r.defer == NULL)
		return control_reply_line(&r);
	json_decref(r.data);	/* a deferring handler fills nothing */
	free(r.error);
	if (cmd_defer_early(r.defer, &early))
		return early;
	*deferred = r.defer;
	return NULL;
}
