/*
 * Read-only connections of their own to crmd's database, for reads that
 * run off the event loop (offload.c's worker threads).  A reader is a
 * struct store, so the read functions of the store modules work on it
 * unchanged; any write fails.  The loop's own connection is opened
 * without a mutex and is never used from another thread: each thread
 * gets its reader.
 */
#ifndef CRMD_STORE_READER_H
#define CRMD_STORE_READER_H

#include <stdatomic.h>

struct store;

/* Opens a reader on database.  NULL with *err (malloc'd) on failure.
 * Close it with store_close(), on the thread that used it last. */
struct store	*store_reader_open(const char *database, char **err);

/*
 * While *stop is non-zero, every statement running on the reader fails
 * (STORE_ERR, "interrupted") within a few thousand steps of SQLite's
 * virtual machine.  Another thread may set *stop at any time: that is
 * how a long read is cancelled.  NULL stops watching.  Called on the
 * thread that uses the reader.
 */
void		 store_reader_watch(struct store *, const atomic_int *stop);

#endif
