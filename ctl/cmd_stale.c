/*
 * Handlers for stale flags: `stale list`, the open flags oldest first,
 * and `stale sweep`, which asks crmd for a sweep and waits for it.  crmd
 * sweeps in steps on its event loop and answers at once, so crmctl asks
 * again every POLL_MS until the sweep is done, or --wait has passed.
 * --timeout bounds each exchange, not the wait: a first sweep that flags
 * half a million customers takes longer than any sensible timeout.
 */
#include "cmd_stale.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "duration.h"
#include "protocol.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define POLL_MS		100

/* data[key] as a cleaned cell ("-" when absent or null); malloc'd. */
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

/* Sends cmd with req (consumed): EXIT_OK with a 200 reply in *r. */
static int
request(struct ctx *ctx, const char *cmd, json_t *req, struct reply *r)
{
	int rv;

	if (req == NULL)
		return EXIT_DAEMON;
	rv = cmd_request(ctx, cmd, req, r);
	json_decref(req);
	return rv;
}

/* ---- stale list ---- */

static const char *const list_headers[] = {
	"CUSTOMER", "NAME", "LEVEL", "STATUS", "OWNER", "DAYS", "SINCE",
	"NOTIFIED", "ESCALATED", "REASON",
};
static const enum col_align list_align[] = {
	ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT,
	ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT,
};

static char *
yes_no(const json_t *o, const char *key)
{
	return strdup(json_is_null(json_object_get(o, key)) ? "no" : "yes");
}

static int
list_row(struct table *t, const json_t *o)
{
	static const char *const keys[] = { "customer_id", "customer",
	    "level", "status", "owner", "days", "since", "notified_at",
	    "escalated_at", "reason" };
	char *v[NITEMS(keys)] = { NULL };
	int rv = -1;
	size_t i;

	for (i = 0; i < NITEMS(keys); i++) {
		if (strcmp(keys[i], "notified_at") == 0 ||
		    strcmp(keys[i], "escalated_at") == 0)
			v[i] = yes_no(o, keys[i]);
		else
			v[i] = cell(o, keys[i]);
		if (v[i] == NULL)
			goto out;
	}
	rv = table_add_row(t, (const char *const *)v);
out:
	for (i = 0; i < NITEMS(keys); i++)
		free(v[i]);
	return rv;
}

static int
show_list(struct ctx *ctx, const json_t *data)
{
	struct table *t;
	const json_t *o;
	size_t i;
	int rv = -1;

	if (!json_is_array(data) || (t = table_new(NITEMS(list_headers),
	    list_headers, list_align)) == NULL) {
		out_errorx(ctx->err, "cannot print crmd's reply (not a list?)");
		return EXIT_DAEMON;
	}
	json_array_foreach(data, i, o)
		if (!json_is_object(o) || list_row(t, o) == -1)
			goto out;
	rv = table_print(t, ctx->out);
out:
	table_free(t);
	return rv == 0 ? EXIT_OK : EXIT_DAEMON;
}

/* --user and --limit into the request; EXIT_OK or a usage error. */
static int
list_args(struct ctx *ctx, const struct args *args, json_t *req)
{
	static const struct { int letter; const char *key; } opts[] = {
		{ 'u', "user" }, { 'l', "limit" },
	};
	int64_t v;

	for (size_t i = 0; i < NITEMS(opts); i++) {
		if (!args->set[opts[i].letter])
			continue;
		if (cmd_parse_id(args->value[opts[i].letter], &v) == -1)
			return cmd_usage_error(ctx, "stale list", "--%s wants a "
			    "number, not \"%s\"", opts[i].key,
			    args->value[opts[i].letter]);
		json_object_set_new(req, opts[i].key, json_integer(v));
	}
	return EXIT_OK;
}

int
cmd_stale_list_exec(struct ctx *ctx, const struct args *args)
{
	json_t *req = json_object();
	struct reply r;
	int rv;

	if (req == NULL)
		return EXIT_DAEMON;
	if ((rv = list_args(ctx, args, req)) != EXIT_OK) {
		json_decref(req);
		return rv;
	}
	if ((rv = request(ctx, "stale.list", req, &r)) != EXIT_OK)
		return rv;
	if (ctx->settings->format == OUT_JSON)
		rv = out_json(ctx->out, r.data) == 0 ? EXIT_OK : EXIT_DAEMON;
	else
		rv = show_list(ctx, r.data);
	reply_free(&r);
	return rv;
}

/* ---- stale sweep ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
show_sweep(struct ctx *ctx, const json_t *data)
{
	static const char *const keys[] = { "id", "flagged", "cleared",
	    "notified", "escalated" };
	char *v[NITEMS(keys)] = { NULL };
	int rv = EXIT_DAEMON;
	size_t i;

	if (ctx->settings->format == OUT_JSON)
		return out_json(ctx->out, data) == 0 ? EXIT_OK : EXIT_DAEMON;
	for (i = 0; i < NITEMS(keys); i++)
		if ((v[i] = cell(data, keys[i])) == NULL)
			goto out;
	fprintf(ctx->out, "stale sweep %s done: %s flagged, %s cleared, %s "
	    "owners notified, %s escalated to managers\n", v[0], v[1], v[2],
	    v[3], v[4]);
	rv = EXIT_OK;
out:
	for (i = 0; i < NITEMS(keys); i++)
		free(v[i]);
	return rv;
}

int
cmd_stale_sweep_exec(struct ctx *ctx, const struct args *args)
{
	const char *w = args->set['w'] ? args->value['w'] : NULL;
	int64_t wait = 0;
	double deadline;
	struct reply r;
	json_int_t id;
	int rv;

	if (w != NULL && (duration_parse(w, &wait) == -1 || wait < 1))
		return cmd_usage_error(ctx, "stale sweep", "--wait wants a duration "
		    "such as 30s or 5m, not \"%s\"", w);
	deadline = w != NULL ? mono_s() + (double)wait : 0;
	if ((rv = request(ctx, "stale.sweep", json_object(), &r)) != EXIT_OK)
		return rv;
	id = json_integer_value(json_object_get(r.data, "id"));
	reply_free(&r);
	for (;;) {
		sleep_ms(POLL_MS);
		if ((rv = request(ctx, "stale.sweep", json_pack("{s:I}", "id",
		    id), &r)) != EXIT_OK)
			return rv;
		if (json_is_true(json_object_get(r.data, "done")))
			break;
		reply_free(&r);
		if (w != NULL && mono_s() >= deadline) {
			out_errorx(ctx->err, "stale sweep %lld is still running "
			    "after %s; it goes on in crmd: see crmd's log "
			    "(journalctl -u crmd) or crmctl stale list",
			    (long long)id, w);
			return EXIT_DAEMON;
		}
	}
	rv = show_sweep(ctx, r.data);
	reply_free(&r);
	return rv;
}
