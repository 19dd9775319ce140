/*
 * The automation commands: rule list, rule test NAME, rule run [NAME],
 * tags CUSTOMER_ID and log.  crmd evaluates; crmctl shows.  Options may
 * follow the positional words (rule test 高频复购 --limit 5 --json), which
 * crmctl's parser leaves to the command, so they are read here.
 */
#include "cmd_rules.h"

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
#define POLL_MS		100
#define WAIT_MAX	3600

/* The command line after the command's name. */
struct words {
	const char	*pos[2];	/* positional words */
	int		 npos;
	const char	*limit;		/* --limit N */
	const char	*wait;		/* --wait DURATION */
};

/*
 * Splits the words into positionals (at most max) and the options in
 * `allowed` ("lwj": --limit, --wait, --json), wherever they are.
 */
static int
split_words(struct ctx *ctx, const char *name, const struct args *args,
    int max, const char *allowed, struct words *w)
{
	static const struct { int letter; const char *long_name; } opts[] = {
		{ 'l', "--limit" }, { 'w', "--wait" }, { 'j', "--json" },
	};
	const char *word, *val;
	size_t k, n;

	memset(w, 0, sizeof(*w));
	w->limit = args->set['l'] ? args->value['l'] : NULL;
	w->wait = args->set['w'] ? args->value['w'] : NULL;
	for (int i = 0; i < args->argc; i++) {
		word = args->argv[i];
		if (word[0] != '-' || word[1] == '\0') {
			if (w->npos == max)
				return cmd_usage_error(ctx, name, "too many "
				    "arguments");
			w->pos[w->npos++] = word;
			continue;
		}
		for (k = 0; k < NITEMS(opts); k++) {
			n = strlen(opts[k].long_name);
			if (strchr(allowed, opts[k].letter) != NULL &&
			    (strncmp(word, opts[k].long_name, n) == 0 &&
			    (word[n] == '\0' || word[n] == '=')))
				break;
			if (strchr(allowed, opts[k].letter) != NULL &&
			    word[1] == opts[k].letter && word[2] == '\0')
				break;
		}
		if (k == NITEMS(opts))
			return cmd_usage_error(ctx, name, "unknown option %s",
			    word);
		if (opts[k].letter == 'j') {
			ctx->settings->format = OUT_JSON;
			continue;
		}
		val = strchr(word, '=');
		if (val != NULL && word[1] == '-')
			val++;
		else if (++i < args->argc)
			val = args->argv[i];
		else
			return cmd_usage_error(ctx, name, "option %s needs an "
			    "argument", word);
		*(opts[k].letter == 'l' ? &w->limit : &w->wait) = val;
	}
	return EXIT_OK;
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

static int
print_table(struct ctx *ctx, const json_t *arr, const struct out_column *cols,
    size_t n)
{
	if (out_list(ctx->out, OUT_TABLE, cols, n, arr) == 0)
		return EXIT_OK;
	out_errorx(ctx->err, "cannot print crmd's reply (not a list?)");
	return EXIT_DAEMON;
}

static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* A cleaned cell of a JSON value ("-" for null); malloc'd. */
static char *
cell_of(const json_t *v)
{
	char *raw = json_cell(v), *clean;

	if (raw == NULL)
		return NULL;
	clean = text_clean(raw);
	free(raw);
	return clean;
}

/* ---- rule list ---- */

/* "+高频复购 -流失风险" or "on tag_added:高意向: remind callback". */
static char *
effect(const json_t *rule)
{
	const json_t *remind = json_object_get(rule, "remind"), *v;
	char *s = NULL, d[32];
	size_t len = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&s, &len)) == NULL)
		return NULL;
	if (strcmp(str_of(rule, "kind"), "tagging") == 0) {
		json_array_foreach(json_object_get(rule, "add"), i, v)
			fprintf(fp, "%s+%s", ftell(fp) ? " " : "",
			    json_string_value(v));
		json_array_foreach(json_object_get(rule, "remove"), i, v)
			fprintf(fp, "%s-%s", ftell(fp) ? " " : "",
			    json_string_value(v));
	} else {
		fprintf(fp, "on %s:", str_of(rule, "on"));
		if (json_is_object(remind))
			fprintf(fp, " remind %s within %s", str_of(remind,
			    "kind"), duration_format(json_integer_value(
			    json_object_get(remind, "within")), d, sizeof(d)));
		if (json_is_true(json_object_get(rule, "notify")))
			fprintf(fp, " notify");
	}
	if (fclose(fp) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int
show_rule_list(struct ctx *ctx, const json_t *data)
{
	static const char *const hdr[] = {
		"NAME", "KIND", "WHEN", "EFFECT", "MATCHES"
	};
	static const enum col_align al[] = {
		ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_RIGHT
	};
	const json_t *rule, *sweep = json_object_get(data, "sweep");
	struct table *t;
	char *c[5];
	size_t i, k;
	int rv = EXIT_DAEMON;

	if ((t = table_new(5, hdr, al)) == NULL)
		return EXIT_DAEMON;
	json_array_foreach(json_object_get(data, "rules"), i, rule) {
		c[0] = cell_of(json_object_get(rule, "name"));
		c[1] = cell_of(json_object_get(rule, "kind"));
		c[2] = cell_of(json_object_get(rule, "when"));
		c[3] = effect(rule);
		c[4] = cell_of(json_object_get(rule, "matches"));
		for (k = 0; k < 5 && c[k] != NULL; k++)
			;
		if (k == 5 && table_add_row(t, (const char *const *)c) == -1)
			k = 0;
		for (size_t j = 0; j < 5; j++)
			free(c[j]);
		if (k < 5)
			goto out;
	}
	if (table_print(t, ctx->out) == -1)
		goto out;
	if (json_is_object(sweep)) {
		char *when = cell_of(json_object_get(sweep, "finished"));

		char d[32];

		fprintf(ctx->out, "\nlast sweep: %s, %" JSON_INTEGER_FORMAT
		    " ms%s; every %s\n", when != NULL ? when : "-",
		    json_integer_value(json_object_get(sweep, "duration_ms")),
		    json_is_true(json_object_get(sweep, "running")) ?
		    " (a sweep is running)" : "", duration_format(
		    json_integer_value(json_object_get(sweep, "interval_s")),
		    d, sizeof(d)));
		free(when);
	}
	rv = EXIT_OK;
out:
	table_free(t);
	return rv;
}

int
cmd_rule_list_exec(struct ctx *ctx, const struct args *args)
{
	struct words w;
	int rv;

	if ((rv = split_words(ctx, "rule list", args, 0, "j", &w)) != EXIT_OK)
		return rv;
	return exchange(ctx, "rule.list", json_object(), show_rule_list);
}

/* ---- rule test ---- */

/* The sample: ID, CUSTOMER and one column per fact the rule read. */
static int
show_sample(struct ctx *ctx, const json_t *data)
{
	const json_t *facts = json_object_get(data, "facts"), *row, *v;
	size_t nf = json_array_size(facts), ncols = nf + 2, i, j;
	const char **hdr;
	enum col_align *al;
	struct table *t = NULL;
	char **c;
	int rv = -1;

	hdr = calloc(ncols, sizeof(*hdr));
	al = calloc(ncols, sizeof(*al));
	c = calloc(ncols, sizeof(*c));
	if (hdr == NULL || al == NULL || c == NULL)
		goto out;
	hdr[0] = "ID";
	hdr[1] = "CUSTOMER";
	al[0] = ALIGN_RIGHT;
	json_array_foreach(facts, i, v) {
		hdr[i + 2] = json_string_value(v);
		al[i + 2] = ALIGN_RIGHT;
	}
	if ((t = table_new(ncols, hdr, al)) == NULL)
		goto out;
	json_array_foreach(json_object_get(data, "sample"), i, row) {
		c[0] = cell_of(json_object_get(row, "id"));
		c[1] = cell_of(json_object_get(row, "customer"));
		for (j = 0; j < nf; j++)
			c[j + 2] = cell_of(json_object_get(json_object_get(row,
			    "facts"), hdr[j + 2]));
		for (j = 0; j < ncols && c[j] != NULL; j++)
			;
		if (j < ncols || table_add_row(t, (const char *const *)c) == -1)
			j = 0;
		for (size_t k = 0; k < ncols; k++) {
			free(c[k]);
			c[k] = NULL;
		}
		if (j == 0)
			goto out;
	}
	rv = table_print(t, ctx->out);
out:
	table_free(t);
	free(hdr);
	free(al);
	free(c);
	return rv;
}

static const struct out_column change_cols[] = {
	{ "TAG", "tag", ALIGN_LEFT },
	{ "ACTION", "action", ALIGN_LEFT },
	{ "CUSTOMERS", "customers", ALIGN_RIGHT },
	{ "FOR EXAMPLE", "sample", ALIGN_LEFT },
};

static int
show_rule_test(struct ctx *ctx, const json_t *data)
{
	const json_t *changes = json_object_get(data, "changes");
	char kind[64], *name = cell_of(json_object_get(data, "name")),
	    *when = cell_of(json_object_get(data, "when")),
	    *matched = cell_of(json_object_get(data, "matched"));
	const char *kv[6];
	int rv = EXIT_DAEMON;

	snprintf(kind, sizeof(kind), "%s rule", str_of(data, "kind"));
	kv[0] = "rule";
	kv[1] = name;
	kv[2] = "when";
	kv[3] = when;
	kv[4] = "matched";
	kv[5] = matched;
	if (name == NULL || when == NULL || matched == NULL ||
	    out_kv(ctx->out, kv, 3) == -1)
		goto out;
	if (json_array_size(json_object_get(data, "sample")) > 0) {
		fputc('\n', ctx->out);
		if (show_sample(ctx, data) == -1)
			goto out;
	}
	fputc('\n', ctx->out);
	if (json_array_size(changes) == 0)
		fprintf(ctx->out, "no tags would change\n");
	else if (print_table(ctx, changes, change_cols,
	    NITEMS(change_cols)) != EXIT_OK)
		goto out;
	fprintf(ctx->out, "(%s; dry run, nothing was written)\n", kind);
	rv = EXIT_OK;
out:
	free(name);
	free(when);
	free(matched);
	return rv;
}

int
cmd_rule_test_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "rule test";
	struct words w;
	json_t *req;
	int64_t limit = 0;
	int rv;

	if ((rv = split_words(ctx, name, args, 1, "lj", &w)) != EXIT_OK)
		return rv;
	if (w.npos != 1)
		return cmd_usage_error(ctx, name, "which rule? crmctl rule list "
		    "shows their names");
	if (w.limit != NULL && cmd_parse_id(w.limit, &limit) == -1)
		return cmd_usage_error(ctx, name, "--limit wants a number, not "
		    "\"%s\"", w.limit);
	req = json_pack("{s:s}", "name", w.pos[0]);
	if (req != NULL && limit > 0)
		json_object_set_new(req, "limit", json_integer(limit));
	return exchange(ctx, "rule.test", req, show_rule_test);
}

/* ---- rule run ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Polls rule.list until sweep number `sweep` completed or wait seconds
 * passed.  EXIT_OK with *list (to be decref'd) when it completed.
 */
static int
await_sweep(struct ctx *ctx, json_int_t sweep, int64_t wait, json_t **list)
{
	double deadline = mono_s() + (double)wait;
	struct reply r;
	json_t *req;
	int rv;

	*list = NULL;
	for (;;) {
		if ((req = json_object()) == NULL)
			return EXIT_DAEMON;
		rv = cmd_request(ctx, "rule.list", req, &r);
		json_decref(req);
		if (rv != EXIT_OK)
			return rv;
		if (json_integer_value(json_object_get(json_object_get(r.data,
		    "sweep"), "completed")) >= sweep) {
			*list = json_incref(r.data);
			reply_free(&r);
			return EXIT_OK;
		}
		reply_free(&r);
		if (mono_s() >= deadline) {
			out_errorx(ctx->err, "rule run: sweep %"
			    JSON_INTEGER_FORMAT " still running after %" PRId64
			    "s; crmctl rule list shows when it is done", sweep,
			    wait);
			return EXIT_DAEMON;
		}
		sleep_ms(POLL_MS);
	}
}

int
cmd_rule_run_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "rule run";
	struct words w;
	struct reply r;
	json_t *req, *list;
	json_int_t sweep;
	int64_t wait = 0;
	int rv;

	if ((rv = split_words(ctx, name, args, 1, "wj", &w)) != EXIT_OK)
		return rv;
	if (w.wait != NULL && (duration_parse(w.wait, &wait) == -1 ||
	    wait > WAIT_MAX))
		return cmd_usage_error(ctx, name, "bad --wait \"%s\": want a "
		    "duration up to 1h, such as 30s", w.wait);
	req = w.npos == 1 ? json_pack("{s:s}", "name", w.pos[0]) :
	    json_object();
	if (req == NULL)
		return EXIT_DAEMON;
	rv = cmd_request(ctx, "rule.run", req, &r);
	json_decref(req);
	if (rv != EXIT_OK)
		return rv;
	sweep = json_integer_value(json_object_get(r.data, "sweep"));
	if (wait == 0 || ctx->settings->format == OUT_JSON) {
		if (wait > 0 && (rv = await_sweep(ctx, sweep, wait, &list)) ==
		    EXIT_OK) {
			json_object_set_new(r.data, "completed", json_true());
			json_decref(list);
		}
		if (ctx->settings->format == OUT_JSON)
			out_json(ctx->out, r.data);
		else
			fprintf(ctx->out, "sweep %" JSON_INTEGER_FORMAT
			    " started\n", sweep);
		reply_free(&r);
		return rv;
	}
	reply_free(&r);
	if ((rv = await_sweep(ctx, sweep, wait, &list)) != EXIT_OK)
		return rv;
	fprintf(ctx->out, "sweep %" JSON_INTEGER_FORMAT " done\n\n", sweep);
	rv = show_rule_list(ctx, list);
	json_decref(list);
	return rv;
}

/* ---- tags ---- */

static const struct out_column tag_cols[] = {
	{ "TAG", "tag", ALIGN_LEFT },
	{ "SOURCE", "source", ALIGN_LEFT },
	{ "ADDED", "added", ALIGN_LEFT },
};

static int
show_tags(struct ctx *ctx, const json_t *data)
{
	return print_table(ctx, json_object_get(data, "tags"), tag_cols,
	    NITEMS(tag_cols));
}

int
cmd_tags_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "tags";
	struct words w;
	int64_t id;
	int rv;

	if ((rv = split_words(ctx, name, args, 1, "j", &w)) != EXIT_OK)
		return rv;
	if (w.npos != 1 || cmd_parse_id(w.pos[0], &id) == -1)
		return cmd_usage_error(ctx, name, "CUSTOMER_ID must be a number");
	return exchange(ctx, "tags", json_pack("{s:I}", "customer",
	    (json_int_t)id), show_tags);
}

/* ---- log ---- */

static const struct out_column log_cols[] = {
	{ "TIME", "time", ALIGN_LEFT },
	{ "ACTOR", "actor", ALIGN_LEFT },
	{ "ACTION", "action", ALIGN_LEFT },
	{ "CUSTOMER", "customer_id", ALIGN_RIGHT },
	{ "DETAIL", "detail", ALIGN_LEFT },
};

static int
show_log(struct ctx *ctx, const json_t *data)
{
	return print_table(ctx, data, log_cols, NITEMS(log_cols));
}

int
cmd_log_exec(struct ctx *ctx, const struct args *args)
{
	static const char name[] = "log";
	struct words w;
	json_t *req;
	int64_t v;
	int rv;

	if ((rv = split_words(ctx, name, args, 0, "lj", &w)) != EXIT_OK)
		return rv;
	if ((req = json_object()) == NULL)
		return EXIT_DAEMON;
	if (args->set['c']) {
		if (cmd_parse_id(args->value['c'], &v) == -1) {
			json_decref(req);
			return cmd_usage_error(ctx, name, "--customer wants a "
			    "number, not \"%s\"", args->value['c']);
		}
		json_object_set_new(req, "customer", json_integer(v));
	}
	if (w.limit != NULL) {
		if (cmd_parse_id(w.limit, &v) == -1) {
			json_decref(req);
			return cmd_usage_error(ctx, name, "--limit wants a number, "
			    "not \"%s\"", w.limit);
		}
		json_object_set_new(req, "limit", json_integer(v));
	}
	return exchange(ctx, "log", req, show_log);
}
