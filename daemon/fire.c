/*
 * Fire due reminders (fire.h).  Catch-up policy: a reminder overdue by
 * less than catchup.max_age fires once, marked late when over
 * FIRE_LATE_AFTER; an older one is marked missed and left for the digest.
 * A plan's next occurrence is the first after both this one and now, so
 * a plan catches up once, not once per missed period.
 */
#include "fire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "crmd.h"
#include "kinds.h"
#include "log.h"
#include "message.h"
#include "outbox.h"
#include "sources.h"
#include "store.h"
#include "store_reminders.h"
#include "template.h"
#include "tz.h"
#include "workhours.h"

static const char *
status_label(const char *status)
{
	static const struct { const char *s, *label; } labels[] = {
		{ "potential", "潜在" }, { "intent", "意向" },
		{ "won", "成交" }, { "lost", "流失" },
	};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i].s, status) == 0)
			return labels[i].label;
	return status;
}

/* Renewal reminders name their contract: renewal:<id>:<end_date>. */
static void
contract_vars(struct crmd *crmd, const struct due_row *r,
    struct contract_row *k, struct tmpl_vars *v)
{
	long long id;
	int found = 0;

	if (r->kind != KIND_RENEWAL || r->dedup_key == NULL ||
	    sscanf(r->dedup_key, "renewal:%lld:", &id) != 1)
		return;
	if (store_contract_get(crmd->store, id, k, &found) == STORE_OK &&
	    found) {
		v->v[TF_CONTRACT_TITLE] = k->title;
		v->v[TF_CONTRACT_END] = k->end_date;
	}
}

static void
fill_vars(const struct due_row *r, int late, char *due, char *id,
    struct tmpl_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->v[TF_CUSTOMER_NAME] = r->c_name;
	v->v[TF_CUSTOMER_CODE] = r->c_code;
	v->v[TF_CUSTOMER_LEVEL] = r->c_level;
	v->v[TF_CUSTOMER_STATUS] = status_label(r->c_status);
	v->v[TF_CUSTOMER_PHONE] = r->c_phone;
	v->v[TF_CUSTOMER_EMAIL] = r->c_email;
	v->v[TF_CONTACT_NAME] = r->ct_name;
	v->v[TF_CONTACT_PHONE] = r->ct_phone;
	v->v[TF_USER_NAME] = r->u_name;
	v->v[TF_USER_EMAIL] = r->u_email;
	v->v[TF_USER_PHONE] = r->u_phone;
	v->v[TF_REMINDER_ID] = id;
	v->v[TF_REMINDER_KIND] = kind_label(r->kind);
	v->v[TF_REMINDER_DUE] = due;
	v->v[TF_REMINDER_NOTE] = r->note;
	v->v[TF_REMINDER_LATE] = late ? "（补发）" : "";
}

static unsigned
channels_of(struct crmd *crmd, const struct due_row *r)
{
	unsigned mask = 0;

	if (r->channels[0] == '\0' ||
	    channel_mask_parse(r->channels, &mask) == -1)
		mask = crmd->conf->kind_channels[r->kind];
	return mask | CH_BIT(CH_INAPP);
}

/* What follows a firing: a plan's next occurrence, next year's birthday. */
static int
follow_on(struct crmd *crmd, const struct due_row *r, int64_t now)
{
	char tbl[16];
	long long id;

	if (r->plan_id != 0)
		return sources_plan_schedule(crmd, r->plan_id,
		    r->due_at > now ? r->due_at : now, now);
	if (r->kind == KIND_BIRTHDAY && r->dedup_key != NULL &&
	    sscanf(r->dedup_key, "birthday:%15[a-z]:%lld:", tbl, &id) == 2)
		return sources_birthday_next(crmd, tbl, id,
		    r->due_at > now ? r->due_at : now, now);
	return STORE_OK;
}

static int
fire_one(struct crmd *crmd, const struct due_row *r, int64_t now, int late,
    int *changed)
{
	const struct crmd_conf *conf = crmd->conf;
	struct contract_row k;
	struct tmpl_vars v;
	struct message m;
	struct recipient to = { r->user_id, r->u_email, r->u_phone,
	    r->u_name };
	char due[32], id[24], key[64], detail[128];
	int64_t esc = 0;
	int rc;

	if (conf->escalation_after > 0)
		esc = workhours_add(&conf->working_hours, now,
		    conf->escalation_after);
	if ((rc = store_reminder_fired(crmd->store, r->id, now, late, esc,
	    changed)) != STORE_OK || !*changed)
		return rc;
	tz_format_local(r->due_at, due, sizeof(due));
	snprintf(id, sizeof(id), "%lld", (long long)r->id);
	/* Each firing (a snooze fires again) gets its own message keys. */
	snprintf(key, sizeof(key), "r%lld.%d", (long long)r->id,
	    r->fire_count + 1);
	fill_vars(r, late, due, id, &v);
	contract_vars(crmd, r, &k, &v);
	m = (struct message){ r->kind, &v, channels_of(crmd, r), r->id,
	    r->customer_id, key };
	if ((rc = message_send(crmd, &m, &to, now)) != STORE_OK)
		return rc;
	snprintf(detail, sizeof(detail), "reminder %lld (%s) fired%s",
	    (long long)r->id, kind_name(r->kind), late ? " late" : "");
	log_debug("reminder %lld fired: %s %s for %s, to %s", (long long)r->id,
	    kind_label(r->kind), due, r->c_name, r->u_name);
	if ((rc = store_audit(crmd->store, "crmd", "reminder.fired",
	    r->customer_id, detail)) != STORE_OK)
		return rc;
	return follow_on(crmd, r, now);
}

static int
miss_one(struct crmd *crmd, const struct due_row *r, int64_t now,
    int *changed)
{
	char detail[128];
	int rc;

	if ((rc = store_reminder_missed(crmd->store, r->id, now, changed)) !=
	    STORE_OK || !*changed)
		return rc;
	snprintf(detail, sizeof(detail), "reminder %lld (%s) missed: due %lld,"
	    " older than catchup.max_age", (long long)r->id, kind_name(r->kind),
	    (long long)r->due_at);
	if ((rc = store_audit(crmd->store, "crmd", "reminder.missed",
	    r->customer_id, detail)) != STORE_OK)
		return rc;
	/* A plan still catches up once: its first occurrence young enough
	 * to fire, if any, else the next one. */
	if (r->plan_id != 0)
		return sources_plan_schedule(crmd, r->plan_id,
		    now - crmd->conf->catchup_max_age, now);
	return follow_on(crmd, r, now);
}

/* The CRM deleted its customer or user (with foreign keys off). */
static int
orphan_one(struct crmd *crmd, const struct due_row *r, int *changed)
{
	char detail[160];
	int rc;

	if ((rc = store_reminder_cancel(crmd->store, r->id, changed)) !=
	    STORE_OK || !*changed)
		return rc;
	log_warnx("reminder %lld cancelled: its customer %lld or user %lld no "
	    "longer exists", (long long)r->id, (long long)r->customer_id,
	    (long long)r->user_id);
	snprintf(detail, sizeof(detail), "reminder %lld cancelled: customer "
	    "%lld or user %lld no longer exists", (long long)r->id,
	    (long long)r->customer_id, (long long)r->user_id);
	return store_audit(crmd->store, "crmd", "reminder.cancelled", 0,
	    detail);
}

int
fire_due(struct crmd *crmd, int64_t now, int limit, struct fire_result *res)
{
	struct due_row *rows;
	size_t n;
	int rc, changed;

	memset(res, 0, sizeof(*res));
	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	if ((rc = store_due_fetch(crmd->store, now, limit, &rows, &n)) !=
	    STORE_OK) {
		store_rollback(crmd->store);
		return rc;
	}
	res->due = n ? calloc(n, sizeof(*res->due)) : NULL;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		int64_t age = now - rows[i].due_at;

		if (rows[i].kind < 0 || rows[i].kind >= KIND_REMINDER_MAX)
			continue;	/* CHECK constraint makes this impossible */
		if (rows[i].orphan) {
			rc = orphan_one(crmd, &rows[i], &changed);
			res->missed += changed;
		} else if (age > crmd->conf->catchup_max_age) {
			rc = miss_one(crmd, &rows[i], now, &changed);
			res->missed += changed;
		} else {
			int late = age > FIRE_LATE_AFTER;

			rc = fire_one(crmd, &rows[i], now, late, &changed);
			res->fired += changed;
			res->late += changed && late;
			if (changed && !late && res->due != NULL)
				res->due[res->ndue++] = rows[i].due_at;
		}
	}
	/* Both halves of the UNION are limited: full means maybe more. */
	res->more = n >= (size_t)limit;
	store_due_free(rows, n);
	if (rc == STORE_OK)
		rc = store_commit(crmd->store);
	else {
		if (rc == STORE_ERR)
			log_warnx("firing reminders: %s",
			    store_errmsg(crmd->store));
		store_rollback(crmd->store);
	}
	if (rc == STORE_OK && res->fired > 0)
		outbox_kick(crmd->outbox);	/* it may have queued messages */
	if (rc != STORE_OK) {
		free(res->due);
		memset(res, 0, sizeof(*res));
	}
	return rc;
}
