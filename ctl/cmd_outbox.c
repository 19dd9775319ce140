/*
 * Handlers for the outbox: list, show, retry, purge, and test-send, which
 * queues one message and watches it until it is sent or dead.  As for the
 * other commands, crmctl checks only the shape of the command line; crmd
 * checks the values (states, channels, durations, addresses).
 *
 * Bulk changes (retry --dead, purge) are many short requests: crmd does
 * one window of ids per request and says where to go on, so its write
 * lock is held briefly and its event loop keeps delivering in between.
 */
#include "cmd_outbox.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "duration.h"
#include "protocol.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define ELLIPSIS	"\xe2\x80\xa6"		/* U+2026 */
#define ELLIPSIS_CP	0x2026
#define WAIT_DEFAULT	30			/* seconds */
#define POLL_MS		200

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

static json_int_t
int_of(const json_t *data, const char *key)
{
	return json_integer_value(json_object_get(data, key));
}

static const char *
str_of(const json_t *data, const char *key)
{
	const char *s = json_string_value(json_object_get(data, key));

	return s != NULL ? s : "";
}

char *
text_truncate(const char *s, size_t width)
{
	size_t len = strlen(s), used = 0, w = 0, ew;
	uint32_t cp;
	int n, cw;
	char *out;

	if (text_width(s) <= width)
		return strdup(s);
	ew = (size_t)codepoint_width(ELLIPSIS_CP);
	/* The longest prefix that leaves room for the ellipsis; zero-width
	 * marks stay with the character before them. */
	while (used < len) {
		n = utf8_decode(s + used, len - used, &cp);
		if ((cw = codepoint_width(cp)) < 0)
			cw = 1;
		if (w + (size_t)cw + ew > width)
			break;
		w += (size_t)cw;
		used += (size_t)n;
	}
	if ((out = malloc(used + sizeof(ELLIPSIS))) == NULL)
		return NULL;
	memcpy(out, s, used);
	memcpy(out + used, ELLIPSIS, sizeof(ELLIPSIS));
	return out;
}

/* Sends cmd with req (consumed): EXIT_OK with a 200 reply in *r, or the
 * exit code after crmctl has said why not. */
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

static int
print_json(struct ctx *ctx, const json_t *j)
{
	return out_json(ctx->out, j) == 0 ? EXIT_OK : EXIT_DAEMON;
}

/* ---- outbox list ---- */

static const char *const list_headers[] = {
	"ID", "CHANNEL", "RECIPIENT", "STATE", "ATTEMPTS", "NEXT ATTEMPT",
	"SUBJECT",
};
static const enum col_align list_align[] = {
	ALIGN_RIGHT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_RIGHT,
	ALIGN_LEFT, ALIGN_LEFT,
};

/* One table row: the next attempt only means something while queued. */
static int
list_row(struct table *t, const json_t *o)
{
	const char *keys[] = { "id", "channel", "recipient", "state",
	    "attempts", "next_attempt", "subject" };
	char *v[NITEMS(keys)] = { NULL }, *cut;
	int queued = strcmp(str_of(o, "state"), "queued") == 0, rv = -1;
	size_t i;

	for (i = 0; i < NITEMS(keys); i++) {
		if (i == 5 && !queued)
			v[i] = strdup("-");
		else
			v[i] = cell(o, keys[i]);
		if (v[i] == NULL)
			goto out;
	}
	if ((cut = text_truncate(v[6], OUTBOX_SUBJECT_WIDTH)) == NULL)
		goto out;
	free(v[6]);
	v[6] = cut;
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

int
cmd_outbox_list_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "outbox list";
	json_t *req = json_object();
	struct reply r;
	int64_t limit;
	int rv;

	if (req == NULL)
		return EXIT_DAEMON;
	if (args->set['S'])
		json_object_set_new(req, "state", json_string(args->value['S']));
	if (args->set['C'])
		json_object_set_new(req, "channel",
		    json_string(args->value['C']));
	if (args->set['l']) {
		if (cmd_parse_id(args->value['l'], &limit) == -1) {
			json_decref(req);
			return cmd_usage_error(ctx, name, "--limit wants a number, "
			    "not \"%s\"", args->value['l']);
		}
		json_object_set_new(req, "limit", json_integer(limit));
	}
	if ((rv = request(ctx, "outbox.list", req, &r)) != EXIT_OK)
		return rv;
	if (ctx->settings->format == OUT_JSON)
		rv = print_json(ctx, r.data);
	else
		rv = show_list(ctx, r.data);
	reply_free(&r);
	return rv;
}

/* ---- outbox show ---- */

static const struct {
	const char	*label;
	const char	*key;
} show_rows[] = {
	{ "id", "id" },
	{ "channel", "channel" },
	{ "audience", "audience" },
	{ "recipient", "recipient" },
	{ "recipient name", "recipient_name" },
	{ "state", "state" },
	{ "attempts", "attempts" },
	{ "next attempt", "next_attempt" },
	{ "lease until", "lease" },
	{ "last error", "last_error" },
	{ "created", "created" },
	{ "sent", "sent" },
	{ "idempotency key", "idempotency_key" },
	{ "reminder", "reminder_id" },
	{ "customer", "customer_id" },
	{ "subject", "subject" },
	{ "body", "body" },
	{ "html", "html" },
};

static int
show_one(struct ctx *ctx, const json_t *data)
{
	const char *kv[2 * NITEMS(show_rows)];
	char *vals[NITEMS(show_rows)] = { NULL };
	int rv = EXIT_DAEMON;
	size_t i;

	if (!json_is_object(data)) {
		out_errorx(ctx->err, "cannot print crmd's reply (not an object)");
		return EXIT_DAEMON;
	}
	for (i = 0; i < NITEMS(show_rows); i++) {
		if ((vals[i] = cell(data, show_rows[i].key)) == NULL)
			goto out;
		kv[2 * i] = show_rows[i].label;
		kv[2 * i + 1] = vals[i];
	}
	if (out_kv(ctx->out, kv, NITEMS(show_rows)) == 0)
		rv = EXIT_OK;
out:
	for (i = 0; i < NITEMS(show_rows); i++)
		free(vals[i]);
	return rv;
}

/* outbox.show for id: EXIT_OK with the 200 reply in *r, or the code. */
static int
fetch(struct ctx *ctx, int64_t id, struct reply *r)
{
	return request(ctx, "outbox.show", json_pack("{s:I}", "id",
	    (json_int_t)id), r);
}

int
cmd_outbox_show_exec(struct ctx *ctx, const struct args *args)
{
	struct reply r;
	int64_t id;
	int rv;

	if (cmd_parse_id(args->argv[0], &id) == -1)
		return cmd_usage_error(ctx, "outbox show", "ID must be a number, "
		    "not \"%s\"", args->argv[0]);
	if ((rv = fetch(ctx, id, &r)) != EXIT_OK)
		return rv;
	if (ctx->settings->format == OUT_JSON)
		rv = print_json(ctx, r.data);
	else
		rv = show_one(ctx, r.data);
	reply_free(&r);
	return rv;
}

/* ---- bulk: retry --dead, purge ---- */

/*
 * Sends cmd with base's arguments plus "after" until crmd says done,
 * adding up data[count_key] into *total and data["skipped"] (absent: 0)
 * into *skipped.  *first gets the first reply's data (to be decref'd).
 * EXIT_OK, or the code of the failed request.
 */
static int
bulk(struct ctx *ctx, const char *cmd, const json_t *base,
    const char *count_key, int64_t *total, int64_t *skipped, json_t **first)
{
	json_int_t after = 0;
	struct reply r;
	json_t *req;
	int rv, done = 0;

	*total = *skipped = 0;
	*first = NULL;
	while (!done) {
		if ((req = json_deep_copy(base)) == NULL ||
		    json_object_set_new(req, "after", json_integer(after)) == -1)
			rv = EXIT_DAEMON;
		else
			rv = request(ctx, cmd, req, &r);
		if (rv != EXIT_OK)
			return rv;
		*total += int_of(r.data, count_key);
		*skipped += int_of(r.data, "skipped");
		done = json_is_true(json_object_get(r.data, "done")) ||
		    int_of(r.data, "after") <= after;
		after = int_of(r.data, "after");
		if (*first == NULL)
			*first = json_incref(r.data);
		reply_free(&r);
	}
	return EXIT_OK;
}

/* After a failure part-way: what was done already is done. */
static void
bulk_partial(struct ctx *ctx, int64_t total, const char *what)
{
	if (total > 0)
		fprintf(ctx->err, "  %" PRId64 " %s before the error; run the "
		    "command again to go on\n", total, what);
}

/* ---- outbox retry ---- */

static int
retry_one(struct ctx *ctx, const char *arg)
{
	struct reply r;
	int64_t id;
	char *prev, *next;
	int rv;

	if (cmd_parse_id(arg, &id) == -1)
		return cmd_usage_error(ctx, "outbox retry", "ID must be a number, "
		    "not \"%s\"", arg);
	if ((rv = request(ctx, "outbox.retry", json_pack("{s:I}", "id",
	    (json_int_t)id), &r)) != EXIT_OK)
		return rv;
	if (ctx->settings->format == OUT_JSON)
		rv = print_json(ctx, r.data);
	else if ((prev = cell(r.data, "previous")) == NULL ||
	    (next = cell(r.data, "next_attempt")) == NULL) {
		free(prev);
		rv = EXIT_DAEMON;
	} else {
		fprintf(ctx->out, "outbox %" PRId64 " queued again (was %s); "
		    "next attempt %s\n", id, prev, next);
		free(prev);
		free(next);
	}
	reply_free(&r);
	return rv;
}

static int
retry_dead(struct ctx *ctx)
{
	json_t *base = json_pack("{s:b}", "dead", 1), *first, *j;
	int64_t total, skipped;
	int rv;

	if (base == NULL)
		return EXIT_DAEMON;
	rv = bulk(ctx, "outbox.retry", base, "retried", &total, &skipped,
	    &first);
	json_decref(base);
	json_decref(first);
	if (rv != EXIT_OK) {
		bulk_partial(ctx, total, "dead messages were queued again");
		return rv;
	}
	if (ctx->settings->format == OUT_TABLE) {
		fprintf(ctx->out, "%" PRId64 " dead message%s queued again\n",
		    total, total == 1 ? "" : "s");
		if (skipped > 0)
			fprintf(ctx->out, "%" PRId64 " left dead: their channel "
			    "is not configured (crmctl outbox list --state dead "
			    "shows which; configure it, crmctl reload, then "
			    "retry)\n", skipped);
		return EXIT_OK;
	}
	j = json_pack("{s:I, s:I}", "retried", (json_int_t)total, "skipped",
	    (json_int_t)skipped);
	rv = j != NULL ? print_json(ctx, j) : EXIT_DAEMON;
	json_decref(j);
	return rv;
}

int
cmd_outbox_retry_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "outbox retry";

	if (args->set['D'] && args->argc > 0)
		return cmd_usage_error(ctx, name, "give an ID or --dead, not both");
	if (args->set['D'])
		return retry_dead(ctx);
	if (args->argc == 0)
		return cmd_usage_error(ctx, name, "give the ID of a message, or "
		    "--dead for every dead message");
	return retry_one(ctx, args->argv[0]);
}

/* ---- outbox purge ---- */

static int
purge_done(struct ctx *ctx, int64_t total, const json_t *first)
{
	char *before = cell(first, "before");
	json_t *j;
	int rv = EXIT_DAEMON;

	if (before == NULL)
		return EXIT_DAEMON;
	if (ctx->settings->format == OUT_TABLE) {
		fprintf(ctx->out, "purged %" PRId64 " sent message%s (sent "
		    "before %s)\n", total, total == 1 ? "" : "s", before);
		rv = EXIT_OK;
	} else if ((j = json_pack("{s:I, s:O, s:O}", "deleted",
	    (json_int_t)total, "before_at", json_object_get(first,
	    "before_at"), "before", json_object_get(first, "before"))) !=
	    NULL) {
		rv = print_json(ctx, j);
		json_decref(j);
	}
	free(before);
	return rv;
}

int
cmd_outbox_purge_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "outbox purge";
	json_t *base, *first;
	int64_t total, skipped;
	int rv;

	if (!args->set['T'])
		return cmd_usage_error(ctx, name, "only sent messages are ever "
		    "purged: add --sent");
	if (!args->set['o'])
		return cmd_usage_error(ctx, name, "--older-than is required, e.g. "
		    "--older-than 30d");
	if ((base = json_pack("{s:b, s:s}", "sent", 1, "older_than",
	    args->value['o'])) == NULL)
		return EXIT_DAEMON;
	rv = bulk(ctx, "outbox.purge", base, "deleted", &total, &skipped,
	    &first);
	json_decref(base);
	if (rv != EXIT_OK)
		bulk_partial(ctx, total, "sent messages were purged");
	else
		rv = purge_done(ctx, total, first);
	json_decref(first);
	return rv;
}

/* ---- test-send ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Polls outbox.show until the message is sent or dead, or wait seconds
 * pass.  EXIT_OK with *msg (the last row, to be decref'd), or a code.
 */
static int
watch(struct ctx *ctx, int64_t id, int64_t wait, json_t **msg)
{
	double deadline = mono_s() + (double)wait;
	const char *state;
	struct reply r;
	int rv;

	*msg = NULL;
	for (;;) {
		if ((rv = fetch(ctx, id, &r)) != EXIT_OK)
			return rv;
		json_decref(*msg);
		*msg = json_incref(r.data);
		reply_free(&r);
		state = str_of(*msg, "state");
		if (strcmp(state, "sent") == 0 || strcmp(state, "dead") == 0 ||
		    mono_s() >= deadline)
			return EXIT_OK;
		sleep_ms(POLL_MS);
	}
}

static const char *
channel_hint(const char *channel)
{
	if (strcmp(channel, "email") == 0)
		return "channels.email in crmd.conf (url, from, username, "
		    "password_file, starttls) and the mail server's log";
	if (strcmp(channel, "sms") == 0)
		return "channels.sms in crmd.conf (url, headers, body, the "
		    "status codes) and the gateway's account";
	return "channels.webhook in crmd.conf (url, body) and the robot's "
	    "settings";
}

/* Tells how the test went: EXIT_OK when sent, else EXIT_DAEMON. */
static int
outcome(struct ctx *ctx, const json_t *msg, int64_t wait)
{
	const char *state = str_of(msg, "state"), *ch = str_of(msg, "channel");
	char *err = cell(msg, "last_error"), *sent = cell(msg, "sent");
	json_int_t id = int_of(msg, "id"), tries = int_of(msg, "attempts");
	int ok = strcmp(state, "sent") == 0, rv = ok ? EXIT_OK : EXIT_DAEMON;
	json_t *j;

	if (err == NULL || sent == NULL)
		rv = EXIT_DAEMON;
	else if (ctx->settings->format == OUT_JSON) {
		j = json_pack("{s:s, s:O}", "outcome", ok ? "sent" :
		    strcmp(state, "dead") == 0 ? "dead" : "timeout",
		    "message", msg);
		if (j == NULL || print_json(ctx, j) != EXIT_OK)
			rv = EXIT_DAEMON;
		json_decref(j);
	} else if (ok)
		fprintf(ctx->out, "sent at %s (attempt %" JSON_INTEGER_FORMAT
		    ")\n", sent, tries);
	if (err != NULL && sent != NULL && !ok) {
		if (strcmp(state, "dead") == 0)
			out_errorx(ctx->err, "test %s %" JSON_INTEGER_FORMAT
			    " is dead after %" JSON_INTEGER_FORMAT " attempt%s: "
			    "%s", ch, id, tries, tries == 1 ? "" : "s", err);
		else
			out_errorx(ctx->err, "test %s %" JSON_INTEGER_FORMAT
			    " is still %s after %" PRId64 "s (%"
			    JSON_INTEGER_FORMAT " attempts, last error: %s)", ch,
			    id, state, wait, tries, err);
		fprintf(ctx->err, "  check %s; crmctl outbox show %"
		    JSON_INTEGER_FORMAT " has the details%s\n", channel_hint(ch),
		    id, strcmp(state, "dead") == 0 ? "" : ", and crmctl status "
		    "and crmd's log (journalctl -u crmd) whether crmd sends");
	}
	free(err);
	free(sent);
	return rv;
}

static int
queued_line(struct ctx *ctx, const json_t *msg)
{
	char *v[3] = { cell(msg, "channel"), cell(msg, "id"),
	    cell(msg, "recipient") };
	int rv = EXIT_DAEMON;

	if (v[0] != NULL && v[1] != NULL && v[2] != NULL) {
		fprintf(ctx->out, "test %s queued as outbox %s to %s\n", v[0],
		    v[1], v[2]);
		rv = EXIT_OK;
	}
	for (size_t i = 0; i < 3; i++)
		free(v[i]);
	return rv;
}

/*
 * The words after the command: CHANNEL [RECIPIENT], and --wait, which
 * crmctl's parser takes only before them but admins write after them
 * too (test-send email li@example.com --wait 1m).  *wait is the
 * duration's text or NULL.  EXIT_OK or a usage error.
 */
static int
test_words(struct ctx *ctx, const struct args *args, const char *w[2],
    const char **wait)
{
	static const char name[] = "test-send";
	const char *word;
	int n = 0;

	w[0] = w[1] = NULL;
	*wait = args->set['w'] ? args->value['w'] : NULL;
	for (int i = 0; i < args->argc; i++) {
		word = args->argv[i];
		if (strncmp(word, "--wait=", 7) == 0)
			*wait = word + 7;
		else if (strcmp(word, "--wait") == 0 || strcmp(word, "-w") == 0) {
			if (++i == args->argc)
				return cmd_usage_error(ctx, name, "option %s needs "
				    "an argument", word);
			*wait = args->argv[i];
		} else if (word[0] == '-' && word[1] != '\0')
			return cmd_usage_error(ctx, name, "unknown option %s", word);
		else if (n == 2)
			return cmd_usage_error(ctx, name, "too many arguments");
		else
			w[n++] = word;
	}
	return EXIT_OK;
}

/* --wait: a duration, 0 for none; -1 when malformed. */
static int64_t
wait_of(const char *s)
{
	int64_t secs;

	if (s == NULL)
		return WAIT_DEFAULT;
	return duration_parse(s, &secs) == -1 ? -1 : secs;
}

int
cmd_test_send_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "test-send";
	const char *words[2], *ch, *to, *waits;
	int64_t wait, id;
	json_t *req, *msg;
	struct reply r;
	int rv;

	if ((rv = test_words(ctx, args, words, &waits)) != EXIT_OK)
		return rv;
	ch = words[0];
	to = words[1];
	if (ch == NULL)
		return cmd_usage_error(ctx, name, "missing argument");
	if ((wait = wait_of(waits)) < 0)
		return cmd_usage_error(ctx, name, "bad --wait \"%s\": want a "
		    "duration such as 30s or 2m (0: do not wait)", waits);
	if (to == NULL && strcmp(ch, "webhook") != 0)
		return cmd_usage_error(ctx, name, "%s needs a RECIPIENT: %s", ch,
		    strcmp(ch, "sms") == 0 ? "a phone number" :
		    "an email address");
	req = json_pack("{s:s}", "channel", ch);
	if (req != NULL && to != NULL)
		json_object_set_new(req, "recipient", json_string(to));
	if ((rv = request(ctx, "outbox.test", req, &r)) != EXIT_OK)
		return rv;
	id = int_of(r.data, "id");
	if (ctx->settings->format == OUT_TABLE)
		rv = queued_line(ctx, r.data);
	if (rv == EXIT_OK && wait == 0 && ctx->settings->format == OUT_JSON)
		rv = print_json(ctx, r.data);
	reply_free(&r);
	if (rv != EXIT_OK || wait == 0)
		return rv;
	if (fflush(ctx->out) == EOF)
		return EXIT_DAEMON;
	if ((rv = watch(ctx, id, wait, &msg)) == EXIT_OK)
		rv = outcome(ctx, msg, wait);
	json_decref(msg);
	return rv;
}
