/*
 * Lead assignment (docs/rules.md, "Assignment"): a customer without an
 * owner gets one from the first `assign` entry whose `when` it matches
 * and whose pool has an active user, round-robin (the next position kept
 * in crmd_state 'assign.N.next', N the entry's number from 1) or to the
 * user with the fewest open customers.  The owner is set only where it
 * is still empty, the new owner is told, and the change is audited.
 *
 * New customers are assigned by the event handler as their
 * customer_created event arrives; a sweep every rules_interval (and at
 * start) catches any other customer left without an owner.
 */
#ifndef CRMD_ASSIGN_H
#define CRMD_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

struct crmd;
struct assign;

struct assign	*assign_new(struct crmd *);
void		 assign_free(struct assign *);

/* The config was reloaded: rules_interval and the entries may differ. */
void		 assign_reconfigure(struct assign *);

/*
 * In the caller's transaction: assigns those of the n customers that
 * still have no owner and match an entry.  *assigned: how many were.
 */
int		 assign_customers(struct crmd *, const int64_t *ids, size_t n,
		    int64_t now, int *assigned);

#endif
