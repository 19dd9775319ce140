/*
 * Logging in the OpenBSD style: log_warn() appends strerror(errno),
 * log_warnx() does not; fatal()/fatalx() log and exit 1.  Lines go to
 * stderr with a syslog priority prefix ("<3>") that journald understands,
 * or to syslog(3).
 */
#ifndef CRMD_LOG_H
#define CRMD_LOG_H

#include <stdarg.h>

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

void	log_init(enum log_target target, int debug);
void	log_set_debug(int debug);
int	log_get_debug(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn, format(printf, 1, 2)))
void	fatal(const char *, ...);
__attribute__((noreturn, format(printf, 1, 2)))
void	fatalx(const char *, ...);

#endif
