/*
 * The daemon's lifecycle: open and migrate the database, bind the control
 * socket, tell systemd we are ready, run the loop; reload on SIGHUP and
 * stop cleanly on SIGTERM/SIGINT.  Signal handlers are loop events: they
 * run between callbacks, so the current transaction always finishes.
 */
#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assign.h"
#include "audit.h"
#include "conf.h"
#include "control.h"
#include "crmd.h"
#include "events.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "rules_engine.h"
#include "scheduler.h"
#include "stale.h"
#include "store.h"
#include "tz.h"
#include "watch.h"

/* The log level follows the config unless -d forced debug. */
static void
apply_log_level(struct crmd *crmd)
{
	log_set_debug(crmd->debug || crmd->conf->log_debug);
}

int
crmd_reload(struct crmd *crmd, char **errors, char **restart_needed)
{
	struct crmd_conf *new, *old = crmd->conf;
	char *tmp;

	*errors = NULL;
	*restart_needed = NULL;
	if (crmd->stopping) {
		*errors = strdup("crmd is stopping");
		return -1;
	}
	notify_reloading();
	log_info("reloading %s", crmd->conf_path);
	if ((new = conf_load(crmd->conf_path, errors)) == NULL) {
		log_warnx("reload failed, keeping the running configuration:");
		for (char *l = *errors, *nl; l && *l; l = nl) {
			if ((nl = strchr(l, '\n')) != NULL)
				*nl = '\0';
			log_warnx("  %s", l);
			if (nl != NULL)
				*nl++ = '\n';
		}
		notify_ready("running; last reload failed");
		return -1;
	}
	if ((*restart_needed = conf_restart_only_changes(old, new)) != NULL) {
		log_warnx("reload: %s changed; restart crmd to apply",
		    *restart_needed);
		/* Keep what is bound and open: swap the old values in. */
#define KEEP(f) do { tmp = new->f; new->f = old->f; old->f = tmp; } while (0)
		KEEP(database);
		KEEP(socket);
		KEEP(socket_group);
#undef KEEP
		new->socket_gid = old->socket_gid;
	}
	if (tz_set(new->timezone) == -1) {	/* validated, but be sure */
		if (asprintf(errors, "%s: cannot use time zone %s\n",
		    new->path, new->timezone) == -1)
			*errors = NULL;
		free(*restart_needed);
		*restart_needed = NULL;
		conf_free(new);
		notify_ready("running; last reload failed");
		return -1;
	}
	if (new->log_target != old->log_target)
		log_init(new->log_target == CONF_LOG_SYSLOG || !crmd->foreground ?
		    LOG_TO_SYSLOG : LOG_TO_STDERR, crmd->debug);
	crmd->conf = new;
	conf_free(old);
	apply_log_level(crmd);
	sched_kick(crmd->sched);	/* working hours, times may differ */
	outbox_reconfigure(crmd->outbox);	/* channels, pace */
	stale_reconfigure(crmd->stale);		/* stale entries, interval */
	assign_reconfigure(crmd->assign);	/* assign entries, interval */
	events_kick(crmd->events);		/* event rules may differ */
	rules_reconfigure(crmd->rules);		/* new rules: sweep again */
	control_apply_conf(crmd->control, new);
	crmd->last_reload_at = time(NULL);
	log_info("configuration reloaded");
	notify_ready("running");
	return 0;
}

void
crmd_stop(struct crmd *crmd, const char *why)
{
	if (crmd->stopping)
		return;
	crmd->stopping = 1;
	log_info("stopping on %s", why);
	notify_stopping();
	/* Stop accepting now and cancel the dry runs at once; the loop
	 * exits once replies are flushed. */
	control_stop(crmd->control);
	/* Claim no more; abandoned transfers return their leases.  After
	 * the cancels: it joins the transport threads, which under valgrind,
	 * one thread at a time, gave the dry runs time to finish instead. */
	outbox_stop(crmd->outbox);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct crmd *crmd = arg;
	char *errors, *restart;

	switch (sig) {
	case SIGHUP:
		crmd_reload(crmd, &errors, &restart);
		free(errors);
		free(restart);
		break;
	case SIGTERM:
		crmd_stop(crmd, "SIGTERM");
		break;
	case SIGINT:
		crmd_stop(crmd, "SIGINT");
		break;
	}
}

static int
add_signals(struct crmd *crmd)
{
	signal(SIGPIPE, SIG_IGN);
	crmd->ev_sighup = evsignal_new(crmd->base, SIGHUP, signal_cb, crmd);
	crmd->ev_sigterm = evsignal_new(crmd->base, SIGTERM, signal_cb, crmd);
	crmd->ev_sigint = evsignal_new(crmd->base, SIGINT, signal_cb, crmd);
	if (crmd->ev_sighup == NULL || crmd->ev_sigterm == NULL ||
	    crmd->ev_sigint == NULL || evsignal_add(crmd->ev_sighup, NULL) ||
	    evsignal_add(crmd->ev_sigterm, NULL) ||
	    evsignal_add(crmd->ev_sigint, NULL))
		return -1;
	return 0;
}

/* SQLite says "unable to open database file" for a missing directory. */
static int
check_database_dir(const char *database)
{
	char *copy = strdup(database), *dir;
	struct stat st;
	int r = 0;

	if (copy == NULL)
		return -1;
	dir = dirname(copy);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("database directory %s does not exist; create it "
		    "(mkdir -p %s) or change 'database' in the config", dir, dir);
		r = -1;
	}
	free(copy);
	return r;
}

static int
open_store(struct crmd *crmd)
{
	char *err = NULL;
	int version = 0;

	if (check_database_dir(crmd->conf->database) == -1)
		return -1;
	crmd->store = store_open(crmd->conf->database,
	    crmd->conf->busy_timeout_ms, &err);
	if (crmd->store == NULL ||
	    store_lock_instance(crmd->store, &err) == -1 ||
	    store_migrate(crmd->store, &err) == -1 ||
	    store_schema_version(crmd->store, &version, &err) == -1) {
		log_warnx("%s", err ? err : "cannot open the database");
		free(err);
		return -1;
	}
	log_info("database %s open, schema version %d",
	    crmd->conf->database, version);
	if (crmd->conf->demo_data != NULL) {
		int loaded;

		if (store_load_demo(crmd->store, crmd->conf->demo_data, &loaded,
		    &err) == -1) {
			log_warnx("%s", err);
			free(err);
			return -1;
		}
		if (loaded)
			log_info("loaded demo data from %s",
			    crmd->conf->demo_data);
	}
	if (store_checkpointer_start(crmd->store, &err) == -1) {
		log_warnx("%s", err);
		free(err);
		return -1;
	}
	/* From now on nothing on the loop may wait long for a lock. */
	store_set_busy_timeout(crmd->store, CRMD_LOOP_BUSY_TIMEOUT_MS);
	return 0;
}

static void
teardown(struct crmd *crmd)
{
	control_close(crmd->control);
	outbox_free(crmd->outbox);
	events_free(crmd->events);
	stale_free(crmd->stale);
	assign_free(crmd->assign);
	rules_free(crmd->rules);
	watch_free(crmd->watch);
	sched_free(crmd->sched);
	notify_watchdog_stop();
	audit_free(crmd->audit);
	if (crmd->ev_sighup)
		event_free(crmd->ev_sighup);
	if (crmd->ev_sigterm)
		event_free(crmd->ev_sigterm);
	if (crmd->ev_sigint)
		event_free(crmd->ev_sigint);
	store_close(crmd->store);
	if (crmd->base)
		event_base_free(crmd->base);
}

static struct event_base *
new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	/* Timers are the product: use the precise monotonic clock. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	/*
	 * libcurl flips a socket between read and write interest several
	 * times a message; with the changelist those flips cost one
	 * epoll_ctl when the loop next polls, not a DEL and an ADD each.
	 * (Unsafe only with dup()ed descriptors, which crmd never watches.)
	 */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int
crmd_run(struct crmd *crmd)
{
	char *err = NULL;
	int rc = 1;

	crmd->started_at = time(NULL);
	crmd->started_mono = crmd_mono_s();
	apply_log_level(crmd);
	if ((crmd->base = new_base()) == NULL) {
		log_warnx("cannot create the event loop");
		goto out;
	}
	if (open_store(crmd) == -1)
		goto out;
	if ((crmd->audit = audit_new(crmd)) == NULL || add_signals(crmd) == -1) {
		log_warnx("cannot set up the event loop");
		goto out;
	}
	if (tz_set(crmd->conf->timezone) == -1) {
		log_warnx("cannot use time zone %s", crmd->conf->timezone);
		goto out;
	}
	if ((crmd->sched = sched_new(crmd)) == NULL ||
	    (crmd->watch = watch_new(crmd)) == NULL) {
		log_warnx("cannot start the scheduler");
		goto out;
	}
	if ((crmd->outbox = outbox_new(crmd)) == NULL) {
		log_warnx("cannot start the outbox sender");
		goto out;
	}
	if ((crmd->stale = stale_new(crmd)) == NULL ||
	    (crmd->assign = assign_new(crmd)) == NULL ||
	    (crmd->events = events_new(crmd)) == NULL) {
		log_warnx("cannot start the automation (stale flags, "
		    "assignment, event rules)");
		goto out;
	}
	if ((crmd->rules = rules_new(crmd)) == NULL) {
		log_warnx("cannot start the rules engine");
		goto out;
	}
	if ((crmd->control = control_open(crmd, &err)) == NULL) {
		log_warnx("%s", err);
		free(err);
		goto out;
	}
	if (notify_watchdog_start(crmd->base) == -1)
		goto out;
	log_info("crmd %s ready: database %s, control socket %s",
	    CRMD_VERSION, crmd->conf->database, crmd->conf->socket);
	notify_ready("running");
	if (event_base_dispatch(crmd->base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;
	log_info("stopped");
out:
	teardown(crmd);
	return rc;
}
