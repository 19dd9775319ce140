/*
 * Log sink for crmd.  Messages are single lines: embedded control
 * characters are escaped so that a customer name can never forge a log
 * line.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static enum log_target	target = LOG_TO_STDERR;
static int		debug_on;

void
log_init(enum log_target t, int debug)
{
	target = t;
	debug_on = debug;
	if (target == LOG_TO_SYSLOG)
		openlog("crmd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_debug(int debug)
{
	debug_on = debug;
}

int
log_get_debug(void)
{
	return debug_on;
}

/* Copies msg into out, escaping control bytes (\n, \r, ...) as \xNN. */
static void
sanitize(const char *msg, char *out, size_t len)
{
	size_t o = 0;

	for (; *msg != '\0' && o + 5 < len; msg++) {
		unsigned char c = (unsigned char)*msg;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char raw[2048], line[4096];

	if (pri == LOG_DEBUG && !debug_on)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	sanitize(raw, line, sizeof(line));
	if (target == LOG_TO_SYSLOG) {
		if (suffix != NULL)
			syslog(pri, "%s: %s", line, suffix);
		else
			syslog(pri, "%s", line);
		return;
	}
	if (suffix != NULL)
		fprintf(stderr, "<%d>%s: %s\n", pri, line, suffix);
	else
		fprintf(stderr, "<%d>%s\n", pri, line);
	fflush(stderr);
}

#define LOGFN(name, pri)					\
void								\
name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	va_start(ap, fmt);					\
	vlog(pri, fmt, ap, NULL);				\
	va_end(ap);						\
}

LOGFN(log_warnx, LOG_WARNING)
LOGFN(log_info, LOG_INFO)
LOGFN(log_notice, LOG_NOTICE)
LOGFN(log_debug, LOG_DEBUG)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
