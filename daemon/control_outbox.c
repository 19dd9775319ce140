/*
 * The admin commands for the outbox: outbox.list and outbox.show (read
 * only), outbox.retry, outbox.purge and outbox.test (admin).  Arguments
 * are checked against each command's spec before anything else happens.
 *
 * Every change is one BEGIN IMMEDIATE transaction holding the change and
 * its audit row.  Bulk changes (retrying every dead message, purging sent
 * ones) do one window of OUTBOX_BATCH ids per request and tell the client
 * where to go on: the write lock is held for one window only, and the
 * event loop (deliveries, other clients) runs between windows.  SQL lives
 * in store_ctl_outbox.c; times on the wire are UTC instants plus their
 * rendering in crmd's zone.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "control_args.h"
#include "control_cmds.h"
#include "crmd.h"
#include "duration.h"
#include "gateway.h"
#include "log.h"
#include "mail.h"
#include "outbox.h"
#include "peer.h"
#include "protocol.h"
#include "store.h"
#include "store_ctl_outbox.h"

#define LIST_DEFAULT	100
#define LIST_MAX	ARGS_LIST_MAX
#define OUTBOX_BATCH	1000		/* ids per bulk transaction */
#define RECIPIENT_MAX	320		/* bytes: the longest address */
#define OLDER_THAN_MAX	(100LL * 366 * 86400)

/* ---- values ---- */

static int
one_of(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static const char *const states[] = { "queued", "sending", "sent", "dead",
    NULL };
static const char *const channels[] = { "email", "sms", "webhook", NULL };

/* "YYYY-MM-DD HH:MM:SS" in crmd's zone (the process zone, tz.h). */
static char *
local_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "@%" PRId64, t);
	return buf;
}

static json_t *
json_local(int64_t t)
{
	char buf[64];

	return t == 0 ? json_null() : json_string(local_time(t, buf,
	    sizeof(buf)));
}

static json_t *
json_id(int64_t v)
{
	return v == 0 ? json_null() : json_integer((json_int_t)v);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 :
	    s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ?
	    4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Database text may hold what jansson refuses (invalid UTF-8): such a
 * value is shown with '?' for the bad bytes rather than failing the
 * whole reply.  NULL stays JSON null. */
static json_t *
json_repaired(const char *s)
{
	unsigned char *p;
	json_t *j;
	char *copy;
	size_t n;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL || (copy = strdup(s)) == NULL)
		return j;
	for (p = (unsigned char *)copy; *p != '\0'; p += n)
		if ((n = utf8_seq(p)) == 0) {
			*p = '?';
			n = 1;
		}
	j = json_string(copy);
	free(copy);
	return j;
}

/* One outbox row; with its body for outbox.show. */
static json_t *
outbox_json(const struct ctl_outbox *o, int with_body)
{
	json_t *j;

	j = json_pack("{s:I, s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:o, s:o,"
	    " s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}",
	    "id", (json_int_t)o->id,
	    "channel", o->channel,
	    "audience", o->audience,
	    "recipient", json_repaired(o->recipient),
	    "subject", json_repaired(o->subject),
	    "state", o->state,
	    "attempts", (json_int_t)o->attempts,
	    "next_attempt_at", (json_int_t)o->next_attempt_at,
	    "next_attempt", json_local(o->next_attempt_at),
	    "lease_until", json_id(o->lease_until),
	    "lease", json_local(o->lease_until),
	    "last_error", json_repaired(o->last_error),
	    "idempotency_key", json_repaired(o->idempotency_key),
	    "reminder_id", json_id(o->reminder_id),
	    "customer_id", json_id(o->customer_id),
	    "created_at", (json_int_t)o->created_at,
	    "created", json_local(o->created_at),
	    "sent_at", json_id(o->sent_at),
	    "sent", json_local(o->sent_at));
	if (j != NULL && with_body && (json_object_set_new(j, "body",
	    json_repaired(o->body)) == -1 || json_object_set_new(j,
	    "recipient_name", json_repaired(o->recipient_name)) == -1 ||
	    json_object_set_new(j, "html", json_repaired(o->body_html)) ==
	    -1)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- transactions ---- */

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
 * reply; otherwise rolls back.  After a commit that queued something, the
 * sender is told to look: rows became due.
 */
static void
tx_end(struct crmd *crmd, int rc, int queued, struct cmd_reply *r)
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
	if (queued)
		outbox_kick(crmd->outbox);
}

static int
audit(struct crmd *crmd, const struct peer *p, const char *action,
    int64_t customer_id, const char *detail)
{
	char actor[64];

	peer_actor(p, actor, sizeof(actor));
	return store_audit(crmd->store, actor, action, customer_id, detail);
}

/* ---- outbox.list, outbox.show ---- */

static const struct arg_spec list_spec[] = {
	{ "state",	ARG_TEXT,	0, 16 },
	{ "channel",	ARG_TEXT,	0, 16 },
	{ "limit",	ARG_COUNT,	0, 0 },
	{ NULL, 0, 0, 0 }
};

static int
list_filter(json_t *args, struct ctl_outbox_filter *f, struct cmd_reply *r)
{
	static const char cmd[] = "outbox.list";

	f->state = arg_text(args, "state");
	f->channel = arg_text(args, "channel");
	if ((f->limit = (int)arg_int(args, "limit")) == 0)
		f->limit = LIST_DEFAULT;
	if (f->state != NULL && !one_of(f->state, states)) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: unknown state '%.16s': "
		    "use queued, sending, sent or dead", cmd, f->state);
		return -1;
	}
	if (f->channel != NULL && !one_of(f->channel, channels)) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: unknown channel '%.16s': "
		    "use email, sms or webhook", cmd, f->channel);
		return -1;
	}
	return 0;
}

static void
cmd_outbox_list(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	struct ctl_outbox_filter f;
	struct ctl_outbox *rows;
	json_t *arr, *o;
	size_t n;
	int rc;

	if (args_check("outbox.list", list_spec, args, r) == -1 ||
	    list_filter(args, &f, r) == -1)
		return;
	if ((rc = store_ctl_outbox_list(crmd->store, &f, &rows, &n)) !=
	    STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if ((o = outbox_json(&rows[i], 0)) == NULL ||
		    json_array_append_new(arr, o) == -1) {
			json_decref(arr);
			arr = NULL;
		}
	r->data = arr;
	store_ctl_outbox_free(rows, n);
}

static const struct arg_spec id_spec[] = {
	{ "id",		ARG_ID,		1, 0 },
	{ NULL, 0, 0, 0 }
};

static void
cmd_outbox_show(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	struct ctl_outbox o;
	int64_t id;
	int found, rc;

	if (args_check("outbox.show", id_spec, args, r) == -1)
		return;
	id = arg_int(args, "id");
	if ((rc = store_ctl_outbox_get(crmd->store, id, &o, &found)) !=
	    STORE_OK) {
		store_error(crmd, rc, r);
		return;
	}
	if (!found) {
		reply_error(r, CRMD_BAD_REQUEST, "outbox.show: no outbox message "
		    "%" PRId64, id);
		return;
	}
	r->data = outbox_json(&o, 1);
	store_ctl_outbox_clear(&o);
}

/* 1 when the channel's group is in crmd.conf. */
static int
channel_configured(const struct crmd_conf *conf, const char *channel)
{
	if (strcmp(channel, "email") == 0)
		return conf->delivery.email.configured;
	if (strcmp(channel, "sms") == 0)
		return conf->delivery.sms.http.configured;
	return conf->delivery.webhook.configured;
}

static const char *
channel_keys(const char *channel)
{
	if (strcmp(channel, "email") == 0)
		return "channels.email = { url = \"smtp://...\"; from = "
		    "\"...\"; }";
	if (strcmp(channel, "sms") == 0)
		return "channels.sms = { url = \"https://...\"; body = "
		    "\"...\"; } (or preset = \"twilio\")";
	return "channels.webhook = { url = \"https://...\"; }";
}

/* ---- outbox.retry ---- */

static const struct arg_spec retry_spec[] = {
	{ "id",		ARG_ID,		0, 0 },
	{ "dead",	ARG_TRUE,	0, 0 },
	{ "after",	ARG_CURSOR,	0, 0 },
	{ NULL, 0, 0, 0 }
};

/* Refuses a row that cannot go back to the queue; 0 when it can. */
static int
retry_refused(const struct ctl_outbox *o, struct cmd_reply *r)
{
	char when[64];

	if (strcmp(o->state, "sent") == 0) {
		reply_error(r, CRMD_CONFLICT, "outbox message %" PRId64 " was "
		    "sent at %s; a sent message is never sent again (to check "
		    "the channel, use crmctl test-send)", o->id,
		    o->sent_at ? local_time(o->sent_at, when, sizeof(when)) :
		    "an unknown time");
		return -1;
	}
	if (strcmp(o->state, "sending") == 0) {
		reply_error(r, CRMD_CONFLICT, "outbox message %" PRId64 " is "
		    "being sent now (lease until %s); wait for the attempt to "
		    "end, then see crmctl outbox show %" PRId64, o->id,
		    o->lease_until ? local_time(o->lease_until, when,
		    sizeof(when)) : "unknown", o->id);
		return -1;
	}
	return 0;
}

static int
retry_one_tx(struct crmd *crmd, const struct peer *p, int64_t id,
    struct cmd_reply *r)
{
	struct ctl_outbox o;
	int64_t now = time(NULL);
	char detail[512];
	int found, changed = 0, rc;

	if ((rc = store_ctl_outbox_get(crmd->store, id, &o, &found)) !=
	    STORE_OK)
		return rc;
	if (!found) {
		reply_error(r, CRMD_BAD_REQUEST, "outbox.retry: no outbox "
		    "message %" PRId64, id);
		return STORE_OK;
	}
	if (retry_refused(&o, r) == -1)
		goto out;
	if (!channel_configured(crmd->conf, o.channel)) {
		reply_error(r, CRMD_CONFIG_INVALID, "outbox message %" PRId64
		    " is for channel '%s', which is not configured: add %s to "
		    "%s and run crmctl reload, then retry it; it stays %s",
		    id, o.channel, channel_keys(o.channel), crmd->conf->path,
		    o.state);
		goto out;
	}
	if ((rc = store_ctl_outbox_retry(crmd->store, id, now, &changed)) !=
	    STORE_OK)
		goto out;
	if (!changed) {
		reply_error(r, CRMD_CONFLICT, "outbox message %" PRId64 " is %s "
		    "and cannot be queued again", id, o.state);
		goto out;
	}
	snprintf(detail, sizeof(detail), "outbox %" PRId64 " (%s to %.100s) "
	    "queued again (was %s, %" PRId64 " attempts; last error: %.200s)",
	    id, o.channel, o.recipient, o.state, o.attempts,
	    o.last_error ? o.last_error : "none");
	if ((rc = audit(crmd, p, "outbox.retry", o.customer_id, detail)) !=
	    STORE_OK)
		goto out;
	r->data = json_pack("{s:I, s:s, s:s, s:I, s:I, s:o}",
	    "id", (json_int_t)id, "state", "queued", "previous", o.state,
	    "attempts", (json_int_t)o.attempts,
	    "next_attempt_at", (json_int_t)now,
	    "next_attempt", json_local(now));
out:
	store_ctl_outbox_clear(&o);
	return rc;
}

/* One window of dead rows back to the queue, but those of channels not
 * configured, which would only die again at once. */
static int
retry_dead_tx(struct crmd *crmd, const struct peer *p, int64_t after,
    struct cmd_reply *r)
{
	const char *only[3] = { NULL, NULL, NULL };
	int64_t last, now = time(NULL);
	char detail[256];
	int count, changed = 0, skipped = 0, rc;

	for (int i = 0; i < 3; i++)
		if (channel_configured(crmd->conf, channels[i]))
			only[i] = channels[i];
	if ((rc = store_ctl_outbox_window(crmd->store, after, OUTBOX_BATCH,
	    &last, &count)) != STORE_OK || (count > 0 &&
	    (rc = store_ctl_outbox_retry_dead(crmd->store, after, last, now,
	    only, &changed, &skipped)) != STORE_OK))
		return rc;
	snprintf(detail, sizeof(detail), "%d dead outbox messages queued "
	    "again (ids %" PRId64 " to %" PRId64 ")", changed, after + 1, last);
	if (changed > 0 && (rc = audit(crmd, p, "outbox.retry", 0, detail)) !=
	    STORE_OK)
		return rc;
	r->data = json_pack("{s:i, s:i, s:I, s:b}", "retried", changed,
	    "skipped", skipped, "after", (json_int_t)last, "done",
	    count < OUTBOX_BATCH);
	return STORE_OK;
}

static void
cmd_outbox_retry(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "outbox.retry";
	int dead, rc;

	if (args_check(cmd, retry_spec, args, r) == -1)
		return;
	dead = arg_given(args, "dead");
	if (dead == arg_given(args, "id")) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: give either \"id\" or "
		    "\"dead\": true", cmd);
		return;
	}
	if (!dead && arg_given(args, "after")) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: \"after\" goes with "
		    "\"dead\" only", cmd);
		return;
	}
	if (tx_begin(crmd, r) == -1)
		return;
	if (dead)
		rc = retry_dead_tx(crmd, p, arg_int(args, "after"), r);
	else
		rc = retry_one_tx(crmd, p, arg_int(args, "id"), r);
	tx_end(crmd, rc, 1, r);
}

/* ---- outbox.purge ---- */

static const struct arg_spec purge_spec[] = {
	{ "sent",	ARG_TRUE,	0, 0 },
	{ "older_than",	ARG_TEXT,	1, 32 },
	{ "after",	ARG_CURSOR,	0, 0 },
	{ NULL, 0, 0, 0 }
};

static int
purge_tx(struct crmd *crmd, const struct peer *p, int64_t after,
    int64_t before, struct cmd_reply *r)
{
	char detail[256], when[64];
	int64_t last;
	int count, deleted = 0, rc;

	if ((rc = store_ctl_outbox_window(crmd->store, after, OUTBOX_BATCH,
	    &last, &count)) != STORE_OK || (count > 0 &&
	    (rc = store_ctl_outbox_purge_sent(crmd->store, after, last, before,
	    &deleted)) != STORE_OK))
		return rc;
	local_time(before, when, sizeof(when));
	snprintf(detail, sizeof(detail), "%d sent outbox messages deleted "
	    "(ids %" PRId64 " to %" PRId64 ", sent before %s)", deleted,
	    after + 1, last, when);
	if (deleted > 0 && (rc = audit(crmd, p, "outbox.purge", 0, detail)) !=
	    STORE_OK)
		return rc;
	r->data = json_pack("{s:i, s:I, s:s, s:I, s:b}", "deleted", deleted,
	    "before_at", (json_int_t)before, "before", when,
	    "after", (json_int_t)last, "done", count < OUTBOX_BATCH);
	return STORE_OK;
}

static void
cmd_outbox_purge(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "outbox.purge";
	const char *older;
	int64_t secs;

	if (args_check(cmd, purge_spec, args, r) == -1)
		return;
	if (!arg_given(args, "sent")) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: only sent messages are "
		    "ever purged: add \"sent\": true (crmctl outbox purge "
		    "--sent)", cmd);
		return;
	}
	older = arg_text(args, "older_than");
	if (duration_parse(older, &secs) == -1 || secs < 1 ||
	    secs > OLDER_THAN_MAX) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: bad duration '%.32s': "
		    "want e.g. 30d, 12h or 90m", cmd, older);
		return;
	}
	if (tx_begin(crmd, r) == -1)
		return;
	tx_end(crmd, purge_tx(crmd, p, arg_int(args, "after"),
	    (int64_t)time(NULL) - secs, r), 0, r);
}

/* ---- outbox.test ---- */

static const struct arg_spec test_spec[] = {
	{ "channel",	ARG_TEXT,	1, 16 },
	{ "recipient",	ARG_TEXT,	0, RECIPIENT_MAX },
	{ NULL, 0, 0, 0 }
};


/*
 * The address the message goes to, malloc'd (a phone number normalised
 * to E.164), or NULL with an error reply.
 */
static char *
test_recipient(struct crmd *crmd, const char *channel, const char *to,
    struct cmd_reply *r)
{
	const struct conf_sms *sms = &crmd->conf->delivery.sms;
	const char *why = NULL;
	char *norm = NULL;

	if (strcmp(channel, "webhook") == 0) {
		if (to == NULL || strcmp(to, "webhook") == 0)
			return strdup("webhook");
		reply_error(r, CRMD_BAD_REQUEST, "outbox.test: a webhook goes to "
		    "channels.webhook.url: give no recipient, or \"webhook\"");
		return NULL;
	}
	if (to == NULL) {
		reply_error(r, CRMD_BAD_REQUEST, "outbox.test: missing argument "
		    "'recipient': an %s", strcmp(channel, "email") == 0 ?
		    "email address" : "phone number");
		return NULL;
	}
	if (strcmp(channel, "email") == 0) {
		if (mail_validate_address(mail_cstr(to), &why) == 0)
			return strdup(to);
		reply_error(r, CRMD_CONFIG_INVALID, "cannot send email to "
		    "'%.100s': %s; nothing was queued", to, why);
		return NULL;
	}
	if (phone_validate(to, sms->has_national ? &sms->national : NULL,
	    &norm, &why) == 0)
		return norm;
	reply_error(r, CRMD_CONFIG_INVALID, "cannot send SMS to '%.100s': %s"
	    "%s; nothing was queued", to, why, sms->has_national ? "" :
	    " (only E.164 such as +8613800138000 is accepted: set "
	    "channels.sms.national for local numbers)");
	return NULL;
}

/* Subject and body of the fixed bilingual test text; -1 on ENOMEM. */
static int
test_text(const char *channel, char **subject, char **body)
{
	char host[256], when[64], *text;
	json_t *payload;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown host");
	host[sizeof(host) - 1] = '\0';
	local_time(time(NULL), when, sizeof(when));
	*subject = *body = NULL;
	if (asprintf(subject, "crmd 测试消息 / test message (%s)", host) == -1) {
		*subject = NULL;
		return -1;
	}
	if (asprintf(&text, "这是 crmd 在 %s 上于 %s 发出的测试消息，用于检查"
	    " %s 通道。\nThis is a test message from crmd on %s at %s, to "
	    "check the %s channel.\n", host, when, channel, host, when,
	    channel) == -1)
		return -1;
	if (strcmp(channel, "webhook") != 0) {
		*body = text;
		return 0;
	}
	/* The shape the built-in webhook templates use (group robots). */
	payload = json_pack("{s:s, s:{s:s}}", "msgtype", "text", "text",
	    "content", text);
	free(text);
	*body = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	return *body != NULL ? 0 : -1;
}

static int
test_tx(struct crmd *crmd, const struct peer *p,
    const struct ctl_outbox_test *t, struct cmd_reply *r)
{
	struct ctl_outbox o;
	char detail[512];
	int64_t id;
	int found, rc;

	if ((rc = store_ctl_outbox_add_test(crmd->store, t, time(NULL),
	    &id)) != STORE_OK)
		return rc;
	snprintf(detail, sizeof(detail), "test %s to %.200s queued "
	    "(outbox %" PRId64 ")", t->channel, t->recipient, id);
	if ((rc = audit(crmd, p, "outbox.test", 0, detail)) != STORE_OK ||
	    (rc = store_ctl_outbox_get(crmd->store, id, &o, &found)) !=
	    STORE_OK)
		return rc;
	if (!found)
		return STORE_ERR;
	if ((r->data = outbox_json(&o, 1)) == NULL)
		reply_error(r, CRMD_INTERNAL, "out of memory");
	store_ctl_outbox_clear(&o);
	return STORE_OK;
}

static void
cmd_outbox_test(struct crmd *crmd, const struct peer *p, json_t *args,
    struct cmd_reply *r)
{
	static const char cmd[] = "outbox.test";
	struct ctl_outbox_test t = { 0 };
	char *to = NULL, *subject = NULL, *body = NULL;

	if (args_check(cmd, test_spec, args, r) == -1)
		return;
	t.channel = arg_text(args, "channel");
	if (!one_of(t.channel, channels)) {
		reply_error(r, CRMD_BAD_REQUEST, "%s: unknown channel '%.16s': "
		    "use email, sms or webhook", cmd, t.channel);
		return;
	}
	if (!channel_configured(crmd->conf, t.channel)) {
		reply_error(r, CRMD_CONFIG_INVALID, "channel '%s' is not "
		    "configured: add %s to %s and run crmctl reload; nothing "
		    "was queued", t.channel, channel_keys(t.channel),
		    crmd->conf->path);
		return;
	}
	if ((to = test_recipient(crmd, t.channel, arg_text(args, "recipient"),
	    r)) == NULL) {
		if (r->status == CRMD_OK)
			reply_error(r, CRMD_INTERNAL, "out of memory");
		return;
	}
	if (test_text(t.channel, &subject, &body) == -1)
		reply_error(r, CRMD_INTERNAL, "out of memory");
	else if (tx_begin(crmd, r) == 0) {
		t.recipient = to;
		t.subject = subject;
		t.body = body;
		tx_end(crmd, test_tx(crmd, p, &t, r), 1, r);
	}
	free(to);
	free(subject);
	free(body);
}

const struct control_cmd outbox_commands[] = {
	{ "outbox.list",	CMD_READONLY,	cmd_outbox_list },
	{ "outbox.show",	CMD_READONLY,	cmd_outbox_show },
	{ "outbox.retry",	0,		cmd_outbox_retry },
	{ "outbox.purge",	0,		cmd_outbox_purge },
	{ "outbox.test",	0,		cmd_outbox_test },
};
const size_t outbox_ncommands =
    sizeof(outbox_commands) / sizeof(outbox_commands[0]);
