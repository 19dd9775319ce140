/*
 * Handlers for reminders, follow-up plans and today's list.  crmctl checks
 * only the shape of the command line (required options, ids that are
 * numbers); what the values mean (times, kinds, channels, rules) crmd
 * checks, so every client gets the same answers.  Option letters map to
 * request keys through one small table per command.
 */
#include "crmctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* A command option and the request key it fills. */
struct optmap {
	int		 letter;
	const char	*key;
	int		 is_id;		/* sent as an integer */
	int		 required;
};

/* The request's args from the options in map.  EXIT_OK or EXIT_USAGE. */
static int
build_args(struct ctx *ctx, const char *name, const struct optmap *map,
    const struct args *args, json_t *req)
{
	const char *v;
	int64_t id;

	for (; map->letter != 0; map++) {
		v = args->set[map->letter] ? args->value[map->letter] : NULL;
		if (v == NULL) {
			if (map->required)
				return cmd_usage_error(ctx, name, "--%s is "
				    "required", cmd_option_name(map->letter));
			continue;
		}
		if (!map->is_id) {
			json_object_set_new(req, map->key, json_string(v));
			continue;
		}
		if (cmd_parse_id(v, &id) == -1)
			return cmd_usage_error(ctx, name, "--%s wants a number, "
			    "not \"%s\"", cmd_option_name(map->letter), v);
		json_object_set_new(req, map->key, json_integer(id));
	}
	return EXIT_OK;
}

/* A cleaned text cell of data[key]; "-" when absent.  malloc'd. */
static char *
cell(const json_t *data, const char *key)
{
	char *raw = json_cell(json_object_get(data, key)), *clean;

	if (raw == NULL)
		return NULL;
	clean = text_clean(raw);
	free(raw);
	return clean;
}

/* Cleaned cells of data[k] for up to three keys (NULL: none), into v. */
static int
cells(const json_t *data, const char *k1, const char *k2, const char *k3,
    char *v[3])
{
	const char *keys[3] = { k1, k2, k3 };
	int rv = 0;

	for (size_t i = 0; i < 3; i++) {
		v[i] = NULL;
		if (keys[i] != NULL && (v[i] = cell(data, keys[i])) == NULL)
			rv = -1;
	}
	return rv;
}

static void
cells_free(char *v[3])
{
	for (size_t i = 0; i < 3; i++)
		free(v[i]);
}

/* Sends cmd with req (consumed); on 200 calls show, or prints JSON. */
static int
exchange(struct ctx *ctx, const char *cmd, json_t *req,
    int (*show)(struct ctx *, const json_t *))
{
	struct reply r;
	int rv;

	if (req == NULL)
		return EXIT_DAEMON;
	rv = cmd_request(ctx, cmd, req, &r);
	json_decref(req);
	if (rv != EXIT_OK)
		return rv;
	if (ctx->settings->format == OUT_JSON)
		rv = out_json(ctx->out, r.data) == 0 ? EXIT_OK : EXIT_DAEMON;
	else
		rv = show(ctx, r.data);
	reply_free(&r);
	return rv;
}

/* Options in map, then the request. */
static int
mapped(struct ctx *ctx, const struct args *args, const char *name,
    const char *cmd, const struct optmap *map,
    int (*show)(struct ctx *, const json_t *))
{
	json_t *req = json_object();
	int rv;

	if (req == NULL)
		return EXIT_DAEMON;
	if ((rv = build_args(ctx, name, map, args, req)) != EXIT_OK) {
		json_decref(req);
		return rv;
	}
	return exchange(ctx, cmd, req, show);
}

/* The positional ID (and a second word, for snooze) as the request. */
static int
by_id(struct ctx *ctx, const struct args *args, const char *name,
    const char *cmd, int (*show)(struct ctx *, const json_t *))
{
	json_t *req;
	int64_t id;

	if (cmd_parse_id(args->argv[0], &id) == -1)
		return cmd_usage_error(ctx, name, "ID must be a number, not \"%s\"",
		    args->argv[0]);
	req = json_pack("{s:I}", "id", (json_int_t)id);
	if (req != NULL && args->argc > 1)
		json_object_set_new(req, "duration", json_string(args->argv[1]));
	return exchange(ctx, cmd, req, show);
}

/* ---- reminders ---- */

static const struct out_column reminder_cols[] = {
	{ "ID", "id", ALIGN_RIGHT },
	{ "CUSTOMER", "customer", ALIGN_LEFT },
	{ "LEVEL", "level", ALIGN_LEFT },
	{ "KIND", "kind", ALIGN_LEFT },
	{ "DUE", "due", ALIGN_LEFT },
	{ "STATE", "state", ALIGN_LEFT },
	{ "USER", "user", ALIGN_LEFT },
	{ "NOTE", "note", ALIGN_LEFT },
};

static const struct out_column today_cols[] = {
	{ "ID", "id", ALIGN_RIGHT },
	{ "LEVEL", "level", ALIGN_LEFT },
	{ "CUSTOMER", "customer", ALIGN_LEFT },
	{ "KIND", "kind", ALIGN_LEFT },
	{ "DUE", "due", ALIGN_LEFT },
	{ "WHEN", "when", ALIGN_LEFT },
	{ "STATE", "state", ALIGN_LEFT },
	{ "USER", "user", ALIGN_LEFT },
	{ "NOTE", "note", ALIGN_LEFT },
};

static const struct out_column plan_cols[] = {
	{ "ID", "id", ALIGN_RIGHT },
	{ "CUSTOMER", "customer", ALIGN_LEFT },
	{ "USER", "user", ALIGN_LEFT },
	{ "NAME", "name", ALIGN_LEFT },
	{ "RRULE", "rrule", ALIGN_LEFT },
	{ "NEXT", "next", ALIGN_LEFT },
	{ "ACTIVE", "active", ALIGN_LEFT },
};

static int
show_list(struct ctx *ctx, const json_t *data, const struct out_column *cols,
    size_t n)
{
	if (out_list(ctx->out, OUT_TABLE, cols, n, data) == 0)
		return EXIT_OK;
	out_errorx(ctx->err, "cannot print crmd's reply (not a list?)");
	return EXIT_DAEMON;
}

static int
show_reminders(struct ctx *ctx, const json_t *data)
{
	return show_list(ctx, data, reminder_cols, NITEMS(reminder_cols));
}

static int
show_today(struct ctx *ctx, const json_t *data)
{
	return show_list(ctx, data, today_cols, NITEMS(today_cols));
}

static int
show_plans(struct ctx *ctx, const json_t *data)
{
	return show_list(ctx, data, plan_cols, NITEMS(plan_cols));
}

/* Just the id, so that scripts can capture it. */
static int
show_added(struct ctx *ctx, const json_t *data)
{
	char *v[3];
	int rv = cells(data, "id", NULL, NULL, v);

	if (rv == 0)
		fprintf(ctx->out, "%s\n", v[0]);
	cells_free(v);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

static int
show_changed(struct ctx *ctx, const json_t *data)
{
	char *v[3];
	int rv = cells(data, "id", "state", "previous", v);

	if (rv == 0)
		fprintf(ctx->out, "reminder %s %s (was %s)\n", v[0], v[1], v[2]);
	cells_free(v);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

static int
show_snoozed(struct ctx *ctx, const json_t *data)
{
	char *v[3];
	int rv = cells(data, "id", "until", "previous", v);

	if (rv == 0)
		fprintf(ctx->out, "reminder %s snoozed until %s (was %s)\n",
		    v[0], v[1], v[2]);
	cells_free(v);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

static const struct optmap add_map[] = {
	{ 'c', "customer", 1, 1 },
	{ 'a', "at", 0, 1 },
	{ 'u', "user", 1, 0 },
	{ 'k', "kind", 0, 0 },
	{ 'C', "channel", 0, 0 },
	{ 'n', "note", 0, 0 },
	{ 0, NULL, 0, 0 }
};

int
cmd_reminder_add_exec(struct ctx *ctx, const struct args *args)
{
	return mapped(ctx, args, "reminder add", "reminder.add", add_map,
	    show_added);
}

static const struct optmap list_map[] = {
	{ 'u', "user", 1, 0 },
	{ 'c', "customer", 1, 0 },
	{ 'S', "state", 0, 0 },
	{ 'l', "limit", 1, 0 },
	{ 0, NULL, 0, 0 }
};

int
cmd_reminder_list_exec(struct ctx *ctx, const struct args *args)
{
	return mapped(ctx, args, "reminder list", "reminder.list", list_map,
	    show_reminders);
}

int
cmd_reminder_ack_exec(struct ctx *ctx, const struct args *args)
{
	return by_id(ctx, args, "reminder ack", "reminder.ack", show_changed);
}

int
cmd_reminder_snooze_exec(struct ctx *ctx, const struct args *args)
{
	return by_id(ctx, args, "reminder snooze", "reminder.snooze",
	    show_snoozed);
}

int
cmd_reminder_cancel_exec(struct ctx *ctx, const struct args *args)
{
	return by_id(ctx, args, "reminder cancel", "reminder.cancel",
	    show_changed);
}

static const struct optmap today_map[] = {
	{ 'u', "user", 1, 0 },
	{ 0, NULL, 0, 0 }
};

int
cmd_today_exec(struct ctx *ctx, const struct args *args)
{
	return mapped(ctx, args, "today", "today", today_map, show_today);
}

/* ---- plans ---- */

static int
show_plan_added(struct ctx *ctx, const json_t *data)
{
	char *v[3];
	int rv = cells(data, "id", "next", "next_reminder_id", v);

	if (rv == 0)
		fprintf(ctx->out, "plan %s added; first occurrence %s "
		    "(reminder %s)\n", v[0], v[1], v[2]);
	cells_free(v);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

static int
show_paused(struct ctx *ctx, const json_t *data)
{
	char *v[3];
	int rv = cells(data, "id", "cancelled_reminder_id", NULL, v);

	if (rv == 0 && strcmp(v[1], "-") != 0)
		fprintf(ctx->out, "plan %s paused; reminder %s cancelled\n",
		    v[0], v[1]);
	else if (rv == 0)
		fprintf(ctx->out, "plan %s paused\n", v[0]);
	cells_free(v);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

static int
show_resumed(struct ctx *ctx, const json_t *data)
{
	char *v[3];
	int rv = cells(data, "id", "next", "next_reminder_id", v);

	if (rv == 0 && strcmp(v[2], "-") != 0)
		fprintf(ctx->out, "plan %s resumed; next occurrence %s "
		    "(reminder %s)\n", v[0], v[1], v[2]);
	else if (rv == 0)
		fprintf(ctx->out, "plan %s resumed; its series has ended\n",
		    v[0]);
	cells_free(v);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

static const struct optmap plan_add_map[] = {
	{ 'c', "customer", 1, 1 },
	{ 'r', "rrule", 0, 1 },
	{ 'b', "start", 0, 0 },
	{ 'N', "name", 0, 0 },
	{ 'C', "channel", 0, 0 },
	{ 'u', "user", 1, 0 },
	{ 0, NULL, 0, 0 }
};

int
cmd_plan_add_exec(struct ctx *ctx, const struct args *args)
{
	return mapped(ctx, args, "plan add", "plan.add", plan_add_map,
	    show_plan_added);
}

static const struct optmap plan_list_map[] = {
	{ 'c', "customer", 1, 0 },
	{ 'u', "user", 1, 0 },
	{ 'l', "limit", 1, 0 },
	{ 0, NULL, 0, 0 }
};

int
cmd_plan_list_exec(struct ctx *ctx, const struct args *args)
{
	return mapped(ctx, args, "plan list", "plan.list", plan_list_map,
	    show_plans);
}

int
cmd_plan_pause_exec(struct ctx *ctx, const struct args *args)
{
	return by_id(ctx, args, "plan pause", "plan.pause", show_paused);
}

int
cmd_plan_resume_exec(struct ctx *ctx, const struct args *args)
{
	return by_id(ctx, args, "plan resume", "plan.resume", show_resumed);
}
