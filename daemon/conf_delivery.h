/*
 * The delivery part of crmd.conf: channels.{email,sms,webhook}, outbox and
 * quiet_hours (docs/configuration.md).  Filled by conf.c, read by the
 * outbox sender (outbox.c) and by crmctl's test-send.  A channel whose
 * group is absent has configured == 0: whatever asks for it is told so,
 * and its messages go dead with that reason rather than waiting forever.
 */
#ifndef CRMD_CONF_DELIVERY_H
#define CRMD_CONF_DELIVERY_H

#include <stdint.h>

#include "gateway.h"

enum starttls_mode {
	STARTTLS_TRY,		/* "try": upgrade when offered (default) */
	STARTTLS_REQUIRED,	/* "required": refuse to send in clear */
	STARTTLS_NONE,		/* "none": never (smtps:// is TLS anyway) */
};

/* What every channel shares: pace and patience. */
struct conf_pace {
	double		 rate;		/* messages per second (token bucket);
					   0: unlimited */
	int		 burst;		/* bucket size; default max(1, rate) */
	int		 concurrency;	/* transfers at once; default 4 */
	int64_t		 connect_timeout_ms;	/* default 10 s */
	int64_t		 timeout_ms;	/* whole transfer; default 60 s */
};

struct conf_email {
	int		 configured;
	char		*url;		/* smtp://host[:port] or smtps:// */
	char		*from_addr;	/* "crm@example.com" */
	char		*from_name;	/* display name, may be Chinese; NULL */
	char		*username;	/* AUTH; NULL: none */
	char		*password;	/* from password_file or a credential;
					   never logged; NULL with no AUTH */
	enum starttls_mode starttls;
	char		*cafile;	/* NULL: the system's CAs */
	struct conf_pace pace;
};

struct conf_http_channel {
	int		 configured;
	struct gw_conf	 gw;		/* url, method, headers, format, body,
					   codes; presets expanded */
	char		*cafile;	/* https: NULL, the system's CAs */
	struct conf_pace pace;
};

struct conf_sms {
	struct conf_http_channel http;
	int		 has_national;
	struct phone_national national;	/* channels.sms.national = {
					   regex; country; } */
	/* As written, kept for messages; http.gw holds what they made. */
	const char	*preset;	/* "twilio", or NULL: generic */
	char		*account;	/* preset's account (Twilio SID) */
	char		*from;		/* preset's sending number */
	char		*national_regex;
	char		*national_country;
};

struct conf_outbox {
	int64_t		 backoff_min;	/* seconds; default 300 */
	int64_t		 backoff_max;	/* default 4000 */
	int64_t		 lifetime;	/* after which a message is dead;
					   default 5 days */
	int64_t		 lease;		/* a sending row's lease; default
					   the largest configured channel
					   timeout + 60 s */
};

struct conf_delivery {
	struct conf_email	 email;
	struct conf_sms		 sms;
	struct conf_http_channel webhook;
	struct conf_outbox	 outbox;
	int			 quiet_start;	/* quiet_hours.start, minute of
						   day; default 21:00 */
	int			 quiet_end;	/* default 08:00 */
};

/* The delivery rules conf.c applies while loading (conf_delivery.c). */
void	conf_delivery_defaults(struct conf_delivery *);
void	conf_delivery_free(struct conf_delivery *);	/* every pointer */

/* "crm@example.com" or "名字 <crm@example.com>"; -1 with static *why. */
int	conf_mailbox_parse(const char *, char **name, char **addr,
	    const char **why);
/* Static text saying what is wrong, or NULL when fine. */
const char *conf_url_problem(const char *url, int smtp);
const char *conf_header_problem(const char *header);
const char *conf_method_problem(const char *method);

/*
 * Checks across a group's keys, once each key loaded cleanly.  Each
 * returns 0, or -1 with *why malloc'd (NULL when out of memory) and *key
 * the key whose line conf.c reports it at (NULL: the group's).
 */
int	conf_email_finish(struct conf_email *, const char **key, char **why);
int	conf_national_finish(struct conf_sms *, const char **key, char **why);
int	conf_sms_preset(struct conf_sms *, const char **key, char **why);
int	conf_http_finish(struct conf_http_channel *, const char **key,
	    char **why);
int	conf_outbox_check(const struct conf_outbox *, const char **key,
	    char **why);
/* Once every key is loaded: burst and lease defaults, the lease check. */
int	conf_delivery_finish(struct conf_delivery *, char **why);

#endif
