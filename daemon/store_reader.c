/*
 * Read-only connections (store_reader.h).  A reader is opened like the
 * loop's connection (WAL, the same pragmas) and then made query_only, so
 * a bug that tried to write through it fails instead of taking the
 * database's write lock from a worker thread.  Cancelling uses SQLite's
 * progress handler, which runs on the reader's own thread and only reads
 * an atomic flag: nothing of the connection is touched from elsewhere.
 */
#include "store_reader.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>

#include "migrate.h"
#include "store.h"

/* A WAL read waits for a lock only in rare moments (a WAL reset); never
 * long, so a cancelled read is not held up by it. */
#define READER_BUSY_TIMEOUT_MS	1000

/* Virtual machine steps between looks at the stop flag: about 0.1 ms. */
#define READER_STOP_STEPS	1000

struct store *
store_reader_open(const char *database, char **err)
{
	struct store *s;
	char *msg = NULL;

	if ((s = store_open(database, READER_BUSY_TIMEOUT_MS, err)) == NULL)
		return NULL;
	if (sqlite3_exec(store_sqlite_handle(s), "PRAGMA query_only = 1",
	    NULL, NULL, &msg) != SQLITE_OK) {
		*err = store_errorf("%s: cannot make a read-only connection: "
		    "%s", database, msg != NULL ? msg : "unknown error");
		sqlite3_free(msg);
		store_close(s);
		return NULL;
	}
	return s;
}

static int
stop_requested(void *arg)
{
	return atomic_load((const atomic_int *)arg) != 0;
}

void
store_reader_watch(struct store *s, const atomic_int *stop)
{
	sqlite3 *db = store_sqlite_handle(s);

	if (stop == NULL)
		sqlite3_progress_handler(db, 0, NULL, NULL);
	else
		sqlite3_progress_handler(db, READER_STOP_STEPS,
		    stop_requested, (void *)(uintptr_t)stop);
}
