/*
 * Inside the outbox sender: what outbox.c (the pass, the timer, the
 * lifecycle) and outbox_xfer.c (the transfers and their verdicts) share.
 * Nothing else includes this.
 */
#ifndef CRMD_OUTBOX_INT_H
#define CRMD_OUTBOX_INT_H

#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "conf.h"
#include "crmd.h"
#include "outbox.h"
#include "pace.h"
#include "send.h"

#define FLUSH_MS	2	/* outcomes wait this long to share a commit */
#define FLUSH_MAX	512	/* ... or until this many wait */
/* Rows claimed beyond the free slots.  A pass runs when half are left,
 * so this is also its batch: 32 made a pass per ~20 SMS at 35,000/s and a
 * third of crmd's CPU went to passes; 128 gives 12 % more SMS a second
 * (256 no more).  Claimed rows not yet started are released at stop, or
 * after kill -9 wait for their lease; they are never sent twice. */
#define PREFETCH_MIN	128
#define LEASE_MARGIN_S	1	/* a transfer ends this long before its lease */

/* Defaults for a zeroed config (conf_delivery.c has the same). */
#define DEF_CONCURRENCY		4
#define DEF_CONNECT_MS		10000
#define DEF_TIMEOUT_MS		60000
#define DEF_BACKOFF_MIN		300
#define DEF_BACKOFF_MAX		4000
#define DEF_LIFETIME		(5 * 86400)

#define NCHAN	3

struct chan;

/* A claimed row: waiting in a ready queue, or in flight. */
struct job {
	TAILQ_ENTRY(job)	 entry;
	struct chan		*ch;
	int64_t			 id;
	int64_t			 attempts;	/* this one included */
	int64_t			 created_at;
	int64_t			 lease;		/* lease_until: the fence */
	int			 probe;
	char			*recipient;
	char			*subject;
	char			*body;
	char			*key;
	char			*name;		/* NULL: none (email) */
	char			*html;		/* NULL: none (email) */
	size_t			 recipient_len;	/* a NUL inside is kept */
	size_t			 subject_len;
	size_t			 body_len;
	size_t			 key_len;
	size_t			 name_len;
	size_t			 html_len;
	void			*state;		/* the adapter's */
	unsigned		 gen;		/* its handle's config */
};
TAILQ_HEAD(jobs, job);

enum outcome_kind { OUT_SENT, OUT_RETRY, OUT_DEAD, OUT_RELEASE };

/* A result waiting for the next pass's transaction. */
struct outcome {
	enum outcome_kind	 kind;
	int64_t			 id;
	int64_t			 lease;
	int64_t			 at;		/* sent_at or next_attempt_at */
	char			*reason;
};

#define XFER_THREADS	2	/* transport threads per channel */
/* Transfers handed to a channel's threads per connection: one on the
 * wire, the rest waiting there (see ob_slots). */
#define XFER_DEPTH	8

struct chan {
	struct outbox		*o;
	const struct send_ops	*ops;
	/*
	 * Its transport: two threads of its own, each running libcurl on a
	 * loop of its own (curlthread.h), with the channel's connections
	 * shared between them.  libcurl waits for the reply to SMTP's final
	 * dot inside the transfer: on a thread a slow relay holds up none
	 * of crmd's work, and with two taking turns, one's wait leaves the
	 * other sending.  For every channel, the sockets and libcurl's work
	 * (half of a message's CPU) run beside crmd's loop, which keeps the
	 * database, the decisions and the bookkeeping.
	 */
	struct curlthread	*ct[XFER_THREADS];
	int			 nct;
	int			 nct_used;	/* no more than connections */
	int			 ct_share[XFER_THREADS]; /* connections */
	int			 next_ct;
	struct pace_bucket	 bucket;
	struct pace_dest	 dest;
	int			 concurrency;
	int			 in_flight;
	struct jobs		 ready;
	int			 nready;
	/* Easy handles to reuse as they are: each has the options of this
	 * config generation, and a transfer sets all of its own again. */
	CURL			**idle;
	int			 nidle;
	int			 idlecap;
	unsigned		 gen;		/* bumped by a reload */
	int64_t			 next_due;	/* earliest queued row, 0 none */
	int			 next_due_known; /* else: look on the next pass */
	int			 expire_more;	/* a full batch expired: another
						   pass at once */
	int			 warned;	/* unconfigured: logged since reload */
	int64_t			 refuse_from;	/* unconfigured: next refusals from */
};

struct outbox {
	struct crmd		*crmd;
	struct event		*ev_pass;
	int64_t			 pass_at;	/* ms the timer targets, 0 none */
	struct chan		 ch[NCHAN];
	struct outcome		*out;
	size_t			 nout;
	size_t			 outcap;
	int64_t			 reap_at;	/* s: a lease may expire, 0 none */
	int			 stopped;
	struct outbox_stats	 stats;
};

static inline int64_t
ob_now_ms(void)
{
	return wall_ms();
}

static inline const struct conf_delivery *
ob_delivery(const struct outbox *o)
{
	return &o->crmd->conf->delivery;
}

static inline int64_t
ob_conf_or(int64_t v, int64_t def)
{
	return v > 0 ? v : def;
}

static inline int
ob_configured(const struct chan *ch)
{
	return ch->ops->configured(ob_delivery(ch->o));
}

/*
 * Transfers handed to the transport at once: one per connection on the
 * wire, and XFER_DEPTH - 1 more per connection waiting in the threads
 * (not in libcurl, whose timeout clock would run), so that when one ends
 * the thread starts the next itself, without waiting for crmd's loop to
 * see the end and hand over another.  Depth 2 left a thread idle
 * whenever a pass kept the loop busy: an SMS drain ran at 43,800/s, and
 * with depth 8 at 53,500/s (medians of 6).  A waiting transfer not
 * started in time to end within its row's lease comes back unstarted.
 */
static inline int
ob_slots(const struct chan *ch)
{
	return XFER_DEPTH * ch->concurrency;
}

/* Rows claimed ahead: free slots plus enough to refill them between
 * passes. */
static inline int
ob_target(const struct chan *ch)
{
	int extra = ob_slots(ch) > PREFETCH_MIN ? ob_slots(ch) : PREFETCH_MIN;

	return ob_slots(ch) + extra;
}

/* outbox.c */
int	ob_xfer_add(struct chan *, CURL *, curlev_done_cb, void *,
	    int64_t start_by_ms);
int64_t	ob_lease_s(const struct outbox *);
int64_t	ob_timeout_ms(const struct chan *);
void	ob_pass_in(struct outbox *, int64_t ms);

/* outbox_xfer.c */
void	ob_dispatch(struct chan *);
void	ob_job_free(struct job *);
void	ob_release_ready(struct chan *);
void	ob_easy_pool_free(struct chan *);

#endif
