/*
 * Message templates: text with {placeholders} such as {customer.name},
 * compiled once at config load (an unknown placeholder is a config error)
 * and rendered per message.  Each value is escaped for where it lands.
 */
#ifndef CRMD_TEMPLATE_H
#define CRMD_TEMPLATE_H

#include <stddef.h>

#include "kinds.h"

/* The placeholders; docs/templates.md lists them with examples. */
enum tmpl_field {
	TF_CUSTOMER_NAME,	/* {customer.name} */
	TF_CUSTOMER_CODE,	/* {customer.code} */
	TF_CUSTOMER_LEVEL,	/* {customer.level}: A, B, C */
	TF_CUSTOMER_STATUS,	/* {customer.status}: 潜在/意向/成交/流失 */
	TF_CUSTOMER_PHONE,	/* {customer.phone} */
	TF_CUSTOMER_EMAIL,	/* {customer.email} */
	TF_CONTACT_NAME,	/* {contact.name}: primary contact, or the
				   birthday contact for contact birthdays */
	TF_CONTACT_PHONE,	/* {contact.phone} */
	TF_USER_NAME,		/* {user.name}: the reminder's owner */
	TF_USER_EMAIL,		/* {user.email} */
	TF_USER_PHONE,		/* {user.phone} */
	TF_MANAGER_NAME,	/* {manager.name} (escalations) */
	TF_REMINDER_ID,		/* {reminder.id} */
	TF_REMINDER_KIND,	/* {reminder.kind}: 回访, 合同续约, ... */
	TF_REMINDER_DUE,	/* {reminder.due}: "YYYY-MM-DD HH:MM" local */
	TF_REMINDER_NOTE,	/* {reminder.note} */
	TF_REMINDER_LATE,	/* {reminder.late}: "（补发）" when late, else "" */
	TF_CONTRACT_TITLE,	/* {contract.title} (renewals) */
	TF_CONTRACT_END,	/* {contract.end_date} (renewals) */
	TF_DIGEST_ITEMS,	/* {digest.items}: one line per item */
	TF_DIGEST_COUNTS,	/* {digest.counts}: "今日 3 项，逾期 1 项，错过 0 项" */
	TF_MAX
};

/* How a value is escaped where it is substituted. */
enum tmpl_escape {
	TE_TEXT,	/* as is (in-app notification, email body) */
	TE_HEADER,	/* CR, LF and other controls become spaces */
	TE_FORM,	/* application/x-www-form-urlencoded */
	TE_JSON,	/* inside a JSON string: "\"", "\\", "\n", \u00XX */
	TE_HTML,	/* HTML text or a quoted attribute: & < > " ' */
};

struct tmpl;

/* The placeholder's name without braces ("customer.name"). */
const char	*tmpl_field_name(enum tmpl_field);

/*
 * Compiles text.  NULL on error with *err (malloc'd) naming the problem,
 * e.g. "unknown placeholder {customer.nmae}", and *line set to the
 * 1-based line within text where it is (for FILE:LINE reporting).
 * "{{" and "}}" are literal braces.
 */
struct tmpl	*tmpl_compile(const char *text, char **err, int *line);
void		 tmpl_free(struct tmpl *);

/* Values for one message; NULL fields render as "". */
struct tmpl_vars {
	const char	*v[TF_MAX];
};

/* Renders t with vars, escaping each value by esc.  malloc'd, or NULL. */
char		*tmpl_render(const struct tmpl *t, const struct tmpl_vars *vars,
		    enum tmpl_escape esc);

/*
 * Is s (len bytes) well-formed UTF-8?  0 if so, else -1 with *line the
 * 1-based line of the first bad byte.  Templates must be UTF-8.
 */
int		 tmpl_utf8_check(const char *s, size_t len, int *line);

/*
 * crmd's built-in Chinese text for kind k on channel c
 * (template_defaults.c): used for whatever the config does not set.
 * The subject is NULL where there is none (sms, webhook).
 */
const char	*tmpl_default_subject(enum kind k, enum channel c);
const char	*tmpl_default_body(enum kind k, enum channel c);

#endif
