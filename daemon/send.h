/*
 * Channel adapters: how one outbox message becomes one libcurl transfer
 * and how its end becomes a verdict.  send_email.c speaks SMTP through
 * mail.c; send_http.c speaks to SMS gateways and webhooks through
 * gateway.c.  The sender (outbox.c) owns the easy handle, the loop and
 * the database; an adapter only sets options and reads the result.
 */
#ifndef CRMD_SEND_H
#define CRMD_SEND_H

#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

struct conf_delivery;
struct conf_pace;

/*
 * One message, from its outbox row.  Strings are NUL-terminated and
 * counted: a NUL inside a value (the CRM may store one) is there to be
 * seen, never a place to cut the value short.
 */
struct send_msg {
	int64_t		 id;
	const char	*recipient;
	const char	*subject;
	const char	*body;
	const char	*key;		/* never NULL: "outbox:<id>" without one */
	size_t		 recipient_len;
	size_t		 subject_len;
	size_t		 body_len;
	size_t		 key_len;
	time_t		 now;
	const char	*name;		/* recipient's display name; NULL none */
	const char	*html;		/* HTML alternative; NULL none */
	size_t		 name_len;
	size_t		 html_len;
};

enum send_verdict {
	SEND_SENT,
	SEND_RETRY,		/* later, with backoff */
	SEND_DEAD,		/* never: the reason says why */
};

struct send_outcome {
	enum send_verdict verdict;
	int		 down;		/* the destination gave no useful
					   answer: do not hammer it */
	int64_t		 retry_at;	/* the server's Retry-After; 0 none */
	char		*reason;	/* malloc'd, NULL when sent; never
					   holds a secret */
};

struct send_ops {
	const char	*name;		/* outbox.channel */
	int		(*configured)(const struct conf_delivery *);
	const struct conf_pace *(*pace)(const struct conf_delivery *);
	/*
	 * Sets easy (already reset, with crmd's defaults) up for m.  0 with
	 * *state to pass to finish and release; or -1 with *out filled: the
	 * message cannot be sent as it is (dead) or not now (retry).
	 */
	int		(*start)(CURL *easy, const struct conf_delivery *,
			    const struct send_msg *m, void **state,
			    struct send_outcome *out);
	/* The transfer ended with res: the verdict. */
	void		(*finish)(void *state, CURL *easy, CURLcode res,
			    const struct conf_delivery *, int64_t now,
			    struct send_outcome *out);
	void		(*release)(void *state);
};

extern const struct send_ops send_email_ops;
extern const struct send_ops send_sms_ops;
extern const struct send_ops send_webhook_ops;

/* Sets *out to a verdict with a copy of reason.  Returns -1 (for
 * start's "return send_fail(...)").  send_http.c. */
int	send_fail(struct send_outcome *out, enum send_verdict v,
	    const char *reason);

/* Masks secret in text, in place, as "***": in clear, percent-encoded,
 * and inside any base64 (send_mask.c).  For a server's reply that echoes
 * what it was sent. */
void	send_mask_secret(char *text, const char *secret);

#endif
