/*
 * Reminder kinds and delivery channels: their names in the database and
 * the config, and crmd's Chinese labels for messages.
 */
#ifndef CRMD_KINDS_H
#define CRMD_KINDS_H

enum channel {
	CH_INAPP,		/* notifications row, always written */
	CH_EMAIL,
	CH_SMS,
	CH_WEBHOOK,
	CH_MAX
};
#define CH_BIT(c)	(1u << (c))

/* Message kinds: the reminders.kind values, then crmd's own messages. */
enum kind {
	KIND_FOLLOWUP,		/* 回访 */
	KIND_CALLBACK,		/* 回电 */
	KIND_RENEWAL,		/* 合同续约 */
	KIND_BIRTHDAY,		/* 生日祝福 */
	KIND_CUSTOM,		/* 提醒 */
	KIND_ESCALATION,	/* to the manager: a reminder went unacknowledged */
	KIND_DIGEST,		/* the daily 今日待办 digest */
	KIND_STALE,		/* to the owner: a customer went without a
				   follow-up too long (stale.c) */
	KIND_STALE_ESCALATION,	/* to the owner's manager: still none */
	KIND_ASSIGNED,		/* to a new lead's owner (assign.c) */
	KIND_EVENT,		/* an event rule's notify (events.c) */
	KIND_MAX
};
#define KIND_REMINDER_MAX	(KIND_CUSTOM + 1)	/* valid reminders.kind */

const char	*channel_name(enum channel);	/* "inapp", "email", ... */
int		 channel_from_name(const char *);	/* -1 if unknown */
/* "inapp,email" -> bit mask; -1 on an unknown name or bad syntax. */
int		 channel_mask_parse(const char *list, unsigned *mask);

const char	*kind_name(enum kind);		/* "followup", ... */
int		 kind_from_name(const char *);	/* -1 if unknown */
const char	*kind_label(enum kind);		/* "回访", ... */

#endif
