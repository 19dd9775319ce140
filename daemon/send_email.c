/*
 * The email channel (send.h): one outbox row is one SMTP transaction on a
 * connection libcurl's multi handle keeps and reuses.  mail.c builds the
 * message and validates every address; here are the transport options and
 * the verdict.  The server's own reply text reaches outbox.last_error:
 * libcurl hands SMTP reply lines to the header callback, so no verbose
 * output is ever needed (it would print AUTH credentials).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "mail.h"
#include "send.h"

#define REPLY_MAX	240	/* bytes of server text kept, like gateway.c */

struct email_state {
	struct mail_built	*built;
	char			 reply[512];	/* last 4xx or 5xx reply line */
	char			 errbuf[CURL_ERROR_SIZE];
};

static int
email_configured(const struct conf_delivery *d)
{
	return d->email.configured;
}

static const struct conf_pace *
email_pace(const struct conf_delivery *d)
{
	return &d->email.pace;
}

/* CURLOPT_HEADERFUNCTION: keeps the last final line of an error reply
 * ("550 ..."), without its line ending; libcurl's QUIT after the error
 * gets "221 Bye", which says nothing. */
static size_t
on_reply(char *p, size_t size, size_t n, void *arg)
{
	struct email_state *es = arg;
	size_t len = size * n;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len >= 4 && p[3] == ' ' && (p[0] == '4' || p[0] == '5')) {
		if (len >= sizeof(es->reply))
			len = sizeof(es->reply) - 1;
		memcpy(es->reply, p, len);
		es->reply[len] = '\0';
	}
	return size * n;
}

static long
use_ssl(enum starttls_mode m)
{
	switch (m) {
	case STARTTLS_REQUIRED:
		return (long)CURLUSESSL_ALL;
	case STARTTLS_NONE:
		return (long)CURLUSESSL_NONE;
	default:
		return (long)CURLUSESSL_TRY;
	}
}

static int
email_start(CURL *easy, const struct conf_delivery *d,
    const struct send_msg *m, void **state, struct send_outcome *out)
{
	const struct conf_email *c = &d->email;
	struct mail_msg mm = { 0 };
	struct email_state *es;
	const char *why = NULL;
	int bad = 0;

	if ((es = calloc(1, sizeof(*es))) == NULL)
		return send_fail(out, SEND_RETRY, "out of memory");
	mm.from_addr = mail_cstr(c->from_addr);
	mm.from_name = mail_cstr(c->from_name);
	mm.to_addr = (struct mail_str){ m->recipient, m->recipient_len };
	mm.subject = (struct mail_str){ m->subject, m->subject_len };
	mm.text = (struct mail_str){ m->body, m->body_len };
	if (m->name != NULL && m->name_len > 0)
		mm.to_name = (struct mail_str){ m->name, m->name_len };
	if (m->html != NULL && m->html_len > 0)	/* '': text only */
		mm.html = (struct mail_str){ m->html, m->html_len };
	mm.idempotency_key = (struct mail_str){ m->key, m->key_len };
	mm.date = m->now;
	if ((es->built = mail_build(easy, &mm, &why)) == NULL) {
		free(es);
		return send_fail(out, strcmp(why, "out of memory") == 0 ?
		    SEND_RETRY : SEND_DEAD, why);
	}
	bad |= curl_easy_setopt(easy, CURLOPT_URL, c->url) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_USE_SSL, use_ssl(c->starttls)) !=
	    CURLE_OK;
	if (c->cafile != NULL)
		bad |= curl_easy_setopt(easy, CURLOPT_CAINFO, c->cafile) !=
		    CURLE_OK;
	if (c->username != NULL) {
		bad |= curl_easy_setopt(easy, CURLOPT_USERNAME, c->username) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(easy, CURLOPT_PASSWORD,
		    c->password != NULL ? c->password : "") != CURLE_OK;
	}
	bad |= curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_reply) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_HEADERDATA, es) != CURLE_OK;
	bad |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, es->errbuf) !=
	    CURLE_OK;
	if (bad) {
		mail_built_free(es->built);
		free(es);
		return send_fail(out, SEND_RETRY, "libcurl refused an SMTP "
		    "option; is it built with SMTP and TLS?");
	}
	*state = es;
	return 0;
}

/* The reply, made safe for the database and logs: UTF-8, no controls,
 * at most REPLY_MAX bytes, cut on a character boundary. */
static char *
reply_text(const char *reply)
{
	size_t len;
	char *t = mail_clean_header_text(mail_cstr(reply), &len);

	if (t != NULL && len > REPLY_MAX) {
		len = REPLY_MAX;
		while (len > 0 && ((unsigned char)t[len] & 0xc0) == 0x80)
			len--;
		t[len] = '\0';
	}
	return t;
}

static void
email_finish(void *state, CURL *easy, CURLcode res,
    const struct conf_delivery *d, int64_t now, struct send_outcome *out)
{
	struct email_state *es = state;
	long code = 0;
	char *text;
	const char *err = es->errbuf[0] ? es->errbuf : curl_easy_strerror(res);
	int r;

	memset(out, 0, sizeof(*out));
	if (res == CURLE_OK) {
		out->verdict = SEND_SENT;
		return;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	text = reply_text(es->reply);
	if (res == CURLE_LOGIN_DENIED) {
		/* The account, not the message: every message would fail. */
		out->verdict = SEND_RETRY;
		out->down = 1;
		r = asprintf(&out->reason, "SMTP authentication failed: %s; "
		    "check channels.email.username and password_file",
		    text && *text ? text : err);
	} else if (code >= 500 && code <= 599 && text && *text) {
		out->verdict = SEND_DEAD;
		r = asprintf(&out->reason, "SMTP %s", text);
	} else if (code >= 400 && code <= 499 && text && *text) {
		out->verdict = SEND_RETRY;
		out->down = 1;
		r = asprintf(&out->reason, "SMTP %s", text);
	} else {
		out->verdict = SEND_RETRY;
		out->down = 1;
		r = asprintf(&out->reason, "mail server: %s", err);
	}
	if (r == -1)
		out->reason = NULL;
	send_mask_secret(out->reason, d->email.password);
	free(text);
}

static void
email_release(void *state)
{
	struct email_state *es = state;

	if (es == NULL)
		return;
	mail_built_free(es->built);
	free(es);
}

const struct send_ops send_email_ops = {
	.name = "email",
	.configured = email_configured,
	.pace = email_pace,
	.start = email_start,
	.finish = email_finish,
	.release = email_release,
};
