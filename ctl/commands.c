/*
 * The command table and its handlers.  A new command is one row in
 * cmd_table and one handler; list commands hand an out_column spec and
 * the daemon's array to out_list().  Whether a command is read-only or
 * admin is decided by crmd, once, in its dispatcher: the access column
 * here only tells the admin what to expect.
 *
 * Handlers return an exit code.  Errors go to ctx->err with a hint on what
 * to do next; stdout carries only the result.
 */
#include "crmctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_outbox.h"
#include "cmd_rules.h"
#include "cmd_stale.h"
#include "duration.h"
#include "protocol.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define GLOBAL_USAGE	"crmctl [-j] [-s SOCKET] [-t DURATION]"

static int	cmd_help_exec(struct ctx *, const struct args *);
static int	cmd_ping_exec(struct ctx *, const struct args *);
static int	cmd_reload_exec(struct ctx *, const struct args *);
static int	cmd_status_exec(struct ctx *, const struct args *);

/* Keep sorted by name: `crmctl help` lists them in this order. */
const struct cmd_entry cmd_table[] = {
	{ "help", "[COMMAND]", "list commands, or show one command's usage",
	    NULL, 0, 2, CMD_LOCAL, cmd_help_exec },
	{ "log", "[--customer ID] [--limit N]",
	    "the audit log, newest first: who changed what (rules, crmctl)",
	    "c:l:", 0, -1, CMD_READONLY, cmd_log_exec },
	{ "outbox list", "[--state STATE] [--channel CHANNEL] [--limit N]",
	    "list outbox messages, newest first",
	    "S:C:l:", 0, 0, CMD_READONLY, cmd_outbox_list_exec },
	{ "outbox purge", "--sent --older-than DURATION",
	    "delete sent messages older than DURATION (e.g. 30d)",
	    "To:", 0, 0, CMD_ADMIN, cmd_outbox_purge_exec },
	{ "outbox retry", "ID | --dead",
	    "queue a dead message (or every dead one) again, due now",
	    "D", 0, 1, CMD_ADMIN, cmd_outbox_retry_exec },
	{ "outbox show", "ID", "show one outbox message, with its last error",
	    NULL, 1, 1, CMD_READONLY, cmd_outbox_show_exec },
	{ "ping", "", "check that crmd answers, and how fast",
	    NULL, 0, 0, CMD_READONLY, cmd_ping_exec },
	{ "plan add", "--customer ID --rrule RULE [--start TIME] [--name TEXT]"
	    " [--channel LIST] [--user ID]",
	    "create a recurring follow-up plan (RFC 5545 RRULE) from TIME",
	    "c:r:b:N:C:u:", 0, 0, CMD_ADMIN, cmd_plan_add_exec },
	{ "plan list", "[--customer ID] [--user ID] [--limit N]",
	    "list follow-up plans and their next occurrence",
	    "c:u:l:", 0, 0, CMD_READONLY, cmd_plan_list_exec },
	{ "plan pause", "ID", "pause a plan; its pending occurrence is cancelled",
	    NULL, 1, 1, CMD_ADMIN, cmd_plan_pause_exec },
	{ "plan resume", "ID", "resume a paused plan from its next occurrence",
	    NULL, 1, 1, CMD_ADMIN, cmd_plan_resume_exec },
	{ "reload", "", "re-read crmd.conf; on error crmd keeps the old one",
	    NULL, 0, 0, CMD_ADMIN, cmd_reload_exec },
	{ "reminder ack", "ID", "acknowledge a reminder",
	    NULL, 1, 1, CMD_ADMIN, cmd_reminder_ack_exec },
	{ "reminder add", "--customer ID --at TIME [--user ID] [--kind KIND]"
	    " [--channel LIST] [--note TEXT]",
	    "add a reminder at TIME (local 'YYYY-MM-DD HH:MM'); prints its id",
	    "c:a:u:k:C:n:", 0, 0, CMD_ADMIN, cmd_reminder_add_exec },
	{ "reminder cancel", "ID", "cancel a pending, fired or snoozed reminder",
	    NULL, 1, 1, CMD_ADMIN, cmd_reminder_cancel_exec },
	{ "reminder list", "[--user ID] [--customer ID] [--state STATE]"
	    " [--limit N]", "list reminders by due time",
	    "u:c:S:l:", 0, 0, CMD_READONLY, cmd_reminder_list_exec },
	{ "reminder snooze", "ID DURATION",
	    "put a fired reminder off: it fires again after DURATION (30m, 2h, 1d)",
	    NULL, 2, 2, CMD_ADMIN, cmd_reminder_snooze_exec },
	{ "rule list", "", "the rules in force, and how many customers each "
	    "matched in the last sweep",
	    NULL, 0, -1, CMD_READONLY, cmd_rule_list_exec },
	{ "rule run", "[NAME] [--wait DURATION]",
	    "sweep every tagging rule (or NAME) over every customer now",
	    "w:", 0, -1, CMD_ADMIN, cmd_rule_run_exec },
	{ "rule test", "NAME [--limit N]",
	    "dry run: who matches, with the facts, and which tags would change",
	    "l:", 0, -1, CMD_READONLY, cmd_rule_test_exec },
	{ "stale list", "[--user ID] [--limit N]",
	    "customers flagged stale (no follow-up for too long), oldest first",
	    "u:l:", 0, 0, CMD_READONLY, cmd_stale_list_exec },
	{ "stale sweep", "[--wait DURATION]",
	    "look for stale customers now, and wait for the result",
	    "w:", 0, 0, CMD_ADMIN, cmd_stale_sweep_exec },
	{ "status", "", "show crmd's version, uptime, database and queues",
	    NULL, 0, 0, CMD_READONLY, cmd_status_exec },
	{ "tags", "CUSTOMER_ID", "a customer's tags, with who applied them",
	    NULL, 0, -1, CMD_READONLY, cmd_tags_exec },
	{ "test-send", "email|sms|webhook [RECIPIENT] [--wait DURATION]",
	    "queue a test message and wait until it is sent or dead",
	    "w:", 1, -1, CMD_ADMIN, cmd_test_send_exec },
	{ "today", "[--user ID]",
	    "today's due and overdue reminders, by customer level then time",
	    "u:", 0, 0, CMD_READONLY, cmd_today_exec },
};
const size_t cmd_count = NITEMS(cmd_table);

/* How many leading argv words spell name ("reminder add" is two). */
static int
name_match(const char *name, int argc, char **argv)
{
	int words = 0;
	size_t n;

	while (*name != '\0') {
		n = strcspn(name, " ");
		if (words >= argc || strlen(argv[words]) != n ||
		    strncmp(argv[words], name, n) != 0)
			return 0;
		words++;
		name += n;
		name += strspn(name, " ");
	}
	return words;
}

/* The entry whose name is the longest match for argv; *used = its words. */
const struct cmd_entry *
cmd_find(int argc, char **argv, int *used)
{
	const struct cmd_entry *best = NULL;
	int n;

	*used = 0;
	for (size_t i = 0; i < cmd_count; i++) {
		if ((n = name_match(cmd_table[i].name, argc, argv)) > *used) {
			best = &cmd_table[i];
			*used = n;
		}
	}
	return best;
}

const char *
cmd_access_str(enum cmd_access a)
{
	switch (a) {
	case CMD_LOCAL:		return "local";
	case CMD_READONLY:	return "read-only";
	case CMD_ADMIN:		return "admin";
	}
	return "?";
}

void
cmd_print_usage(FILE *fp, const struct cmd_entry *cmd)
{
	if (cmd == NULL)
		fprintf(fp, "usage: " GLOBAL_USAGE " COMMAND [ARGS]\n"
		    "       crmctl help | --version\n");
	else
		fprintf(fp, "usage: " GLOBAL_USAGE " %s%s%s\n", cmd->name,
		    *cmd->usage != '\0' ? " " : "", cmd->usage);
}

static json_t *
cmd_json(const struct cmd_entry *cmd)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "name", cmd->name,
	    "usage", cmd->usage, "access", cmd_access_str(cmd->access),
	    "summary", cmd->summary);
}

static int
help_one(struct ctx *ctx, const struct cmd_entry *cmd)
{
	static const char *access_help[] = {
		[CMD_LOCAL] = "runs in crmctl, needs no daemon",
		[CMD_READONLY] = "members of crmd's read or admin group",
		[CMD_ADMIN] = "members of crmd's admin group",
	};
	json_t *j;
	int rv;

	if (ctx->settings->format == OUT_JSON) {
		if ((j = cmd_json(cmd)) == NULL)
			return EXIT_DAEMON;
		rv = out_json(ctx->out, j);
		json_decref(j);
		return rv == 0 ? EXIT_OK : EXIT_DAEMON;
	}
	cmd_print_usage(ctx->out, cmd);
	fprintf(ctx->out, "%s\naccess: %s (%s)\n", cmd->summary,
	    cmd_access_str(cmd->access), access_help[cmd->access]);
	return EXIT_OK;
}

static const char options_help[] =
    "\noptions:\n"
    "  -s, --socket SOCKET    crmd's socket (default " CRMD_DEFAULT_SOCKET ")\n"
    "  -j, --json             machine output: JSON with stable keys\n"
    "  -t, --timeout DURATION give up on crmd after DURATION (default 30s)\n"
    "  -h, --help             this list; COMMAND -h for one command\n"
    "  -V, --version          crmctl's version\n"
    "\nexit: 0 ok, 1 crmd reported an error, 2 usage, 3 cannot connect\n";

static int
help_all(struct ctx *ctx)
{
	static const struct out_column cols[] = {
		{ "COMMAND", "name", ALIGN_LEFT },
		{ "ARGUMENTS", "usage", ALIGN_LEFT },
		{ "ACCESS", "access", ALIGN_LEFT },
		{ "DESCRIPTION", "summary", ALIGN_LEFT },
	};
	json_t *list = json_array();
	int human = ctx->settings->format == OUT_TABLE, rv = -1;

	for (size_t i = 0; list != NULL && i < cmd_count; i++)
		if (json_array_append_new(list, cmd_json(&cmd_table[i])) == -1)
			goto out;
	if (human) {
		cmd_print_usage(ctx->out, NULL);
		fputc('\n', ctx->out);
	}
	if ((rv = out_list(ctx->out, ctx->settings->format, cols,
	    NITEMS(cols), list)) == 0 && human)
		fputs(options_help, ctx->out);
out:
	json_decref(list);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

/* Help for cmd, or for all commands when cmd is NULL. */
int
cmd_help(struct ctx *ctx, const struct cmd_entry *cmd)
{
	return cmd == NULL ? help_all(ctx) : help_one(ctx, cmd);
}

static int
cmd_help_exec(struct ctx *ctx, const struct args *args)
{
	const struct cmd_entry *cmd;
	int used;

	if (args->argc == 0)
		return help_all(ctx);
	cmd = cmd_find(args->argc, args->argv, &used);
	if (cmd == NULL || used != args->argc) {
		out_errorx(ctx->err, "help: unknown command \"%s\"",
		    args->argv[0]);
		cmd_print_usage(ctx->err, &cmd_table[0]);
		return EXIT_USAGE;
	}
	return help_one(ctx, cmd);
}

int
cmd_run(struct ctx *ctx, const struct cmd_entry *cmd, const struct args *args)
{
	return cmd->exec(ctx, args);
}

enum client_fail
ctx_socket_call(struct ctx *ctx, const char *cmd, json_t *args,
    struct reply *r, char *err, size_t errlen)
{
	return client_call(ctx->settings->socket, ctx->settings->timeout_s,
	    CTL_MAX_REPLY, cmd, args, r, err, errlen);
}

static void
connect_hint(struct ctx *ctx, int error_no)
{
	if (error_no == EACCES || error_no == EPERM)
		fputs("  you may not open the socket: ask an admin to add you "
		    "to the crmd read or admin group\n", ctx->err);
	else
		fputs("  is crmd running? (systemctl status crmd) \xe2\x80\x94 "
		    "or pass -s SOCKET / set socket= in ~/.config/crmctl.ini\n",
		    ctx->err);
}

/*
 * Sends one request.  Returns EXIT_OK with *r filled (any status), or
 * the exit code after telling the user why there is no reply.
 */
static int
call(struct ctx *ctx, const char *cmd, json_t *args, struct reply *r)
{
	char err[512];
	enum client_fail f;
	int error_no;

	f = ctx->call(ctx, cmd, args, r, err, sizeof(err));
	error_no = errno;
	if (f == CLIENT_OK)
		return EXIT_OK;
	out_errorx(ctx->err, "%s", err);
	if (f == CLIENT_CONNECT) {
		connect_hint(ctx, error_no);
		return EXIT_CONNECT;
	}
	return EXIT_DAEMON;
}

static const char *
status_hint(int status)
{
	switch (status) {
	case CRMD_FORBIDDEN:
		return "ask an admin to add you to the crmd read or admin group";
	case CRMD_UNKNOWN_COMMAND:
		return "crmd may be older than crmctl: compare crmctl --version "
		    "with crmctl status";
	case CRMD_INTERNAL:
		return "see crmd's log: journalctl -u crmd";
	case CRMD_UNAVAILABLE:	/* database busy, too many clients, ... */
		return "try again in a moment";
	case CRMD_BAD_VERSION:
		return "crmctl and crmd speak different protocol versions: "
		    "install matching versions";
	default:
		return NULL;
	}
}

/* Reports a non-200 reply; returns the exit code for it. */
static int
report_status(struct ctx *ctx, const struct reply *r)
{
	const char *what = crmd_result_str(r->status);
	const char *hint = status_hint(r->status);

	if (hint != NULL && strstr(r->error, "try again") != NULL)
		hint = NULL;	/* crmd said it already */
	if (strcmp(r->error, what) == 0)
		out_errorx(ctx->err, "%s%s%s%s", what, hint ? " (" : "",
		    hint ? hint : "", hint ? ")" : "");
	else
		out_errorx(ctx->err, "%s: %s%s%s%s", what, r->error,
		    hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	return EXIT_DAEMON;
}

/*
 * One exchange for a command that only needs the data: EXIT_OK with *r
 * holding a 200 reply (free it), or the exit code after reporting why not.
 */
int
cmd_request(struct ctx *ctx, const char *cmd, json_t *args, struct reply *r)
{
	int rv;

	if ((rv = call(ctx, cmd, args, r)) != EXIT_OK)
		return rv;
	if (r->status == CRMD_OK)
		return EXIT_OK;
	rv = report_status(ctx, r);
	reply_free(r);
	return rv;
}

static int
print_json(struct ctx *ctx, const json_t *j)
{
	return out_json(ctx->out, j) == 0 ? EXIT_OK : EXIT_DAEMON;
}

/* ping */

static int
cmd_ping_exec(struct ctx *ctx, const struct args *args)
{
	struct reply r;
	json_t *j;
	char *pid;
	int rv;

	if ((rv = call(ctx, "ping", NULL, &r)) != EXIT_OK)
		return rv;
	if (r.status != CRMD_OK)
		rv = report_status(ctx, &r);
	else if (ctx->settings->format == OUT_JSON) {
		j = json_pack("{s:b, s:O?, s:f}", "pong", 1, "pid",
		    json_object_get(r.data, "pid"), "rtt_ms",
		    (double)(int64_t)(r.rtt_ms * 1000.0 + 0.5) / 1000.0);
		rv = j != NULL ? print_json(ctx, j) : EXIT_DAEMON;
		json_decref(j);
	} else if ((pid = json_cell(json_object_get(r.data, "pid"))) != NULL) {
		fprintf(ctx->out, "pong from crmd pid %s in %.1f ms\n", pid,
		    r.rtt_ms);
		free(pid);
	} else
		rv = EXIT_DAEMON;
	reply_free(&r);
	return rv;
}

/* status */

/* "2024-05-01 09:30:00 (3h ago)", times as crmd saw them. */
static char *
when_cell(const json_t *data, const char *key)
{
	const json_t *at = json_object_get(data, key);
	json_int_t t, started, up;
	char date[64], ago[64], *s;
	struct tm tm;
	time_t tt;

	if (!json_is_integer(at))
		return strdup(json_is_null(at) ? "never" : "-");
	t = json_integer_value(at);
	tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return strdup("-");
	started = json_integer_value(json_object_get(data, "started_at"));
	up = json_integer_value(json_object_get(data, "uptime_s"));
	if (started <= 0 || started + up < t)
		return strdup(date);
	duration_format(started + up - t, ago, sizeof(ago));
	return asprintf(&s, "%s (%s ago)", date, ago) == -1 ? NULL : s;
}

static char *
uptime_cell(const json_t *data)
{
	const json_t *up = json_object_get(data, "uptime_s");
	char buf[64];

	if (!json_is_integer(up))
		return strdup("-");
	return strdup(duration_format(json_integer_value(up), buf,
	    sizeof(buf)));
}

static const struct {
	const char	*label;
	const char	*key;
	const char	*subkey;	/* within key's object */
} status_rows[] = {
	{ "version", "version", NULL },
	{ "pid", "pid", NULL },
	{ "uptime", "uptime_s", NULL },
	{ "database", "database", NULL },
	{ "schema version", "schema_version", NULL },
	{ "config", "config", NULL },
	{ "last reload", "last_reload_at", NULL },
	{ "timezone", "timezone", NULL },
	{ "customers", "customers", NULL },
	{ "pending reminders", "reminders_pending", NULL },
	{ "outbox queued", "outbox", "queued" },
	{ "outbox sending", "outbox", "sending" },
	{ "outbox sent", "outbox", "sent" },
	{ "outbox dead", "outbox", "dead" },
	{ "reminders fired", "scheduler", "fired" },
	{ "fired late", "scheduler", "late" },
	{ "missed", "scheduler", "missed" },
	{ "escalated", "scheduler", "escalated" },
	{ "digests", "scheduler", "digests" },
	{ "next event", "scheduler", "next_event" },
	{ "sending now", "delivery", "in_flight" },
	{ "delivered", "delivery", "sent" },
	{ "retried", "delivery", "retried" },
	{ "given up", "delivery", "dead" },
};

static char *
status_cell(const json_t *data, size_t i)
{
	const json_t *v = json_object_get(data, status_rows[i].key);

	if (strcmp(status_rows[i].key, "uptime_s") == 0)
		return uptime_cell(data);
	if (strcmp(status_rows[i].key, "last_reload_at") == 0)
		return when_cell(data, "last_reload_at");
	if (status_rows[i].subkey != NULL &&
	    strcmp(status_rows[i].subkey, "next_event") == 0)
		return json_is_null(json_object_get(v, "next_event")) ?
		    strdup("none") : when_cell(v, "next_event");
	if (status_rows[i].subkey != NULL)
		v = json_object_get(v, status_rows[i].subkey);
	return json_cell(v);
}

static int
status_render(struct ctx *ctx, const json_t *data)
{
	const char *kv[2 * NITEMS(status_rows)];
	char *vals[NITEMS(status_rows)] = { NULL };
	int rv = EXIT_DAEMON;
	size_t i;

	for (i = 0; i < NITEMS(status_rows); i++) {
		if ((vals[i] = status_cell(data, i)) == NULL)
			goto out;
		kv[2 * i] = status_rows[i].label;
		kv[2 * i + 1] = vals[i];
	}
	if (out_kv(ctx->out, kv, NITEMS(status_rows)) == 0)
		rv = EXIT_OK;
out:
	for (i = 0; i < NITEMS(status_rows); i++)
		free(vals[i]);
	return rv;
}

static int
cmd_status_exec(struct ctx *ctx, const struct args *args)
{
	struct reply r;
	int rv;

	if ((rv = call(ctx, "status", NULL, &r)) != EXIT_OK)
		return rv;
	if (r.status != CRMD_OK)
		rv = report_status(ctx, &r);
	else if (ctx->settings->format == OUT_JSON)
		rv = print_json(ctx, r.data);
	else if (!json_is_object(r.data)) {
		out_errorx(ctx->err, "status reply from crmd is not an object");
		rv = EXIT_DAEMON;
	} else
		rv = status_render(ctx, r.data);
	reply_free(&r);
	return rv;
}

/* reload */

/*
 * The config errors of a 422: the "errors" array when crmd sends one,
 * else the lines of "error".  Returns a new array of strings.
 */
static json_t *
reload_errors(const struct reply *r)
{
	const json_t *errs = json_object_get(r->root, "errors");
	const char *p = r->error;
	json_t *out = json_array();
	size_t i, n;
	json_t *e;

	if (out == NULL)
		return NULL;
	if (json_is_array(errs)) {
		json_array_foreach(errs, i, e)
			if (json_is_string(e))
				json_array_append(out, e);
		return out;
	}
	while (*p != '\0') {
		n = strcspn(p, "\n");
		if (n > 0)
			json_array_append_new(out, json_stringn(p, n));
		p += n;
		p += strspn(p, "\n");
	}
	return out;
}

static int
reload_refused(struct ctx *ctx, const struct reply *r)
{
	json_t *errs = reload_errors(r), *j, *e;
	size_t i;

	if (errs == NULL)
		return EXIT_DAEMON;
	if (ctx->settings->format == OUT_JSON) {
		j = json_pack("{s:b, s:O}", "reloaded", 0, "errors", errs);
		if (j != NULL)
			print_json(ctx, j);
		json_decref(j);
	}
	out_errorx(ctx->err, "reload refused; crmd keeps running with its "
	    "previous configuration:");
	json_array_foreach(errs, i, e) {
		char *clean = text_clean(json_string_value(e));

		fprintf(ctx->err, "  %s\n", clean ? clean : "?");
		free(clean);
	}
	fputs("  fix the file and run crmctl reload again\n", ctx->err);
	json_decref(errs);
	return EXIT_DAEMON;
}

static int
reload_done(struct ctx *ctx, const json_t *data)
{
	const json_t *keys = json_object_get(data, "restart_needed");
	const json_t *k;
	size_t i;
	char *clean;

	if (ctx->settings->format == OUT_JSON)
		return print_json(ctx, data);
	fputs("reloaded\n", ctx->out);
	if (json_array_size(keys) == 0)
		return EXIT_OK;
	fputs("restart crmd to apply:", ctx->out);
	json_array_foreach(keys, i, k) {
		clean = json_is_string(k) ? text_clean(json_string_value(k)) :
		    NULL;
		fprintf(ctx->out, "%s %s", i > 0 ? "," : "", clean ? clean : "?");
		free(clean);
	}
	fputc('\n', ctx->out);
	return EXIT_OK;
}

static int
cmd_reload_exec(struct ctx *ctx, const struct args *args)
{
	struct reply r;
	int rv;

	if ((rv = call(ctx, "reload", NULL, &r)) != EXIT_OK)
		return rv;
	if (r.status == CRMD_CONFIG_INVALID)
		rv = reload_refused(ctx, &r);
	else if (r.status != CRMD_OK)
		rv = report_status(ctx, &r);
	else
		rv = reload_done(ctx, r.data);
	reply_free(&r);
	return rv;
}
