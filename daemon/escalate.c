/* Escalation of unacknowledged reminders to the user's manager. */
#include "escalate.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "message.h"
#include "outbox.h"
#include "store.h"
#include "store_reminders.h"
#include "template.h"
#include "tz.h"

#define ESCALATE_BATCH	128

static int
escalate_one(struct crmd *crmd, const struct escalation_row *e, int64_t now,
    int *changed)
{
	struct tmpl_vars v;
	struct recipient to = { e->manager_id, e->m_email, e->m_phone,
	    e->m_name };
	char due[32], id[24], key[64], detail[160];
	int rc;

	if ((rc = store_reminder_escalated(crmd->store, e->id, now,
	    changed)) != STORE_OK || !*changed)
		return rc;
	if (e->manager_id == 0) {
		snprintf(detail, sizeof(detail), "reminder %lld unacknowledged;"
		    " user %lld has no active manager to escalate to",
		    (long long)e->id, (long long)e->user_id);
		return store_audit(crmd->store, "crmd", "reminder.escalated",
		    e->customer_id, detail);
	}
	tz_format_local(e->due_at, due, sizeof(due));
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	snprintf(key, sizeof(key), "e%lld", (long long)e->id);
	memset(&v, 0, sizeof(v));
	v.v[TF_CUSTOMER_NAME] = e->c_name;
	v.v[TF_CUSTOMER_CODE] = e->c_code;
	v.v[TF_CUSTOMER_LEVEL] = e->c_level;
	v.v[TF_USER_NAME] = e->u_name;
	v.v[TF_MANAGER_NAME] = e->m_name;
	v.v[TF_REMINDER_ID] = id;
	v.v[TF_REMINDER_KIND] = kind_label(e->kind);
	v.v[TF_REMINDER_DUE] = due;
	v.v[TF_REMINDER_NOTE] = e->note;
	struct message m = { KIND_ESCALATION, &v,
	    CH_BIT(CH_EMAIL),
	    e->id, e->customer_id, key };
	if ((rc = message_send(crmd, &m, &to, now)) != STORE_OK)
		return rc;
	snprintf(detail, sizeof(detail), "reminder %lld unacknowledged; "
	    "manager %lld notified", (long long)e->id,
	    (long long)e->manager_id);
	return store_audit(crmd->store, "crmd", "reminder.escalated",
	    e->customer_id, detail);
}

/* One row in its own transaction; one that keeps failing is marked
 * escalated with an audit row, so it cannot block the others. */
static int
escalate_alone(struct crmd *crmd, const struct escalation_row *e,
    int64_t now, int *n)
{
	char detail[160];
	int rc, changed;

	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	if ((rc = escalate_one(crmd, e, now, &changed)) == STORE_ERR) {
		log_warnx("escalating reminder %lld: %s; skipped",
		    (long long)e->id, store_errmsg(crmd->store));
		store_rollback(crmd->store);
		if ((rc = store_begin(crmd->store)) != STORE_OK)
			return rc;
		snprintf(detail, sizeof(detail), "reminder %lld could not be "
		    "escalated; see the log", (long long)e->id);
		changed = 0;
		if ((rc = store_reminder_escalated(crmd->store, e->id, now,
		    &changed)) == STORE_OK)
			rc = store_audit(crmd->store, "crmd",
			    "reminder.escalation_failed", e->customer_id, detail);
		changed = 0;
	}
	if (rc == STORE_OK && (rc = store_commit(crmd->store)) == STORE_OK)
		*n += changed;
	else if (rc != STORE_OK)
		store_rollback(crmd->store);
	return rc;
}

int
escalate_due(struct crmd *crmd, int64_t now, int *n, int *more)
{
	struct escalation_row *rows;
	size_t nrows;
	int rc, changed;

	*n = *more = 0;
	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	if ((rc = store_escalations_fetch(crmd->store, now, ESCALATE_BATCH,
	    &rows, &nrows)) != STORE_OK) {
		store_rollback(crmd->store);
		return rc;
	}
	for (size_t i = 0; i < nrows && rc == STORE_OK; i++) {
		rc = escalate_one(crmd, &rows[i], now, &changed);
		*n += changed;
	}
	if (rc == STORE_OK)
		rc = store_commit(crmd->store);
	else
		store_rollback(crmd->store);
	if (rc != STORE_OK)
		*n = 0;
	if (rc == STORE_ERR) {
		/* Find the bad row: one transaction per row this time. */
		rc = STORE_OK;
		for (size_t i = 0; i < nrows && rc == STORE_OK; i++)
			rc = escalate_alone(crmd, &rows[i], now, n);
	}
	store_escalations_free(rows, nrows);
	*more = rc == STORE_OK && nrows == ESCALATE_BATCH;
	if (*n > 0)
		outbox_kick(crmd->outbox);	/* messages to the managers */
	return rc;
}
