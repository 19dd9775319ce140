/*
 * crmctl: the administrators' client for crmd.  Everything but main() lives
 * in crmctl_lib so the unit tests can drive it without a daemon.
 *
 *   parser.c    global and per-command options -> struct invocation
 *   defaults.c  crmctl.ini files (system, user) -> struct settings
 *   commands.c  the command table and its handlers
 *   cmd_reminders.c  handlers for reminders, plans and today
 *   client.c    one request/reply exchange over the Unix socket
 *   output.c    the output layer: tables and key/value lists, text or JSON
 *   width.c     UTF-8 display width and control-character neutralising
 */
#ifndef CRMCTL_H
#define CRMCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes, documented in docs/crmctl.md. */
enum {
	EXIT_OK		= 0,	/* done */
	EXIT_DAEMON	= 1,	/* crmd reported an error, or the exchange failed */
	EXIT_USAGE	= 2,	/* bad command line or crmctl.ini */
	EXIT_CONNECT	= 3,	/* cannot connect to crmd */
};

#define CTL_DEFAULT_TIMEOUT	30		/* seconds */
#define CTL_MAX_REPLY		(16 * 1024 * 1024)

enum out_format {
	OUT_TABLE,
	OUT_JSON,
};

/* width.c */
int		 utf8_decode(const char *, size_t, uint32_t *);
int		 codepoint_width(uint32_t);
size_t		 text_width(const char *);
char		*text_clean(const char *);

/* output.c */
enum col_align {
	ALIGN_LEFT,
	ALIGN_RIGHT,
};

/* One column of a list: header text, the JSON key it shows, alignment. */
struct out_column {
	const char	*header;
	const char	*key;
	enum col_align	 align;
};

struct table;

struct table	*table_new(size_t, const char *const *, const enum col_align *);
int		 table_add_row(struct table *, const char *const *);
int		 table_print(const struct table *, FILE *);
void		 table_free(struct table *);
char		*json_cell(const json_t *);
int		 out_json(FILE *, const json_t *);
int		 out_list(FILE *, enum out_format, const struct out_column *,
		     size_t, const json_t *);
int		 out_kv(FILE *, const char *const *, size_t);
void		 out_errorx(FILE *, const char *, ...)
		     __attribute__((format(printf, 2, 3)));

/* defaults.c */
struct invocation;

struct settings {
	char		*socket;
	enum out_format	 format;
	int64_t		 timeout_s;
};

void		 settings_init(struct settings *);
void		 settings_free(struct settings *);
int		 settings_load_file(struct settings *, const char *, char **);
char		*settings_user_path(void);
int		 settings_apply(struct settings *, const struct invocation *,
		     const char *);

/* parser.c */
#define ARGS_MAXFLAG	128

/* A command's arguments after its own options are taken out. */
struct args {
	int		 argc;
	char	       **argv;
	unsigned char	 set[ARGS_MAXFLAG];		/* -x given */
	const char	*value[ARGS_MAXFLAG];		/* -x VALUE */
};

struct cmd_entry;

struct invocation {
	const char		*socket;	/* -s, or NULL */
	int			 json;		/* --json */
	int64_t			 timeout_s;	/* --timeout, or -1 */
	int			 help;		/* -h with no command */
	int			 version;
	const struct cmd_entry	*cmd;		/* NULL with help/version */
	struct args		 args;
};

int		 parse_argv(int, char **, struct invocation *, char *, size_t);
const char	*cmd_option_name(int);

/* client.c */
enum client_fail {
	CLIENT_OK,
	CLIENT_CONNECT,		/* no connection: exit 3 */
	CLIENT_EXCHANGE,	/* connected, but no usable reply: exit 1 */
};

struct reply {
	int		 status;
	json_t		*root;		/* whole reply, owns the rest */
	json_t		*data;		/* on 200 */
	const char	*error;		/* otherwise */
	double		 rtt_ms;
};

char		*request_encode(const char *, json_t *, size_t *);
int		 reply_decode(const char *, size_t, struct reply *, char *,
		     size_t);
enum client_fail client_call(const char *, int64_t, size_t, const char *,
		     json_t *, struct reply *, char *, size_t);
void		 reply_free(struct reply *);

/* commands.c */
enum cmd_access {
	CMD_LOCAL,		/* answered by crmctl itself */
	CMD_READONLY,		/* crmd read_group is enough */
	CMD_ADMIN,		/* crmd admin_group */
};

/* What a handler works with; the transport is replaceable for tests. */
struct ctx {
	struct settings		*settings;
	FILE			*out;
	FILE			*err;
	enum client_fail	(*call)(struct ctx *, const char *, json_t *,
				    struct reply *, char *, size_t);
	void			*call_arg;
};

struct cmd_entry {
	const char	*name;		/* may be two words: "reminder add" */
	const char	*usage;		/* arguments, after the name */
	const char	*summary;
	const char	*opts;		/* getopt(3) letters, e.g. "n:" */
	int		 min_args;
	int		 max_args;	/* -1: no limit */
	enum cmd_access	 access;
	int		(*exec)(struct ctx *, const struct args *);
};

extern const struct cmd_entry cmd_table[];
extern const size_t cmd_count;

const struct cmd_entry *cmd_find(int, char **, int *);
const char	*cmd_access_str(enum cmd_access);
void		 cmd_print_usage(FILE *, const struct cmd_entry *);
/* "NAME: message" and NAME's usage on stderr; returns EXIT_USAGE. */
int		 cmd_usage_error(struct ctx *, const char *name, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
/* A positive decimal number: 0, or -1 for anything else. */
int		 cmd_parse_id(const char *s, int64_t *id);
int		 cmd_help(struct ctx *, const struct cmd_entry *);
int		 cmd_run(struct ctx *, const struct cmd_entry *,
		     const struct args *);
enum client_fail ctx_socket_call(struct ctx *, const char *, json_t *,
		     struct reply *, char *, size_t);
int		 cmd_request(struct ctx *, const char *, json_t *,
		     struct reply *);

/* cmd_reminders.c: reminders, plans and today. */
int		 cmd_reminder_add_exec(struct ctx *, const struct args *);
int		 cmd_reminder_list_exec(struct ctx *, const struct args *);
int		 cmd_reminder_ack_exec(struct ctx *, const struct args *);
int		 cmd_reminder_snooze_exec(struct ctx *, const struct args *);
int		 cmd_reminder_cancel_exec(struct ctx *, const struct args *);
int		 cmd_plan_add_exec(struct ctx *, const struct args *);
int		 cmd_plan_list_exec(struct ctx *, const struct args *);
int		 cmd_plan_pause_exec(struct ctx *, const struct args *);
int		 cmd_plan_resume_exec(struct ctx *, const struct args *);
int		 cmd_today_exec(struct ctx *, const struct args *);

#endif
