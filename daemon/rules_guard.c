/*
 * The flip-flop guard (rules_guard.h): an open-addressed table keyed by
 * (customer id, tag string address), emptied at the end of each pass.
 * It holds only the pairs a pass changed, so it stays small.
 */
#include "rules_guard.h"

#include <stdlib.h>
#include <string.h>

struct flip {
	int64_t		 customer_id;
	const char	*tag;		/* NULL: a free slot */
	int		 n;
};

struct rules_guard {
	struct flip	*v;
	size_t		 n, cap;	/* cap: a power of two */
};

struct rules_guard *
guard_new(void)
{
	return calloc(1, sizeof(struct rules_guard));
}

void
guard_free(struct rules_guard *g)
{
	if (g == NULL)
		return;
	free(g->v);
	free(g);
}

void
guard_reset(struct rules_guard *g)
{
	if (g->n > 0)
		memset(g->v, 0, g->cap * sizeof(*g->v));
	g->n = 0;
}

static size_t
slot(int64_t customer_id, const char *tag, size_t cap)
{
	uint64_t h = (uint64_t)customer_id * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)(uintptr_t)tag;

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Doubles the table; -1 on ENOMEM. */
static int
grow(struct rules_guard *g)
{
	size_t cap = g->cap ? g->cap * 2 : 256, i, j;
	struct flip *t;

	if ((t = calloc(cap, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < g->cap; i++) {
		if (g->v[i].tag == NULL)
			continue;
		j = slot(g->v[i].customer_id, g->v[i].tag, cap);
		while (t[j].tag != NULL)
			j = (j + 1) & (cap - 1);
		t[j] = g->v[i];
	}
	free(g->v);
	g->v = t;
	g->cap = cap;
	return 0;
}

int
guard_count(struct rules_guard *g, int64_t customer_id, const char *tag)
{
	struct flip *f;
	size_t j;

	if ((g->n + 1) * 2 > g->cap && grow(g) == -1)
		return -1;
	for (j = slot(customer_id, tag, g->cap);; j = (j + 1) & (g->cap - 1)) {
		f = &g->v[j];
		if (f->tag == NULL) {
			f->customer_id = customer_id;
			f->tag = tag;
			g->n++;
			break;
		}
		if (f->customer_id == customer_id && f->tag == tag)
			break;
	}
	return ++f->n;
}
