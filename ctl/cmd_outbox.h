/*
 * cmd_outbox.c: the outbox commands (outbox list, show, retry, purge) and
 * test-send.  Their own header so that they could be added beside the
 * other command files without touching crmctl.h.
 */
#ifndef CRMCTL_CMD_OUTBOX_H
#define CRMCTL_CMD_OUTBOX_H

#include "crmctl.h"

/* Display columns the list's SUBJECT is cut to. */
#define OUTBOX_SUBJECT_WIDTH	40

int	 cmd_outbox_list_exec(struct ctx *, const struct args *);
int	 cmd_outbox_show_exec(struct ctx *, const struct args *);
int	 cmd_outbox_retry_exec(struct ctx *, const struct args *);
int	 cmd_outbox_purge_exec(struct ctx *, const struct args *);
int	 cmd_test_send_exec(struct ctx *, const struct args *);

/* s (cleaned text) cut to at most width display columns, ending in "…"
 * when cut; malloc'd, NULL if out of memory. */
char	*text_truncate(const char *s, size_t width);

#endif
