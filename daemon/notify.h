/*
 * systemd readiness and watchdog notifications (sd_notify).  All calls are
 * no-ops when crmd is not started by systemd ($NOTIFY_SOCKET unset).
 */
#ifndef CRMD_NOTIFY_H
#define CRMD_NOTIFY_H

struct event_base;

void	notify_ready(const char *status);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Arms a timer on base that sends WATCHDOG=1 every third of
 * $WATCHDOG_USEC, so a stuck event loop is what systemd notices.
 * Returns 0 (also when no watchdog is configured) or -1.
 */
int	notify_watchdog_start(struct event_base *base);
void	notify_watchdog_stop(void);

#endif
