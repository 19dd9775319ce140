/*
 * The SQLite backend of store.h.  One connection per struct store, opened
 * in WAL mode so the CRM application's readers and crmd's writer do not
 * block each other, with foreign keys on and a busy timeout.
 *
 * Statements crmd runs often are prepared once and cached in the struct.
 * Each is reset as soon as its result is read: a statement left stepping
 * holds a read transaction, which in WAL mode pins a snapshot and stops
 * checkpoints, and would outlive the event-loop turn that started it.
 */
#include <sys/file.h>

#include <pthread.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "migrate.h"
#include "store.h"
#include "store_sqlite.h"
#include "thread.h"

/* Statements of the backend's other files, cached by SQL text address. */
#define STORE_CACHE_SIZE	128

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNTS,
	ST_AUDIT,
	ST_MAX
};

static const char *const stmt_sql[ST_MAX] = {
	/* Write lock first: see store.h for why never a deferred BEGIN. */
	[ST_BEGIN] =	"BEGIN IMMEDIATE",
	[ST_COMMIT] =	"COMMIT",
	[ST_ROLLBACK] =	"ROLLBACK",
	/* One statement is one read transaction, so the counts agree. */
	[ST_COUNTS] =	"SELECT (SELECT count(*) FROM customers),"
			" (SELECT count(*) FROM reminders WHERE state = 'pending'),"
			" (SELECT count(*) FROM outbox WHERE state = 'queued'),"
			" (SELECT count(*) FROM outbox WHERE state = 'sending'),"
			" (SELECT count(*) FROM outbox WHERE state = 'sent'),"
			" (SELECT count(*) FROM outbox WHERE state = 'dead')",
	[ST_AUDIT] =	"INSERT INTO audit_log (at, actor, action, customer_id,"
			" detail) VALUES (?, ?, ?, ?, ?)",
};

struct store {
	sqlite3		*db;
	char		*path;
	int		 lockfd;	/* single-instance lock, or -1 */
	char		*errmsg;	/* last failure, for store_errmsg() */
	sqlite3_stmt	*stmt[ST_MAX];
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	}		 cache[STORE_CACHE_SIZE];
	struct checkpointer *ckpt;	/* background checkpoints, or NULL */
};

/*
 * The checkpointer sleeps until crmd's own commit leaves the WAL past
 * CKPT_WAL_PAGES, told by a WAL hook, and then checkpoints at most once
 * per CKPT_INTERVAL_S.  It never wakes on a timer of its own: an idle
 * crmd, or one watching a CRM commit every second, costs it nothing.
 * The CRM's connection checkpoints at SQLite's default of 1000 pages, so
 * a CRM that writes keeps the WAL short; crmd's threshold is four times
 * that (16 MiB, still one wal-index hash block of 4096 frames), so its
 * checkpoints, each two fsyncs that wait for the disk, come a quarter as
 * often when crmd alone writes.
 */
#define CKPT_WAL_PAGES		4000
#define CKPT_INTERVAL_S		1

/*
 * A PASSIVE checkpoint never waits, and while crmd's writes leave gaps
 * (a rules sweep writes in batches) one finds the WAL wholly copied and
 * the next writer starts it again from its beginning.  A drain of the
 * outbox commits every few milliseconds: the WAL was never wholly copied
 * and grew by the drain's whole volume (240 MiB for 200,000 SMS), every
 * commit appending to the file.  So once the WAL is past
 * RESTART_WAL_PAGES, the checkpointer copies what was written meanwhile
 * again, up to CATCH_UP_ROUNDS passive passes, until no more than
 * RESTART_LAG_PAGES were added meanwhile or are left uncopied (a reader
 * on an old snapshot holds frames back); then a RESTART copies those
 * while writers wait, waiting itself up to RESTART_WAIT_MS at a time for
 * the writer and readers of the moment, and the next commit writes from
 * the WAL's beginning.  Writers (crmd's are told BUSY and retry; the CRM's busy
 * timeout covers it) wait milliseconds, well inside the 50 ms a CRM
 * writer may wait for the lock.  Not sooner: the extra passes and their
 * fsyncs made the rules benchmark's first sweep 59 s -> 81 s, and its WAL
 * never passed 22 MiB anyway.
 */
#define RESTART_WAL_PAGES	(4 * CKPT_WAL_PAGES)
#define CATCH_UP_ROUNDS		4
#define RESTART_LAG_PAGES	256
#define RESTART_WAIT_MS		10

struct checkpointer {
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 stop;
	int		 wal_full;	/* the WAL hook asked for a checkpoint */
	int		 hook_frames;	/* WAL length then; the hook's alone */
	struct timespec	 ckpt_at;	/* CLOCK_REALTIME of the last one */
	sqlite3		*db;
	sqlite3_stmt	*counts_st;
	int		 counts_wanted;	/* a status request asked for fresh ones */
	int		 have_counts;
	struct timespec	 counts_at;	/* CLOCK_MONOTONIC of the last refresh */
	struct store_counts counts;	/* under mtx */
};

/*
 * Counts older than this are refreshed when status asks.  Only on demand:
 * refreshing them every second "while someone watches" cost the loop an
 * extra wake-up per firing, the count scan contending with it.
 */
#define COUNTS_FRESH_MS		1000

/* Remembers why the last call failed; SQLite's own message is overwritten
 * by the next statement (a ROLLBACK, say), so it is copied. */
static void
set_err(struct store *s, char *msg)
{
	free(s->errmsg);
	s->errmsg = msg;
}

static int
fail(struct store *s, int rc)
{
	set_err(s, store_errorf("%s", sqlite3_errmsg(s->db)));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	default:
		return STORE_ERR;
	}
}

/* The cached statement, prepared on first use (tables may not exist
 * before store_migrate()). */
static sqlite3_stmt *
stmt(struct store *s, enum stmt_id id)
{
	if (s->stmt[id] == NULL && sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL) != SQLITE_OK) {
		fail(s, sqlite3_errcode(s->db));
		return NULL;
	}
	return s->stmt[id];
}

/* Steps a statement that returns no rows, and makes it idle again. */
static int
run(struct store *s, enum stmt_id id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = stmt(s, id)) == NULL)
		return STORE_ERR;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? STORE_OK : fail(s, rc);
}

/* Runs a pragma and copies its one-word answer into out. */
static int
pragma(struct store *s, const char *sql, char *out, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(out, len, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Per-connection settings, applied on every open. */
static char *
configure(struct store *s)
{
	char	 mode[32] = "", fk[8] = "";

	if (pragma(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) == -1)
		return store_errorf("cannot switch %s to WAL mode: %s",
		    s->path, sqlite3_errmsg(s->db));
	/* An in-memory database (tests) cannot do WAL and need not. */
	if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
		return store_errorf("%s stays in journal mode %s, not WAL; "
		    "is it on a file system without shared memory?",
		    s->path, mode);
	/* NORMAL is durable across application crashes in WAL mode; only
	 * power loss may lose the last commits, never corrupt the file. */
	/*
	 * A burst of firings rewrites entries all over the reminder indexes;
	 * SQLite's default 2000-page cache thrashes on a database of a million
	 * reminders.  32 MiB is an upper bound, allocated as pages are used.
	 */
	if (pragma(s, "PRAGMA cache_size = -32768", NULL, 0) == -1 ||
	    pragma(s, "PRAGMA synchronous = NORMAL", NULL, 0) == -1 ||
	    pragma(s, "PRAGMA foreign_keys = ON", NULL, 0) == -1 ||
	    pragma(s, "PRAGMA foreign_keys", fk, sizeof(fk)) == -1)
		return store_errorf("%s: %s", s->path, sqlite3_errmsg(s->db));
	if (strcmp(fk, "1") != 0)
		return store_errorf("this SQLite library cannot enforce "
		    "foreign keys");
	return NULL;
}

/*
 * Process-wide, before SQLite initialises: no memory statistics, whose
 * global mutex every allocation took (a tenth of a burst's CPU).  Each
 * connection is used by one thread only, so it needs no mutex either.
 */
static void
sqlite_global_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct store *
store_open(const char *database, int64_t busy_timeout_ms, char **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	struct store	*s;
	int		 rc;

	*err = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(database)) == NULL) {
		*err = store_errorf("out of memory");
		free(s);
		return NULL;
	}
	s->lockfd = -1;
	pthread_once(&once, sqlite_global_config);
	rc = sqlite3_open_v2(database, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		*err = store_errorf("cannot open database %s: %s", database,
		    s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* Ten times SQLite's default lookaside slots (1.2 MiB, allocated
	 * once): a burst's statements then rarely fall back to malloc for
	 * their small buffers (3 % fewer cycles a firing). */
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 1200,
	    1000);
	store_set_busy_timeout(s, busy_timeout_ms);
	if ((*err = configure(s)) != NULL) {
		store_close(s);
		return NULL;
	}
	return s;
}

static void	checkpointer_stop(struct checkpointer *);

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->ckpt != NULL)
		sqlite3_wal_hook(s->db, NULL, NULL);	/* points at ckpt */
	checkpointer_stop(s->ckpt);
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->stmt[i]);
	for (int i = 0; i < STORE_CACHE_SIZE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
	/* Closing drops the flock; the file stays, since unlinking a lock
	 * file races with the next instance opening it. */
	if (s->lockfd != -1)
		close(s->lockfd);
	free(s->errmsg);
	free(s->path);
	free(s);
}

const char *
store_database(const struct store *s)
{
	return s->path;
}

const char *
store_errmsg(struct store *s)
{
	return s->errmsg != NULL ? s->errmsg : sqlite3_errmsg(s->db);
}

sqlite3 *
store_sqlite_handle(struct store *s)
{
	return s->db;
}

void
store_set_busy_timeout(struct store *s, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	sqlite3_busy_timeout(s->db, (int)ms);
}

/* The pid a running instance wrote into the lock file, or -1. */
static long
lock_holder(int fd)
{
	char	 buf[32];
	ssize_t	 n;
	char	*end;
	long	 pid;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || pid <= 0)
		return -1;
	return pid;
}

static char *
held_message(const struct store *s, int fd)
{
	long pid = lock_holder(fd);

	if (pid == -1)
		return store_errorf("database %s is already in use by another "
		    "crmd; stop that one first, or give this one another "
		    "database", s->path);
	return store_errorf("database %s is already in use by another crmd "
	    "(pid %ld); stop that one first, or give this one another "
	    "database", s->path, pid);
}

/*
 * flock on a sidecar file, not a lock inside the database: SQLite's own
 * locks are for transactions, and the CRM application must keep writing.
 * The kernel drops the lock when the holder dies, so there is nothing
 * stale to clean up after a crash.
 */
int
store_lock_instance(struct store *s, char **err)
{
	char	*lockpath, pid[32];
	int	 fd, len;

	*err = NULL;
	if (s->lockfd != -1)
		return 0;
	if (asprintf(&lockpath, "%s.lock", s->path) == -1) {
		*err = store_errorf("out of memory");
		return -1;
	}
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		*err = store_errorf("cannot open lock file %s: %s", lockpath,
		    strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		*err = errno == EWOULDBLOCK ? held_message(s, fd) :
		    store_errorf("cannot lock %s: %s", lockpath,
		    strerror(errno));
	free(lockpath);
	if (*err != NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* Only for the message above; failing to write it is harmless. */
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len)
		(void)ftruncate(fd, 0);
	s->lockfd = fd;
	return 0;
}

int
store_schema_version(struct store *s, int *version, char **err)
{
	*err = NULL;
	return migrate_version(s->db, version, err);
}

int
store_latest_version(void)
{
	return schema_migrations[schema_nmigrations - 1].version;
}

int
store_migrate(struct store *s, char **err)
{
	return migrate_run(s->db, schema_migrations, schema_nmigrations, err);
}

int
store_begin(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		set_err(s, store_errorf("a transaction is already open"));
		return STORE_ERR;
	}
	return run(s, ST_BEGIN);
}

/* Rolls back after a failure, keeping the failure's message. */
static void
abandon(struct store *s)
{
	char *why = s->errmsg;

	s->errmsg = NULL;
	store_rollback(s);
	set_err(s, why);
}

/*
 * A COMMIT that fails leaves SQLite's transaction open; it is rolled back
 * here so that no caller holds the write lock into the next loop turn.
 * The caller redoes the whole transaction later on STORE_BUSY.
 */
int
store_commit(struct store *s)
{
	int rc;

	if ((rc = run(s, ST_COMMIT)) != STORE_OK)
		abandon(s);
	return rc;
}

void
store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return;
	if (run(s, ST_ROLLBACK) != STORE_OK)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs the counts query on db.  SQLite result code. */
static int
query_counts(sqlite3 *db, sqlite3_stmt **cache, struct store_counts *c)
{
	int rc;

	if (*cache == NULL && (rc = sqlite3_prepare_v3(db, stmt_sql[ST_COUNTS],
	    -1, SQLITE_PREPARE_PERSISTENT, cache, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(*cache)) == SQLITE_ROW) {
		c->customers = sqlite3_column_int64(*cache, 0);
		c->reminders_pending = sqlite3_column_int64(*cache, 1);
		c->outbox_queued = sqlite3_column_int64(*cache, 2);
		c->outbox_sending = sqlite3_column_int64(*cache, 3);
		c->outbox_sent = sqlite3_column_int64(*cache, 4);
		c->outbox_dead = sqlite3_column_int64(*cache, 5);
	}
	sqlite3_reset(*cache);
	return rc;
}

static int64_t
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * The counts scan indexes of the size of the tables (a million pending
 * reminders take ~100 ms): with the background thread running, the loop
 * answers with the last result and, when that is over a second old, has
 * the thread refresh it at once, so a status asked again (`watch crmctl
 * status`) is current.  The very first call computes them here.
 */
int
store_counts(struct store *s, struct store_counts *c)
{
	struct checkpointer *b = s->ckpt;
	int rc, have = 0;

	if (b != NULL) {
		pthread_mutex_lock(&b->mtx);
		if ((have = b->have_counts))
			*c = b->counts;
		if (have && ms_since(&b->counts_at) > COUNTS_FRESH_MS) {
			b->counts_wanted = 1;
			pthread_cond_signal(&b->cond);
		}
		pthread_mutex_unlock(&b->mtx);
		if (have)
			return STORE_OK;
	}
	if ((rc = query_counts(s->db, &s->stmt[ST_COUNTS], c)) != SQLITE_ROW)
		return fail(s, rc);
	if (b != NULL) {
		pthread_mutex_lock(&b->mtx);
		b->counts = *c;
		b->have_counts = 1;
		clock_gettime(CLOCK_MONOTONIC, &b->counts_at);
		pthread_mutex_unlock(&b->mtx);
	}
	return STORE_OK;
}

static int
insert_audit(struct store *s, const char *actor, const char *action,
    int64_t customer_id, const char *detail)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, ST_AUDIT)) == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	if (customer_id != 0)
		sqlite3_bind_int64(st, 4, customer_id);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, detail != NULL ? detail : "", -1,
	    SQLITE_STATIC);
	return run(s, ST_AUDIT);
}

/*
 * Inside a transaction the caller opened with store_begin(), the row
 * joins it, so an action and its audit entry commit together; otherwise
 * it gets a short write transaction of its own.
 */
int
store_audit(struct store *s, const char *actor, const char *action,
    int64_t customer_id, const char *detail)
{
	int rc;

	if (actor == NULL || action == NULL) {
		set_err(s, store_errorf("audit entry without actor or action"));
		return STORE_ERR;
	}
	if (!sqlite3_get_autocommit(s->db))
		return insert_audit(s, actor, action, customer_id, detail);
	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	if ((rc = insert_audit(s, actor, action, customer_id, detail)) !=
	    STORE_OK) {
		abandon(s);
		return rc;
	}
	return store_commit(s);
}

sqlite3_stmt *
store_prepare(struct store *s, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) % STORE_CACHE_SIZE;

	/* Open addressing; the backend has far fewer statements than slots. */
	for (size_t i = 0; i < STORE_CACHE_SIZE; i++) {
		size_t j = (h + i) % STORE_CACHE_SIZE;

		if (s->cache[j].sql == sql)
			return s->cache[j].st;
		if (s->cache[j].sql != NULL)
			continue;
		if (sqlite3_prepare_v3(s->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->cache[j].st, NULL) !=
		    SQLITE_OK) {
			set_err(s, store_errorf("%s (in: %.60s)",
			    sqlite3_errmsg(s->db), sql));
			return NULL;
		}
		s->cache[j].sql = sql;
		return s->cache[j].st;
	}
	set_err(s, store_errorf("statement cache full"));
	return NULL;
}

int
store_fail(struct store *s, int rc)
{
	return fail(s, rc);
}

int
store_fail_msg(struct store *s, const char *msg)
{
	set_err(s, store_errorf("%s", msg));
	return STORE_ERR;
}

int
store_exec(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : fail(s, rc);
}

int
store_exec_changes(struct store *s, sqlite3_stmt *st, int *changed)
{
	int rc = store_exec(s, st);

	*changed = rc == STORE_OK ? sqlite3_changes(s->db) : 0;
	return rc;
}

int
store_changes(struct store *s)
{
	return sqlite3_changes(s->db);
}

void
store_bind_text(sqlite3_stmt *st, int idx, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(st, idx);
	else
		sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
}

void
store_bind_id(sqlite3_stmt *st, int idx, int64_t id)
{
	if (id == 0)
		sqlite3_bind_null(st, idx);
	else
		sqlite3_bind_int64(st, idx, id);
}

void
store_column_copy(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

int64_t
store_column_id(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(st, col);
}

int
store_step_row(struct store *s, sqlite3_stmt *st, int *found)
{
	int rc = sqlite3_step(st);

	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return STORE_OK;
	store_done(st);
	return fail(s, rc);
}

void
store_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void *
store_grow(void *arr, size_t n, size_t *cap, size_t sz)
{
	size_t ncap;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if ((arr = reallocarray(arr, ncap, sz)) != NULL)
		*cap = ncap;
	return arr;
}

char *
store_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return strdup(t != NULL ? (const char *)t : "");
}

/* Reads a whole (small) text file; NULL with errno. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) == -1) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int
store_load_demo(struct store *s, const char *path, int *loaded, char **err)
{
	char *sql, *msg = NULL;
	int n = 0;

	*loaded = 0;
	*err = NULL;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM customers", -1,
	    &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n > 0)
		return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) ==
		    SQLITE_OK ? 0 : -1;
	if ((sql = slurp(path)) == NULL) {
		*err = store_errorf("demo data %s: %s", path, strerror(errno));
		store_rollback(s);
		return -1;
	}
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		free(sql);
		goto fail;
	}
	free(sql);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	*loaded = 1;
	return 0;
fail:
	*err = store_errorf("demo data %s: %s", path,
	    msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	store_rollback(s);
	return -1;
}

/* Passive passes, then a RESTART once little is left (see above).  A
 * passive pass copies the WAL as it was when the pass began: what was
 * written meanwhile shows as the next pass's growth. */
static void
checkpoint(sqlite3 *db)
{
	int log = 0, copied = 0, before = 0, caught_up = 0;

	for (int round = 0; round < CATCH_UP_ROUNDS && !caught_up; round++) {
		if (sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log, &copied) != SQLITE_OK)
			return;
		if (round == 0 && log < RESTART_WAL_PAGES)
			return;	/* short yet: passive is enough */
		/* Little written meanwhile, and little left uncopied: a
		 * reader on an old snapshot holds frames back, and the
		 * RESTART would copy them all with the writers waiting. */
		caught_up = round > 0 && log - before <= RESTART_LAG_PAGES &&
		    log - copied <= RESTART_LAG_PAGES;
		before = log;
	}
	if (!caught_up)
		return;		/* writes outpace copies: next time */
	sqlite3_busy_timeout(db, RESTART_WAIT_MS);
	(void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART,
	    NULL, NULL);
	sqlite3_busy_timeout(db, 0);
}

/* A checkpoint is wanted and CKPT_INTERVAL_S has passed since the last. */
static int
checkpoint_due(struct checkpointer *c, struct timespec *next)
{
	struct timespec now;

	if (!c->wal_full)
		return 0;
	*next = c->ckpt_at;
	next->tv_sec += CKPT_INTERVAL_S;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > next->tv_sec || (now.tv_sec == next->tv_sec &&
	    now.tv_nsec >= next->tv_nsec);
}

static void *
checkpointer_main(void *arg)
{
	struct checkpointer *c = arg;
	struct timespec next;

	pthread_mutex_lock(&c->mtx);
	for (;;) {
		int ckpt = 0;

		while (!c->stop && !c->counts_wanted &&
		    !(ckpt = checkpoint_due(c, &next))) {
			if (c->wal_full)	/* too soon after the last */
				pthread_cond_timedwait(&c->cond, &c->mtx,
				    &next);
			else
				pthread_cond_wait(&c->cond, &c->mtx);
		}
		if (c->stop)
			break;
		int want = c->counts_wanted;
		c->counts_wanted = 0;
		if (ckpt) {
			c->wal_full = 0;
			clock_gettime(CLOCK_REALTIME, &c->ckpt_at);
		}
		pthread_mutex_unlock(&c->mtx);
		if (ckpt)
			checkpoint(c->db);
		struct store_counts n;
		int ok = want && query_counts(c->db, &c->counts_st, &n) ==
		    SQLITE_ROW;
		pthread_mutex_lock(&c->mtx);
		if (ok) {
			c->counts = n;
			c->have_counts = 1;
			clock_gettime(CLOCK_MONOTONIC, &c->counts_at);
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return NULL;
}

/* sqlite3_wal_hook on crmd's connection: runs after each of its commits. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct checkpointer *c = arg;

	/*
	 * Once per CKPT_WAL_PAGES new frames: a checkpoint that could not
	 * reset the WAL (a reader was on an old snapshot) leaves it long,
	 * and asking again on every commit would wake the thread each time.
	 */
	if (frames < c->hook_frames)
		c->hook_frames = 0;	/* the WAL was reset */
	if (frames < CKPT_WAL_PAGES || (c->hook_frames > 0 &&
	    frames < c->hook_frames + CKPT_WAL_PAGES))
		return SQLITE_OK;
	c->hook_frames = frames;
	pthread_mutex_lock(&c->mtx);
	if (!c->wal_full) {
		c->wal_full = 1;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->mtx);
	return SQLITE_OK;
}

static void
checkpointer_stop(struct checkpointer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	pthread_join(c->thread, NULL);
	sqlite3_finalize(c->counts_st);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

int
store_checkpointer_start(struct store *s, char **err)
{
	struct checkpointer *c;

	*err = NULL;
	if (s->ckpt != NULL)
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*err = store_errorf("out of memory");
		return -1;
	}
	/*
	 * A connection learns the database is in WAL mode when it first
	 * reads it; until then a checkpoint on it is a silent no-op.
	 */
	if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL,
	    NULL, NULL) != SQLITE_OK) {
		*err = store_errorf("checkpointer: %s", sqlite3_errmsg(c->db));
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (thread_start(&c->thread, checkpointer_main, c) != 0) {
		*err = store_errorf("checkpointer: cannot start a thread");
		sqlite3_close(c->db);
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		free(c);
		return -1;
	}
	/* Replaces SQLite's autocheckpoint, which would run on the loop. */
	sqlite3_wal_hook(s->db, wal_hook, c);
	s->ckpt = c;
	return 0;
}
