/*
 * The daily digest (今日待办): at digest.time local, each active user gets
 * one in-app notification and one email listing today's items, overdue
 * items and missed ones, sorted by customer level then time.  The digests
 * table records who got which day's, so a restart never sends it twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "crmd.h"
#include "escalate.h"
#include "kinds.h"
#include "log.h"
#include "message.h"
#include "outbox.h"
#include "store.h"
#include "store_reminders.h"
#include "template.h"
#include "tz.h"

#define DIGEST_BATCH	64
#define DIGEST_MAX_ITEMS 50	/* lines per digest; the count says the rest */

static void
day_string(const struct tz_date *d, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", d->year, d->mon, d->day);
}

int64_t
digest_next(struct crmd *crmd, int64_t now, const char *done_day)
{
	struct tz_date today;
	char day[16];
	int minute;

	tz_utc_to_local(now, &today, &minute);
	day_string(&today, day, sizeof(day));
	if (strcmp(day, done_day) == 0)
		tz_add_days(&today, 1);
	return tz_local_to_utc(&today, crmd->conf->digest_time);
}

static const char *
item_tag(const struct digest_item *it, int64_t day_start)
{
	if (strcmp(it->state, "missed") == 0)
		return "错过";
	return it->due_at < day_start ? "逾期" : "今日";
}

/* Appends one line per item (bounded) and counts the three groups. */
static char *
format_items(const struct digest_item *items, size_t n, int64_t day_start,
    char *counts, size_t clen)
{
	size_t cap = 256, len = 0;
	int today = 0, overdue = 0, missed = 0;
	char *buf = malloc(cap), *p;

	if (buf == NULL)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *tag = item_tag(&items[i], day_start);
		char due[32], line[768];
		int w;

		today += strcmp(tag, "今日") == 0;
		overdue += strcmp(tag, "逾期") == 0;
		missed += strcmp(tag, "错过") == 0;
		if (i >= DIGEST_MAX_ITEMS)
			continue;
		tz_format_local(items[i].due_at, due, sizeof(due));
		w = snprintf(line, sizeof(line), "[%s] %s %s %s（%s类）\n", tag,
		    due, kind_label(items[i].kind), items[i].c_name,
		    *items[i].c_level ? items[i].c_level : "-");
		if (w < 0)
			continue;
		if (len + (size_t)w + 1 > cap) {
			cap = (len + (size_t)w + 1) * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		memcpy(buf + len, line, (size_t)w + 1);
		len += (size_t)w;
	}
	snprintf(counts, clen, "今日 %d 项，逾期 %d 项，错过 %d 项", today,
	    overdue, missed);
	return buf;
}

static int
digest_user(struct crmd *crmd, int64_t user_id, const char *day,
    int64_t day_start, int64_t day_end, int64_t since, int64_t now, int *sent)
{
	struct digest_item *items;
	struct user_contact u;
	struct tmpl_vars v;
	char counts[128], key[64], *text;
	size_t n;
	int found, changed, rc;

	*sent = 0;
	if ((rc = store_digest_mark(crmd->store, user_id, day, now,
	    &changed)) != STORE_OK || !changed)
		return rc;
	if ((rc = store_digest_items(crmd->store, user_id, day_start, day_end,
	    since, &items, &n)) != STORE_OK)
		return rc;
	if (n == 0) {		/* nothing to do today: no message */
		store_digest_items_free(items, n);
		return STORE_OK;
	}
	if ((rc = store_user_get(crmd->store, user_id, &u, &found)) !=
	    STORE_OK || !found ||
	    (text = format_items(items, n, day_start, counts,
	    sizeof(counts))) == NULL) {
		store_digest_items_free(items, n);
		store_user_contact_free(&u);
		return rc != STORE_OK ? rc : (found ? STORE_ERR : STORE_OK);
	}
	memset(&v, 0, sizeof(v));
	v.v[TF_USER_NAME] = u.name;
	v.v[TF_DIGEST_ITEMS] = text;
	v.v[TF_DIGEST_COUNTS] = counts;
	snprintf(key, sizeof(key), "d%lld.%s", (long long)user_id, day);
	struct message m = { KIND_DIGEST, &v, CH_BIT(CH_EMAIL), 0, 0, key };
	struct recipient to = { user_id, u.email, u.phone, u.name };
	rc = message_send(crmd, &m, &to, now);
	*sent = rc == STORE_OK;
	free(text);
	store_digest_items_free(items, n);
	store_user_contact_free(&u);
	return rc;
}

int
digest_run(struct crmd *crmd, int64_t now, char done_day[16], int *n,
    int *more)
{
	struct tz_date today, tomorrow, yesterday;
	char day[16];
	int64_t *users, start, end, since;
	size_t nusers;
	int minute, rc, sent;

	*n = *more = 0;
	tz_utc_to_local(now, &today, &minute);
	day_string(&today, day, sizeof(day));
	if (minute < crmd->conf->digest_time || strcmp(day, done_day) == 0)
		return STORE_OK;
	tomorrow = today;
	tz_add_days(&tomorrow, 1);
	yesterday = today;
	tz_add_days(&yesterday, -1);
	start = tz_local_to_utc(&today, 0);
	end = tz_local_to_utc(&tomorrow, 0);
	/* Missed since the previous digest, so none is listed twice. */
	since = tz_local_to_utc(&yesterday, crmd->conf->digest_time);
	if ((rc = store_begin(crmd->store)) != STORE_OK)
		return rc;
	if ((rc = store_digest_pending_users(crmd->store, day, &users,
	    &nusers)) != STORE_OK) {
		store_rollback(crmd->store);
		return rc;
	}
	for (size_t i = 0; i < nusers && i < DIGEST_BATCH && rc == STORE_OK;
	    i++) {
		rc = digest_user(crmd, users[i], day, start, end, since, now,
		    &sent);
		*n += sent;
	}
	free(users);
	if (rc == STORE_OK)
		rc = store_commit(crmd->store);
	else {
		if (rc == STORE_ERR)
			log_warnx("digest: %s", store_errmsg(crmd->store));
		store_rollback(crmd->store);
	}
	if (rc != STORE_OK) {
		*n = 0;
		return rc;
	}
	if (*n > 0)
		outbox_kick(crmd->outbox);	/* digests by email, sms, webhook */
	if (nusers > DIGEST_BATCH)
		*more = 1;
	else
		snprintf(done_day, 16, "%s", day);
	return STORE_OK;
}
