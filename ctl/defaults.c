/*
 * crmctl's own defaults, read with inih from the system crmctl.ini
 * (CRMCTL_SYSTEM_INI) and then the user's ($XDG_CONFIG_HOME/crmctl.ini or
 * ~/.config/crmctl.ini); each file overrides the one before.  Keys live at
 * the top of the file or under [crmctl]; anything else is an error, and
 * every error is reported as FILE:LINE: message.
 *
 * inih does not tell its handler the line number, so the file is fed
 * through our own line reader, which counts.
 */
#include "crmctl.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "duration.h"
#include "protocol.h"

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)NULL)->sun_path)

struct ini_state {
	struct settings	*s;
	const char	*path;
	FILE		*fp;
	int		 line;
	int		 first_bad;	/* first line ini_on_key refused */
	char		*errors;	/* "FILE:LINE: message\n" ... */
	int		 nerrors;
};

void
settings_init(struct settings *s)
{
	s->socket = NULL;
	s->format = OUT_TABLE;
	s->timeout_s = CTL_DEFAULT_TIMEOUT;
}

void
settings_free(struct settings *s)
{
	free(s->socket);
	s->socket = NULL;
}

static void
ini_error(struct ini_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ini_error(struct ini_state *st, int line, const char *fmt, ...)
{
	char *msg = NULL, *joined = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || asprintf(&joined, "%s%s:%d: %s\n",
	    st->errors ? st->errors : "", st->path, line, msg) == -1)
		joined = NULL;
	free(msg);
	if (joined != NULL) {
		free(st->errors);
		st->errors = joined;
	}
	st->nerrors++;
}

/* fgets() that counts lines and refuses lines inih would split. */
static char *
ini_read_line(char *buf, int size, void *arg)
{
	struct ini_state *st = arg;
	size_t len;
	int c;

	if (fgets(buf, size, st->fp) == NULL)
		return NULL;
	st->line++;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && !feof(st->fp)) {
		while ((c = fgetc(st->fp)) != EOF && c != '\n')
			;
		ini_error(st, st->line, "line longer than %d bytes", size - 2);
		buf[0] = '\0';		/* inih sees a blank line */
	}
	return buf;
}

static int
set_socket(struct ini_state *st, const char *value)
{
	if (*value == '\0' || strlen(value) >= SUN_PATH_MAX) {
		ini_error(st, st->line, "socket: path empty or longer than "
		    "%zu bytes", SUN_PATH_MAX - 1);
		return 0;
	}
	free(st->s->socket);
	if ((st->s->socket = strdup(value)) == NULL) {
		ini_error(st, st->line, "out of memory");
		return 0;
	}
	return 1;
}

static int
set_format(struct ini_state *st, const char *value)
{
	if (strcmp(value, "table") == 0)
		st->s->format = OUT_TABLE;
	else if (strcmp(value, "json") == 0)
		st->s->format = OUT_JSON;
	else {
		ini_error(st, st->line, "format: \"%s\" is not table or json",
		    value);
		return 0;
	}
	return 1;
}

static int
set_timeout(struct ini_state *st, const char *value)
{
	int64_t secs;

	if (duration_parse(value, &secs) == -1 || secs == 0) {
		ini_error(st, st->line,
		    "timeout: \"%s\" is not a duration such as 30s or 2m", value);
		return 0;
	}
	st->s->timeout_s = secs;
	return 1;
}

static int
ini_key(struct ini_state *st, const char *section, const char *name,
    const char *value)
{
	static const struct {
		const char *name;
		int (*set)(struct ini_state *, const char *);
	} keys[] = {
		{ "socket", set_socket },
		{ "format", set_format },
		{ "timeout", set_timeout },
	};

	if (*section != '\0' && strcmp(section, "crmctl") != 0) {
		ini_error(st, st->line, "unknown section [%s]", section);
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(name, keys[i].name) == 0)
			return keys[i].set(st, value);
	ini_error(st, st->line, "unknown key \"%s\" (known: socket, format, "
	    "timeout)", name);
	return 0;
}

static int
ini_on_key(void *arg, const char *section, const char *name,
    const char *value)
{
	struct ini_state *st = arg;

	if (ini_key(st, section, name, value))
		return 1;
	if (st->first_bad == 0)
		st->first_bad = st->line;
	return 0;
}

/*
 * Applies the settings in path on top of s.  A missing file is no error.
 * Returns 0, or -1 with *errors set to malloc'd "FILE:LINE: message" lines.
 */
int
settings_load_file(struct settings *s, const char *path, char **errors)
{
	struct ini_state st = { .s = s, .path = path };
	int rv;

	*errors = NULL;
	if ((st.fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		if (asprintf(errors, "%s: %s\n", path, strerror(errno)) == -1)
			*errors = NULL;
		return -1;
	}
	rv = ini_parse_stream(ini_read_line, &st, ini_on_key, &st);
	fclose(st.fp);
	/*
	 * inih reports syntax errors only by returning the first bad line;
	 * one that is not ours is a syntax error.
	 */
	if (rv > 0 && rv != st.first_bad)
		ini_error(&st, rv, "syntax error: expected key = value or "
		    "[section]");
	if (rv < 0)
		ini_error(&st, st.line, "out of memory");
	if (st.nerrors == 0)
		return 0;
	*errors = st.errors;
	return -1;
}

/* The user's crmctl.ini path (malloc'd), or NULL when there is no home. */
char *
settings_user_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *path;

	/* The XDG spec says a relative XDG_CONFIG_HOME is to be ignored. */
	if (xdg != NULL && *xdg == '/') {
		if (asprintf(&path, "%s/crmctl.ini", xdg) == -1)
			return NULL;
	} else if (home != NULL && *home != '\0') {
		if (asprintf(&path, "%s/.config/crmctl.ini", home) == -1)
			return NULL;
	} else
		return NULL;
	return path;
}

/*
 * Layers the environment and command line over what the ini files gave:
 * built-in < system ini < user ini < $CRMCTL_SOCKET < -s; --json beats
 * format=.  env_socket is getenv("CRMCTL_SOCKET"), passed in for tests.
 */
int
settings_apply(struct settings *s, const struct invocation *inv,
    const char *env_socket)
{
	const char *sock = NULL;

	if (inv->socket != NULL)
		sock = inv->socket;
	else if (env_socket != NULL && *env_socket != '\0')
		sock = env_socket;
	else if (s->socket == NULL)
		sock = CRMD_DEFAULT_SOCKET;
	if (sock != NULL) {
		free(s->socket);
		if ((s->socket = strdup(sock)) == NULL)
			return -1;
	}
	if (inv->json)
		s->format = OUT_JSON;
	if (inv->timeout_s > 0)
		s->timeout_s = inv->timeout_s;
	return 0;
}
