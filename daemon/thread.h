/*
 * crmd's helper threads (offload.c's workers, curlthread.c's transport,
 * store_sqlite.c's checkpointer) start with every signal blocked but the
 * faults: SIGTERM, SIGHUP and the rest are the loop's, through libevent,
 * while a crash on a helper still reaches its default action (or ASan's
 * report).
 */
#ifndef CRMD_THREAD_H
#define CRMD_THREAD_H

#include <pthread.h>

/* pthread_create() with that mask: 0, or its error number. */
int	thread_start(pthread_t *, void *(*)(void *), void *);

#endif
