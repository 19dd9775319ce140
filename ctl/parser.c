/*
 * The command line: global options, then a command from the table, then
 * that command's own options and arguments, checked against the bounds the
 * table declares.  Nothing here prints or exits; errors come back as a
 * message and main() turns them into exit code 2 and the usage line.
 *
 *   crmctl [-j] [-s SOCKET] [-t DURATION] COMMAND [OPTIONS] [ARGS]
 */
#include "crmctl.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "duration.h"

static const struct option global_long[] = {
	{ "socket",	required_argument,	NULL, 's' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 },
};

/* --json and --help are accepted after the command too. */
static const struct option cmd_always[] = {
	{ "json",	no_argument,		NULL, 'j' },
	{ "help",	no_argument,		NULL, 'h' },
};

/*
 * Commands' own long options, one spelling per letter across all
 * commands: a command accepts --NAME when its opts string has the letter,
 * so the table row's opts stays the one declaration of what it takes.
 */
static const struct option cmd_named[] = {
	{ "at",		required_argument,	NULL, 'a' },
	{ "start",	required_argument,	NULL, 'b' },
	{ "customer",	required_argument,	NULL, 'c' },
	{ "channel",	required_argument,	NULL, 'C' },
	{ "dead",	no_argument,		NULL, 'D' },
	{ "kind",	required_argument,	NULL, 'k' },
	{ "limit",	required_argument,	NULL, 'l' },
	{ "note",	required_argument,	NULL, 'n' },
	{ "name",	required_argument,	NULL, 'N' },
	{ "older-than",	required_argument,	NULL, 'o' },
	{ "rrule",	required_argument,	NULL, 'r' },
	{ "state",	required_argument,	NULL, 'S' },
	{ "sent",	no_argument,		NULL, 'T' },
	{ "user",	required_argument,	NULL, 'u' },
	{ "wait",	required_argument,	NULL, 'w' },
};

#define NOPTS(a)	(sizeof(a) / sizeof((a)[0]))
#define CMD_LONG_MAX	(NOPTS(cmd_always) + NOPTS(cmd_named) + 1)

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Describes the option getopt just refused.  word is the argv element
 * getopt was looking at: with "+" nothing is permuted, so it is the one
 * at optind when the call began.
 */
static int
bad_option(const char *word, int c, char *err, size_t errlen)
{
	int len;

	if (strncmp(word, "--", 2) == 0) {
		len = (int)strcspn(word, "=");
		if (c == ':')
			return fail(err, errlen, "option %.*s needs an argument",
			    len, word);
		if (word[len] == '=' && optopt != 0)
			return fail(err, errlen, "option %.*s takes no argument",
			    len, word);
		return fail(err, errlen, "unknown option %.*s", len, word);
	}
	if (c == ':')
		return fail(err, errlen, "option -%c needs an argument", optopt);
	return fail(err, errlen, "unknown option -%c", optopt);
}

/* getopt_long, remembering which word it looked at. */
static int
next_option(int argc, char **argv, const char *optstr,
    const struct option *longopts, const char **word)
{
	*word = argv[optind == 0 ? 1 : optind];
	return getopt_long(argc, argv, optstr, longopts, NULL);
}

static int
parse_timeout(const char *s, int64_t *secs, char *err, size_t errlen)
{
	if (duration_parse(s, secs) == -1 || *secs == 0)
		return fail(err, errlen, "bad --timeout \"%s\": want a duration "
		    "such as 10s or 2m", s);
	return 0;
}

static int
parse_global(int argc, char **argv, struct invocation *inv, char *err,
    size_t errlen)
{
	const char *word;
	int c;

	while ((c = next_option(argc, argv, "+:hjs:t:V", global_long,
	    &word)) != -1) {
		switch (c) {
		case 'h':
			inv->help = 1;
			break;
		case 'j':
			inv->json = 1;
			break;
		case 's':
			if (*optarg == '\0')
				return fail(err, errlen, "-s needs a socket path");
			inv->socket = optarg;
			break;
		case 't':
			if (parse_timeout(optarg, &inv->timeout_s, err,
			    errlen) == -1)
				return -1;
			break;
		case 'V':
			inv->version = 1;
			break;
		default:
			return bad_option(word, c, err, errlen);
		}
	}
	return 0;
}

/* The long options cmd accepts: --json, --help and those of its letters. */
static void
cmd_longopts(const struct cmd_entry *cmd, struct option *out)
{
	const char *opts = cmd->opts ? cmd->opts : "";
	size_t n = 0;

	for (size_t i = 0; i < NOPTS(cmd_always); i++)
		out[n++] = cmd_always[i];
	for (size_t i = 0; i < NOPTS(cmd_named); i++)
		if (strchr(opts, cmd_named[i].val) != NULL)
			out[n++] = cmd_named[i];
	memset(&out[n], 0, sizeof(out[n]));
}

/* The long name of a command option letter, or NULL. */
const char *
cmd_option_name(int letter)
{
	for (size_t i = 0; i < NOPTS(cmd_named); i++)
		if (cmd_named[i].val == letter)
			return cmd_named[i].name;
	return NULL;
}

/* Builds "+:" + opts for getopt_long. */
static int
cmd_optstring(const struct cmd_entry *cmd, char *buf, size_t len)
{
	int n = snprintf(buf, len, "+:h%s", cmd->opts ? cmd->opts : "");

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
parse_cmd_options(int argc, char **argv, struct invocation *inv, char *err,
    size_t errlen)
{
	struct option longopts[CMD_LONG_MAX];
	struct args *a = &inv->args;
	const char *word;
	char optstr[64];
	int c;

	if (cmd_optstring(inv->cmd, optstr, sizeof(optstr)) == -1)
		return fail(err, errlen, "option table too long");
	cmd_longopts(inv->cmd, longopts);
	optind = 0;
	while ((c = next_option(argc, argv, optstr, longopts, &word)) != -1) {
		if (c == 'h')
			inv->help = 1;
		else if (c == 'j')
			inv->json = 1;
		else if (c == '?' || c == ':' || c < 0 || c >= ARGS_MAXFLAG)
			return bad_option(word, c, err, errlen);
		else {
			a->set[c] = 1;
			a->value[c] = optarg;
		}
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return 0;
}

static int
check_bounds(const struct invocation *inv, char *err, size_t errlen)
{
	const struct cmd_entry *cmd = inv->cmd;
	int n = inv->args.argc;

	if (n < cmd->min_args)
		return fail(err, errlen, "%s: missing argument", cmd->name);
	if (cmd->max_args >= 0 && n > cmd->max_args) {
		if (cmd->max_args == 0)
			return fail(err, errlen, "%s takes no arguments",
			    cmd->name);
		return fail(err, errlen, "%s: too many arguments", cmd->name);
	}
	return 0;
}

/*
 * Fills inv from argv.  Returns 0, or -1 with a message in err (inv->cmd
 * is set when the command was known, so its usage can be shown).  argv is
 * not copied: inv points into it.
 */
int
parse_argv(int argc, char **argv, struct invocation *inv, char *err,
    size_t errlen)
{
	int used;

	memset(inv, 0, sizeof(*inv));
	inv->timeout_s = -1;
	opterr = 0;
	optind = 0;		/* glibc: full reinitialisation */
	if (parse_global(argc, argv, inv, err, errlen) == -1)
		return -1;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		if (inv->help || inv->version)
			return 0;
		return fail(err, errlen, "no command given");
	}
	if ((inv->cmd = cmd_find(argc, argv, &used)) == NULL)
		return fail(err, errlen, "unknown command \"%s\" (crmctl help "
		    "lists them)", argv[0]);
	/* The last word of the name stands in for argv[0]. */
	if (parse_cmd_options(argc - used + 1, argv + used - 1, inv, err,
	    errlen) == -1)
		return -1;
	if (inv->help)
		return 0;
	return check_bounds(inv, err, errlen);
}
