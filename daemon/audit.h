/*
 * The audit trail: who did what, written to audit_log.  A row that cannot
 * be written because another process holds the database lock waits in a
 * small queue and is retried from a timer, so the event loop never blocks
 * on it and the row is not dropped.
 */
#ifndef CRMD_AUDIT_H
#define CRMD_AUDIT_H

#include <stdint.h>
#include <sys/types.h>

struct crmd;
struct audit;

struct audit	*audit_new(struct crmd *);
/* Writes what is still queued (waiting up to the startup busy timeout). */
void		 audit_free(struct audit *);

/* customer_id 0 means none.  Never blocks; logs what it cannot keep. */
void		 audit_record(struct audit *, const char *actor,
		    const char *action, int64_t customer_id, const char *detail);

/*
 * Rate limit for control.refused rows: 1 to record this refusal, 0 to
 * drop it.  *suppressed reports how many the previous minute dropped, to
 * be mentioned in the row that is recorded.
 */
int		 audit_refusal_allowed(struct audit *, uid_t uid, int64_t now,
		    int *suppressed);

/* Rows waiting for the database lock. */
int		 audit_pending(const struct audit *);

#endif
