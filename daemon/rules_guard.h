/*
 * The rules engine's flip-flop guard (docs/rules.md, "When rules run"):
 * how often each (customer, tag) changed in one pass over the change
 * feed, so a rule whose condition reads the tag it sets cannot change
 * it back and forth forever.  Keys are the config's tag strings: reset
 * the guard whenever the config is replaced.
 */
#ifndef CRMD_RULES_GUARD_H
#define CRMD_RULES_GUARD_H

#include <stdint.h>

struct rules_guard;

struct rules_guard	*guard_new(void);
void			 guard_free(struct rules_guard *);
void			 guard_reset(struct rules_guard *);

/* Counts one more change of (customer, tag): the count, or -1 on ENOMEM. */
int			 guard_count(struct rules_guard *, int64_t customer_id,
			    const char *tag);

#endif
