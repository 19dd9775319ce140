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
	struct conf_pace pace;
};

struct conf_sms {
	struct conf_http_channel http;
	int		 has_national;
	struct phone_national national;	/* channels.sms.national = {
					   regex; country; } */
};

struct conf_outbox {
	int64_t		 backoff_min;	/* seconds; default 300 */
	int64_t		 backoff_max;	/* default 4000 */
	int64_t		 lifetime;	/* after which a message is dead;
					   default 5 days */
	int64_t		 lease;		/* a sending row's lease; default
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

#endif
