/*
 * Loading the automation keys of crmd.conf (rules, stale, assign) into a
 * struct conf_rules (conf_rules.h).  conf.c walks the file and hands each
 * list here; problems go back through a report callback so they come out
 * as "FILE:LINE: message" like every other key, or "FILE:LINE:COLUMN:"
 * for a rule condition.
 */
#ifndef CRMD_CONF_RULES_LOAD_H
#define CRMD_CONF_RULES_LOAD_H

#include <libconfig.h>

#include "conf_rules.h"

struct conf_report {
	void	*arg;
	/*
	 * One problem at setting s: its line plus line_add, and column
	 * (1-based, characters of the condition's text) when > 0.
	 */
	void	(*error)(void *arg, const config_setting_t *s, int line_add,
		    int column, const char *msg);
};

void	conf_rules_defaults(struct conf_rules *);
void	conf_rules_free(struct conf_rules *);

/* Each replaces what the field held; errors go to rep. */
void	conf_rules_load_rules(struct conf_rules *, const config_setting_t *,
	    const struct conf_report *);
void	conf_rules_load_stale(struct conf_rules *, const config_setting_t *,
	    const struct conf_report *);
void	conf_rules_load_assign(struct conf_rules *, const config_setting_t *,
	    const struct conf_report *);

/* The English status for "intent" or "意向"; NULL when not a status. */
const char *conf_rules_status(const char *);

#endif
