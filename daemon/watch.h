/*
 * Noticing the CRM application's commits.  An inotify watch on the
 * database's -wal file wakes us when another process writes; since that
 * happens before the commit is visible, PRAGMA data_version is checked at
 * once and re-checked briefly after.  A slow poll of data_version covers
 * what inotify cannot see.  A change calls sched_kick().
 */
#ifndef CRMD_WATCH_H
#define CRMD_WATCH_H

struct crmd;
struct watch;

struct watch	*watch_new(struct crmd *);
void		 watch_free(struct watch *);

/* After crmd's own commits: swallow the inotify events they caused. */
void		 watch_own_commits(struct watch *);

#endif
