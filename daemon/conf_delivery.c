/*
 * The rules of the delivery settings (channels, outbox, quiet_hours):
 * their defaults, the checks that span several keys, the Twilio preset's
 * expansion and the lease that must outlast every transfer.  conf.c owns
 * the key table and says where each problem is; this file says what it
 * is.  Nothing here echoes a secret or a URL, which may carry a token.
 */
#include "conf_delivery.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "mail.h"
#include "secret.h"
#include "template.h"

#define DEFAULT_TIMEOUT_MS	60000
/* outbox.lease over every channel's timeout, at least: room for the
 * sender to start a transfer and end it a second before the lease. */
#define LEASE_SLACK_MS		3000

__attribute__((format(printf, 2, 3)))
static int
fail(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) == -1)
		*why = NULL;
	va_end(ap);
	return -1;
}

static void
pace_defaults(struct conf_pace *p)
{
	p->rate = 0;
	p->burst = 0;		/* from rate, once it is known */
	p->concurrency = 4;
	p->connect_timeout_ms = 10000;
	p->timeout_ms = DEFAULT_TIMEOUT_MS;
}

void
conf_delivery_defaults(struct conf_delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->email.starttls = STARTTLS_TRY;
	pace_defaults(&d->email.pace);
	d->sms.http.gw.format = GW_FORM;
	pace_defaults(&d->sms.http.pace);
	d->webhook.gw.format = GW_JSON;	/* always: chat robots take JSON */
	pace_defaults(&d->webhook.pace);
	d->outbox.backoff_min = 300;	/* Postfix's minimal_backoff_time */
	d->outbox.backoff_max = 4000;	/* and maximal_backoff_time */
	d->outbox.lifetime = 5 * 86400;	/* and maximal_queue_lifetime */
	d->outbox.lease = 0;		/* from the timeouts, once known */
	d->quiet_start = 21 * 60;
	d->quiet_end = 8 * 60;
}

void
conf_delivery_free(struct conf_delivery *d)
{
	struct conf_email *e = &d->email;

	free(e->url);
	free(e->from_addr);
	free(e->from_name);
	free(e->username);
	secret_free(e->password);
	free(e->cafile);
	gw_conf_free(&d->sms.http.gw);
	free(d->sms.http.cafile);
	phone_national_free(&d->sms.national);
	free(d->sms.account);
	free(d->sms.from);
	free(d->sms.national_regex);
	free(d->sms.national_country);
	gw_conf_free(&d->webhook.gw);
	free(d->webhook.cafile);
	memset(d, 0, sizeof(*d));
}

/* -- single values ---------------------------------------------------- */

static int
has_controls(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* The display name between start and end, trimmed and unquoted. */
static char *
display_name(const char *start, const char *end)
{
	while (start < end && *start == ' ')
		start++;
	while (end > start && end[-1] == ' ')
		end--;
	if (end - start >= 2 && *start == '"' && end[-1] == '"') {
		start++;
		end--;
	}
	return strndup(start, (size_t)(end - start));
}

int
conf_mailbox_parse(const char *v, char **name, char **addr,
    const char **why)
{
	const char *lt = strrchr(v, '<'), *a = v, *end = v + strlen(v);
	int line;

	*name = *addr = NULL;
	if (lt != NULL) {
		while (end > lt && end[-1] == ' ')
			end--;
		if (end[-1] != '>') {
			*why = "'<' without a closing '>' at the end";
			return -1;
		}
		a = lt + 1;
		end--;
	}
	if (mail_validate_address((struct mail_str){ a, (size_t)(end - a) },
	    why) == -1)
		return -1;
	if (lt != NULL && (has_controls(v, (size_t)(lt - v)) ||
	    tmpl_utf8_check(v, (size_t)(lt - v), &line) == -1)) {
		*why = "the name must be one line of UTF-8 text";
		return -1;
	}
	if ((*addr = strndup(a, (size_t)(end - a))) == NULL ||
	    (lt != NULL && (*name = display_name(v, lt)) == NULL)) {
		free(*addr);
		*addr = NULL;
		*why = "out of memory";
		return -1;
	}
	if (*name != NULL && **name == '\0') {
		free(*name);
		*name = NULL;
	}
	return 0;
}

const char *
conf_url_problem(const char *url, int smtp)
{
	const char *host;
	size_t auth;

	if (smtp && strncasecmp(url, "smtp://", 7) == 0)
		host = url + 7;
	else if (smtp && strncasecmp(url, "smtps://", 8) == 0)
		host = url + 8;
	else if (!smtp && strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (!smtp && strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return smtp ? "must start with smtp:// or smtps://, such as "
		    "\"smtp://127.0.0.1:25\"" : "must start with http:// or "
		    "https://";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	auth = strcspn(host, "/?#");
	if (auth == 0)
		return "must name a host after the scheme";
	/* Credentials belong in a secret file, not in the config. */
	if (memchr(host, '@', auth) != NULL)
		return "must not hold a user name or password; use "
		    "username and password_file";
	return NULL;
}

static int
is_token_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

const char *
conf_header_problem(const char *h)
{
	const char *p = h;

	if (strpbrk(h, "\r\n") != NULL)
		return "must be one line: it holds a CR or LF";
	while (is_token_char((unsigned char)*p))
		p++;
	if (p == h || *p != ':')
		return "must be \"Name: value\"";
	for (; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return "must not hold control characters";
	if (strncasecmp(h, "Idempotency-Key:", 16) == 0)
		return "must not set Idempotency-Key: crmd sets it itself";
	return NULL;
}

const char *
conf_method_problem(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 16 || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
		return "must be an HTTP method in capitals, such as \"POST\"";
	return NULL;
}

/* -- across keys ------------------------------------------------------ */

static int
pace_check(const struct conf_pace *p, const char **key, char **why)
{
	char a[32], b[32];

	if (p->connect_timeout_ms <= p->timeout_ms)
		return 0;
	*key = "connect_timeout";
	return fail(why, "(%s) must not be longer than timeout (%s)",
	    duration_format(p->connect_timeout_ms / 1000, a, sizeof(a)),
	    duration_format(p->timeout_ms / 1000, b, sizeof(b)));
}

/* The lesser-known half of a pair that needs both. */
static int
pair_check(const void *a, const char *akey, const void *b,
    const char *bkey, const char **key, char **why)
{
	if ((a == NULL) == (b == NULL))
		return 0;
	*key = a == NULL ? akey : bkey;
	return fail(why, "is required with %s", a == NULL ? bkey : akey);
}

int
conf_email_finish(struct conf_email *e, const char **key, char **why)
{
	*key = NULL;
	if (e->url == NULL) {
		*key = "url";
		return fail(why, "is required: the relay, such as "
		    "\"smtp://127.0.0.1:25\"");
	}
	if (e->from_addr == NULL) {
		*key = "from";
		return fail(why, "is required: the sender, such as "
		    "\"客户管理系统 <crm@example.com>\"");
	}
	if (pair_check(e->username, "username", e->password, "password_file",
	    key, why) == -1 || pace_check(&e->pace, key, why) == -1)
		return -1;
	e->configured = 1;
	return 0;
}

int
conf_national_finish(struct conf_sms *s, const char **key, char **why)
{
	char *err = NULL;

	*key = NULL;
	if (s->national_regex == NULL || s->national_country == NULL) {
		*key = s->national_regex == NULL ? "regex" : "country";
		return fail(why, "is required: a national format needs both "
		    "regex and country");
	}
	if (phone_national_compile(s->national_regex, s->national_country,
	    &s->national, &err) == -1) {
		if (err != NULL && strncmp(err, "country", 7) == 0) {
			*key = "country";
			*why = err;
			return -1;
		}
		*key = "regex";
		fail(why, "is not a POSIX extended regular expression (%s)",
		    err == NULL ? "out of memory" :
		    strncmp(err, "national format: ", 17) == 0 ?
		    err + 17 : err);
		free(err);
		return -1;
	}
	s->has_national = 1;
	return 0;
}

int
conf_sms_preset(struct conf_sms *s, const char **key, char **why)
{
	struct gw_preset_args args = {
		s->account, s->from, s->http.gw.auth_secret
	};
	struct gw_conf gw;
	char *err = NULL;

	*key = NULL;
	if (s->account == NULL || s->from == NULL ||
	    s->http.gw.auth_secret == NULL) {
		*key = s->account == NULL ? "account" : s->from == NULL ?
		    "from" : "token_file";
		return fail(why, "is required with preset \"%s\" (account, "
		    "from and token_file)", s->preset);
	}
	if (gw_preset(s->preset, &args, &gw, &err) == -1) {
		*key = "account";
		fail(why, "is refused: %s",
		    err != NULL ? err : "out of memory");
		free(err);
		return -1;
	}
	gw_conf_free(&s->http.gw);	/* wipes the token's first copy */
	s->http.gw = gw;
	return 0;
}

static int
has_code(const struct gw_codes *c, int code)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->code[i] == code)
			return 1;
	return 0;
}

/* A code in two lists: the later list's key, the code and the other. */
static const char *
codes_overlap(const struct gw_conf *g, int *code, const char **other)
{
	const struct {
		const struct gw_codes	*c;
		const char		*key;
	} l[] = {
		{ &g->sent, "sent_codes" }, { &g->retry, "retry_codes" },
		{ &g->dead, "dead_codes" },
	};

	for (size_t i = 1; i < 3; i++) {
		for (size_t j = 0; j < i; j++) {
			for (size_t a = 0; a < l[i].c->n; a++) {
				if (!has_code(l[j].c, l[i].c->code[a]))
					continue;
				*code = l[i].c->code[a];
				*other = l[j].key;
				return l[i].key;
			}
		}
	}
	return NULL;
}

static int
json_check(const struct gw_conf *g, const char **key, char **why)
{
	if (g->json_field == NULL && (g->njson_ok > 0 || g->njson_retry > 0)) {
		*key = g->njson_ok > 0 ? "json_ok" : "json_retry";
		return fail(why, "needs json_field: the reply field it is "
		    "compared with, such as \"errcode\"");
	}
	if (g->json_field != NULL && g->njson_ok == 0) {
		*key = "json_field";
		return fail(why, "needs json_ok: the values of the field that "
		    "mean sent, such as [\"0\"]");
	}
	return 0;
}

int
conf_http_finish(struct conf_http_channel *h, const char **key, char **why)
{
	struct gw_conf *g = &h->gw;
	const char *list, *other;
	char *err = NULL;
	int code;

	*key = NULL;
	if (g->url == NULL) {
		*key = "url";
		return fail(why, "is required: an http:// or https:// URL");
	}
	if (g->format == GW_FORM && g->body == NULL) {
		*key = "body";
		return fail(why, "is required with format \"form\", such as "
		    "\"to={to}&text={text}\"");
	}
	if (json_check(g, key, why) == -1 ||
	    pair_check(g->auth_user, "username", g->auth_secret,
	    "password_file", key, why) == -1)
		return -1;
	if ((list = codes_overlap(g, &code, &other)) != NULL) {
		*key = list;
		return fail(why, "lists %d, which %s lists too: a status "
		    "belongs to one class", code, other);
	}
	if (pace_check(&h->pace, key, why) == -1)
		return -1;
	/* Whatever is left, such as a JSON body that breaks once filled. */
	if (gw_conf_check(g, &err) == -1) {
		*key = err != NULL && strncmp(err, "body", 4) == 0 ?
		    "body" : NULL;
		fail(why, "is refused: %s", err != NULL ? err :
		    "out of memory");
		free(err);
		return -1;
	}
	h->configured = 1;
	return 0;
}

int
conf_outbox_check(const struct conf_outbox *o, const char **key, char **why)
{
	char a[32], b[32];

	*key = NULL;
	if (o->backoff_max >= o->backoff_min)
		return 0;
	*key = "backoff_max";
	return fail(why, "(%s) must not be shorter than backoff_min (%s)",
	    duration_format(o->backoff_max, a, sizeof(a)),
	    duration_format(o->backoff_min, b, sizeof(b)));
}

static void
burst_default(struct conf_pace *p)
{
	if (p->burst == 0)
		p->burst = p->rate < 1 ? 1 :
		    (int)p->rate + (p->rate > (int)p->rate);
}

int
conf_delivery_finish(struct conf_delivery *d, char **why)
{
	const struct {
		int		 on;
		int64_t		 ms;
		const char	*name;
	} ch[] = {
		{ d->email.configured, d->email.pace.timeout_ms, "email" },
		{ d->sms.http.configured, d->sms.http.pace.timeout_ms, "sms" },
		{ d->webhook.configured, d->webhook.pace.timeout_ms,
		  "webhook" },
	};
	const char *longest = NULL;
	int64_t max = 0;
	char a[32], b[32];

	burst_default(&d->email.pace);
	burst_default(&d->sms.http.pace);
	burst_default(&d->webhook.pace);
	for (size_t i = 0; i < 3; i++) {
		if (ch[i].on && ch[i].ms > max) {
			max = ch[i].ms;
			longest = ch[i].name;
		}
	}
	if (d->outbox.lease == 0) {
		d->outbox.lease = (longest != NULL ? max : DEFAULT_TIMEOUT_MS) /
		    1000 + 60;
		return 0;
	}
	if (longest == NULL || d->outbox.lease * 1000 >= max + LEASE_SLACK_MS)
		return 0;
	/* A lease that ends mid-transfer hands the row to a second try; the
	 * sender starts a transfer no later than a second before its lease
	 * less its timeout, cut to the lease less 3 s (outbox_xfer.c). */
	return fail(why, "(%s) must be at least 3s longer than every "
	    "channel's timeout, and channels.%s.timeout is %s: a message "
	    "still being sent when its lease ends would be sent twice",
	    duration_format(d->outbox.lease, a, sizeof(a)), longest,
	    duration_format(max / 1000, b, sizeof(b)));
}
