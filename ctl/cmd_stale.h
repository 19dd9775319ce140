/*
 * cmd_stale.c: `stale list` and `stale sweep`.  Their own header so they
 * sit beside the other command files without touching crmctl.h.
 */
#ifndef CRMCTL_CMD_STALE_H
#define CRMCTL_CMD_STALE_H

#include "crmctl.h"

int	 cmd_stale_list_exec(struct ctx *, const struct args *);
int	 cmd_stale_sweep_exec(struct ctx *, const struct args *);

#endif
