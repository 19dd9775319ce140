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

enum conf_log_target { CONF_LOG_STDERR, CONF_LOG_SYSLOG };

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

	int		 ctl_max_clients;	/* control.max_clients */
	int64_t		 ctl_idle_timeout;	/* control.idle_timeout, seconds */
	int		 ctl_max_request;	/* control.max_request, bytes */
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
