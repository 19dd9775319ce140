/*
 * cmd_rules.c: the automation commands (rule list, rule test, rule run,
 * tags, log).  Their own header, like cmd_outbox.h, so they are added
 * beside the other command files without touching crmctl.h.
 */
#ifndef CRMCTL_CMD_RULES_H
#define CRMCTL_CMD_RULES_H

#include "crmctl.h"

int	 cmd_rule_list_exec(struct ctx *, const struct args *);
int	 cmd_rule_test_exec(struct ctx *, const struct args *);
int	 cmd_rule_run_exec(struct ctx *, const struct args *);
int	 cmd_tags_exec(struct ctx *, const struct args *);
int	 cmd_log_exec(struct ctx *, const struct args *);

#endif
