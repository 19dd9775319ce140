/*
 * Peer credentials and authorisation.  The role is recomputed per request
 * from the running config, so a reload that changes admin_group or
 * read_group takes effect on open connections too.
 */
#include "peer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"

int
peer_from_socket(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return -1;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;

	/* Supplementary groups as the kernel saw them at connect(). */
	len = sizeof(p->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == -1) {
		if (errno != ERANGE)
			return -1;
		/*
		 * More groups than we track, and the kernel filled nothing:
		 * authorise on the primary group alone rather than on zeros.
		 */
		len = 0;
	}
	p->ngroups = (int)(len / sizeof(gid_t));
	return 0;
}

static int
peer_in_group(const struct peer *p, gid_t gid)
{
	if (gid == (gid_t)-1)
		return 0;
	if (p->gid == gid)
		return 1;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return 1;
	return 0;
}

enum peer_role
peer_role(const struct peer *p, const struct crmd_conf *conf)
{
	if (p->uid == 0 || p->uid == geteuid())
		return PEER_ADMIN;
	if (peer_in_group(p, conf->admin_gid))
		return PEER_ADMIN;
	if (peer_in_group(p, conf->read_gid))
		return PEER_READ;
	return PEER_NONE;
}

const char *
peer_role_name(enum peer_role r)
{
	switch (r) {
	case PEER_ADMIN:	return "admin";
	case PEER_READ:		return "read";
	default:		return "none";
	}
}
