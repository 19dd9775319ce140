/*
 * Long reads off the event loop.  A control command whose answer needs a
 * long query (crmctl rule test's dry run) hands it here: a worker thread
 * runs it on a read-only connection of its own (store_reader.h), and the
 * loop is told when it is done, so the loop never waits for the query.
 *
 * At most OFFLOAD_THREADS jobs run at once and OFFLOAD_MAX_WAITING more
 * wait their turn; past that offload_submit() refuses (the command then
 * answers "busy, try again").  run() is called on a worker thread and must
 * touch nothing but its argument and the reader; done() is called on the
 * loop thread, exactly once per submitted job, and frees the argument.
 */
#ifndef CRMD_OFFLOAD_H
#define CRMD_OFFLOAD_H

#define OFFLOAD_THREADS		2
#define OFFLOAD_MAX_WAITING	8

struct event_base;
struct store;
struct offload;
struct offload_job;

enum offload_status {
	OFFLOAD_DONE,		/* run() ran to its end */
	OFFLOAD_CANCELLED,	/* cancelled or stopping: run() did not run,
				   or its reads were interrupted */
	OFFLOAD_NO_READER,	/* the worker could not open its connection */
};

typedef void	offload_run_fn(struct store *reader, void *arg);
/* why: for OFFLOAD_NO_READER, what went wrong; otherwise NULL. */
typedef void	offload_done_fn(void *arg, enum offload_status,
		    const char *why);

/* Workers read database; their threads start when work first comes. */
struct offload	*offload_new(struct event_base *, const char *database);

/*
 * Queues a job.  NULL when OFFLOAD_MAX_WAITING jobs already wait or the
 * offload is stopping (errno EBUSY), or on ENOMEM; done() is then never
 * called.
 */
struct offload_job *offload_submit(struct offload *, offload_run_fn *,
		    offload_done_fn *, void *arg);

/*
 * The job's result is no longer wanted: a waiting job does not run, a
 * running one has its reads interrupted.  done() is still called, soon.
 * Loop thread, before the job's done() has been called.
 */
void		 offload_cancel(struct offload_job *);

/* A clean stop: cancels every job and refuses new ones.  Loop thread. */
void		 offload_stop(struct offload *);

/*
 * Cancels what is left, waits for the workers to return (an interrupted
 * read returns within milliseconds), calls done() of the jobs not yet
 * delivered, and frees everything.  After the loop has stopped.
 */
void		 offload_free(struct offload *);

#endif
