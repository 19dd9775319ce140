/*
 * Reminders derived from the CRM application's rows (sources.h).  The
 * triggers of schema v2 put every relevant write in change_log; a batch
 * here reads those rows, brings each source's reminder up to date, and
 * deletes the rows in the same transaction, so each change is handled
 * exactly once, across restarts too.  Every source uses a dedup_key, so
 * re-handling a row (or a concurrent edit) never duplicates a reminder.
 */
#include "sources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "recur.h"
#include "store.h"
#include "store_reminders.h"
#include "tz.h"

#define CHANGE_BATCH	256

/* Cancels key's siblings (same prefix), then inserts it. */
static int
replace_reminder(struct crmd *crmd, const char *prefix,
    const struct new_reminder *r, int64_t now)
{
	int64_t id;
	int n, rc;

	if ((rc = store_reminders_cancel_prefix(crmd->store, prefix,
	    r->dedup_key, now, &n)) != STORE_OK)
		return rc;
	if ((rc = store_reminder_insert(crmd->store, r, &id)) != STORE_OK)
		return rc;
	if (id != 0)
		log_debug("reminder %lld: %s due %lld", (long long)id,
		    r->dedup_key, (long long)r->due_at);
	return STORE_OK;
}

static int
cancel_all(struct crmd *crmd, const char *prefix, int64_t now)
{
	int n;

	return store_reminders_cancel_prefix(crmd->store, prefix, NULL, now,
	    &n);
}

/* renewal.days_before days before end_date, at renewal.time local. */
static int
contract_changed(struct crmd *crmd, int64_t id, int64_t now)
{
	struct contract_row k;
	struct tz_date d, today;
	char prefix[64], key[96];
	int found, minute, rc;

	snprintf(prefix, sizeof(prefix), "renewal:%lld:", (long long)id);
	if ((rc = store_contract_get(crmd->store, id, &k, &found)) != STORE_OK)
		return rc;
	tz_utc_to_local(now, &today, &minute);
	if (!found || tz_parse_date(k.end_date, &d) == -1 ||
	    tz_date_cmp(&d, &today) < 0)
		return cancel_all(crmd, prefix, now);	/* gone or expired */
	if (k.owner_id == 0) {
		log_info("contract %lld: customer %lld has no owner; no renewal"
		    " reminder", (long long)id, (long long)k.customer_id);
		return cancel_all(crmd, prefix, now);
	}
	snprintf(key, sizeof(key), "%s%s", prefix, k.end_date);
	tz_add_days(&d, -crmd->conf->renewal_days_before);
	int64_t due = tz_local_to_utc(&d, crmd->conf->renewal_time);
	struct new_reminder r = { k.customer_id, k.owner_id, 0, "renewal",
	    due < now ? now : due, NULL, k.title, "contract", key, 1 };
	return replace_reminder(crmd, prefix, &r, now);
}

/* The next birthday strictly after `after`, for customers or contacts. */
static int
birthday_schedule(struct crmd *crmd, const char *tbl, int64_t id,
    int64_t after, int64_t now)
{
	struct birthday_row b;
	struct tz_date d;
	char prefix[64], key[96], note[64];
	int64_t next;
	int found, minute, rc;

	snprintf(prefix, sizeof(prefix), "birthday:%s:%lld:", tbl,
	    (long long)id);
	if ((rc = store_birthday_get(crmd->store, tbl, id, &b, &found)) !=
	    STORE_OK)
		return rc;
	if (!found || b.birthday[0] == '\0' || b.owner_id == 0 ||
	    tz_next_birthday(b.birthday, crmd->conf->birthday_time, after,
	    &next) == -1)
		return cancel_all(crmd, prefix, now);
	tz_utc_to_local(next, &d, &minute);
	snprintf(key, sizeof(key), "%s%d", prefix, d.year);
	snprintf(note, sizeof(note), "%s", strcmp(tbl, "contacts") == 0 ?
	    "联系人生日" : "客户生日");
	struct new_reminder r = { b.customer_id, b.owner_id, 0, "birthday",
	    next, NULL, note, "birthday", key, 1 };
	return replace_reminder(crmd, prefix, &r, now);
}

int
sources_birthday_next(struct crmd *crmd, const char *tbl, int64_t id,
    int64_t after, int64_t now)
{
	if (strcmp(tbl, "customers") != 0 && strcmp(tbl, "contacts") != 0)
		return STORE_OK;
	return birthday_schedule(crmd, tbl, id, after, now);
}

/*
 * A follow-up's next_followup_at is a reminder to its user; a newer
 * follow-up of the same customer supersedes older ones' reminders.
 */
static int
followup_changed(struct crmd *crmd, int64_t id, int64_t now)
{
	struct followup_row f;
	char prefix[64], key[96];
	int found, n, rc;

	snprintf(prefix, sizeof(prefix), "followup:%lld:", (long long)id);
	if ((rc = store_followup_get(crmd->store, id, &f, &found)) != STORE_OK)
		return rc;
	if (!found)
		return cancel_all(crmd, prefix, now);
	if ((rc = store_followups_supersede(crmd->store, f.customer_id, id,
	    f.at, now, &n)) != STORE_OK)
		return rc;
	if (n > 0)
		log_debug("follow-up %lld superseded %d reminder(s)",
		    (long long)id, n);
	if (f.next_followup_at == 0)
		return cancel_all(crmd, prefix, now);
	snprintf(key, sizeof(key), "%s%lld", prefix,
	    (long long)f.next_followup_at);
	struct new_reminder r = { f.customer_id, f.user_id, 0, "followup",
	    f.next_followup_at, NULL, f.next_action, "followup", key, 1 };
	return replace_reminder(crmd, prefix, &r, now);
}

int
sources_plan_schedule(struct crmd *crmd, int64_t plan_id, int64_t after,
    int64_t now)
{
	struct plan_row p;
	char prefix[64], key[96], *err = NULL;
	int64_t next = 0;
	int found, rc, r = 1;

	snprintf(prefix, sizeof(prefix), "plan:%lld:", (long long)plan_id);
	if ((rc = store_plan_get(crmd->store, plan_id, &p, &found)) !=
	    STORE_OK)
		return rc;
	/* After a step back of the wall clock, now lies before occurrences
	 * that already fired: the series goes on after the last of them. */
	if (found && p.active) {
		int64_t last = 0;

		if ((rc = store_series_last_happened(crmd->store, prefix,
		    &last)) != STORE_OK) {
			store_plan_row_free(&p);
			return rc;
		}
		if (last > after)
			after = last;
	}
	if (found && p.active) {
		r = recur_next(p.rrule, p.dtstart, p.until, after, &next, &err);
		if (r == -1) {
			log_warnx("plan %lld: %s", (long long)plan_id, err);
			free(err);
		}
	}
	if (r != 0) {		/* paused, deleted, ended or broken */
		store_plan_row_free(&p);
		if ((rc = cancel_all(crmd, prefix, now)) != STORE_OK)
			return rc;
		return found ? store_plan_set_next(crmd->store, plan_id, 0) :
		    STORE_OK;
	}
	snprintf(key, sizeof(key), "%s%lld", prefix, (long long)next);
	struct new_reminder nr = { p.customer_id, p.user_id, plan_id,
	    "followup", next, p.channels, p.name, "plan", key, 1 };
	rc = replace_reminder(crmd, prefix, &nr, now);
	store_plan_row_free(&p);
	if (rc == STORE_OK)
		rc = store_plan_set_next(crmd->store, plan_id, next);
	return rc;
}

/*
 * A plan or birthday occurrence was acknowledged or cancelled before it
 * fired: unless the series already has a pending occurrence, schedule the
 * one after it.
 */
static int
series_moved(struct crmd *crmd, int64_t id, int64_t now)
{
	struct series_row r;
	char tbl[16], prefix[64];
	long long src;
	int found, n, rc;

	if ((rc = store_reminder_series(crmd->store, id, &r, &found)) !=
	    STORE_OK || !found)
		return rc;
	if (r.plan_id != 0)
		snprintf(prefix, sizeof(prefix), "plan:%lld:",
		    (long long)r.plan_id);
	else if (sscanf(r.dedup_key, "birthday:%15[a-z]:%lld:", tbl, &src) ==
	    2)
		snprintf(prefix, sizeof(prefix), "birthday:%s:%lld:", tbl, src);
	else
		return STORE_OK;
	if ((rc = store_reminders_pending_prefix(crmd->store, prefix, &n)) !=
	    STORE_OK || n > 0)
		return rc;
	if (r.plan_id != 0)
		return sources_plan_schedule(crmd, r.plan_id,
		    r.due_at > now ? r.due_at : now, now);
	return sources_birthday_next(crmd, tbl, src,
	    r.due_at > now ? r.due_at : now, now);
}

static int
handle(struct crmd *crmd, const struct change_row *c, int64_t now)
{
	if (strcmp(c->tbl, "reminders") == 0)
		return series_moved(crmd, c->row_id, now);
	if (strcmp(c->tbl, "contracts") == 0)
		return contract_changed(crmd, c->row_id, now);
	if (strcmp(c->tbl, "customers") == 0 || strcmp(c->tbl, "contacts") == 0)
		return birthday_schedule(crmd, c->tbl, c->row_id, now, now);
	if (strcmp(c->tbl, "followups") == 0)
		return followup_changed(crmd, c->row_id, now);
	if (strcmp(c->tbl, "followup_plans") == 0)
		return sources_plan_schedule(crmd, c->row_id, now, now);
	return STORE_OK;	/* a table a later feature watches */
}

/* One change row in a transaction of its own; a row that keeps failing
 * is logged, audited and dropped, so it cannot block every later one. */
static int
process_one(struct crmd *crmd, const struct change_row *c, int64_t now)
{
	char detail[160];
	int rc;

	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	if ((rc = handle(crmd, c, now)) == STORE_ERR) {
		log_warnx("change %lld (%s %lld): %s; skipped", (long long)c->id,
		    c->tbl, (long long)c->row_id, store_errmsg(crmd->store));
		store_rollback(crmd->store);
		if ((rc = store_begin(crmd->store)) != STORE_OK)
			return rc;
		snprintf(detail, sizeof(detail), "change %lld to %s %lld could "
		    "not be handled; see the log", (long long)c->id, c->tbl,
		    (long long)c->row_id);
		rc = store_audit(crmd->store, "crmd", "change.skipped", 0,
		    detail);
	}
	if (rc == STORE_OK)
		rc = store_changes_done(crmd->store, c->id);
	if (rc == STORE_OK)
		return store_commit(crmd->store);
	store_rollback(crmd->store);
	return rc;
}

int
sources_process(struct crmd *crmd, int64_t now, int *more)
{
	struct change_row *rows = NULL;
	size_t n = 0;
	int rc;

	*more = 0;
	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	rc = store_changes_fetch(crmd->store, CHANGE_BATCH, &rows, &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = handle(crmd, &rows[i], now);
	if (rc == STORE_OK && n > 0)
		rc = store_changes_done(crmd->store, rows[n - 1].id);
	if (rc == STORE_OK)
		rc = store_commit(crmd->store);
	else
		store_rollback(crmd->store);
	if (rc == STORE_ERR && n > 0) {
		/* Find the bad row: one transaction per row this time. */
		rc = STORE_OK;
		for (size_t i = 0; i < n && rc == STORE_OK; i++)
			rc = process_one(crmd, &rows[i], now);
	}
	if (rc == STORE_OK) {
		*more = n == CHANGE_BATCH;
		if (n > 0)
			log_debug("handled %zu change(s)", n);
	}
	free(rows);
	return rc;
}
