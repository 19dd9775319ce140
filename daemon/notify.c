/*
 * sd_notify wrappers.  WATCHDOG=1 is sent from an event-loop timer, not a
 * thread, so a blocked loop stops the pings and systemd restarts us.
 */
#include "notify.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "log.h"

static struct event	*ev_watchdog;

void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading configuration");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

int
notify_watchdog_start(struct event_base *base)
{
	uint64_t usec;
	struct timeval tv;
	int r;

	if ((r = sd_watchdog_enabled(0, &usec)) <= 0) {
		if (r < 0)
			log_warnx("ignoring bad $WATCHDOG_USEC/$WATCHDOG_PID");
		return 0;
	}
	usec /= 3;	/* systemd asks for at least every half period */
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	ev_watchdog = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (ev_watchdog == NULL || event_add(ev_watchdog, &tv) == -1) {
		log_warnx("cannot arm the watchdog timer");
		return -1;
	}
	sd_notify(0, "WATCHDOG=1");
	log_debug("watchdog: pinging every %lld us", (long long)usec);
	return 0;
}

void
notify_watchdog_stop(void)
{
	if (ev_watchdog != NULL) {
		event_free(ev_watchdog);
		ev_watchdog = NULL;
	}
}
