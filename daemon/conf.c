/*
 * crmd.conf: libconfig syntax, checked against one declarative table of
 * keys (name, type, bounds, restart-only flag, extra check), in the manner
 * of redis' config.c.  A new setting is a new row; a new section is a row
 * of type KEY_GROUP pointing at its own table.  A group row's offset is
 * added to its keys' offsets, so one table serves every copy of a group
 * (templates.<kind>.<channel> is 11 x 4 groups and three leaf rows).  Every
 * problem is collected as "FILE:LINE: message" and reported together, so
 * one run of `crmd -n` shows the admin everything to fix.  The delivery
 * keys (channels, outbox, quiet_hours) have their rows here and their
 * rules in conf_delivery.c.
 */
#include "conf.h"
#include "conf_rules_load.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duration.h"
#include "protocol.h"
#include "secret.h"
#include "template.h"
#include "tz.h"

#define TEMPLATE_FILE_MAX	(64 * 1024)	/* templates.*.body_file */

enum key_type {
	KEY_STRING,	/* any non-empty string */
	KEY_PATH,	/* string; relative means relative to the start cwd */
	KEY_GROUPNAME,	/* string naming a group, resolved to a gid */
	KEY_INT,	/* integer within [min, max], stored as int */
	KEY_DURATION,	/* "30s"-style string within [min, max] seconds */
	KEY_ENUM,	/* one of choices[], handed to set_enum() */
	KEY_GROUP,	/* a nested { ... } group with its own table */
	KEY_HHMM,	/* "HH:MM" as minute of day; max 1440 allows "24:00" */
	KEY_DAYS,	/* ["mon", ...] as a bit mask, bit 0 = Sunday */
	KEY_DATES,	/* ["YYYY-MM-DD", ...]: sorted struct tz_date array */
	KEY_CHANNELS,	/* ["inapp", ...] as a CH_BIT mask */
	KEY_TEMPLATE,	/* template text, compiled to a struct tmpl * */
	KEY_TEMPLATE_FILE, /* the same, read from a file */
	KEY_RATE,	/* an integer or decimal in [min, max], as double */
	KEY_SECRET,	/* a file or credential, read by secret_read() */
	KEY_MAILBOX,	/* "addr" or "name <addr>", split in two fields */
	KEY_HEADERS,	/* ["Name: value", ...] as char ** and a count */
	KEY_CODES,	/* [200, 201] HTTP status codes as struct gw_codes */
	KEY_VALUES,	/* ["0", ...] as char *[GW_VALUES_MAX] and a count */
	KEY_LIST,	/* ( { ... }, ... ) handed to load_list (conf_rules.c) */
};

struct loader;
struct conf_key;

/* Extra validation of a string value; reports its own error. */
typedef int (*key_check)(struct loader *, const config_setting_t *,
    const char *name, const char *value);
/* Check across a group's keys, run when each of them loaded cleanly. */
typedef void (*group_check)(struct loader *, const config_setting_t *group,
    const char *name);

struct conf_key {
	const char		*name;
	enum key_type		 type;
	int			 restart;	/* reload keeps the old value */
	size_t			 off;		/* field, from the group's base */
	size_t			 gid_off;	/* KEY_GROUPNAME: its gid field */
	int64_t			 min, max;	/* KEY_INT; KEY_DURATION (s) */
	int64_t			 scale;		/* KEY_DURATION: store secs*scale */
	const char *const	*choices;	/* KEY_ENUM, NULL-terminated */
	void			(*set_enum)(struct crmd_conf *, int);
	key_check		 check;
	const struct conf_key	*sub;		/* KEY_GROUP */
	int			 list_known;	/* KEY_GROUP: name its keys
						   when one is unknown */
	group_check		 post;		/* KEY_GROUP */
	size_t			 n_off;		/* KEY_DATES: its count field */
	unsigned		 always;	/* KEY_CHANNELS: bits forced on */
	int			 subject;	/* KEY_TEMPLATE: a subject line */
	int			 html;		/* KEY_TEMPLATE(_FILE): email's
						   HTML alternative */
	int			 gateway;	/* KEY_TEMPLATE: an HTTP body
						   ({to}, {text}, ...) */
	size_t			 name_off;	/* KEY_MAILBOX: its name field */
	/* KEY_LIST: loads the list into conf->rules (conf_rules_load.h). */
	void			(*load_list)(struct conf_rules *,
				    const config_setting_t *,
				    const struct conf_report *);
};

struct loader {
	struct crmd_conf	*conf;
	const char		*path;		/* as given, for messages */
	const char		*dir;		/* its directory, for @include
						   and body_file */
	size_t			 base;		/* offset of the group walked */
	FILE			*errs;		/* open_memstream */
	char			*errbuf;
	size_t			 errlen;
	int			 nerrs;
};

#define FIELD(f)	offsetof(struct crmd_conf, f)

static int	check_socket(struct loader *, const config_setting_t *,
		    const char *, const char *);
static int	check_timezone(struct loader *, const config_setting_t *,
		    const char *, const char *);
static void	set_log_target(struct crmd_conf *, int);
static void	set_log_level(struct crmd_conf *, int);
static void	check_working_hours(struct loader *, const config_setting_t *,
		    const char *);
static int	check_smtp_url(struct loader *, const config_setting_t *,
		    const char *, const char *);
static int	check_http_url(struct loader *, const config_setting_t *,
		    const char *, const char *);
static int	check_method(struct loader *, const config_setting_t *,
		    const char *, const char *);
static int	check_one_line(struct loader *, const config_setting_t *,
		    const char *, const char *);
static int	check_cafile(struct loader *, const config_setting_t *,
		    const char *, const char *);
static void	set_starttls(struct crmd_conf *, int);
static void	set_sms_format(struct crmd_conf *, int);
static void	set_sms_preset(struct crmd_conf *, int);
static void	check_email(struct loader *, const config_setting_t *,
		    const char *);
static void	check_sms(struct loader *, const config_setting_t *,
		    const char *);
static void	check_national(struct loader *, const config_setting_t *,
		    const char *);
static void	check_webhook(struct loader *, const config_setting_t *,
		    const char *);
static void	check_outbox(struct loader *, const config_setting_t *,
		    const char *);

static const char *const log_targets[] = { "stderr", "syslog", NULL };
static const char *const log_levels[] = { "info", "debug", NULL };

static const struct conf_key log_keys[] = {
	{ .name = "target", .type = KEY_ENUM, .choices = log_targets,
	  .set_enum = set_log_target },
	{ .name = "level", .type = KEY_ENUM, .choices = log_levels,
	  .set_enum = set_log_level },
	{ .name = NULL }
};

static const struct conf_key control_keys[] = {
	{ .name = "max_clients", .type = KEY_INT,
	  .off = FIELD(ctl_max_clients), .min = 1, .max = 1024 },
	{ .name = "idle_timeout", .type = KEY_DURATION,
	  .off = FIELD(ctl_idle_timeout), .min = 1, .max = 86400, .scale = 1 },
	{ .name = "max_request", .type = KEY_INT,
	  .off = FIELD(ctl_max_request), .min = 1024, .max = CRMD_MAX_REQUEST },
	{ .name = NULL }
};

static const struct conf_key working_hours_keys[] = {
	{ .name = "days", .type = KEY_DAYS, .off = FIELD(working_hours.days) },
	{ .name = "start", .type = KEY_HHMM,
	  .off = FIELD(working_hours.start), .max = 1439 },
	{ .name = "end", .type = KEY_HHMM,
	  .off = FIELD(working_hours.end), .max = 1440 },
	{ .name = "holidays", .type = KEY_DATES,
	  .off = FIELD(working_hours.holidays),
	  .n_off = FIELD(working_hours.nholidays) },
	{ .name = "immediate", .type = KEY_CHANNELS,
	  .off = FIELD(immediate_channels) },
	{ .name = NULL }
};

static const struct conf_key renewal_keys[] = {
	{ .name = "days_before", .type = KEY_INT,
	  .off = FIELD(renewal_days_before), .min = 0, .max = 365 },
	{ .name = "time", .type = KEY_HHMM, .off = FIELD(renewal_time),
	  .max = 1439 },
	{ .name = NULL }
};

static const struct conf_key birthday_keys[] = {
	{ .name = "time", .type = KEY_HHMM, .off = FIELD(birthday_time),
	  .max = 1439 },
	{ .name = NULL }
};

static const struct conf_key catchup_keys[] = {
	{ .name = "max_age", .type = KEY_DURATION,
	  .off = FIELD(catchup_max_age), .min = 0, .max = 30 * 86400,
	  .scale = 1 },
	{ .name = NULL }
};

static const struct conf_key escalation_keys[] = {
	{ .name = "after", .type = KEY_DURATION,
	  .off = FIELD(escalation_after), .min = 0, .max = 30 * 86400,
	  .scale = 1 },
	{ .name = NULL }
};

static const struct conf_key digest_keys[] = {
	{ .name = "time", .type = KEY_HHMM, .off = FIELD(digest_time),
	  .max = 1439 },
	{ .name = NULL }
};

/* reminders.<kind>: the channels a reminder of that kind goes to. */
#define REMINDER_KIND(n, k) \
	{ .name = n, .type = KEY_CHANNELS, .off = FIELD(kind_channels[k]), \
	  .always = CH_BIT(CH_INAPP) }

static const struct conf_key reminders_keys[] = {
	REMINDER_KIND("followup", KIND_FOLLOWUP),
	REMINDER_KIND("callback", KIND_CALLBACK),
	REMINDER_KIND("renewal", KIND_RENEWAL),
	REMINDER_KIND("birthday", KIND_BIRTHDAY),
	REMINDER_KIND("custom", KIND_CUSTOM),
	{ .name = NULL }
};

/* templates.<kind>.<channel>.{subject,body,body_file,html,html_file}. */
static const struct conf_key message_keys[] = {
	{ .name = "subject", .type = KEY_TEMPLATE,
	  .off = offsetof(struct conf_message, subject), .subject = 1 },
	{ .name = "body", .type = KEY_TEMPLATE,
	  .off = offsetof(struct conf_message, body) },
	{ .name = "body_file", .type = KEY_TEMPLATE_FILE,
	  .off = offsetof(struct conf_message, body) },
	{ .name = "html", .type = KEY_TEMPLATE,
	  .off = offsetof(struct conf_message, html), .html = 1 },
	{ .name = "html_file", .type = KEY_TEMPLATE_FILE,
	  .off = offsetof(struct conf_message, html), .html = 1 },
	{ .name = NULL }
};

#define TEMPLATE_CHANNEL(n, c) \
	{ .name = n, .type = KEY_GROUP, \
	  .off = (c) * sizeof(struct conf_message), .sub = message_keys, \
	  .list_known = 1 }

static const struct conf_key template_channel_keys[] = {
	TEMPLATE_CHANNEL("inapp", CH_INAPP),
	TEMPLATE_CHANNEL("email", CH_EMAIL),
	TEMPLATE_CHANNEL("sms", CH_SMS),
	TEMPLATE_CHANNEL("webhook", CH_WEBHOOK),
	{ .name = NULL }
};

#define TEMPLATE_KIND(n, k) \
	{ .name = n, .type = KEY_GROUP, .off = FIELD(messages[k]), \
	  .sub = template_channel_keys, .list_known = 1 }

static const struct conf_key templates_keys[] = {
	TEMPLATE_KIND("followup", KIND_FOLLOWUP),
	TEMPLATE_KIND("callback", KIND_CALLBACK),
	TEMPLATE_KIND("renewal", KIND_RENEWAL),
	TEMPLATE_KIND("birthday", KIND_BIRTHDAY),
	TEMPLATE_KIND("custom", KIND_CUSTOM),
	TEMPLATE_KIND("escalation", KIND_ESCALATION),
	TEMPLATE_KIND("digest", KIND_DIGEST),
	TEMPLATE_KIND("stale", KIND_STALE),
	TEMPLATE_KIND("stale_escalation", KIND_STALE_ESCALATION),
	TEMPLATE_KIND("assigned", KIND_ASSIGNED),
	TEMPLATE_KIND("event", KIND_EVENT),
	{ .name = NULL }
};

/* -- delivery: channels, outbox, quiet_hours (conf_delivery.h) -------- */

/* What every channel has: pace and patience.  Offsets within struct T. */
#define PACE_KEYS(T, pace) \
	{ .name = "rate", .type = KEY_RATE, .off = offsetof(T, pace.rate), \
	  .min = 0, .max = 100000 }, \
	{ .name = "burst", .type = KEY_INT, \
	  .off = offsetof(T, pace.burst), .min = 1, .max = 100000 }, \
	{ .name = "concurrency", .type = KEY_INT, \
	  .off = offsetof(T, pace.concurrency), .min = 1, .max = 1024 }, \
	{ .name = "connect_timeout", .type = KEY_DURATION, \
	  .off = offsetof(T, pace.connect_timeout_ms), .min = 1, \
	  .max = 600, .scale = 1000 }, \
	{ .name = "timeout", .type = KEY_DURATION, \
	  .off = offsetof(T, pace.timeout_ms), .min = 1, .max = 3600, \
	  .scale = 1000 }

/* What sms and webhook share: one struct gw_conf (gateway.h). */
#define HTTP_KEYS(T, gw) \
	{ .name = "url", .type = KEY_STRING, .off = offsetof(T, gw.url), \
	  .check = check_http_url }, \
	{ .name = "method", .type = KEY_STRING, \
	  .off = offsetof(T, gw.method), .check = check_method }, \
	{ .name = "headers", .type = KEY_HEADERS, \
	  .off = offsetof(T, gw.headers), \
	  .n_off = offsetof(T, gw.nheaders) }, \
	{ .name = "body", .type = KEY_TEMPLATE, .off = offsetof(T, gw.body), \
	  .gateway = 1 }, \
	{ .name = "sent_codes", .type = KEY_CODES, \
	  .off = offsetof(T, gw.sent) }, \
	{ .name = "retry_codes", .type = KEY_CODES, \
	  .off = offsetof(T, gw.retry) }, \
	{ .name = "dead_codes", .type = KEY_CODES, \
	  .off = offsetof(T, gw.dead) }, \
	{ .name = "json_field", .type = KEY_STRING, \
	  .off = offsetof(T, gw.json_field), .check = check_one_line }, \
	{ .name = "json_ok", .type = KEY_VALUES, \
	  .off = offsetof(T, gw.json_ok), \
	  .n_off = offsetof(T, gw.njson_ok) }, \
	{ .name = "json_retry", .type = KEY_VALUES, \
	  .off = offsetof(T, gw.json_retry), \
	  .n_off = offsetof(T, gw.njson_retry) }, \
	{ .name = "username", .type = KEY_STRING, \
	  .off = offsetof(T, gw.auth_user), .check = check_one_line }, \
	{ .name = "password_file", .type = KEY_SECRET, \
	  .off = offsetof(T, gw.auth_secret) }

static const char *const starttls_modes[] = { "required", "try", "none",
	NULL };
static const char *const sms_formats[] = { "form", "json", NULL };
static const char *const sms_presets[] = { "twilio", NULL };

#define EMAIL(f)	offsetof(struct conf_email, f)
#define SMS(f)		offsetof(struct conf_sms, f)

static const struct conf_key email_keys[] = {
	{ .name = "url", .type = KEY_STRING, .off = EMAIL(url),
	  .check = check_smtp_url },
	{ .name = "from", .type = KEY_MAILBOX, .off = EMAIL(from_addr),
	  .name_off = EMAIL(from_name) },
	{ .name = "username", .type = KEY_STRING, .off = EMAIL(username),
	  .check = check_one_line },
	{ .name = "password_file", .type = KEY_SECRET, .off = EMAIL(password) },
	{ .name = "starttls", .type = KEY_ENUM, .choices = starttls_modes,
	  .set_enum = set_starttls },
	{ .name = "cafile", .type = KEY_PATH, .off = EMAIL(cafile),
	  .check = check_cafile },
	PACE_KEYS(struct conf_email, pace),
	{ .name = NULL }
};

/* Offsets from struct conf_sms: the national group's row adds nothing. */
static const struct conf_key national_keys[] = {
	{ .name = "regex", .type = KEY_STRING, .off = SMS(national_regex) },
	{ .name = "country", .type = KEY_STRING, .off = SMS(national_country) },
	{ .name = NULL }
};

static const struct conf_key sms_keys[] = {
	{ .name = "preset", .type = KEY_ENUM, .choices = sms_presets,
	  .set_enum = set_sms_preset },
	{ .name = "account", .type = KEY_STRING, .off = SMS(account),
	  .check = check_one_line },
	{ .name = "from", .type = KEY_STRING, .off = SMS(from),
	  .check = check_one_line },
	{ .name = "token_file", .type = KEY_SECRET,
	  .off = SMS(http.gw.auth_secret) },
	{ .name = "format", .type = KEY_ENUM, .choices = sms_formats,
	  .set_enum = set_sms_format },
	{ .name = "national", .type = KEY_GROUP, .sub = national_keys,
	  .post = check_national },
	HTTP_KEYS(struct conf_sms, http.gw),
	{ .name = "cafile", .type = KEY_PATH, .off = SMS(http.cafile),
	  .check = check_cafile },
	PACE_KEYS(struct conf_sms, http.pace),
	{ .name = NULL }
};

static const struct conf_key webhook_keys[] = {
	HTTP_KEYS(struct conf_http_channel, gw),
	{ .name = "cafile", .type = KEY_PATH,
	  .off = offsetof(struct conf_http_channel, cafile),
	  .check = check_cafile },
	PACE_KEYS(struct conf_http_channel, pace),
	{ .name = NULL }
};

static const struct conf_key channels_keys[] = {
	{ .name = "email", .type = KEY_GROUP, .off = FIELD(delivery.email),
	  .sub = email_keys, .post = check_email },
	{ .name = "sms", .type = KEY_GROUP, .off = FIELD(delivery.sms),
	  .sub = sms_keys, .post = check_sms },
	{ .name = "webhook", .type = KEY_GROUP, .off = FIELD(delivery.webhook),
	  .sub = webhook_keys, .post = check_webhook },
	{ .name = NULL }
};

static const struct conf_key outbox_keys[] = {
	{ .name = "backoff_min", .type = KEY_DURATION,
	  .off = FIELD(delivery.outbox.backoff_min), .min = 1,
	  .max = 86400, .scale = 1 },
	{ .name = "backoff_max", .type = KEY_DURATION,
	  .off = FIELD(delivery.outbox.backoff_max), .min = 1,
	  .max = 30 * 86400, .scale = 1 },
	{ .name = "lifetime", .type = KEY_DURATION,
	  .off = FIELD(delivery.outbox.lifetime), .min = 1,
	  .max = 365 * 86400, .scale = 1 },
	{ .name = "lease", .type = KEY_DURATION,
	  .off = FIELD(delivery.outbox.lease), .min = 1, .max = 86400,
	  .scale = 1 },
	{ .name = NULL }
};

static const struct conf_key quiet_hours_keys[] = {
	{ .name = "start", .type = KEY_HHMM, .off = FIELD(delivery.quiet_start),
	  .max = 1439 },
	{ .name = "end", .type = KEY_HHMM, .off = FIELD(delivery.quiet_end),
	  .max = 1440 },
	{ .name = NULL }
};

static const struct conf_key top_keys[] = {
	{ .name = "database", .type = KEY_PATH, .restart = 1,
	  .off = FIELD(database) },
	{ .name = "socket", .type = KEY_PATH, .restart = 1,
	  .off = FIELD(socket), .check = check_socket },
	{ .name = "socket_group", .type = KEY_GROUPNAME, .restart = 1,
	  .off = FIELD(socket_group), .gid_off = FIELD(socket_gid) },
	{ .name = "timezone", .type = KEY_STRING,
	  .off = FIELD(timezone), .check = check_timezone },
	{ .name = "admin_group", .type = KEY_GROUPNAME,
	  .off = FIELD(admin_group), .gid_off = FIELD(admin_gid) },
	{ .name = "read_group", .type = KEY_GROUPNAME,
	  .off = FIELD(read_group), .gid_off = FIELD(read_gid) },
	{ .name = "log", .type = KEY_GROUP, .sub = log_keys },
	{ .name = "busy_timeout", .type = KEY_DURATION,
	  .off = FIELD(busy_timeout_ms), .min = 0, .max = 60, .scale = 1000 },
	{ .name = "demo_data", .type = KEY_PATH, .off = FIELD(demo_data) },
	{ .name = "control", .type = KEY_GROUP, .sub = control_keys },
	{ .name = "working_hours", .type = KEY_GROUP, .sub = working_hours_keys,
	  .post = check_working_hours },
	{ .name = "renewal", .type = KEY_GROUP, .sub = renewal_keys },
	{ .name = "birthday", .type = KEY_GROUP, .sub = birthday_keys },
	{ .name = "catchup", .type = KEY_GROUP, .sub = catchup_keys },
	{ .name = "escalation", .type = KEY_GROUP, .sub = escalation_keys },
	{ .name = "digest", .type = KEY_GROUP, .sub = digest_keys },
	{ .name = "reminders", .type = KEY_GROUP, .sub = reminders_keys,
	  .list_known = 1 },
	{ .name = "templates", .type = KEY_GROUP, .sub = templates_keys,
	  .list_known = 1 },
	{ .name = "channels", .type = KEY_GROUP, .sub = channels_keys,
	  .list_known = 1 },
	{ .name = "outbox", .type = KEY_GROUP, .sub = outbox_keys,
	  .post = check_outbox },
	{ .name = "quiet_hours", .type = KEY_GROUP, .sub = quiet_hours_keys },
	/* Automation (conf_rules.c). */
	{ .name = "rules", .type = KEY_LIST,
	  .load_list = conf_rules_load_rules },
	{ .name = "rules_interval", .type = KEY_DURATION,
	  .off = FIELD(rules.interval), .min = 10, .max = 7 * 86400,
	  .scale = 1 },
	{ .name = "stale", .type = KEY_LIST,
	  .load_list = conf_rules_load_stale },
	{ .name = "assign", .type = KEY_LIST,
	  .load_list = conf_rules_load_assign },
	{ .name = NULL }
};

static void walk_group(struct loader *, const config_setting_t *,
    const struct conf_key *, const struct conf_key *, const char *prefix);

#define FIELD_PTR(c, off, type)	((type *)(void *)((char *)(c) + (off)))
/* Key k's field in the config being loaded, inside the group walked. */
#define KEY_PTR(ld, k, type)	FIELD_PTR((ld)->conf, (ld)->base + (k)->off, type)

/* -- error collection ------------------------------------------------ */

/*
 * The file a setting came from.  libconfig records an @include'd file by
 * the name written in the directive, which it resolved against the main
 * file's directory, so say that directory too.
 */
static void
err_where_col(struct loader *ld, const char *file, unsigned int line,
    int column)
{
	if (file == NULL)
		file = ld->path;
	if (file != ld->path && strcmp(file, ld->path) != 0 &&
	    file[0] != '/' && strcmp(ld->dir, ".") != 0)
		fprintf(ld->errs, "%s/", ld->dir);
	fprintf(ld->errs, "%s", file);
	if (line > 0)
		fprintf(ld->errs, ":%u", line);
	if (line > 0 && column > 0)
		fprintf(ld->errs, ":%d", column);	/* in a rule condition */
	fprintf(ld->errs, ": ");
}

static void
err_where(struct loader *ld, const char *file, unsigned int line)
{
	err_where_col(ld, file, line, 0);
}

__attribute__((format(printf, 3, 4)))
static void
err_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	if (s != NULL)
		err_where(ld, config_setting_source_file(s),
		    config_setting_source_line(s));
	else
		err_where(ld, NULL, 0);
	va_start(ap, fmt);
	vfprintf(ld->errs, fmt, ap);
	va_end(ap);
	fputc('\n', ld->errs);
	ld->nerrs++;
}

/*
 * A value echoed in a message, with control characters replaced so that a
 * "\n" inside a string cannot split one error into two lines.
 */
static const char *
shown(const char *v, char *buf, size_t len)
{
	size_t i;

	for (i = 0; v[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ?
		    '?' : v[i];
	buf[i] = '\0';
	return buf;
}

/* -- value helpers --------------------------------------------------- */

/* Replaces the string field at off, freeing the default it held. */
static int
set_string(struct loader *ld, size_t off, const char *v)
{
	char **field = FIELD_PTR(ld->conf, off, char *);
	char *copy;

	if ((copy = strdup(v)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

/*
 * crmd may chdir after startup and reload later, so a relative path is
 * pinned to the directory crmd was started in, once, here.
 */
static char *
absolute_path(const char *p)
{
	char cwd[PATH_MAX], *abs;

	if (p[0] == '/')
		return strdup(p);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (asprintf(&abs, "%s/%s", cwd, p) == -1)
		return NULL;
	return abs;
}

/* Resolves a group name; -1 and errno 0 when there is no such group. */
static int
lookup_group(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	size_t len = 1024;
	char *buf = NULL;
	int rc;

	for (;;) {
		char *nbuf = realloc(buf, len);

		if (nbuf == NULL) {
			free(buf);
			return -1;
		}
		buf = nbuf;
		rc = getgrnam_r(name, &gr, buf, len, &res);
		if (rc != ERANGE || len >= 1024 * 1024)
			break;
		len *= 2;
	}
	if (res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	if (res == NULL) {
		errno = rc;
		return -1;
	}
	return 0;
}

/* -- per-key checks -------------------------------------------------- */

static int
check_socket(struct loader *ld, const config_setting_t *s, const char *name,
    const char *abs)
{
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	size_t len = strlen(abs);

	if (len <= max)
		return 0;
	err_at(ld, s, "'%s' is too long for a Unix socket "
	    "(%zu bytes as an absolute path, at most %zu)", name, len, max);
	return -1;
}

/* True when name could be a zone name rather than an escape from TZDIR. */
static int
zone_name_ok(const char *tz)
{
	const char *p = tz;

	if (tz[0] == '/')
		return 0;
	for (;;) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return 0;
		if ((p = strchr(p, '/')) == NULL)
			return 1;
		p++;
	}
}

/* A zone file is a regular file starting with the "TZif" magic. */
static int
zone_file_ok(const char *file)
{
	char magic[4];
	struct stat st;
	int fd, ok = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0)
		ok = 1;
	close(fd);
	return ok;
}

static int
check_timezone(struct loader *ld, const config_setting_t *s,
    const char *name, const char *tz)
{
	const char *dir = getenv("TZDIR");
	char file[PATH_MAX], buf[256];
	int n;

	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if (!zone_name_ok(tz)) {
		err_at(ld, s, "'%s' must be a zone name such as "
		    "\"Asia/Shanghai\", not a path", name);
		return -1;
	}
	n = snprintf(file, sizeof(file), "%s/%s", dir, tz);
	if (n < 0 || (size_t)n >= sizeof(file) || !zone_file_ok(file)) {
		err_at(ld, s, "'%s': unknown time zone \"%s\" (no zone file "
		    "in %s)", name, shown(tz, buf, sizeof(buf)), dir);
		return -1;
	}
	return 0;
}

static void
set_log_target(struct crmd_conf *c, int i)
{
	c->log_target = i == 0 ? CONF_LOG_STDERR : CONF_LOG_SYSLOG;
}

static void
set_log_level(struct crmd_conf *c, int i)
{
	c->log_debug = i == 1;
}

static int
check_url(struct loader *ld, const config_setting_t *s, const char *name,
    const char *url, int smtp)
{
	const char *why;

	if ((why = conf_url_problem(url, smtp)) == NULL)
		return 0;
	/* Not echoed: a robot's URL holds its access token. */
	err_at(ld, s, "'%s' %s", name, why);
	return -1;
}

static int
check_smtp_url(struct loader *ld, const config_setting_t *s,
    const char *name, const char *url)
{
	return check_url(ld, s, name, url, 1);
}

static int
check_http_url(struct loader *ld, const config_setting_t *s,
    const char *name, const char *url)
{
	return check_url(ld, s, name, url, 0);
}

static int
check_method(struct loader *ld, const config_setting_t *s, const char *name,
    const char *m)
{
	const char *why;

	if ((why = conf_method_problem(m)) == NULL)
		return 0;
	err_at(ld, s, "'%s' %s", name, why);
	return -1;
}

/* A value that ends up in a protocol line or a log line. */
static int
check_one_line(struct loader *ld, const config_setting_t *s,
    const char *name, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			err_at(ld, s, "'%s' must be one line without control "
			    "characters", name);
			return -1;
		}
	}
	return 0;
}

static int
check_cafile(struct loader *ld, const config_setting_t *s, const char *name,
    const char *abs)
{
	struct stat st;
	char buf[256];
	int fd, ok = 0;

	if ((fd = open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1 ||
	    fstat(fd, &st) == -1)
		err_at(ld, s, "'%s': cannot read \"%s\": %s", name,
		    shown(abs, buf, sizeof(buf)), strerror(errno));
	else if (!S_ISREG(st.st_mode))
		err_at(ld, s, "'%s': \"%s\" is not a file of PEM "
		    "certificates", name, shown(abs, buf, sizeof(buf)));
	else
		ok = 1;
	if (fd != -1)
		close(fd);
	return ok ? 0 : -1;
}

static void
set_starttls(struct crmd_conf *c, int i)
{
	static const enum starttls_mode modes[] = {	/* starttls_modes */
		STARTTLS_REQUIRED, STARTTLS_TRY, STARTTLS_NONE
	};

	c->delivery.email.starttls = modes[i];
}

static void
set_sms_format(struct crmd_conf *c, int i)
{
	c->delivery.sms.http.gw.format = i == 0 ? GW_FORM : GW_JSON;
}

static void
set_sms_preset(struct crmd_conf *c, int i)
{
	c->delivery.sms.preset = sms_presets[i];
}

/* -- one key of each type -------------------------------------------- */

static int
want_string(struct loader *ld, const config_setting_t *s, const char *name,
    const char **v)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, "'%s' must be a string in double quotes", name);
		return -1;
	}
	*v = config_setting_get_string(s);
	if (**v == '\0') {
		err_at(ld, s, "'%s' must not be empty", name);
		return -1;
	}
	return 0;
}

static void
load_string(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	const char *v;

	if (want_string(ld, s, name, &v) == -1)
		return;
	if (k->check != NULL && k->check(ld, s, name, v) == -1)
		return;
	if (set_string(ld, ld->base + k->off, v) == -1)
		err_at(ld, s, "'%s': %s", name, strerror(errno));
}

static void
load_path(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	const char *v;
	char *abs;

	if (want_string(ld, s, name, &v) == -1)
		return;
	if ((abs = absolute_path(v)) == NULL) {
		err_at(ld, s, "'%s': cannot make the path absolute: %s",
		    name, strerror(errno));
		return;
	}
	if (k->check == NULL || k->check(ld, s, name, abs) == 0) {
		char **field = KEY_PTR(ld, k, char *);

		free(*field);
		*field = abs;
	} else
		free(abs);
}

static void
load_groupname(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	const char *v;
	char buf[256];
	gid_t gid;

	if (want_string(ld, s, name, &v) == -1)
		return;
	if (lookup_group(v, &gid) == -1) {
		if (errno == 0 || errno == ENOENT || errno == ESRCH)
			err_at(ld, s, "'%s': no such group \"%s\"", name,
			    shown(v, buf, sizeof(buf)));
		else
			err_at(ld, s, "'%s': cannot look up group \"%s\": %s",
			    name, shown(v, buf, sizeof(buf)), strerror(errno));
		return;
	}
	if (set_string(ld, ld->base + k->off, v) == -1) {
		err_at(ld, s, "'%s': %s", name, strerror(errno));
		return;
	}
	*FIELD_PTR(ld->conf, ld->base + k->gid_off, gid_t) = gid;
}

/*
 * libconfig 1.5 silently wraps an integer literal too big for an int
 * ("4294967360" reads as 64), so look at the literal itself: the source
 * line is re-read and its number compared with what libconfig stored.
 * Returns 1 on a mismatch, 0 when they agree or the literal is not found.
 */
static int
int_wrapped(struct loader *ld, const config_setting_t *s, long long got)
{
	const char *file = config_setting_source_file(s), *p;
	unsigned int line = config_setting_source_line(s), n = 0;
	char path[PATH_MAX], buf[1024];
	long long lit;
	FILE *fp;

	if (file == NULL)
		return 0;
	if (file[0] == '/' || strcmp(file, ld->path) == 0)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s/%s", ld->dir, file);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (n < line && fgets(buf, sizeof(buf), fp) != NULL)
		n++;
	fclose(fp);
	if (n != line || (p = strstr(buf, config_setting_name(s))) == NULL)
		return 0;
	p += strcspn(p, "=:");
	if (*p == '\0')
		return 0;
	p += 1 + strspn(p + 1, " \t");
	errno = 0;
	lit = strtoll(p, NULL, 0);
	return errno == ERANGE || lit != got;
}

static void
load_int(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		err_at(ld, s, "'%s' must be an integer%s", name,
		    config_setting_type(s) == CONFIG_TYPE_STRING ?
		    ", written without quotes" : "");
		return;
	}
	v = config_setting_get_int64(s);
	if (int_wrapped(ld, s, v)) {
		err_at(ld, s, "'%s' must be between %lld and %lld", name,
		    (long long)k->min, (long long)k->max);
		return;
	}
	if (v < k->min || v > k->max) {
		err_at(ld, s, "'%s' must be between %lld and %lld, not %lld",
		    name, (long long)k->min, (long long)k->max, v);
		return;
	}
	*KEY_PTR(ld, k, int) = (int)v;
}

static void
load_duration(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char lo[32], hi[32], buf[256];
	const char *v;
	int64_t secs;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, "'%s' must be a duration string such as \"5s\"",
		    name);
		return;
	}
	v = config_setting_get_string(s);
	if (duration_parse(v, &secs) == -1) {
		err_at(ld, s, "'%s': \"%s\" is not a duration; write a number "
		    "with s, m, h or d, such as \"5s\" or \"1h30m\"", name,
		    shown(v, buf, sizeof(buf)));
		return;
	}
	if (secs < k->min || secs > k->max) {
		err_at(ld, s, "'%s' must be between %s and %s, not \"%s\"",
		    name, duration_format(k->min, lo, sizeof(lo)),
		    duration_format(k->max, hi, sizeof(hi)),
		    shown(v, buf, sizeof(buf)));
		return;
	}
	*KEY_PTR(ld, k, int64_t) = secs * k->scale;
}

static void
enum_expected(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name, const char *got)
{
	char buf[256];
	int i;

	err_where(ld, config_setting_source_file(s),
	    config_setting_source_line(s));
	fprintf(ld->errs, "'%s' must be", name);
	for (i = 0; k->choices[i] != NULL; i++)
		fprintf(ld->errs, "%s\"%s\"", i == 0 ? " " :
		    k->choices[i + 1] == NULL ? " or " : ", ", k->choices[i]);
	if (got != NULL)
		fprintf(ld->errs, ", not \"%s\"", shown(got, buf, sizeof(buf)));
	fputc('\n', ld->errs);
	ld->nerrs++;
}

static void
load_enum(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	const char *v;
	int i;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		enum_expected(ld, s, k, name, NULL);
		return;
	}
	v = config_setting_get_string(s);
	for (i = 0; k->choices[i] != NULL; i++) {
		if (strcmp(v, k->choices[i]) == 0) {
			k->set_enum(ld->conf, i);
			return;
		}
	}
	enum_expected(ld, s, k, name, v);
}

/* -- lists: days, dates, channels ------------------------------------ */

/* An element's own line when libconfig kept one, else its list's. */
static const config_setting_t *
where(const config_setting_t *list, const config_setting_t *elem)
{
	return config_setting_source_line(elem) > 0 ? elem : list;
}

/*
 * A [...] or (...) of strings: its length, or -1 after reporting.  An
 * empty list is fine here; callers that need an element say so.
 */
static int
want_list(struct loader *ld, const config_setting_t *s, const char *name,
    const char *example)
{
	int i, n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		err_at(ld, s, "'%s' must be a list of strings such as %s",
		    name, example);
		return -1;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			err_at(ld, where(s, e), "'%s' must be a list of "
			    "strings such as %s", name, example);
			return -1;
		}
	}
	return n;
}

static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

/* The index of v in names[], or -1. */
static int
name_index(const char *const *names, const char *v)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

static void
load_days(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	unsigned days = 0;
	char buf[256];
	int i, n, d, bad = 0;

	if ((n = want_list(ld, s, name, "[\"mon\", \"tue\"]")) == -1)
		return;
	if (n == 0) {
		err_at(ld, s, "'%s' must name at least one day", name);
		return;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v = config_setting_get_string(e);

		if ((d = name_index(day_names, v)) == -1) {
			err_at(ld, where(s, e), "'%s': unknown day \"%s\"; "
			    "write sun, mon, tue, wed, thu, fri or sat", name,
			    shown(v, buf, sizeof(buf)));
			bad++;
		} else if (days & (1u << d)) {
			err_at(ld, where(s, e), "'%s': \"%s\" is listed twice",
			    name, v);
			bad++;
		} else
			days |= 1u << d;
	}
	if (bad == 0)
		*KEY_PTR(ld, k, unsigned) = days;
}

static int
date_cmp(const void *a, const void *b)
{
	return tz_date_cmp(a, b);
}

static void
load_dates(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	struct tz_date *dates, **field;
	char buf[256];
	int i, j, n, good = 0, bad = 0;

	if ((n = want_list(ld, s, name, "[\"2026-10-01\"]")) == -1)
		return;
	if ((dates = calloc(n > 0 ? (size_t)n : 1, sizeof(*dates))) == NULL) {
		err_at(ld, s, "'%s': %s", name, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v = config_setting_get_string(e);

		if (tz_parse_date(v, &dates[good]) == -1) {
			err_at(ld, where(s, e), "'%s': \"%s\" is not a date; "
			    "write a real date as \"YYYY-MM-DD\"", name,
			    shown(v, buf, sizeof(buf)));
			bad++;
			continue;
		}
		for (j = 0; j < good; j++)
			if (tz_date_cmp(&dates[j], &dates[good]) == 0)
				break;
		if (j < good) {
			err_at(ld, where(s, e), "'%s': \"%s\" is listed twice",
			    name, v);
			bad++;
		} else
			good++;
	}
	if (bad > 0) {
		free(dates);
		return;
	}
	/* Sorted, so "is this a holiday" can be a binary search. */
	qsort(dates, (size_t)n, sizeof(*dates), date_cmp);
	field = KEY_PTR(ld, k, struct tz_date *);
	free(*field);
	*field = dates;
	*FIELD_PTR(ld->conf, ld->base + k->n_off, size_t) = (size_t)n;
}

static void
load_channels(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	unsigned seen = 0;
	char buf[256];
	int i, n, c, bad = 0;

	if ((n = want_list(ld, s, name, "[\"inapp\", \"email\"]")) == -1)
		return;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v = config_setting_get_string(e);

		if ((c = channel_from_name(v)) == -1) {
			err_at(ld, where(s, e), "'%s': unknown channel \"%s\"; "
			    "write inapp, email, sms or webhook", name,
			    shown(v, buf, sizeof(buf)));
			bad++;
		} else if (seen & CH_BIT(c)) {
			err_at(ld, where(s, e), "'%s': \"%s\" is listed twice",
			    name, v);
			bad++;
		} else
			seen |= CH_BIT(c);
	}
	if (bad == 0)
		*KEY_PTR(ld, k, unsigned) = seen | k->always;
}

static void
load_hhmm(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char buf[256];
	const char *v;
	int minute;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, "'%s' must be a time string such as \"09:00\"",
		    name);
		return;
	}
	v = config_setting_get_string(s);
	if (tz_parse_hhmm(v, k->max == 1440, &minute) == -1) {
		err_at(ld, s, "'%s': \"%s\" is not a time; write \"HH:MM\" "
		    "from \"00:00\" to \"%s\"", name, shown(v, buf, sizeof(buf)),
		    k->max == 1440 ? "24:00" : "23:59");
		return;
	}
	*KEY_PTR(ld, k, int) = minute;
}

/* end after start, checked once both are known (either may be default). */
static void
check_working_hours(struct loader *ld, const config_setting_t *group,
    const char *name)
{
	const struct workhours *wh = &ld->conf->working_hours;
	const config_setting_t *s;

	if (wh->end > wh->start)
		return;
	if ((s = config_setting_get_member(group, "end")) == NULL &&
	    (s = config_setting_get_member(group, "start")) == NULL)
		s = group;
	err_at(ld, s, "'%s.end' (%02d:%02d) must be later than '%s.start' "
	    "(%02d:%02d)", name, wh->end / 60, wh->end % 60, name,
	    wh->start / 60, wh->start % 60);
}

/* -- templates ------------------------------------------------------- */

/* "FILE:LINE: " for a line of a body_file, named as the admin wrote it. */
static void
err_file_line(struct loader *ld, const char *file, int line)
{
	fprintf(ld->errs, "%s:%d: ", file, line);
}

/*
 * Compiles text for key `name` into the key's field.  Errors inside the
 * text are reported at their own line: the setting's line plus the line
 * within an inline template, or the line of body_file.
 */
static void
compile_template(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name, const char *text,
    const char *file)
{
	struct tmpl *t, **field;
	char *err = NULL;
	int line;

	if (tmpl_utf8_check(text, strlen(text), &line) == 0)
		t = k->gateway ? gw_body_compile(text, &err, &line) :
		    tmpl_compile(text, &err, &line);
	else {
		t = NULL;
		err = strdup("invalid UTF-8");
	}
	if (t == NULL) {
		if (line < 1)
			line = 1;
		if (file != NULL)
			err_file_line(ld, file, line);
		else
			err_where(ld, config_setting_source_file(s),
			    config_setting_source_line(s) + (unsigned)line - 1);
		fprintf(ld->errs, "%s in %s\n",
		    err != NULL ? err : strerror(ENOMEM), name);
		ld->nerrs++;
		free(err);
		return;
	}
	field = KEY_PTR(ld, k, struct tmpl *);
	tmpl_free(*field);
	*field = t;
}

/* An HTML alternative anywhere but under email: reported, 1. */
static int
html_misplaced(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	if (!k->html || strcmp(config_setting_name(config_setting_parent(s)),
	    "email") == 0)
		return 0;
	err_at(ld, s, "'%s': only email messages have an HTML alternative",
	    name);
	return 1;
}

static void
load_template(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	const char *v;

	if (want_string(ld, s, name, &v) == -1 ||
	    html_misplaced(ld, s, k, name))
		return;
	if (k->subject) {
		if (strcmp(config_setting_name(config_setting_parent(s)),
		    "sms") == 0) {
			err_at(ld, s, "'%s': sms messages have no subject",
			    name);
			return;
		}
		if (strpbrk(v, "\r\n") != NULL) {
			err_at(ld, s, "'%s' must be one line", name);
			return;
		}
	}
	compile_template(ld, s, k, name, v, NULL);
}

/*
 * Reads a body_file: a regular file of at most 64 KiB, not empty.  One
 * final newline is dropped, so a one-line SMS written with an editor stays
 * one line.  NULL after reporting.
 */
static char *
read_template_file(struct loader *ld, const config_setting_t *s,
    const char *name, const char *file)
{
	struct stat st;
	char *text = NULL;
	ssize_t n = -1;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1 ||
	    fstat(fd, &st) == -1) {
		err_at(ld, s, "'%s': cannot read \"%s\": %s", name, file,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TEMPLATE_FILE_MAX) {
		err_at(ld, s, "'%s': \"%s\" must be a regular file of at most "
		    "64 KiB", name, file);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL ||
	    (n = read(fd, text, (size_t)st.st_size)) == -1) {
		err_at(ld, s, "'%s': cannot read \"%s\": %s", name, file,
		    strerror(errno));
		goto out;
	}
	text[n] = '\0';
	if (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	if (n == 0 || (size_t)n != strlen(text)) {
		err_at(ld, s, "'%s': \"%s\" is %s", name, file,
		    n == 0 ? "empty" : "not text (it holds a NUL byte)");
		n = -1;
	}
out:
	if (fd != -1)
		close(fd);
	if (n <= 0) {
		free(text);
		return NULL;
	}
	return text;
}

static void
load_template_file(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char file[PATH_MAX], *text;
	const char *v;
	int len;

	if (want_string(ld, s, name, &v) == -1 ||
	    html_misplaced(ld, s, k, name))
		return;
	if (config_setting_get_member(config_setting_parent(s),
	    k->html ? "html" : "body")) {
		err_at(ld, s, "'%s': set %s or %s_file, not both", name,
		    k->html ? "html" : "body", k->html ? "html" : "body");
		return;
	}
	/* Relative to the config file, as @include is. */
	if (v[0] == '/' || strcmp(ld->dir, ".") == 0)
		len = snprintf(file, sizeof(file), "%s", v);
	else
		len = snprintf(file, sizeof(file), "%s/%s", ld->dir, v);
	if (len < 0 || (size_t)len >= sizeof(file)) {
		err_at(ld, s, "'%s': the path is too long", name);
		return;
	}
	if ((text = read_template_file(ld, s, name, file)) == NULL)
		return;
	compile_template(ld, s, k, name, text, file);
	free(text);
}

/*
 * Whatever templates the file does not set come from template_defaults.c.
 * Those compile (tests prove it); an error here would be a bug in crmd.
 */
static void
default_template(struct loader *ld, struct tmpl **field, const char *text,
    int k, int c)
{
	char *err = NULL;
	int line;

	if (*field != NULL || text == NULL)
		return;
	if ((*field = tmpl_compile(text, &err, &line)) != NULL)
		return;
	err_where(ld, NULL, 0);
	fprintf(ld->errs, "built-in template %s.%s, line %d: %s\n",
	    kind_name(k), channel_name(c), line,
	    err != NULL ? err : strerror(ENOMEM));
	ld->nerrs++;
	free(err);
}

static void
default_templates(struct loader *ld)
{
	for (int k = 0; k < KIND_MAX; k++) {
		for (int c = 0; c < CH_MAX; c++) {
			struct conf_message *m = &ld->conf->messages[k][c];

			default_template(ld, &m->subject,
			    tmpl_default_subject(k, c), k, c);
			default_template(ld, &m->body,
			    tmpl_default_body(k, c), k, c);
		}
	}
}

/* -- delivery values --------------------------------------------------- */

static void
load_rate(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		if (int_wrapped(ld, s, config_setting_get_int64(s))) {
			err_at(ld, s, "'%s' must be between %lld and %lld "
			    "messages per second", name, (long long)k->min,
			    (long long)k->max);
			return;
		}
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		err_at(ld, s, "'%s' must be a number of messages per second, "
		    "such as 10 or 0.5, written without quotes", name);
		return;
	}
	if (!(v >= (double)k->min && v <= (double)k->max)) {
		err_at(ld, s, "'%s' must be between %lld and %lld messages per "
		    "second (0: unlimited), not %g", name, (long long)k->min,
		    (long long)k->max, v);
		return;
	}
	*KEY_PTR(ld, k, double) = v;
}

/* The secret itself never reaches a message: secret_read() names files. */
static void
load_secret(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char *secret, *err = NULL, **field;
	const char *v;

	if (want_string(ld, s, name, &v) == -1 ||
	    check_one_line(ld, s, name, v) == -1)
		return;
	if ((secret = secret_read(v, &err)) == NULL) {
		err_at(ld, s, "'%s': %s", name,
		    err != NULL ? err : strerror(ENOMEM));
		free(err);
		return;
	}
	field = KEY_PTR(ld, k, char *);
	secret_free(*field);
	*field = secret;
}

static void
load_mailbox(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char *display, *addr, **field, buf[256];
	const char *v, *why;

	if (want_string(ld, s, name, &v) == -1)
		return;
	if (conf_mailbox_parse(v, &display, &addr, &why) == -1) {
		err_at(ld, s, "'%s': \"%s\" is not an address (%s); write "
		    "\"crm@example.com\" or \"名字 <crm@example.com>\"", name,
		    shown(v, buf, sizeof(buf)), why);
		return;
	}
	field = KEY_PTR(ld, k, char *);
	free(*field);
	*field = addr;
	field = FIELD_PTR(ld->conf, ld->base + k->name_off, char *);
	free(*field);
	*field = display;
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/* Headers are not echoed: they often carry an API key. */
static void
load_headers(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char **headers, ***field;
	size_t *count;
	const char *why;
	int i, n, bad = 0;

	if ((n = want_list(ld, s, name, "[\"X-Api-Key: ...\"]")) == -1)
		return;
	if ((headers = calloc((size_t)n + 1, sizeof(*headers))) == NULL) {
		err_at(ld, s, "'%s': %s", name, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v = config_setting_get_string(e);

		if ((why = conf_header_problem(v)) != NULL) {
			err_at(ld, where(s, e), "'%s': header %d %s", name,
			    i + 1, why);
			bad++;
		} else if ((headers[i] = strdup(v)) == NULL) {
			err_at(ld, s, "'%s': %s", name, strerror(errno));
			bad++;
		}
	}
	if (bad > 0) {
		free_strings(headers, (size_t)n);
		free(headers);
		return;
	}
	field = KEY_PTR(ld, k, char **);
	count = FIELD_PTR(ld->conf, ld->base + k->n_off, size_t);
	free_strings(*field, *count);
	free(*field);
	*field = headers;
	*count = (size_t)n;
}

static void
load_codes(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	struct gw_codes codes = { .n = 0 };
	int i, n, bad = 0;

	if ((!config_setting_is_array(s) && !config_setting_is_list(s)) ||
	    (n = config_setting_length(s)) > GW_CODES_MAX) {
		err_at(ld, s, "'%s' must be a list of at most %d HTTP status "
		    "codes, such as [200, 201]", name, GW_CODES_MAX);
		return;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long v = -1;
		size_t j;

		if (config_setting_type(e) == CONFIG_TYPE_INT)
			v = config_setting_get_int(e);
		if (v < 100 || v > 599) {
			err_at(ld, where(s, e), "'%s': element %d must be an "
			    "HTTP status code from 100 to 599, without quotes",
			    name, i + 1);
			bad++;
			continue;
		}
		for (j = 0; j < codes.n && codes.code[j] != v; j++)
			;
		if (j < codes.n) {
			err_at(ld, where(s, e), "'%s': %lld is listed twice",
			    name, v);
			bad++;
		} else
			codes.code[codes.n++] = (int)v;
	}
	if (bad == 0)
		*KEY_PTR(ld, k, struct gw_codes) = codes;
}

static void
load_values(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	char *values[GW_VALUES_MAX] = { NULL }, **field;
	size_t *count;
	int i, n;

	if ((n = want_list(ld, s, name, "[\"0\"]")) == -1)
		return;
	if (n > GW_VALUES_MAX) {
		err_at(ld, s, "'%s' must list at most %d values", name,
		    GW_VALUES_MAX);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string(
		    config_setting_get_elem(s, i));

		if ((values[i] = strdup(v)) == NULL) {
			err_at(ld, s, "'%s': %s", name, strerror(errno));
			free_strings(values, (size_t)i);
			return;
		}
	}
	field = KEY_PTR(ld, k, char *);
	count = FIELD_PTR(ld->conf, ld->base + k->n_off, size_t);
	free_strings(field, *count);
	memcpy(field, values, sizeof(values));
	*count = (size_t)n;
}

/* -- delivery: checks across a group's keys ---------------------------- */

/* Reports why at key's own line in group, else at the group's line. */
static void
err_key(struct loader *ld, const config_setting_t *group, const char *name,
    const char *key, char *why)
{
	const config_setting_t *s = NULL;

	if (key != NULL)
		s = config_setting_get_member(group, key);
	/* why may quote a reply parser's view of a value: keep one line. */
	for (char *p = why; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	err_at(ld, s != NULL ? s : group, "'%s%s%s' %s", name,
	    key != NULL ? "." : "", key != NULL ? key : "",
	    why != NULL ? why : strerror(ENOMEM));
	free(why);
}

static void
check_email(struct loader *ld, const config_setting_t *group,
    const char *name)
{
	const char *key;
	char *why = NULL;

	if (conf_email_finish(&ld->conf->delivery.email, &key, &why) == -1)
		err_key(ld, group, name, key, why);
}

static void
check_national(struct loader *ld, const config_setting_t *group,
    const char *name)
{
	const char *key;
	char *why = NULL;

	if (conf_national_finish(&ld->conf->delivery.sms, &key, &why) == -1)
		err_key(ld, group, name, key, why);
}

/* The keys a preset fills, and the keys only a preset takes. */
static const char *const preset_fills[] = {
	"url", "method", "headers", "format", "body", "sent_codes",
	"retry_codes", "dead_codes", "json_field", "json_ok", "json_retry",
	"username", "password_file", NULL
};
static const char *const preset_args[] = {
	"account", "from", "token_file", NULL
};

static void
check_sms(struct loader *ld, const config_setting_t *group, const char *name)
{
	struct conf_sms *sms = &ld->conf->delivery.sms;
	const char *const *keys = sms->preset != NULL ? preset_fills :
	    preset_args;
	const char *key;
	char *why = NULL;
	int clash = 0;

	for (; *keys != NULL; keys++) {
		const config_setting_t *s;

		if ((s = config_setting_get_member(group, *keys)) == NULL)
			continue;
		if (sms->preset != NULL)
			err_at(ld, s, "'%s.%s' is set by preset \"%s\"; "
			    "remove one or the other", name, *keys,
			    sms->preset);
		else
			err_at(ld, s, "'%s.%s' is only for a preset, such as "
			    "preset = \"twilio\"", name, *keys);
		clash++;
	}
	if (clash > 0)
		return;
	if ((sms->preset != NULL && conf_sms_preset(sms, &key, &why) == -1) ||
	    conf_http_finish(&sms->http, &key, &why) == -1)
		err_key(ld, group, name, key, why);
}

static void
check_webhook(struct loader *ld, const config_setting_t *group,
    const char *name)
{
	const char *key;
	char *why = NULL;

	if (conf_http_finish(&ld->conf->delivery.webhook, &key, &why) == -1)
		err_key(ld, group, name, key, why);
}

static void
check_outbox(struct loader *ld, const config_setting_t *group,
    const char *name)
{
	const char *key;
	char *why = NULL;

	if (conf_outbox_check(&ld->conf->delivery.outbox, &key, &why) == -1)
		err_key(ld, group, name, key, why);
}

/*
 * Once the whole file is read, since outbox may come before channels:
 * the lease must outlast the longest transfer.
 */
static void
finish_delivery(struct loader *ld, const config_t *cf)
{
	char *why = NULL;

	if (conf_delivery_finish(&ld->conf->delivery, &why) == 0)
		return;
	err_at(ld, config_lookup(cf, "outbox.lease"), "'outbox.lease' %s",
	    why != NULL ? why : strerror(ENOMEM));
	free(why);
}

static void
load_group(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	size_t base = ld->base;
	int nerrs = ld->nerrs;

	if (!config_setting_is_group(s)) {
		err_at(ld, s, "'%s' must be a group: %s = { ... };", name,
		    k->name);
		return;
	}
	ld->base += k->off;
	walk_group(ld, s, k, k->sub, name);
	ld->base = base;
	/* Cross-key checks only make sense when every key was good. */
	if (k->post != NULL && ld->nerrs == nerrs)
		k->post(ld, s, name);
}

/* conf_rules.c's problems: "FILE:LINE: " or, in a condition,
 * "FILE:LINE:COLUMN: ". */
static void
report_rules(void *arg, const config_setting_t *s, int line_add, int column,
    const char *msg)
{
	struct loader *ld = arg;
	unsigned int line = s != NULL ? config_setting_source_line(s) : 0;
	char buf[1024];

	if (line > 0)
		line += (unsigned int)line_add;
	err_where_col(ld, s != NULL ? config_setting_source_file(s) : NULL,
	    line, column);
	fprintf(ld->errs, "%s\n", shown(msg, buf, sizeof(buf)));
	ld->nerrs++;
}

static void
load_list(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k)
{
	struct conf_report rep = { .arg = ld, .error = report_rules };

	k->load_list(&ld->conf->rules, s, &rep);
}

static void
load_key(struct loader *ld, const config_setting_t *s,
    const struct conf_key *k, const char *name)
{
	switch (k->type) {
	case KEY_STRING:	load_string(ld, s, k, name);	break;
	case KEY_PATH:		load_path(ld, s, k, name);	break;
	case KEY_GROUPNAME:	load_groupname(ld, s, k, name);	break;
	case KEY_INT:		load_int(ld, s, k, name);	break;
	case KEY_DURATION:	load_duration(ld, s, k, name);	break;
	case KEY_ENUM:		load_enum(ld, s, k, name);	break;
	case KEY_GROUP:		load_group(ld, s, k, name);	break;
	case KEY_HHMM:		load_hhmm(ld, s, k, name);	break;
	case KEY_DAYS:		load_days(ld, s, k, name);	break;
	case KEY_DATES:		load_dates(ld, s, k, name);	break;
	case KEY_CHANNELS:	load_channels(ld, s, k, name);	break;
	case KEY_TEMPLATE:	load_template(ld, s, k, name);	break;
	case KEY_TEMPLATE_FILE:	load_template_file(ld, s, k, name); break;
	case KEY_RATE:		load_rate(ld, s, k, name);	break;
	case KEY_SECRET:	load_secret(ld, s, k, name);	break;
	case KEY_MAILBOX:	load_mailbox(ld, s, k, name);	break;
	case KEY_HEADERS:	load_headers(ld, s, k, name);	break;
	case KEY_CODES:		load_codes(ld, s, k, name);	break;
	case KEY_VALUES:	load_values(ld, s, k, name);	break;
	case KEY_LIST:		load_list(ld, s, k);		break;
	}
}

/* "unknown key 'templates.renewl'; known here: followup, ..." */
static void
unknown_key(struct loader *ld, const config_setting_t *s,
    const struct conf_key *parent, const struct conf_key *table,
    const char *name)
{
	const struct conf_key *k;

	if (parent == NULL || !parent->list_known) {
		err_at(ld, s, "unknown key '%s'", name);
		return;
	}
	err_where(ld, config_setting_source_file(s),
	    config_setting_source_line(s));
	fprintf(ld->errs, "unknown key '%s'; known here:", name);
	for (k = table; k->name != NULL; k++)
		fprintf(ld->errs, "%s %s", k == table ? "" : ",", k->name);
	fputc('\n', ld->errs);
	ld->nerrs++;
}

static void
walk_group(struct loader *ld, const config_setting_t *group,
    const struct conf_key *parent, const struct conf_key *table,
    const char *prefix)
{
	int i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, i);
		const struct conf_key *k;
		char name[256];

		snprintf(name, sizeof(name), "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", config_setting_name(s));
		for (k = table; k->name != NULL; k++)
			if (strcmp(k->name, config_setting_name(s)) == 0)
				break;
		if (k->name == NULL)
			unknown_key(ld, s, parent, table, name);
		else
			load_key(ld, s, k, name);
	}
}

/* -- loading --------------------------------------------------------- */

static struct crmd_conf *
conf_defaults(void)
{
	struct crmd_conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->database = strdup("/var/lib/crmd/crmd.db");
	c->socket = strdup(CRMD_DEFAULT_SOCKET);
	c->timezone = strdup("UTC");
	c->socket_gid = c->admin_gid = c->read_gid = (gid_t)-1;
	c->log_target = CONF_LOG_STDERR;
	c->log_debug = 0;
	c->busy_timeout_ms = 5000;
	c->ctl_max_clients = 64;
	c->ctl_idle_timeout = 60;
	c->ctl_max_request = 65536;
	workhours_default(&c->working_hours);
	c->immediate_channels = CH_BIT(CH_INAPP);
	c->renewal_days_before = 30;
	c->renewal_time = 9 * 60 + 30;
	c->birthday_time = 9 * 60;
	c->catchup_max_age = 24 * 3600;
	c->escalation_after = 24 * 3600;
	c->digest_time = 8 * 60 + 30;
	c->kind_channels[KIND_FOLLOWUP] = CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL);
	c->kind_channels[KIND_CALLBACK] = CH_BIT(CH_INAPP) | CH_BIT(CH_SMS);
	c->kind_channels[KIND_RENEWAL] = CH_BIT(CH_INAPP) | CH_BIT(CH_EMAIL);
	c->kind_channels[KIND_BIRTHDAY] = CH_BIT(CH_INAPP);
	c->kind_channels[KIND_CUSTOM] = CH_BIT(CH_INAPP);
	conf_delivery_defaults(&c->delivery);
	conf_rules_defaults(&c->rules);
	if (c->database == NULL || c->socket == NULL || c->timezone == NULL) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/*
 * Without socket_group, the socket belongs to the group that is meant to
 * use it: readers if there are any (admins are usually in it too), else
 * admins, else crmd's own group.
 */
static void
derive_socket_gid(struct crmd_conf *c)
{
	if (c->socket_group != NULL)
		return;
	if (c->read_group != NULL)
		c->socket_gid = c->read_gid;
	else if (c->admin_group != NULL)
		c->socket_gid = c->admin_gid;
	else
		c->socket_gid = (gid_t)-1;
}

/* libconfig's own errors: syntax, duplicate keys, missing @include. */
static void
parse_error(struct loader *ld, const config_t *cf)
{
	if (config_error_type(cf) == CONFIG_ERR_FILE_IO) {
		err_where(ld, NULL, 0);
		fprintf(ld->errs, "cannot read: %s\n", config_error_text(cf));
	} else {
		err_where(ld, config_error_file(cf), config_error_line(cf));
		fprintf(ld->errs, "%s\n", config_error_text(cf));
	}
	ld->nerrs++;
}

static void
parse_and_check(struct loader *ld)
{
	config_t cf;
	FILE *fp;

	/* libconfig's I/O error has no errno; find it out first. */
	if ((fp = fopen(ld->path, "r")) == NULL) {
		err_where(ld, NULL, 0);
		fprintf(ld->errs, "cannot open: %s\n", strerror(errno));
		ld->nerrs++;
		return;
	}
	fclose(fp);

	config_init(&cf);
	/* No auto-conversion: "max_clients = 1.5" must be an error. */
	config_set_options(&cf, 0);
	config_set_include_dir(&cf, ld->dir);
	if (config_read_file(&cf, ld->path) == CONFIG_FALSE)
		parse_error(ld, &cf);
	else {
		walk_group(ld, config_root_setting(&cf), NULL, top_keys, "");
		if (ld->nerrs == 0)
			finish_delivery(ld, &cf);
	}
	config_destroy(&cf);
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

struct crmd_conf *
conf_load(const char *path, char **errors)
{
	struct loader ld = { .path = path };
	struct crmd_conf *c = NULL;
	char *dir = NULL;

	*errors = NULL;
	if ((ld.errs = open_memstream(&ld.errbuf, &ld.errlen)) == NULL)
		goto oom;
	if ((dir = dir_of(path)) == NULL ||
	    (ld.conf = conf_defaults()) == NULL ||
	    (ld.conf->path = absolute_path(path)) == NULL)
		goto oom;
	ld.dir = dir;
	parse_and_check(&ld);
	derive_socket_gid(ld.conf);
	if (ld.nerrs == 0)
		default_templates(&ld);
	if (fclose(ld.errs) != 0) {
		ld.errs = NULL;
		goto oom;
	}
	ld.errs = NULL;
	if (ld.nerrs == 0) {
		c = ld.conf;
		ld.conf = NULL;
		free(ld.errbuf);
	} else
		*errors = ld.errbuf;
	free(dir);
	conf_free(ld.conf);
	return c;

oom:
	if (ld.errs != NULL)
		fclose(ld.errs);
	free(ld.errbuf);
	free(dir);
	conf_free(ld.conf);
	if (asprintf(errors, "%s: %s\n", path, strerror(ENOMEM)) == -1)
		*errors = NULL;
	return NULL;
}

void
conf_free(struct crmd_conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->database);
	free(c->demo_data);
	free(c->socket);
	free(c->socket_group);
	free(c->timezone);
	free(c->admin_group);
	free(c->read_group);
	free(c->working_hours.holidays);
	for (int k = 0; k < KIND_MAX; k++) {
		for (int ch = 0; ch < CH_MAX; ch++) {
			tmpl_free(c->messages[k][ch].subject);
			tmpl_free(c->messages[k][ch].body);
			tmpl_free(c->messages[k][ch].html);
		}
	}
	conf_delivery_free(&c->delivery);
	conf_rules_free(&c->rules);
	free(c);
}

/* -- reload ---------------------------------------------------------- */

static int
key_differs(const struct crmd_conf *a, const struct crmd_conf *b,
    const struct conf_key *k)
{
	const char *sa, *sb;

	switch (k->type) {
	case KEY_GROUPNAME:
		/* The group the socket really gets, however it was chosen. */
		return *FIELD_PTR(a, k->gid_off, const gid_t) !=
		    *FIELD_PTR(b, k->gid_off, const gid_t);
	case KEY_STRING:
	case KEY_PATH:
		sa = *FIELD_PTR(a, k->off, char *const);
		sb = *FIELD_PTR(b, k->off, char *const);
		if (sa == NULL || sb == NULL)
			return sa != sb;
		return strcmp(sa, sb) != 0;
	case KEY_INT:
		return *FIELD_PTR(a, k->off, const int) !=
		    *FIELD_PTR(b, k->off, const int);
	case KEY_DURATION:
		return *FIELD_PTR(a, k->off, const int64_t) !=
		    *FIELD_PTR(b, k->off, const int64_t);
	default:
		return 0;	/* enums and groups are never restart-only */
	}
}

static void
restart_changes(const struct crmd_conf *a, const struct crmd_conf *b,
    const struct conf_key *table, const char *prefix, FILE *out, int *n)
{
	const struct conf_key *k;

	for (k = table; k->name != NULL; k++) {
		if (k->type == KEY_GROUP) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s%s%s", prefix,
			    *prefix != '\0' ? "." : "", k->name);
			restart_changes(a, b, k->sub, sub, out, n);
			continue;
		}
		if (!k->restart || !key_differs(a, b, k))
			continue;
		fprintf(out, "%s%s%s%s", (*n)++ > 0 ? ", " : "", prefix,
		    *prefix != '\0' ? "." : "", k->name);
	}
}

char *
conf_restart_only_changes(const struct crmd_conf *old,
    const struct crmd_conf *new)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int n = 0;

	if ((out = open_memstream(&buf, &len)) == NULL)
		return NULL;
	restart_changes(old, new, top_keys, "", out, &n);
	if (fclose(out) != 0 || n == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
