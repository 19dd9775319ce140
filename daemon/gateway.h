/*
 * HTTP gateways for the sms and webhook channels, as pure logic: building
 * the request for one outbox row, and deciding from the reply whether it
 * was sent, should be tried again, or is dead.  No I/O: http.c sends what
 * gw_build() made and hands the reply to gw_classify().  Also here: phone
 * number validation and the quiet hours of customer-facing SMS.
 */
#ifndef CRMD_GATEWAY_H
#define CRMD_GATEWAY_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct tmpl;

enum gw_format {
	GW_FORM,	/* application/x-www-form-urlencoded */
	GW_JSON,	/* application/json */
};

#define GW_CODES_MAX	16

/* Status codes that override the default classes (see gw_classify). */
struct gw_codes {
	int		 code[GW_CODES_MAX];
	size_t		 n;
};

#define GW_VALUES_MAX	8

/*
 * One gateway, as channels.sms or channels.webhook configure it
 * (docs/gateway.md).  The config module fills it; gw_conf_free() frees
 * every pointer in it.
 */
struct gw_conf {
	char		*url;		/* http:// or https:// */
	char		*method;	/* "POST" when NULL */
	char	       **headers;	/* "Name: value", sent as written */
	size_t		 nheaders;
	enum gw_format	 format;
	/*
	 * The request body, from gw_body_compile(); placeholders {to},
	 * {text}, {subject} and {key}.  NULL: the message text is the body
	 * as it is (a webhook whose per-kind template is already JSON).
	 */
	struct tmpl	*body;
	struct gw_codes	 sent, retry, dead;	/* overrides */
	/*
	 * On a 2xx reply, when json_field is set: the reply must be a JSON
	 * object whose field (a dotted path, "errcode" or "data.status") is
	 * one of json_ok (numbers compared as written, "0").  A value in
	 * json_retry means try again; anything else, or no such field, is
	 * dead, since the gateway did answer and a retry could send twice.
	 */
	char		*json_field;
	char		*json_ok[GW_VALUES_MAX];
	size_t		 njson_ok;
	char		*json_retry[GW_VALUES_MAX];
	size_t		 njson_retry;
	char		*auth_user;	/* HTTP basic auth, or NULL */
	char		*auth_secret;	/* from secret_read(); never logged */
};

void	gw_conf_free(struct gw_conf *);

/*
 * Compiles a body template.  NULL with *err (malloc'd) and *line (1-based)
 * on an unknown placeholder or a stray brace.
 */
struct tmpl *gw_body_compile(const char *text, char **err, int *line);

/*
 * Checks a filled gw_conf: URL scheme, method, header syntax (no CR/LF),
 * JSON lists only with a json_field.  0, or -1 with *err (malloc'd).
 */
int	gw_conf_check(const struct gw_conf *, char **err);

/* Parameters of a preset; NULL where the preset needs none. */
struct gw_preset_args {
	const char	*account;	/* twilio: the Account SID */
	const char	*from;		/* twilio: the sending number */
	const char	*secret;	/* twilio: the auth token (copied) */
};

/*
 * Fills *out (zeroed first) with preset name.  "twilio": a form POST to
 * https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json with
 * To, From and Body, basic auth account:token, 201 with status queued,
 * accepted, scheduled, sending or sent.  0, or -1 with *err (malloc'd).
 */
int	gw_preset(const char *name, const struct gw_preset_args *,
	    struct gw_conf *out, char **err);

/* One message, from its outbox row. */
struct gw_msg {
	const char	*to;		/* normalised phone, or "" */
	const char	*text;		/* outbox.body */
	const char	*subject;	/* outbox.subject, or NULL */
	const char	*key;		/* outbox.idempotency_key */
};

/* A ready request; auth points into the gw_conf, which must outlive it. */
struct gw_request {
	char		*url;
	char		*method;
	char	       **headers;	/* "Name: value" */
	size_t		 nheaders;
	char		*body;
	size_t		 body_len;
	const char	*auth_user;	/* CURLOPT_USERNAME, or NULL */
	const char	*auth_secret;	/* CURLOPT_PASSWORD, or NULL */
};

/*
 * Builds the request for m: the body rendered with each value escaped
 * for the format, a Content-Type unless the config sets one, and the
 * Idempotency-Key header.  -1 with *err (malloc'd) when the message
 * cannot be sent as it is (a raw body that is not JSON, a key with
 * control characters): the row is dead, not retried.
 */
int	gw_build(const struct gw_conf *, const struct gw_msg *m,
	    struct gw_request *out, char **err);
void	gw_request_free(struct gw_request *);

enum gw_verdict { GW_SENT, GW_RETRY, GW_DEAD };

/*
 * Classifies a reply.  http_status 0 means no reply (connection refused,
 * reset, timeout).  The overrides in conf come first, then: 2xx sent
 * (after the JSON check), 408, 429 and 5xx retry, other 4xx dead, and
 * anything else (1xx, 3xx, no reply) retry.  For a retry, *retry_at is
 * the instant Retry-After (seconds or an HTTP-date) names, never before
 * now, or 0 when there is none.  *reason (malloc'd, NULL for GW_SENT)
 * keeps the status and the server's text, truncated, controls stripped,
 * and the configured secret masked.
 */
enum gw_verdict gw_classify(const struct gw_conf *, long http_status,
	    const char *retry_after, const char *body, size_t len,
	    int64_t now, int64_t *retry_at, char **reason);

/*
 * Retry-After: delay-seconds or an HTTP-date (IMF-fixdate, RFC 850 or
 * asctime).  0 with *at (never before now), or -1 if malformed.
 */
int	gw_retry_after(const char *value, int64_t now, int64_t *at);

/* url with its query and user info replaced by "...", for logs (malloc'd). */
char   *gw_url_redacted(const char *url);

/* A national phone format: a POSIX extended regex and a country code. */
struct phone_national {
	regex_t		 re;
	char		*country;	/* e.g. "86", without '+' */
};

/*
 * Compiles regex (anchored with ^...$ for you) for numbers written
 * without the country code.  0, or -1 with *err (malloc'd).
 */
int	phone_national_compile(const char *regex, const char *country,
	    struct phone_national *, char **err);
void	phone_national_free(struct phone_national *);

/*
 * Validates phone after removing spaces, hyphens, dots and parentheses:
 * E.164 (+ then 7 to 15 digits, the first not 0), or, with nat, the
 * national format, prefixed with +country.  0 with *normalised (malloc'd
 * E.164), or -1 with *why (static text).
 */
int	phone_validate(const char *phone, const struct phone_national *nat,
	    char **normalised, const char **why);

/*
 * Quiet hours [start_min, end_min) in local minutes of day, wrapping
 * midnight when start > end (21:00-08:00); start == end means none.
 * Returns 1 with *send_at the instant they end if now falls inside, else
 * 0 with *send_at = now.  Uses the process zone (tz.h).
 */
int	quiet_hours_next(int start_min, int end_min, time_t now,
	    time_t *send_at);

#endif
