/* Rendering a message and writing its notification and outbox rows. */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "crmd.h"
#include "log.h"
#include "store.h"
#include "store_reminders.h"
#include "template.h"
#include "workhours.h"

static const enum tmpl_escape body_escape[CH_MAX] = {
	[CH_INAPP] = TE_TEXT, [CH_EMAIL] = TE_TEXT,
	[CH_SMS] = TE_TEXT, [CH_WEBHOOK] = TE_JSON,
};

static char *
render(const struct tmpl *t, const struct tmpl_vars *v, enum tmpl_escape e)
{
	return t != NULL ? tmpl_render(t, v, e) : NULL;
}

/* Where channel c goes for this recipient, or NULL with *why set. */
static const char *
address(enum channel c, const struct recipient *to, const char **why)
{
	const char *a = NULL;

	switch (c) {
	case CH_EMAIL:
		a = to->email;
		*why = "the user has no email address";
		break;
	case CH_SMS:
		a = to->phone;
		*why = "the user has no phone number";
		break;
	case CH_WEBHOOK:
		return "webhook";	/* the configured URL (channels.webhook) */
	default:
		return NULL;
	}
	return a != NULL && *a != '\0' ? a : NULL;
}

static int
queue_channel(struct crmd *crmd, const struct message *m, enum channel c,
    const struct recipient *to, int64_t now)
{
	const struct conf_message *cm = &crmd->conf->messages[m->kind][c];
	const char *why = NULL, *rcpt = address(c, to, &why);
	char key[160];
	struct outbox_add o = { 0 };
	int rc;

	snprintf(key, sizeof(key), "%s.%s", m->key, channel_name(c));
	o.channel = channel_name(c);
	o.recipient = rcpt;
	o.idempotency_key = key;
	o.reminder_id = m->reminder_id;
	o.customer_id = m->customer_id;
	o.dead_reason = rcpt == NULL ? why : NULL;
	o.subject = render(cm->subject, m->vars, TE_HEADER);
	o.body = render(cm->body, m->vars, body_escape[c]);
	if (c == CH_EMAIL) {
		o.recipient_name = to->name;
		o.body_html = render(cm->html, m->vars, TE_HTML);
	}
	/* Outside working hours, email and SMS wait for the next start. */
	o.next_attempt_at = crmd->conf->immediate_channels & CH_BIT(c) ? now :
	    workhours_next_open(&crmd->conf->working_hours, now);
	if (o.body == NULL || (cm->subject != NULL && o.subject == NULL) ||
	    (c == CH_EMAIL && cm->html != NULL && o.body_html == NULL))
		rc = STORE_ERR;
	else
		rc = store_outbox_add(crmd->store, &o, now);
	free((char *)o.subject);
	free((char *)o.body);
	free((char *)o.body_html);
	return rc;
}

int
message_send(struct crmd *crmd, const struct message *m,
    const struct recipient *to, int64_t now)
{
	const struct conf_message *in = &crmd->conf->messages[m->kind][CH_INAPP];
	char *title = render(in->subject, m->vars, TE_TEXT);
	char *body = render(in->body, m->vars, TE_TEXT);
	int rc;

	if (title == NULL || body == NULL) {
		free(title);
		free(body);
		log_warnx("cannot render the %s message", kind_name(m->kind));
		return STORE_ERR;
	}
	rc = store_notification_add(crmd->store, to->user_id, m->customer_id,
	    m->reminder_id, title, body, now);
	free(title);
	free(body);
	for (int c = CH_INAPP + 1; c < CH_MAX && rc == STORE_OK; c++)
		if (m->channels & CH_BIT(c))
			rc = queue_channel(crmd, m, c, to, now);
	return rc;
}
