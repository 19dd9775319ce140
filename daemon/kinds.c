/* Names and labels of reminder kinds and channels. */
#include "kinds.h"

#include <string.h>

static const char *const channel_names[CH_MAX] = {
	[CH_INAPP] = "inapp", [CH_EMAIL] = "email",
	[CH_SMS] = "sms", [CH_WEBHOOK] = "webhook",
};

static const struct {
	const char	*name;
	const char	*label;
} kinds[KIND_MAX] = {
	[KIND_FOLLOWUP] =	{ "followup",	"回访" },
	[KIND_CALLBACK] =	{ "callback",	"回电" },
	[KIND_RENEWAL] =	{ "renewal",	"合同续约" },
	[KIND_BIRTHDAY] =	{ "birthday",	"生日祝福" },
	[KIND_CUSTOM] =		{ "custom",	"提醒" },
	[KIND_ESCALATION] =	{ "escalation",	"逾期未处理" },
	[KIND_DIGEST] =		{ "digest",	"今日待办" },
	[KIND_STALE] =		{ "stale",	"需重点关注" },
	[KIND_STALE_ESCALATION] = { "stale_escalation", "长期未跟进" },
	[KIND_ASSIGNED] =	{ "assigned",	"新客户分配" },
	[KIND_EVENT] =		{ "event",	"客户动态" },
};

const char *
channel_name(enum channel c)
{
	return (unsigned)c < CH_MAX ? channel_names[c] : "?";
}

int
channel_from_name(const char *name)
{
	for (int c = 0; c < CH_MAX; c++)
		if (strcmp(channel_names[c], name) == 0)
			return c;
	return -1;
}

int
channel_mask_parse(const char *list, unsigned *mask)
{
	char name[16];
	unsigned m = 0;

	while (*list != '\0') {
		size_t n = strcspn(list, ",");
		int c;

		if (n == 0 || n >= sizeof(name))
			return -1;
		memcpy(name, list, n);
		name[n] = '\0';
		if ((c = channel_from_name(name)) == -1)
			return -1;
		m |= CH_BIT(c);
		list += n;
		if (*list == ',' && *++list == '\0')
			return -1;	/* trailing comma */
	}
	*mask = m;
	return 0;
}

const char *
kind_name(enum kind k)
{
	return (unsigned)k < KIND_MAX ? kinds[k].name : "?";
}

int
kind_from_name(const char *name)
{
	for (int k = 0; k < KIND_MAX; k++)
		if (strcmp(kinds[k].name, name) == 0)
			return k;
	return -1;
}

const char *
kind_label(enum kind k)
{
	return (unsigned)k < KIND_MAX ? kinds[k].label : "?";
}
