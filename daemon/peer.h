/*
 * Who is on the other end of a control connection, and what they may do.
 * Credentials come from the kernel (SO_PEERCRED, SO_PEERGROUPS), never
 * from the socket file's mode, so a socket made 0666 grants nothing.
 */
#ifndef CRMD_PEER_H
#define CRMD_PEER_H

#include <sys/types.h>

#define PEER_MAX_GROUPS	256

struct crmd_conf;

struct peer {
	pid_t	pid;
	uid_t	uid;
	gid_t	gid;
	int	ngroups;		/* supplementary groups */
	gid_t	groups[PEER_MAX_GROUPS];
};

enum peer_role {
	PEER_NONE,			/* refused */
	PEER_READ,			/* read-only commands */
	PEER_ADMIN,			/* every command */
};

/* Fills p from a connected AF_UNIX socket.  0, or -1 with errno. */
int		 peer_from_socket(int fd, struct peer *p);

/* The role the current config gives p. */
enum peer_role	 peer_role(const struct peer *p, const struct crmd_conf *conf);

const char	*peer_role_name(enum peer_role);

#endif
