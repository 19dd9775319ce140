/*
 * crmd's built-in message texts, in Chinese, for every kind and channel:
 * what a sales team gets when crmd.conf sets no `templates`.  They follow
 * the manuals' wording (回访, 合同续约, 生日祝福, 今日待办).  In-app titles
 * and email subjects are one line; SMS bodies are one short line (a 70-
 * character SMS is one message); webhook bodies are JSON in the form the
 * common group-chat robots accept, with every value inside a string, since
 * the renderer escapes values with TE_JSON there.  docs/templates.md lists
 * them; tests/conf/test_template.c compiles every one.
 */
#include "template.h"

struct text {
	const char	*subject;
	const char	*body;
};

/* A webhook text message: {"msgtype":"text","text":{"content":"..."}}. */
#define WEBHOOK(content) \
	"{{\"msgtype\":\"text\",\"text\":{{\"content\":\"" content "\"}}}}"

static const struct text defaults[KIND_MAX][CH_MAX] = {
	[KIND_FOLLOWUP] = {
		[CH_INAPP] = {
			"【回访提醒】{customer.name}{reminder.late}",
			"客户 {customer.name}（{customer.code}，{customer.level} 类）"
			"需要回访，时间 {reminder.due}。{reminder.note}",
		},
		[CH_EMAIL] = {
			"【回访提醒】{customer.name} {reminder.due}{reminder.late}",
			"{user.name}，您好：\n"
			"\n"
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）需要回访。\n"
			"\n"
			"时间：{reminder.due}{reminder.late}\n"
			"联系人：{contact.name} {contact.phone}\n"
			"客户电话：{customer.phone}\n"
			"备注：{reminder.note}\n"
			"\n"
			"回访后请在 CRM 中确认此提醒（编号 {reminder.id}）。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【回访提醒】{reminder.due} 回访 {customer.name}"
			"（{customer.level} 类）{contact.name} {contact.phone}"
			"{reminder.late}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【回访提醒】{customer.name}（{customer.level} 类）"
			    "{reminder.due}{reminder.late}，负责人 {user.name}。"
			    "{reminder.note}"),
		},
	},
	[KIND_CALLBACK] = {
		[CH_INAPP] = {
			"【回电提醒】{customer.name}{reminder.late}",
			"请回电客户 {customer.name}（{customer.code}，"
			"{customer.level} 类），联系人 {contact.name} "
			"{contact.phone}，时间 {reminder.due}。{reminder.note}",
		},
		[CH_EMAIL] = {
			"【回电提醒】{customer.name} {reminder.due}{reminder.late}",
			"{user.name}，您好：\n"
			"\n"
			"请回电客户 {customer.name}（{customer.code}，"
			"{customer.level} 类）。\n"
			"\n"
			"时间：{reminder.due}{reminder.late}\n"
			"联系人：{contact.name} {contact.phone}\n"
			"客户电话：{customer.phone}\n"
			"备注：{reminder.note}\n"
			"\n"
			"回电后请在 CRM 中确认此提醒（编号 {reminder.id}）。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【回电提醒】{reminder.due} 回电 {customer.name} "
			"{contact.name} {contact.phone}{reminder.late}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【回电提醒】{customer.name} {contact.name} "
			    "{contact.phone}，{reminder.due}{reminder.late}，"
			    "负责人 {user.name}。{reminder.note}"),
		},
	},
	[KIND_RENEWAL] = {
		[CH_INAPP] = {
			"【合同续约】{customer.name}：{contract.title}"
			"{reminder.late}",
			"客户 {customer.name} 的合同《{contract.title}》将于 "
			"{contract.end_date} 到期，请及时联系续约。{reminder.note}",
		},
		[CH_EMAIL] = {
			"【合同续约】{customer.name}《{contract.title}》"
			"{contract.end_date} 到期{reminder.late}",
			"{user.name}，您好：\n"
			"\n"
			"客户 {customer.name}（{customer.code}，{customer.level} 类）"
			"的合同《{contract.title}》将于 {contract.end_date} 到期。\n"
			"请在到期前联系 {contact.name}（{contact.phone}）"
			"商谈续约。\n"
			"\n"
			"备注：{reminder.note}\n"
			"\n"
			"处理后请在 CRM 中确认此提醒（编号 {reminder.id}）。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【合同续约】{customer.name}《{contract.title}》"
			"{contract.end_date} 到期，请联系续约{reminder.late}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【合同续约】{customer.name} 的合同《{contract.title}》"
			    "将于 {contract.end_date} 到期，负责人 {user.name}。"
			    "{reminder.note}"),
		},
	},
	[KIND_BIRTHDAY] = {
		[CH_INAPP] = {
			"【生日祝福】{contact.name}（{customer.name}）"
			"{reminder.late}",
			"今天是 {customer.name} {contact.name} 的生日，"
			"别忘了送上祝福。{reminder.note}",
		},
		[CH_EMAIL] = {
			"【生日祝福】{contact.name}（{customer.name}）今天生日"
			"{reminder.late}",
			"{user.name}，您好：\n"
			"\n"
			"今天是 {customer.name} {contact.name} 的生日。\n"
			"电话：{contact.phone}\n"
			"\n"
			"别忘了打个电话或发条短信送上祝福。{reminder.note}\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【生日祝福】今天是 {customer.name} {contact.name} 的生日"
			" {contact.phone}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【生日祝福】今天是 {customer.name} {contact.name} "
			    "的生日，负责人 {user.name}。{reminder.note}"),
		},
	},
	[KIND_CUSTOM] = {
		[CH_INAPP] = {
			"【提醒】{customer.name}{reminder.late}",
			"{reminder.note}（客户 {customer.name}，时间 "
			"{reminder.due}）",
		},
		[CH_EMAIL] = {
			"【提醒】{customer.name} {reminder.due}{reminder.late}",
			"{user.name}，您好：\n"
			"\n"
			"{reminder.note}\n"
			"\n"
			"客户：{customer.name}（{customer.code}，{customer.level} 类）\n"
			"时间：{reminder.due}{reminder.late}\n"
			"\n"
			"处理后请在 CRM 中确认此提醒（编号 {reminder.id}）。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【提醒】{reminder.due} {customer.name}：{reminder.note}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【提醒】{customer.name} {reminder.due}"
			    "{reminder.late}，负责人 {user.name}："
			    "{reminder.note}"),
		},
	},
	[KIND_ESCALATION] = {
		[CH_INAPP] = {
			"【逾期未处理】{user.name}：{customer.name}",
			"{user.name} 的{reminder.kind}提醒（客户 {customer.name}，"
			"{customer.level} 类，时间 {reminder.due}）至今未处理，"
			"请跟进。{reminder.note}",
		},
		[CH_EMAIL] = {
			"【逾期未处理】{user.name} 的{reminder.kind}提醒："
			"{customer.name}",
			"{manager.name}，您好：\n"
			"\n"
			"{user.name} 的{reminder.kind}提醒至今未处理：\n"
			"\n"
			"客户：{customer.name}（{customer.code}，{customer.level} 类）\n"
			"时间：{reminder.due}\n"
			"备注：{reminder.note}\n"
			"提醒编号：{reminder.id}\n"
			"\n"
			"请跟进。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【逾期未处理】{user.name} 的{reminder.kind}提醒"
			"（{customer.name}，{reminder.due}）未处理，请跟进",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【逾期未处理】{user.name} 的{reminder.kind}提醒"
			    "（客户 {customer.name}，{customer.level} 类，"
			    "{reminder.due}）至今未处理，请 {manager.name} 跟进。"),
		},
	},
	[KIND_DIGEST] = {
		[CH_INAPP] = {
			"今日待办：{digest.counts}",
			"{digest.items}",
		},
		[CH_EMAIL] = {
			"今日待办：{digest.counts}",
			"{user.name}，您好：\n"
			"\n"
			"今日待办：{digest.counts}\n"
			"\n"
			"{digest.items}\n"
			"\n"
			"按客户等级（A、B、C）和时间排列。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【今日待办】{user.name}：{digest.counts}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("今日待办（{user.name}）：{digest.counts}\\n"
			    "{digest.items}"),
		},
	},
	/*
	 * The automation's messages.  {reminder.note} carries what the
	 * message is about: the stale flag's reason ("30 天未跟进（潜在客
	 * 户）"), the assignment rule, or the event and what it asks for.
	 */
	[KIND_STALE] = {
		[CH_INAPP] = {
			"【需重点关注】{customer.name}",
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）{reminder.note}，请尽快跟进。",
		},
		[CH_EMAIL] = {
			"【需重点关注】{customer.name} {reminder.note}",
			"{user.name}，您好：\n"
			"\n"
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）{reminder.note}，已标记为需重点关注。\n"
			"\n"
			"联系人：{contact.name} {contact.phone}\n"
			"客户电话：{customer.phone}\n"
			"\n"
			"请尽快跟进；在 CRM 中记录跟进后，标记自动解除。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【需重点关注】{customer.name} {reminder.note}，请尽快跟进",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【需重点关注】{customer.name}（{customer.level} 类）"
			    "{reminder.note}，负责人 {user.name}，请尽快跟进。"),
		},
	},
	[KIND_STALE_ESCALATION] = {
		[CH_INAPP] = {
			"【长期未跟进】{user.name}：{customer.name}",
			"{user.name} 负责的客户 {customer.name}（{customer.code}，"
			"{customer.level} 类）{reminder.note}，{reminder.due} "
			"已提醒，至今仍未跟进，请督促。",
		},
		[CH_EMAIL] = {
			"【长期未跟进】{user.name} 负责的客户 {customer.name}",
			"{manager.name}，您好：\n"
			"\n"
			"{user.name} 负责的客户 {customer.name}（{customer.code}，"
			"{customer.level} 类，{customer.status}）{reminder.note}。\n"
			"已于 {reminder.due} 提醒负责人，至今仍未跟进。\n"
			"\n"
			"请督促跟进。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【长期未跟进】{user.name} 的客户 {customer.name} "
			"{reminder.note}，请督促跟进",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【长期未跟进】{user.name} 负责的客户 {customer.name}"
			    "（{customer.level} 类）{reminder.note}，请 "
			    "{manager.name} 督促跟进。"),
		},
	},
	[KIND_ASSIGNED] = {
		[CH_INAPP] = {
			"【新客户分配】{customer.name}",
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）已分配给您，请尽快联系。{reminder.note}",
		},
		[CH_EMAIL] = {
			"【新客户分配】{customer.name}",
			"{user.name}，您好：\n"
			"\n"
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）已分配给您。\n"
			"\n"
			"联系人：{contact.name} {contact.phone}\n"
			"客户电话：{customer.phone}\n"
			"{reminder.note}\n"
			"\n"
			"请尽快联系。\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【新客户分配】{customer.name}（{customer.level} 类）"
			"已分配给您，请尽快联系",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【新客户分配】{customer.name}（{customer.level} 类）"
			    "已分配给 {user.name}。{reminder.note}"),
		},
	},
	[KIND_EVENT] = {
		[CH_INAPP] = {
			"【客户动态】{customer.name}",
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）：{reminder.note}",
		},
		[CH_EMAIL] = {
			"【客户动态】{customer.name}",
			"{user.name}，您好：\n"
			"\n"
			"客户 {customer.name}（{customer.code}，{customer.level} 类，"
			"{customer.status}）：\n"
			"{reminder.note}\n"
			"\n"
			"联系人：{contact.name} {contact.phone}\n"
			"客户电话：{customer.phone}\n"
			"—— crmd 客户提醒\n",
		},
		[CH_SMS] = { NULL,
			"【客户动态】{customer.name}：{reminder.note}",
		},
		[CH_WEBHOOK] = { NULL,
			WEBHOOK("【客户动态】{customer.name}（{customer.level} 类），"
			    "负责人 {user.name}：{reminder.note}"),
		},
	},
};

const char *
tmpl_default_subject(enum kind k, enum channel c)
{
	if ((unsigned)k >= KIND_MAX || (unsigned)c >= CH_MAX)
		return NULL;
	return defaults[k][c].subject;
}

const char *
tmpl_default_body(enum kind k, enum channel c)
{
	if ((unsigned)k >= KIND_MAX || (unsigned)c >= CH_MAX)
		return NULL;
	return defaults[k][c].body;
}
