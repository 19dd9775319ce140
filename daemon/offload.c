/*
 * Worker threads for long reads (offload.h).  Jobs wait in a queue under
 * one mutex; a worker takes the oldest, runs it on its own read-only
 * connection, opened the first time it works and kept until it exits,
 * and moves it to the finished list.  An eventfd wakes the loop, which
 * calls each finished job's done() there: results cross threads only
 * through these lists, never by a callback on a worker.
 *
 * Cancelling sets the job's flag, which the reader's progress handler
 * reads while a statement runs, so an interrupted read returns within
 * milliseconds: a clean stop never waits for a dry run.
 */
#include "offload.h"

#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_reader.h"
#include "thread.h"

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_FINISHED };

struct offload_job {
	TAILQ_ENTRY(offload_job) entry;
	struct offload		*o;
	offload_run_fn		*run;
	offload_done_fn		*done;
	void			*arg;
	atomic_int		 cancel;	/* read during the job's reads */
	enum job_state		 state;		/* under o->mtx */
	enum offload_status	 status;	/* once finished */
	char			*why;		/* OFFLOAD_NO_READER */
};

TAILQ_HEAD(job_list, offload_job);

struct offload {
	struct event		*ev_done;
	int			 efd;		/* a job finished */
	char			*database;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;		/* a job waits, or exiting */
	struct job_list		 waiting, running, finished;
	size_t			 njobs;		/* waiting or running */
	pthread_t		 threads[OFFLOAD_THREADS];
	size_t			 nthreads;
	size_t			 nidle;		/* threads waiting for work */
	int			 stopping;	/* refuse new jobs */
	int			 exiting;	/* threads return */
};

/* Under o->mtx: the job goes to the loop. */
static void
finish_locked(struct offload *o, struct offload_job *j,
    enum offload_status status)
{
	uint64_t one = 1;
	ssize_t n;

	j->state = JOB_FINISHED;
	j->status = status;
	o->njobs--;
	TAILQ_INSERT_TAIL(&o->finished, j, entry);
	/* Cannot fail short of a counter at 2^64 - 2, which still wakes. */
	n = write(o->efd, &one, sizeof(one));
	(void)n;
}

static void
cancel_locked(struct offload *o, struct offload_job *j)
{
	switch (j->state) {
	case JOB_WAITING:
		TAILQ_REMOVE(&o->waiting, j, entry);
		finish_locked(o, j, OFFLOAD_CANCELLED);
		break;
	case JOB_RUNNING:
		atomic_store(&j->cancel, 1);
		break;
	case JOB_FINISHED:
		break;		/* done() is on its way */
	}
}

static void
cancel_all_locked(struct offload *o)
{
	struct offload_job *j;

	while ((j = TAILQ_FIRST(&o->waiting)) != NULL)
		cancel_locked(o, j);
	TAILQ_FOREACH(j, &o->running, entry)
		cancel_locked(o, j);
}

/* On a worker: the job on this thread's reader, opened on first use. */
static enum offload_status
run_job(struct offload *o, struct offload_job *j, struct store **reader)
{
	if (atomic_load(&j->cancel))
		return OFFLOAD_CANCELLED;
	if (*reader == NULL &&
	    (*reader = store_reader_open(o->database, &j->why)) == NULL)
		return OFFLOAD_NO_READER;
	store_reader_watch(*reader, &j->cancel);
	j->run(*reader, j->arg);
	store_reader_watch(*reader, NULL);
	store_rollback(*reader);	/* an interrupted read may leave one */
	return atomic_load(&j->cancel) ? OFFLOAD_CANCELLED : OFFLOAD_DONE;
}

static void *
worker_main(void *arg)
{
	struct offload *o = arg;
	struct store *reader = NULL;
	struct offload_job *j;
	enum offload_status status;

	pthread_mutex_lock(&o->mtx);
	for (;;) {
		o->nidle++;
		while (!o->exiting && TAILQ_EMPTY(&o->waiting))
			pthread_cond_wait(&o->cond, &o->mtx);
		o->nidle--;
		if (o->exiting)
			break;
		j = TAILQ_FIRST(&o->waiting);
		TAILQ_REMOVE(&o->waiting, j, entry);
		TAILQ_INSERT_TAIL(&o->running, j, entry);
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&o->mtx);
		status = run_job(o, j, &reader);
		pthread_mutex_lock(&o->mtx);
		TAILQ_REMOVE(&o->running, j, entry);
		finish_locked(o, j, status);
	}
	pthread_mutex_unlock(&o->mtx);
	store_close(reader);
	return NULL;
}

/* Under o->mtx. */
static int
spawn_locked(struct offload *o)
{
	int rc;

	if ((rc = thread_start(&o->threads[o->nthreads], worker_main, o)) !=
	    0) {
		log_warnx("cannot start a worker thread for long reads: %s",
		    strerror(rc));
		return -1;
	}
	o->nthreads++;
	return 0;
}

/* Calls done() of the finished jobs, on the calling (loop) thread. */
static void
deliver(struct offload *o)
{
	struct job_list done = TAILQ_HEAD_INITIALIZER(done);
	struct offload_job *j;

	pthread_mutex_lock(&o->mtx);
	TAILQ_CONCAT(&done, &o->finished, entry);
	pthread_mutex_unlock(&o->mtx);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		j->done(j->arg, j->status, j->why);
		free(j->why);
		free(j);
	}
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t count;
	ssize_t n;

	n = read(fd, &count, sizeof(count));	/* back to zero */
	(void)n;
	deliver(arg);
}

struct offload *
offload_new(struct event_base *base, const char *database)
{
	struct offload *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->efd = -1;
	if ((o->database = strdup(database)) == NULL ||
	    (o->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (o->ev_done = event_new(base, o->efd, EV_READ | EV_PERSIST,
	    done_cb, o)) == NULL || event_add(o->ev_done, NULL) == -1) {
		if (o->ev_done != NULL)
			event_free(o->ev_done);
		if (o->efd != -1)
			close(o->efd);
		free(o->database);
		free(o);
		return NULL;
	}
	pthread_mutex_init(&o->mtx, NULL);
	pthread_cond_init(&o->cond, NULL);
	TAILQ_INIT(&o->waiting);
	TAILQ_INIT(&o->running);
	TAILQ_INIT(&o->finished);
	return o;
}

struct offload_job *
offload_submit(struct offload *o, offload_run_fn *run, offload_done_fn *done,
    void *arg)
{
	struct offload_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->o = o;
	j->run = run;
	j->done = done;
	j->arg = arg;
	atomic_init(&j->cancel, 0);
	pthread_mutex_lock(&o->mtx);
	if (o->stopping ||
	    o->njobs >= OFFLOAD_THREADS + OFFLOAD_MAX_WAITING) {
		pthread_mutex_unlock(&o->mtx);
		free(j);
		errno = EBUSY;
		return NULL;
	}
	/* A thread more while some are busy, up to the cap. */
	if (o->nidle == 0 && o->nthreads < OFFLOAD_THREADS &&
	    spawn_locked(o) == -1 && o->nthreads == 0) {
		pthread_mutex_unlock(&o->mtx);
		free(j);
		errno = EAGAIN;
		return NULL;
	}
	j->state = JOB_WAITING;
	TAILQ_INSERT_TAIL(&o->waiting, j, entry);
	o->njobs++;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->mtx);
	return j;
}

void
offload_cancel(struct offload_job *j)
{
	struct offload *o = j->o;

	pthread_mutex_lock(&o->mtx);
	cancel_locked(o, j);
	pthread_mutex_unlock(&o->mtx);
}

void
offload_stop(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mtx);
	o->stopping = 1;
	cancel_all_locked(o);
	pthread_mutex_unlock(&o->mtx);
}

void
offload_free(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mtx);
	o->stopping = o->exiting = 1;
	cancel_all_locked(o);
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->mtx);
	for (size_t i = 0; i < o->nthreads; i++)
		pthread_join(o->threads[i], NULL);
	deliver(o);
	event_free(o->ev_done);
	close(o->efd);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->mtx);
	free(o->database);
	free(o);
}
