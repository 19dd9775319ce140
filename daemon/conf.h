/*
 * crmd's configuration: a libconfig file parsed into a fresh struct
 * crmd_conf, validated completely, then swapped in by the caller.  On
 * error every problem is reported as "FILE:LINE: message", one a line,
 * and no struct is returned, so a bad reload leaves the old one in force.
 */
#ifndef CRMD_CONF_H
#define CRMD_CONF_H

#include <stdint.h>
#include <sys/types.h>

#include "conf_delivery.h"
#include "conf_rules.h"
#include "kinds.h"
#include "workhours.h"

struct tmpl;

enum conf_log_target { CONF_LOG_STDERR, CONF_LOG_SYSLOG };

/* One message: kind x channel.  subject is the email subject or in-app
 * title (NULL for sms); body the text (JSON for webhook); html, for email
 * only, an HTML alternative to the text (NULL: none, the default). */
struct conf_message {
	struct tmpl	*subject;
	struct tmpl	*body;
	struct tmpl	*html;
};

struct crmd_conf {
	char		*path;		/* file this was read from */

	/* Restart-only: a reload that changes these keeps the old value. */
	char		*database;	/* SQLite file */
	char		*socket;	/* control socket path */
	char		*socket_group;	/* group owning the socket; NULL: see conf.c */
	gid_t		 socket_gid;	/* resolved; (gid_t)-1 = crmd's own */

	/* Reloadable. */
	char		*timezone;	/* IANA name, e.g. "Asia/Shanghai" */
	char		*admin_group;	/* NULL: only root and crmd's own uid */
	gid_t		 admin_gid;	/* (gid_t)-1 when unset */
	char		*read_group;	/* NULL: nobody read-only */
	gid_t		 read_gid;	/* (gid_t)-1 when unset */

	enum conf_log_target log_target;
	int		 log_debug;	/* log.level = "debug" */

	int64_t		 busy_timeout_ms; /* startup wait for a locked db */
	char		*demo_data;	/* development: SQL loaded into an empty
					   database at start; NULL: none */

	int		 ctl_max_clients;	/* control.max_clients */
	int64_t		 ctl_idle_timeout;	/* control.idle_timeout, seconds */
	int		 ctl_max_request;	/* control.max_request, bytes */

	/* Reminders (docs/reminders.md); all reloadable. */
	struct workhours working_hours;		/* working_hours.{days,start,end,holidays} */
	unsigned	 immediate_channels;	/* working_hours.immediate; CH_BIT mask, default inapp */
	int		 renewal_days_before;	/* renewal.days_before, default 30 */
	int		 renewal_time;		/* renewal.time, minute of day, default 09:30 */
	int		 birthday_time;		/* birthday.time, default 09:00 */
	int64_t		 catchup_max_age;	/* catchup.max_age, seconds, default 24h */
	int64_t		 escalation_after;	/* escalation.after, working seconds, default 24h */
	int		 digest_time;		/* digest.time, default 08:30 */
	/* reminders.<kind> = ["inapp", ...]: channels used when a reminder's
	 * channels column is empty.  CH_INAPP is always included. */
	unsigned	 kind_channels[KIND_REMINDER_MAX];
	/* templates.<kind>.<channel>.{subject,body}, else built-in defaults;
	 * every entry is filled after a successful load. */
	struct conf_message messages[KIND_MAX][CH_MAX];

	/* Delivery: channels, outbox, quiet_hours (conf_delivery.h). */
	struct conf_delivery delivery;

	/* Automation: rules, rules_interval, stale, assign (conf_rules.h). */
	struct conf_rules rules;
};

/*
 * Reads and validates path.  Returns a new config, or NULL with *errors set
 * to a malloc'd text of "FILE:LINE: message\n" lines (caller frees).
 */
struct crmd_conf *conf_load(const char *path, char **errors);
void		  conf_free(struct crmd_conf *);

/*
 * Names the restart-only keys whose value differs between old and new, as
 * a malloc'd comma-separated list, or NULL when none differ.
 */
char		 *conf_restart_only_changes(const struct crmd_conf *old,
		    const struct crmd_conf *new);

#endif
