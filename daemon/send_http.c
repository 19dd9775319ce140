/*
 * The sms and webhook channels (send.h): one outbox row is one HTTP
 * request to the configured gateway, on a keep-alive connection from the
 * multi handle's cache.  gateway.c builds the request (escaping, the
 * Idempotency-Key header) and judges the reply; here are the transport
 * options, the reply capture and which failures mean "down".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gateway.h"
#include "send.h"

#define REPLY_BODY_MAX	(64 * 1024)	/* enough for any gateway's JSON */

struct http_state {
	struct gw_request	 req;
	struct curl_slist	*headers;
	char			*body;		/* the reply, NUL-terminated */
	size_t			 len;
	char			 retry_after[128];
	char			 errbuf[CURL_ERROR_SIZE];
};

int
send_fail(struct send_outcome *out, enum send_verdict v, const char *reason)
{
	memset(out, 0, sizeof(*out));
	out->verdict = v;
	out->reason = strdup(reason);
	return -1;
}

static int
sms_configured(const struct conf_delivery *d)
{
	return d->sms.http.configured;
}

static const struct conf_pace *
sms_pace(const struct conf_delivery *d)
{
	return &d->sms.http.pace;
}

static int
webhook_configured(const struct conf_delivery *d)
{
	return d->webhook.configured;
}

static const struct conf_pace *
webhook_pace(const struct conf_delivery *d)
{
	return &d->webhook.pace;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_state *hs = arg;
	size_t len = size * n, keep = len;
	char *b;

	if (hs->len + keep > REPLY_BODY_MAX)
		keep = REPLY_BODY_MAX - hs->len;
	if (keep == 0)
		return len;
	if ((b = realloc(hs->body, hs->len + keep + 1)) == NULL)
		return 0;	/* libcurl fails the transfer: retried */
	memcpy(b + hs->len, p, keep);
	hs->body = b;
	hs->len += keep;
	hs->body[hs->len] = '\0';
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_state *hs = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		const char *v = p + 12;
		size_t vl = len - 12;

		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
		    v[vl - 1] == ' '))
			vl--;
		snprintf(hs->retry_after, sizeof(hs->retry_after), "%.*s",
		    (int)vl, v);
	}
	return len;
}

static void
http_release(void *state)
{
	struct http_state *hs = state;

	if (hs == NULL)
		return;
	gw_request_free(&hs->req);
	curl_slist_free_all(hs->headers);
	free(hs->body);
	free(hs);
}

/* Sets easy up for the built request. */
static int
http_options(CURL *easy, struct http_state *hs)
{
	const struct gw_request *r = &hs->req;
	struct curl_slist *l;
	int bad = 0;

	for (size_t i = 0; i < r->nheaders; i++) {
		if ((l = curl_slist_append(hs->headers, r->headers[i])) == NULL)
			return -1;
		hs->headers = l;
	}
	/* No "Expect: 100-continue" round trip before a large body. */
	if ((l = curl_slist_append(hs->headers, "Expect:")) == NULL)
		return -1;
	hs->headers = l;
	bad |= curl_easy_setopt(easy, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hs->headers) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->body_len) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r->body) != CURLE_OK;
	if (strcmp(r->method, "POST") != 0)
		bad |= curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
		    r->method) != CURLE_OK;
	if (r->auth_user != NULL) {
		bad |= curl_easy_setopt(easy, CURLOPT_USERNAME, r->auth_user) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(easy, CURLOPT_PASSWORD,
		    r->auth_secret != NULL ? r->auth_secret : "") != CURLE_OK;
	}
	bad |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_WRITEDATA, hs) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_HEADERDATA, hs) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, hs->errbuf) !=
	    CURLE_OK;
	return bad ? -1 : 0;
}

/*
 * Text with each NUL written as U+FFFD, as mail.c does for email: a NUL
 * the CRM stored must neither cut the message short nor reach the wire.
 * Returns a malloc'd copy, or NULL when p has no NUL (or out of memory,
 * then *oom is set).
 */
static char *
unnul(const char *p, size_t len, int *oom)
{
	size_t n = 0, i;
	char *out, *o;

	for (i = 0; i < len; i++)
		n += p[i] == '\0';
	if (n == 0)
		return NULL;
	if ((out = o = malloc(len + 2 * n + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	for (i = 0; i < len; i++)
		if (p[i] == '\0') {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
		} else
			*o++ = p[i];
	*o = '\0';
	return out;
}

/* Builds and sets up m for channel hc; to is the normalised recipient. */
static int
http_start(CURL *easy, const struct conf_http_channel *hc,
    const struct send_msg *m, const char *to, void **state,
    struct send_outcome *out)
{
	const struct gw_conf *gw = &hc->gw;
	struct gw_msg gm = { to, m->body, m->subject, m->key };
	struct http_state *hs;
	char *err = NULL, *body, *subject;
	int r, oom = 0;

	if (strlen(m->key) != m->key_len)
		return send_fail(out, SEND_DEAD, "the idempotency key "
		    "contains NUL");
	body = unnul(m->body, m->body_len, &oom);
	subject = unnul(m->subject, m->subject_len, &oom);
	if (body != NULL)
		gm.text = body;
	if (subject != NULL)
		gm.subject = subject;
	if (oom || (hs = calloc(1, sizeof(*hs))) == NULL) {
		free(body);
		free(subject);
		return send_fail(out, SEND_RETRY, "out of memory");
	}
	r = gw_build(gw, &gm, &hs->req, &err);
	free(body);
	free(subject);
	if (r == -1) {
		r = send_fail(out, err != NULL && strcmp(err, "out of memory") ?
		    SEND_DEAD : SEND_RETRY, err ? err : "out of memory");
		free(err);
		free(hs);
		return r;
	}
	if (http_options(easy, hs) == -1 || (hc->cafile != NULL &&
	    curl_easy_setopt(easy, CURLOPT_CAINFO, hc->cafile) != CURLE_OK)) {
		http_release(hs);
		return send_fail(out, SEND_RETRY, "libcurl refused an HTTP "
		    "option, or out of memory");
	}
	*state = hs;
	return 0;
}

static int
sms_start(CURL *easy, const struct conf_delivery *d, const struct send_msg *m,
    void **state, struct send_outcome *out)
{
	const char *why = NULL;
	char *to = NULL, *reason;
	int r;

	if (strlen(m->recipient) != m->recipient_len)
		return send_fail(out, SEND_DEAD, "invalid phone number: it "
		    "contains NUL");
	if (phone_validate(m->recipient, d->sms.has_national ?
	    &d->sms.national : NULL, &to, &why) == -1) {
		if (asprintf(&reason, "invalid phone number: %s", why) == -1)
			return send_fail(out, SEND_RETRY, "out of memory");
		r = send_fail(out, SEND_DEAD, reason);
		free(reason);
		return r;
	}
	r = http_start(easy, &d->sms.http, m, to, state, out);
	free(to);
	return r;
}

static int
webhook_start(CURL *easy, const struct conf_delivery *d,
    const struct send_msg *m, void **state, struct send_outcome *out)
{
	/* A row names no URL of its own: the configured headers may carry
	 * a token that must not go anywhere else. */
	if (strlen(m->recipient) != m->recipient_len ||
	    (strcmp(m->recipient, "webhook") != 0 &&
	    (d->webhook.gw.url == NULL ||
	    strcmp(m->recipient, d->webhook.gw.url) != 0)))
		return send_fail(out, SEND_DEAD, "a webhook's recipient must "
		    "be 'webhook' (the URL in channels.webhook)");
	return http_start(easy, &d->webhook, m, "", state, out);
}

static void
http_finish(const struct gw_conf *gw, struct http_state *hs, CURL *easy,
    CURLcode res, int64_t now, struct send_outcome *out)
{
	long status = 0;
	const char *body = hs->body;
	size_t len = hs->len;
	enum gw_verdict v;

	memset(out, 0, sizeof(*out));
	if (res == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	else {
		/* No complete reply: say what libcurl saw instead. */
		body = hs->errbuf[0] ? hs->errbuf : curl_easy_strerror(res);
		len = strlen(body);
	}
	v = gw_classify(gw, status, hs->retry_after[0] ? hs->retry_after :
	    NULL, body, len, now, &out->retry_at, &out->reason);
	/* gateway.c masks it too; every adapter's reason passes this
	 * same mask (send_mask.c), whatever the gateway code does. */
	send_mask_secret(out->reason, gw->auth_secret);
	out->verdict = v == GW_SENT ? SEND_SENT : v == GW_DEAD ? SEND_DEAD :
	    SEND_RETRY;
	out->down = v == GW_RETRY && (status == 0 || status == 429 ||
	    status >= 500);
}

static void
sms_finish(void *state, CURL *easy, CURLcode res,
    const struct conf_delivery *d, int64_t now, struct send_outcome *out)
{
	http_finish(&d->sms.http.gw, state, easy, res, now, out);
}

static void
webhook_finish(void *state, CURL *easy, CURLcode res,
    const struct conf_delivery *d, int64_t now, struct send_outcome *out)
{
	http_finish(&d->webhook.gw, state, easy, res, now, out);
}

const struct send_ops send_sms_ops = {
	.name = "sms",
	.configured = sms_configured,
	.pace = sms_pace,
	.start = sms_start,
	.finish = sms_finish,
	.release = http_release,
};

const struct send_ops send_webhook_ops = {
	.name = "webhook",
	.configured = webhook_configured,
	.pace = webhook_pace,
	.start = webhook_start,
	.finish = webhook_finish,
	.release = http_release,
};
